"""The deployed commands check their input before AWS: with no credentials at all, bad input exits 2
with a named error, and nothing is sent anywhere. `--version`; `status ID --watch` against `local serve`."""

from __future__ import annotations

import contextlib
import io
import json
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import STANDARD_SCENARIO
from mlpromote_cli import inputs
from mlpromote_cli.main import main

V2 = "arn:aws:rekognition:us-east-1:111111111111:project/tools/version/v2/1700000002000"


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[str]:
    """No credentials anywhere, no checkout config; every AWS call and HTTP request is recorded and refused."""
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "MLPROMOTE_CONFIG_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.chdir(tmp_path)
    sent: list[str] = []

    def refuse_aws(self: Any, request: Any) -> Any:
        sent.append(request.url)
        raise AssertionError(f"{request.url} reached AWS")

    def refuse_http(request: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append(getattr(request, "full_url", str(request)))
        raise AssertionError("an HTTP request went out")

    monkeypatch.setattr("botocore.endpoint.Endpoint._send", refuse_aws)
    monkeypatch.setattr(urllib.request, "urlopen", refuse_http)
    return sent


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "deployed.yaml"
    path.write_text(yaml.safe_dump(STANDARD_SCENARIO["config"]))
    return path


def promote(*extra: str, arn: str = V2, environment: str = "prod") -> list[str]:
    return ["promote", "--environment", environment, "--model-version-arn", arn, "--stack", "mlpromote", *extra]


@pytest.mark.parametrize(
    ("argv", "error", "says"),
    [
        (promote(environment="staging"), "UnknownEnvironment", "known environments: prod, qa"),
        (promote(arn=V2.replace("us-east-1", "eu-west-1")), "VersionOutsideMlAccount", "region eu-west-1"),
        (promote(arn=V2.replace("111111111111", "999999999999")), "VersionOutsideMlAccount", "account 999999999999"),
        (promote(arn=V2.replace("tools", "other")), "UnknownProject", "'other' is not in the config"),
        (["rollback", "--environment", "staging", "--stack", "s"], "UnknownEnvironment", "staging"),
        (["list", "--environment", "staging", "--stack", "s"], "UnknownEnvironment", "staging"),
        (["history", "--environment", "staging", "--stack", "s"], "UnknownEnvironment", "staging"),
    ],
)
def test_meaning_is_checked_against_the_deployed_config_without_credentials(
    offline: list[str], config_file: Path, argv: list[str], error: str, says: str, capsys: Any
) -> None:
    assert main([*argv, "--config", str(config_file)]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(f"{error}: ") and says in captured.err, captured.err
    assert captured.out == "" and offline == []


@pytest.mark.parametrize(
    ("argv", "error", "says"),
    [
        (promote(arn=V2.replace("us-east-1", "us-eest-1")), "InvalidModelVersionArn", "'us-east-1'?"),
        (promote(arn=V2.replace("arn:aws:", "arn:aws-cn:")), "InvalidModelVersionArn", "arn:aws:"),
        (promote(arn="tools/v2"), "InvalidModelVersionArn", "not a Rekognition Custom Labels model version ARN"),
        (["status", "arn:aws:states:xx", "--stack", "s"], "InvalidPromotionId", "execution ARN"),
        (["approve", "prod promote", "--stack", "s"], "InvalidPromotionId", "NAME"),
        (["status", "arn:aws:states:us-eest-1:111111111111:execution:m:n"], "InvalidPromotionId", "us-eest-1"),
    ],
)
def test_form_is_checked_with_nothing_at_all(
    offline: list[str], argv: list[str], error: str, says: str, capsys: Any
) -> None:
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(f"{error}: ") and says in captured.err, captured.err
    assert offline == []


def test_good_input_without_credentials_says_so_and_exits_1(offline: list[str], config_file: Path, capsys: Any) -> None:
    assert main(promote("--config", str(config_file))) == 1
    err = capsys.readouterr().err
    assert err.startswith("NoCredentials: ") and "Traceback" not in err
    assert offline == []  # botocore found no credentials to sign with: nothing was sent


def test_version(capsys: Any) -> None:
    from importlib.metadata import version

    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == f"mlpromote {version('mlpromote')}"


@pytest.fixture
def served(worlds: Any) -> Any:
    from mlpromote_emulator.serve import LocalApi, serve_in_background

    gated = {"environments": {"prod": {"requiresApproval": True}}}
    with worlds.emulator(config=gated) as emu, LocalApi(emu, port=0) as api:
        emu.approvals_by_hand = True
        thread = serve_in_background(api)
        try:
            yield emu, api.url
        finally:
            api.shutdown()
            thread.join(timeout=10)


def _post(url: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(url + path, data=json.dumps(body).encode(), method="POST")
    with urllib.request.urlopen(request, timeout=30) as answer:
        return dict(json.loads(answer.read()))


def test_the_stack_publishes_its_config_and_the_cli_refuses_against_it(
    served: Any, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    emu, url = served
    published = inputs.published_config(url)
    # As on a machine with no copy of the config: only the stack's GET /config is there to check against.
    monkeypatch.setattr(inputs, "local_config", lambda explicit: None)
    v2 = emu.names.arn("tools/v2", emu.config)
    unknown = main(["promote", "--environment", "staging", "--model-version-arn", v2, "--api", url, "--stack", "s"])
    err = capsys.readouterr().err
    assert published.environments.keys() == emu.config.environments.keys()
    assert published.ml_account == emu.config.ml_account and published.region == emu.config.region
    assert published.projects.keys() == emu.config.projects.keys()
    assert unknown == 2 and err.startswith("UnknownEnvironment: ")


def test_status_watch_follows_the_steps_live_until_the_end(served: Any) -> None:
    emu, url = served
    started = _post(
        url, "/promotions", {"environment": "prod", "modelVersionArn": emu.names.arn("tools/v2", emu.config)}
    )
    out = io.StringIO()
    exit_code: list[int] = []

    def watch() -> None:
        with contextlib.redirect_stdout(out):
            exit_code.append(
                main(["status", started["promotionId"], "--watch", "--api", url, "--poll-seconds", "0.02"])
            )

    watcher = threading.Thread(target=watch)
    watcher.start()
    for _ in range(1500):
        if "WAITING" in out.getvalue():
            break
        time.sleep(0.02)
    seen_while_waiting = out.getvalue()
    _post(url, f"/promotions/{started['promotionId']}/approval", {"decision": "approve"})
    watcher.join(timeout=60)
    lines = out.getvalue().splitlines()

    assert "  RUNNING   Wait for approval" in seen_while_waiting
    assert "  SUCCEEDED Smoke-test from each account" in seen_while_waiting
    assert "Point each account at the new version" not in seen_while_waiting
    assert exit_code == [0]
    assert lines[-1].endswith("Record the outcome") or any(line.startswith("SUCCEEDED") for line in lines)
    assert emu.world()["parameters"]["prod"]["tools"] == {"333333333333": "tools/v2", "444444444444": "tools/v2"}
