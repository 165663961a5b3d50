"""Reporting edges: one block per cause, a Markdown report that always fits a GitHub comment, distinct
names for connectors sharing a class name, a stable row order, misspelt waiver tables, and summary ids
that rerun one clause as printed."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conformance.gate import Status
from conformance.report import COMMENT_LIMIT, LOAD, Row, grouped, markdown, ordered, terminal_lines, write
from conformance.waivers import misspelt, unused

REFERENCE = "conformance.reference.ReferenceConnector"


def failing(connector: str, clause: str, observed: str, size: int = 0) -> Row:
    detail = f"{clause} [MUST, F-1] summary\n  expected: x\n  observed: {observed}\n" + "transcript line\n" * size
    return Row(connector, clause, "MUST", "F-1", Status.FAIL, detail)


def test_identical_causes_are_one_block_listing_the_cells_they_hit() -> None:
    rows = [failing(f"Plugin{i}", clause, "KeyError: 'id'") for i in range(17) for clause in ("A-ONE", "B-TWO")]
    rows.append(failing("Plugin0", "C-THREE", "timeout"))
    assert [len(hit) for hit in grouped(rows).values()] == [34, 1]
    text = markdown(rows, "MUST")
    assert text.count("<details>") == 2
    assert "<summary>FAIL: 34 cells: Plugin0: A-ONE, B-TWO; Plugin1: A-ONE, B-TWO;" in text
    assert "and 22 more</summary>" in text and "<summary>FAIL: Plugin0 C-THREE</summary>" in text
    lines = terminal_lines(rows, "MUST")
    assert sum("KeyError: 'id'" in line for line in lines) == 1


def test_many_connectors_get_a_line_each_in_the_terminal_not_an_unreadable_grid() -> None:
    """The issue's --connector=all over 17 plugins: a 17-column grid wraps into noise in a terminal."""
    rows = [failing(f"flytekitplugins.plugin{i}.connector.Connector", clause, "KeyError: 'id'")
            for i in range(17) for clause in ("A-ONE", "B-TWO")]
    lines = terminal_lines(rows, "MUST")
    assert max(map(len, lines[:17])) < 120 and lines[0] == "flytekitplugins.plugin0.connector.Connector: 2 FAIL"
    assert len(lines) == 17 + 1 + 1  # a line per connector, one cause, the totals


def test_a_cause_naming_its_own_clause_is_still_one_cause() -> None:
    rows = [failing("X", clause, f"the host exited during {clause}") for clause in ("A-ONE", "B-TWO")]
    assert list(grouped(rows)) == [(Status.FAIL, "observed: the host exited during <clause>")]


def test_the_cause_property_is_preferred_to_reading_the_detail() -> None:
    rows = [Row("X", "A-ONE", "MUST", "F-1", Status.FAIL, "long text\nobserved: a", cause="get() raised KeyError"),
            Row("X", "B-TWO", "MUST", "F-1", Status.FAIL, "other text\nobserved: b", cause="get() raised KeyError")]
    assert list(grouped(rows)) == [(Status.FAIL, "get() raised KeyError")]


def test_a_traceback_is_grouped_by_its_exception_line_not_its_first_frame() -> None:
    rows = [Row("X", c, "MUST", "F-1", Status.ERROR, f"self = <object at 0x{i}>\n>   call()\nE   TypeError: boom\n")
            for i, c in enumerate(("A-ONE", "B-TWO"))]
    assert list(grouped(rows)) == [(Status.ERROR, "TypeError: boom")]


@pytest.mark.parametrize("causes, size", [(3, 20_000), (400, 200), (2000, 0)], ids=["long", "many", "flood"])
def test_markdown_always_fits_a_github_comment(tmp_path: Path, causes: int, size: int) -> None:
    """The issue's --connector=all run wrote 312 KB of Markdown; a comment holds 65,536 characters."""
    rows = [failing(f"Plugin{i % 17}", f"CLAUSE-{i}", f"cause number {i}", size) for i in range(causes)]
    rows += [Row(f"Plugin{i}", LOAD, "-", "-", Status.PASS) for i in range(17)]
    paths = write(str(tmp_path / "r"), rows, "MUST")
    text = paths[1].read_text()
    assert len(text) <= COMMENT_LIMIT
    assert text.startswith("## Connector conformance: ❌ failed")
    if causes * size > COMMENT_LIMIT or causes > 200:
        assert "more characters in the JSON report" in text or "blocks left out" in text
    if "blocks left out" in text:
        assert str(paths[0]) in text
    assert len(json.loads(paths[0].read_text())["results"]) == len(rows)  # the JSON keeps everything


def test_a_grid_too_big_for_a_comment_is_cut_and_says_so() -> None:
    rows = [Row(f"Connector{i:04d}", f"CLAUSE-{j}", "MUST", "F-1", Status.PASS) for i in range(300) for j in range(45)]
    text = markdown(rows, "MUST", full_report="out/r.json")
    assert len(text) <= COMMENT_LIMIT and "out/r.json" in text.splitlines()[-1]


def test_fences_survive_backticks_in_a_detail() -> None:
    text = markdown([failing("X", "A-ONE", "```python\nraise\n```")], "MUST")
    assert "````\nA-ONE" in text


def test_rows_are_ordered_connectors_as_given_load_first_clauses_in_catalogue_order() -> None:
    rows = [Row(c, k, "MUST", "-", Status.PASS) for c in ("B", "A") for k in ("TWO", LOAD, "ONE")]
    assert [(r.connector, r.clause) for r in ordered(reversed(rows), ["A", "B"], ["ONE", "TWO"])] == [
        ("A", LOAD), ("A", "ONE"), ("A", "TWO"), ("B", LOAD), ("B", "ONE"), ("B", "TWO")]


def test_waiver_tables_under_a_misspelt_or_absent_connector_are_told() -> None:
    waivers = {"RefrenceConnector": {"A": "why"}, "OtherRepoConnector": {"A": "why"}}
    assert "did you mean ReferenceConnector?" in str(misspelt(waivers, ["ReferenceConnector"]))
    assert misspelt({"ReferenceConnector": {}}, ["ReferenceConnector"]) is None
    assert unused(waivers, ["ReferenceConnector"]) == [
        f"waivers for {name} ([tool.connector-conformance.waivers.{name}]) apply to no connector of this run"
        for name in waivers]


TWINS = '''
from conformance.reference import ReferenceConnector as _Reference


class ReferenceConnector(_Reference):
    """Shares its class name with the bundled reference connector."""
'''


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_inprocess("-p", "no:cacheprovider", "-rA", *args)


def test_connectors_sharing_a_class_name_get_distinct_names_and_a_bad_spec_keeps_its_own_cell(
        pytester: pytest.Pytester) -> None:
    pytester.makepyfile(twin=TWINS)
    result = run(pytester, f"--connector={REFERENCE}", "--connector=twin.ReferenceConnector",
                 "--connector=ReferenceConnector", "-k", "STRUCT-SIGNATURES or loads", "--connector-report=out/r")
    rows = json.loads((pytester.path / "out" / "r.json").read_text())["results"]
    assert [(row["connector"], row["clause"], row["status"]) for row in rows] == [
        (REFERENCE, LOAD, "PASS"), (REFERENCE, "STRUCT-SIGNATURES", "PASS"),
        ("twin.ReferenceConnector", LOAD, "PASS"), ("twin.ReferenceConnector", "STRUCT-SIGNATURES", "PASS"),
        ("ReferenceConnector", LOAD, "FAIL")]
    result.stdout.fnmatch_lines([f"PASSED *test_clause[[]{REFERENCE}-STRUCT-SIGNATURES[]]",
                                 "PASSED *test_clause[[]twin.ReferenceConnector-STRUCT-SIGNATURES[]]"])


def test_a_waiver_under_a_misspelt_connector_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makefile(".toml", pyproject='[tool.connector-conformance.waivers.RefrenceConnector]\n'
                                         'META-EXTRA-FIELD = "why"\n'
                                         '[tool.connector-conformance.waivers.SomeOtherConnector]\n'
                                         'META-EXTRA-FIELD = "why"\n')
    result = run(pytester, f"--connector={REFERENCE}", "-k", "STRUCT-SIGNATURES")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: *waivers.RefrenceConnector] names no connector of this run "
                                 "(did you mean ReferenceConnector?)*"])
    (pytester.path / "pyproject.toml").write_text('[tool.connector-conformance.waivers.SomeOtherConnector]\n'
                                                  'META-EXTRA-FIELD = "why"\n')
    result = run(pytester, f"--connector={REFERENCE}", "-k", "STRUCT-SIGNATURES")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["waivers for SomeOtherConnector (*) apply to no connector of this run"])


def test_an_id_printed_by_one_run_reruns_that_clause_alone(pytester: pytest.Pytester) -> None:
    """The suite lives outside the rootdir, so its ids read ``::TestConnectors::...``: rerunnable as printed."""
    first = run(pytester, "--connector=broken.structure.EmptyTaskCategory", "-k", "STRUCT")
    failed = re.search(r"^FAILED (\S+)", first.stdout.str(), re.MULTILINE)
    assert failed is not None and failed.group(1).endswith("test_clause[EmptyTaskCategory-STRUCT-TASK-CATEGORY]")
    second = run(pytester, "--connector=broken.structure.EmptyTaskCategory", failed.group(1))
    second.assert_outcomes(failed=1)
    assert f"FAILED {failed.group(1)}" in second.stdout.str()
