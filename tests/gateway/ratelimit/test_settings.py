"""``[rate_limits]``: built-in buckets per role, a default laid under every role, a role's
own table, an API key's own bucket starting from its role's; errors name the key."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.config import Table
from adapters.errors import ConfigError
from gateway.auth.apikeys import digest
from gateway.config import parse_config
from gateway.ratelimit.middleware import rate_limiting
from gateway.ratelimit.settings import DEFAULT_BUCKETS, Bucket, parse_rate_limits
from resolvers.principal import Role
from silos.sandbox import RunningSandbox, gateway_config


def _parse(data: dict[str, Any], env: dict[str, str] | None = None,
           api_keys: dict[str, Role] | None = None) -> Any:
    return parse_rate_limits(Table(data, "rate_limits", env or {}), api_keys)


def test_without_a_table_each_role_has_its_built_in_bucket() -> None:
    config = _parse({})
    assert config.enabled
    assert config.roles == {"customer": Bucket(5, 20), "store_associate": Bucket(10, 30),
                            "agent": Bucket(10, 30), "backoffice": Bucket(20, 50),
                            "service": Bucket(100, 200)}
    assert set(config.roles) == {role.value for role in Role}
    assert config.keys == {}


def test_the_default_lies_under_every_role_and_a_role_table_over_it() -> None:
    config = _parse({"default": {"rate_per_s": 1},
                     "roles": {"customer": {"burst": 3}, "agent": {"rate_per_s": 0.5}}})
    assert config.roles["customer"] == Bucket(1, 3)
    assert config.roles["agent"] == Bucket(0.5, 30)
    assert config.roles["backoffice"] == Bucket(1, 50)  # rate from default, burst built in
    assert _parse({"default": {"rate_per_s": 2, "burst": 4}}).roles == {
        role: Bucket(2, 4) for role in DEFAULT_BUCKETS}


def test_the_environment_overrides_a_role_the_file_does_not_mention() -> None:
    config = _parse({}, env={"C360_RATE_LIMITS_ROLES_CUSTOMER_BURST": "7",
                             "C360_RATE_LIMITS_ENABLED": "false"})
    assert config.roles["customer"] == Bucket(5, 7)
    assert not config.enabled


def test_a_key_table_starts_from_the_key_roles_bucket() -> None:
    config = _parse({"roles": {"agent": {"rate_per_s": 3}},
                     "keys": {"helpdesk": {"burst": 4}, "reporting": {"rate_per_s": 50}}},
                    api_keys={"helpdesk": Role.AGENT, "reporting": Role.SERVICE,
                              "untouched": Role.SERVICE})
    assert config.keys == {"helpdesk": Bucket(3, 4), "reporting": Bucket(50, 200)}


@pytest.mark.parametrize(("data", "env", "key", "message"), [
    ({"roles": {"admin": {"burst": 1}}}, {}, "rate_limits.roles.admin", "not a role"),
    ({"roles": {"agent": {"rate_per_s": 0}}}, {}, "rate_limits.roles.agent.rate_per_s",
     "at least"),
    ({"roles": {"agent": {"rate_per_s": -1}}}, {}, "rate_limits.roles.agent.rate_per_s",
     "at least"),
    ({"roles": {"agent": {"burst": 0}}}, {}, "rate_limits.roles.agent.burst", "at least 1"),
    ({"roles": {"agent": {"burst": 2.5}}}, {}, "rate_limits.roles.agent.burst", "integer"),
    ({"roles": {"agent": {"rate": 5}}}, {}, "rate_limits.roles.agent.rate", "unknown key"),
    ({"roles": {"agent": 5}}, {}, "rate_limits.roles.agent", "must be a table"),
    ({"default": {"rate_per_s": "fast"}}, {}, "rate_limits.default.rate_per_s", "number"),
    ({}, {"C360_RATE_LIMITS_DEFAULT_RATE_PER_S": "inf"}, "rate_limits.default.rate_per_s",
     "finite"),
    ({}, {"C360_RATE_LIMITS_DEFAULT_RATE_PER_S": "nan"}, "rate_limits.default.rate_per_s",
     "finite"),
    ({"enabled": "yes please"}, {}, "rate_limits.enabled", "true or false"),
    ({"burst": 5}, {}, "rate_limits.burst", "unknown key"),
    ({"keys": {"nobody": {"burst": 5}}}, {}, "rate_limits.keys.nobody",
     "no API key in auth.api_keys"),
])
def test_a_bad_value_names_its_key(data: dict[str, Any], env: dict[str, str], key: str,
                                   message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        _parse(data, env)
    assert raised.value.key == key
    assert message in str(raised.value)


def test_the_gateway_config_gives_each_api_key_its_role(graph_sandbox: RunningSandbox) -> None:
    data = gateway_config(graph_sandbox)
    data["auth"] = {**data["auth"], "api_keys": [
        {"name": "helpdesk", "hash": "sha256:" + digest("c360_x"), "scopes": [],
         "role": "agent"}]}
    data["rate_limits"] = {"keys": {"helpdesk": {"rate_per_s": 2}}}
    config = parse_config(data, env={})
    assert config.rate_limits.keys == {"helpdesk": Bucket(2, 30)}
    assert rate_limiting(config)
    data["rate_limits"] = {"enabled": False}
    assert rate_limiting(parse_config(data, env={})) == []
