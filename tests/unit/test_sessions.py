"""Role sessions named after the promotion, with the requester as their source identity (issue 11 C)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mlpromote.aws import sessions

STS_NAME = re.compile(r"[\w+=,.@-]{2,64}", re.ASCII)  # RoleSessionName and SourceIdentity (STS AssumeRole)
EXECUTION = "arn:aws:states:us-east-1:111111111111:execution:mlpromote-promote-model:"


def test_a_session_is_named_after_the_execution() -> None:
    assert sessions.session_name(EXECUTION + "prod-tools-v2-20261130") == "mlpromote-prod-tools-v2-20261130"
    assert sessions.session_name(None) == "mlpromote"


@pytest.mark.parametrize(
    "name",
    ["a" * 80, "prod:tools/v2 (again)", "ünïcode-prod", "x", "prod#tools%v2&$;|~`^\\"],
)
def test_every_execution_name_makes_a_session_name_sts_takes(name: str) -> None:
    assert STS_NAME.fullmatch(sessions.session_name(EXECUTION + name))


def test_two_long_names_that_share_their_beginning_name_different_sessions() -> None:
    first = sessions.session_name(EXECUTION + "p" * 70 + "-first")
    second = sessions.session_name(EXECUTION + "p" * 70 + "-second")

    assert len(first) == len(second) == 64
    assert first != second
    assert first.startswith("mlpromote-ppp")


@pytest.mark.parametrize(
    ("requested_by", "identity"),
    [
        ("arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_Admin_0123/alice@example.com", "alice@example.com"),
        ("arn:aws:iam::111111111111:user/approver", "approver"),
        ("mlpromote.requests", "mlpromote.requests"),
        ("arn:aws:sts::111111111111:assumed-role/ci/GitHub Actions #42", "GitHub-Actions--42"),
        ("x", None),
        (None, None),
        ("", None),
    ],
)
def test_the_source_identity_is_who_asked_as_sts_takes_it(requested_by: str | None, identity: str | None) -> None:
    assert sessions.source_identity(requested_by) == identity


def test_a_long_requester_is_cut_to_sts_length() -> None:
    identity = sessions.source_identity("arn:aws:iam::111111111111:user/" + "n" * 100)
    assert identity is not None and STS_NAME.fullmatch(identity)


class _RecordingSts:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def assume_role(self, **arguments: Any) -> dict[str, Any]:
        self.calls.append(arguments)
        key = f"AKIA{len(self.calls):016d}"
        expires = datetime.now(UTC) + timedelta(hours=1)
        return {"Credentials": {"AccessKeyId": key, "SecretAccessKey": "s", "SessionToken": "t", "Expiration": expires}}


@pytest.fixture
def sts(monkeypatch: pytest.MonkeyPatch) -> Iterator[_RecordingSts]:
    recorder = _RecordingSts()
    sessions.reset()
    monkeypatch.setattr(sessions, "client", lambda service, region=None: recorder)
    monkeypatch.setattr(sessions, "assumed_client_from", lambda credentials, service, region: recorder)
    yield recorder
    sessions.reset()


WRITER = "arn:aws:iam::333333333333:role/mlpromote-parameter-writer"
SMOKE = "arn:aws:iam::333333333333:role/mlpromote-smoke-test"
ACCESS = "arn:aws:iam::111111111111:role/mlpromote-access-prod"


def test_a_one_role_chain_carries_the_session_name_and_the_source_identity(sts: _RecordingSts) -> None:
    sessions.use_promotion(EXECUTION + "prod-1", "arn:aws:iam::111111111111:user/alice")
    sessions.assumed_client("ssm", (WRITER,), "us-east-1")

    assert sts.calls == [{"RoleArn": WRITER, "RoleSessionName": "mlpromote-prod-1", "SourceIdentity": "alice"}]


def test_the_smoke_test_chain_is_named_but_sets_no_source_identity(sts: _RecordingSts) -> None:
    # A source identity would persist into the access role, whose trust does not allow it.
    sessions.use_promotion(EXECUTION + "prod-1", "arn:aws:iam::111111111111:user/alice")
    sessions.assumed_client("rekognition", (SMOKE, ACCESS), "us-east-1", external_id="ext")

    assert sts.calls == [
        {"RoleArn": SMOKE, "RoleSessionName": "mlpromote-prod-1"},
        {"RoleArn": ACCESS, "RoleSessionName": "mlpromote-prod-1", "ExternalId": "ext"},
    ]


def test_a_warm_container_assumes_again_for_the_next_promotion(sts: _RecordingSts) -> None:
    sessions.use_promotion(EXECUTION + "prod-1", "arn:aws:iam::111111111111:user/alice")
    sessions.assumed_client("ssm", (WRITER,), "us-east-1")
    sessions.assumed_client("ssm", (WRITER,), "us-east-1")  # the same promotion: cached
    sessions.use_promotion(EXECUTION + "prod-2", "arn:aws:iam::111111111111:user/bob")
    sessions.assumed_client("ssm", (WRITER,), "us-east-1")

    assert [(c["RoleSessionName"], c["SourceIdentity"]) for c in sts.calls] == [
        ("mlpromote-prod-1", "alice"),
        ("mlpromote-prod-2", "bob"),
    ]


def test_a_client_error_is_translated_to_the_names_the_state_machine_matches() -> None:
    from botocore.exceptions import ClientError

    from mlpromote.errors import AwsCallFailed, TransientAwsError

    def refusal(code: str) -> ClientError:
        return ClientError({"Error": {"Code": code, "Message": "no way"}}, "PutParameter")

    throttled = sessions.translated(refusal("ThrottlingException"), "ssm PutParameter /p")
    assert type(throttled) is TransientAwsError
    assert str(throttled).startswith("ssm PutParameter /p: ThrottlingException (")
    failed = sessions.translated(refusal("ParameterLimitExceeded"), "ssm PutParameter /p")
    assert type(failed) is AwsCallFailed
    assert (failed.operation, failed.code, failed.said) == ("PutParameter", "ParameterLimitExceeded", "no way")
    assert str(failed) == str(refusal("ParameterLimitExceeded"))  # botocore's sentence, which names the call
    assert failed.brief == "PutParameter: ParameterLimitExceeded: no way"


def test_a_call_in_translating_raises_the_named_error_with_the_client_error_as_cause() -> None:
    from botocore.exceptions import ClientError

    from mlpromote.errors import AwsCallFailed

    refused = ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "AssumeRole")
    with pytest.raises(AwsCallFailed) as caught, sessions.translating("sts AssumeRole"):
        raise refused
    assert caught.value.code == "AccessDenied" and caught.value.__cause__ is refused
