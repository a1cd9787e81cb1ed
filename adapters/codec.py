"""The adapters' models as bytes and back, for a shared cache (JSON: no pickle, so a value read
from Redis can never run code). Decoding is driven by the type the value must have:
dataclasses (by their annotations), ``X | None``, ``tuple[X, ...]``, fixed tuples, ``list[X]``,
``Decimal`` (kept exact, as a string), ``datetime`` (ISO 8601), enums and plain scalars.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import datetime
from decimal import Decimal
from enum import Enum
from functools import cache
from typing import Any

import orjson


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(type(value).__name__)


def encode(value: Any) -> bytes:
    return orjson.dumps(value, default=_default)


@cache
def _hints(cls: type) -> tuple[tuple[str, Any], ...]:
    hints = typing.get_type_hints(cls)
    return tuple((f.name, hints[f.name]) for f in dataclasses.fields(cls) if f.init)


def _value(tp: Any, data: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        if data is None:
            return None
        options = [t for t in typing.get_args(tp) if t is not type(None)]
        if len(options) != 1:
            raise TypeError(f"ambiguous union {tp!r}")
        return _value(options[0], data)
    if origin is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_value(args[0], item) for item in data)
        return tuple(_value(t, item) for t, item in zip(args, data, strict=True))
    if origin is list:
        (item_type,) = typing.get_args(tp)
        return [_value(item_type, item) for item in data]
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        return tp(**{name: _value(field_type, data[name])
                     for name, field_type in _hints(tp) if name in data})
    if tp is Decimal:
        return Decimal(data)
    if tp is datetime:
        return datetime.fromisoformat(data)
    if isinstance(tp, type) and issubclass(tp, Enum):
        return tp(data)
    if tp in (str, int, float, bool):
        if tp is float and isinstance(data, int):
            return float(data)
        if not isinstance(data, tp):
            raise TypeError(f"expected {tp.__name__}, got {type(data).__name__}")
        return data
    if tp is Any:
        return data
    raise TypeError(f"cannot decode {tp!r}")


def decode(tp: Any, raw: bytes) -> Any:
    """The value of type ``tp`` :func:`encode` made; ``TypeError``/``ValueError``/``KeyError``
    when ``raw`` is not one."""
    return _value(tp, orjson.loads(raw))


def from_data(tp: Any, data: Any) -> Any:
    """:func:`decode` of data already parsed from JSON."""
    return _value(tp, data)
