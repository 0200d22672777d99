"""The emulator's speed at hundreds of accounts (moto_adaptations, "speed at hundreds of accounts"): each
shortcut gives moto's own answer, and forgets a world moto has reset."""

import json

import boto3
import pytest
from moto import mock_aws
from moto.core.base_backend import BackendDict

from mlpromote_emulator import moto_adaptations as adapt


@pytest.fixture
def aws():
    adapt.install()
    adapt.set_default_account("111111111111")
    with mock_aws():
        yield
    adapt.set_default_account("123456789012")


def _role(iam, name: str, trusted: list[str]) -> str:
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": trusted}, "Action": "sts:AssumeRole"}]}  # fmt: skip
    return iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]


def _moto_scan(access_key: str) -> str:
    """moto's own answer (its get_account_id_from, before the index): every account, every partition."""
    import moto.iam.models as iam_models
    from moto.utilities.utils import PARTITION_NAMES

    for account_id, account in list(iam_models.iam_backends.items()):
        for partition in PARTITION_NAMES:
            if access_key in account[partition].access_keys:
                return account_id
    return iam_models.DEFAULT_ACCOUNT_ID


def test_the_key_index_answers_as_moto_scans_and_forgets_a_reset_world(aws) -> None:
    sts = boto3.client("sts", region_name="us-east-1")
    ml_role = _role(boto3.client("iam", region_name="us-east-1"), "admin", ["arn:aws:iam::111111111111:root"])
    ml_key = sts.assume_role(RoleArn=ml_role, RoleSessionName="one")["Credentials"]["AccessKeyId"]
    adapt.ensure_role("222222222222", "aws", "admin", {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "111111111111"}, "Action": "sts:AssumeRole"}]})  # fmt: skip
    other = sts.assume_role(RoleArn="arn:aws:iam::222222222222:role/admin", RoleSessionName="two")["Credentials"]
    for key, account in ((ml_key, "111111111111"), (other["AccessKeyId"], "222222222222"), ("unknown", "111111111111")):
        assert adapt.caller(key)[0] == account == _moto_scan(key)
    assert adapt.caller(other["AccessKeyId"])[1:] == ("arn:aws:iam::222222222222:role/admin", "two")
    acting = boto3.client(
        "sts",
        region_name="us-east-1",
        aws_access_key_id=other["AccessKeyId"],
        aws_secret_access_key=other["SecretAccessKey"],
        aws_session_token=other["SessionToken"],
    )
    assert acting.get_caller_identity()["Account"] == "222222222222"
    BackendDict.reset()  # a new world, as moto's start makes one: every key and session is gone
    assert adapt.caller(other["AccessKeyId"]) == ("111111111111", None, None)
    assert _moto_scan(other["AccessKeyId"]) == "111111111111"


def test_json_paths_are_parsed_once_and_find_what_a_fresh_parse_finds() -> None:
    from jsonpath_ng.ext import parse
    from moto.stepfunctions.parser.asl.utils import json_path

    adapt.install()
    data = {"plan": {"accounts": [{"id": "1"}, {"id": "2"}]}}
    path = "$.plan.accounts[*].id"
    assert json_path.parse(path) is json_path.parse(path)
    assert [m.value for m in json_path.parse(path).find(data)] == [m.value for m in parse(path).find(data)]
    assert json_path.extract_json(path, data) == ["1", "2"]


def test_the_interpreter_keeps_one_lambda_client_per_session(aws, monkeypatch) -> None:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils

    first = lambda_eval_utils.boto_client_for(region="us-east-1", service="lambda", state_credentials=None)
    assert lambda_eval_utils.boto_client_for(region="us-east-1", service="lambda", state_credentials=None) is first
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)  # as moto's start leaves it: a new session comes
    assert lambda_eval_utils.boto_client_for(region="us-east-1", service="lambda") is not first
