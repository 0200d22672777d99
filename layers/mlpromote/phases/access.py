"""Give the environment access to the version, and prove it works from each account.

ASL Tasks: "Grant access" (grant_access), "Smoke-test a batch of accounts" (smoke_test_batch, one per
batch of accounts).
"""

from __future__ import annotations

from mlpromote.aws import iam
from mlpromote.clock import seconds_since, stamp
from mlpromote.errors import (
    AwsCallFailed,
    GrantNotYetEffective,
    ModelNotServing,
    SmokeTestAccessDenied,
    SmokeTestFailed,
    TransientAwsError,
)
from mlpromote.fanout import settle_each_account
from mlpromote.grants import GrantPolicy
from mlpromote.plan import AccountPlan, PromotionPlan
from mlpromote.results import Grant, SmokeTestResult
from mlpromote.services import copying_service, model_service

_ACCESS_DENIED = frozenset({"AccessDenied", "AccessDeniedException"})
# The calls that use a model (each service's invoke_action); a refusal of any other is the role chain's.
_MODEL_CALLS = frozenset({"DetectCustomLabels", "ClassifyDocument", "DetectEntities"})
# A model that is not serving: Rekognition's ResourceNotReadyException; Comprehend's endpoint not
# IN_SERVICE (ResourceUnavailableException, ClassifyDocument / DetectEntities API reference).
_NOT_SERVING = frozenset({"ResourceNotReadyException", "ResourceUnavailableException"})


def grant_access(plan: PromotionPlan) -> Grant:
    if plan.strategy == "copy":
        # Each account calls its own copy: no cross-account role, nothing to grant.
        return Grant(added_by_this_execution=False, granted_at=None)
    added = False

    def add(policy: GrantPolicy) -> bool:
        nonlocal added
        # Every grant follows the environment's vpcEndpointIds as the plan read them.
        conformed = policy.require_endpoints(plan.vpc_endpoint_ids)
        added = policy.add(model_service(plan.service).grant_statement(plan.version_arn, plan.vpc_endpoint_ids))
        return added or conformed

    # IAM's 10,240 characters count every inline policy of the role (mlpromote-smoke-test-images too).
    iam.update_grants(plan.access_role_name, add, with_other_policies=True)
    return Grant(added_by_this_execution=added, granted_at=stamp() if added else None)


def smoke_test_batch(plan: AccountPlan, accounts: list[str], grant: Grant) -> SmokeTestResult:
    """Smoke-test each account of a batch, side by side; every one is tried.

    A failure no retry mends (the first failed account's, sorted) is raised before one that a retry
    may mend (GrantNotYetEffective, a transient AWS error): the state machine then compensates at once
    rather than retrying the batch. A retried batch tests all its accounts again (it only reads)."""
    _, failed = settle_each_account(accounts, lambda account: smoke_test(plan, account, grant), plan.account_workers)
    if failed:
        retryable = (GrantNotYetEffective, TransientAwsError)
        final = [error for error in failed.values() if not isinstance(error, retryable)]
        raise (final or list(failed.values()))[0]
    return SmokeTestResult(accounts=len(accounts))


def smoke_test(plan: AccountPlan, account: str, grant: Grant) -> None:
    """Call the model the way the account's applications will: through its role and the access role; in
    a copy environment, the account's own copy, with its smoke-test role alone."""
    chain: tuple[str, ...] = (plan.smoke_test_role_arn(account), plan.access_role_arn)
    version_arn, external_id = plan.version_arn, plan.external_id
    if plan.strategy == "copy":
        chain, external_id = (plan.smoke_test_role_arn(account),), None
        _, copy = copying_service(plan.service).find_copy(chain[0], plan.version_arn)
        if copy is None:
            raise ModelNotServing(f"account {account}: it has no copy of {plan.version_label}")
        version_arn = copy.arn
    try:
        seen = model_service(plan.service).smoke_test(chain, version_arn, plan.smoke_test, external_id)
    except AwsCallFailed as error:
        _explain_smoke_test_error(error, plan, account, grant)
        raise
    test = plan.smoke_test
    missing = [name for name in test.expected if seen.get(name, 0.0) < test.min_percent]
    if missing:
        found = ", ".join(f"{name} {confidence:.1f}%" for name, confidence in sorted(seen.items())) or "none"
        raise SmokeTestFailed(
            f"account {account}: {plan.version_label} did not find {', '.join(missing)} at "
            f">= {test.min_percent:g}% in {test.inputs}; found: {found}"
        )


def _explain_smoke_test_error(error: AwsCallFailed, plan: AccountPlan, account: str, grant: Grant) -> None:
    """The smoke test's refusals by name; any other AwsCallFailed is raised as it is."""
    code, operation = error.code, error.operation
    if code in _ACCESS_DENIED and operation in _MODEL_CALLS:
        if grant.granted_at and seconds_since(grant.granted_at) < plan.grant_propagation_seconds:
            raise GrantNotYetEffective(
                f"account {account}: {operation} denied {seconds_since(grant.granted_at):.0f} s after "
                "the grant; IAM is still propagating it"
            ) from error
        raise SmokeTestAccessDenied(
            f"account {account}: {plan.access_role_name} may not call {plan.version_label} "
            f"({error.said or code}); check its {iam.POLICY_NAME} policy (with "
            "vpcEndpointIds, the smoke test must call through one of them: docs/security.md)"
        ) from error
    if code in _ACCESS_DENIED:
        raise SmokeTestAccessDenied(
            f"account {account}: {operation} was denied ({error.said or code}); "
            f"deploy the target-account stack in {account} and check that {plan.access_role_name} trusts it "
            "(the environment's accounts, consumerRoleArns, organizationId, externalId)"
        ) from error
    if code in _NOT_SERVING:
        raise ModelNotServing(f"account {account}: {plan.version_label} is not running") from error
