"""The project policy that lets a copy environment's accounts copy one version (Rekognition Custom Labels).

A project policy sits on the ML account's source project and may only allow rekognition:CopyProjectVersion
(Custom Labels guide, "Creating a project policy document":
https://docs.aws.amazon.com/rekognition/latest/customlabels-dg/md-create-project-policy-document.html);
the document is at most 2,000 characters and a project holds at most 5 of them (PutProjectPolicy, and the
guide's quotas). mlpromote writes one per environment, named after it, allowing exactly the environment's
accounts (by account id, the shortest principal IAM syntax has, so the most accounts fit) to copy exactly the
promoted version, and deletes it once the copies are done.
"""

from __future__ import annotations

import json
from typing import Any

MAX_CHARS = 2000
PER_PROJECT = 5
# Version names are at most 255 characters (CreateProjectVersion): the longest ARN a policy may have to name.
LONGEST_VERSION_NAME = 255


def policy_name(environment: str) -> str:
    """One policy per environment: two environments copying at once never write the same document."""
    return f"mlpromote-copy-{environment}"


def document(version_arn: str, accounts: list[str]) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "CopyThisVersionIntoTheEnvironmentsAccounts",
                "Effect": "Allow",
                "Principal": {"AWS": sorted(accounts)},
                "Action": "rekognition:CopyProjectVersion",
                "Resource": version_arn,
            }
        ],
    }


def text(version_arn: str, accounts: list[str]) -> str:
    return json.dumps(document(version_arn, accounts), separators=(",", ":"))


def fits(version_arn: str, accounts: list[str]) -> bool:
    return len(text(version_arn, accounts)) <= MAX_CHARS
