"""Shared fixtures: vendor payloads read in place, the real PostgreSQL server, anyio on asyncio."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

IN_CI = os.environ.get("CI", "").lower() == "true"
VENDOR_PAYLOADS = Path(
    os.environ.get(
        "C360_VENDOR_PAYLOADS",
        Path(__file__).resolve().parents[1].parent / "shared" / "vendor-payloads",
    )
)
POSTGRES_URL = os.environ.get(
    "C360_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("C360_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _missing(reason: str) -> None:
    """Skip on a user's machine; fail under CI=true, where everything must be present."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: required)")
    pytest.skip(reason)


def vendor_payload(relative: str) -> Any:
    """Load ``../shared/vendor-payloads/<relative>`` in place (never copied into the project)."""
    path = VENDOR_PAYLOADS / relative
    if not path.is_file():
        _missing(f"vendor payload {relative} not found under {VENDOR_PAYLOADS}")
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture
def payload() -> Any:
    """``payload("shopify/customer.json")`` loads one vendor payload, skipping where absent."""
    return vendor_payload


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    """The PostgreSQL server URL (sync psycopg driver), checked reachable."""
    import sqlalchemy as sa

    engine = sa.create_engine(POSTGRES_URL)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
    except Exception as exc:  # noqa: BLE001 - any failure means unreachable
        _missing(f"PostgreSQL unreachable at {POSTGRES_URL}: {type(exc).__name__}")
    finally:
        engine.dispose()
    return POSTGRES_URL


@pytest.fixture
def postgres_schema(postgres_server_url: str) -> Iterator[str]:
    """A fresh PostgreSQL schema for one test, dropped afterwards."""
    import sqlalchemy as sa

    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(postgres_server_url)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield schema
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


@pytest.fixture
def postgres_schema_url(postgres_server_url: str, postgres_schema: str) -> str:
    """A sync (psycopg) URL whose connections use the test's fresh schema."""
    sep = "&" if "?" in postgres_server_url else "?"
    return f"{postgres_server_url}{sep}options=-csearch_path%3D{postgres_schema}"


@pytest.fixture
def postgres_async_engine_args(
    postgres_server_url: str, postgres_schema: str
) -> tuple[str, dict[str, Any]]:
    """(asyncpg URL, connect_args) for an async engine on the test's fresh schema."""
    url = postgres_server_url.replace("postgresql+psycopg://", "postgresql+asyncpg://")
    return url, {"server_settings": {"search_path": postgres_schema}}


@pytest.fixture(scope="session")
def redis_server_url() -> str:
    """The Redis server URL (a database of its own), checked reachable."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        _missing(f"Redis unreachable at {REDIS_URL}: {type(exc).__name__}")
    finally:
        client.close()
    return REDIS_URL


@pytest.fixture
def redis_url(redis_server_url: str) -> Iterator[str]:
    """The Redis URL for one test: its database flushed before and after."""
    import redis

    client = redis.Redis.from_url(redis_server_url)
    client.flushdb()
    try:
        yield redis_server_url
    finally:
        client.flushdb()
        client.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def registry_engine(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[AsyncEngine]:
    """The registry's database (and the audit log's, beside it): a SQLite file, and the real
    PostgreSQL server."""
    if request.param == "sqlite":
        engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'identity.sqlite'}")
    else:
        url, connect_args = request.getfixturevalue("postgres_async_engine_args")
        engine = create_async_engine(url, connect_args=connect_args)
    yield engine
    await engine.dispose()
