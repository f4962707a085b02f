"""requirements.lock, the production install (security-reliability S-24; issue 9 item 8): every
runtime dependency of pyproject.toml pinned at a version it accepts, every pin with its hashes,
and no development tool in it. After changing the dependencies: `make lock`."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


def project() -> dict[str, object]:
    found: dict[str, object] = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return found


def pins() -> dict[str, tuple[Version, int]]:
    """Package -> (pinned version, number of hashes)."""
    found: dict[str, tuple[Version, int]] = {}
    current = ""
    for line in (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines():
        pinned = PIN.match(line)
        if pinned:
            current = canonicalize_name(pinned.group(1))
            found[current] = (Version(pinned.group(2)), 0)
        elif line.strip().startswith("--hash=sha256:") and current:
            version, hashes = found[current]
            found[current] = (version, hashes + 1)
    return found


def test_the_lock_pins_every_runtime_dependency() -> None:
    locked = pins()
    dependencies = project()["dependencies"]
    assert isinstance(dependencies, list)
    stale = []
    for line in dependencies:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        if name not in locked or locked[name][0] not in requirement.specifier:
            stale.append(line)
    assert stale == [], f"requirements.lock does not satisfy {stale}: run `make lock`"


def test_every_pin_has_its_hashes() -> None:
    assert {name: hashes for name, (_version, hashes) in pins().items() if hashes == 0} == {}


def test_no_development_tool_is_in_the_production_install() -> None:
    optional = project()["optional-dependencies"]
    assert isinstance(optional, dict)
    tools = {canonicalize_name(Requirement(line).name) for line in optional["dev"]}
    assert tools & set(pins()) == set()
