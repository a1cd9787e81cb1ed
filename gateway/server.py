"""Serving the gateway with uvicorn (``c360 serve``); ``app`` is the factory uvicorn workers
import, reading the config path from ``C360_CONFIG``."""

from __future__ import annotations

import os

import uvicorn
from starlette.applications import Starlette

from adapters.errors import ConfigError
from gateway.app import create_app
from gateway.config import load_config
from gateway.loop import tune_gc

CONFIG_ENV = "C360_CONFIG"
BATCHING_ENV = "C360_BATCHING"
"""``0`` turns the DataLoaders' batching off (every key its own upstream call): for
benchmarks that show what batching buys, never for production."""
SECURITY_ENV = "C360_SECURITY"
"""``0`` serves without authentication, rate limits and query limits, every caller a back-office
principal: for benchmarks that show what they cost. Refused unless bound to loopback."""
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def app() -> Starlette:
    """Application factory for uvicorn (``--factory gateway.server:app``)."""
    created = create_app(load_config(os.environ[CONFIG_ENV]),
                         batching=os.environ.get(BATCHING_ENV, "1") != "0",
                         security=os.environ.get(SECURITY_ENV, "1") != "0")
    tune_gc()
    return created


def serve(config_path: str, host: str, port: int, workers: int) -> None:
    load_config(config_path)  # fail at start, naming the key, before any worker forks
    if os.environ.get(SECURITY_ENV, "1") == "0" and host not in LOOPBACK:
        raise ConfigError(SECURITY_ENV, "security may be off only on a loopback address "
                                        "(benchmarks)")
    os.environ[CONFIG_ENV] = config_path
    uvicorn.run("gateway.server:app", factory=True, host=host, port=port, workers=workers,
                log_level="info", access_log=False, loop="auto", http="auto")
