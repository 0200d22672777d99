from pathlib import Path
from typing import Any

import pytest

from mlpromote.config import load_config, parse_config
from mlpromote.errors import InvalidConfig, UnknownEnvironment, UnknownProject

REPO = Path(__file__).resolve().parents[2]


def good() -> dict[str, Any]:
    return {
        "region": "us-east-1",
        "mlAccount": "111111111111",
        "environments": {"qa": {"accounts": ["222222222222"]}, "prod": {"accounts": ["333333333333"]}},
        "projects": {
            "tools": {
                "parameterName": "/mlpromote/tools/model-arn",
                "smokeTest": {"images": ["s3://bucket-1/tools/hammer.jpg"], "expectLabels": ["hammer"]},
            }
        },
    }


def test_the_shipped_config_is_valid() -> None:
    config = load_config(REPO / "config" / "mlpromote.yaml")
    assert config.access_role_name("qa") == "mlpromote-access-qa"
    assert config.access_role_name("prod") == "mlpromote-access-prod"


def test_defaults() -> None:
    config = parse_config(good())
    project = config.project("tools")
    assert (project.min_inference_units, project.max_inference_units) == (1, None)
    assert project.smoke_test.min_confidence == 50
    assert config.environment("qa").retire_superseded is True
    assert config.workflow.start_timeout_minutes == 30
    assert config.access_role_arn("prod") == "arn:aws:iam::111111111111:role/mlpromote-access-prod"


def mutate(path: str, value: Any) -> dict[str, Any]:
    data = good()
    *parents, last = path.split(".")
    node = data
    for key in parents:
        node = node[key]
    if value is DELETE:
        del node[last]
    else:
        node[last] = value
    return data


DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "where", "what"),
    [
        ("mlAccount", "1111", "mlAccount", "is not an account id: 12 digits"),
        ("mlAccount", DELETE, "mlAccount", "required key is missing"),
        ("region", "Narnia", "region", "is not a region of the aws, aws-cn, aws-us-gov partitions"),
        ("region", "eu-centrl-1", "region", "did you mean 'eu-central-1'"),
        ("environments.qa.accounts", [], "environments.qa.accounts", "needs at least 1 entry"),
        (
            "environments.qa.accounts",
            ["22222222222x"],
            "environments.qa.accounts[0]",
            "is not an account id: 12 digits",
        ),
        ("environments.qa.accounts", ["222222222222", "222222222222"], "environments.qa.accounts", "listed twice"),
        ("environments.qa.acounts", ["222222222222"], "environments.qa.acounts", "unknown key"),
        ("environments.prod.accounts", ["222222222222"], "", "both environments.qa"),
        ("environments.prod.accounts", ["111111111111"], "", "lists the ML account"),
        ("projects.tools.parameterName", "/mlpromote/../etc", "projects.tools.parameterName", "not a valid SSM"),
        ("projects.tools.parameterName", "/aws/reserved", "projects.tools.parameterName", "reserves"),
        ("projects.tools.minInferenceUnits", 0, "projects.tools.minInferenceUnits", "greater than or equal"),
        ("projects.tools.maxInferenceUnits", 0, "projects.tools.maxInferenceUnits", "greater than or equal"),
        ("projects.tools.smokeTest.images", ["https://x/y.jpg"], "projects.tools.smokeTest.images", "s3://"),
        ("projects.tools.smokeTest.minConfidence", 101, "projects.tools.smokeTest.minConfidence", "less than"),
        ("projects.tools.smokeTest.expectLabels", [], "projects.tools.smokeTest.expectLabels", "at least 1"),
    ],
)
def test_every_problem_names_its_place_and_what_is_wrong(path: str, value: Any, where: str, what: str) -> None:
    with pytest.raises(InvalidConfig) as refused:
        parse_config(mutate(path, value))
    message = str(refused.value)
    # One problem is one line, "config: <where>: <what>"; several are listed under a heading.
    lines = message.splitlines()[1:] or [message.removeprefix("config: ")]
    assert any(line.startswith(f"{where}:" if where else "") and what in line for line in lines), lines


def test_max_units_below_min_units() -> None:
    data = good()
    data["projects"]["tools"] |= {"minInferenceUnits": 3, "maxInferenceUnits": 2}
    with pytest.raises(InvalidConfig, match="maxInferenceUnits \\(2\\) is below minInferenceUnits \\(3\\)"):
        parse_config(data)


@pytest.mark.parametrize("data", [None, [], "text", 3])
def test_not_a_mapping(data: Any) -> None:
    with pytest.raises(InvalidConfig, match="expected a mapping"):
        parse_config(data)


def test_file_problems(tmp_path: Path) -> None:
    with pytest.raises(InvalidConfig, match="does not exist"):
        load_config(tmp_path / "missing.yaml")
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    with pytest.raises(InvalidConfig, match="is empty"):
        load_config(empty)
    broken = tmp_path / "broken.yaml"
    broken.write_text("region: [unclosed")
    with pytest.raises(InvalidConfig, match="not valid YAML"):
        load_config(broken)


def test_unknown_names_list_the_known_ones() -> None:
    config = parse_config(good())
    with pytest.raises(UnknownEnvironment, match="known environments: prod, qa"):
        config.environment("staging")
    with pytest.raises(UnknownProject, match="known projects: tools"):
        config.project("widgets")
