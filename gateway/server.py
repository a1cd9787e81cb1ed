"""Serving the gateway with uvicorn (``c360 serve``); ``app`` is the factory uvicorn workers
import, reading the config path from ``C360_CONFIG``."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import uvicorn
from starlette.applications import Starlette

from adapters.errors import ConfigError
from gateway.app import create_app
from gateway.config import load_config
from gateway.loop import tune_gc
from gateway.telemetry.logs import configure as configure_logging
from gateway.telemetry.logs import uvicorn_log_config
from gateway.telemetry.metrics import MULTIPROC_ENV

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
    config = load_config(os.environ[CONFIG_ENV])
    configure_logging(config.telemetry)
    created = create_app(config,
                         batching=os.environ.get(BATCHING_ENV, "1") != "0",
                         security=os.environ.get(SECURITY_ENV, "1") != "0")
    tune_gc()
    return created


def metrics_directory(workers: int) -> str | None:
    """Several workers add up their metrics in files (prometheus-client's multiprocess mode):
    an empty directory of this run's, or the one ``PROMETHEUS_MULTIPROC_DIR`` names, emptied
    of a previous run's files. Returns the directory it made (removed after the run)."""
    given = os.environ.get(MULTIPROC_ENV)
    if workers <= 1 and not given:
        return None
    if not given:
        made = os.environ[MULTIPROC_ENV] = tempfile.mkdtemp(prefix="c360-metrics-")
        return made
    os.makedirs(given, exist_ok=True)
    for stale in Path(given).glob("*.db"):
        stale.unlink()
    return None


def serve(config_path: str, host: str, port: int, workers: int) -> None:
    config = load_config(config_path)  # fail at start, naming the key, before any worker forks
    configure_logging(config.telemetry)
    if os.environ.get(SECURITY_ENV, "1") == "0" and host not in LOOPBACK:
        raise ConfigError(SECURITY_ENV, "security may be off only on a loopback address "
                                        "(benchmarks)")
    os.environ[CONFIG_ENV] = config_path
    made = metrics_directory(workers)
    try:
        uvicorn.run("gateway.server:app", factory=True, host=host, port=port, workers=workers,
                    log_config=uvicorn_log_config(config.telemetry),
                    log_level=config.telemetry.log_level, access_log=False, loop="auto",
                    http="auto")
    finally:
        if made is not None:
            shutil.rmtree(made, ignore_errors=True)
