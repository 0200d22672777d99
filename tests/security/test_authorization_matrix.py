"""The authorization matrix (tools/authorization_matrix.py): who may do what, by any chain of roles,
over the policies the templates and the workflow produce, evaluated with principalmapper.

Every cell must be as mlpromote promises; the matrix is printed at the end of the test run and
kept in docs/security.md. The mutation tests remove one guard at a time from the real policies
and show the cell it protects flip, so a check that could never fail would be caught.
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools"))

import authorization_matrix as matrix  # noqa: E402

from mlpromote import iam_model  # noqa: E402
from mlpromote.grants import POLICY_NAME, GrantPolicy, statement_for  # noqa: E402

Worlds = list[tuple[matrix.World, list[matrix.Result]]]


@pytest.fixture(scope="module")
def worlds() -> Worlds:
    return matrix.all_results()


@pytest.fixture(scope="module")
def deployed() -> matrix.World:
    return matrix.deployed_world()


@pytest.fixture(scope="module")
def hardened() -> matrix.World:
    return matrix.hardened_world()


def test_every_cell_is_as_promised(worlds: Worlds, request: pytest.FixtureRequest) -> None:
    text = "\n".join(
        f"\n{title} ({world.name} config)\n\n{matrix.table(results, title)}"
        for world, results in worlds
        for title in dict.fromkeys(r.cell.table for r in results)
    )
    cells = sum(len(results) for _, results in worlds)
    request.node.user_properties.append((f"summary: authorization matrix ({cells} cells)", text))
    wrong = [matrix.explain(r) for _, results in worlds for r in results if not r.ok]
    assert not wrong, f"{len(wrong)} of {cells} cells differ from what mlpromote promises:\n" + "\n".join(wrong)


def test_docs_show_the_current_matrix(worlds: Worlds) -> None:
    assert matrix.DOC.exists(), "docs/security.md is missing: run make authorization-matrix"
    committed = matrix.section_of(matrix.DOC.read_text(encoding="utf-8"))
    assert committed is not None, f"docs/security.md has no {matrix.SECTION!r} section: run make authorization-matrix"
    assert committed == matrix.markdown(worlds), (
        "docs/security.md's matrix is out of date: run make authorization-matrix"
    )


# The only control-plane allows beyond a role's job that mlpromote accepts: (capability, role). Each is
# in KNOWN_OVER_BROAD with its reason and listed in docs/security.md. Adding one takes a change here too.
ACCEPTED_CONTROL_PLANE_EXCEPTIONS: set[tuple[str, str]] = set()


def test_no_control_plane_role_may_do_more_than_its_job_but_the_documented_exceptions(worlds: Worlds) -> None:
    flagged = {
        (r.cell.key, r.cell.who)
        for _, results in worlds
        for r in results
        if r.cell.table == matrix.CONTROL_PLANE and matrix._cell_text(r) == "allow (!)"
    }
    beyond = flagged - ACCEPTED_CONTROL_PLANE_EXCEPTIONS
    assert not beyond, f"control-plane allows beyond the job: {sorted(beyond)}; narrow the roles (template.yaml)"
    known = {(key, role) for key, roles in matrix.KNOWN_OVER_BROAD.items() for role in roles}
    assert known == ACCEPTED_CONTROL_PLANE_EXCEPTIONS, (
        "KNOWN_OVER_BROAD (tools/authorization_matrix.py) must list exactly the accepted exceptions"
    )
    documented = matrix.section_of(matrix.DOC.read_text(encoding="utf-8")) or ""
    for key, roles in matrix.KNOWN_OVER_BROAD.items():
        for role, why in roles.items():
            assert len(why.split()) >= 8 and why in documented, f"{key} / {role}: say why, in docs/security.md"


# --- the matrix is built from the real sources ---------------------------------------------------


def test_every_control_plane_role_has_a_job(deployed: matrix.World) -> None:
    """A new role in template.yaml is denied everything until someone writes down its job."""
    roles = {role.label for role in deployed.control_plane_roles()}
    assert roles >= {name for name in iam_model.CONTROL_PLANE_ROLES}, "iam_model's roles missing from template.yaml"
    assert roles == set(matrix.JOBS), (
        f"template.yaml's control-plane roles {sorted(roles)} and the matrix's JOBS {sorted(matrix.JOBS)} differ: "
        "write each new role's job into JOBS (tools/authorization_matrix.py)"
    )


def test_access_roles_are_the_rendered_ones_with_the_grants_the_workflow_wrote(
    deployed: matrix.World, hardened: matrix.World
) -> None:
    for world in (deployed, hardened):
        for environment in world.config.environments:
            role = world.access_role(environment)
            assert role.trust == iam_model.access_role_trust(world.config, environment)
            granted = GrantPolicy.from_document(role.policy(POLICY_NAME)).granted_versions()
            assert granted == [world.current(environment)], f"{world.name} {environment}: {granted}"
    # In the hardened sample, the workflow wrote the endpoint condition into the grant.
    statement = hardened.access_role("prod").policy(POLICY_NAME)["Statement"][0]
    assert statement["Condition"]["StringEquals"]["aws:SourceVpce"] == sorted(
        [matrix.CONSUMER_ENDPOINT, matrix.SMOKE_TEST_ENDPOINT]
    )


def test_every_scp_is_in_the_hardened_world(hardened: matrix.World) -> None:
    attached = {name for scps in hardened.scps.values() for name, _ in scps}
    assert attached == {path.stem for path in matrix.SCP_DIR.glob("*.json")}
    assert attached, "policies/scp/ has no SCP"


def test_templates_resolve_for_the_sample(deployed: matrix.World) -> None:
    plan = deployed.control_role("plan")
    document = json.dumps(plan.policies)
    assert "${" not in document and "Fn::" not in document and '"Ref"' not in document
    assert "arn:aws:dynamodb:us-east-1:111111111111:table/mlpromote-promotions" in document
    writer = deployed.target_role("333333333333", "mlpromote-parameter-writer")
    assert "arn:aws:iam::111111111111:role/mlpromote-control-rotate-pointer" in json.dumps(writer.trust)


# --- mutation tests: remove one guard, see the cell it protects flip ------------------------------


def flip(before_world: matrix.World, after_world: matrix.World, table: str, who: str, what: str) -> None:
    """The cell is as promised before and not after: the guard removed is what made it hold."""
    before = matrix.result(before_world, table, who, what)
    after = matrix.result(after_world, table, who, what)
    assert before.ok, matrix.explain(before)
    # Judged by the promise of the world before: the matrix would report this cell.
    broken = matrix.Result(before.cell, after.verdict)
    assert not broken.ok, f"still {after.verdict} without the guard: {matrix.explain(broken)}"


def _grant_resource(world: matrix.World, environment: str, resource: str) -> matrix.World:
    role = world.access_role(environment)
    document = copy.deepcopy(role.policy(POLICY_NAME))
    for statement in document["Statement"]:
        statement["Resource"] = resource
    return world.with_policy(role.arn, POLICY_NAME, document)


def test_trust_keeps_other_accounts_out(deployed: matrix.World) -> None:
    role = deployed.access_role("prod")
    trust = copy.deepcopy(role.trust)
    trust["Statement"][0]["Principal"]["AWS"].append(f"arn:aws:iam::{matrix.OUTSIDER}:root")
    flip(deployed, deployed.with_role(role.arn, trust=trust), matrix.CONSUMERS, "admin@999999999999", "assume prod's")


def test_trust_keeps_another_environment_out(deployed: matrix.World) -> None:
    role = deployed.access_role("prod")
    trust = copy.deepcopy(role.trust)
    trust["Statement"][0]["Principal"]["AWS"].append("arn:aws:iam::222222222222:root")
    flip(deployed, deployed.with_role(role.arn, trust=trust), matrix.CONSUMERS, "admin@222222222222", "call prod's")


def test_grant_on_one_exact_version(deployed: matrix.World) -> None:
    wildcard = "arn:aws:rekognition:us-east-1:111111111111:project/tools/version/*"
    flip(deployed, _grant_resource(deployed, "qa", wildcard), matrix.CONSUMERS, "admin@222222222222", "call prod's")


def test_retirement_revokes_the_superseded_grant(deployed: matrix.World) -> None:
    role = deployed.access_role("prod")
    document = copy.deepcopy(role.policy(POLICY_NAME))
    document["Statement"].append(statement_for(deployed.version("v1")))
    mutated = deployed.with_policy(role.arn, POLICY_NAME, document)
    flip(deployed, mutated, matrix.CONSUMERS, "admin@333333333333", "call a superseded version")


def test_the_caller_needs_its_own_identity_policy_across_accounts(deployed: matrix.World) -> None:
    """The trust policy (the resource policy of AssumeRole) alone is not enough from another account."""
    admin = deployed.roles["arn:aws:iam::333333333333:role/admin"]
    mutated = deployed.with_policy(admin.arn, "AdministratorAccess", None)
    flip(deployed, mutated, matrix.CONSUMERS, "admin@333333333333", "call prod's")
    # Both hops of the smoke test's chain: the target smoke-test role's own policy is needed too.
    smoke = deployed.target_role("333333333333", "mlpromote-smoke-test")
    mutated = deployed.with_policy(smoke.arn, "mlpromote-smoke-test", None)
    flip(deployed, mutated, matrix.CONSUMERS, "smoke-test@333333333333", "call prod's")


def test_the_target_roles_trust_only_the_control_plane(deployed: matrix.World) -> None:
    writer = deployed.target_role("333333333333", "mlpromote-parameter-writer")
    trust = copy.deepcopy(writer.trust)
    trust["Statement"][0]["Principal"]["AWS"] = "arn:aws:iam::111111111111:root"
    mutated = deployed.with_role(writer.arn, trust=trust)
    flip(deployed, mutated, matrix.CONTROL_PLANE, "admin@111111111111", "write a pointer")


def test_each_target_role_does_one_job(deployed: matrix.World) -> None:
    """The pointer readers cannot write, only the bake reaches the alarms: widen a target role's policy
    (the SCPs off), or its trust and the caller's policy together, and a role that only reads gets more
    than its job."""
    reader = deployed.target_role("333333333333", "mlpromote-parameter-reader")
    document = copy.deepcopy(reader.policy("mlpromote-parameter-reader"))
    document["Statement"][0]["Action"] = ["ssm:GetParameter", "ssm:PutParameter"]
    mutated = deployed.with_policy(reader.arn, "mlpromote-parameter-reader", document)
    # Two guards: the reader's policy, and the SCP model-pointers.json (only the writer writes).
    assert not matrix.result(mutated, matrix.CONTROL_PLANE, "plan", "write a pointer").verdict.allowed
    no_scps = deployed.with_scps({})
    mutated = no_scps.with_policy(reader.arn, "mlpromote-parameter-reader", document)
    flip(no_scps, mutated, matrix.CONTROL_PLANE, "plan", "write a pointer")
    flip(no_scps, mutated, matrix.CONSUMERS, "parameter-reader@333333333333", "write its account's pointer")

    # Assuming a target role takes both its trust and the caller's own policy: each alone keeps the
    # detect-drift role off the writer, and the retirement's off the alarm reader.
    for short, target, what in (
        ("detect-drift", "mlpromote-parameter-writer", "write a pointer"),
        ("retire", "mlpromote-alarm-reader", "read a target account's alarms"),
    ):
        role = deployed.target_role("333333333333", target)
        trust = copy.deepcopy(role.trust)
        trust["Statement"][0]["Principal"]["AWS"] = [
            *_as_list(trust["Statement"][0]["Principal"]["AWS"]),
            f"arn:aws:iam::111111111111:role/mlpromote-control-{short}",
        ]
        may_assume = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": f"arn:aws:iam::*:role/{target}"}],
        }
        caller = deployed.control_role(short).arn
        trusted = deployed.with_role(role.arn, trust=trust)
        allowed = deployed.with_policy(caller, "extra", may_assume)
        flip(trusted, trusted.with_policy(caller, "extra", may_assume), matrix.CONTROL_PLANE, short, what)
        flip(allowed, allowed.with_role(role.arn, trust=trust), matrix.CONTROL_PLANE, short, what)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_a_control_plane_role_gets_nothing_beyond_its_policy(deployed: matrix.World) -> None:
    rotate = deployed.control_role("rotate-pointer")
    extra: dict[str, Any] = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "rekognition:StartProjectVersion", "Resource": "*"}],
    }
    mutated = deployed.with_policy(rotate.arn, "extra", extra)
    flip(deployed, mutated, matrix.CONTROL_PLANE, "rotate-pointer", "start a version")
    # And a role that loses part of its policy can no longer do its job.
    start = deployed.control_role("start-model")
    flip(
        deployed,
        deployed.with_policy(start.arn, "mlpromote-start-model", None),
        matrix.CONTROL_PLANE,
        "start-model",
        "start",
    )


def test_scps_stop_what_the_accounts_own_admins_could_do(deployed: matrix.World) -> None:
    without = deployed.with_scps({})
    flip(deployed, without, matrix.CONTROL_PLANE, "admin@111111111111", "start a version")
    flip(deployed, without, matrix.CONTROL_PLANE, "admin@111111111111", "write grants")
    flip(deployed, without, matrix.CONSUMERS, "admin@333333333333", "write its account's pointer")


@pytest.mark.parametrize(
    ("condition", "who"),
    [
        ("ArnLike", "admin@222222222222 (qa, not listed)"),  # consumerRoleArns -> aws:PrincipalArn
        ("aws:PrincipalOrgID", "vision-app@222222222222 (qa, listed, account left"),  # organizationId
    ],
)
def test_each_trust_condition_holds(hardened: matrix.World, condition: str, who: str) -> None:
    role = hardened.access_role("qa")
    trust = copy.deepcopy(role.trust)
    conditions = trust["Statement"][0]["Condition"]
    if condition in conditions:
        del conditions[condition]
    else:
        del conditions["StringEquals"][condition]
    flip(hardened, hardened.with_role(role.arn, trust=trust), matrix.HARDENED, who, "its environment's version")


def test_the_external_id_holds(hardened: matrix.World) -> None:
    role = hardened.access_role("qa")
    trust = copy.deepcopy(role.trust)
    del trust["Statement"][0]["Condition"]["StringEquals"]["sts:ExternalId"]
    mutated = hardened.with_role(role.arn, trust=trust)
    flip(hardened, mutated, matrix.HARDENED, "vision-app@222222222222 (qa, listed)", "… without the external id")


def test_the_grant_alone_keeps_calls_to_the_endpoints(hardened: matrix.World) -> None:
    no_scps = hardened.with_scps({})
    role = no_scps.access_role("qa")
    document = copy.deepcopy(role.policy(POLICY_NAME))
    for statement in document["Statement"]:
        del statement["Condition"]
    mutated = no_scps.with_policy(role.arn, POLICY_NAME, document)
    flip(no_scps, mutated, matrix.HARDENED, "vision-app@222222222222 (qa, listed)", "… not through an endpoint")


def test_the_scp_alone_keeps_calls_to_the_endpoints(hardened: matrix.World) -> None:
    role = hardened.access_role("qa")
    document = copy.deepcopy(role.policy(POLICY_NAME))
    for statement in document["Statement"]:
        del statement["Condition"]
    unconditional = hardened.with_policy(role.arn, POLICY_NAME, document)
    scps = {
        account: [(name, doc) for name, doc in attached if name != "private-model-calls"]
        for account, attached in hardened.scps.items()
    }
    flip(
        unconditional,
        unconditional.with_scps(scps),
        matrix.HARDENED,
        "vision-app@222222222222 (qa, listed)",
        "… not through an endpoint",
    )


def test_regenerating_touches_only_the_matrix_section() -> None:
    document = "# Security\n\nintro\n\n## Threat model\n\nwho\n\n## Authorization matrix\n\nold\n\n## SCPs\n\nhow\n"
    written = matrix.with_section(document, "new\n")
    assert written == document.replace("\nold\n", "\nnew\n")
    assert matrix.section_of(written) == "new\n"
    assert matrix.with_section(written, "new\n") == written
    assert matrix.with_section("# Security\n", "new\n") == "# Security\n\n## Authorization matrix\n\nnew\n"


def test_the_grant_allows_one_action(deployed: matrix.World) -> None:
    """A grant of rekognition:* would let the consumers delete versions, were it not for the access
    roles' permissions boundary; the ML account's SCP still keeps them from starting any, and without
    both they could."""
    role = deployed.access_role("qa")
    document = copy.deepcopy(role.policy(POLICY_NAME))
    for statement in document["Statement"]:
        statement["Action"] = "rekognition:*"
    wide = deployed.with_policy(role.arn, POLICY_NAME, document)
    assert not matrix.result(wide, matrix.CONSUMERS, "admin@222222222222", "delete its version").verdict.allowed
    wide = wide.with_role(role.arn, boundary=None)
    flip(deployed, wide, matrix.CONSUMERS, "admin@222222222222", "delete its version")
    for statement in document["Statement"]:
        statement["Resource"] = "*"
    wider = deployed.with_policy(role.arn, POLICY_NAME, document).with_role(role.arn, boundary=None)
    assert not matrix.result(wider, matrix.CONSUMERS, "admin@222222222222", "start a version").verdict.allowed
    flip(deployed, wider.with_scps({}), matrix.CONSUMERS, "admin@222222222222", "start a version")
