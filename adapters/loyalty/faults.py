"""Database failures → the c360 error tree (pure: no I/O).

PostgreSQL drivers (asyncpg, psycopg) expose the SQLSTATE; SQLite's ``sqlite3`` exposes the
error name. Messages name the operation and the error class or code only: a driver's own text
can quote the statement's values (customer emails, phones) or the URL, so it is never copied.
"""

from __future__ import annotations

import decimal

import sqlalchemy.exc as sa_exc

from adapters.errors import (
    UpstreamAuthError,
    UpstreamBadResponse,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
)

ErrorType = type[UpstreamError]

# SQLSTATE (5 characters) or its class (first 2) → error; the longest match wins.
_SQLSTATE: dict[str, ErrorType] = {
    "08": UpstreamUnavailable,   # connection exception
    "53": UpstreamUnavailable,   # insufficient resources (too many connections, disk full)
    "57": UpstreamUnavailable,   # operator intervention: admin/crash shutdown, cannot connect now
    "57014": UpstreamTimeout,    # query_canceled: statement_timeout
    "55P03": UpstreamTimeout,    # lock_not_available: lock_timeout
    "58": UpstreamUnavailable,   # system error (I/O)
    "40": UpstreamUnavailable,   # transaction rollback: serialization failure, deadlock
    "25P03": UpstreamUnavailable,  # idle_in_transaction_session_timeout
    "3D": UpstreamUnavailable,   # the database does not exist
    "28": UpstreamAuthError,     # invalid authorization: unknown role, wrong password
    "42501": UpstreamAuthError,  # insufficient_privilege on the tables
    "42": UpstreamBadResponse,   # undefined table/column, syntax: not the schema we expect
    "3F": UpstreamBadResponse,   # invalid schema name
    "22": UpstreamBadResponse,   # data exception: a stored value of an unexpected type
    "0A": UpstreamBadResponse,   # feature not supported
    "XX": UpstreamUnavailable,   # internal error
}

# sqlite3's ``sqlite_errorname`` (extended codes such as SQLITE_IOERR_READ match by prefix).
_SQLITE: dict[str, ErrorType] = {
    "SQLITE_BUSY": UpstreamUnavailable,
    "SQLITE_LOCKED": UpstreamUnavailable,
    "SQLITE_CANTOPEN": UpstreamUnavailable,
    "SQLITE_IOERR": UpstreamUnavailable,
    "SQLITE_FULL": UpstreamUnavailable,
    "SQLITE_NOMEM": UpstreamUnavailable,
    "SQLITE_PROTOCOL": UpstreamUnavailable,
    "SQLITE_INTERRUPT": UpstreamTimeout,
    "SQLITE_AUTH": UpstreamAuthError,
    "SQLITE_PERM": UpstreamAuthError,
    "SQLITE_ERROR": UpstreamBadResponse,  # no such table / column
    "SQLITE_CORRUPT": UpstreamBadResponse,
    "SQLITE_NOTADB": UpstreamBadResponse,
    "SQLITE_SCHEMA": UpstreamBadResponse,
    "SQLITE_MISMATCH": UpstreamBadResponse,
}

_ROW_SURPRISES = (KeyError, TypeError, ValueError, AttributeError, IndexError,
                  decimal.InvalidOperation)


def _by_sqlstate(sqlstate: str) -> ErrorType | None:
    return _SQLSTATE.get(sqlstate) or _SQLSTATE.get(sqlstate[:2])


def _by_sqlite_name(name: str) -> ErrorType | None:
    for prefix, error in _SQLITE.items():
        if name == prefix or name.startswith(prefix + "_"):
            return error
    return None


def _driver_codes(exc: BaseException) -> tuple[str | None, str | None]:
    sqlstate = getattr(exc, "sqlstate", None) or getattr(exc, "pgcode", None)
    name = getattr(exc, "sqlite_errorname", None)
    return (sqlstate if isinstance(sqlstate, str) and sqlstate else None,
            name if isinstance(name, str) and name else None)


def classify(exc: BaseException) -> tuple[ErrorType, str]:
    """The error class for a failure while querying, and a PII-free description of it."""
    if isinstance(exc, TimeoutError | sa_exc.TimeoutError):
        return UpstreamTimeout, "timed out"
    orig = exc.orig if isinstance(exc, sa_exc.DBAPIError) and exc.orig is not None else exc
    sqlstate, sqlite_name = _driver_codes(orig)
    if sqlstate is not None:
        found = _by_sqlstate(sqlstate)
        if found is not None:
            return found, f"sqlstate {sqlstate}"
    elif sqlite_name is not None:
        found = _by_sqlite_name(sqlite_name)
        if found is not None:
            return found, sqlite_name
    what = f"sqlstate {sqlstate}" if sqlstate else sqlite_name or type(orig).__name__
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated or isinstance(
                exc, sa_exc.OperationalError | sa_exc.InterfaceError):
            return UpstreamUnavailable, what
        return UpstreamBadResponse, what
    if isinstance(exc, sa_exc.DisconnectionError | OSError):
        return UpstreamUnavailable, what
    if isinstance(exc, (sa_exc.SQLAlchemyError, *_ROW_SURPRISES)):
        # e.g. NoSuchColumnError, or a stored value its column type cannot read
        return UpstreamBadResponse, f"unexpected row: {what}"
    return UpstreamUnavailable, what


_CONFLICT_SQLSTATES = frozenset({"23505", "40001", "40P01"})
"""unique_violation, serialization_failure, deadlock_detected: a concurrent writer won."""
_CONFLICT_SQLITE = frozenset({"SQLITE_CONSTRAINT_PRIMARYKEY", "SQLITE_CONSTRAINT_UNIQUE"})


def is_write_conflict(exc: BaseException) -> bool:
    """Whether ``exc`` says a concurrent transaction took the same key first (or the database
    chose this one to abort): the transaction was rolled back and may simply run again."""
    if not isinstance(exc, sa_exc.DBAPIError) or exc.orig is None:
        return False
    sqlstate, sqlite_name = _driver_codes(exc.orig)
    return sqlstate in _CONFLICT_SQLSTATES or sqlite_name in _CONFLICT_SQLITE


def map_error(source: str, operation: str, exc: BaseException) -> UpstreamError:
    """``exc`` (raised while running ``operation``) as the c360 error to raise ``from`` it."""
    if isinstance(exc, UpstreamError):
        return exc
    error, what = classify(exc)
    return error(source, f"{operation} failed: {what}")
