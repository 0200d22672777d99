"""An in-memory world behind the AWS adapters, for testing each phase's branches without moto.

`FakeWorld` replaces the adapter functions the phases call (mlpromote.aws.*) with ones that read and
write plain dictionaries: each account's pointer, each version's status, each access role's grants,
the promotions table (lock, leases, records), alarms, the model's answers, executions' endings and
the events published. A test states the world it starts from, calls one phase function, and
asserts the world it left (and, for a refusal, that nothing was written). The workflow's wiring
(the ASL, the handlers, moto's services) is tested by the emulator runs in tests/workflow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from mlpromote.aws import cloudwatch, dynamodb, events, iam, rekognition, sns, ssm, stepfunctions
from mlpromote.aws.rekognition import VersionDescription
from mlpromote.config import Config, parse_config
from mlpromote.grants import GrantPolicy
from mlpromote.history import PromotionRecord, record_key
from mlpromote.plan import PromotionPlan

ML, QA, PROD_A, PROD_B = "111111111111", "222222222222", "333333333333", "444444444444"
PARAMETER = "/mlpromote/tools/model-arn"
PROJECT_ARN = f"arn:aws:rekognition:us-east-1:{ML}:project/tools/1700000000000"
CONFIG: dict[str, Any] = {
    "region": "us-east-1",
    "mlAccount": ML,
    "environments": {
        "qa": {"accounts": [QA]},
        "prod": {"accounts": [PROD_A, PROD_B], "requires": "qa", "rollbackAlarms": ["Errors"], "bakeMinutes": 10},
    },
    "projects": {
        "tools": {
            "parameterName": PARAMETER,
            "smokeTest": {"images": [f"s3://mlpromote-smoke-{ML}/tools/hammer.jpg"], "expectLabels": ["hammer"]},
        }
    },
}


def version(name: str) -> str:
    return f"arn:aws:rekognition:us-east-1:{ML}:project/tools/version/{name}/1700000001000"


V1, V2, V3 = version("v1"), version("v2"), version("v3")
EXECUTION = "arn:aws:states:us-east-1:111111111111:execution:mlpromote-promote-model:this"
OTHER = "arn:aws:states:us-east-1:111111111111:execution:mlpromote-promote-model:other"


def config(**environment_changes: Any) -> Config:
    data: dict[str, Any] = {**CONFIG, "environments": {k: dict(v) for k, v in CONFIG["environments"].items()}}
    data["environments"]["prod"].update(environment_changes)
    return parse_config(data)


def role_account(role_arn: str) -> str:
    return role_arn.split(":")[4]


@dataclass
class FakeWorld:
    # account -> what its parameter holds (None: no parameter)
    pointers: dict[str, str | None] = field(default_factory=dict)
    # version ARN -> status (absent: the version does not exist)
    versions: dict[str, str] = field(default_factory=dict)
    # access role name -> its grants
    grants: dict[str, GrantPolicy] = field(default_factory=dict)
    # account -> alarm name -> in ALARM?
    alarms: dict[str, dict[str, bool]] = field(default_factory=dict)
    # version ARN -> what DetectCustomLabels answers: label -> confidence, or an exception to raise
    answers: dict[str, dict[str, float] | Exception] = field(default_factory=dict)
    # execution ARN -> (status, error, cause); absent: RUNNING
    executions: dict[str, tuple[str, str | None, str | None]] = field(default_factory=dict)
    locks: dict[str, dict[str, Any]] = field(default_factory=dict)
    leases: dict[str, dict[str, Any]] = field(default_factory=dict)
    records: dict[tuple[str, str], PromotionRecord] = field(default_factory=dict)
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    started: list[str] = field(default_factory=list)
    stopped: list[str] = field(default_factory=list)
    writes: list[str] = field(default_factory=list)
    # account -> what its pointer write or its smoke test raises (the other accounts' go through)
    write_failures: dict[str, Exception] = field(default_factory=dict)
    smoke_failures: dict[str, Exception] = field(default_factory=dict)

    # --- what a test reads back ------------------------------------------------------------

    def granted(self, role: str) -> list[str]:
        return self.grants.get(role, GrantPolicy()).granted_versions()

    def holders(self, version: str) -> set[str]:
        return set(self.leases.get(version, {}).get("holders", set()))

    def record_of(self, execution: str) -> PromotionRecord:
        return next(r for r in self.records.values() if r.promotion_id == execution)

    # --- the promotions table, with the conditions dynamodb.py writes -----------------------

    def _may_lease(self, version: str, execution: str) -> bool:
        stopping = self.leases.get(version, {}).get("stoppingBy")
        return stopping in (None, execution)

    def _lease(self, version: str, execution: str) -> None:
        self.leases.setdefault(version, {}).setdefault("holders", set()).add(execution)

    def _put_record(self, record: PromotionRecord) -> None:
        self.records[
            (record.environment, record_key(record.environment, record.started_at, record.promotion_id)["sk"])
        ] = record

    def start(self, record: PromotionRecord, replacing: dict[str, Any] | None = None) -> bool:
        lock = self.locks.get(record.environment)
        taken = lock is not None if replacing is None else (lock or {}).get("holder") != replacing["holder"]
        if taken or not self._may_lease(record.version, record.promotion_id):
            return False
        self.writes.append(f"lock {record.environment}")
        self.locks[record.environment] = {
            "holder": record.promotion_id,
            "since": record.started_at,
            "recordKey": record_key(record.environment, record.started_at, record.promotion_id)["sk"],
            "leases": [record.version],
        }
        self._put_record(record)
        self._lease(record.version, record.promotion_id)
        return True

    def hold(self, record: PromotionRecord, versions: list[str]) -> bool:
        leased = sorted({record.version, *versions})
        lock = self.locks.get(record.environment)
        if (lock or {}).get("holder") != record.promotion_id:
            return False
        if not all(self._may_lease(v, record.promotion_id) for v in leased if v != record.version):
            return False
        self._put_record(record)
        lock["leases"] = leased  # type: ignore[index]
        for v in leased:
            self._lease(v, record.promotion_id)
        return True

    def finish(self, record: PromotionRecord, versions: list[str]) -> None:
        self.writes.append(f"finish {record.promotion_id}")
        self._put_record(record)
        if (self.locks.get(record.environment) or {}).get("holder") == record.promotion_id:
            del self.locks[record.environment]
        for v in {record.version, *versions}:
            self.holders(v)  # (reads only)
            self.leases.get(v, {}).get("holders", set()).discard(record.promotion_id)

    def lock_holder(self, environment: str) -> dict[str, Any] | None:
        lock = self.locks.get(environment)
        return dict(lock) if lock else None

    def lease(self, version: str) -> dict[str, Any]:
        item = self.leases.get(version, {})
        return {k: v for k, v in item.items() if v}

    def claim_stop(self, version: str, execution: str) -> bool:
        item = self.leases.setdefault(version, {})
        holders = item.get("holders") or set()
        if (holders and holders != {execution}) or item.get("stoppingBy") not in (None, execution):
            return False
        item["stoppingBy"] = execution
        return True

    def end_stop(self, version: str, execution: str) -> None:
        item = self.leases.get(version, {})
        if item.get("stoppingBy") == execution:
            item["stoppingBy"] = None

    def drop_lease(self, version: str, execution: str) -> None:
        item = self.leases.get(version, {})
        item.get("holders", set()).discard(execution)
        if item.get("stoppingBy") == execution:
            item["stoppingBy"] = None

    def mark_ended(
        self, environment: str, record_sk: str, status: str, ended_at: str, cause: str | None, **kw: Any
    ) -> bool:
        record = self.records.get((environment, record_sk))
        if record is None or record.status != "RUNNING":
            return False
        self.writes.append(f"close {record.promotion_id}")
        self.records[(environment, record_sk)] = record.model_copy(
            update={"status": status, "ended_at": ended_at, "cause": cause, "error": kw.get("error")}
        )
        return True

    def release(self, environment: str, execution: str) -> bool:
        if (self.locks.get(environment) or {}).get("holder") != execution:
            return False
        self.writes.append(f"release {environment}")
        del self.locks[environment]
        return True

    def history(self, environment: str, table: str | None = None) -> list[PromotionRecord]:
        return sorted((r for (env, _), r in self.records.items() if env == environment), key=lambda r: r.started_at)

    # --- the other services ---------------------------------------------------------------------

    def read_pointer(self, role_arn: str, name: str) -> str | None:
        return self.pointers.get(role_account(role_arn))

    def write_pointer(self, role_arn: str, name: str, value: str | None) -> int:
        if role_account(role_arn) in self.write_failures:
            raise self.write_failures[role_account(role_arn)]
        self.writes.append(f"pointer {role_account(role_arn)}")
        self.pointers[role_account(role_arn)] = value
        return 2

    def describe_version(self, project_arn: str, name: str, arn: str) -> VersionDescription:
        from mlpromote.errors import ModelVersionNotFound

        if arn not in self.versions:
            raise ModelVersionNotFound(f"{arn} does not exist")
        status = self.versions[arn]
        return VersionDescription(arn, status, "out of capacity" if status == "FAILED" else "")

    def start_version(self, arn: str, low: int, high: int | None) -> None:
        self.started.append(arn)
        self.versions[arn] = "STARTING"

    def stop_version(self, arn: str) -> None:
        self.stopped.append(arn)
        self.versions[arn] = "STOPPED"

    def update_grants(self, role: str, change: Any, with_other_policies: bool = False) -> GrantPolicy:
        policy = self.read_grants(role, with_other_policies)
        if change(policy):
            self.write_grants(role, policy)
        return policy

    def read_grants(self, role: str, with_other_policies: bool = False) -> GrantPolicy:
        return GrantPolicy(statements=list(self.grants.get(role, GrantPolicy()).statements))

    def write_grants(self, role: str, policy: GrantPolicy) -> None:
        self.writes.append(f"grants {role}")
        self.grants[role] = GrantPolicy(statements=list(policy.statements))

    def detect_custom_labels(self, chain: tuple[str, ...], arn: str, *args: Any, **kwargs: Any) -> dict[str, float]:
        if role_account(chain[0]) in self.smoke_failures:
            raise self.smoke_failures[role_account(chain[0])]
        answer = self.answers.get(arn, {})
        if isinstance(answer, Exception):
            raise answer
        return dict(answer)

    def alarms_in_alarm(self, role_arn: str, names: list[str]) -> list[str]:
        found = self.alarms.get(role_account(role_arn), {})
        return [name for name in names if found.get(name)]

    def missing_alarms(self, role_arn: str, names: list[str]) -> list[str]:
        found = self.alarms.get(role_account(role_arn), {})
        return [name for name in names if name not in found]

    def execution_ending(self, arn: str) -> tuple[str, str | None, str | None]:
        return self.executions.get(arn, ("RUNNING", None, None))

    def execution_status(self, arn: str) -> str:
        return self.execution_ending(arn)[0]

    def execution_history(self, arn: str) -> list[dict[str, Any]]:
        # No state ended in these executions' histories: an aborted one had taken no plan to undo.
        return []

    def publish(self, detail_type: str, detail: dict[str, Any]) -> bool:
        self.events.append((detail_type, detail))
        return True

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        for module, names in {
            ssm: ("read_pointer", "write_pointer"),
            rekognition: ("describe_version", "start_version", "stop_version", "detect_custom_labels"),
            iam: ("update_grants", "read_grants", "write_grants"),
            cloudwatch: ("alarms_in_alarm", "missing_alarms"),
            stepfunctions: ("execution_ending", "execution_status"),
            events: ("publish",),
            dynamodb: (
                "start",
                "hold",
                "finish",
                "lock_holder",
                "lease",
                "claim_stop",
                "end_stop",
                "drop_lease",
                "mark_ended",
                "release",
            ),
        }.items():
            for name in names:
                monkeypatch.setattr(module, name, getattr(self, name))
        monkeypatch.setattr(dynamodb, "records", self.history)
        monkeypatch.setattr(stepfunctions, "history", self.execution_history)
        monkeypatch.setattr(rekognition, "project_arn", lambda project: PROJECT_ARN)
        # Approvals are not part of these plans (requiresApproval is false), but a stray call must not reach AWS.
        monkeypatch.setattr(dynamodb, "approval", lambda key: None)
        monkeypatch.setattr(sns, "publish", lambda *args: False)


def locked_plan(cfg: Config, environment: str, version_arn: str, execution: str = EXECUTION) -> PromotionPlan:
    """The plan as the steps after "Take the environment" see it: validated, then read under the lock."""
    from mlpromote.phases.lock import take_environment
    from mlpromote.phases.plan import validate_and_plan

    request = {"environment": environment, "modelVersionArn": version_arn}
    return take_environment(validate_and_plan(request, execution, "2026-01-01T00:00:00+00:00", cfg))


def granting(*versions: str) -> GrantPolicy:
    policy = GrantPolicy()
    for arn in versions:
        policy.grant(arn)
    return policy


def standard_world(monkeypatch: pytest.MonkeyPatch) -> FakeWorld:
    """qa serves v2, prod v1 (both RUNNING and granted); v3 is trained, not started; no alarm fires."""
    cfg = config()
    world = FakeWorld(
        pointers={QA: V2, PROD_A: V1, PROD_B: V1},
        versions={V1: "RUNNING", V2: "RUNNING", V3: "TRAINING_COMPLETED"},
        grants={cfg.access_role_name("qa"): granting(V2), cfg.access_role_name("prod"): granting(V1)},
        alarms={PROD_A: {"Errors": False}, PROD_B: {"Errors": False}},
        answers={V1: {"hammer": 99.0}, V2: {"hammer": 98.0}, V3: {"hammer": 97.0}},
    )
    world.install(monkeypatch)
    return world
