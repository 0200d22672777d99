"""Model versions: their ARNs and their lifecycle."""

from __future__ import annotations

import re
from dataclasses import dataclass

from mlpromote.errors import InvalidModelVersionArn, ModelVersionNotPromotable

# arn:aws:rekognition:REGION:ACCOUNT:project/NAME/version/VERSION/TIMESTAMP
# Project and version names: 1-255 of [a-zA-Z0-9_.-]; the timestamp is epoch milliseconds.
# ASCII classes only ([0-9], not \d, which admits every script's digits), matched with fullmatch
# (a "$" would admit a trailing newline).
_VERSION_ARN = re.compile(
    r"arn:(?P<partition>aws|aws-cn|aws-us-gov):rekognition:(?P<region>[a-z]{2}(-[a-z]+)+-[0-9]):"
    r"(?P<account>[0-9]{12}):project/(?P<project>[a-zA-Z0-9_.\-]{1,255})/version/"
    r"(?P<version>[a-zA-Z0-9_.\-]{1,255})/(?P<created>[0-9]{1,20})"
)
# arn:aws:comprehend:REGION:ACCOUNT:document-classifier/NAME/version/VERSION (or entity-recognizer/...):
# a Comprehend custom model version (botocore's DocumentClassifierArn / EntityRecognizerArn shapes, at
# most 256 characters; names and versions 1-63 of [a-zA-Z0-9] with single or repeated hyphens between).
# mlpromote promotes versions, so the /version/ part is required here although Comprehend allows a
# model without one.
_COMPREHEND_NAME = r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"
_COMPREHEND_VERSION_ARN = re.compile(
    r"arn:(?P<partition>aws|aws-cn|aws-us-gov):comprehend:(?P<region>[a-z]{2}(-[a-z]+)+-[0-9]):"
    rf"(?P<account>[0-9]{{12}}):(?P<kind>document-classifier|entity-recognizer)/(?P<project>{_COMPREHEND_NAME})"
    rf"/version/(?P<version>{_COMPREHEND_NAME})"
)
_MAX_ARN_LENGTH = 2048
_COMPREHEND_MAX_ARN_LENGTH = 256

RUNNING = "RUNNING"
FAILED = "FAILED"
STARTING = "STARTING"
# A stop takes a while (minutes): STOPPING, then STOPPED. A STOPPING version cannot be started until it
# is STOPPED (StartProjectVersion: ResourceInUseException), so promoting one waits for that first.
STOPPING = "STOPPING"
SERVING_STATES = frozenset({RUNNING, STARTING})
STARTABLE_STATES = frozenset({"TRAINING_COMPLETED", "STOPPED", "COPYING_COMPLETED"})

_WHY_NOT_PROMOTABLE = {
    "TRAINING_IN_PROGRESS": "it is still training; promote it once training completes",
    "TRAINING_FAILED": "its training failed; train a new version",
    "COPYING_IN_PROGRESS": "it is still being copied; promote it once the copy completes",
    "COPYING_FAILED": "its copy failed; copy it again",
    "FAILED": "its last start failed; check its StatusMessage, then train or copy a new version",
    "DELETING": "it is being deleted",
    "DEPRECATED": "it is deprecated and can no longer be started; train a new version",
    "EXPIRED": "it has expired and can no longer be started; train a new version",
}


@dataclass(frozen=True)
class ModelVersionArn:
    """A parsed Custom Labels model version ARN."""

    arn: str
    partition: str
    region: str
    account: str
    project: str
    version: str
    # Which service's version: "rekognition", or Comprehend's "document-classifier" or "entity-recognizer".
    kind: str = "rekognition"

    @property
    def service(self) -> str:
        return "rekognition" if self.kind == "rekognition" else "comprehend"

    @classmethod
    def parse(cls, text: object) -> ModelVersionArn:
        if not isinstance(text, str):
            raise InvalidModelVersionArn(
                f"modelVersionArn must be a string, got {type(text).__name__}; expected "
                "arn:aws:rekognition:REGION:ACCOUNT:project/PROJECT/version/VERSION/TIMESTAMP"
            )
        if text.startswith("arn:") and text.split(":", 3)[2:3] == ["comprehend"]:
            return cls._parse_comprehend(text)
        match = _VERSION_ARN.fullmatch(text) if len(text) <= _MAX_ARN_LENGTH else None
        if match is None:
            shown = text if len(text) <= 120 else text[:117] + "..."
            raise InvalidModelVersionArn(
                f"{shown!r} is not a Rekognition Custom Labels model version ARN; expected "
                "arn:aws:rekognition:REGION:ACCOUNT:project/PROJECT/version/VERSION/TIMESTAMP "
                "(copy it from DescribeProjectVersions or the console)"
            )
        return cls(
            arn=text,
            partition=match["partition"],
            region=match["region"],
            account=match["account"],
            project=match["project"],
            version=match["version"],
        )

    @classmethod
    def _parse_comprehend(cls, text: str) -> ModelVersionArn:
        match = _COMPREHEND_VERSION_ARN.fullmatch(text) if len(text) <= _COMPREHEND_MAX_ARN_LENGTH else None
        if match is None:
            shown = text if len(text) <= 120 else text[:117] + "..."
            raise InvalidModelVersionArn(
                f"{shown!r} is not a Comprehend custom model version ARN; expected "
                "arn:aws:comprehend:REGION:ACCOUNT:document-classifier/NAME/version/VERSION (or "
                "entity-recognizer/NAME/version/VERSION), at most 256 characters; a model trained without a "
                "VersionName cannot be promoted: train a version"
            )
        return cls(
            arn=text,
            partition=match["partition"],
            region=match["region"],
            account=match["account"],
            project=match["project"],
            version=match["version"],
            kind=match["kind"],
        )

    @property
    def label(self) -> str:
        """The short name used in reports and scenarios: project/version."""
        return f"{self.project}/{self.version}"


def require_promotable(label: str, status: str) -> None:
    """Raise ModelVersionNotPromotable unless the version can be started (a STOPPING one once it is
    STOPPED) or is already serving."""
    if status in SERVING_STATES or status in STARTABLE_STATES or status == STOPPING:
        return
    why = _WHY_NOT_PROMOTABLE.get(status, "mlpromote does not know how to start a version in this state")
    raise ModelVersionNotPromotable(f"{label} is {status}: {why}")
