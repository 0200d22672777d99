"""The one CloudFormation reader and intrinsic resolver: the emulator deploys with it, and the policy
tools (tools/policies.py, tools/authorization_matrix.py) resolve the templates' policies with it.

`load_template` reads YAML with CloudFormation's short-form tags (!Ref, !Sub, !GetAtt, ...) as their
long form. `Stack` is a template as deployed in one account and region: it resolves Ref, Fn::Sub,
Fn::GetAtt, Fn::Join, Fn::Select, Fn::Split and Fn::If (evaluating the template's Conditions) to
the values CloudFormation would give them. It imports nothing heavier than PyYAML and
mlpromote.arns (partition data), so tools import it without starting the emulator.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mlpromote import arns

STACK_NAME = "mlpromote"
NO_VALUE = object()  # AWS::NoValue: the property or list item is left out


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


class CannotResolve(ValueError):
    """An intrinsic function, resource or parameter the resolver has no value for."""


# Physical name properties, in the order CloudFormation resources take them.
_NAME_KEYS = ("RoleName", "TableName", "FunctionName", "TopicName", "QueueName", "Name", "LogGroupName")
_ARN_ATTRIBUTES = ("Arn", "TopicArn")


@dataclass
class Stack:
    """A template as deployed in one account: resolves its intrinsic functions to concrete values.

    `parameters` override the template's defaults (a CommaDelimitedList as "a,b"). `strict`: an
    intrinsic the resolver cannot value raises CannotResolve; otherwise it gets a plausible value
    (the policy linter wants every document, the authorization matrix and the emulator want them right).
    """

    template: dict[str, Any]
    account: str
    region: str
    name: str = STACK_NAME
    parameters: Mapping[str, Any] = field(default_factory=dict)
    strict: bool = True
    # The physical name CloudFormation generates for a resource without a name property; here a
    # fixed one ({stack}, {logical}): the emulator names its functions by their logical ids.
    generated_name: str = "{stack}-{logical}-SAMPLE"

    @property
    def partition(self) -> str:
        return arns.partition_of(self.region)

    @property
    def resources(self) -> dict[str, Any]:
        return dict(self.template.get("Resources", {}))

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [item for item in (self.resolve(item) for item in value) if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, argument), *_ = value.items()
            if key == "Ref":
                return self.ref(argument)
            if key == "Fn::GetAtt":
                logical, attribute = argument if isinstance(argument, list) else str(argument).split(".", 1)
                return self.get_att(logical, attribute)
            if key == "Fn::Sub":
                return self.sub(argument)
            if key == "Fn::Join":
                separator, items = argument
                resolved = self.resolve(items)
                flat = [x for item in resolved for x in (item if isinstance(item, list) else [item])]
                return separator.join(str(item) for item in flat)
            if key == "Fn::Select":
                index, items = argument
                return self.resolve(items)[int(self.resolve(index))]
            if key == "Fn::Split":
                separator, text = argument
                return str(self.resolve(text)).split(separator)
            if key == "Fn::If":
                name, if_true, if_false = argument
                return self.resolve(if_true if self.condition(name) else if_false)
            if key.startswith("Fn::"):
                raise CannotResolve(f"{self.name}: cannot resolve {key}: {value!r}")
        out = {key: self.resolve(item) for key, item in value.items()}
        return {key: item for key, item in out.items() if item is not NO_VALUE}

    def condition(self, name: str) -> bool:
        return self._truth(self.template.get("Conditions", {})[name])

    def _truth(self, expression: Any) -> bool:
        (key, argument), *_ = expression.items()
        if key == "Condition":
            return self.condition(argument)
        if key == "Fn::Equals":
            return bool(self.resolve(argument[0]) == self.resolve(argument[1]))
        if key == "Fn::Not":
            return not self._truth(argument[0])
        if key == "Fn::And":
            return all(self._truth(item) for item in argument)
        if key == "Fn::Or":
            return any(self._truth(item) for item in argument)
        raise CannotResolve(f"{self.name}: cannot evaluate the condition {expression!r}")

    def included(self, resource: Mapping[str, Any]) -> bool:
        """Whether CloudFormation creates this resource: its Condition (if any) holds."""
        return "Condition" not in resource or self.condition(resource["Condition"])

    def parameter(self, name: str) -> Any:
        declared = self.template.get("Parameters", {}).get(name)
        if name in self.parameters:
            value = self.parameters[name]
        elif declared is not None and "Default" in declared:
            value = str(declared["Default"])
        else:
            raise CannotResolve(f"{self.name}: parameter {name} has no default; give the stack a value for it")
        if isinstance(value, list):
            return value
        if declared is not None and str(declared.get("Type", "")).startswith(("CommaDelimitedList", "List<")):
            return [part for part in str(value).split(",") if part]
        return value

    def ref(self, name: str) -> Any:
        pseudo = {
            "AWS::Partition": self.partition,
            "AWS::Region": self.region,
            "AWS::AccountId": self.account,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": self.name,
        }
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters or name in self.template.get("Parameters", {}):
            return self.parameter(name)
        kind, properties = self._resource(name)
        if kind == "AWS::IAM::Role":
            return self._name(name, properties, "RoleName")
        if kind == "AWS::DynamoDB::Table":
            return self._name(name, properties, "TableName")
        if kind == "AWS::SNS::Topic":
            return self.get_att(name, "TopicArn")
        if kind in ("AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine"):
            return self.get_att(name, "Arn")
        if kind in ("AWS::Serverless::Function", "AWS::Lambda::Function"):
            return self._name(name, properties, "FunctionName")
        if kind == "AWS::IAM::ManagedPolicy":
            policy = self._name(name, properties, "ManagedPolicyName")
            return f"arn:{self.partition}:iam::{self.account}:policy{properties.get('Path', '/')}{policy}"
        if kind == "AWS::SQS::Queue":
            queue = self._name(name, properties, "QueueName")
            return f"https://sqs.{self.region}.amazonaws.com/{self.account}/{queue}"
        if not self.strict:
            return self._name(name, properties, *_NAME_KEYS)
        raise CannotResolve(f"{self.name}: cannot resolve !Ref {name} ({kind})")

    def get_att(self, logical: str, attribute: str) -> str:
        kind, properties = self._resource(logical)
        region, account, partition = self.region, self.account, self.partition
        if attribute in _ARN_ATTRIBUTES:
            if kind == "AWS::IAM::Role":
                path = properties.get("Path", "/")
                return f"arn:{partition}:iam::{account}:role{path}{self._name(logical, properties, 'RoleName')}"
            if kind == "AWS::DynamoDB::Table":
                table = self._name(logical, properties, "TableName")
                return f"arn:{partition}:dynamodb:{region}:{account}:table/{table}"
            if kind in ("AWS::Serverless::Function", "AWS::Lambda::Function"):
                function = self._name(logical, properties, "FunctionName")
                return f"arn:{partition}:lambda:{region}:{account}:function:{function}"
            if kind in ("AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine"):
                machine = self._name(logical, properties, "Name", "StateMachineName")
                return f"arn:{partition}:states:{region}:{account}:stateMachine:{machine}"
            if kind == "AWS::SNS::Topic":
                return f"arn:{partition}:sns:{region}:{account}:{self._name(logical, properties, 'TopicName')}"
            if kind == "AWS::SQS::Queue":
                return f"arn:{partition}:sqs:{region}:{account}:{self._name(logical, properties, 'QueueName')}"
            if kind == "AWS::Logs::LogGroup":
                group = self._name(logical, properties, "LogGroupName")
                return f"arn:{partition}:logs:{region}:{account}:log-group:{group}:*"
            if kind == "AWS::Events::Rule":
                return f"arn:{partition}:events:{region}:{account}:rule/{self._name(logical, properties, 'Name')}"
        if not self.strict:
            if attribute in _ARN_ATTRIBUTES:
                service = kind.split("::")[1].lower()
                return f"arn:{partition}:{service}:{region}:{account}:{self._name(logical, properties, *_NAME_KEYS)}"
            return f"{logical}.{attribute}"
        raise CannotResolve(f"{self.name}: cannot resolve !GetAtt {logical}.{attribute} ({kind})")

    def sub(self, argument: Any) -> str:
        if isinstance(argument, list):
            text, variables = argument
            variables = {key: self.resolve(item) for key, item in variables.items()}
        else:
            text, variables = argument, {}

        def one(match: re.Match[str]) -> str:
            expression = match.group(1)
            if expression.startswith("!"):
                return "${" + expression[1:] + "}"
            if expression in variables:
                return str(variables[expression])
            if "." in expression and not expression.startswith("AWS::"):
                logical, attribute = expression.split(".", 1)
                return self.get_att(logical, attribute)
            value = self.ref(expression)
            return ",".join(value) if isinstance(value, list) else str(value)

        return re.sub(r"\$\{([^}]+)\}", one, str(text))

    def _resource(self, logical: str) -> tuple[str, dict[str, Any]]:
        resource = self.resources.get(logical)
        if resource is None:
            raise CannotResolve(f"{self.name}: no resource or parameter {logical!r}")
        return str(resource["Type"]), dict(resource.get("Properties", {}))

    def _name(self, logical: str, properties: Mapping[str, Any], *keys: str) -> str:
        for key in keys:
            if key in properties:
                return str(self.resolve(properties[key]))
        return self.generated_name.format(stack=self.name, logical=logical)
