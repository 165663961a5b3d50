"""Secret canaries: every secret the connector reads answers a unique, recorded value (F-WIRE-2).

flytekit's secret APIs all end in one environment lookup: ``get_connector_secret(key)`` and
``current_context().secrets.get(group, key)`` read ``os.environ["_FSEC_<GROUP>_<KEY>"]`` first, and
connectors also read those variables directly. While the canaries are active, every ``_FSEC_*`` lookup
(``os.environ[...]``, ``.get``, ``os.getenv``, ``in``) answers a canary unique to that variable, so the
real secrets never enter a test, and any place a canary (or its base64 form) shows up is a leak.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import os
import secrets
from collections.abc import Iterator

DEFAULT_ENV_PREFIX = "_FSEC_"


def env_prefix() -> str:
    """The prefix flytekit's SecretsManager reads secrets under (configurable in flytekit)."""
    try:
        from flytekit.configuration import SecretsConfig

        return SecretsConfig.auto().env_prefix.strip() or DEFAULT_ENV_PREFIX
    except Exception:
        return DEFAULT_ENV_PREFIX


class SecretCanaries:
    """Context manager: answers canaries for secret lookups; ``issued`` maps variable name to canary."""

    def __init__(self) -> None:
        self.issued: dict[str, str] = {}
        self._forms: list[tuple[str, str, str]] = []  # (variable, how it is encoded, text to look for)
        self._prefix = env_prefix()

    def _canary(self, name: str) -> str:
        canary = self.issued.get(name)
        if canary is None:
            canary = self.issued.setdefault(name, f"canary-{secrets.token_hex(12)}")
            self._forms.extend((name, how, text) for how, text in encoded_forms(canary))
        return canary

    def __enter__(self) -> SecretCanaries:
        original = os._Environ.__getitem__
        canaries = self

        def lookup(environ: os._Environ, key: str) -> str:
            if environ is os.environ and isinstance(key, str) and key.startswith(canaries._prefix):
                return canaries._canary(key)
            return original(environ, key)

        self._original = original
        setattr(os._Environ, "__getitem__", lookup)  # the deliberate patch this guard is
        return self

    def __exit__(self, *exc_info: object) -> None:
        setattr(os._Environ, "__getitem__", self._original)

    def leaks(self, where: str, content: str | bytes) -> list[str]:
        """``secret _FSEC_TOKEN (base64) in GetTask Resource.message`` for each canary found in ``content``."""
        text = content.decode("utf-8", "replace") if isinstance(content, bytes) else content
        found: dict[str, str] = {}
        for name, how, form in list(self._forms):
            if form in text:
                found.setdefault(name, how)
        return [f"secret {name}{'' if how == 'as is' else f' ({how})'} in {where}" for name, how in found.items()]


def encoded_forms(value: str) -> list[tuple[str, str]]:
    """The value as is and base64-encoded at each alignment, as it appears inside larger encoded text
    (e.g. ``Basic base64(user:token)``): the characters that depend only on the value itself."""
    forms = [("as is", value)]
    raw = value.encode()
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + raw).decode()
        start = (offset * 4 + 2) // 3
        end = len(encoded) - (4 if (offset + len(raw)) % 3 else 0)
        core = encoded[start:end]
        forms.append(("base64", core))
        forms.append(("urlsafe base64", core.replace("+", "-").replace("/", "_")))
    return list(dict.fromkeys(forms))


class _Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextlib.contextmanager
def captured_logs(level: int = logging.INFO) -> Iterator[list[logging.LogRecord]]:
    """Records from the root logger (lowered to ``level`` if higher) and flytekit's, which does not propagate.

    flytekit's level is left alone: lowering it would print its INFO chatter through its own handler.
    """
    collector = _Collector()
    root, flytekit = logging.getLogger(), logging.getLogger("flytekit")
    saved = root.level
    root.setLevel(min(saved, level) if saved else saved)
    for logger in (root, flytekit):
        logger.addHandler(collector)
    try:
        yield collector.records
    finally:
        for logger in (root, flytekit):
            logger.removeHandler(collector)
        root.setLevel(saved)


def record_text(record: logging.LogRecord) -> str:
    """What a log handler would write: the message, and the traceback if one is attached.

    A malformed call (``logger.error("failed: ", exc)``: arguments without placeholders) makes
    ``getMessage`` raise; a handler would report a logging error instead, so both parts are searched.
    """
    try:
        text = record.getMessage()
    except (TypeError, ValueError):
        text = f"{record.msg} {record.args!r}"
    if record.exc_info:
        text += "\n" + logging.Formatter().formatException(record.exc_info)
    return text
