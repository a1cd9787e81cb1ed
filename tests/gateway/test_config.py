from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from adapters.errors import ConfigError
from gateway.config import load_config, parse_config
from silos.sandbox import RunningSandbox, SandboxOptions, gateway_config, prepare


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> RunningSandbox:
    return prepare(SandboxOptions(customers=30, seed=1,
                                  data_dir=tmp_path_factory.mktemp("sandbox")))


@pytest.fixture
def data(sandbox: RunningSandbox) -> dict[str, Any]:
    return copy.deepcopy(gateway_config(sandbox))


def test_the_sandbox_config_loads(sandbox: RunningSandbox) -> None:
    config = load_config(sandbox.config_path, env={})
    assert set(config.sources) == {"shopify", "square", "zendesk", "loyalty"}
    assert (config.gateway.request_budget_ms, config.gateway.max_in_flight,
            config.gateway.queue_wait_ms, config.gateway.max_loop_lag_ms) == (2000, 128, 500, 50)
    assert len(config.stores) == 10
    assert config.stores[0].locations["square"] in sandbox.data.square.locations
    assert config.identity.rules.use_phone_with_name
    assert "gmail.com" in config.identity.email_rules.dot_insensitive


def test_secrets_come_from_the_environment(data: dict[str, Any]) -> None:
    del data["sources"]["shopify"]["access_token"]
    with pytest.raises(ConfigError) as missing:
        parse_config(data, env={})
    assert missing.value.key == "sources.shopify.access_token"
    assert "C360_SOURCES_SHOPIFY_ACCESS_TOKEN" in str(missing.value)
    config = parse_config(data, env={"C360_SOURCES_SHOPIFY_ACCESS_TOKEN": "from-env"})
    assert config.sources["shopify"].access_token == "from-env"  # type: ignore[union-attr]


def set_path(data: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for part in parents:
        data = data.setdefault(part, {})
    if value is DELETE:
        del data[last]
    else:
        data[last] = value


DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "key"),
    [
        ("sources.square.timeout_ms", "fast", "sources.square.timeout_ms"),
        ("sources.zendesk.acess_token", "x", "sources.zendesk.acess_token"),
        ("sources.zendesk.url", "not a url", "sources.zendesk.url"),
        ("sources.loyalty.kind", "oracle", "sources.loyalty.kind"),
        ("sources.shopify.kind", DELETE, "sources.shopify.kind"),
        ("gateway.request_budget_ms", 0, "gateway.request_budget_ms"),
        ("gateway.max_in_flight", 0, "gateway.max_in_flight"),
        ("gateway.queue_wait_ms", -1, "gateway.queue_wait_ms"),
        ("gateway.max_loop_lag_ms", 0, "gateway.max_loop_lag_ms"),
        ("identity.rules", ["email", "astrology"], "identity.rules"),
        ("identity.default_region", "USA", "identity.default_region"),
        ("identity.max_people_per_identifier", True, "identity.max_people_per_identifier"),
        ("sources", {}, "sources"),
        ("surprise", 1, "surprise"),
        ("telemetry.log_level", "loud", "telemetry.log_level"),
        ("telemetry.log_format", "xml", "telemetry.log_format"),
        ("telemetry.metrics", "sometimes", "telemetry.metrics"),
        ("breakers.failures", 0, "breakers.failures"),
        ("breakers.cooldown_s", "soon", "breakers.cooldown_s"),
        ("breakers.window_s", float("inf"), "breakers.window_s"),
        ("breakers.sources.helpdesk", {"failures": 2}, "breakers.sources.helpdesk"),
        ("breakers.sources.zendesk", {"failurs": 2}, "breakers.sources.zendesk.failurs"),
        ("cache.ttl_s", -1, "cache.ttl_s"),
        ("cache.stale_if_error_s", float("nan"), "cache.stale_if_error_s"),
        ("cache.store", "disk", "cache.store"),
        ("cache.store", "redis", "cache.store"),
        ("cache.encryption_key", "c2hvcnQ=", "cache.encryption_key"),
        ("cache.encryption_key", "not base64!", "cache.encryption_key"),
        ("cache.sensitive", ["emails"], "cache.sensitive"),
        ("cache.sources.pos", {"ttl_s": 1}, "cache.sources.pos"),
        ("telemetry.traces", "sometimes", "telemetry.traces"),
    ],
)
def test_a_bad_value_names_its_key(data: dict[str, Any], path: str, value: Any,
                                   key: str) -> None:
    set_path(data, path, value)
    with pytest.raises(ConfigError) as error:
        parse_config(data, env={})
    assert error.value.key == key


@pytest.mark.parametrize(
    ("value", "env", "message"),
    [(-1, None, "must be at least 0"), ("soon", None, "must be a number"),
     (True, None, "must be a number"), (None, "-5", "must be at least 0"),
     (None, "inf", "must be a finite number of seconds"),
     (None, "nan", "must be a finite number of seconds")],
)
def test_a_bad_refresh_interval_is_refused(data: dict[str, Any], value: Any, env: str | None,
                                           message: str) -> None:
    if value is not None:
        data["identity"]["refresh_s"] = value
    environ = {} if env is None else {"C360_IDENTITY_REFRESH_S": env}
    with pytest.raises(ConfigError) as error:
        parse_config(data, env=environ)
    assert error.value.key == "identity.refresh_s"
    assert message in str(error.value)


def test_the_refresh_interval_defaults_to_30s_and_0_turns_it_off(data: dict[str, Any]) -> None:
    assert parse_config(data, env={}).identity.refresh_s == 30.0
    data["identity"]["refresh_s"] = 0
    assert parse_config(data, env={}).identity.refresh_s == 0.0
    assert parse_config(data, env={"C360_IDENTITY_REFRESH_S": "2.5"}).identity.refresh_s == 2.5


def test_a_store_naming_an_unknown_source_is_refused(data: dict[str, Any]) -> None:
    data["stores"][0]["locations"]["pos-eu"] = "L1"
    with pytest.raises(ConfigError) as error:
        parse_config(data, env={})
    assert error.value.key == "stores[0].locations.pos-eu"


def test_file_problems(tmp_path: Path, data: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "missing.toml", env={})
    broken = tmp_path / "broken.toml"
    broken.write_text("[sources\nkind = 1\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(broken, env={})
    good = tmp_path / "c360.toml"
    good.write_bytes(tomli_w.dumps(data).encode())
    assert load_config(good, env={}).path == good


@pytest.mark.parametrize(
    ("path", "value", "key"),
    [
        ("sources.square.references", {"reference_id": "crm"},
         "sources.square.references.reference_id"),
        ("sources.square.return_reference_source", "magento",
         "sources.square.return_reference_source"),
    ],
)
def test_references_must_name_a_configured_source(data: dict[str, Any], path: str, value: Any,
                                                  key: str) -> None:
    set_path(data, path, value)
    with pytest.raises(ConfigError) as error:
        parse_config(data, env={})
    assert error.value.key == key
