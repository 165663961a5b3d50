"""The plugin's options: ``--connector-<knob>`` flags and ini keys derived from ConformanceConfig, and the gate's.

Command line first, then the ini file, then the defaults; a bad value is a ``pytest.UsageError`` before
anything runs.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import pytest

_GATE = pytest.StashKey["Gate"]()
_CONFIG = pytest.StashKey[Any]()
_SEED = "connector_fuzz_seed"
"""The key under which an xdist worker receives the controller's fuzz seed."""


def connector_specs(config: pytest.Config) -> list[str]:
    """--connector values, else the ``connectors`` ini setting; empty means the plugin stays idle."""
    return list(config.getoption("connector") or config.getini("connectors") or [])


def _dest(field: Any) -> str:
    """The dest and ini key of a knob's ``--connector-<option>``: ``connector_<field name>``."""
    return "connector_" + field.name


def _all_knobs() -> tuple:
    """The run's knobs, then the gate's: every ``--connector-<option>`` besides ``--connector`` itself."""
    from conformance.config import knobs
    from conformance.gate import GateOptions

    return knobs() + knobs(GateOptions)


def add_options(group: Any, parser: pytest.Parser) -> None:
    """One ``--connector-<option>`` flag and one ``connector_<option>`` ini key per knob (run and gate)."""
    from conformance.config import kind, meaning, option_name, shown

    for knob in _all_knobs():
        help = meaning(knob) + (f" (default {shown(knob.default)})" if knob.default not in ("", None) else "")
        if kind(knob) is bool:
            group.addoption(f"--connector-{option_name(knob)}", dest=_dest(knob), action="store_true", default=None,
                            help=help)
        else:
            group.addoption(f"--connector-{option_name(knob)}", dest=_dest(knob), default=None, metavar="VALUE",
                            help=help)
        parser.addini(_dest(knob), default=None, help=help)


def option_or_ini(config: pytest.Config, dest: str) -> Any:
    """The command-line value, else the ini value; None or "" when neither is set."""
    value = config.getoption(dest)
    return config.getini(dest) if value is None else value


def knob_value(config: pytest.Config, knob: Any) -> Any:
    """A knob's value from the command line, else the ini file, else its default, parsed one way for all
    three; a bad value is a UsageError naming the option or ini key it came from and the valid values."""
    from conformance.config import option_name, parse

    dest = _dest(knob)
    value = config.getoption(dest)
    source = f"--connector-{option_name(knob)}"
    if value is None:
        value, source = config.getini(dest), f"ini {dest}"
    if value in (None, ""):
        value, source = knob.default, f"default {dest}"
    try:
        return parse(knob, value, source)
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None


def config_from(config: pytest.Config) -> Any:
    """ConformanceConfig from the command line, then the ini file, then the defaults, once per session;
    META-FUZZ's seed is fixed here (the xdist controller's, in a worker) so the header can show it."""
    if _CONFIG not in config.stash:
        from conformance.config import ConformanceConfig, fuzz_seed, knobs

        values = {knob.name: knob_value(config, knob) for knob in knobs()}
        try:
            chosen = ConformanceConfig(**values)
        except ValueError as exc:  # knobs that contradict each other
            raise pytest.UsageError(str(exc)) from None
        inherited = getattr(config, "workerinput", {}).get(_SEED)
        config.stash[_CONFIG] = replace(chosen, fuzz_seed=inherited or fuzz_seed(chosen))
    return config.stash[_CONFIG]


def share_with_worker(config: pytest.Config, workerinput: dict) -> None:
    """Hand an xdist worker the controller's fuzz seed, so every worker fuzzes what the header printed."""
    workerinput[_SEED] = config_from(config).fuzz_seed


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
    from conformance.config import knobs
    from conformance.gate import GateOptions, fail_on_text
    from conformance.waivers import WaiverError, load_waivers

    config_from(config)  # every knob is checked before anything runs
    fail_on = knob_value(config, knobs(GateOptions)[0])
    try:
        waivers = load_waivers(config.rootpath / "pyproject.toml", {c.id for c in all_clauses()})
    except WaiverError as exc:
        raise pytest.UsageError(str(exc)) from None
    return Gate(fail_on, fail_on_text(fail_on), waivers)



def header_lines(config: pytest.Config) -> list[str]:
    """``pytest_report_header``: the connectors, then the knobs that reproduce the run (those marked for the
    header, and any set away from its default), in option names; nothing when the plugin is idle."""
    specs = connector_specs(config)
    if not specs:
        return []
    from conformance.config import option_name, shown

    chosen = config_from(config)
    values = [f"{option_name(knob)}={shown(getattr(chosen, knob.name))}" for knob in _header_knobs(chosen)]
    values.append(f"fail-on={gate_settings(config).fail_on_text}")
    return [f"connector-conformance: {', '.join(specs)}", f"connector options: {' '.join(values)}"]


def _header_knobs(chosen: Any) -> list:
    from conformance.config import knobs

    return [knob for knob in knobs() if knob.metadata["header"] or getattr(chosen, knob.name) != knob.default]
