"""Reading the access role's grants after this promotion's grant step wrote them.

IAM is eventually consistent (IAM User Guide, "Changes that I make are not always immediately visible"):
for a while after a PutRolePolicy, GetRolePolicy may answer with the document before it. The steps that
read the grants after the grant step (the check before the switch, the retirement, the compensation)
must not act on such a read: the check would call the version revoked, and a read-modify-write would
write back a document without the promotion's own statement, or leave a grant it meant to revoke.
"""

from __future__ import annotations

from mlpromote.aws import iam
from mlpromote.clock import seconds_since
from mlpromote.errors import TransientAwsError
from mlpromote.grants import GrantPolicy
from mlpromote.plan import PromotionPlan
from mlpromote.results import Grant

# How long after the grant step's write a read of the grants without its statement is taken for IAM's
# eventual consistency (read again) rather than a revocation. Short, because a compensation retried after
# it revoked the statement itself reads the same document as a stale read would.
IAM_READ_LAG_SECONDS = 15


def read_grants_after(plan: PromotionPlan, grant: Grant | None) -> GrantPolicy:
    """The access role's grants; TransientAwsError (retried by the ASL with backoff) while the read does
    not show yet the statement the grant step added (`grant`, None if it did not run) a moment ago."""
    policy = iam.read_grants(plan.access_role_name)
    if grant is not None and grant.granted_at and not policy.grants(plan.serving_arn):
        age = seconds_since(grant.granted_at)
        if age < min(IAM_READ_LAG_SECONDS, plan.grant_propagation_seconds):
            raise TransientAwsError(
                f"GetRolePolicy of {plan.access_role_name} does not show yet the statement for "
                f"{plan.version_label} written {age:.0f} s ago (IAM is eventually consistent); reading again"
            )
    return policy
