"""Upgrade safety: metas stored by another connector version still decode (F-WIRE-1).

A meta lives in the workflow object for the task's whole life; a deploy (or a rollback) in between
hands it to code that did not write it. META-UPGRADE replays real samples kept in a snapshot
directory; the SHOULD clauses simulate the two usual schema changes on the meta create() returns.
"""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING, Any

from conformance.clause import ClauseFailure, ClauseSkip, Level, Needs, clause
from conformance.errors import brief
from conformance.snapshots import connector_dir, record, stored, undecodable

if TYPE_CHECKING:  # flytekit is imported where a clause runs, not when the catalogue loads
    from flytekit.extend.backend.base_connector import ResourceMeta

    from conformance.run import ClauseRun

STRANDED = ("GetTask and DeleteTask of every task started before the deploy fail with INTERNAL: after six "
            "polls the tasks fail for good and their remote jobs are left running (F-GET-2).")
EXTRA_FIELD = "added_by_a_later_version"


@clause("META-UPGRADE", fact="F-WIRE-1", needs=Needs.META, consequence=STRANDED,
        fix="Keep decode() able to read the old format (rename fields with a fallback, add fields with defaults). "
            "Delete a sample only for a deliberate break, once no execution started before it is still running.")
def stored_metas_decode(run: ClauseRun) -> None:
    """Every meta stored by earlier runs in the snapshot directory still decodes with this code (F-WIRE-1)."""
    root = run.config.snapshots
    if not root:
        raise ClauseSkip("no snapshot directory (--connector-snapshots=DIR): no stored metas to decode")
    directory = connector_dir(root, run.connector)
    decode = run.connector.metadata_type.decode
    problems = run.call_blocking(lambda: undecodable(stored(directory), decode), "decoding stored metas",
                                 timeout=run.config.budget)
    _, meta = run.create_direct()
    encoded = run.encode(meta)
    if isinstance(encoded, bytes):
        record(directory, "create", [encoded])
    if not problems:
        return
    raise ClauseFailure(
        expected=f"{run.connector.metadata_type.__name__}.decode() accepts every meta stored in {directory}",
        observed=f"{len(problems)} stored meta(s) no longer decode:\n" + "\n".join(problems[:10]),
    )


@clause("META-EXTRA-FIELD", fact="F-WIRE-1", level=Level.SHOULD, needs=Needs.META,
        consequence=f"Roll back a release that added a meta field and {STRANDED}",
        fix="Drop unknown keys in decode(): known = {f.name for f in dataclasses.fields(cls)}; "
            "return cls(**{k: v for k, v in json.loads(data).items() if k in known}).")
def extra_field(run: ClauseRun) -> None:
    """A meta with a field this version does not know still decodes, as after a rollback (F-WIRE-1)."""
    meta_type, fields = _json_meta(run)
    _require_decodes(run, meta_type, {**fields, EXTRA_FIELD: "x"}, change=f"plus {EXTRA_FIELD!r}",
                     expected=f"ignores a field it does not know ({EXTRA_FIELD!r})")


@clause("META-MISSING-FIELD", fact="F-WIRE-1", level=Level.SHOULD, needs=Needs.META,
        consequence=f"Deploy a release that added this field and {STRANDED}",
        fix="Read optional fields with their default (data.get(name, default)), or let the dataclass constructor "
            "fill them in.")
def missing_field(run: ClauseRun) -> None:
    """A meta without an optional field (one added since it was stored) decodes with the default (F-WIRE-1)."""
    meta_type, fields = _json_meta(run)
    optional = [f.name for f in dataclasses.fields(meta_type) if f.name in fields and _has_default(f)]
    if not optional:
        raise ClauseSkip(f"{meta_type.__name__} has no field with a default to leave out")
    for name in optional:
        _require_decodes(run, meta_type, {k: v for k, v in fields.items() if k != name}, change=f"without {name!r}",
                         expected=f"fills in {name!r} from its default when it is missing")


def _require_decodes(run: ClauseRun, meta_type: type[ResourceMeta], fields: dict[str, Any], *, change: str,
                     expected: str) -> None:
    """The create() meta changed as a stored one would be (``change``) must still decode."""
    problem = _decode_variant(run, meta_type, fields)
    if problem is None:
        return
    raise ClauseFailure(
        expected=f"{meta_type.__name__}.decode() {expected}",
        observed=f"decoding the create() meta {change} failed: {problem}",
    )


def _has_default(field: dataclasses.Field) -> bool:
    return field.default is not dataclasses.MISSING or field.default_factory is not dataclasses.MISSING


def _json_meta(run: ClauseRun) -> tuple[type[ResourceMeta], dict[str, Any]]:
    """metadata_type and the create() meta as a JSON object; skips what other clauses already explain."""
    from flytekit.extend.backend.base_connector import ResourceMeta

    meta_type: type[ResourceMeta] = run.connector.metadata_type
    if not (isinstance(meta_type, type) and dataclasses.is_dataclass(meta_type)
            and issubclass(meta_type, ResourceMeta)):
        raise ClauseSkip("metadata_type is not a ResourceMeta dataclass (see STRUCT-METADATA-TYPE)")
    _, meta = run.create_direct()
    if not isinstance(meta, meta_type):
        raise ClauseSkip("create() does not return a metadata_type instance (see META-CREATE-TYPE)")
    encoded = run.encode(meta)
    try:
        fields = json.loads(encoded)
    except (TypeError, ValueError):
        fields = None
    if not isinstance(fields, dict):
        raise ClauseSkip(f"{meta_type.__name__} is not encoded as a JSON object, so fields cannot be added or "
                         "removed generically; keep META-UPGRADE samples instead")
    return meta_type, fields


def _decode_variant(run: ClauseRun, meta_type: type[ResourceMeta], fields: dict[str, Any]) -> str | None:
    def attempt() -> str | None:
        try:
            meta_type.decode(json.dumps(fields).encode("utf-8"))
        except Exception as exc:
            return brief(exc)
        return None

    return run.call_blocking(attempt, "decode()")
