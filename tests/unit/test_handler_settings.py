"""The handler layer reads the function's environment and hands it in: the table to the adapters,
the config and the approval topic to the domain, which never reads os.environ itself."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from phase_fakes import V2, FakeWorld, config, locked_plan, standard_world

from mlpromote import approvals, handler
from mlpromote.aws import dynamodb, sns
from mlpromote.errors import InvalidConfig
from mlpromote.history import DEFAULT_TABLE

REPO = Path(__file__).resolve().parents[2]


def test_the_table_is_the_one_the_environment_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dynamodb, "_table", DEFAULT_TABLE)
    monkeypatch.setenv("MLPROMOTE_TABLE", "acme-promotions")
    handler.use_deployment()
    assert dynamodb.table_name() == "acme-promotions"
    monkeypatch.delenv("MLPROMOTE_TABLE")
    handler.use_deployment()
    assert dynamodb.table_name() == DEFAULT_TABLE


def test_the_config_is_the_file_the_environment_names(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MLPROMOTE_CONFIG_FILE", str(REPO / "config" / "mlpromote.yaml"))
    assert handler.deployed_config().environments
    monkeypatch.setenv("MLPROMOTE_CONFIG_FILE", str(tmp_path / "missing.yaml"))
    with pytest.raises(InvalidConfig, match=r"missing\.yaml does not exist; set MLPROMOTE_CONFIG_FILE"):
        handler.deployed_config()


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> FakeWorld:
    return standard_world(monkeypatch)


def test_the_approvers_are_told_on_the_topic_the_handler_passes_and_on_no_other(
    world: FakeWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    published: list[tuple[str, ...]] = []
    monkeypatch.setattr(dynamodb, "create_approval", lambda item: True)
    monkeypatch.setattr(sns, "publish", lambda topic, *message: published.append((topic, *message)) or True)
    monkeypatch.setenv("APPROVAL_TOPIC_ARN", "arn:aws:sns:us-east-1:111111111111:from-the-environment")
    plan = locked_plan(config(), "prod", V2)
    topic = "arn:aws:sns:us-east-1:111111111111:approvers"

    requested = approvals.request_approval(plan, "token-1", topic)
    assert requested.notified and [p[0] for p in published] == [topic]
    assert approvals.request_approval(plan, "token-2", None).notified is False
    assert [p[0] for p in published] == [topic]  # the environment's topic is never read here
    detail: dict[str, Any] = world.events[-1][1]
    assert world.events[-1][0] == "Model Promotion Awaiting Approval"
    assert detail["from"] == [g.dump() for g in plan.pointing] and detail["version"] == V2
