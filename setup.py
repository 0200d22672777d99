"""Build step: the wheel carries the stack the offline emulator deploys.

`mlpromote demo` and `mlpromote local ...` deploy template.yaml, the ASL it names and the handlers
under functions/ onto moto, exactly as `sam deploy` would. Those files live once, at the top of the
checkout, where SAM reads them; this step copies them into the wheel as package data
(mlpromote_emulator/_stack/, see mlpromote_emulator.project), so an installed mlpromote rehearses
without a checkout. An editable install copies nothing: the emulator reads the checkout itself, so an
edited handler or ASL is what runs. MANIFEST.in puts the same files in the sdist.
Everything else about the package is in pyproject.toml.
"""

from __future__ import annotations

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
# Must agree with mlpromote_emulator/project.py (PACKAGE_DATA_DIR) and MANIFEST.in.
STACK_DIR = Path("mlpromote_emulator", "_stack")
STACK_FILES = (
    "template.yaml",
    "statemachines/*.asl.json",
    "functions/*/*.py",
    # The rehearsal's IAM (mlpromote_emulator.project): target-account roles, access roles, SCPs.
    "templates/target-account.yaml",
    "templates/organization-reader.yaml",
    "tools/render_access_roles.py",
    "policies/scp/*.json",
)


class BuildPyWithStack(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        for source in self._stack_sources():
            destination = Path(self.build_lib, STACK_DIR, source.relative_to(ROOT))
            self.mkpath(str(destination.parent))
            self.copy_file(str(source), str(destination))

    def _stack_sources(self) -> list[Path]:
        sources = sorted(path for pattern in STACK_FILES for path in ROOT.glob(pattern))
        if not any(path.name == "template.yaml" for path in sources):
            raise SystemExit(f"mlpromote build: no template.yaml in {ROOT} (an sdist without MANIFEST.in's files?)")
        return sources


setup(cmdclass={"build_py": BuildPyWithStack})
