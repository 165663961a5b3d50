"""The clause catalogue, one module per family; importing this package registers every clause.

structure  — the class and its methods are what the connector service expects
metadata   — resource meta survives the wire, another process and the size limit (F-WIRE-1)
fuzzing    — every meta hypothesis derives from metadata_type round-trips (F-WIRE-1)
upgrade    — metas stored by another connector version still decode (F-WIRE-1)
phases     — what get() answers over a lifecycle (F-PHASE-*, F-GET-*, F-CREATE-1)
deletion   — abort paths (F-DELETE-*)
capabilities — optional get_logs / get_metrics, checked only when overridden
backend    — fault clauses that steer a fake backend (F-GET-2, F-CREATE-2, ...)
guards     — what connector code does to the shared service process: loop, secrets, egress, leaks
"""

from conformance.clauses import structure, metadata, fuzzing, upgrade, phases, deletion, capabilities, backend, guards  # noqa: F401,I001
