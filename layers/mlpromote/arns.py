"""Every ARN mlpromote writes, built in one place from the partition of the config's region.

A region belongs to one partition (`aws`, `aws-cn`, `aws-us-gov`), and every ARN in it starts
`arn:<partition>:`; a role ARN written `arn:aws:` is not a role at all in Beijing or GovCloud.
Which regions exist, and in which partition, is botocore's partition data
(botocore/data/partitions.json), the same file the SDK resolves endpoints with, so a new region
is known as soon as botocore is upgraded.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache

# The partitions mlpromote supports: Rekognition Custom Labels, Step Functions and the rest of the
# control plane exist there. The isolated partitions (aws-iso*, aws-eusc) are left out on purpose.
PARTITIONS = ("aws", "aws-cn", "aws-us-gov")


class UnknownRegion(ValueError):
    """A region no supported partition has. A ValueError, so the config reports it at `region`."""


@lru_cache(maxsize=1)
def known_regions() -> dict[str, str]:
    """Region name -> partition, for every region of PARTITIONS that botocore knows.

    Read once per process (a Lambda container): partitions.json is a few KB, and botocore's loader is
    imported only here, on first use, not at import of the config.
    """
    from botocore.loaders import create_loader

    data = create_loader().load_data("partitions")
    regions: dict[str, str] = {}
    for partition in data["partitions"]:
        if partition["id"] in PARTITIONS:
            for region in partition["regions"]:
                # `aws-global`, `aws-cn-global`: endpoint aliases for global services, not regions.
                if not region.endswith("-global"):
                    regions[region] = partition["id"]
    return regions


def partition_of(region: str) -> str:
    """The partition of a known region; UnknownRegion, with the closest known names, otherwise."""
    regions = known_regions()
    try:
        return regions[region]
    except KeyError:
        raise UnknownRegion(unknown_region_message(region)) from None


def unknown_region_message(region: str) -> str:
    close = difflib.get_close_matches(region, list(known_regions()), n=2, cutoff=0.6)
    hint = f"; did you mean {' or '.join(repr(name) for name in close)}?" if close else ""
    return f"{region[:60]!r} is not a region of the {', '.join(PARTITIONS)} partitions{hint}"


def role(partition: str, account: str, name: str) -> str:
    """An IAM role. `name` may carry a path (`service-role/app`)."""
    return f"arn:{partition}:iam::{account}:role/{name}"


def user(partition: str, account: str, name: str) -> str:
    return f"arn:{partition}:iam::{account}:user/{name}"


def iam_policy(partition: str, account: str, name: str) -> str:
    """A customer managed policy."""
    return f"arn:{partition}:iam::{account}:policy/{name}"


def account_root(partition: str, account: str) -> str:
    """The account as a principal: whoever that account's own IAM lets act."""
    return f"arn:{partition}:iam::{account}:root"


def organization_path(organization: str, unit: str) -> str:
    """The aws:PrincipalOrgPaths pattern of an OU and its child OUs: a path is o-.../r-.../ou-.../ (each OU
    from the root down), so `<org>/*/<ou>/*` matches the OU wherever it sits and every OU below it (IAM
    User Guide, "Understand the AWS Organizations entity path")."""
    return f"{organization}/*/{unit}/*"


def ssm_parameter(partition: str, region: str, account: str, name: str) -> str:
    # A hierarchical name's leading slash is not repeated after `parameter` (SSM's ARN format).
    return f"arn:{partition}:ssm:{region}:{account}:parameter/{name.lstrip('/')}"


def s3_object(partition: str, bucket: str, key: str) -> str:
    return f"arn:{partition}:s3:::{bucket}/{key}"


def rekognition_project(partition: str, region: str, account: str, project: str, created: int) -> str:
    return f"arn:{partition}:rekognition:{region}:{account}:project/{project}/{created}"


def rekognition_version(partition: str, region: str, account: str, project: str, version: str, created: int) -> str:
    return f"arn:{partition}:rekognition:{region}:{account}:project/{project}/version/{version}/{created}"


def copy_output_bucket(account: str, region: str) -> str:
    """The bucket templates/target-account.yaml creates in each target account for CopyProjectVersion's
    OutputConfig (a required parameter: where the copy's training output goes)."""
    return f"mlpromote-copies-{account}-{region}"


def comprehend_model(partition: str, region: str, account: str, kind: str, name: str) -> str:
    """A Comprehend custom model without a version (`kind`: document-classifier or entity-recognizer):
    what mlpromote calls the project of its versions."""
    return f"arn:{partition}:comprehend:{region}:{account}:{kind}/{name}"


def comprehend_model_version(partition: str, region: str, account: str, kind: str, name: str, version: str) -> str:
    return f"{comprehend_model(partition, region, account, kind, name)}/version/{version}"


# The model version ARNs mlpromote promotes, one shape per service, parsed in one way
# (mlpromote.versions.ModelVersionArn.parse). ASCII classes only ([0-9], not \d, which admits every
# script's digits), matched with fullmatch (a "$" would admit a trailing newline).
_PARTITION = rf"(?P<partition>{'|'.join(re.escape(p) for p in PARTITIONS)})"
_REGION = r"(?P<region>[a-z]{2}(-[a-z]+)+-[0-9])"
_ACCOUNT = r"(?P<account>[0-9]{12})"
# Comprehend's model and version names: 1-63 of [a-zA-Z0-9] with single or repeated hyphens between
# (botocore's ComprehendArnName and VersionName).
_COMPREHEND_NAME = r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"


@dataclass(frozen=True)
class ModelVersionShape:
    """How one service's model version ARN is written, and what to tell whoever gives another."""

    service: str
    # What a refused ARN is not ("... is not a <title> ARN") and the form it should have.
    title: str
    expected: str
    pattern: re.Pattern[str]
    max_length: int

    def match(self, text: str) -> dict[str, str] | None:
        """The ARN's partition, region, account, project, version and kind; None if it has another shape."""
        found = self.pattern.fullmatch(text) if len(text) <= self.max_length else None
        if found is None:
            return None
        # Rekognition's shape has no kind: its versions' kind is the service's name.
        return {"kind": self.service, **{k: v for k, v in found.groupdict().items() if v is not None}}


MODEL_VERSION_SHAPES = {
    # arn:aws:rekognition:REGION:ACCOUNT:project/NAME/version/VERSION/TIMESTAMP (rekognition_version):
    # project and version names 1-255 of [a-zA-Z0-9_.-], the timestamp epoch milliseconds; at most
    # 2048 characters (botocore's ProjectVersionArn).
    "rekognition": ModelVersionShape(
        service="rekognition",
        title="Rekognition Custom Labels model version",
        expected="arn:aws:rekognition:REGION:ACCOUNT:project/PROJECT/version/VERSION/TIMESTAMP "
        "(copy it from DescribeProjectVersions or the console)",
        pattern=re.compile(
            rf"arn:{_PARTITION}:rekognition:{_REGION}:{_ACCOUNT}:project/(?P<project>[a-zA-Z0-9_.\-]{{1,255}})"
            r"/version/(?P<version>[a-zA-Z0-9_.\-]{1,255})/(?P<created>[0-9]{1,20})"
        ),
        max_length=2048,
    ),
    # arn:aws:comprehend:REGION:ACCOUNT:document-classifier/NAME/version/VERSION, or entity-recognizer/
    # (comprehend_model_version; botocore's DocumentClassifierArn / EntityRecognizerArn, at most 256
    # characters). mlpromote promotes versions, so the /version/ part is required here although
    # Comprehend allows a model without one.
    "comprehend": ModelVersionShape(
        service="comprehend",
        title="Comprehend custom model version",
        expected="arn:aws:comprehend:REGION:ACCOUNT:document-classifier/NAME/version/VERSION (or "
        "entity-recognizer/NAME/version/VERSION), at most 256 characters; a model trained without a "
        "VersionName cannot be promoted: train a version",
        pattern=re.compile(
            rf"arn:{_PARTITION}:comprehend:{_REGION}:{_ACCOUNT}:(?P<kind>document-classifier|entity-recognizer)"
            rf"/(?P<project>{_COMPREHEND_NAME})/version/(?P<version>{_COMPREHEND_NAME})"
        ),
        max_length=256,
    ),
}


def model_version_shape(text: str) -> ModelVersionShape:
    """The shape an ARN is held to: its service's (the third field), Rekognition's for anything else
    (the first service, and what a refused non-ARN is told to give)."""
    fields = text.split(":", 3)
    service = fields[2] if text.startswith("arn:") and len(fields) > 2 else ""
    return MODEL_VERSION_SHAPES.get(service, MODEL_VERSION_SHAPES["rekognition"])


# CreateEndpoint's EndpointName: at most 40 of [a-zA-Z0-9] and hyphens (botocore's ComprehendEndpointName).
COMPREHEND_ENDPOINT_PREFIX = "mlpromote-"
_ENDPOINT_HASH_CHARS = 40 - len(COMPREHEND_ENDPOINT_PREFIX)


def comprehend_endpoint_name(model_version_arn: str) -> str:
    """The name of the endpoint mlpromote creates for a model version: one per version, the same every
    time (a retried or a second promotion finds it), derived from the whole ARN because a model's name
    and version (up to 63 characters each) do not fit in an endpoint's 40."""
    return COMPREHEND_ENDPOINT_PREFIX + hashlib.sha256(model_version_arn.encode()).hexdigest()[:_ENDPOINT_HASH_CHARS]


def comprehend_endpoint(model_version_arn: str) -> str:
    """The endpoint ARN that serves a Comprehend model version (document-classifier-endpoint/NAME or
    entity-recognizer-endpoint/NAME, in the model's account and region)."""
    head, resource = model_version_arn.split(":", 5)[:5], model_version_arn.split(":", 5)[5]
    kind = resource.split("/", 1)[0]
    return f"{':'.join(head)}:{kind}-endpoint/{comprehend_endpoint_name(model_version_arn)}"


def lambda_function(partition: str, region: str, account: str, name: str) -> str:
    return f"arn:{partition}:lambda:{region}:{account}:function:{name}"


def state_machine(partition: str, region: str, account: str, name: str) -> str:
    return f"arn:{partition}:states:{region}:{account}:stateMachine:{name}"


def account_of(arn: str) -> str:
    """The account an ARN names (its fifth field)."""
    return arn.split(":", 5)[4]


def region_of_arn(arn: str) -> str:
    """The region an ARN names (its fourth field; empty for global resources such as IAM's)."""
    return arn.split(":", 4)[3]
