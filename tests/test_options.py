"""One option surface: every knob is a ``--connector-*`` option and an ini key, parsed one way, with a usage
error naming where a bad value came from and what is valid; the header shows what reproduces a run."""

from __future__ import annotations

import json
import re

import pytest

from conformance.config import ConformanceConfig, kind, knobs, option_name, parse
from conformance.gate import GateOptions

REFERENCE = "conformance.reference.ReferenceConnector"
BAD = {bool: "perhaps", int: "1.5", float: "soon"}
"""A value each kind refuses; a knob with choices (or its own parser) gets "nightly"."""


def _checked() -> list:
    """Every knob (run and gate) whose text can be wrong: free text (a path) cannot."""
    return [k for k in knobs() + knobs(GateOptions)
            if k.metadata["choices"] or k.metadata["parse"] or kind(k) in BAD]


def _bad(knob) -> str:
    return "nightly" if knob.metadata["choices"] or knob.metadata["parse"] else BAD[kind(knob)]


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_inprocess("-p", "no:cacheprovider", f"--connector={REFERENCE}", *args)


@pytest.mark.parametrize("knob", _checked(), ids=option_name)
def test_a_bad_ini_value_names_the_ini_key_and_the_valid_values(pytester: pytest.Pytester, knob) -> None:
    pytester.makeini(f"[pytest]\nconnector_{knob.name} = {_bad(knob)}\n")
    result = run(pytester)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: ini connector_{knob.name}: '{_bad(knob)}' is not a valid value; use *"])
    assert "Traceback" not in result.stderr.str()


@pytest.mark.parametrize("knob", [k for k in _checked() if kind(k) is not bool], ids=option_name)
def test_a_bad_option_value_names_the_option_and_the_valid_values(pytester: pytest.Pytester, knob) -> None:
    result = run(pytester, f"--connector-{option_name(knob)}={_bad(knob)}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: --connector-{option_name(knob)}: '{_bad(knob)}' is not a valid value; "
                                 "use *"])


@pytest.mark.parametrize("text, value", [("on", True), ("Yes", True), ("1", True), ("off", False), ("0", False)])
def test_flags_take_the_usual_words_in_the_ini_file(text: str, value: bool) -> None:
    allow_network = next(k for k in knobs() if k.name == "allow_network")
    assert parse(allow_network, text, "ini connector_allow_network") is value


def test_a_word_valued_knob_is_checked_outside_pytest_too() -> None:
    with pytest.raises(ValueError, match="fuzz_profile: 'nightly' is not a valid value; use one of dev, ci, thorough"):
        ConformanceConfig(fuzz_profile="nightly")


def test_the_option_wins_over_the_ini_key_which_wins_over_the_default(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nconnector_deadline = 7\nconnector_fuzz_profile = ci\n")
    result = run(pytester, "--connector-deadline=3", "-k", "STRUCT-TASK-CATEGORY")
    result.stdout.fnmatch_lines(["connector options: deadline=3 budget=30 fuzz-profile=ci fuzz-seed=20240601 *"])


def test_header_shows_connectors_and_what_reproduces_the_run(pytester: pytest.Pytester) -> None:
    result = run(pytester, "--connector=broken.metadata.IntKeyedDict", "--connector-max-polls=20",
                 "--connector-fail-on=MUST,SHOULD", "-k", "STRUCT-TASK-CATEGORY")
    result.stdout.fnmatch_lines([
        f"connector-conformance: {REFERENCE}, broken.metadata.IntKeyedDict",
        "connector options: deadline=10 budget=30 max-polls=20 fuzz-profile=dev fuzz-seed=* fail-on=MUST,SHOULD",
    ])
    shown = next(line for line in result.outlines if line.startswith("connector options:"))
    always = [option_name(k) for k in knobs() if k.metadata["header"]]  # e.g. isolation, whoever adds it
    assert [name for name in always if f" {name}=" not in shown] == []
    assert " fuzz-seed=0 " not in shown  # the seed actually used, never "pick one"


def test_header_says_nothing_when_the_plugin_is_idle(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_nothing(): pass")
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    assert "connector-conformance:" not in result.stdout.str()
    assert "connector options:" not in result.stdout.str()
    result.assert_outcomes(passed=1)


def test_every_xdist_worker_fuzzes_with_the_seed_in_the_header(pytester: pytest.Pytester) -> None:
    """META-FUZZ runs with ``connector_config``: each worker's must carry the seed the controller printed."""
    pytester.makepyfile(test_seen="""
        import pytest

        @pytest.mark.parametrize("worker", range(4))
        def test_worker_seed(connector_config, worker):
            assert False, f"worker seed {connector_config.fuzz_seed}"
    """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", f"--connector={REFERENCE}", "test_seen.py",
                                           "-k", "worker_seed", "-n", "2")
    output = result.stdout.str()
    header_seed = re.search(r"fuzz-seed=(\d+)", output)
    worker_seeds = set(re.findall(r"AssertionError: worker seed (\d+)", output))
    assert header_seed and worker_seeds == {header_seed.group(1)}, output
    assert re.search(r"\[gw\d\]", output)  # ran in a worker (which of the two takes them is xdist's choice)


def test_load_mode_takes_the_lifecycle_knobs_as_the_plugins_options(tmp_path, capsys) -> None:
    from conformance.load import LOAD_KNOBS, main

    assert set(LOAD_KNOBS) <= {k.name for k in knobs()}
    out = tmp_path / "load.json"
    assert main([f"--connector={REFERENCE}", "-n", "4", "-c", "2", "--connector-deadline=3",
                 "--connector-max-polls=50", "--json", str(out)]) == 0
    config = json.loads(out.read_text())["config"]
    assert (config["deadline"], config["max_polls"], config["poll_interval"]) == (3.0, 50, 0.0)


@pytest.mark.parametrize("flag", ["--connector-deadline=soon", "--connector-max-polls=1.5"])
def test_load_mode_refuses_a_bad_knob_value_naming_the_valid_values(flag: str, capsys) -> None:
    from conformance.load import main

    with pytest.raises(SystemExit) as exited:
        main([f"--connector={REFERENCE}", flag])
    assert exited.value.code == 2
    name, value = flag.split("=")
    assert f"argument {name}: '{value}' is not a valid value; use a" in capsys.readouterr().err
