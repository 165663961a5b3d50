"""Metadata: the resource meta survives the wire, another process and an upgrade (F-WIRE-1)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from conformance.clause import ClauseFailure, ClauseSkip, Level, Needs, clause
from conformance.errors import brief
from conformance.fresh_process import reencode
from conformance.roundtrip import data_loss, first_difference

if TYPE_CHECKING:
    from conformance.run import ClauseRun


@clause("META-CREATE-TYPE", fact="F-WIRE-1", needs=Needs.CREATE,
        consequence="The service encodes whatever create() returns but decodes GetTask metas as metadata_type: "
                    "get() then receives a different type than create() produced.",
        fix="Return metadata_type(...) from create().")
def create_returns_metadata_type(run: ClauseRun) -> None:
    """create() returns an instance of metadata_type, the class get/delete decode into (F-WIRE-1)."""
    _, meta = run.create_direct()
    meta_type = run.connector.metadata_type
    if isinstance(meta_type, type) and isinstance(meta, meta_type):
        return
    raise ClauseFailure(
        expected=f"create() returns a {getattr(meta_type, '__name__', meta_type)} instance",
        observed=f"create() returned {type(meta).__name__}: {meta!r:.120}",
    )


@clause("META-ENCODE-BYTES", fact="F-WIRE-1", needs=Needs.META,
        consequence="CreateTaskResponse.resource_meta is a bytes field: anything else fails every CreateTask RPC "
                    "with INTERNAL, so no task of this type can start.",
        fix="Return bytes, e.g. json.dumps(asdict(self)).encode('utf-8').")
def encode_returns_bytes(run: ClauseRun) -> None:
    """encode() returns bytes: the meta travels as a protobuf bytes field (F-WIRE-1)."""
    _, meta = run.create_direct()
    encoded = run.encode(meta)
    if isinstance(encoded, bytes):
        return
    raise ClauseFailure(
        expected="encode() returns bytes",
        observed=f"encode() returned {type(encoded).__name__}: {encoded!r:.120}",
    )


def _roundtrip(run: ClauseRun, meta: Any, compare: Callable[[Any, Any], str | None] = data_loss) -> tuple:
    """(encoded bytes, problem or None) for decode(encode(meta)) under the call deadline."""
    meta_type = run.connector.metadata_type

    def attempt() -> tuple:
        try:
            encoded = meta.encode()
            return encoded, compare(meta, meta_type.decode(encoded))
        except Exception as exc:
            return None, f"encode/decode raised {brief(exc)}"

    return run.call_blocking(attempt, "encode()/decode()")


@clause("META-ROUNDTRIP", fact="F-WIRE-1", needs=Needs.META,
        consequence="GetTask and DeleteTask receive metadata_type.decode(encode(meta)), possibly in another process "
                    "or after an upgrade; a meta that comes back different polls or cancels the wrong thing, or "
                    "crashes.",
        fix="Encode every field losslessly (nested dataclasses, enums, datetimes need explicit handling with JSON), "
            "or override encode()/decode() together.")
def roundtrip(run: ClauseRun) -> None:
    """decode(encode(meta)) holds the same data as meta, of the types its fields declare (F-WIRE-1)."""
    _, meta = run.create_direct()
    _, problem = _roundtrip(run, meta)
    if problem is None:
        return
    raise ClauseFailure(
        expected=f"metadata_type.decode(meta.encode()) == meta for the meta create() returned: {meta!r:.200}",
        observed=problem,
    )


@clause("META-ROUNDTRIP-EXACT", fact="F-WIRE-1", level=Level.SHOULD, needs=Needs.META,
        consequence="The value still satisfies the declared type and holds the same data, but code that relies on "
                    "the exact type (hashing a tuple, `is` checks, isinstance on a subclass) behaves differently "
                    "after a GetTask than after create().",
        fix="Rebuild the exact types in decode() (e.g. tuple(data['queues'])), or declare the type decode gives "
            "back (List[str] rather than Sequence[str] holding a tuple).")
def roundtrip_exact(run: ClauseRun) -> None:
    """decode(encode(meta)) has the same types as meta all the way down, e.g. a tuple stays a tuple (F-WIRE-1)."""
    _, meta = run.create_direct()
    _, problem = _roundtrip(run, meta)
    if problem is not None:
        raise ClauseSkip(f"the meta loses data already (see META-ROUNDTRIP): {problem}")
    _, problem = _roundtrip(run, meta, first_difference)
    if problem is None:
        return
    raise ClauseFailure(
        expected=f"decode(encode(meta)) of the same types as the meta create() returned: {meta!r:.200}",
        observed=problem,
    )


@clause("META-SIZE", fact="F-WIRE-1", needs=Needs.META,
        consequence="Every running task stores its meta in the workflow object (etcd limit ~1.5 MiB for the whole "
                    "workflow): large metas make big fan-outs fail to persist.",
        fix="Keep only identifiers in the meta (job id, region); fetch everything else from the backend.")
def size(run: ClauseRun) -> None:
    """The encoded meta stays under the size limit: it is stored in the workflow's CRD in etcd (F-WIRE-1)."""
    _, meta = run.create_direct()
    encoded, _ = _roundtrip(run, meta)
    limit = run.config.metadata_limit
    if encoded is None or len(encoded) <= limit:
        return
    raise ClauseFailure(
        expected=f"encoded meta of at most {limit} bytes",
        observed=f"{len(encoded)} bytes",
    )


@clause("META-FRESH-PROCESS", fact="F-WIRE-1", needs=Needs.META,
        consequence="The connector service may restart or scale out between CreateTask and GetTask; a meta that "
                    "relies on id(), hash() or module state decodes wrongly there.",
        fix="Encode plain data only; no object ids, hash() values, or references into process memory.")
def fresh_process(run: ClauseRun) -> None:
    """A meta encoded here decodes in a fresh process with another hash seed (F-WIRE-1)."""
    meta_type = run.connector.metadata_type
    if "<locals>" in meta_type.__qualname__ or meta_type.__module__ == "__main__":
        raise ClauseSkip(f"{meta_type.__qualname__} is not importable by name, so no other process can "
                         "decode it either; define it at module level")
    _, meta = run.create_direct()
    encoded, problem = _roundtrip(run, meta)
    if problem is not None:
        raise ClauseSkip(f"the meta does not round-trip in this process already (see META-ROUNDTRIP): {problem}")
    problem = _decode_elsewhere(run, encoded, meta)
    if problem is None:
        return
    raise ClauseFailure(
        expected="the meta decodes in another Python process to an equal value",
        observed=problem,
    )


def _decode_elsewhere(run: ClauseRun, encoded: bytes, original: Any) -> str | None:
    meta_type = run.connector.metadata_type
    timeout = max(30.0, run.config.deadline)  # the child may still be importing flytekit
    reencoded, why = reencode(meta_type.__module__, meta_type.__qualname__, encoded, timeout)
    if reencoded is None:
        return f"decoding in a fresh process failed: {why}"
    return data_loss(original, run.decode(reencoded))
