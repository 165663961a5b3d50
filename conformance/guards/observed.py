"""Everything a connector instance hands back, on every path: for the secret canaries (F-WIRE-2).

A canary can leave through whatever create/get/delete/get_logs/get_metrics return or raise, on any path:
a FAILED message, a log link built on the failure path, custom_info, outputs, an exception the service
turns into an error. Each instance the suite builds has these methods wrapped on the instance (the class
is untouched, so STRUCT- clauses and ``type(connector).get_logs`` checks see the connector's own code);
the wrapper keeps sync methods sync and async ones async, as the service tells them apart.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import traceback
from collections.abc import Callable
from typing import Any

METHODS = ("create", "get", "delete", "get_logs", "get_metrics")
RESOURCE_FIELDS = ("message", "log_links", "custom_info", "outputs")

Seen = Callable[[str, str], None]
"""Called with (where, text): ``get() Resource.message``, and what it said."""


def observe(connector: Any, seen: Seen) -> None:
    """Wrap the instance's connector methods so every return value and exception goes to ``seen``."""
    for name in METHODS:
        method = getattr(connector, name, None)
        if method is not None and callable(method):
            with contextlib.suppress(Exception):  # __slots__ or a read-only attribute: that method goes unwatched
                setattr(connector, name, functools.wraps(method)(_wrapper(name, method, seen)))


def _wrapper(name: str, method: Callable, seen: Seen) -> Callable:
    """Async for async methods, sync for sync ones: the service runs the latter in worker threads."""

    def returned(result: Any) -> Any:
        with contextlib.suppress(Exception):  # the guard never changes what the connector's call does
            for where, text in texts_of(f"{name}()", result):
                seen(where, text)
        return result

    def raised(exc: BaseException) -> None:
        with contextlib.suppress(Exception):
            seen(f"the exception {name}() raised", _exception_text(exc))

    if inspect.iscoroutinefunction(method):
        async def observed_async(*args: Any, **kwargs: Any) -> Any:
            try:
                return returned(await method(*args, **kwargs))
            except BaseException as exc:  # noqa: B036 - re-raised as is; only read here
                raised(exc)
                raise

        return observed_async

    def observed(*args: Any, **kwargs: Any) -> Any:
        try:
            return returned(method(*args, **kwargs))
        except BaseException as exc:  # noqa: B036
            raised(exc)
            raise

    return observed


def _exception_text(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc))


def texts_of(what: str, result: Any) -> list[tuple[str, str]]:
    """Where in ``result`` each text is: a Resource field by field, a meta as fields and encoded bytes."""
    from flytekit.extend.backend.base_connector import Resource, ResourceMeta

    if isinstance(result, Resource):
        return [(f"{what} Resource.{field}", _text(getattr(result, field))) for field in RESOURCE_FIELDS
                if getattr(result, field, None) is not None]
    texts = [(f"what {what} returned", _text(result))]
    if isinstance(result, ResourceMeta):
        with contextlib.suppress(Exception):
            texts.append((f"the meta {what} returned, encoded", _text(result.encode())))
    return texts


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    try:
        return str(value)
    except Exception:
        return ""
