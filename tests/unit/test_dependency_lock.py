"""The installed dependency tree is the one pinned in constraints.txt (written by `bash scripts/lock`)."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
REFRESH = "run `bash scripts/lock`, then `bash scripts/setup dev`"


def locked_versions() -> dict[str, str]:
    """Name (canonical) to pinned version, from constraints.txt."""
    pins: dict[str, str] = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)", line)
        assert match, f"constraints.txt: not an exact pin: {line!r}"
        name = canonicalize_name(match[1])
        assert name not in pins, f"constraints.txt pins {name} twice"
        pins[name] = match[2]
    return pins


def project_requirements() -> list[Requirement]:
    """pyproject.toml's dependencies and those of every extra."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        lines.extend(extra)
    return [Requirement(line) for line in lines]


def installed_tree(roots: list[Requirement]) -> dict[str, str]:
    """Every distribution the requirements pull in (markers evaluated here, extras followed): name to version."""
    seen: dict[str, str] = {}
    pending = [(requirement, "") for requirement in roots]
    while pending:
        requirement, extra = pending.pop()
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": extra}):
            continue
        name = canonicalize_name(requirement.name)
        version = metadata.version(name)
        assert requirement.specifier.contains(version, prereleases=True), f"{name} {version} not {requirement}"
        wanted = {""} | set(requirement.extras)
        key = f"{name}[{','.join(sorted(requirement.extras))}]"
        if key in seen:
            continue
        seen[key] = version
        for line in metadata.requires(name) or []:
            dependency = Requirement(line)
            for each in wanted:
                pending.append((dependency, each))
    return {key.split("[")[0]: version for key, version in seen.items()}


def test_every_installed_dependency_is_pinned_at_its_installed_version() -> None:
    pins, installed = locked_versions(), installed_tree(project_requirements())
    unpinned = sorted(set(installed) - set(pins))
    assert not unpinned, f"not in constraints.txt: {unpinned}; {REFRESH}"
    drift = {name: (version, pins[name]) for name, version in installed.items() if pins[name] != version}
    assert not drift, f"installed (left) differs from constraints.txt (right): {drift}; {REFRESH}"


def test_pins_satisfy_the_ranges_of_pyproject() -> None:
    pins = locked_versions()
    for requirement in project_requirements():
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is not in constraints.txt; {REFRESH}"
        assert requirement.specifier.contains(pins[name], prereleases=True), f"{pins[name]} not {requirement}"
