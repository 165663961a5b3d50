"""Check the built distributions hold what an installed plugin needs: `python .ci/check_dist.py DIST_DIR`.

`twine check` validates the metadata; this checks the contents, which no metadata check sees: a wheel
without a package, without the pytest11 entry point (pytest would never load the plugin) or with the
test tree in it installs cleanly and is still broken.
"""

from __future__ import annotations

import configparser
import sys
import tarfile
import zipfile
from pathlib import Path

PACKAGES = ("conformance", "fake_backends")
REQUIRED = ("conformance/__init__.py", "conformance/plugin.py", "conformance/suite.py",
            "conformance/clauses/__init__.py", "conformance/bindings/__init__.py", "conformance/guards/__init__.py",
            "fake_backends/__init__.py")
"""Modules the plugin imports at run time (suite.py is loaded by path, not by import)."""
ENTRY_POINT = ("pytest11", "connector_conformance", "conformance.plugin")
SDIST_FILES = ("pyproject.toml", "README.md")


def wheel_problems(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        entry_points = next((archive.read(n).decode() for n in names if n.endswith(".dist-info/entry_points.txt")), "")
    problems = [f"{wheel.name} lacks {path}" for path in REQUIRED if path not in names]
    tops = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    problems += [f"{wheel.name} holds an unexpected top-level {top}" for top in sorted(tops - set(PACKAGES))]
    parser = configparser.ConfigParser()
    parser.read_string(entry_points)
    group, name, target = ENTRY_POINT
    if not parser.has_section(group) or parser[group].get(name) != target:
        problems.append(f"{wheel.name} lacks the entry point [{group}] {name} = {target}")
    return problems


def sdist_problems(sdist: Path) -> list[str]:
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[-1] for name in archive.getnames()}
    return [f"{sdist.name} lacks {path}" for path in SDIST_FILES + REQUIRED if path not in names]


def main(dist: Path) -> int:
    wheels, sdists = sorted(dist.glob("*.whl")), sorted(dist.glob("*.tar.gz"))
    problems = [] if len(wheels) == len(sdists) == 1 else [f"expected one wheel and one sdist in {dist}"]
    problems += [p for wheel in wheels for p in wheel_problems(wheel)] + [p for s in sdists for p in sdist_problems(s)]
    for problem in problems:
        print(f"check_dist: {problem}", file=sys.stderr)
    print(f"check_dist: {', '.join(p.name for p in wheels + sdists)}: {'FAILED' if problems else 'ok'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
