"""The copy branches of the phases for a Comprehend project (strategy: copy: PutResourcePolicy on the source
version, ImportModel in each account, an endpoint there), with fake adapters: each account's imported model
and endpoint, and the source version's resource policy, in dictionaries. The wiring (ASL, handlers, the
emulator's Comprehend) is in tests/workflow/test_comprehend_copies.py."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mlpromote import arns, resource_policy
from mlpromote.aws import comprehend, ssm
from mlpromote.aws.comprehend import Endpoint, LocalModel
from mlpromote.clock import stamp
from mlpromote.config import parse_config
from mlpromote.errors import CopiesBusy, CopyConflict, ModelStartFailed
from mlpromote.phases.compensate import compensate
from mlpromote.phases.model import check_model_status, start_model
from mlpromote.phases.pointers import rotate_pointer
from mlpromote.phases.retire import retire_superseded
from mlpromote.plan import Pointing, PromotionPlan
from mlpromote.results import ModelStart
from mlpromote.services import model_service

ML, A, B = "111111111111", "333333333333", "444444444444"
KIND = "document-classifier"


def model(version: str, account: str = ML) -> str:
    return arns.comprehend_model_version("aws", "us-east-1", account, KIND, "tickets", version)


V1, V2 = model("v1"), model("v2")
CONFIG: dict[str, Any] = {
    "region": "us-east-1",
    "mlAccount": ML,
    "environments": {"prod": {"accounts": [A, B], "strategy": "copy", "deleteSupersededCopies": True}},
    "projects": {
        "tickets": {
            "service": "comprehend",
            "kind": "classifier",
            "parameterName": "/mlpromote/tickets/endpoint-arn",
            "inferenceUnits": 3,
            "smokeTest": {"texts": ["charged twice"], "expectClasses": ["billing"]},
        }
    },
}


class Imports:
    """Each account's models (ARN -> status, source) and endpoints (ARN -> status, model, units), the source
    version's resource policy, and what was done, in order."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.models: dict[str, tuple[str, str | None, float]] = {}
        self.endpoints: dict[str, tuple[str, str, int]] = {}
        self.policy: dict[str, Any] | None = None
        self.pointers: dict[str, str | None] = {}
        self.done: list[tuple[str, str]] = []
        monkeypatch.setattr(comprehend, "describe_model_as", self.describe_model)
        monkeypatch.setattr(comprehend, "describe_endpoint_as", self.describe_endpoint)
        monkeypatch.setattr(comprehend, "import_model", self.import_model)
        monkeypatch.setattr(comprehend, "create_endpoint_as", self.create_endpoint)
        monkeypatch.setattr(comprehend, "delete_endpoint_as", self.delete_endpoint)
        monkeypatch.setattr(comprehend, "delete_model_as", self.delete_model)
        monkeypatch.setattr(comprehend, "update_resource_policy", self.update_policy)
        monkeypatch.setattr(ssm, "write_pointer", self.write_pointer)
        monkeypatch.setattr(ssm, "read_pointer", lambda role, name: self.pointers.get(role.split(":")[4]))

    def seed(self, account: str, version: str, status: str = "TRAINED", endpoint: str | None = None) -> str:
        arn = model(version, account)
        self.models[arn] = (status, model(version), 1.0)
        if endpoint:
            self.endpoints[arns.comprehend_endpoint(arn)] = (endpoint, arn, 3)
        return arn

    def describe_model(self, chain: tuple[str, ...], arn: str) -> LocalModel | None:
        found = self.models.get(arn)
        return LocalModel(arn, found[0], "", found[1], found[2]) if found else None

    def describe_endpoint(self, chain: tuple[str, ...], arn: str) -> Endpoint | None:
        found = self.endpoints.get(arn)
        return Endpoint(arn, found[0], "", found[1], found[2]) if found else None

    def import_model(self, chain: tuple[str, ...], source: str, name: str, version: str) -> str:
        account = chain[0].split(":")[4]
        self.done.append(("import", account))
        arn = arns.comprehend_model_version("aws", "us-east-1", account, KIND, name, version)
        self.models[arn] = ("SUBMITTED", source, 9e12)  # made after any lock
        return arn

    def create_endpoint(self, chain: tuple[str, ...], name: str, arn: str, units: int) -> None:
        self.done.append(("create-endpoint", chain[0].split(":")[4]))
        assert name == arns.comprehend_endpoint_name(arn)
        self.endpoints[arns.comprehend_endpoint(arn)] = ("CREATING", arn, units)

    def delete_endpoint(self, chain: tuple[str, ...], arn: str) -> None:
        self.done.append(("delete-endpoint", chain[0].split(":")[4]))
        _, model_arn, units = self.endpoints[arn]
        self.endpoints[arn] = ("DELETING", model_arn, units)

    def delete_model(self, chain: tuple[str, ...], arn: str) -> None:
        self.done.append(("delete-model", chain[0].split(":")[4]))
        del self.models[arn]

    def update_policy(self, arn: str, change: Any, text: Any) -> bool:
        assert arn == V2  # the policy sits on the promoted version itself
        wanted = change(self.policy)
        if wanted == self.policy:
            return False
        if wanted is not None:
            json.loads(text(wanted))
        self.policy = wanted
        return True

    def write_pointer(self, role: str, name: str, value: str | None) -> int:
        self.pointers[role.split(":")[4]] = value
        return 1


def plan(pointing: list[Pointing] | None = None) -> PromotionPlan:
    cfg = parse_config(CONFIG)
    return PromotionPlan(
        execution="exec-1",
        requested_at=stamp(),
        planned_at=stamp(),
        reason=None,
        environment="prod",
        project="tickets",
        project_arn=f"arn:aws:comprehend:us-east-1:{ML}:{KIND}/tickets",
        version_arn=V2,
        version_label="tickets/v2",
        status_at_plan="STOPPED",
        ml_account=ML,
        region="us-east-1",
        access_role_name="mlpromote-access-prod",
        parameter_name="/mlpromote/tickets/endpoint-arn",
        smoke_test_role_name="mlpromote-smoke-test",
        parameter_writer_role_name="mlpromote-parameter-writer",
        smoke_test=cfg.projects["tickets"].smoke_test,
        grant_propagation_seconds=120,
        batches=[[A, B]],
        pointing=pointing or [Pointing(version=None, accounts=[A, B])],
        already_served=False,
        already_running=False,
        min_inference_units=3,
        max_inference_units=None,
        retire_superseded=True,
        start_poll_seconds=30,
        start_timeout_seconds=1800,
        max_concurrency=10,
        strategy="copy",
        service=KIND,
        delete_superseded_copies=True,
        locked_at="2026-01-01T00:00:00+00:00",
    )


def copying(status: str = "COPYING") -> ModelStart:
    return ModelStart(started_by_this_execution=True, started_at=stamp(), status=status, wait_seconds=1)


def test_start_shares_the_version_with_the_accounts_and_imports_it_where_it_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    imports = Imports(monkeypatch)
    imports.seed(B, "v2", endpoint=None)  # B kept an import of v2 from an earlier promotion
    started = start_model(plan())
    assert (started.status, started.started_by_this_execution) == ("COPYING", True)
    assert imports.done == [("import", A)]
    assert imports.models[model("v2", A)][:2] == ("SUBMITTED", V2)  # the source's names, in A
    assert imports.policy == {"Version": "2012-10-17", "Statement": [resource_policy.statement(V2, "prod", [A, B])]}


def test_check_starts_the_imports_done_and_takes_only_its_statement_back(monkeypatch: pytest.MonkeyPatch) -> None:
    imports = Imports(monkeypatch)
    imports.seed(A, "v2", status="SUBMITTED")
    imports.seed(B, "v2")
    qa = resource_policy.statement(V2, "qa", ["222222222222"])  # another copy environment copies v2 too
    imports.policy = resource_policy.with_statement(
        resource_policy.with_statement(None, qa), resource_policy.statement(V2, "prod", [A, B])
    )
    checked = check_model_status(plan(), copying())
    assert checked.status == "COPYING"
    assert imports.done == [("create-endpoint", B)]  # A still imports
    assert imports.endpoints[arns.comprehend_endpoint(model("v2", B))] == ("CREATING", model("v2", B), 3)
    imports.models[model("v2", A)] = ("TRAINED", V2, 1.0)
    checked = check_model_status(plan(), checked)
    assert checked.status == "STARTING"
    assert imports.policy == {"Version": "2012-10-17", "Statement": [qa]}  # qa's statement stays
    imports.endpoints = {arn: ("IN_SERVICE", m, u) for arn, (_, m, u) in imports.endpoints.items()}
    assert check_model_status(plan(), checked).status == "RUNNING"


def test_the_last_environment_out_deletes_the_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    imports = Imports(monkeypatch)
    imports.seed(A, "v2")
    imports.seed(B, "v2")
    imports.policy = resource_policy.with_statement(None, resource_policy.statement(V2, "prod", [A, B]))
    assert check_model_status(plan(), copying()).status == "STARTING"
    assert imports.policy is None


def test_a_failed_import_fails_the_start(monkeypatch: pytest.MonkeyPatch) -> None:
    imports = Imports(monkeypatch)
    imports.seed(A, "v2", status="IN_ERROR")
    imports.seed(B, "v2")
    with pytest.raises(ModelStartFailed, match=rf"account {A}: the copy of tickets/v2 is COPYING_FAILED"):
        check_model_status(plan(), copying(status="STARTING"))


def test_a_model_of_that_name_that_is_not_an_import_of_it_is_a_conflict(monkeypatch: pytest.MonkeyPatch) -> None:
    imports = Imports(monkeypatch)
    imports.models[model("v2", A)] = ("TRAINED", None, 1.0)  # trained in A itself
    with pytest.raises(CopyConflict, match=r"that is not an import of .*not an import at all"):
        start_model(plan())
    assert imports.done == [] and imports.policy is None


def test_the_pointer_names_the_accounts_own_endpoint_and_reads_back_as_its_import(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    imports = Imports(monkeypatch)
    local = imports.seed(A, "v2", endpoint="IN_SERVICE")
    rotate_pointer(plan(), A)
    assert imports.pointers[A] == arns.comprehend_endpoint(local)
    assert arns.account_of(str(imports.pointers[A])) == A
    listed = [comprehend.ModelDescription(V1, "TRAINED", ""), comprehend.ModelDescription(V2, "TRAINED", "")]
    monkeypatch.setattr(comprehend, "list_models", lambda kind, name: listed)
    served = model_service(KIND).versions_served_by("tickets", {arns.comprehend_endpoint(local)})
    assert served == {arns.comprehend_endpoint(local): local}


def test_retire_deletes_the_superseded_endpoint_then_the_import(monkeypatch: pytest.MonkeyPatch) -> None:
    imports = Imports(monkeypatch)
    v1 = {account: imports.seed(account, "v1", endpoint="IN_SERVICE") for account in (A, B)}
    superseded = plan([Pointing(version=v1[A], accounts=[A]), Pointing(version=v1[B], accounts=[B])])
    with pytest.raises(CopiesBusy, match="is STOPPING"):
        retire_superseded(superseded, parse_config(CONFIG))
    assert sorted(imports.done) == [("delete-endpoint", A), ("delete-endpoint", B)]
    imports.endpoints.clear()  # the endpoints are gone
    retired = retire_superseded(superseded, parse_config(CONFIG))
    assert retired.stopped == ["tickets/v1: copy deleted in 2 accounts"] and retired.left == []
    assert set(imports.models) == set()


def test_compensation_deletes_this_promotions_imports_and_keeps_older_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    imports = Imports(monkeypatch)
    old = imports.seed(B, "v2")  # imported before this promotion took the lock: kept
    imports.import_model((arns.role("aws", A, "mlpromote-model-copier"),), V2, "tickets", "v2")
    imports.models[model("v2", A)] = ("TRAINED", V2, 9e12)
    imports.create_endpoint(
        (arns.role("aws", A, "x"),), arns.comprehend_endpoint_name(model("v2", A)), model("v2", A), 3
    )
    imports.endpoints[arns.comprehend_endpoint(model("v2", A))] = ("IN_SERVICE", model("v2", A), 3)
    imports.policy = resource_policy.with_statement(None, resource_policy.statement(V2, "prod", [A, B]))
    imports.done.clear()
    error = {"Error": "SmokeTestFailed", "Cause": "no billing"}
    with pytest.raises(CopiesBusy):
        compensate(plan(), parse_config(CONFIG), error)
    assert imports.done == [("delete-endpoint", A)] and imports.policy is None
    imports.endpoints.clear()
    done = compensate(plan(), parse_config(CONFIG), error)
    assert done.stopped is True and done.revoked is False
    assert imports.done[-1] == ("delete-model", A)
    assert set(imports.models) == {old}


def test_an_import_whose_endpoint_failed_is_deleted_once_its_endpoint_is_gone(monkeypatch: pytest.MonkeyPatch) -> None:
    """A FAILED endpoint (ModelStartFailed) keeps the import in use: the compensation deletes the endpoint first,
    and the import once it is gone (DeleteDocumentClassifier refuses a model an endpoint uses)."""
    imports = Imports(monkeypatch)
    local = model("v2", A)
    imports.models[local] = ("TRAINED", V2, 9e12)
    imports.endpoints[arns.comprehend_endpoint(local)] = ("FAILED", local, 3)
    error = {"Error": "ModelStartFailed", "Cause": "the endpoint failed"}
    with pytest.raises(CopiesBusy, match="is being deleted"):
        compensate(plan(), parse_config(CONFIG), error)
    assert imports.done == [("delete-endpoint", A)] and local in imports.models
    with pytest.raises(CopiesBusy):  # still DELETING: not deleted twice
        compensate(plan(), parse_config(CONFIG), error)
    assert imports.done == [("delete-endpoint", A)]
    imports.endpoints.clear()
    assert compensate(plan(), parse_config(CONFIG), error).stopped is True
    assert imports.done[-1] == ("delete-model", A) and local not in imports.models
