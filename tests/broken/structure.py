"""Connectors that break a structure clause."""

from __future__ import annotations

from conformance.reference import ReferenceConnector


class EmptyTaskCategory(ReferenceConnector):
    """STRUCT-TASK-CATEGORY: registers under an empty task type name."""

    def __init__(self, base_url=None):
        super().__init__(base_url)
        self._task_category = type(self._task_category)(name="", version=0)
