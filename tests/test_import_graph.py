"""The imports of layers/mlpromote run one way: handlers (functions/*/app.py), then phases
(mlpromote.phases.*), then the domain (mlpromote.*), then the AWS adapters (mlpromote.aws.*). And
only the handler layer (mlpromote.handler) reads the function's environment.

Read from the source with `ast`, every import counted (also those inside functions), so a shortcut
taken anywhere shows. `violations` is a pure function of the graph, and the synthetic graphs below
show each rule failing.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LIBRARY = REPO / "layers"
HANDLERS = REPO / "functions"

PHASES = "mlpromote.phases"
ADAPTERS = "mlpromote.aws"
# Value types and names with no I/O: every layer may import them, the adapters too (they translate
# AWS data into them), and they import nothing of mlpromote but each other.
BASE = frozenset(
    {
        "mlpromote",
        "mlpromote.arns",
        "mlpromote.errors",
        "mlpromote.grants",
        "mlpromote.history",
        "mlpromote.models",
        "mlpromote.observability",
        "mlpromote.versions",
    }
)


def layer(module: str) -> str:
    if module.startswith("handler:"):
        return "handler"
    if module == PHASES or module.startswith(f"{PHASES}."):
        return "phase"
    if module == ADAPTERS or module.startswith(f"{ADAPTERS}."):
        return "adapter"
    if module in BASE:
        return "base"
    return "domain"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(LIBRARY).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, package: str, known: set[str]) -> set[str]:
    """The mlpromote modules a file imports: `from mlpromote import x` counts as mlpromote.x when x is a module."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolved against the importing module's package
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                found.add(submodule if submodule in known else base)
    return {name for name in found if name == "mlpromote" or name.startswith("mlpromote.")}


def import_graph() -> dict[str, set[str]]:
    """Every module of layers/mlpromote and every handler, with the mlpromote modules it imports."""
    files = {_module_name(path): path for path in sorted((LIBRARY / "mlpromote").rglob("*.py"))}
    known = set(files)
    graph = {}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        graph[name] = _imports(path, package, known) - {name}
    for path in sorted(HANDLERS.glob("*/app.py")):
        graph[f"handler:{path.parent.name}"] = _imports(path, "", known)
    return graph


def violations(graph: dict[str, set[str]]) -> list[str]:
    found = []
    for module, imported in sorted(graph.items()):
        kind = layer(module)
        for target in sorted(imported):
            to = layer(target)
            if kind == "phase" and to == "phase" and PHASES not in (module, target):
                found.append(f"{module} imports {target}: a phase never imports another; move what they share out")
            elif kind in ("domain", "adapter", "base") and to in ("phase", "handler"):
                found.append(f"{module} ({kind}) imports {target} ({to}): imports run handler -> phase -> domain")
            elif kind == "adapter" and to == "domain":
                found.append(f"{module} (adapter) imports {target} (domain): an adapter knows only the base types")
            elif kind == "base" and to not in ("base",):
                found.append(f"{module} (base) imports {target} ({to}): base modules import only each other")
        phases = {target for target in imported if layer(target) == "phase" and target != PHASES}
        if kind == "handler" and len(phases) > 1:
            found.append(f"{module} calls into {len(phases)} phases ({', '.join(sorted(phases))}); one Task, one phase")
    return found


def test_the_import_graph_runs_one_way() -> None:
    graph = import_graph()
    # Not vacuous: the graph holds every phase and the edges the layers are made of.
    assert {m for m in graph if layer(m) == "phase"} >= {
        f"{PHASES}.{name}"
        for name in ("plan", "lock", "model", "access", "pointers", "retire", "compensate", "outcome")
    }
    assert "mlpromote.serving" in graph["mlpromote.phases.plan"]
    assert "mlpromote.phases.plan" in graph["handler:validate_and_plan"]
    assert "mlpromote.history" in graph["mlpromote.aws.dynamodb"]
    assert violations(graph) == []


def test_every_step_handler_calls_one_phase_function() -> None:
    graph = import_graph()
    by_layer = {
        handler: {layer(target) for target in imported}
        for handler, imported in graph.items()
        if handler.startswith("handler:")
    }
    # The approval gate and drift detection are entry points into the domain, not workflow phases.
    entry_points = {"handler:request_approval", "handler:detect_drift"}
    for handler, layers in by_layer.items():
        if handler == "handler:api":
            # An entry point too; its dry run is the plan step's checks, read-only: that phase only.
            assert {t for t in graph[handler] if layer(t) == "phase"} == {f"{PHASES}.plan"}
            continue
        assert ("phase" in layers) == (handler not in entry_points), handler


def test_a_phase_importing_another_phase_is_caught() -> None:
    graph = {"mlpromote.phases.retire": {"mlpromote.phases.compensate", "mlpromote.serving"}}
    assert violations(graph) == [
        "mlpromote.phases.retire imports mlpromote.phases.compensate: a phase never imports another; "
        "move what they share out"
    ]


def test_an_adapter_importing_a_phase_or_the_domain_is_caught() -> None:
    graph = {
        "mlpromote.aws.ssm": {"mlpromote.phases.pointers", "mlpromote.aws.sessions"},
        "mlpromote.aws.iam": {"mlpromote.plan", "mlpromote.grants"},
    }
    assert violations(graph) == [
        "mlpromote.aws.iam (adapter) imports mlpromote.plan (domain): an adapter knows only the base types",
        "mlpromote.aws.ssm (adapter) imports mlpromote.phases.pointers (phase): imports run handler -> phase -> domain",
    ]


def test_the_domain_importing_a_phase_is_caught() -> None:
    graph = {"mlpromote.summary": {"mlpromote.phases.model", "mlpromote.results"}, "mlpromote.results": set()}
    assert violations(graph) == [
        "mlpromote.summary (domain) imports mlpromote.phases.model (phase): imports run handler -> phase -> domain"
    ]


def test_a_base_module_importing_upwards_or_a_handler_using_two_phases_is_caught() -> None:
    graph = {
        "mlpromote.errors": {"mlpromote.config"},
        "handler:start_model": {"mlpromote.phases.model", "mlpromote.phases.access"},
    }
    assert violations(graph) == [
        "handler:start_model calls into 2 phases (mlpromote.phases.access, mlpromote.phases.model); "
        "one Task, one phase",
        "mlpromote.errors (base) imports mlpromote.config (domain): base modules import only each other",
    ]


# The handler layer: the step decorator and the one reader of the function's environment.
ENVIRONMENT_READERS = frozenset({"mlpromote.handler"})


def environment_reads(source: str) -> list[int]:
    """Lines that read the process environment: os.environ, os.getenv, os.putenv (by any import name)."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "putenv", "environb"):
            lines.append(node.lineno)
        elif isinstance(node, ast.ImportFrom) and node.module == "os":
            lines += [node.lineno for alias in node.names if alias.name in ("environ", "getenv", "environb")]
    return sorted(lines)


def test_only_the_handler_layer_reads_the_environment() -> None:
    """Configuration comes in from the handlers: domain code and adapters take it as arguments."""
    readers = {
        _module_name(path): environment_reads(path.read_text())
        for path in sorted((LIBRARY / "mlpromote").rglob("*.py"))
    }
    assert {module for module, lines in readers.items() if lines} == ENVIRONMENT_READERS


def test_an_environment_read_is_found_however_it_is_written() -> None:
    assert environment_reads("import os\nx = os.environ.get('A')\ny = os.getenv('B')\n") == [2, 3]
    assert environment_reads("from os import environ\n") == [1]
    assert environment_reads("import os\nx = os.path.join('a')\n") == []


def test_relative_and_package_imports_resolve_to_the_module(tmp_path: Path) -> None:
    source = tmp_path / "x.py"
    source.write_text(
        "from mlpromote.phases import access\nfrom . import lock\n"
        "from mlpromote.aws.ssm import read_pointer\nimport os\n"
    )
    known = {"mlpromote.phases.access", "mlpromote.phases.lock", "mlpromote.aws.ssm"}
    assert _imports(source, "mlpromote.phases", known) == known


def camel_configs(source: str) -> list[int]:
    """Lines that set a pydantic alias_generator: camelCase is CamelModel's one job (mlpromote.models)."""
    return sorted(
        node.lineno
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.keyword) and node.arg == "alias_generator"
    )


def test_camel_case_models_share_one_base() -> None:
    found = {
        _module_name(path): camel_configs(path.read_text()) for path in sorted((LIBRARY / "mlpromote").rglob("*.py"))
    }
    assert {module for module, lines in found.items() if lines} == {"mlpromote.models"}


def test_a_model_with_its_own_alias_generator_is_found() -> None:
    source = "class A(BaseModel):\n    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)\n"
    assert camel_configs(source) == [2]
    assert camel_configs("class A(CamelModel):\n    model_config = ConfigDict(extra='forbid')\n") == []


def client_error_uses(source: str) -> list[int]:
    """Lines that name botocore's ClientError (imported by any route) or botocore.exceptions itself."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("botocore"):
            lines += [node.lineno for alias in node.names if alias.name in ("ClientError", "exceptions")]
        elif isinstance(node, ast.Import):
            lines += [node.lineno for alias in node.names if alias.name == "botocore.exceptions"]
        elif isinstance(node, ast.Attribute) and node.attr == "ClientError":
            lines.append(node.lineno)
    return sorted(lines)


def test_only_the_adapters_see_botocore_client_errors() -> None:
    """AWS errors are translated once, where the call is made (mlpromote.aws.sessions.translated): the
    domain, the phases and the handlers see TransientAwsError, AwsCallFailed or a specific named error."""
    files = sorted((LIBRARY / "mlpromote").rglob("*.py")) + sorted(HANDLERS.glob("*/app.py"))
    users = {
        _module_name(path) if path.is_relative_to(LIBRARY) else f"handler:{path.parent.name}"
        for path in files
        if client_error_uses(path.read_text())
    }
    # Not vacuous: the adapters that tell AWS's codes apart are found.
    assert {"mlpromote.aws.sessions", "mlpromote.aws.dynamodb", "mlpromote.aws.ssm"} <= users
    assert {module for module in users if layer(module) != "adapter"} == set()


def test_a_client_error_outside_the_adapters_is_found_however_it_is_imported() -> None:
    assert client_error_uses("from botocore.exceptions import ClientError\n") == [1]
    assert client_error_uses("import botocore.exceptions\nx = botocore.exceptions.ClientError\n") == [1, 2]
    assert client_error_uses("from botocore import exceptions\n") == [1]
    assert (
        client_error_uses("from botocore.exceptions import BotoCoreError\nfrom botocore.config import Config\n") == []
    )
