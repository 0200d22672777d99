"""Lint every policy tools/policies.py exported with parliament; fail on any finding not justified here.

    .tools/security/bin/python tools/lint_policies.py DIR

Runs in the security tools' venv (parliament; no project imports). Trust policies have no Resource
(the role is the resource): the role's ARN is added before linting, so parliament checks the
action against it. Community auditors are on.

Each entry of JUSTIFIED accepts one kind of finding, only where its test says the finding is the
design, and says why. An entry that accepts nothing fails the run too, so none outlives its reason.
"""

from __future__ import annotations

import fnmatch
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from parliament import analyze_policy_string

TRUSTING_ROLE = "arn:aws:iam::111111111111:role/the-role-this-trust-policy-belongs-to"


def _statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    statements = document.get("Statement", [])
    return statements if isinstance(statements, list) else [statements]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _resources_of(document: dict[str, Any], action: str) -> list[str]:
    """Resources of the Allow statements that name `action` (case-insensitive)."""
    out: list[str] = []
    for statement in _statements(document):
        actions = [a.lower() for a in _as_list(statement.get("Action", []))]
        if statement.get("Effect") == "Allow" and action.lower() in actions:
            out += _as_list(statement.get("Resource", []))
    return out


def _only(document: dict[str, Any], action: str, patterns: tuple[str, ...]) -> bool:
    resources = _resources_of(document, action)
    return bool(resources) and all(any(fnmatch.fnmatch(r, p) for p in patterns) for r in resources)


# mlpromote's own roles: the only ones any mlpromote role may assume or write policies on.
TARGET_ROLES = (
    "arn:aws:iam::*:role/mlpromote-parameter-reader",
    "arn:aws:iam::*:role/mlpromote-parameter-writer",
    "arn:aws:iam::*:role/mlpromote-alarm-reader",
    "arn:aws:iam::*:role/mlpromote-smoke-test",
    # Copy environments (strategy: copy): copy in (CopyProjectVersion, ImportModel), read, stop and delete copies.
    "arn:aws:iam::*:role/mlpromote-model-copier",
    "arn:aws:iam::*:role/mlpromote-model-reader",
    "arn:aws:iam::*:role/mlpromote-model-retirer",
)
ACCESS_ROLES = ("arn:aws:iam::*:role/mlpromote-access-*",)
# templates/organization-reader.yaml: read-only Organizations lists in the management account, trusted
# only by the control-plane roles that resolve OU environments.
ORGANIZATION_READER = ("arn:aws:iam::*:role/mlpromote-organization-reader",)


@dataclass(frozen=True)
class Justified:
    issue: str
    why: str
    applies: Callable[[str, str, dict[str, Any], Any], bool]


def _actions(finding: Any) -> set[str]:
    """The actions a community auditor's finding names (it puts them in the location)."""
    found: set[str] = set()
    for part in (finding.detail, finding.location):
        if isinstance(part, dict):
            found |= {a.lower() for a in part.get("actions", [])}
    return found


# Assuming a role, and passing the promotion's requester on as its source identity (mlpromote.aws.sessions).
ASSUMING = {"sts:assumerole", "sts:setsourceidentity"}

JUSTIFIED = [
    Justified(
        "CREDENTIALS_EXPOSURE",
        "A trust policy says who may call sts:AssumeRole on its own role: that is what it is for",
        lambda name, kind, doc, f: kind == "trust" and bool(_actions(f)) and _actions(f) <= ASSUMING,
    ),
    Justified(
        "CREDENTIALS_EXPOSURE",
        "Role chaining is the design: control-plane functions assume only the target accounts' "
        "mlpromote roles (smoke-test, parameter-reader, parameter-writer, alarm-reader, and the copy roles "
        "model-copier, model-reader, model-retirer) and the management "
        "account's read-only organization reader, the smoke-test role only the ML account's access roles, "
        "and the STS endpoint admits only that",
        lambda name, kind, doc, f: (
            bool(_actions(f))
            and _actions(f) <= ASSUMING
            and _only(doc, "sts:AssumeRole", TARGET_ROLES + ACCESS_ROLES + ORGANIZATION_READER)
            and (
                not _resources_of(doc, "sts:SetSourceIdentity")
                or _only(doc, "sts:SetSourceIdentity", TARGET_ROLES + ORGANIZATION_READER)
            )
        ),
    ),
    Justified(
        "PERMISSIONS_MANAGEMENT_ACTIONS",
        "Granting is the product: grant-access, retire, compensate (and drift repair) write the access "
        "roles' mlpromote-grants inline policy, and nothing else (the SCP ml-account.json keeps everyone "
        "else off it)",
        lambda name, kind, doc, f: (
            _actions(f) <= {"iam:putrolepolicy", "iam:deleterolepolicy"}
            and all(_only(doc, a, ACCESS_ROLES) for a in _actions(f))
        ),
    ),
    Justified(
        "PRIVILEGE_ESCALATION",
        "PutRolePolicy reaches only the access roles, which trust the target accounts, not the control "
        "plane; AssumeRole reaches only the target accounts' mlpromote roles and the organization reader. "
        "No role here can write a policy on a role it can assume",
        lambda name, kind, doc, f: (
            _only(doc, "iam:PutRolePolicy", ACCESS_ROLES)
            and _only(doc, "sts:AssumeRole", TARGET_ROLES + ORGANIZATION_READER)
        ),
    ),
    Justified(
        "PERMISSIONS_MANAGEMENT_ACTIONS",
        "Step Functions' log delivery to CloudWatch Logs needs logs:PutResourcePolicy on the log group's "
        "resource policy (docs: 'IAM policies for logging to CloudWatch Logs')",
        lambda name, kind, doc, f: (
            name == "template.WorkflowRole.mlpromote-workflow" and _actions(f) == {"logs:putresourcepolicy"}
        ),
    ),
    Justified(
        "RESOURCE_STAR",
        "The bake reads rollback alarms with DescribeAlarms; scoped to alarm ARNs it silently leaves out "
        "composite alarms, so it needs '*' (it only reads alarm states)",
        lambda name, kind, doc, f: f.detail == ["cloudwatch:DescribeAlarms"],
    ),
    Justified(
        "RESOURCE_MISMATCH",
        "parliament 1.6.4's data marks both the execution and the express ARN required for "
        "states:DescribeExecution; a standard workflow's execution ARN is the right one",
        lambda name, kind, doc, f: (
            isinstance(f.detail, list)
            and all(
                d.get("action") == "states:DescribeExecution" and ":express:" in d.get("required_format", "")
                for d in f.detail
            )
        ),
    ),
]


def lint(directory: Path) -> int:
    index: dict[str, str] = json.loads((directory / "index.json").read_text(encoding="utf-8"))
    used: set[int] = set()
    failures = 0
    for name, kind in sorted(index.items()):
        document = json.loads((directory / f"{name}.json").read_text(encoding="utf-8"))
        linted = json.loads(json.dumps(document))
        if kind == "trust":
            for statement in _statements(linted):
                statement.setdefault("Resource", TRUSTING_ROLE)
        policy = analyze_policy_string(json.dumps(linted, indent=2), filepath=name, include_community_auditors=True)
        for finding in policy.findings:
            justified = next(
                (
                    i
                    for i, j in enumerate(JUSTIFIED)
                    if j.issue == finding.issue and j.applies(name, kind, document, finding)
                ),
                None,
            )
            if justified is None:
                failures += 1
                print(f"FAIL {name} ({kind}): {finding.issue} {finding.detail} at {finding.location}")
            else:
                used.add(justified)
    for index_, entry in enumerate(JUSTIFIED):
        if index_ not in used:
            failures += 1
            print(f"FAIL stale justification (nothing needs it any more; remove it): {entry.issue}: {entry.why}")
    print(f"parliament: {len(index)} policies, {failures} unjustified finding(s), {len(used)} justified kind(s) used")
    return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(lint(Path(sys.argv[1])))
