"""Reading typed configuration out of a TOML table, with errors that name the key.

Every value can be overridden by an environment variable named after its dotted path:
``sources.shopify.access_token`` ← ``C360_SOURCES_SHOPIFY_ACCESS_TOKEN``. Secrets belong there
rather than in the file.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from adapters.errors import ConfigError

T = TypeVar("T")
_MISSING: Any = object()


def env_name(path: str) -> str:
    return "C360_" + re.sub(r"[^A-Za-z0-9]+", "_", path).upper()


class Table:
    """A config table at ``path`` (e.g. ``sources.shopify``); reads are typed and checked."""

    def __init__(self, data: Any, path: str, env: Mapping[str, str]) -> None:
        if not isinstance(data, Mapping):
            raise ConfigError(path, "must be a table")
        self.data: Mapping[str, Any] = data
        self.path = path
        self.env = env
        self.read: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def _raw(self, name: str, default: Any) -> Any:
        self.read.add(name)
        from_env = self.env.get(env_name(self.key(name)))
        if from_env is not None:
            return from_env
        if name in self.data:
            return self.data[name]
        if default is _MISSING:
            raise ConfigError(self.key(name), f"required (or set {env_name(self.key(name))})")
        return default

    def value(self, name: str, default: Any = _MISSING) -> Any:
        """The raw value (after the environment override), for shapes the typed readers lack."""
        return self._raw(name, default)

    def string(self, name: str, default: Any = _MISSING) -> Any:
        value = self._raw(name, default)
        if value is not None and not isinstance(value, str):
            raise ConfigError(self.key(name), f"must be a string, not {type(value).__name__}")
        if isinstance(value, str) and not value.strip() and default is _MISSING:
            raise ConfigError(self.key(name), "must not be empty")
        return value

    def url(self, name: str, default: Any = _MISSING) -> Any:
        value = self.string(name, default)
        if value is not None and not re.match(r"^https?://[^/\s]+", value):
            raise ConfigError(self.key(name), "must be an http(s) URL")
        return value

    def integer(self, name: str, default: Any = _MISSING, *, minimum: int | None = None) -> Any:
        value = self._raw(name, default)
        if isinstance(value, str):
            try:
                value = int(value)
            except ValueError:
                raise ConfigError(self.key(name), "must be an integer") from None
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise ConfigError(self.key(name), "must be an integer")
        if value is not None and minimum is not None and value < minimum:
            raise ConfigError(self.key(name), f"must be at least {minimum}")
        return value

    def number(self, name: str, default: Any = _MISSING, *, minimum: float | None = None) -> Any:
        value = self._raw(name, default)
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                raise ConfigError(self.key(name), "must be a number") from None
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise ConfigError(self.key(name), "must be a number")
        if value is not None and minimum is not None and value < minimum:
            raise ConfigError(self.key(name), f"must be at least {minimum}")
        return None if value is None else float(value)

    def seconds(self, name: str, default: Any = _MISSING, *, minimum: float = 0.0) -> Any:
        """A finite number of seconds, at least ``minimum``."""
        value = self.number(name, default, minimum=minimum)
        if value is not None and not math.isfinite(value):
            raise ConfigError(self.key(name), "must be a finite number of seconds")
        return value

    def boolean(self, name: str, default: Any = _MISSING) -> Any:
        value = self._raw(name, default)
        if isinstance(value, str) and value.lower() in ("true", "1", "yes", "false", "0", "no"):
            value = value.lower() in ("true", "1", "yes")
        if value is not None and not isinstance(value, bool):
            raise ConfigError(self.key(name), "must be true or false")
        return value

    def strings(self, name: str, default: Any = _MISSING) -> Any:
        value = self._raw(name, default)
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(self.key(name), "must be a list of strings")
        return value

    def choice(self, name: str, options: tuple[str, ...], default: Any = _MISSING) -> Any:
        value = self.string(name, default)
        if value not in options:
            raise ConfigError(self.key(name), f"must be one of {', '.join(options)}")
        return value

    def table(self, name: str, *, required: bool = False) -> Table:
        self.read.add(name)
        if name not in self.data:
            if required:
                raise ConfigError(self.key(name), "required table")
            return Table({}, self.key(name), self.env)
        return Table(self.data[name], self.key(name), self.env)

    def tables(self, name: str) -> list[Table]:
        self.read.add(name)
        value = self.data.get(name, [])
        if not isinstance(value, list):
            raise ConfigError(self.key(name), "must be an array of tables")
        return [Table(v, f"{self.key(name)}[{i}]", self.env) for i, v in enumerate(value)]

    def per_source(self, name: str, sources: Iterable[str],
                   read: Callable[[Table], T]) -> dict[str, T]:
        """``[<name>.<source>]`` tables, each read by ``read`` (and finished); a table naming no
        configured source is refused."""
        known = set(sources)
        outer = self.table(name)
        found: dict[str, T] = {}
        for source in outer.data:
            if source not in known:
                raise ConfigError(outer.key(source), "names no configured source")
            inner = outer.table(source)
            found[source] = read(inner)
            inner.finish()
        outer.finish()
        return found

    def finish(self) -> None:
        """Refuse keys nobody read: a typo must not be silently ignored."""
        unknown = sorted(set(self.data) - self.read)
        if unknown:
            raise ConfigError(self.key(unknown[0]), "unknown key")
