"""Logs: text lines for a terminal, or one JSON object per line for a platform's collector
(``[telemetry] log_format``: ``time``, ``level``, ``logger``, ``process`` — the worker —,
``request_id``, ``message``), at ``log_level``; uvicorn's own loggers go the same way.

Every record logged while a request is answered carries its ``request_id`` (the id the answer
and its errors carry), and each GraphQL request ends with one ``c360.access`` line at ``info``:
``request_id``, ``operation``, ``outcome``, ``status``, ``duration_ms``, the ``sources`` it
called and, when it was traced, its ``trace_id`` (:mod:`gateway.telemetry.requests`).
Messages never hold a credential or personal data: the code that logs names ids, sources and
error types only.
"""

from __future__ import annotations

import logging
import sys
from contextvars import ContextVar
from typing import Any

from pythonjsonlogger.orjson import OrjsonFormatter

from gateway.telemetry.settings import TelemetryConfig

REQUEST_ID: ContextVar[str | None] = ContextVar("c360_request_id", default=None)
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
JSON_FIELDS = "{asctime}{levelname}{name}{process}{request_id}{message}"
_MARK = "_c360_handler"
QUIET = ("httpx", "httpcore")
"""Libraries that log every call's URL at ``info``: a silo's search URL holds the email or phone
number searched for. Kept at ``warning``."""


class RequestIdFilter(logging.Filter):
    """Adds the current request's id to every record (``-`` outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = REQUEST_ID.get() or "-"
        return True


def formatter(log_format: str) -> logging.Formatter:
    if log_format == "json":
        return OrjsonFormatter(JSON_FIELDS, style="{", rename_fields={
            "asctime": "time", "levelname": "level", "name": "logger"})
    return logging.Formatter(TEXT_FORMAT)


def configure(config: TelemetryConfig) -> logging.Handler:
    """Install the gateway's handler on the root logger (replacing one installed before).

    A record no longer looks up what no format of ours prints (the logging HOWTO's
    "Optimization"): the caller's file and line (a walk up the stack), the thread's, the
    multiprocessing process's and the asyncio task's names. The pid (``process``) is kept."""
    logging._srcfile = None
    logging.logThreads = False
    logging.logMultiprocessing = False
    if sys.version_info >= (3, 12):
        logging.logAsyncioTasks = False
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(config.log_format))
    handler.addFilter(RequestIdFilter())
    setattr(handler, _MARK, True)
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _MARK, False)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(config.log_level.upper())
    quiet_libraries()
    return handler


def quiet_libraries() -> None:
    for name in QUIET:
        logger = logging.getLogger(name)
        logger.setLevel(max(logging.WARNING, logger.level))


def uvicorn_log_config(config: TelemetryConfig) -> dict[str, Any]:
    """uvicorn's ``log_config``: its loggers hand their records to the root logger, which
    each worker sets up with :func:`configure`."""
    level = config.log_level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "loggers": {name: {"handlers": [], "level": level, "propagate": True}
                    for name in ("uvicorn", "uvicorn.error", "uvicorn.access")},
    }
