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


# --- Copies (strategy: copy): a target account's project and its copy of a version, through a role there;
# the source project's project policies in the ML account.


@dataclass(frozen=True)
class CopyDescription:
    arn: str
    status: str
    status_message: str
    # The version it is a copy of (DescribeProjectVersions' SourceProjectVersionArn); None: not a copy.
    source_arn: str | None
    created: float


def _as(role_chain: tuple[str, ...]) -> Any:
    return sessions.assumed_client("rekognition", role_chain) if role_chain else sessions.client("rekognition")


def find_project(role_chain: tuple[str, ...], project: str) -> str | None:
    """The ARN of the account's project of that name; None when it has none."""
    with sessions.translating("rekognition DescribeProjects"):
        projects = _as(role_chain).describe_projects(ProjectNames=[project])["ProjectDescriptions"]
    return str(projects[0]["ProjectArn"]) if projects else None


def create_project(role_chain: tuple[str, ...], project: str) -> str:
    """Create the project (ResourceInUse: another step created it meanwhile, so read its ARN)."""
    try:
        answer = _as(role_chain).create_project(ProjectName=project)
    except ClientError as error:
        if sessions.error_code(error) == "ResourceInUseException":
            found = find_project(role_chain, project)
            if found:
                return found
        raise sessions.translated(error, "rekognition CreateProject") from error
    return str(answer["ProjectArn"])


def describe_named(role_chain: tuple[str, ...], project_arn: str, version_name: str) -> CopyDescription | None:
    """The project's version of that name (None: it has none), with what it is a copy of."""
    with sessions.translating("rekognition DescribeProjectVersions"):
        answer = _as(role_chain).describe_project_versions(ProjectArn=project_arn, VersionNames=[version_name])
    for description in answer["ProjectVersionDescriptions"]:
        created = description.get("CreationTimestamp")
        return CopyDescription(
            arn=description["ProjectVersionArn"],
            status=description["Status"],
            status_message=description.get("StatusMessage", ""),
            source_arn=description.get("SourceProjectVersionArn"),
            created=created.timestamp() if hasattr(created, "timestamp") else float(created or 0),
        )
    return None


def copy_version(
    role_chain: tuple[str, ...],
    source_project_arn: str,
    source_version_arn: str,
    destination_project_arn: str,
    version_name: str,
    output_bucket: str,
) -> str:
    with sessions.translating("rekognition CopyProjectVersion"):
        answer = _as(role_chain).copy_project_version(
            SourceProjectArn=source_project_arn,
            SourceProjectVersionArn=source_version_arn,
            DestinationProjectArn=destination_project_arn,
            VersionName=version_name,
            OutputConfig={"S3Bucket": output_bucket, "S3KeyPrefix": "mlpromote-copies/"},
        )
    return str(answer["ProjectVersionArn"])


def start_version_as(role_chain: tuple[str, ...], version_arn: str, min_units: int, max_units: int | None) -> None:
    arguments: dict[str, Any] = {"ProjectVersionArn": version_arn, "MinInferenceUnits": min_units}
    if max_units is not None:
        arguments["MaxInferenceUnits"] = max_units
    try:
        _as(role_chain).start_project_version(**arguments)
    except ClientError as error:
        if sessions.error_code(error) == "ResourceInUseException":
            return  # starting already (a retried step)
        raise sessions.translated(error, "rekognition StartProjectVersion") from error


def stop_version_as(role_chain: tuple[str, ...], version_arn: str) -> None:
    with sessions.translating("rekognition StopProjectVersion"):
        _as(role_chain).stop_project_version(ProjectVersionArn=version_arn)


def delete_version_as(role_chain: tuple[str, ...], version_arn: str) -> None:
    with sessions.translating("rekognition DeleteProjectVersion"):
        _as(role_chain).delete_project_version(ProjectVersionArn=version_arn)


def project_policy_revision(project_arn: str, policy_name: str) -> str | None:
    """The current revision id of the project's policy of that name (None: no such policy)."""
    paginator = sessions.client("rekognition").get_paginator("list_project_policies")
    with sessions.translating("rekognition ListProjectPolicies"):
        for page in paginator.paginate(ProjectArn=project_arn):
            for policy in page["ProjectPolicies"]:
                if policy["PolicyName"] == policy_name:
                    return str(policy["PolicyRevisionId"])
    return None


def put_project_policy(project_arn: str, policy_name: str, document: str) -> None:
    """Write the named policy: a new one without a revision id, an existing one with its current one
    (PutProjectPolicy replaces a policy only given its PolicyRevisionId)."""
    revision = project_policy_revision(project_arn, policy_name)
    arguments: dict[str, Any] = {"ProjectArn": project_arn, "PolicyName": policy_name, "PolicyDocument": document}
    if revision is not None:
        arguments["PolicyRevisionId"] = revision
    with sessions.translating("rekognition PutProjectPolicy"):
        sessions.client("rekognition").put_project_policy(**arguments)


def delete_project_policy(project_arn: str, policy_name: str) -> bool:
    """Delete the named policy at its current revision; False when there is none."""
    revision = project_policy_revision(project_arn, policy_name)
    if revision is None:
        return False
    try:
        sessions.client("rekognition").delete_project_policy(
            ProjectArn=project_arn, PolicyName=policy_name, PolicyRevisionId=revision
        )
    except ClientError as error:
        if sessions.error_code(error) == "ResourceNotFoundException":
            return False  # deleted meanwhile (a retried step)
        raise sessions.translated(error, "rekognition DeleteProjectPolicy") from error
    return True


def list_copies(role_chain: tuple[str, ...], project_arn: str) -> list[CopyDescription]:
    """Every version of the account's project, with what each is a copy of."""
    paginator = _as(role_chain).get_paginator("describe_project_versions")
    out: list[CopyDescription] = []
    with sessions.translating("rekognition DescribeProjectVersions"):
        for page in paginator.paginate(ProjectArn=project_arn, PaginationConfig={"PageSize": 100}):
            for description in page["ProjectVersionDescriptions"]:
                created = description.get("CreationTimestamp")
                out.append(
                    CopyDescription(
                        arn=description["ProjectVersionArn"],
                        status=description["Status"],
                        status_message=description.get("StatusMessage", ""),
                        source_arn=description.get("SourceProjectVersionArn"),
                        created=created.timestamp() if hasattr(created, "timestamp") else float(created or 0),
                    )
                )
    return out
