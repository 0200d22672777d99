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


COMPREHEND = {
    "service": "comprehend",
    "kind": "classifier",
    "parameterName": "/mlpromote/tickets/endpoint-arn",
    "smokeTest": {"texts": ["charged twice, please refund"], "expectClasses": ["billing"]},
}


def test_a_copy_environment_may_hold_a_comprehend_project() -> None:
    """Comprehend copies with PutResourcePolicy and ImportModel (mlpromote.resource_policy)."""
    data = {
        **BASE,
        "environments": {"prod": {**BASE["environments"]["prod"], "strategy": "copy"}},
        "projects": {**BASE["projects"], "tickets": COMPREHEND},
    }
    assert parse_config(data).environments["prod"].strategy == "copy"


def test_a_comprehend_copy_environment_names_itself_when_its_accounts_do_not_fit_the_resource_policy() -> None:
    """One resource policy on the source version names the accounts: 20,000 characters, about 1,300 accounts
    with the longest version ARN; the environment is refused by name past that, accepted below it."""

    def data(accounts: int) -> dict[str, Any]:
        return {
            **BASE,
            "environments": {"prod": {"accounts": [f"{n:012d}" for n in range(2, accounts + 2)], "strategy": "copy"}},
            "projects": {"tickets": COMPREHEND},
        }

    with pytest.raises(InvalidConfig, match=r"environments\.prod: .* resource policy on the source model version"):
        parse_config(data(1_400))
    assert len(parse_config(data(1_200)).environments["prod"].accounts) == 1_200
