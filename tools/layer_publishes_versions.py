"""Check, with SAM's own transform, that a deploy changing only a layer publishes new function versions.

The state machine names each function's published version (AutoPublishAlias), and the domain code
is in the layers. SAM names a function's version after a hash of what it publishes on: by default
the function's own code, so a change in a layer alone would leave every alias, and every new
execution, on the old layer versions (aws-sam-cli#7775). `AutoPublishAliasAllProperties: true` on
the function, with `PublishLambdaVersion: true` on the layer, folds the layer into that hash.

This transforms template.yaml twice, the shared layer packaged at two different S3 keys (what
`sam deploy` does when its content changes), and fails unless every aliased function gets a new
version. make runs it with the .tools/sam venv (samtranslator comes with aws-sam-cli):

    .tools/sam/bin/python tools/layer_publishes_versions.py template.yaml
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

LAYER = "SharedLayer"


class _NoLookups:
    """SAM's transform asks for managed policies and layers only for what the template names by ARN."""

    def load(self) -> dict[str, str]:
        return {}


def versions(template_path: Path, layer_key: str) -> dict[str, str]:
    """Function logical id -> the logical id of the version SAM publishes, the layer at `layer_key`."""
    from samtranslator.translator.transform import transform
    from samtranslator.yaml_helper import yaml_parse

    template: dict[str, Any] = yaml_parse(template_path.read_text())
    for name, resource in template["Resources"].items():
        properties = resource.setdefault("Properties", {})
        if resource["Type"] == "AWS::Serverless::Function":
            properties["CodeUri"] = f"s3://packaged/{name}.zip"
        elif resource["Type"] == "AWS::Serverless::LayerVersion":
            properties["ContentUri"] = f"s3://packaged/{name}-{layer_key if name == LAYER else 'same'}.zip"
        elif resource["Type"] == "AWS::Serverless::StateMachine":
            properties.pop("DefinitionUri", None)
            properties["Definition"] = {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}
    out = transform(template, {"AWS::Region": "us-east-1", "AWS::AccountId": "123456789012"}, _NoLookups())
    return {
        resource["Properties"]["FunctionName"]["Ref"]: name
        for name, resource in out["Resources"].items()
        if resource["Type"] == "AWS::Lambda::Version"
    }


def main(argv: list[str]) -> int:
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    path = Path(argv[1] if len(argv) > 1 else "template.yaml")
    before, after = versions(path, "one"), versions(path, "two")
    if not before:
        print(f"{path}: no function publishes a version (AutoPublishAlias)", file=sys.stderr)
        return 1
    same = sorted(function for function, version in before.items() if after.get(function) == version)
    if same:
        print(
            f"{path}: a change in {LAYER} alone publishes no new version of {', '.join(same)}: give each "
            f"AutoPublishAliasAllProperties: true, and {LAYER} PublishLambdaVersion: true",
            file=sys.stderr,
        )
        return 1
    print(f"{path}: a change in {LAYER} alone publishes a new version of each of the {len(before)} functions")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
