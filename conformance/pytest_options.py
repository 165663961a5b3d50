"""The plugin's options: ``--connector-<knob>`` flags and ini keys derived from ConformanceConfig, and the gate's.

Command line first, then the ini file, then the defaults; a bad value is a ``pytest.UsageError`` before
anything runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

_GATE = pytest.StashKey["Gate"]()


def connector_specs(config: pytest.Config) -> list[str]:
    """--connector values, else the ``connectors`` ini setting; empty means the plugin stays idle."""
    return list(config.getoption("connector") or config.getini("connectors") or [])


def _dest(option: str) -> str:
    """The dest and ini key of ``--connector-<option>``: ``connector_<option>`` with underscores."""
    return "connector_" + option.replace("-", "_")


def add_config_options(group: Any, parser: pytest.Parser) -> None:
    """One ``--connector-<option>`` flag and one ``connector_<option>`` ini key per ConformanceConfig knob."""
    from conformance.config import knobs, option_name

    for knob in knobs():
        name = option_name(knob)
        help = f"{knob.metadata['help']} (default {knob.default})"
        dest = _dest(name)
        if knob.type in (bool, "bool"):
            group.addoption(f"--connector-{name}", dest=dest, action="store_true", default=None, help=help)
        else:
            group.addoption(f"--connector-{name}", dest=dest, default=None, help=help)
        parser.addini(dest, default=None, help=help)


def add_gate_options(group: Any, parser: pytest.Parser) -> None:
    """Options of the CI gate itself (not of a clause run), with the same flag/ini naming as the knobs."""
    from conformance.gate import VALID_FAIL_ON

    gate_options = {
        "report": "write the connector x clause table to PATH.json and PATH.md (Markdown for a PR comment)",
        "fail-on": f"levels whose failures fail the run: {VALID_FAIL_ON}",
    }
    for name, help in gate_options.items():
        dest = _dest(name)
        group.addoption(f"--connector-{name}", dest=dest, default=None, metavar="VALUE", help=help)
        parser.addini(dest, default=None, help=help)


def option_or_ini(config: pytest.Config, dest: str) -> Any:
    """The command-line value, else the ini value; None or "" when neither is set."""
    value = config.getoption(dest)
    return config.getini(dest) if value is None else value


def config_from(config: pytest.Config) -> Any:
    """ConformanceConfig from the command line, then the ini file, then the defaults."""
    from conformance.config import ConformanceConfig, knobs, option_name

    values = {}
    for knob in knobs():
        dest = _dest(option_name(knob))
        value = option_or_ini(config, dest)
        if value not in (None, ""):
            values[knob.name] = _parse(dest, value, type(knob.default), knob.metadata["choices"])
    return ConformanceConfig(**values)


@dataclass(frozen=True)
class Gate:
    fail_on: frozenset[Any]
    fail_on_text: str
    waivers: dict[str, dict[str, str]]


def gate_settings(config: pytest.Config) -> Gate:
    """Levels that fail the run and the rootdir's waivers, validated once per session."""
    if _GATE not in config.stash:
        config.stash[_GATE] = _read_gate(config)
    return config.stash[_GATE]


def _read_gate(config: pytest.Config) -> Gate:
    from conformance.clause import all_clauses
    from conformance.clauses.fuzzing import profile
    from conformance.gate import DEFAULT_FAIL_ON, fail_on_text, parse_fail_on
    from conformance.waivers import WaiverError, load_waivers

    text = option_or_ini(config, "connector_fail_on") or DEFAULT_FAIL_ON
    try:
        profile(config_from(config).fuzz_profile)
        fail_on = parse_fail_on(text)
        waivers = load_waivers(config.rootpath / "pyproject.toml", {c.id for c in all_clauses()})
    except (ValueError, WaiverError) as exc:
        raise pytest.UsageError(str(exc)) from None
    return Gate(fail_on, fail_on_text(fail_on), waivers)


def _parse(dest: str, value: Any, kind: type, choices: tuple[str, ...] = ()) -> Any:
    """The knob's value from its text; a usage error naming the valid values otherwise."""
    if kind is bool:
        return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes", "on")
    if choices and value not in choices:
        raise pytest.UsageError(f"{dest}: {value!r} is not one of {', '.join(choices)}")
    try:
        return kind(value)
    except ValueError:
        raise pytest.UsageError(f"{dest}: {value!r} is not a {kind.__name__}") from None
