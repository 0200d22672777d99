"""Reading CloudFormation/SAM templates: YAML with short-form tags (!Ref, !Sub, !GetAtt, ...).

The emulator deploys from template.yaml with it; the policy tools (tools/) resolve the templates'
policies with it. It imports nothing heavier than PyYAML.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


class CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation short-form tags (!GetAtt, !Ref, !Sub, ...) as their long form."""


def _cfn_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


CfnLoader.add_multi_constructor("!", _cfn_tag)


def load_template_text(text: str) -> dict[str, Any]:
    return dict(yaml.load(text, Loader=CfnLoader))


def load_template(path: Path) -> dict[str, Any]:
    return load_template_text(path.read_text(encoding="utf-8"))
