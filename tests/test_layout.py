"""The layout promises: the ASL and the template agree, and product code never imports the emulator."""

import ast
import json
import re
from pathlib import Path

from mlpromote_emulator.runtime import STATE_MACHINE_RESOURCE, load_template

REPO = Path(__file__).resolve().parents[1]
PRODUCT = [REPO / "layers", REPO / "functions"]


def test_product_code_never_imports_the_emulator() -> None:
    offenders = []
    for root in PRODUCT:
        for path in root.rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                names = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom):
                    names = [node.module or ""]
                offenders += [f"{path}: {n}" for n in names if n.split(".")[0] in ("mlpromote_emulator", "moto")]
    assert offenders == []


def test_every_substitution_in_the_asl_is_defined_by_the_template_and_used() -> None:
    template = load_template(REPO / "template.yaml")
    machine = template["Resources"][STATE_MACHINE_RESOURCE]["Properties"]
    asl_text = (REPO / machine["DefinitionUri"]).read_text()
    used = set(re.findall(r"\$\{(\w+)\}", asl_text))
    assert used == set(machine["DefinitionSubstitutions"])
    alias = template["Globals"]["Function"].get("AutoPublishAlias")
    for key, value in machine["DefinitionSubstitutions"].items():
        # A published version (SAM's Name.Version), never the unqualified function ($LATEST): an execution
        # waiting at the approval gate must not resume on code deployed after it started.
        function, _, attribute = value["Ref"].partition(".")
        assert attribute == "Version" and alias, f"{key}: {value}; name the function's published version"
        assert template["Resources"][function]["Type"] == "AWS::Serverless::Function", key


def test_every_aliased_function_publishes_a_version_when_only_a_layer_changes() -> None:
    """AutoPublishAlias alone publishes when the function's code changes; the domain code is in the
    layers, so each aliased function needs AutoPublishAliasAllProperties (its own: cfn-lint refuses it
    in Globals, although SAM would take it there)."""
    template = load_template(REPO / "template.yaml")
    defaults = template["Globals"]["Function"]
    aliased = {
        name: {**defaults, **resource.get("Properties", {})}
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
        and {**defaults, **resource.get("Properties", {})}.get("AutoPublishAlias")
    }
    assert aliased, "the state machine names published versions: functions are aliased"
    assert {name: p.get("AutoPublishAliasAllProperties") for name, p in aliased.items()} == dict.fromkeys(aliased, True)
    assert "AutoPublishAliasAllProperties" not in defaults
    # SAM folds a layer into the function's version hash only when the layer says PublishLambdaVersion
    # (make templates checks the result with SAM's transform: tools/layer_publishes_versions.py).
    layers = {ref["Ref"] for p in aliased.values() for ref in p.get("Layers", [])}
    assert layers and {
        name: template["Resources"][name]["Properties"].get("PublishLambdaVersion") for name in layers
    } == (dict.fromkeys(layers, True))


def test_every_function_folder_is_deployed_and_thin() -> None:
    template = load_template(REPO / "template.yaml")
    code_uris = {
        r["Properties"]["CodeUri"].rstrip("/")
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Serverless::Function"
    }
    folders = {f"functions/{p.name}" for p in (REPO / "functions").iterdir() if p.is_dir()}
    assert code_uris == folders
    for folder in folders - {"functions/api"}:  # the API's handler is its route table
        lines = [line for line in (REPO / folder / "app.py").read_text().splitlines() if line.strip()]
        assert len(lines) <= 20, f"{folder}/app.py should hand off to a phase in mlpromote.phases"


def test_every_task_retries_transient_errors_and_every_change_is_compensated() -> None:
    asl = json.loads((REPO / "statemachines" / "promote_model.asl.json").read_text())

    def tasks(states: dict) -> list[tuple[str, dict]]:
        out = []
        for name, state in states.items():
            if state["Type"] == "Task":
                out.append((name, state))
            if state["Type"] == "Map":
                out += tasks(state["ItemProcessor"]["States"])
        return out

    for name, state in tasks(asl["States"]):
        retried = {e for r in state.get("Retry", []) for e in r["ErrorEquals"]}
        assert {"TransientAwsError", "Lambda.ServiceException", "Lambda.TooManyRequestsException"} <= retried, name
    changing = ["Start the model version", "Grant access", "Smoke-test from each account",
                "Point each account at the new version", "Check the model status",
                "Check the version still serves"]  # fmt: skip
    for name in changing:
        assert asl["States"][name]["Catch"][0]["Next"] == "Compensate", name


def test_the_committed_access_roles_template_matches_the_config() -> None:
    import subprocess
    import sys

    rendered = subprocess.run(
        [sys.executable, "tools/render_access_roles.py", "config/mlpromote.yaml"],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    ).stdout
    assert rendered == (REPO / "templates" / "access-roles.yaml").read_text(), (
        "regenerate: .venv/bin/python tools/render_access_roles.py config/mlpromote.yaml > templates/access-roles.yaml"
    )


def test_the_propagation_retry_budget_covers_the_largest_configurable_bound() -> None:
    from mlpromote.config import Workflow

    asl = json.loads((REPO / "statemachines" / "promote_model.asl.json").read_text())
    task = asl["States"]["Smoke-test from each account"]["ItemProcessor"]["States"]["Smoke-test a batch of accounts"]
    retrier = next(r for r in task["Retry"] if r["ErrorEquals"] == ["GrantNotYetEffective"])
    budget, delay = 0.0, float(retrier["IntervalSeconds"])
    for _ in range(retrier["MaxAttempts"]):
        budget += min(delay, retrier["MaxDelaySeconds"])
        delay *= retrier["BackoffRate"]
    largest = Workflow.model_fields["grant_propagation_seconds"].metadata
    bound = next(m.le for m in largest if hasattr(m, "le"))
    assert budget > bound, f"the ASL retries for {budget:.0f} s; the config allows {bound} s"


def test_each_map_iteration_gets_exactly_the_account_plan() -> None:
    from mlpromote.plan import AccountPlan

    asl = json.loads((REPO / "statemachines" / "promote_model.asl.json").read_text())
    wanted = {f"{field.alias}.$" for field in AccountPlan.model_fields.values()}
    for name in ("Smoke-test from each account", "Point each account at the new version"):
        assert set(asl["States"][name]["ItemSelector"]["plan"]) == wanted, name
