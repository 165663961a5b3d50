"""Bindings for the bigquery connectors (being written)."""

from __future__ import annotations

from typing import List

from conformance.bindings import Binding

BINDINGS: List[Binding] = []
