"""`pip install .` outside the checkout: the wheel carries the stack and the demo runs from it.

The package is built as a release is (an sdist of a copy of the checkout, then `pip wheel` of that
sdist, so MANIFEST.in and setup.py's build step are both exercised) and installed into a new venv
that has nothing else. Its third-party dependencies come from this test run's own environment
through a `.pth` path line: a path line adds the directory without processing the `.pth` files in
it, so the editable install's finder (which would import the checkout) is never installed. The test
checks that the installed copy is what runs, then runs `mlpromote` from a folder outside the checkout.
One test, so the build happens once however xdist spreads the suite.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
# Not part of the source: environments, caches and build output of the checkout.
NOT_SOURCE = shutil.ignore_patterns(
    ".git",
    ".venv",
    ".tools",
    ".aws-sam",
    "node_modules",
    "__pycache__",
    "*.egg-info",
    "build",
    "dist",
    ".mypy_cache",
    ".ruff_cache",
    ".hypothesis",
    ".pytest_cache",
)
STACK = "mlpromote_emulator/_stack/"
OFFLINE = ["--no-deps", "--no-index", "--quiet"]


@dataclass
class Installed:
    wheel: Path
    python: Path
    mlpromote: Path
    site_packages: Path
    elsewhere: Path  # the working directory of every command: outside the checkout

    def run(self, *arguments: str, expect: int = 0) -> subprocess.CompletedProcess[str]:
        return _run([str(self.mlpromote), *arguments], cwd=self.elsewhere, expect=expect)


def _run(command: list[str], cwd: Path, expect: int = 0) -> subprocess.CompletedProcess[str]:
    environment = {
        k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")
    }
    done = subprocess.run(command, cwd=cwd, env=environment, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == expect, f"{command} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done


def _install(work: Path) -> Installed:
    """A wheel built from an sdist of the checkout, installed into a venv of its own."""
    source = work / "source"
    shutil.copytree(REPO, source, ignore=NOT_SOURCE)
    build = "import sys; from setuptools import build_meta; print(build_meta.build_sdist(sys.argv[1]))"
    sdist = work / "dist" / _run([sys.executable, "-c", build, str(work / "dist")], cwd=source).stdout.split()[-1]
    wheels = work / "wheels"
    _run([sys.executable, "-m", "pip", "wheel", *OFFLINE, "--no-build-isolation", "-w", str(wheels), str(sdist)], work)
    [wheel] = wheels.glob("mlpromote-*.whl")
    venv = work / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=work)
    python = venv / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", *OFFLINE, str(wheel)], cwd=work)
    purelib = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=work)
    site_packages = Path(purelib.stdout.strip())
    dependencies = sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
    (site_packages / "_dependencies.pth").write_text("".join(f"{path}\n" for path in dependencies), encoding="utf-8")
    elsewhere = work / "elsewhere"
    elsewhere.mkdir()
    return Installed(wheel, python, venv / "bin" / "mlpromote", site_packages, elsewhere)


def test_pip_install_outside_the_checkout_runs_the_demo(tmp_path: Path) -> None:
    installed = _install(tmp_path)

    # The wheel carries the stack exactly as the checkout has it, and nothing else under _stack.
    # The stack the rehearsal deploys: the control plane, and what its IAM is made of (the target
    # accounts' roles, the organization reader, the access roles' renderer, the SCPs).
    expected = {
        "template.yaml",
        "statemachines/promote_model.asl.json",
        "templates/target-account.yaml",
        "templates/organization-reader.yaml",
        "tools/render_access_roles.py",
    } | {str(path.relative_to(REPO)) for path in [*REPO.glob("functions/*/*.py"), *REPO.glob("policies/scp/*.json")]}
    with zipfile.ZipFile(installed.wheel) as wheel:
        assert {name.removeprefix(STACK) for name in wheel.namelist() if name.startswith(STACK)} == expected
        for name in expected:
            assert wheel.read(STACK + name) == (REPO / name).read_bytes(), name

    # The installed copy is what runs: its modules, its stack; neither the checkout nor the editable finder.
    probe = (
        "import json, sys, mlpromote, mlpromote_cli, mlpromote_emulator\n"
        "from mlpromote_emulator.project import project_dir\n"
        "print(json.dumps({'modules': [m.__file__ for m in (mlpromote, mlpromote_cli, mlpromote_emulator)],"
        " 'stack': str(project_dir()), 'path': sys.path, 'finders': [type(f).__module__ for f in sys.meta_path]}))"
    )
    seen = json.loads(_run([str(installed.python), "-c", probe], cwd=installed.elsewhere).stdout)
    assert all(module.startswith(f"{installed.site_packages}/") for module in seen["modules"]), seen["modules"]
    assert seen["stack"] == str(installed.site_packages / STACK.rstrip("/"))
    assert {str(REPO), str(REPO / "src"), str(REPO / "layers"), str(REPO / "functions")}.isdisjoint(seen["path"])
    assert [finder for finder in seen["finders"] if "editable" in finder] == []

    # The demo: v2 promoted to prod (approved at its gate), v1 retired.
    done = installed.run("demo", "--json")
    report = json.loads(done.stdout)
    [promotion] = report["promotions"]
    assert (promotion["status"], promotion["approval"]) == ("SUCCEEDED", "approved")
    assert report["world"] == {
        "parameters": {
            "qa": {"tools": {"222222222222": "tools/v2"}},
            "prod": {"tools": {"333333333333": "tools/v2", "444444444444": "tools/v2"}},
        },
        "grants": {"qa": ["tools/v2"], "prod": ["tools/v2"]},
        "versions": {"tools/v1": "STOPPED", "tools/v2": "RUNNING", "tools/v3": "TRAINING_COMPLETED"},
    }
    assert "Traceback" not in done.stderr

    # A scenario of the user's own, its config beside it (a path relative to the scenario).
    folder = installed.elsewhere / "rehearsal"
    folder.mkdir()
    demo = yaml.safe_load((REPO / "src" / "mlpromote_emulator" / "demo.yaml").read_text(encoding="utf-8"))
    (folder / "mlpromote.yaml").write_text(yaml.safe_dump(demo["config"]), encoding="utf-8")
    scenario = {
        "config": "mlpromote.yaml",
        "world": demo["world"],
        "promotions": [{"environment": "qa", "version": "tools/v3"}],
    }
    (folder / "scenario.yaml").write_text(yaml.safe_dump(scenario), encoding="utf-8")
    report = json.loads(installed.run("local", "promote", "--scenario", "rehearsal/scenario.yaml", "--json").stdout)
    assert [p["status"] for p in report["promotions"]] == ["SUCCEEDED"]
    assert report["world"]["parameters"]["qa"]["tools"] == {"222222222222": "tools/v3"}
    assert (report["world"]["grants"]["qa"], report["world"]["versions"]["tools/v3"]) == (["tools/v3"], "RUNNING")

    # --project-dir that is not a checkout: a named error, exit 2, nothing run.
    done = installed.run("demo", "--project-dir", "rehearsal", expect=2)
    assert done.stderr.startswith("InvalidProjectDir: --project-dir rehearsal: no template.yaml there")
    assert (done.stdout, "Traceback" in done.stderr) == ("", False)
