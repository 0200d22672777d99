"""The names the config and the templates share have one source: the config's defaults are the
templates' defaults, samconfig.toml passes the shipped config's values, the README's StackSet command
passes them too, and iam_model's target-role policies (which the emulator seeds) cover what the
target-account template's do."""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path

from mlpromote import iam_model
from mlpromote.config import Config, load_config
from mlpromote_emulator.runtime import load_template

REPO = Path(__file__).resolve().parents[1]
TEMPLATES = [REPO / "template.yaml", REPO / "templates" / "target-account.yaml"]


def _defaults() -> tuple[str, str]:
    fields = Config.model_fields
    return str(fields["parameter_path_prefix"].default), str(fields["access_role_prefix"].default)


def test_the_template_defaults_are_the_config_defaults() -> None:
    path_prefix, role_prefix = _defaults()
    for path in TEMPLATES:
        parameters = load_template(path)["Parameters"]
        # The templates write the path without its leading slash: parameter/${ParameterPathPrefix}/*.
        assert "/" + parameters["ParameterPathPrefix"]["Default"] == path_prefix, path.name
        assert parameters["AccessRolePrefix"]["Default"] == role_prefix, path.name
        assert re.fullmatch(parameters["ParameterPathPrefix"]["AllowedPattern"], path_prefix.lstrip("/"))
        assert re.fullmatch(parameters["AccessRolePrefix"]["AllowedPattern"], role_prefix)


def _overrides(text: str) -> dict[str, str]:
    return dict(item.split("=", 1) for item in shlex.split(text))


def test_samconfig_passes_the_shipped_configs_names_to_the_control_plane() -> None:
    config = load_config(REPO / "config" / "mlpromote.yaml")
    samconfig = tomllib.loads((REPO / "samconfig.toml").read_text())

    overrides = _overrides(samconfig["default"]["deploy"]["parameters"]["parameter_overrides"])

    assert overrides == {
        "ParameterPathPrefix": config.parameter_path_prefix.lstrip("/"),
        "AccessRolePrefix": config.access_role_prefix,
    }


def test_the_readme_deploys_the_target_accounts_with_the_configs_names() -> None:
    config = load_config(REPO / "config" / "mlpromote.yaml")
    readme = (REPO / "README.md").read_text()

    [command] = re.findall(r"aws cloudformation create-stack-set .*?--permission-model", readme, re.S)
    assert f"ParameterKey=ParameterPathPrefix,ParameterValue={config.parameter_path_prefix.lstrip('/')}" in command
    assert f"ParameterKey=AccessRolePrefix,ParameterValue={config.access_role_prefix}" in command
    assert "tools/render_access_roles.py config/mlpromote.yaml --output templates/access-roles.yaml" in readme


def test_iam_models_target_role_policies_are_the_templates_with_the_configs_names() -> None:
    config = load_config(REPO / "config" / "mlpromote.yaml")
    resources = load_template(REPO / "templates" / "target-account.yaml")["Resources"]

    def template_resource(logical: str) -> str:
        [statement, *_] = resources[logical]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        sub = statement["Resource"]["Fn::Sub"]
        return str(
            sub.replace("${AWS::Partition}", "aws")
            .replace("ssm:*:", f"ssm:{config.region}:")
            .replace("${AWS::AccountId}", "333333333333")
            .replace("${MlAccountId}", config.ml_account)
            .replace("${ParameterPathPrefix}", config.parameter_path_prefix.lstrip("/"))
            .replace("${AccessRolePrefix}", config.access_role_prefix)
        )

    for logical, field in (("ParameterReaderRole", "parameter_reader"), ("ParameterWriterRole", "parameter_writer")):
        [statement] = iam_model.target_role_policy(config, field, "333333333333")["Statement"]
        assert statement["Resource"] == [template_resource(logical)], logical
    [assume, *_] = iam_model.smoke_test_role_policy(config)["Statement"]
    assert assume["Resource"] == template_resource("SmokeTestRole")
