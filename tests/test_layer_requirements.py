"""The shared layer ships the AWS SDK whole or not at all, at the versions the tests run."""

from __future__ import annotations

import importlib.metadata
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]
SDK = {"boto3", "botocore"}


def _requirements(text: str) -> list[Requirement]:
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return [Requirement(line) for line in lines if line]


def _layer() -> list[Requirement]:
    return _requirements((REPO / "layers" / "requirements.txt").read_text())


def _closure(requirements: list[Requirement]) -> set[str]:
    """Every distribution pip installs for `requirements`, read from this venv's metadata."""
    seen: set[str] = set()
    todo = [(r, frozenset(r.extras)) for r in requirements]
    while todo:
        requirement, extras = todo.pop()
        name = canonicalize_name(requirement.name)
        if name in seen and not extras:
            continue
        seen.add(name)
        for text in importlib.metadata.requires(requirement.name) or []:
            dependency = Requirement(text)
            wanted = dependency.marker is None or any(
                dependency.marker.evaluate({"extra": extra}) for extra in (extras or {""})
            )
            if wanted:
                todo.append((dependency, frozenset(dependency.extras)))
    return seen


def test_the_layer_vendors_boto3_and_botocore_together_because_something_in_it_needs_botocore() -> None:
    layer = _layer()
    pinned = {canonicalize_name(r.name) for r in layer}
    closure = _closure([r for r in layer if canonicalize_name(r.name) not in SDK])
    # Powertools' tracer needs the X-Ray SDK, which needs botocore: without its own boto3 the layer
    # would put a botocore of another release under the runtime's boto3.
    assert "botocore" in closure
    assert pinned >= SDK


def test_the_layer_pins_what_the_tests_run() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    tested = {canonicalize_name(r.name): r for r in _requirements("\n".join(pyproject["project"]["dependencies"]))}
    for requirement in _layer():
        name = canonicalize_name(requirement.name)
        assert name in tested, f"layers/requirements.txt: {name} is not in pyproject.toml's dependencies"
        assert str(requirement.specifier) == str(tested[name].specifier), name
        (pin,) = requirement.specifier
        assert pin.operator == "==", f"layers/requirements.txt: pin {name} exactly"
        assert importlib.metadata.version(name) == pin.version, f"the venv runs another {name}"


def test_the_layers_boto3_accepts_the_layers_botocore() -> None:
    pins = {canonicalize_name(r.name): next(iter(r.specifier)).version for r in _layer()}
    (needs,) = [Requirement(t) for t in importlib.metadata.requires("boto3") or [] if t.startswith("botocore ")]
    assert needs.specifier.contains(pins["botocore"]), (needs, pins["botocore"])
