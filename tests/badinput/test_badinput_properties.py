"""Property-based tests (hypothesis) for the two parsers that face users: version ARNs and configs.

Deterministic: the `mlpromote-badinput` profile derandomizes (the same examples on every run, so CI
is reproducible), keeps no example database and stops at 200 examples.
"""

from __future__ import annotations

import copy
import string
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import STANDARD_SCENARIO
from mlpromote.config import Config, parse_config
from mlpromote.errors import InvalidConfig, InvalidModelVersionArn, InvalidPromotionRequest
from mlpromote.plan import PromotionRequest
from mlpromote.versions import ModelVersionArn

settings.register_profile(
    "mlpromote-badinput",
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
PROFILE = settings.get_profile("mlpromote-badinput")

NAME_CHARACTERS = string.ascii_letters + string.digits + "_.-"
names = st.text(alphabet=NAME_CHARACTERS, min_size=1, max_size=255)
regions = st.from_regex(r"\A[a-z]{2}(-[a-z]{1,12}){1,3}-[0-9]\Z")
accounts = st.from_regex(r"\A[0-9]{12}\Z")
timestamps = st.integers(min_value=0, max_value=10**20 - 1).map(str)
partitions = st.sampled_from(["aws", "aws-cn", "aws-us-gov"])

json_leaves = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=40)
    | st.sampled_from(["111111111111", "us-east-1", "prod", "/mlpromote/x", "s3://b-b/k.jpg", "", " "])
)
json_like = st.recursive(
    json_leaves,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=20), children, max_size=5),
    max_leaves=30,
)


@PROFILE
@given(partition=partitions, region=regions, account=accounts, project=names, version=names, created=timestamps)
def test_a_valid_arn_round_trips(
    partition: str, region: str, account: str, project: str, version: str, created: str
) -> None:
    text = f"arn:{partition}:rekognition:{region}:{account}:project/{project}/version/{version}/{created}"
    parsed = ModelVersionArn.parse(text)
    assert (parsed.arn, parsed.partition, parsed.region, parsed.account) == (text, partition, region, account)
    assert (parsed.project, parsed.version, parsed.label) == (project, version, f"{project}/{version}")


@PROFILE
@given(st.text() | st.binary() | json_like)
def test_anything_else_is_an_invalid_arn_or_an_arn(value: Any) -> None:
    try:
        parsed = ModelVersionArn.parse(value)
    except InvalidModelVersionArn as error:
        assert str(error)
        return
    assert isinstance(value, str) and parsed.arn == value


# Characters that look harmless to a regex: line ends, other digits, look-alikes, separators.
TRICKY = st.sampled_from(["\n", "\r\n", " ", "\t", "\x00", "\uff11", "\u0661", "\u0969", "\uff1a", "/", ":", "*"])
damage = st.lists(TRICKY | st.characters(), max_size=3).map("".join)


@PROFILE
@given(prefix=damage, suffix=damage, project=names, cut=st.integers(min_value=0, max_value=120))
def test_a_damaged_arn_is_refused_or_exactly_an_arn(prefix: str, suffix: str, project: str, cut: int) -> None:
    arn = f"arn:aws:rekognition:us-east-1:111111111111:project/{project}/version/v1/1700000000000"
    damaged = prefix + arn[:cut] + suffix + arn[cut + 1 :]
    try:
        parsed = ModelVersionArn.parse(damaged)
    except InvalidModelVersionArn:
        return
    # Accepted: then it is exactly an ARN made of its parts and an ASCII timestamp, nothing hidden.
    head = f"arn:{parsed.partition}:rekognition:{parsed.region}:{parsed.account}:project/{parsed.project}/version/"
    created = damaged.removeprefix(f"{head}{parsed.version}/")
    assert damaged.startswith(head) and created != damaged
    assert created.isascii() and created.isdigit(), repr(created)
    assert parsed.account.isascii() and parsed.region.isascii()


@PROFILE
@given(json_like)
def test_any_config_document_is_a_config_or_invalid(data: Any) -> None:
    try:
        config = parse_config(data)
    except InvalidConfig as error:
        assert str(error) and "Traceback" not in str(error)
        return
    assert isinstance(config, Config)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside the standard config."""
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            out += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            out += _paths(child, (*prefix, index))
    return out


CONFIG_PATHS = _paths(STANDARD_SCENARIO["config"])


@PROFILE
@given(path=st.sampled_from(CONFIG_PATHS), replacement=json_like, drop=st.booleans())
def test_a_damaged_standard_config_is_a_config_or_invalid(path: tuple[Any, ...], replacement: Any, drop: bool) -> None:
    data = copy.deepcopy(STANDARD_SCENARIO["config"])
    parent = data
    for key in path[:-1]:
        parent = parent[key]
    if drop:
        del parent[path[-1]]
    else:
        parent[path[-1]] = replacement
    try:
        config = parse_config(data)
    except InvalidConfig as error:
        assert str(error)
        return
    assert isinstance(config, Config)


@PROFILE
@given(json_like)
def test_any_request_is_a_request_or_invalid(data: Any) -> None:
    try:
        PromotionRequest.parse(data)
    except InvalidPromotionRequest as error:
        assert str(error)


def test_the_profile_is_deterministic_and_bounded() -> None:
    assert PROFILE.derandomize and PROFILE.database is None
    assert PROFILE.max_examples == 200 and PROFILE.deadline is None


@pytest.mark.parametrize("path", [("environments", "prod", "accounts", 0), ("projects", "tools", "parameterName")])
def test_the_config_paths_reach_the_leaves(path: tuple[Any, ...]) -> None:
    assert path in CONFIG_PATHS
