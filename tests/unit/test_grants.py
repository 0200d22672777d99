import json

import pytest

from mlpromote.errors import GrantPolicyTooLarge
from mlpromote.grants import INLINE_POLICY_LIMIT, GrantPolicy, policy_size, statement_id


def arn(n: int) -> str:
    return f"arn:aws:rekognition:us-east-1:111111111111:project/tools/version/v{n}/{1700000000000 + n}"


def test_one_statement_per_version_on_exactly_that_arn() -> None:
    policy = GrantPolicy()
    assert policy.grant(arn(1)) is True
    assert policy.grant(arn(2)) is True
    statement = policy.document()["Statement"][0]
    assert statement == {
        "Sid": statement_id(arn(1)),
        "Effect": "Allow",
        "Action": "rekognition:DetectCustomLabels",
        "Resource": arn(1),
    }
    assert policy.granted_versions() == sorted([arn(1), arn(2)])


def test_granting_twice_changes_nothing() -> None:
    policy = GrantPolicy()
    policy.grant(arn(1))
    before = json.dumps(policy.document())
    assert policy.grant(arn(1)) is False
    assert json.dumps(policy.document()) == before


def test_revoke_keeps_the_other_grants_and_statements() -> None:
    foreign = {"Sid": "Other", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/k"}
    policy = GrantPolicy.from_document({"Version": "2012-10-17", "Statement": [foreign]})
    policy.grant(arn(1))
    policy.grant(arn(2))
    assert policy.revoke(arn(1)) is True
    assert policy.revoke(arn(1)) is False
    assert policy.statements == [foreign, policy.statements[1]]
    assert arn(2) in policy.granted_versions()


def test_sids_are_stable_distinct_and_valid() -> None:
    sids = {statement_id(arn(n)) for n in range(200)}
    assert len(sids) == 200
    assert statement_id(arn(7)) == statement_id(arn(7))
    assert all(sid.isalnum() and len(sid) <= 100 for sid in sids)


def test_refuses_before_exceeding_the_iam_limit_and_leaves_the_policy_as_it_was() -> None:
    policy = GrantPolicy()
    n = 0
    with pytest.raises(GrantPolicyTooLarge, match="10240") as refused:
        while True:
            policy.grant(arn(n))
            n += 1
    assert "Revoke grants" in str(refused.value)
    assert policy_size(policy.document()) <= INLINE_POLICY_LIMIT
    assert len(policy.statements) == n
    assert arn(n) not in policy.granted_versions()


def test_size_ignores_whitespace() -> None:
    document = {"Version": "2012-10-17", "Statement": []}
    assert policy_size(document) == len('{"Version":"2012-10-17","Statement":[]}')
