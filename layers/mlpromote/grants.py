"""Grants: the access role's inline policy, one statement per model version it may call.

The access role lives in the ML account and is assumed from the environment's target accounts.
Its inline policy `mlpromote-grants` is owned by mlpromote: one statement per granted version,
with a stable Sid derived from the version ARN, allowing exactly rekognition:DetectCustomLabels
on exactly that ARN.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from mlpromote.errors import GrantPolicyTooLarge

POLICY_NAME = "mlpromote-grants"
ACTION = "rekognition:DetectCustomLabels"
# Every action a grant may allow: one per model service (mlpromote.services).
ACTIONS = frozenset({ACTION, "comprehend:ClassifyDocument", "comprehend:DetectEntities"})
# IAM counts every inline policy of a role together, without whitespace.
INLINE_POLICY_LIMIT = 10_240
# Present in the request context only when the call came through a VPC endpoint.
SOURCE_VPCE = "aws:SourceVpce"


def statement_id(version_arn: str) -> str:
    """Readable and stable: Grant + project and version name + a short hash of the full ARN."""
    tail = version_arn.split(":project/", 1)[-1].rsplit(":", 1)[-1]
    readable = re.sub(r"[^A-Za-z0-9]", "", tail.replace("/version/", ""))[:60]
    return f"Grant{readable}{hashlib.sha256(version_arn.encode()).hexdigest()[:8]}"


def statement_for(version_arn: str, vpc_endpoint_ids: Sequence[str] = (), action: str = ACTION) -> dict[str, Any]:
    """Allow DetectCustomLabels (or the service's `action`) on exactly this ARN: a Custom Labels version,
    or the endpoint that serves a Comprehend version; with endpoints, only for calls through them."""
    statement: dict[str, Any] = {
        "Sid": statement_id(version_arn),
        "Effect": "Allow",
        "Action": action,
        "Resource": version_arn,
    }
    if vpc_endpoint_ids:
        statement["Condition"] = {"StringEquals": {SOURCE_VPCE: sorted(vpc_endpoint_ids)}}
    return statement


def policy_size(document: dict[str, Any]) -> int:
    """The size IAM checks against the limit: the JSON with no whitespace."""
    return len(json.dumps(document, separators=(",", ":")))


@dataclass
class GrantPolicy:
    """The access role's grants, read from and written back to its inline policy."""

    statements: list[dict[str, Any]] = field(default_factory=list)
    # The role's other inline policies (mlpromote-smoke-test-images), which IAM counts in the same limit.
    others_size: int = 0
    others: tuple[str, ...] = ()

    @classmethod
    def from_document(cls, document: dict[str, Any] | None) -> GrantPolicy:
        if not document:
            return cls()
        statements = document.get("Statement", [])
        if isinstance(statements, dict):
            statements = [statements]
        return cls(statements=list(statements))

    def document(self) -> dict[str, Any]:
        return {"Version": "2012-10-17", "Statement": self.statements}

    def granted_versions(self) -> list[str]:
        out: list[str] = []
        for statement in self.statements:
            resources = statement.get("Resource", [])
            if isinstance(resources, str):
                resources = [resources]
            if statement.get("Effect") == "Allow":
                out.extend(resources)
        return sorted(out)

    def grants(self, version_arn: str) -> bool:
        return version_arn in self.granted_versions()

    def grant(self, version_arn: str, vpc_endpoint_ids: Sequence[str] = ()) -> bool:
        """Add the version's statement (through these endpoints only, if any). False when it was already there."""
        return self.add(statement_for(version_arn, vpc_endpoint_ids))

    def add(self, statement: dict[str, Any]) -> bool:
        """Add a statement granting one version (a ModelService's grant_statement). False when that
        version was already granted."""
        version_arn = str(statement["Resource"])
        if self.grants(version_arn):
            return False
        candidate = [*self.statements, statement]
        size = policy_size({"Version": "2012-10-17", "Statement": candidate}) + self.others_size
        if size > INLINE_POLICY_LIMIT:
            raise GrantPolicyTooLarge(
                f"granting {version_arn} would make the access role's inline policies {size} characters"
                f"{self._with_others()}, over IAM's {INLINE_POLICY_LIMIT} for all of a role's inline policies; "
                f"it already grants {len(self.statements)} versions. Revoke grants of versions no environment "
                "uses (set retireSuperseded: true, or remove their statements)"
            )
        self.statements = candidate
        return True

    def require_endpoints(self, vpc_endpoint_ids: Sequence[str]) -> bool:
        """Make every grant hold through exactly these endpoints (none: from anywhere), as the environment's
        vpcEndpointIds say now. False when every statement already did."""
        conformed = [
            statement_for(resources[0], vpc_endpoint_ids, str(statement["Action"]))
            if statement.get("Effect") == "Allow" and statement.get("Action") in ACTIONS and len(resources) == 1
            else statement
            for statement in self.statements
            for resources in [_resources(statement)]
        ]
        changed = conformed != self.statements
        size = policy_size({"Version": "2012-10-17", "Statement": conformed}) + self.others_size
        if changed and size > INLINE_POLICY_LIMIT:
            raise GrantPolicyTooLarge(
                f"limiting the access role's {len(conformed)} grants to VPC endpoints {', '.join(vpc_endpoint_ids)} "
                f"would make its inline policies {size} characters{self._with_others()}, over IAM's "
                f"{INLINE_POLICY_LIMIT}. Revoke grants of versions no environment uses first"
            )
        self.statements = conformed
        return changed

    def _with_others(self) -> str:
        if not self.others:
            return ""
        return f" ({POLICY_NAME} with {', '.join(self.others)}: {self.others_size} characters)"

    def revoke(self, version_arn: str) -> bool:
        """Remove every statement for the version. False when it was not granted."""
        kept = [s for s in self.statements if version_arn not in _resources(s)]
        changed = len(kept) != len(self.statements)
        self.statements = kept
        return changed


def _resources(statement: dict[str, Any]) -> list[str]:
    resources = statement.get("Resource", [])
    return [resources] if isinstance(resources, str) else list(resources)
