"""Compatibility only, to be removed: the broken connectors now declare what they break (tests/broken),
``tests/test_broken_connectors.py`` runs them, and ``failure_report`` is a fixture in conftest.py.

Kept while modules written against the old helpers (``from test_broken_structure import failure_report``)
are moved to the fixture; it holds no tests.
"""

import re


def failure_report(output: str, clause_id: str) -> str:
    """The FAILURES section of the test for ``clause_id``."""
    header = re.compile(rf"^_+ \S*test_clause\[[^\]]*-{re.escape(clause_id)}\] _+$", re.M)
    match = header.search(output)
    assert match, f"no failure section for {clause_id}:\n{output}"
    end = re.compile(r"^(_{3,} |={3,} )", re.M).search(output, match.end())
    return output[match.end():end.start() if end else None]
