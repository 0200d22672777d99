"""The venv and the tests run on the Lambdas' Python, and the Makefile finds it on a fresh machine."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from mlpromote_emulator.runtime import load_template

REPO = Path(__file__).resolve().parents[1]
FIND_PYTHON = REPO / "tools" / "find_python.sh"


def _lambda_python() -> str:
    """The one Python every function and the layers run on, as "3.13"."""
    template = load_template(REPO / "template.yaml")
    runtimes = {template["Globals"]["Function"]["Runtime"]}
    for resource in template["Resources"].values():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::Serverless::Function":
            runtimes.add(properties.get("Runtime", template["Globals"]["Function"]["Runtime"]))
        if resource["Type"] == "AWS::Serverless::LayerVersion":
            runtimes.update(properties["CompatibleRuntimes"])
            build = resource.get("Metadata", {}).get("BuildMethod", "")
            if build.startswith("python"):
                runtimes.add(build)
    assert len(runtimes) == 1, runtimes
    (runtime,) = runtimes
    return runtime.removeprefix("python")


def test_the_tests_run_on_the_python_the_lambdas_run() -> None:
    assert f"{sys.version_info.major}.{sys.version_info.minor}" == _lambda_python()


def test_pyproject_the_makefile_mypy_and_ruff_name_the_lambdas_python() -> None:
    version = _lambda_python()
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert pyproject["project"]["requires-python"] == f">={version}"
    assert pyproject["tool"]["mypy"]["python_version"] == version
    assert pyproject["tool"]["ruff"]["target-version"] == "py" + version.replace(".", "")
    assert re.search(rf"^LAMBDA_PYTHON := {re.escape(version)}$", (REPO / "Makefile").read_text(), re.M)


def _find(path: list[Path]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYENV")}
    env["PATH"] = os.pathsep.join([*(str(p) for p in path), "/usr/bin", "/bin"])
    return subprocess.run(["sh", str(FIND_PYTHON), "3.13"], capture_output=True, text=True, env=env, check=False)


def _script(path: Path, body: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)


def _pyenv(tmp_path: Path, versions: list[str]) -> Path:
    """A pyenv that knows `versions`, each a working interpreter (this one) under its root."""
    root = tmp_path / "pyenv"
    for version in versions:
        interpreter = root / "versions" / version / "bin" / f"python{version[:4]}"
        interpreter.parent.mkdir(parents=True)
        interpreter.symlink_to(sys.executable)
    bare = "\\n".join(["3.11.7", *versions, f"{versions[0]}/envs/some-virtualenv"])
    _script(
        tmp_path / "pyenv-bin" / "pyenv",
        f'case "$1" in versions) printf "{bare}\\n";; root) echo {root};; *) exit 1;; esac\n',
    )
    return tmp_path / "pyenv-bin"


def test_python3_13_on_path_comes_first(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "python3.13").symlink_to(sys.executable)
    pyenv = _pyenv(tmp_path, ["3.13.0"])

    found = _find([tmp_path / "bin", pyenv])

    assert found.returncode == 0, found.stderr
    assert found.stdout.strip() == str(tmp_path / "bin" / "python3.13")


def test_a_pyenv_shim_that_does_not_run_falls_through_to_pyenvs_newest_3_13(tmp_path: Path) -> None:
    # pyenv's shim is on PATH whatever the global version; with 3.11 global, `python3.13` fails.
    _script(tmp_path / "shims" / "python3.13", "echo 'pyenv: python3.13: command not found' >&2; exit 127\n")
    pyenv = _pyenv(tmp_path, ["3.13.0", "3.13.2"])

    found = _find([tmp_path / "shims", pyenv])

    assert found.returncode == 0, found.stderr
    assert found.stdout.strip() == str(tmp_path / "pyenv" / "versions" / "3.13.2" / "bin" / "python3.13")


def test_without_python_3_13_it_fails_saying_how_to_get_one(tmp_path: Path) -> None:
    _script(tmp_path / "shims" / "python3.13", "exit 127\n")
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "python3.11").symlink_to(sys.executable)  # a Python, but not one the shims know as 3.13

    found = _find([tmp_path / "shims", tmp_path / "bin"])

    assert found.returncode == 1
    assert found.stdout == ""
    assert "Python 3.13 not found" in found.stderr
    assert "pyenv install 3.13" in found.stderr
    assert "PYTHON=" in found.stderr
