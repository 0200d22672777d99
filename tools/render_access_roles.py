"""Render templates/access-roles.yaml for a config file: one access role per environment.

    .venv/bin/python tools/render_access_roles.py config/mlpromote.yaml --output templates/access-roles.yaml

Without --output it prints the template. With it, the file is replaced only by a complete template
(written next to it, then renamed over it): a bad config leaves it as it was. A bad config, or an
output that cannot be written, is refused with a named error on stderr and exit status 2.

Each role is named as the config names it (`accessRoleName`, else accessRolePrefix + <env>) and is
trusted by that environment's accounts only, narrowed by consumerRoleArns, organizationId and
externalId when the config sets them (mlpromote.iam_model.access_role_trust). Its only
policy here lets it read the smoke-test images; the workflow owns its `mlpromote-grants`
inline policy and writes it at run time. Every role carries the permissions boundary
`<accessRolePrefix>boundary` (mlpromote.iam_model.access_role_boundary), a managed policy of this
template: whatever its inline policies say, an access role can only call model versions and read
the smoke-test images, and the grant writers may write only to roles that carry it.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "layers"))

from mlpromote import iam_model
from mlpromote.config import Config, load_config
from mlpromote.errors import InvalidConfig

EXIT_BAD_INPUT = 2


class CannotWriteOutput(Exception):
    """The --output file cannot be written (a missing directory, no permission, ...)."""


def logical_id(environment: str) -> str:
    words = re.split(r"[^A-Za-z0-9]+", environment)
    return "AccessRole" + "".join(word[:1].upper() + word[1:] for word in words if word)


def _why_accounts(trust: dict[str, Any]) -> str:
    """The in-place justification of trusting account principals (checkov CKV_AWS_61)."""
    conditions = trust["Statement"][0].get("Condition", {})
    keys = sorted(key for block in conditions.values() for key in block)
    how = (
        f"; narrowed here by {', '.join(keys)}"
        if keys
        else "; narrow it with consumerRoleArns, organizationId and externalId (docs/security.md)"
    )
    return (
        "Trusting the environment's accounts is the design: each target account's own IAM decides which of its "
        "principals may assume this role, and the role may only call the versions its grants list" + how
    )


# Not of the form AccessRole<Env>, so no environment's role can take its logical id.
BOUNDARY_LOGICAL_ID = "AccessBoundary"


def render(config: Config, source: str) -> str:
    resources: dict[str, object] = {
        BOUNDARY_LOGICAL_ID: {
            "Type": "AWS::IAM::ManagedPolicy",
            "Properties": {
                "ManagedPolicyName": iam_model.access_role_boundary_name(config),
                "Description": "mlpromote: the permissions boundary of every access role (call model versions, "
                "read the smoke-test images, nothing else).",
                "PolicyDocument": iam_model.access_role_boundary(config),
            },
        }
    }
    outputs: dict[str, object] = {}
    for environment in sorted(config.environments):
        logical = logical_id(environment)
        if logical in resources:
            raise InvalidConfig(
                f"environments {environment!r} and another map to the same logical id {logical}: rename one"
            )
        name = config.access_role_name(environment)
        trust = iam_model.access_role_trust(config, environment)
        too_large, large = iam_model.trust_policy_findings(config, environment)
        if too_large:
            raise InvalidConfig(too_large)
        if large:
            print(f"warning: {large}", file=sys.stderr)
        resources[logical] = {
            "Type": "AWS::IAM::Role",
            "Metadata": {"checkov": {"skip": [{"id": "CKV_AWS_61", "comment": _why_accounts(trust)}]}},
            "Properties": {
                "RoleName": name,
                "Description": f"mlpromote access role of environment {environment}: its accounts call "
                "the models granted to it (inline policy mlpromote-grants, written by the workflow).",
                "AssumeRolePolicyDocument": trust,
                "PermissionsBoundary": {"Ref": BOUNDARY_LOGICAL_ID},
                "Policies": [
                    {"PolicyName": "mlpromote-smoke-test-images", "PolicyDocument": images}
                    for images in [iam_model.smoke_test_images_policy(config)]
                    if images["Statement"]
                ],
            },
        }
        outputs[f"{logical}Arn"] = {"Value": {"Fn::GetAtt": [logical, "Arn"]}}
    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "mlpromote access roles, one per environment (ML account). "
        "Generated by tools/render_access_roles.py; do not edit.",
        "Resources": resources,
        "Outputs": outputs,
    }
    header = (
        f"# GENERATED by tools/render_access_roles.py from {source}; do not edit.\n"
        f"# Regenerate: .venv/bin/python tools/render_access_roles.py {source} --output templates/access-roles.yaml\n"
    )
    return header + yaml.safe_dump(template, sort_keys=False, width=120)


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` with `text` in one rename: a reader (or a failure half-way) never sees half a file."""
    try:
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    except OSError as error:
        raise CannotWriteOutput(f"cannot write {path}: {error.strerror or error}") from None
    temporary: str | None = None
    try:
        with tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False
        ) as file:
            temporary = file.name
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
        temporary = None
    except OSError as error:
        raise CannotWriteOutput(f"cannot write {path}: {error.strerror or error}") from None
    finally:
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", nargs="?", default="config/mlpromote.yaml", help="the mlpromote config file")
    parser.add_argument(
        "--output",
        type=Path,
        metavar="FILE",
        help="write the template to FILE, replacing it only with a complete one (default: print it)",
    )
    args = parser.parse_args(argv)
    try:
        text = render(load_config(Path(args.config)), args.config)
        if args.output is None:
            sys.stdout.write(text)
        else:
            write_atomically(args.output, text)
    except (InvalidConfig, CannotWriteOutput) as error:
        print(f"{type(error).__name__}: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return 0


if __name__ == "__main__":
    sys.exit(main())
