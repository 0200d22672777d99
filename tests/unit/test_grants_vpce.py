"""Grants with private connectivity: with vpcEndpointIds, each grant holds only for calls through them."""

from __future__ import annotations

import pytest

from mlpromote.errors import GrantPolicyTooLarge
from mlpromote.grants import ACTION, INLINE_POLICY_LIMIT, GrantPolicy, policy_size, statement_for, statement_id

V1 = "arn:aws:rekognition:us-east-1:111111111111:project/tools/version/v1/1700000001000"
V2 = "arn:aws:rekognition:us-east-1:111111111111:project/tools/version/v2/1700000002000"
ENDPOINTS = ["vpce-0fedcba9876543210", "vpce-0123456789abcdef0"]


def test_a_grant_through_endpoints_allows_exactly_that_version_only_through_them() -> None:
    assert statement_for(V2, ENDPOINTS) == {
        "Sid": statement_id(V2),
        "Effect": "Allow",
        "Action": ACTION,
        "Resource": V2,
        "Condition": {"StringEquals": {"aws:SourceVpce": ["vpce-0123456789abcdef0", "vpce-0fedcba9876543210"]}},
    }


def test_without_endpoints_a_grant_has_no_condition() -> None:
    assert "Condition" not in statement_for(V2)
    assert "Condition" not in statement_for(V2, [])


def test_granting_through_endpoints_adds_the_conditioned_statement() -> None:
    policy = GrantPolicy()

    assert policy.grant(V1, ENDPOINTS) is True
    assert policy.grant(V1, ENDPOINTS) is False
    assert policy.document()["Statement"] == [statement_for(V1, ENDPOINTS)]
    assert policy.granted_versions() == [V1]


def test_existing_grants_follow_the_environments_endpoints_as_they_are_now() -> None:
    policy = GrantPolicy.from_document({"Version": "2012-10-17", "Statement": [statement_for(V1)]})

    assert policy.require_endpoints(ENDPOINTS) is True
    assert policy.require_endpoints(ENDPOINTS) is False  # nothing left to change: nothing to write
    assert policy.statements == [statement_for(V1, ENDPOINTS)]

    assert policy.require_endpoints(["vpce-0123456789abcdef0"]) is True  # one endpoint retired
    assert policy.statements == [statement_for(V1, ["vpce-0123456789abcdef0"])]

    assert policy.require_endpoints([]) is True  # private connectivity switched off again
    assert policy.statements == [statement_for(V1)]


def test_conforming_leaves_statements_that_are_not_grants_alone() -> None:
    foreign = {"Sid": "Other", "Effect": "Deny", "Action": ACTION, "Resource": V2}
    policy = GrantPolicy(statements=[statement_for(V1), foreign])

    policy.require_endpoints(ENDPOINTS)

    assert policy.statements == [statement_for(V1, ENDPOINTS), foreign]


def test_revoking_a_conditioned_grant_removes_it() -> None:
    policy = GrantPolicy()
    policy.grant(V1, ENDPOINTS)
    policy.grant(V2, ENDPOINTS)

    assert policy.revoke(V1) is True
    assert policy.granted_versions() == [V2]


def test_conditions_count_against_the_inline_policy_limit() -> None:
    versions = [
        f"arn:aws:rekognition:us-east-1:111111111111:project/tools/version/v{i}/17000000{i:05d}" for i in range(45)
    ]
    plain = GrantPolicy()
    for version in versions:
        plain.grant(version)
    assert policy_size(plain.document()) <= INLINE_POLICY_LIMIT

    with pytest.raises(GrantPolicyTooLarge, match="limiting the access role's 45 grants to VPC endpoints"):
        plain.require_endpoints(ENDPOINTS)
    assert all("Condition" not in s for s in plain.statements)  # unchanged: nothing half-written
