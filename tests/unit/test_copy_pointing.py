"""A copy environment's plan keeps what each account points at by the source of its copy (mlpromote.serving
.copy_pointing): one group per version, not per account, whatever the number of accounts; values that are
not the account's own copy of an ML account's version are kept as they are."""

from __future__ import annotations

import pytest
from phase_fakes import ML, PROD_A, PROD_B, V1, V2, V3, config, locked_plan, standard_world

from mlpromote.aws import rekognition
from mlpromote.aws.rekognition import VersionDescription
from mlpromote.plan import Pointing, grouped


def copy_of(source: str, account: str, created: int) -> str:
    """A copy's ARN: its source's names, in its own account, with its own creation time."""
    return source.replace(f":{ML}:", f":{account}:").rsplit("/", 1)[0] + f"/{created}"


def test_accounts_on_their_own_copies_are_kept_as_one_group_by_source(monkeypatch: pytest.MonkeyPatch) -> None:
    world = standard_world(monkeypatch)
    world.pointers.update({PROD_A: copy_of(V1, PROD_A, 1700000500000), PROD_B: copy_of(V1, PROD_B, 1700000600000)})
    listed: list[str] = []

    def list_versions(project_arn: str) -> list[VersionDescription]:
        listed.append(project_arn)
        return [VersionDescription(arn=v, status=world.versions[v], status_message="") for v in (V1, V2, V3)]

    monkeypatch.setattr(rekognition, "list_versions", list_versions)
    plan = locked_plan(config(strategy="copy"), "prod", V2)

    assert plan.pointing == [Pointing(version=V1, accounts=[PROD_A, PROD_B], copies=True)]
    assert plan.current == {PROD_A: V1, PROD_B: V1} and plan.on_copies == {PROD_A, PROD_B}
    assert len(listed) == 1  # one listing of the ML account's project, whatever the number of accounts
    # A copy is its account's alone: nothing is leased for it (only the promoted version).
    assert plan.leased_versions == []
    assert world.holders(V1) == set() and world.holders(V2) == {plan.execution}
    # The record and the events say the accounts left v1, grouped once, and that they were copies.
    assert plan.model_dump(mode="json", by_alias=True)["pointing"] == [
        {"version": V1, "accounts": [PROD_A, PROD_B], "copies": True}
    ]
    assert {change.from_version for change in world.record_of(plan.execution).accounts} == {V1}


def test_values_that_are_not_the_accounts_own_copies_are_kept_as_they_are(monkeypatch: pytest.MonkeyPatch) -> None:
    world = standard_world(monkeypatch)
    gone = copy_of(V1, PROD_B, 1700000600000).replace("/version/v1/", "/version/v9/")  # no v9 in the ML account
    world.pointers.update({PROD_A: V1, PROD_B: gone})  # the ML account's v1 itself (shared before); a name ML lacks
    monkeypatch.setattr(
        rekognition,
        "list_versions",
        lambda arn: [VersionDescription(arn=v, status="RUNNING", status_message="") for v in (V1, V2)],
    )
    plan = locked_plan(config(strategy="copy"), "prod", V2)
    assert plan.pointing == [Pointing(version=V1, accounts=[PROD_A]), Pointing(version=gone, accounts=[PROD_B])]
    assert plan.on_copies == set() and plan.leased_versions == sorted([V1, gone])


def test_a_share_environments_groups_are_written_as_before() -> None:
    """`copies` is left out of the JSON when false: a share environment's plan, record and events are unchanged."""
    [group] = grouped({PROD_A: V1, PROD_B: V1})
    assert group.model_dump(mode="json", by_alias=True) == {"version": V1, "accounts": [PROD_A, PROD_B]}
    assert Pointing.model_validate({"version": V1, "accounts": [PROD_A]}).copies is False
