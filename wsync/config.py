"""wsync.toml + environment -> Settings (store, ledger path, feeds, import defaults).

The file is found at --config / WSYNC_CONFIG, else ./wsync.toml. Environment variables override
the file (WSYNC_STORE_URL, WSYNC_CONSUMER_KEY, WSYNC_CONSUMER_SECRET, WSYNC_LEDGER), so keys can
stay out of the file entirely. Every value remembers where it came from, for `wsync config show`.
"""

from __future__ import annotations

import difflib
import os
import stat
import sys
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from wsync.errors import ConfigError
from wsync.redact import redact, register_secret
from wsync.store.settings import AUTH_STYLES, PERMALINK_STYLES, StoreSettings
from wsync.sync.options import ImportOptions

CONFIG_NAME = "wsync.toml"
LEDGER_NAME = "wsync.db"
STARTER_URL = "https://shop.example.com"   # what `wsync init` writes
ENV_STORE = {"url": "WSYNC_STORE_URL", "consumer_key": "WSYNC_CONSUMER_KEY", "consumer_secret": "WSYNC_CONSUMER_SECRET"}
MISSING_POLICIES = ("keep", "outofstock", "draft", "trash")
STALE_VARIATION_POLICIES = ("delete", "keep")
# Keys inside feed tables whose values are credentials: registered so they are masked everywhere.
_SECRET_WORDS = ("password", "token", "secret", "api_key", "apikey", "authorization")


# The [import] table sets defaults for the import options; one definition of those defaults
# (the options a job runs with) serves both.
ImportDefaults = ImportOptions


@dataclass
class Settings:
    path: Path | None                 # the config file read, None without one
    base_dir: Path                    # relative paths in the file are relative to this
    store: StoreSettings | None       # None only with require_store=False and no URL anywhere
    ledger_path: Path
    feeds: dict[str, dict[str, Any]] = field(default_factory=dict)
    import_defaults: ImportDefaults = field(default_factory=ImportDefaults)
    origins: dict[str, str] = field(default_factory=dict)   # "store.url" -> file | env | default


# key -> (check, description). A check returns the normalised value or raises ValueError(fix).
def _bool(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    raise ValueError("must be true or false")


def _str(v: Any) -> str:
    if isinstance(v, str):
        return v
    raise ValueError("must be a quoted string")


def _choice(*options: str) -> Callable[[Any], str]:
    def check(v: Any) -> str:
        if isinstance(v, str) and v in options:
            return v
        raise ValueError("must be one of " + ", ".join(f'"{o}"' for o in options))
    return check


def _number(low: float, high: float | None = None) -> Callable[[Any], float]:
    def check(v: Any) -> float:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v < low or (high is not None and v > high):
            raise ValueError(f"must be a number from {low:g}" + (f" to {high:g}" if high is not None else " up"))
        return float(v)
    return check


def _concurrency(v: Any) -> int | str:
    if v == "auto":
        return "auto"
    if isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 16:
        return v
    raise ValueError('must be "auto" or a whole number from 1 to 16')


def _int(low: int, high: int | None = None) -> Callable[[Any], int]:
    def check(v: Any) -> int:
        if isinstance(v, bool) or not isinstance(v, int) or v < low or (high is not None and v > high):
            raise ValueError(f"must be a whole number from {low}" + (f" to {high}" if high is not None else " up"))
        return v
    return check


STORE_KEYS: dict[str, Callable[[Any], Any]] = {
    "url": _str, "consumer_key": _str, "consumer_secret": _str, "auth": _choice(*AUTH_STYLES),
    "verify_tls": _bool, "allow_insecure_http": _bool, "connect_timeout": _number(0.1, 600),
    "read_timeout": _number(1, 3600), "max_request_s": _number(0, 3600), "max_attempts": _int(1, 20),
    "max_retry_wait_s": _number(0, 3600),
    "backoff_base_s": _number(0, 60), "concurrency": _int(1, 16), "permalinks": _choice(*PERMALINK_STYLES),
}
IMPORT_KEYS: dict[str, Callable[[Any], Any]] = {
    "products_per_batch": _int(1, 100), "variations_per_batch": _int(1, 100), "images_per_batch": _int(1, 100),
    "variations_across_parents": _bool,
    "concurrency": _concurrency, "concurrency_max": _int(1, 16), "process_images": _bool,
    "update_existing": _bool, "create_new": _bool,
    "missing": _choice(*MISSING_POLICIES), "stale_variations": _choice(*STALE_VARIATION_POLICIES),
    "max_errors": _int(0), "allow_mass_change": _bool, "max_memory_mb": _int(160, 1_000_000),
}
TOP_KEYS = ("store", "ledger", "feeds", "import")


def find_config(config_path: Path | None) -> tuple[Path | None, bool]:
    """(path, explicit): an explicit path must exist; ./wsync.toml is optional."""
    if config_path is None:
        common = sys.modules.get("wsync.cli.common")
        config_path = getattr(getattr(common, "STATE", None), "config", None)
    if config_path is None and os.environ.get("WSYNC_CONFIG"):
        config_path = Path(os.environ["WSYNC_CONFIG"])
    if config_path is not None:
        return Path(config_path).expanduser(), True
    default = Path.cwd() / CONFIG_NAME
    return (default, False) if default.exists() else (None, False)


def load_settings(config_path: Path | None = None, *, require_store: bool = True) -> Settings:
    path, _explicit = find_config(config_path)
    doc: dict[str, Any] = {}
    if path is not None:
        if not path.is_file():
            raise ConfigError("config file not found" if not path.exists() else "is not a file", path=str(path),
                              hint="create one with `wsync init`, or pass --config PATH")
        doc = _read_toml(path)
    base_dir = path.resolve().parent if path else Path.cwd()
    where = str(path) if path else None
    origins: dict[str, str] = {}

    _reject_unknown(doc, TOP_KEYS, where, prefix="")
    store_doc = _table(doc, "store", where)
    import_doc = _table(doc, "import", where)
    feeds_doc = _table(doc, "feeds", where)
    _reject_unknown(store_doc, tuple(STORE_KEYS), where, prefix="store.")
    _reject_unknown(import_doc, tuple(IMPORT_KEYS), where, prefix="import.")

    store_values: dict[str, Any] = {}
    for key, check in STORE_KEYS.items():
        if key in store_doc:
            store_values[key] = _checked(check, store_doc[key], f"store.{key}", where)
            origins[f"store.{key}"] = "file"
    for key, env in ENV_STORE.items():
        if os.environ.get(env):
            store_values[key] = os.environ[env]
            origins[f"store.{key}"] = "env"
    for key in ("consumer_key", "consumer_secret"):
        register_secret(store_values.get(key))
    if path and (store_doc.get("consumer_key") or store_doc.get("consumer_secret") or _has_feed_secret(feeds_doc)):
        _warn_if_readable(path)

    store = _store_settings(store_values, origins, where, require_store)

    import_values = {}
    for key, check in IMPORT_KEYS.items():
        if key in import_doc:
            import_values[key] = _checked(check, import_doc[key], f"import.{key}", where)
    for f in fields(ImportDefaults):
        if f.name in IMPORT_KEYS:
            origins[f"import.{f.name}"] = "file" if f.name in import_values else "default"

    feeds: dict[str, dict[str, Any]] = {}
    for name, table in feeds_doc.items():
        if not isinstance(table, dict):
            raise ConfigError(f"feed {name!r} must be a table", path=where, key=f"feeds.{name}",
                              hint=f"write it as [feeds.{name}] with source = \"...\" below it")
        _register_feed_secrets(table)
        feeds[name] = table

    if os.environ.get("WSYNC_LEDGER"):
        ledger = Path(os.environ["WSYNC_LEDGER"]).expanduser()
        origins["ledger"] = "env"
    elif "ledger" in doc:
        raw = _checked(_str, doc["ledger"], "ledger", where)
        ledger = Path(raw).expanduser()
        ledger = ledger if ledger.is_absolute() else base_dir / ledger
        origins["ledger"] = "file"
    else:
        ledger = base_dir / LEDGER_NAME
        origins["ledger"] = "default"
    return Settings(path=path, base_dir=base_dir, store=store, ledger_path=ledger, feeds=feeds,
                    import_defaults=ImportDefaults(**import_values), origins=origins)


def _store_settings(values: dict[str, Any], origins: dict[str, str], where: str | None,
                    require_store: bool) -> StoreSettings | None:
    for f in fields(StoreSettings):
        origins.setdefault(f"store.{f.name}", "default")
    if not values.get("url"):
        if require_store:
            raise ConfigError("no store URL", path=where, key="store.url",
                              hint="set url in [store] (run `wsync init` for a starter file) or WSYNC_STORE_URL")
        return None
    for key in ("consumer_key", "consumer_secret"):
        if not values.get(key) and require_store:
            raise ConfigError(f"no {key}", path=where, key=f"store.{key}",
                              hint=f"set {key} in [store] or {ENV_STORE[key]} "
                                   "(WooCommerce > Settings > Advanced > REST API makes a key pair)")
    if require_store:
        placeholders = [k for k in ("consumer_key", "consumer_secret") if str(values.get(k, "")).endswith("...")]
        if values["url"] == STARTER_URL:
            placeholders.insert(0, "url")
        if placeholders:
            raise ConfigError("still holds the starter file's placeholder", path=where,
                              key=f"store.{placeholders[0]}",
                              hint="write your store's URL and a Read/Write key pair from WooCommerce")
    values.setdefault("consumer_key", "")
    values.setdefault("consumer_secret", "")
    return StoreSettings(**values)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", path=str(path),
                          hint="fix the line named above (strings need quotes, tables [name])") from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", path=str(path)) from None


def _table(doc: dict[str, Any], key: str, where: str | None) -> dict[str, Any]:
    value = doc.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError("must be a table", path=where, key=key, hint=f"write it as [{key}] with keys below it")
    return value


def _reject_unknown(doc: dict[str, Any], known: tuple[str, ...], where: str | None, prefix: str) -> None:
    for key in doc:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1, cutoff=0.5)
            hint = f"did you mean {prefix}{close[0]}?" if close else "known keys: " + ", ".join(known)
            if prefix and key in TOP_KEYS:
                hint = f"{key} is a top-level key: move it above the first [table]"
            raise ConfigError("unknown key", path=where, key=f"{prefix}{key}", hint=hint)


def _checked(check: Callable[[Any], Any], value: Any, key: str, where: str | None) -> Any:
    try:
        return check(value)
    except ValueError as exc:
        raise ConfigError(f"{exc} (found {redact(repr(value))})", path=where, key=key) from None


def _is_secret_key(key: str) -> bool:
    return any(word in key.lower() for word in _SECRET_WORDS)


def _register_feed_secrets(table: Any) -> None:
    if isinstance(table, dict):
        for key, value in table.items():
            if isinstance(value, str) and _is_secret_key(str(key)):
                register_secret(value)
            else:
                _register_feed_secrets(value)


def _has_feed_secret(table: Any) -> bool:
    if isinstance(table, dict):
        return any((isinstance(v, str) and _is_secret_key(str(k))) or _has_feed_secret(v) for k, v in table.items())
    return False


_warned: set[str] = set()


def _warn_if_readable(path: Path) -> None:
    try:
        mode = path.stat().st_mode
    except OSError:
        return
    if os.name == "posix" and mode & (stat.S_IRGRP | stat.S_IROTH) and str(path) not in _warned:
        _warned.add(str(path))
        sys.stderr.write(f"warning: {path} holds secrets and is readable by other users; run: chmod 600 {path}\n")


def effective_values(settings: Settings) -> dict[str, dict[str, Any]]:
    """Every effective setting with its source, secrets masked (for `wsync config show`)."""
    from wsync.redact import mask

    values: dict[str, dict[str, Any]] = {}
    store = settings.store
    for f in fields(StoreSettings):
        if f.name == "user_agent":
            continue
        raw = getattr(store, f.name) if store else None
        if f.name in ("consumer_key", "consumer_secret"):
            raw = mask(raw) if raw else None
        values[f"store.{f.name}"] = {"value": raw, "source": settings.origins.get(f"store.{f.name}", "default")}
    values["ledger"] = {"value": str(settings.ledger_path), "source": settings.origins.get("ledger", "default")}
    for f in (f for f in fields(ImportDefaults) if f.name in IMPORT_KEYS):
        values[f"import.{f.name}"] = {"value": getattr(settings.import_defaults, f.name),
                                      "source": settings.origins.get(f"import.{f.name}", "default")}
    return values
