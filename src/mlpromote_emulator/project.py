"""Where the emulator finds the stack it deploys: template.yaml, the ASL and the handlers it names.

Three places, in this order:
- an explicit directory (`--project-dir DIR`), to rehearse another or a modified checkout;
- the checkout this package is imported from (an editable install, `make install`), so an edited
  handler or ASL is what runs;
- the copy a wheel carries as package data (`mlpromote_emulator/_stack`, put there by setup.py at
  build time), so `pip install .` rehearses without a checkout.
Whichever it is, it is checked before anything starts: a missing file is InvalidProjectDir, naming it.
"""

from __future__ import annotations

import functools
import shutil
from pathlib import Path
from typing import Any

import yaml

from mlpromote_emulator.cfn import load_template

TEMPLATE = "template.yaml"
# What the rehearsal's IAM deploys beside template.yaml (mlpromote_emulator.authorization): the target
# accounts' roles, the access roles' renderer, and the SCPs (policies/scp/*.json, which may be none).
TARGET_TEMPLATE = "templates/target-account.yaml"
# The organization reader role, in the management account (environments given as organizationalUnits).
ORGANIZATION_READER_TEMPLATE = "templates/organization-reader.yaml"
ACCESS_ROLES_RENDERER = "tools/render_access_roles.py"
SCP_DIR = "policies/scp"
# Must agree with setup.py (STACK_DIR), which fills it when a wheel is built.
PACKAGE_DATA_DIR = Path(__file__).resolve().with_name("_stack")
# src/mlpromote_emulator/project.py -> the checkout, when the package is imported from one.
CHECKOUT_DIR = Path(__file__).resolve().parents[2]
_WHAT = "a checkout of mlpromote: the folder with template.yaml, statemachines/ and functions/"


class InvalidProjectDir(Exception):
    """The project directory is missing, or lacks a file of the stack (the template, the ASL, a handler)."""


def project_dir(explicit: Path | None = None) -> Path:
    """The checked directory to deploy from (see the module's docstring for the order)."""
    if explicit is not None:
        return check_project_dir(explicit, source="--project-dir")
    for candidate, source in ((CHECKOUT_DIR, "the checkout"), (PACKAGE_DATA_DIR, "the installed package")):
        if (candidate / TEMPLATE).is_file():
            return check_project_dir(candidate, source=source)
    raise InvalidProjectDir(
        f"this installation carries no {TEMPLATE} (looked in {CHECKOUT_DIR} and {PACKAGE_DATA_DIR}): "
        f"reinstall it from a checkout with `pip install .`, or pass --project-dir with {_WHAT}"
    )


def copy_project(destination: Path, source: Path | None = None) -> Path:
    """Copy every file the rehearsal deploys (from `source`, else the project found as above) into
    `destination`: a stack to modify and rehearse with --project-dir."""
    root = project_dir(source)
    destination.mkdir(parents=True, exist_ok=True)
    for name in (TEMPLATE, TARGET_TEMPLATE, ORGANIZATION_READER_TEMPLATE, ACCESS_ROLES_RENDERER):
        if name == ORGANIZATION_READER_TEMPLATE and not (root / name).is_file():
            continue  # a stack from before OU environments
        (destination / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(root / name, destination / name)
    ignore = shutil.ignore_patterns("__pycache__")
    for folder in ("statemachines", "functions", SCP_DIR):
        if (root / folder).is_dir():
            shutil.copytree(root / folder, destination / folder, ignore=ignore)
    return destination


def check_project_dir(directory: Path, source: str = "--project-dir") -> Path:
    """`directory`, resolved, if it holds the template and every file the template names for the emulator."""
    root = directory.expanduser().resolve()
    if not root.is_dir():
        raise InvalidProjectDir(f"{source} {directory}: no such directory; give {_WHAT}")
    if not (root / TEMPLATE).is_file():
        raise InvalidProjectDir(f"{source} {directory}: no {TEMPLATE} there; give {_WHAT}")
    stat = (root / TEMPLATE).stat()
    problem, named = _read_template(root / TEMPLATE, (stat.st_mtime_ns, stat.st_size))
    if problem:
        raise InvalidProjectDir(f"{source} {directory}: {problem}")
    named = (*named, (TARGET_TEMPLATE, "the rehearsal's IAM"), (ACCESS_ROLES_RENDERER, "the rehearsal's IAM"))
    missing = [f"{name} (named by {where})" for name, where in named if not (root / name).is_file()]
    if missing:
        raise InvalidProjectDir(f"{source} {directory}: missing " + ", ".join(missing))
    return root


@functools.cache
def _read_template(path: Path, stamp: tuple[int, int]) -> tuple[str | None, tuple[tuple[str, str], ...]]:
    """(what is wrong with the template, or None; the files it names), once per template and version (`stamp`):
    every Emulator checks its project directory, and parsing the template costs about 0.2 s of CPU."""
    try:
        template = load_template(path)
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        return f"{TEMPLATE} is not YAML: {_first_line(error)}", ()
    except (TypeError, ValueError):
        return f"{TEMPLATE} is not a mapping (a SAM template)", ()
    resources = template.get("Resources")
    if not isinstance(resources, dict):
        return f"{TEMPLATE} has no Resources mapping", ()
    return None, tuple(_named_files(template, resources))


def _named_files(template: dict[str, Any], resources: dict[str, Any]) -> list[tuple[str, str]]:
    """(relative path, the resource naming it) of every file the emulator reads: the ASL and the handlers."""
    default_handler = (template.get("Globals") or {}).get("Function", {}).get("Handler", "app.lambda_handler")
    files = []
    for logical_id, resource in resources.items():
        if not isinstance(resource, dict):
            continue
        properties = resource.get("Properties") or {}
        if resource.get("Type") == "AWS::Serverless::StateMachine" and isinstance(properties.get("DefinitionUri"), str):
            files.append((properties["DefinitionUri"], logical_id))
        elif resource.get("Type") == "AWS::Serverless::Function" and isinstance(properties.get("CodeUri"), str):
            module = str(properties.get("Handler", default_handler)).rpartition(".")[0]
            files.append((str(Path(properties["CodeUri"], f"{module}.py")), logical_id))
    return files


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
