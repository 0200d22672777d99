"""Model versions in the ML account: describe, start, stop, and infer through a delegated role."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from mlpromote.aws import sessions
from mlpromote.errors import ModelVersionNotFound, UnknownProject


@dataclass(frozen=True)
class VersionDescription:
    arn: str
    status: str
    status_message: str
    min_inference_units: int | None = None
    max_inference_units: int | None = None


def project_arn(project: str) -> str:
    """The project's ARN (version ARNs do not contain it: the timestamps differ)."""
    rekognition = sessions.client("rekognition")
    try:
        projects = rekognition.describe_projects(ProjectNames=[project])["ProjectDescriptions"]
    except ClientError as error:
        raise sessions.translated(error, "rekognition DescribeProjects") from error
    if not projects:
        raise UnknownProject(
            f"project {project!r} is in the config but not in Rekognition Custom Labels in the ML account; "
            "check the project name and the config's mlAccount and region"
        )
    return str(projects[0]["ProjectArn"])


def describe_version(project_arn: str, version_name: str, version_arn: str) -> VersionDescription:
    rekognition = sessions.client("rekognition")
    try:
        answer = rekognition.describe_project_versions(ProjectArn=project_arn, VersionNames=[version_name])
    except ClientError as error:
        raise sessions.translated(error, "rekognition DescribeProjectVersions") from error
    for description in answer["ProjectVersionDescriptions"]:
        if description["ProjectVersionArn"] == version_arn:
            return VersionDescription(
                arn=version_arn,
                status=description["Status"],
                status_message=description.get("StatusMessage", ""),
            )
    raise ModelVersionNotFound(
        f"{version_arn} does not exist; the project has no version {version_name!r} with that ARN. "
        "Copy the ARN from DescribeProjectVersions"
    )


def list_versions(project_arn: str) -> list[VersionDescription]:
    """Every version of a project, page by page (DescribeProjectVersions without VersionNames)."""
    paginator = sessions.client("rekognition").get_paginator("describe_project_versions")
    out: list[VersionDescription] = []
    try:
        for page in paginator.paginate(ProjectArn=project_arn, PaginationConfig={"PageSize": 100}):
            out.extend(
                VersionDescription(
                    arn=description["ProjectVersionArn"],
                    status=description["Status"],
                    status_message=description.get("StatusMessage", ""),
                    min_inference_units=description.get("MinInferenceUnits"),
                    max_inference_units=description.get("MaxInferenceUnits"),
                )
                for description in page["ProjectVersionDescriptions"]
            )
    except ClientError as error:
        raise sessions.translated(error, "rekognition DescribeProjectVersions") from error
    return out


def start_version(version_arn: str, min_units: int, max_units: int | None) -> None:
    arguments: dict[str, Any] = {"ProjectVersionArn": version_arn, "MinInferenceUnits": min_units}
    if max_units is not None:
        arguments["MaxInferenceUnits"] = max_units
    try:
        sessions.client("rekognition").start_project_version(**arguments)
    except ClientError as error:
        # Another promotion (or a person) started it meanwhile: it is starting, which is what we want.
        if sessions.error_code(error) == "ResourceInUseException":
            return
        raise sessions.translated(error, "rekognition StartProjectVersion") from error


def stop_version(version_arn: str) -> None:
    try:
        sessions.client("rekognition").stop_project_version(ProjectVersionArn=version_arn)
    except ClientError as error:
        raise sessions.translated(error, "rekognition StopProjectVersion") from error


def detect_custom_labels(
    role_chain: tuple[str, ...],
    version_arn: str,
    bucket: str,
    key: str,
    min_confidence: float,
    external_id: str | None = None,
) -> dict[str, float]:
    """Labels and their confidence, seen by the last role of the chain (assumed with `external_id`,
    if its trust policy asks for one). A refusal is the AwsError of the call refused (AssumeRole or
    DetectCustomLabels), with its code, for the smoke test to explain."""
    rekognition = sessions.assumed_client("rekognition", role_chain, external_id=external_id)
    with sessions.translating("rekognition DetectCustomLabels"):
        answer = rekognition.detect_custom_labels(
            ProjectVersionArn=version_arn,
            Image={"S3Object": {"Bucket": bucket, "Name": key}},
            MinConfidence=min_confidence,
        )
    labels: dict[str, float] = {}
    for label in answer.get("CustomLabels", []):
        labels[label["Name"]] = max(labels.get(label["Name"], 0.0), float(label["Confidence"]))
    return labels
