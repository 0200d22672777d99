"""Model versions: their ARNs and their lifecycle."""

from __future__ import annotations

from dataclasses import dataclass

from mlpromote import arns
from mlpromote.errors import InvalidModelVersionArn, ModelVersionNotPromotable

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
    """A parsed model version ARN (mlpromote.arns.MODEL_VERSION_SHAPES: Rekognition's or Comprehend's)."""

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
        shape = arns.model_version_shape(text)
        parts = shape.match(text)
        if parts is None:
            shown = text if len(text) <= 120 else text[:117] + "..."
            raise InvalidModelVersionArn(f"{shown!r} is not a {shape.title} ARN; expected {shape.expected}")
        return cls(
            arn=text,
            partition=parts["partition"],
            region=parts["region"],
            account=parts["account"],
            project=parts["project"],
            version=parts["version"],
            kind=parts["kind"],
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
