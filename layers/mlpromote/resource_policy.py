"""The resource policy that lets a copy environment's accounts import one Comprehend model version.

Comprehend shares a custom model across accounts with a resource-based policy on the model version
(PutResourcePolicy: https://docs.aws.amazon.com/comprehend/latest/APIReference/API_PutResourcePolicy.html)
that allows `comprehend:ImportModel`; the other account then calls ImportModel in the same region ("Copying
custom models between AWS accounts": https://docs.aws.amazon.com/comprehend/latest/dg/custom-copy.html).
A version holds one policy, of at most 20,000 characters, replaced as a whole: a write names the revision it
replaces (PolicyRevisionId; none for a new policy), and each write gets a new one. So, unlike Rekognition's
named project policies (mlpromote.project_policy), two environments copying the same version share one
document: each writes its own statement (its Sid names the environment) by read-modify-write with the
revision it read, and takes only its own statement back; the last one out deletes the policy.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

MAX_CHARS = 20_000
ACTION = "comprehend:ImportModel"


def statement_id(environment: str) -> str:
    """The environment's statement: letters and digits only (IAM's Sid), with a hash so that names that
    differ only in other characters (qa-1, qa_1) never share one."""
    plain = re.sub(r"[^A-Za-z0-9]", "", environment)[:40]
    return f"mlpromoteImport{plain}{hashlib.sha256(environment.encode()).hexdigest()[:8]}"


def statement(version_arn: str, environment: str, accounts: list[str]) -> dict[str, Any]:
    """Exactly these accounts (by account id, the shortest principal) may import exactly this version."""
    return {
        "Sid": statement_id(environment),
        "Effect": "Allow",
        "Principal": {"AWS": sorted(accounts)},
        "Action": ACTION,
        "Resource": version_arn,
    }


def with_statement(document: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    """The document with `new` in place of any statement of the same Sid."""
    kept = [s for s in (document or {}).get("Statement", []) if s.get("Sid") != new["Sid"]]
    return {"Version": "2012-10-17", "Statement": [*kept, new]}


def without_statement(document: dict[str, Any], environment: str) -> dict[str, Any] | None:
    """The document without the environment's statement; None when nothing is left (delete the policy)."""
    kept = [s for s in document.get("Statement", []) if s.get("Sid") != statement_id(environment)]
    return {"Version": "2012-10-17", "Statement": kept} if kept else None


def text(document: dict[str, Any]) -> str:
    # "Provide your JSON as a UTF-8 encoded string without line breaks" (PutResourcePolicy).
    return json.dumps(document, separators=(",", ":"))


def fits(version_arn: str, environment: str, accounts: list[str]) -> bool:
    """The environment's statement alone fits the policy's 20,000 characters."""
    return len(text(with_statement(None, statement(version_arn, environment, accounts)))) <= MAX_CHARS
