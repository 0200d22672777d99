"""The emulator's STS holds to AssumeRole's session rules (IAM User Guide, "Monitor and control
actions taken with assumed roles"): session names and source identities in STS's characters; a
source identity needs sts:SetSourceIdentity in the trust, persists through role chaining, and
cannot be changed there."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from mlpromote_emulator import moto_adaptations as adapt

ML = "111111111111"


@pytest.fixture
def aws() -> Iterator[None]:
    adapt.install()
    adapt.set_default_account(ML)
    adapt.forget_sessions()
    adapt.hooks.faults, adapt.hooks.calls = [], []
    with mock_aws():
        yield
    adapt.set_default_account("123456789012")


def _role(name: str, actions: list[str], trusted: str = f"arn:aws:iam::{ML}:root") -> str:
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": trusted}, "Action": actions}],
    }
    iam = boto3.client("iam", region_name="us-east-1")
    return str(iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"])


def _sts(credentials: dict[str, str] | None = None) -> object:
    if credentials is None:
        return boto3.client("sts", region_name="us-east-1")
    return boto3.client(
        "sts",
        region_name="us-east-1",
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


def _code(call: object) -> str:
    with pytest.raises(ClientError) as refused:
        call()  # type: ignore[operator]
    return str(refused.value.response["Error"]["Code"])


def test_session_names_and_source_identities_outside_sts_characters_are_refused(aws: None) -> None:
    role = _role("setter", ["sts:AssumeRole", "sts:SetSourceIdentity"])
    sts = _sts()

    assert _code(lambda: sts.assume_role(RoleArn=role, RoleSessionName="prod tools/v2")) == "ValidationError"
    assert _code(lambda: sts.assume_role(RoleArn=role, RoleSessionName="ok", SourceIdentity="a b")) == "ValidationError"
    assert adapt.issued_sessions == []


def test_a_source_identity_needs_set_source_identity_in_the_trust(aws: None) -> None:
    plain = _role("plain", ["sts:AssumeRole"])
    setter = _role("setter", ["sts:AssumeRole", "sts:SetSourceIdentity"])
    sts = _sts()

    assert _code(lambda: sts.assume_role(RoleArn=plain, RoleSessionName="mlpromote-p1", SourceIdentity="alice")) == (
        "AccessDenied"
    )
    sts.assume_role(RoleArn=plain, RoleSessionName="mlpromote-p1")  # without one: admitted
    sts.assume_role(RoleArn=setter, RoleSessionName="mlpromote-p1", SourceIdentity="alice")

    assert adapt.issued_sessions == [
        adapt.IssuedSession(plain, "mlpromote-p1", None),
        adapt.IssuedSession(setter, "mlpromote-p1", "alice"),
    ]


def test_a_source_identity_persists_through_role_chaining_and_cannot_change(aws: None) -> None:
    first = _role("first", ["sts:AssumeRole", "sts:SetSourceIdentity"])
    plain_next = _role("plain-next", ["sts:AssumeRole"])
    setter_next = _role("setter-next", ["sts:AssumeRole", "sts:SetSourceIdentity"])
    chained = _sts()
    credentials = chained.assume_role(RoleArn=first, RoleSessionName="s1", SourceIdentity="alice")["Credentials"]  # type: ignore[attr-defined]
    sts = _sts(credentials)

    # The identity travels on without being passed: the next trust must allow it.
    assert _code(lambda: sts.assume_role(RoleArn=plain_next, RoleSessionName="s2")) == "AccessDenied"
    assert _code(lambda: sts.assume_role(RoleArn=setter_next, RoleSessionName="s2", SourceIdentity="bob")) == (
        "AccessDenied"
    )
    sts.assume_role(RoleArn=setter_next, RoleSessionName="s2")

    assert adapt.issued_sessions[-1] == adapt.IssuedSession(setter_next, "s2", "alice")
