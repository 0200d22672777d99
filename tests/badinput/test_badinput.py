"""Bad input (issue 4, item 8), offline: every entry of the corpus gives its named error, with a
message that says what is wrong and no traceback, and changes nothing (a refused request never
reaches AWS; an invalid scenario never starts the emulator)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import corpus
import pytest
import yaml
from corpus import Bad

from conftest import STANDARD_SCENARIO, merge
from mlpromote.aws import sessions
from mlpromote.config import Config, load_config, parse_config
from mlpromote.errors import PromotionError
from mlpromote.phases.plan import validate_and_plan
from mlpromote.plan import PromotionRequest
from mlpromote.versions import ModelVersionArn
from mlpromote_cli.main import main
from mlpromote_emulator.scenario import load_scenario

# A refusal must name the problem, not drown it: no message longer than this (huge inputs are cut).
# Cases whose own input is echoed in full are known bugs (see test_a_huge_value_is_not_echoed_in_full).
LONG_MESSAGE = 20_000


def cases(entries: list[Bad]) -> list[Any]:
    return [
        pytest.param(case, id=case.id, marks=[pytest.mark.xfail(strict=True, reason=case.bug)] if case.bug else [])
        for case in entries
    ]


def refusal(call: Callable[..., object], *args: object) -> PromotionError:
    """The named error `call(*args)` raises. Anything else fails the test with a short message (a
    RecursionError's thousand frames would take pytest seconds to render)."""
    escaped = None
    try:
        call(*args)
    except PromotionError as error:
        return error
    except Exception as error:
        escaped = f"{type(error).__name__} escaped (a traceback, not a named error): {str(error)[:300]}"
    pytest.fail(escaped or "nothing was raised")


def cli(argv: list[str]) -> int:
    """`mlpromote ARGV`'s exit status; an exception escaping it fails the test (see `refusal`)."""
    escaped = None
    try:
        return main(argv)
    except Exception as error:
        escaped = f"{type(error).__name__} escaped the CLI (a traceback, not exit 2): {str(error)[:300]}"
    pytest.fail(escaped)


def assert_named(error: BaseException, case: Bad) -> None:
    assert isinstance(error, PromotionError), f"{case.id}: {type(error).__name__}: {error}"
    assert type(error).__name__ == case.error, f"{case.id}: {type(error).__name__}: {error}"
    message = str(error)
    assert message.strip(), f"{case.id}: an empty message"
    assert case.where in message, f"{case.id}: the message does not name {case.where!r}: {message[:500]}"
    assert "Traceback" not in message


def test_the_corpus_is_big_enough_and_unambiguous() -> None:
    every = corpus.every_case()
    assert len(every) >= 50
    for group in (
        corpus.BAD_REQUESTS,
        corpus.BAD_ARNS,
        corpus.BAD_CONFIGS,
        corpus.BAD_CONFIG_DOCUMENTS,
        corpus.BAD_CONFIG_FILES,
        corpus.BAD_SCENARIO_FILES,
    ):
        ids = [case.id for case in group]
        assert len(ids) == len(set(ids)), "ids are unique within a group"
    requests = {case.id for case in corpus.BAD_REQUESTS}
    assert set(corpus.WORKFLOW_REQUESTS) <= requests
    assert set(corpus.CLI_SCENARIOS) <= {case.id for case in corpus.BAD_SCENARIO_FILES}
    assert set(corpus.ONE_LINE_SCENARIOS) <= set(corpus.CLI_SCENARIOS)


# --- requests ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def config() -> Config:
    return parse_config(copy.deepcopy(STANDARD_SCENARIO["config"]))


@pytest.fixture
def no_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any AWS client the code under test asks for fails the test: a refusal reads and changes nothing."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"an AWS client was requested: {args}")

    monkeypatch.setattr(sessions, "client", refuse)
    monkeypatch.setattr(sessions, "assumed_client", refuse)


@pytest.mark.usefixtures("no_aws")
@pytest.mark.parametrize("case", cases(corpus.BAD_REQUESTS))
def test_a_bad_request_is_refused_by_the_plan_before_any_aws_call(case: Bad, config: Config) -> None:
    error = refusal(validate_and_plan, copy.deepcopy(case.value), "execution-1", "2026-01-01T00:00:00Z", config)
    assert_named(error, case)
    assert len(str(error)) < LONG_MESSAGE


@pytest.mark.parametrize(
    "case", cases([c for c in corpus.BAD_REQUESTS if c.error == "InvalidPromotionRequest" and not c.bug])
)
def test_a_malformed_request_fails_to_parse(case: Bad) -> None:
    assert_named(refusal(PromotionRequest.parse, copy.deepcopy(case.value)), case)


def test_a_valid_request_still_passes_the_same_checks(config: Config) -> None:
    """The corpus's base request is good: each bad one is bad because of its one change."""
    request = PromotionRequest.parse(corpus.request())
    assert request.environment == "prod"
    version = ModelVersionArn.parse(request.model_version_arn)
    assert (version.account, version.region, version.label) == (config.ml_account, config.region, "tools/v2")
    assert config.environment(request.environment).accounts


# --- version ARNs --------------------------------------------------------------------------------


@pytest.mark.parametrize("case", cases(corpus.BAD_ARNS))
def test_a_bad_version_arn_is_refused(case: Bad) -> None:
    error = refusal(ModelVersionArn.parse, case.value)
    assert_named(error, case)
    assert len(str(error)) < 1000, "a huge ARN is cut in the message"


# --- configs ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", cases(corpus.BAD_CONFIGS))
def test_a_bad_config_is_invalid_and_says_where(case: Bad) -> None:
    data = merge(STANDARD_SCENARIO["config"], case.value)
    assert_named(refusal(parse_config, data), case)


@pytest.mark.parametrize("case", cases(corpus.BAD_CONFIG_DOCUMENTS))
def test_a_config_that_is_not_a_mapping_is_invalid(case: Bad) -> None:
    assert_named(refusal(parse_config, copy.deepcopy(case.value)), case)


@pytest.mark.parametrize("case", cases(corpus.BAD_CONFIG_FILES))
def test_a_bad_config_file_is_invalid(case: Bad, tmp_path: Path) -> None:
    path = tmp_path / "mlpromote.yaml"
    path.write_bytes(case.value)
    error = refusal(load_config, path)
    assert_named(error, case)
    assert len(str(error)) < LONG_MESSAGE or case.id == "huge-line"


def test_a_huge_value_is_not_echoed_in_full() -> None:
    error = refusal(parse_config, merge(STANDARD_SCENARIO["config"], {"region": corpus.HUGE}))
    assert len(str(error)) < LONG_MESSAGE


# --- scenarios ---------------------------------------------------------------------------------------


@pytest.fixture
def scenario_dir(tmp_path: Path) -> Path:
    """tmp/config.yaml (the standard config) and tmp/scenarios/, where the scenario under test goes."""
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(STANDARD_SCENARIO["config"]))
    (tmp_path / "scenarios").mkdir()
    return tmp_path / "scenarios"


def test_the_scenario_head_and_world_are_good(scenario_dir: Path) -> None:
    path = scenario_dir / "good.yaml"
    path.write_text(corpus.SCENARIO_HEAD + corpus._WORLD)
    scenario = load_scenario(path)
    assert scenario.config.ml_account == corpus.ML


@pytest.mark.parametrize("case", cases(corpus.BAD_SCENARIO_FILES))
def test_a_bad_scenario_file_is_invalid(case: Bad, scenario_dir: Path) -> None:
    path = scenario_dir / "scenario.yaml"
    path.write_bytes(case.value)
    error = refusal(load_scenario, path)
    assert_named(error, case)
    assert len(str(error)) < LONG_MESSAGE


@pytest.fixture
def no_emulator(monkeypatch: pytest.MonkeyPatch) -> None:
    """An invalid scenario must not start the emulator: nothing runs, nothing changes."""
    from mlpromote_emulator.runtime import Emulator

    def refuse(self: object) -> None:
        raise AssertionError("the emulator started for an invalid scenario")

    monkeypatch.setattr(Emulator, "__enter__", refuse)


@pytest.mark.usefixtures("no_emulator")
@pytest.mark.parametrize("case", cases([c for c in corpus.BAD_SCENARIO_FILES if c.id in corpus.CLI_SCENARIOS]))
def test_the_cli_exits_2_with_the_problem_on_stderr_and_nothing_on_stdout(
    case: Bad, scenario_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = scenario_dir / "scenario.yaml"
    path.write_bytes(case.value)
    code = cli(["local", "promote", "--scenario", str(path), "--json"])
    captured = capsys.readouterr()
    assert (code, captured.out) == (2, "")
    assert captured.err.startswith(f"{case.error}: ")
    assert case.where in captured.err
    assert "Traceback" not in captured.err
    if case.id in corpus.ONE_LINE_SCENARIOS:  # one typo, one line: the key, and what is allowed
        assert captured.err.count("\n") == 1, captured.err


@pytest.mark.parametrize(
    "case",
    cases([c for c in corpus.BAD_CONFIG_FILES if c.id in ("empty-file", "non-utf8", "yaml-bomb", "duplicate-key")]),
)
def test_check_config_exits_2(case: Bad, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "mlpromote.yaml"
    path.write_bytes(case.value)
    assert cli(["check-config", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("InvalidConfig: ") and case.where in captured.err
