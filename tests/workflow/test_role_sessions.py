"""Every role session in a target account is named after its promotion and carries who asked
(issue 11 C): what CloudTrail there shows of the promotion that moved its pointer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

PROD_A, PROD_B = "333333333333", "444444444444"
REQUESTER = "local-scenario"  # the API's caller in a rehearsal: arn:aws:iam::111111111111:user/local-scenario


def _promote(worlds: Any, project_dir: Path | None = None) -> tuple[Any, list[Any], Any]:
    from mlpromote_emulator import moto_adaptations as adapt
    from mlpromote_emulator.runtime import Emulator
    from mlpromote_emulator.scenario import PromotionSpec

    with Emulator(worlds.scenario(), repo_root=project_dir) as emu:
        result = emu.promote(PromotionSpec(environment="prod", version="tools/v2", reason="passed QA", via="api"))
        # Leave out the sessions the emulator itself used to set the world up.
        issued = [s for s in adapt.issued_sessions if s.session_name != "emulator-seed"]
        return result, issued, emu.world()


def test_the_sessions_that_move_the_pointers_are_named_after_the_promotion_and_carry_the_requester(
    worlds: Any,
) -> None:
    result, issued, world = _promote(worlds)

    assert result.status == "SUCCEEDED", result.as_json()
    assert world["parameters"]["prod"]["tools"] == {PROD_A: "tools/v2", PROD_B: "tools/v2"}
    name = "mlpromote-" + result.execution_arn.rsplit(":", 1)[-1]
    writers = {s for s in issued if s.role_arn.endswith(":role/mlpromote-parameter-writer")}
    assert {(s.role_arn.split(":")[4], s.session_name, s.source_identity) for s in writers} == {
        (PROD_A, name, REQUESTER),
        (PROD_B, name, REQUESTER),
    }
    # Every session of this promotion is named after it; the smoke test's chain, which ends in an
    # access role that does not allow sts:SetSourceIdentity, carries no source identity.
    assert {s.session_name for s in issued} == {name}
    smoke_chain = [
        s for s in issued if ":role/mlpromote-smoke-test" in s.role_arn or ":role/mlpromote-access-" in s.role_arn
    ]
    assert smoke_chain and all(s.source_identity is None for s in smoke_chain)


def test_target_roles_that_do_not_allow_set_source_identity_stop_the_promotion_before_any_change(
    worlds: Any, tmp_path: Path
) -> None:
    from mlpromote_emulator.project import copy_project

    # The target accounts' roles as deployed from a template whose trusts lack sts:SetSourceIdentity.
    stack = copy_project(tmp_path / "stack")
    template = stack / "templates" / "target-account.yaml"
    text = template.read_text(encoding="utf-8")
    assert "Action: [sts:AssumeRole, sts:SetSourceIdentity]" in text
    template.write_text(text.replace("Action: [sts:AssumeRole, sts:SetSourceIdentity]", "Action: sts:AssumeRole"))
    result, issued, world = _promote(worlds, stack)

    assert result.status == "FAILED", result.as_json()
    assert "SetSourceIdentity" in (result.cause or "")
    assert world == worlds.standard
    assert not any(s.role_arn.endswith(":role/mlpromote-parameter-writer") for s in issued)
