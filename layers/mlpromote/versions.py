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
_MAX_ARN_LENGTH = 2048

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

    @classmethod
    def parse(cls, text: object) -> ModelVersionArn:
        if not isinstance(text, str):
            raise InvalidModelVersionArn(
                f"modelVersionArn must be a string, got {type(text).__name__}; expected "
                "arn:aws:rekognition:REGION:ACCOUNT:project/PROJECT/version/VERSION/TIMESTAMP"
            )
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
