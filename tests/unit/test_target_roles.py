"""Which target-account role each step goes through: exactly the roles that trust its control-plane
role in mlpromote.iam_model, one role per job (read pointers, move them, read alarms, smoke-test).

The steps run against recording fakes of the adapters; the config renames every target role, so a
step that took a role name from anywhere but the config (or the plan made from it) would show here.
"""

from __future__ import annotations

from typing import Any

import pytest

from mlpromote import drift, iam_model
from mlpromote.aws import cloudwatch, dynamodb, events, iam, rekognition, ssm
from mlpromote.aws.rekognition import VersionDescription
from mlpromote.clock import stamp
from mlpromote.config import Config, TargetRoles, parse_config
from mlpromote.errors import CopiesBusy, InvalidConfig
from mlpromote.grants import GrantPolicy
from mlpromote.phases.access import smoke_test
from mlpromote.phases.compensate import compensate
from mlpromote.phases.lock import take_environment
from mlpromote.phases.plan import dry_run, validate_and_plan
from mlpromote.phases.pointers import rotate_pointer, watch_alarms
from mlpromote.phases.retire import retire_superseded
from mlpromote.plan import PromotionPlan, PromotionRequest
from mlpromote.results import Grant, ModelStart

ML, QA, PROD_A, PROD_B = "111111111111", "222222222222", "333333333333", "444444444444"
PARAMETER = "/mlpromote/tools/model-arn"
RENAMED = {
    "smokeTest": "acme-smoke-test",
    "parameterReader": "acme-pointer-reader",
    "parameterWriter": "acme-pointer-writer",
    "alarmReader": "acme-alarm-reader",
}
CONFIG: dict[str, Any] = {
    "region": "us-east-1",
    "mlAccount": ML,
    "environments": {
        "qa": {"accounts": [QA]},
        "prod": {"accounts": [PROD_A, PROD_B], "requires": "qa", "bakeMinutes": 5, "rollbackAlarms": ["Errors"]},
    },
    "projects": {
        "tools": {
            "parameterName": PARAMETER,
            "smokeTest": {"images": [f"s3://mlpromote-smoke-{ML}/tools/hammer.jpg"], "expectLabels": ["hammer"]},
        }
    },
    "targetRoles": RENAMED,
}


def version(name: str) -> str:
    return f"arn:aws:rekognition:us-east-1:{ML}:project/tools/version/{name}/1700000001000"


V1, V2 = version("v1"), version("v2")
# What each account's parameter holds: qa already serves v2, prod v1.
POINTERS = {QA: V2, PROD_A: V1, PROD_B: V1}


class Recorder:
    """Every call into a target account: (what, role name)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def take(self) -> set[tuple[str, str]]:
        taken, self.calls = set(self.calls), []
        return taken

    def note(self, what: str, role_arn: str) -> None:
        self.calls.append((what, role_arn.rsplit("/", 1)[1]))


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    recorder = Recorder()

    def read_pointer(role_arn: str, name: str) -> str | None:
        recorder.note("read a pointer", role_arn)
        return POINTERS[role_arn.split(":")[4]]

    def write_pointer(role_arn: str, name: str, value: str | None) -> int:
        recorder.note("write a pointer", role_arn)
        return 2

    def alarms_in_alarm(role_arn: str, names: list[str]) -> list[str]:
        recorder.note("read alarms", role_arn)
        return []

    def missing_alarms(role_arn: str, names: list[str]) -> list[str]:
        recorder.note("check alarms exist", role_arn)
        return []

    def detect_custom_labels(chain: tuple[str, ...], *args: Any, **kwargs: Any) -> dict[str, float]:
        recorder.note("call the model", chain[0])
        return {"hammer": 99.0}

    monkeypatch.setattr(ssm, "read_pointer", read_pointer)
    monkeypatch.setattr(ssm, "write_pointer", write_pointer)
    monkeypatch.setattr(cloudwatch, "alarms_in_alarm", alarms_in_alarm)
    monkeypatch.setattr(cloudwatch, "missing_alarms", missing_alarms)
    monkeypatch.setattr(rekognition, "detect_custom_labels", detect_custom_labels)
    monkeypatch.setattr(rekognition, "project_arn", lambda project: f"arn:aws:rekognition:us-east-1:{ML}:project/x/1")
    monkeypatch.setattr(
        rekognition, "describe_version", lambda project, name, arn: VersionDescription(arn, "RUNNING", "")
    )
    monkeypatch.setattr(rekognition, "stop_version", lambda arn: None)
    monkeypatch.setattr(rekognition, "list_versions", lambda project: [])
    monkeypatch.setattr(iam, "update_grants", lambda role, change, with_other_policies=False: None)
    monkeypatch.setattr(iam, "read_grants", lambda role, with_other_policies=False: GrantPolicy())
    monkeypatch.setattr(iam, "write_grants", lambda role, policy: None)
    monkeypatch.setattr(dynamodb, "lock_holder", lambda environment: None)
    # The lock and the leases: always free here.
    monkeypatch.setattr(dynamodb, "start", lambda record, replacing=None: True)
    monkeypatch.setattr(dynamodb, "hold", lambda record, versions: True)
    monkeypatch.setattr(dynamodb, "claim_stop", lambda version, execution: True)
    monkeypatch.setattr(dynamodb, "end_stop", lambda version, execution: None)
    monkeypatch.setattr(events, "publish", lambda detail_type, detail: False)
    return recorder


def config() -> Config:
    return parse_config(CONFIG)


def role(field: str) -> str:
    return str(getattr(config().target_roles, field))


def test_each_step_goes_through_exactly_the_target_roles_that_trust_it(recorder: Recorder) -> None:
    cfg = config()
    plan = validate_and_plan({"environment": "prod", "modelVersionArn": V2}, "exec-1", "2024-01-01T00:00:00+00:00", cfg)
    used: dict[str, set[tuple[str, str]]] = {"plan": recorder.take()}
    plan = take_environment(plan)
    used["take-environment"] = recorder.take()

    smoke_test(plan, PROD_A, Grant(added_by_this_execution=False, granted_at=None))
    used["smoke-test"] = recorder.take()
    rotate_pointer(plan, PROD_A)
    used["rotate-pointer"] = recorder.take()
    watch_alarms(plan, None)
    used["watch-alarms"] = recorder.take()
    retire_superseded(plan, cfg)
    used["retire"] = recorder.take()
    # A promotion of a version that was not running, failed after prod's pointers moved.
    failed = plan.with_pointers({PROD_A: None, PROD_B: V1}).model_copy(update={"status_at_plan": "STOPPED"})
    compensate(failed, cfg, {"Error": "SmokeTestFailed", "Cause": ""})
    used["compensate"] = recorder.take()
    drift.read_all_pointers(cfg)
    used["detect-drift"] = recorder.take()
    # The API's dry run reads what the plan step reads, and every environment's pointers.
    dry_run(PromotionRequest(environment="prod", model_version_arn=V2), cfg, "2024-01-01T00:00:00+00:00")
    used["api"] = recorder.take()

    reader, writer, alarms = role("parameter_reader"), role("parameter_writer"), role("alarm_reader")
    assert used == {
        "plan": {("read a pointer", reader), ("check alarms exist", alarms)},  # qa's (requires: qa); prod's alarms
        "take-environment": {("read a pointer", reader)},  # prod's accounts, under the lock
        "smoke-test": {("call the model", role("smoke_test"))},
        "rotate-pointer": {("write a pointer", writer)},
        "watch-alarms": {("read alarms", alarms)},
        "retire": {("read a pointer", reader)},  # is v1 live in another environment?
        "compensate": {("read a pointer", writer), ("write a pointer", writer), ("read a pointer", reader)},
        "detect-drift": {("read a pointer", reader)},
        "api": {("read a pointer", reader), ("check alarms exist", alarms)},
    }
    # The IAM model trusts each step in exactly the target roles it goes through, and no other (the copy
    # environments' roles: test_each_copy_step_goes_through_exactly_the_model_roles_that_trust_it).
    for short, calls in used.items():
        names = {name for _, name in calls}
        trusted_by = {role(field) for field in iam_model.target_roles_of(short) if field not in COPY_ROLES}
        assert names == trusted_by, f"{short} goes through {sorted(names)}, is trusted by {sorted(trusted_by)}"
    trusted = {
        short
        for field, callers in iam_model.TARGET_ROLE_CALLERS.items()
        if field not in COPY_ROLES
        for short in callers
    }
    assert trusted == set(used), "a control-plane role that a target role trusts was not exercised here"


COPY_ROLES = ("model_copier", "model_reader", "model_retirer")
COPY_RENAMED = {"modelCopier": "acme-copier", "modelReader": "acme-copy-reader", "modelRetirer": "acme-retirer"}


def test_each_copy_step_goes_through_exactly_the_model_roles_that_trust_it(
    recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A copy environment (strategy: copy): which target role each step finds, copies, starts, stops and
    deletes the copies through."""
    from mlpromote.aws.rekognition import CopyDescription
    from mlpromote.phases.model import check_model_status, start_model
    from mlpromote.phases.pointers import confirm_serving

    copies: dict[str, str] = {}  # account -> status of its copy of v2; v1's copies run

    def copy_of(account: str, name: str) -> CopyDescription | None:
        if name == "v1":
            arn = f"arn:aws:rekognition:us-east-1:{account}:project/tools/version/v1/1"
            return CopyDescription(arn, "RUNNING", "", V1, 0.0)
        if account not in copies:
            return None
        arn = f"arn:aws:rekognition:us-east-1:{account}:project/tools/version/v2/2"
        return CopyDescription(arn, copies[account], "", V2, 4102444800.0)

    def find_project(chain: tuple[str, ...], project: str) -> str:
        recorder.note("find a copy", chain[0])
        return f"arn:aws:rekognition:us-east-1:{chain[0].split(':')[4]}:project/{project}/1"

    def describe_named(chain: tuple[str, ...], project: str, name: str) -> CopyDescription | None:
        return copy_of(chain[0].split(":")[4], name)

    def copy_version(chain: tuple[str, ...], *args: Any) -> str:
        recorder.note("copy", chain[0])
        copies[chain[0].split(":")[4]] = "COPYING_COMPLETED"
        return "copied"

    def start(chain: tuple[str, ...], arn: str, *args: Any) -> None:
        recorder.note("start a copy", chain[0])
        copies[chain[0].split(":")[4]] = "RUNNING"

    def stop(chain: tuple[str, ...], arn: str) -> None:
        recorder.note("stop a copy", chain[0])

    def delete(chain: tuple[str, ...], arn: str) -> None:
        recorder.note("delete a copy", chain[0])

    def list_copies(chain: tuple[str, ...], project: str) -> list[CopyDescription]:
        recorder.note("find a copy", chain[0])
        return []

    monkeypatch.setattr(rekognition, "find_project", find_project)
    monkeypatch.setattr(rekognition, "describe_named", describe_named)
    monkeypatch.setattr(rekognition, "copy_version", copy_version)
    monkeypatch.setattr(rekognition, "start_version_as", start)
    monkeypatch.setattr(rekognition, "stop_version_as", stop)
    monkeypatch.setattr(rekognition, "delete_version_as", delete)
    monkeypatch.setattr(rekognition, "list_copies", list_copies)
    monkeypatch.setattr(rekognition, "put_project_policy", lambda *args: None)
    monkeypatch.setattr(rekognition, "delete_project_policy", lambda *args: True)
    data = {
        **CONFIG,
        "environments": {**CONFIG["environments"], "prod": {"accounts": [PROD_A, PROD_B], "strategy": "copy"}},
        "targetRoles": {**RENAMED, **COPY_RENAMED},
    }
    cfg = parse_config(data)
    for account in (PROD_A, PROD_B):  # prod's accounts point at their copies of v1
        monkeypatch.setitem(POINTERS, account, f"arn:aws:rekognition:us-east-1:{account}:project/tools/version/v1/1")
    plan = validate_and_plan({"environment": "prod", "modelVersionArn": V2}, "exec-1", "2024-01-01T00:00:00+00:00", cfg)
    plan = take_environment(plan).model_copy(update={"locked_at": "2024-01-01T00:00:00+00:00"})
    recorder.take()
    used: dict[str, set[tuple[str, str]]] = {}
    start_model(plan)
    used["start-model"] = recorder.take()
    copying = ModelStart(started_by_this_execution=True, started_at=stamp(), status="COPYING", wait_seconds=1)
    check_model_status(plan, copying)
    used["check-model"] = recorder.take()
    confirm_serving(plan)
    used["confirm-serving"] = recorder.take()
    rotate_pointer(plan, PROD_A)
    used["rotate-pointer"] = {call for call in recorder.take() if call[0] != "write a pointer"}
    with pytest.raises(CopiesBusy):  # v1's copies ran: stopped now, deleted by the retry once stopped
        retire_superseded(plan.model_copy(update={"delete_superseded_copies": True}), cfg)
    used["retire"] = recorder.take()
    copies.update({PROD_A: "STOPPED", PROD_B: "STOPPED"})  # this promotion's copies, stopped: deleted
    compensate(plan, cfg, {"Error": "SmokeTestFailed", "Cause": ""})
    used["compensate"] = {call for call in recorder.take() if "pointer" not in call[0]}
    drift.read_all_copies(cfg)
    used["detect-drift"] = recorder.take()
    dry_run(PromotionRequest(environment="prod", model_version_arn=V2), cfg, "2024-01-01T00:00:00+00:00")
    used["api"] = {call for call in recorder.take() if call[1] in COPY_RENAMED.values()}

    name = dict(zip(COPY_ROLES, COPY_RENAMED.values(), strict=True))
    copier, reader, retirer = name["model_copier"], name["model_reader"], name["model_retirer"]
    assert used == {
        "start-model": {("find a copy", copier), ("copy", copier)},
        "check-model": {("find a copy", copier), ("start a copy", copier)},
        "confirm-serving": {("find a copy", reader)},
        "rotate-pointer": {("find a copy", reader)},
        "retire": {("find a copy", retirer), ("stop a copy", retirer)},
        "compensate": {("find a copy", retirer), ("delete a copy", retirer)},
        "detect-drift": {("find a copy", reader)},
        "api": {("find a copy", reader)},  # the dry run observes what drift detection does
    }
    for short, calls in used.items():
        names = {who for _, who in calls}
        trusted_by = {name[field] for field in iam_model.target_roles_of(short) if field in COPY_ROLES}
        assert names == trusted_by, f"{short} goes through {sorted(names)}, is trusted by {sorted(trusted_by)}"
    trusted = {short for field in COPY_ROLES for short in iam_model.TARGET_ROLE_CALLERS[field]}
    assert trusted == set(used)


def test_the_plan_carries_the_roles_the_later_steps_use() -> None:
    cfg = config()
    fields = PromotionPlan.model_fields
    for field in TargetRoles.model_fields:
        assert f"{field}_role_name" in fields, f"the plan does not carry targetRoles.{field}"
    # A plan written before the roles were split (in flight during an upgrade) still parses.
    assert fields["parameter_reader_role_name"].default == "mlpromote-parameter-reader"
    assert fields["alarm_reader_role_name"].default == "mlpromote-alarm-reader"
    assert cfg.target_roles.parameter_reader == "acme-pointer-reader"


def test_every_target_role_has_its_callers_and_a_policy() -> None:
    cfg = config()
    assert set(iam_model.TARGET_ROLE_CALLERS) == set(TargetRoles.model_fields)
    for field, callers in iam_model.TARGET_ROLE_CALLERS.items():
        assert callers and set(callers) <= set(iam_model.CONTROL_PLANE_ROLES), field
        assert iam_model.target_role_policy(cfg, field, PROD_A)["Statement"], field
    reader = iam_model.parameter_reader_policy(cfg, PROD_A)["Statement"]
    assert [s["Action"] for s in reader] == [["ssm:GetParameter"]]
    # Every parameter under parameterPathPrefix, as templates/target-account.yaml allows.
    assert reader[0]["Resource"] == [f"arn:aws:ssm:us-east-1:{PROD_A}:parameter/mlpromote/*"]
    [writer] = iam_model.parameter_writer_policy(cfg, PROD_A)["Statement"]
    assert not any(a.startswith("cloudwatch:") for a in writer["Action"])
    [alarms] = iam_model.alarm_reader_policy()["Statement"]
    assert alarms["Action"] == "cloudwatch:DescribeAlarms"


def test_target_role_defaults_and_one_name_per_job() -> None:
    defaults = parse_config({**CONFIG, "targetRoles": {}}).target_roles
    assert defaults.model_dump(by_alias=True) == {
        "smokeTest": "mlpromote-smoke-test",
        "parameterReader": "mlpromote-parameter-reader",
        "parameterWriter": "mlpromote-parameter-writer",
        "alarmReader": "mlpromote-alarm-reader",
        "modelCopier": "mlpromote-model-copier",
        "modelReader": "mlpromote-model-reader",
        "modelRetirer": "mlpromote-model-retirer",
    }
    with pytest.raises(InvalidConfig, match=r"targetRoles: .*parameterReader and parameterWriter are both"):
        parse_config({**CONFIG, "targetRoles": {"parameterReader": "mlpromote-parameter-writer"}})
