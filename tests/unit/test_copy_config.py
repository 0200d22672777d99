"""A copy environment's config (strategy: copy): every bad input is a named error that says what to fix."""

from __future__ import annotations

from typing import Any

import pytest

from mlpromote.config import parse_config
from mlpromote.errors import InvalidConfig

BASE: dict[str, Any] = {
    "region": "us-east-1",
    "mlAccount": "111111111111",
    "environments": {"prod": {"accounts": ["333333333333", "444444444444"]}},
    "projects": {
        "tools": {
            "parameterName": "/mlpromote/tools/model-arn",
            "smokeTest": {"images": ["s3://mlpromote-smoke-111111111111/tools/hammer.jpg"], "expectLabels": ["hammer"]},
        }
    },
}


def config(**prod: Any) -> Any:
    data = {**BASE, "environments": {"prod": {**BASE["environments"]["prod"], **prod}}}
    return parse_config(data)


def test_share_is_the_default_and_copy_is_taken() -> None:
    assert config().environments["prod"].strategy == "share"
    copy = config(strategy="copy", deleteSupersededCopies=True).environments["prod"]
    assert (copy.strategy, copy.delete_superseded_copies) == ("copy", True)


@pytest.mark.parametrize(
    ("prod", "problem"),
    [
        ({"strategy": "clone"}, r"environments\.prod\.strategy: .*'share' or 'copy'"),
        ({"deleteSupersededCopies": True}, r"deleteSupersededCopies .* set strategy: copy"),
        ({"strategy": "copy", "deleteSupersededCopies": "yes"}, r"deleteSupersededCopies"),
        ({"strategy": "copy", "externalId": "abc-123"}, r"externalId harden the access role, which a copy environment"),
        (
            {"strategy": "copy", "vpcEndpointIds": ["vpce-0123456789abcdef0"]},
            r"vpcEndpointIds harden the access role",
        ),
        (
            {"strategy": "copy", "accounts": [f"{n:012d}" for n in range(1, 200)]},
            r"named in a project policy on the source project, which Rekognition limits to 2000 characters",
        ),
    ],
)
def test_a_bad_copy_environment_is_refused_by_name(prod: dict[str, Any], problem: str) -> None:
    with pytest.raises(InvalidConfig, match=problem):
        config(**prod)


def test_a_typo_in_strategy_keys_names_the_closest_key() -> None:
    with pytest.raises(InvalidConfig, match=r"deleteSupersededCopies"):
        config(strategy="copy", deleteSuperseededCopies=True)


def test_a_copy_environment_names_itself_when_its_accounts_do_not_fit_the_project_policy() -> None:
    with pytest.raises(InvalidConfig, match=r"environments\.prod: a copy environment's accounts"):
        config(strategy="copy", accounts=[f"{n:012d}" for n in range(1, 200)])


def test_a_copy_environment_with_a_comprehend_project_is_refused_by_name() -> None:
    """CopyProjectVersion copies Rekognition Custom Labels versions; Comprehend has nothing like it here."""
    data = {
        **BASE,
        "environments": {"prod": {**BASE["environments"]["prod"], "strategy": "copy"}},
        "projects": {
            **BASE["projects"],
            "tickets": {
                "service": "comprehend",
                "kind": "classifier",
                "parameterName": "/mlpromote/tickets/endpoint-arn",
                "smokeTest": {"texts": ["charged twice, please refund"], "expectClasses": ["billing"]},
            },
        },
    }
    with pytest.raises(InvalidConfig, match=r"environments\.prod: strategy: copy .* projects tickets are Comprehend's"):
        parse_config(data)
    data["environments"]["prod"]["strategy"] = "share"
    assert parse_config(data).environments["prod"].strategy == "share"
