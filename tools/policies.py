"""Every IAM policy mlpromote deploys or writes, as plain JSON documents.

    .venv/bin/python tools/policies.py --out DIR     # one DIR/<name>.json per policy, plus DIR/index.json

The sources:
- the SCPs in policies/scp/;
- every policy in template.yaml and templates/*.yaml (role trust and inline policies, VPC endpoint
  policies, SAM statement lists), with !Sub, !Ref, !GetAtt and !If resolved by the one resolver
  (mlpromote_emulator.cfn.Stack) to plausible values (account 111111111111 for the ML account,
  333333333333 for a target account, each parameter's default or a plausible value when the default
  is empty: the options switched on);
- the policies the code writes or renders: the access role's inline grants (mlpromote.grants), with
  and without vpcEndpointIds, and the access role's trust policy for a config that sets every
  trust-hardening key (mlpromote.iam_model).

`make policy-lint` runs parliament on all of them (tools/lint_policies.py); the authorization-matrix
test may read them too.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "layers"))

from mlpromote_emulator.cfn import Stack, load_template  # noqa: E402 (after the path)

ML_ACCOUNT = "111111111111"
TARGET_ACCOUNT = "333333333333"
REGION = "us-east-1"
# Plausible values for parameters whose default is empty (the option switched on).
PARAMETER_VALUES = {
    "MlAccountId": ML_ACCOUNT,
    "EndpointVpcId": "vpc-0123456789abcdef0",
    "EndpointSubnetIds": ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"],
    "EndpointSecurityGroupIds": ["sg-0123456789abcdef0"],
    "SmokeTestSubnetIds": ["subnet-0123456789abcdef0"],
    "SmokeTestSecurityGroupIds": ["sg-0123456789abcdef0"],
    "ApproverEmail": "approvers@example.com",
}
# A config that switches every trust-hardening and private-connectivity option on.
HARDENED_CONFIG: dict[str, Any] = {
    "region": REGION,
    "mlAccount": ML_ACCOUNT,
    "organizationId": "o-a1b2c3d4e5",
    "environments": {
        "prod": {
            "accounts": [TARGET_ACCOUNT, "444444444444"],
            "consumerRoleArns": [
                f"arn:aws:iam::{TARGET_ACCOUNT}:role/inventory-app",
                "arn:aws:iam::444444444444:role/service-role/inventory-*",
            ],
            "externalId": "mlpromote-prod-7f3a",
            "vpcEndpointIds": ["vpce-0123456789abcdef0", "vpce-0fedcba9876543210"],
        }
    },
    "projects": {
        "tools": {
            "parameterName": "/mlpromote/tools/model-arn",
            "smokeTest": {
                "images": [f"s3://mlpromote-smoke-{ML_ACCOUNT}/tools/hammer.jpg"],
                "expectLabels": ["hammer"],
            },
        }
    },
}
VERSIONS = [
    f"arn:aws:rekognition:{REGION}:{ML_ACCOUNT}:project/tools/version/v1/1700000001000",
    f"arn:aws:rekognition:{REGION}:{ML_ACCOUNT}:project/tools/version/v2/1700000002000",
]


def _statements_document(statements: list[Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": statements}


def template_policies(path: Path, account: str) -> dict[str, dict[str, Any]]:
    """Every policy document in one template, named <template>.<resource>.<what>."""
    template = load_template(path)
    # The options switched on: every parameter whose default is empty gets a plausible value.
    parameters = {name: ",".join(v) if isinstance(v, list) else v for name, v in PARAMETER_VALUES.items()}
    resolver = Stack(template, account, REGION, parameters=parameters, strict=False, generated_name="{logical}")
    stem = path.stem
    out: dict[str, dict[str, Any]] = {}
    for logical_id, resource in template.get("Resources", {}).items():
        kind, properties = resource["Type"], resource.get("Properties", {})
        prefix = f"{stem}.{logical_id}"
        if kind == "AWS::IAM::Role":
            out[f"{prefix}.trust"] = resolver.resolve(properties["AssumeRolePolicyDocument"])
            for policy in properties.get("Policies", []):
                out[f"{prefix}.{resolver.resolve(policy['PolicyName'])}"] = resolver.resolve(policy["PolicyDocument"])
        elif kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            out[f"{prefix}.policy"] = resolver.resolve(properties["PolicyDocument"])
        elif kind in (
            "AWS::EC2::VPCEndpoint",
            "AWS::SQS::QueuePolicy",
            "AWS::SNS::TopicPolicy",
            "AWS::S3::BucketPolicy",
        ):
            document = properties.get("PolicyDocument")
            if document is not None:
                out[f"{prefix}.resource-policy"] = resolver.resolve(document)
        elif kind in ("AWS::Serverless::Function", "AWS::Serverless::StateMachine"):
            # SAM policy templates (LambdaInvokePolicy: ...) and managed-policy names are AWS's;
            # inline statement lists are ours.
            policies = properties.get("Policies", [])
            for index, policy in enumerate(policies if isinstance(policies, list) else [policies]):
                if isinstance(policy, dict) and "Statement" in policy:
                    out[f"{prefix}.policies{index}"] = resolver.resolve(policy)
    return out


def code_policies() -> dict[str, dict[str, Any]]:
    """The policies the workflow writes at run time and the generated trust policies."""
    from mlpromote import grants, iam_model
    from mlpromote.config import parse_config

    out: dict[str, dict[str, Any]] = {}
    plain = grants.GrantPolicy()
    for version in VERSIONS:
        plain.grant(version)
    out["grants.access-role-inline"] = plain.document()
    private = grants.GrantPolicy()
    endpoints = HARDENED_CONFIG["environments"]["prod"]["vpcEndpointIds"]
    for version in VERSIONS:
        private.grant(version, endpoints)
    out["grants.access-role-inline-vpce"] = private.document()
    config = parse_config(HARDENED_CONFIG, "tools/policies.py HARDENED_CONFIG")
    out["iam_model.access-role-trust-hardened"] = iam_model.access_role_trust(config, "prod")
    out["iam_model.smoke-test-images"] = iam_model.smoke_test_images_policy(config)
    out["iam_model.smoke-test-role"] = iam_model.smoke_test_role_policy(config)
    out["iam_model.parameter-reader"] = iam_model.parameter_reader_policy(config, TARGET_ACCOUNT)
    out["iam_model.parameter-writer"] = iam_model.parameter_writer_policy(config, TARGET_ACCOUNT)
    out["iam_model.alarm-reader"] = iam_model.alarm_reader_policy()
    return out


def all_policies(repo: Path = REPO) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for path in sorted((repo / "policies" / "scp").glob("*.json")):
        out[f"scp.{path.stem}"] = json.loads(path.read_text(encoding="utf-8"))
    out.update(template_policies(repo / "template.yaml", ML_ACCOUNT))
    for path in sorted((repo / "templates").glob("*.yaml")):
        out.update(template_policies(path, TARGET_ACCOUNT if path.stem == "target-account" else ML_ACCOUNT))
    out.update(code_policies())
    return out


def kind_of(name: str, document: dict[str, Any]) -> str:
    """scp, trust, resource (a policy with Principal) or identity."""
    if name.startswith("scp."):
        return "scp"
    if name.endswith(".trust") or name.startswith("iam_model.access-role-trust"):
        return "trust"
    statements = document.get("Statement", [])
    statements = statements if isinstance(statements, list) else [statements]
    return "resource" if any("Principal" in s for s in statements) else "identity"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="directory for the JSON files")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for stale in args.out.glob("*.json"):
        stale.unlink()
    policies = all_policies()
    index = {}
    for name, document in policies.items():
        (args.out / f"{name}.json").write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        index[name] = kind_of(name, document)
    (args.out / "index.json").write_text(json.dumps(index, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"{len(policies)} policies written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
