"""The copy strategy (issue 12 item 3): a `strategy: copy` environment's accounts each run their own copy of
the promoted version. Promoted, rolled back and compensated on the emulator; the world asserted: pointers
(by the source version they copy), grants, each account's copies, and the source project's policies."""

from __future__ import annotations

import json
from typing import Any

from mlpromote_emulator import moto_adaptations as adapt
from mlpromote_emulator.scenario import PromotionSpec
from mlpromote_emulator.world import copy_arn, project_arn

COPY = {"environments": {"prod": {"strategy": "copy"}}}
A, B = "333333333333", "444444444444"


def _policies(emu: Any) -> dict[str, Any] | None:
    """The ML account's project policies on tools (None: none)."""
    return adapt.project_policy_document(project_arn(emu.config, "tools"))


def test_a_copy_environment_is_promoted_then_rolled_back(worlds: Any) -> None:
    with worlds.emulator(config=COPY) as emu:
        before = emu.world()
        assert before["grants"]["prod"] == []  # nothing is granted to a copy environment
        assert before["copies"] == {A: {"tools/v1": "RUNNING"}, B: {"tools/v1": "RUNNING"}}

        promoted = emu.promote(PromotionSpec(environment="prod", version="tools/v2", reason="passed QA"))
        assert promoted.status == "SUCCEEDED", f"{promoted.error}: {promoted.cause}"
        assert promoted.output["granted"] == [] and promoted.output["revoked"] == []
        assert promoted.output["stopped"] == ["tools/v1: copy stopped in 2 accounts"]
        after = emu.world()
        assert after["parameters"]["prod"] == {"tools": {A: "tools/v2", B: "tools/v2"}}
        assert after["grants"]["prod"] == []
        assert after["copies"] == {
            A: {"tools/v1": "STOPPED", "tools/v2": "RUNNING"},
            B: {"tools/v1": "STOPPED", "tools/v2": "RUNNING"},
        }
        # The ML account's versions are untouched, and the project policy went once the copies were done.
        assert after["versions"] == before["versions"]
        assert _policies(emu) is None
        # Each pointer names the account's own copy.
        for account in (A, B):
            pointer = adapt.parameter_value(account, emu.config.region, "/mlpromote/tools/model-arn")
            assert pointer and pointer.split(":")[4] == account and "/version/v2/" in pointer

        rolled_back = emu.promote(PromotionSpec(environment="prod", rollback=True, reason="error rate up"))
        assert rolled_back.status == "SUCCEEDED", f"{rolled_back.error}: {rolled_back.cause}"
        assert rolled_back.output["version"] == "tools/v1"  # the ML account's source version
        after = emu.world()
        assert after["parameters"]["prod"] == {"tools": {A: "tools/v1", B: "tools/v1"}}
        assert after["copies"] == {
            A: {"tools/v1": "RUNNING", "tools/v2": "STOPPED"},
            B: {"tools/v1": "RUNNING", "tools/v2": "STOPPED"},
        }
        assert _policies(emu) is None
        # qa (share) is as it was.
        assert after["parameters"]["qa"] == before["parameters"]["qa"]
        assert after["grants"]["qa"] == before["grants"]["qa"]


def test_retire_deletes_the_superseded_copies_with_delete_superseded_copies(worlds: Any) -> None:
    config = {"environments": {"prod": {"strategy": "copy", "deleteSupersededCopies": True}}}
    with worlds.emulator(config=config) as emu:
        promoted = emu.promote(PromotionSpec(environment="prod", version="tools/v3"))
        assert promoted.status == "SUCCEEDED", f"{promoted.error}: {promoted.cause}"
        assert promoted.output["stopped"] == ["tools/v1: copy deleted in 2 accounts"]
        # A TRAINING_COMPLETED version is copied as it is; the copies run, the source does not.
        after = emu.world()
        assert after["copies"] == {A: {"tools/v3": "RUNNING"}, B: {"tools/v3": "RUNNING"}}
        assert after["versions"]["tools/v3"] == "TRAINING_COMPLETED"
        assert after["parameters"]["prod"] == {"tools": {A: "tools/v3", B: "tools/v3"}}


def test_a_failed_smoke_test_in_one_account_undoes_the_copies_this_promotion_made(worlds: Any) -> None:
    """Compensation: pointers unchanged, this promotion's copies stopped and deleted in every account, the
    copies the accounts served before still running, the source project's policy gone."""
    fault = {
        "service": "rekognition",
        "operation": "DetectCustomLabels",
        "account": B,
        "error": "AccessDeniedException",
    }
    with worlds.emulator(config=COPY) as emu:
        before = emu.world()
        emu.inject(worlds.scenario(faults=[fault]).faults)
        failed = emu.promote(PromotionSpec(environment="prod", version="tools/v2"))
        assert failed.status == "FAILED"
        assert failed.error == "SmokeTestAccessDenied", failed.cause
        assert failed.compensation is not None and failed.compensation["stopped"] is True
        after = emu.world()
        assert after["parameters"] == before["parameters"]
        assert after["grants"] == before["grants"]
        assert after["copies"] == before["copies"] == {A: {"tools/v1": "RUNNING"}, B: {"tools/v1": "RUNNING"}}
        assert _policies(emu) is None


def test_promoting_what_a_copy_environment_serves_again_changes_nothing_it_serves(worlds: Any) -> None:
    """Every account already runs a copy of v1 and points at it: no copy is made, nothing is stopped."""
    with worlds.emulator(config=COPY) as emu:
        before = emu.world()
        again = emu.promote(PromotionSpec(environment="prod", version="tools/v1"))
        assert again.status == "SUCCEEDED", f"{again.error}: {again.cause}"
        assert again.output["started"] == [] and again.output["stopped"] == []
        after = emu.world()
        assert after["parameters"] == before["parameters"] and after["copies"] == before["copies"]
        assert _policies(emu) is None  # nothing was copied, so nothing was shared


def test_the_copy_is_refused_without_the_project_policy(worlds: Any) -> None:
    """CopyProjectVersion across accounts needs the source project's policy to allow the caller and the
    version, as on AWS: without it AccessDeniedException; a policy for another version does not do."""
    import boto3
    from botocore.exceptions import ClientError

    from mlpromote_emulator.world import _in_account

    with worlds.emulator(config=COPY) as emu:
        region, source_project = emu.config.region, project_arn(emu.config, "tools")
        v2, v3 = emu.names.arn("tools/v2", emu.config), emu.names.arn("tools/v3", emu.config)
        target = _in_account(A, region, "rekognition")
        destination = target.describe_projects(ProjectNames=["tools"])["ProjectDescriptions"][0]["ProjectArn"]

        def copy(version: str, name: str) -> Any:
            return target.copy_project_version(
                SourceProjectArn=source_project,
                SourceProjectVersionArn=version,
                DestinationProjectArn=destination,
                VersionName=name,
                OutputConfig={"S3Bucket": f"mlpromote-copies-{A}-{region}"},
            )

        try:
            copy(v2, "v2")
            raise AssertionError("copied without a project policy")
        except ClientError as error:
            assert error.response["Error"]["Code"] == "AccessDeniedException"
        ml = boto3.client("rekognition", region_name=region)
        only_v3 = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": [A]},
                    "Action": "rekognition:CopyProjectVersion",
                    "Resource": v3,
                }
            ],
        }
        ml.put_project_policy(ProjectArn=source_project, PolicyName="p", PolicyDocument=json.dumps(only_v3))
        try:
            copy(v2, "v2")
            raise AssertionError("copied a version the policy does not name")
        except ClientError as error:
            assert error.response["Error"]["Code"] == "AccessDeniedException"
        arn = copy(v3, "v3")["ProjectVersionArn"]
        status = target.describe_project_versions(ProjectArn=destination, VersionNames=["v3"])
        [description] = status["ProjectVersionDescriptions"]
        assert description["ProjectVersionArn"] == arn and description["Status"] == "COPYING_IN_PROGRESS"
        assert description["SourceProjectVersionArn"] == v3


def test_project_policies_follow_rekognitions_revision_ids_and_limits(worlds: Any) -> None:
    import boto3
    from botocore.exceptions import ClientError

    def code(call: Any) -> str:
        try:
            call()
        except ClientError as error:
            return str(error.response["Error"]["Code"])
        return "no error"

    with worlds.emulator(config=COPY) as emu:
        ml = boto3.client("rekognition", region_name=emu.config.region)
        project, v2 = project_arn(emu.config, "tools"), emu.names.arn("tools/v2", emu.config)
        document = json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": A},
                        "Action": "rekognition:CopyProjectVersion",
                        "Resource": v2,
                    }
                ],
            }
        )
        revision = ml.put_project_policy(ProjectArn=project, PolicyName="p0", PolicyDocument=document)[
            "PolicyRevisionId"
        ]
        # The same name again needs its current revision id; a stale or made-up one is refused.
        put = ml.put_project_policy
        assert code(lambda: put(ProjectArn=project, PolicyName="p0", PolicyDocument=document)) == (
            "ResourceAlreadyExistsException"
        )
        assert (
            code(lambda: put(ProjectArn=project, PolicyName="p0", PolicyDocument=document, PolicyRevisionId="abc"))
            == "InvalidPolicyRevisionIdException"
        )
        assert (
            code(lambda: put(ProjectArn=project, PolicyName="new", PolicyDocument=document, PolicyRevisionId=revision))
            == "InvalidPolicyRevisionIdException"
        )
        newer = put(ProjectArn=project, PolicyName="p0", PolicyDocument=document, PolicyRevisionId=revision)
        assert newer["PolicyRevisionId"] != revision
        # Only rekognition:CopyProjectVersion; Effect, Principal, Action and Resource; 2,000 characters.
        wider = document.replace("rekognition:CopyProjectVersion", "rekognition:DetectCustomLabels")
        assert code(lambda: put(ProjectArn=project, PolicyName="w", PolicyDocument=wider)) == (
            "MalformedPolicyDocumentException"
        )
        assert code(lambda: put(ProjectArn=project, PolicyName="l", PolicyDocument=" " * 2001)) == (
            "InvalidParameterException"
        )
        # At most 5 per project.
        for n in range(1, 5):
            put(ProjectArn=project, PolicyName=f"p{n}", PolicyDocument=document)
        assert (
            code(lambda: put(ProjectArn=project, PolicyName="p5", PolicyDocument=document)) == "LimitExceededException"
        )
        listed = ml.list_project_policies(ProjectArn=project)["ProjectPolicies"]
        assert [p["PolicyName"] for p in listed] == ["p0", "p1", "p2", "p3", "p4"]
        # Deleting with a stale revision id is refused; with the current one it goes.
        assert (
            code(lambda: ml.delete_project_policy(ProjectArn=project, PolicyName="p0", PolicyRevisionId=revision))
            == "InvalidPolicyRevisionIdException"
        )
        ml.delete_project_policy(ProjectArn=project, PolicyName="p0", PolicyRevisionId=newer["PolicyRevisionId"])
        assert code(lambda: ml.delete_project_policy(ProjectArn=project, PolicyName="p0")) == (
            "ResourceNotFoundException"
        )


def test_drift_reports_a_pointer_to_a_stopped_copy_and_an_idle_copy(worlds: Any) -> None:
    """Drift understands copies: a pointer to a copy that is not RUNNING, and a RUNNING copy nobody points at
    (it costs its inference units); a copy environment is granted nothing, so no PointerWithoutGrant."""
    world = {
        "versions": {"tools/v1": {"status": "STOPPED"}},  # the ML account's v1 runs nowhere: not idle
        "copies": {A: {"tools/v1": "STOPPED", "tools/v2": "RUNNING"}},
    }
    with worlds.emulator(config=COPY, world=world) as emu:
        payload, failed = emu.invoke("DetectDriftFunction", json.dumps({"source": "test"}).encode())
        assert not failed, payload
        findings = json.loads(payload)["findings"]
        copy_v1 = adapt.parameter_value(A, emu.config.region, "/mlpromote/tools/model-arn")
        assert [(f["kind"], f["environment"], f["account"], f["version"]) for f in findings] == [
            ("PointerToNotRunning", "prod", A, copy_v1),
            ("IdleVersion", None, None, copy_arn(emu.config, A, emu.names.arn("tools/v2", emu.config))),
        ]
        assert findings[0]["detail"] == (
            f"/mlpromote/tools/model-arn in {A} points at tools/v1, which is STOPPED; applications there cannot call it"
        )
        assert findings[1]["detail"].startswith(f"tools/v2 (the copy in account {A}) is RUNNING but no environment's")
        assert "USD 4.00 per hour" in findings[1]["detail"]


def test_an_alarm_in_the_first_wave_of_a_copy_environment_undoes_every_copy_this_promotion_made(worlds: Any) -> None:
    """Waves and copies together: prod switches A, then B. A's alarm during wave 1's bake puts A back on its
    copy of v1; B never switched; the copies of v2 this promotion made in both accounts (the model phase copies
    into every account before any wave) are stopped and deleted; v1's copies still run."""
    config = {
        "environments": {
            "prod": {
                "strategy": "copy",
                "rollbackAlarms": ["HighErrorRate"],
                "rollout": [{"accounts": 1, "bakeMinutes": 15}, {"percent": 100}],
            }
        }
    }
    world = {
        "alarms": [
            {"account": A, "name": "HighErrorRate", "alarmAt": 600},
            {"account": B, "name": "HighErrorRate"},
        ]
    }
    with worlds.emulator(config=config, world=world) as emu:
        before = emu.world()
        result = emu.promote(PromotionSpec(environment="prod", version="tools/v2", reason="waves of copies"))
        assert result.status == "FAILED" and result.error == "RolledBackOnAlarm", f"{result.error}: {result.cause}"
        assert f"HighErrorRate in {A}" in result.cause and "wave 1 of prod" in result.cause
        assert result.waves == [{"accounts": [A], "status": "putBack"}, {"accounts": [B], "status": "notStarted"}]
        after = emu.world()
        assert after["parameters"]["prod"] == before["parameters"]["prod"] == {"tools": {A: "tools/v1", B: "tools/v1"}}
        assert after["copies"] == {A: {"tools/v1": "RUNNING"}, B: {"tools/v1": "RUNNING"}}
        assert after["grants"]["prod"] == []
        assert _policies(emu) is None
        for account in (A, B):  # each pointer still names the account's own copy of v1
            pointer = adapt.parameter_value(account, emu.config.region, "/mlpromote/tools/model-arn")
            assert pointer == copy_arn(emu.config, account, emu.names.arn("tools/v1", emu.config))
