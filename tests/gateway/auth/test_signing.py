"""The sandbox's local signing key and `c360 token`: the key is made once and kept, the written
config trusts it, and a printed token carries what was asked (or the command says what is
wrong, naming the option, without a traceback)."""

from __future__ import annotations

import stat
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

import jwt
import pytest
import tomli_w
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from adapters.config import Table
from adapters.errors import ConfigError
from gateway.auth.principals import from_claims
from gateway.auth.settings import parse_auth
from gateway.auth.signing import mint
from gateway.config import parse_config
from resolvers.principal import Role
from silos.sandbox import RunningSandbox, SandboxOptions, prepare, signing_key_paths


def _token(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gateway.cli", "token", "--config",
                           str(config), *args], capture_output=True, text=True, timeout=60)


def test_the_sandbox_key_is_made_once_and_trusted_by_its_config(tmp_path: Path) -> None:
    first = prepare(SandboxOptions(customers=10, seed=1, data_dir=tmp_path))
    private, public = signing_key_paths(tmp_path)
    kept = private.read_bytes(), public.read_bytes()
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    prepare(SandboxOptions(customers=10, seed=2, data_dir=tmp_path))
    assert (private.read_bytes(), public.read_bytes()) == kept
    section = tomllib.loads(first.config_path.read_text())["auth"]["jwt"]
    assert section == {"issuer": "c360-sandbox", "audience": "c360", "algorithms": ["ES256"],
                       "public_key_file": str(public.resolve()),
                       "signing_key_file": str(private.resolve())}


def test_c360_token_prints_a_token_of_what_was_asked(graph_sandbox: RunningSandbox) -> None:
    config = graph_sandbox.config_path
    done = _token(config, "--role", "customer", "--customer", "shopify:42", "--ttl", "120",
                  "--subject", "app-user", "--scopes", "orders:read", "catalog:read")
    assert done.returncode == 0, done.stderr
    public = signing_key_paths(graph_sandbox.options.data_dir)[1].read_bytes()
    claims = jwt.decode(done.stdout.strip(), public, algorithms=["ES256"], audience="c360",
                        issuer="c360-sandbox")
    assert claims["exp"] - claims["iat"] == 120 and abs(claims["iat"] - time.time()) < 60
    assert (claims["sub"], claims["role"], claims["customer_id"], claims["scope"]) == (
        "app-user", "customer", "shopify:42", "orders:read catalog:read")


@pytest.mark.parametrize(("args", "message"), [
    (["--role", "root"], "unknown role 'root'"),
    (["--role", "customer"], "--customer"),
    (["--role", "store_associate"], "--store"),
    (["--role", "service", "--scopes", "everything"], "unknown scopes everything"),
    (["--role", "agent", "--ttl", "0"], "--ttl"),
])
def test_c360_token_refuses_what_the_gateway_would(graph_sandbox: RunningSandbox,
                                                    args: list[str], message: str) -> None:
    done = _token(graph_sandbox.config_path, *args)
    assert done.returncode == 2 and message in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""


@pytest.mark.parametrize(("change", "message"), [
    (lambda jwt: jwt.pop("signing_key_file"), "auth.jwt.signing_key_file"),
    (lambda jwt: jwt.clear(), "auth.jwt: the config verifies no tokens"),
])
def test_c360_token_needs_a_signing_key(graph_sandbox: RunningSandbox, tmp_path: Path,
                                        change: Any, message: str) -> None:
    data = tomllib.loads(graph_sandbox.config_path.read_text())
    change(data["auth"]["jwt"])
    if not data["auth"]["jwt"]:
        del data["auth"]
    config = tmp_path / "c360.toml"
    config.write_bytes(tomli_w.dumps(data).encode())
    done = _token(config, "--role", "agent")
    assert done.returncode == 2 and message in done.stderr
    assert "Traceback" not in done.stderr


def test_a_signing_key_that_is_no_key_is_a_config_error(graph_sandbox: RunningSandbox,
                                                        tmp_path: Path) -> None:
    data = tomllib.loads(graph_sandbox.config_path.read_text())
    (tmp_path / "junk.pem").write_text("not a key")
    data["auth"]["jwt"]["signing_key_file"] = str(tmp_path / "junk.pem")
    jwt_config = parse_config(data, env={}).auth.jwt
    assert jwt_config is not None
    with pytest.raises(ConfigError) as raised:
        mint(jwt_config, "agent")
    assert raised.value.key == "auth.jwt.signing_key_file"


def test_a_public_key_file_must_hold_a_key_the_algorithms_use(
        graph_sandbox: RunningSandbox, tmp_path: Path) -> None:
    data = tomllib.loads(graph_sandbox.config_path.read_text())
    data["auth"]["jwt"]["public_key_file"] = data["auth"]["jwt"]["signing_key_file"]
    with pytest.raises(ConfigError) as raised:  # the private half: a mistake to catch early
        parse_config(data, env={})
    assert raised.value.key == "auth.jwt.public_key_file"
    assert "not a PEM public key" in str(raised.value)
    data = tomllib.loads(graph_sandbox.config_path.read_text())
    data["auth"]["jwt"]["algorithms"] = ["RS256", "EdDSA"]  # the sandbox key is EC
    with pytest.raises(ConfigError) as raised:
        parse_config(data, env={})
    assert raised.value.key == "auth.jwt.algorithms" and "EC key" in str(raised.value)


def test_minted_claims_follow_the_configured_claim_names(tmp_path: Path) -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    (tmp_path / "k.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    (tmp_path / "k.pub.pem").write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    config = parse_auth(Table({"jwt": {
        "issuer": "idp", "audience": ["c360", "other"], "algorithms": ["ES256", "EdDSA"],
        "public_key_file": "k.pub.pem", "signing_key_file": "k.pem",
        "claims": {"role": "realm_access.role", "customer": "https://c360.example/customer",
                   "subject": "uid"}}}, "auth", {}), base=tmp_path)
    assert config.jwt is not None
    token = mint(config.jwt, "customer", customer="shopify:7", subject="u-1")
    assert jwt.get_unverified_header(token)["alg"] == "EdDSA"  # the one the key signs with
    claims = jwt.decode(token, key.public_key(), algorithms=["EdDSA"], audience="c360")
    assert claims["realm_access"] == {"role": "customer"}
    assert claims["https://c360.example/customer"] == "shopify:7" and claims["uid"] == "u-1"
    principal = from_claims(claims, config.jwt.claims, config)
    assert (principal.role, principal.customer, principal.subject) == (
        Role.CUSTOMER, "shopify:7", "u-1")
