"""Rekognition Custom Labels as a ModelService: versions of a project, started with inference
units, called with DetectCustomLabels on an image in S3."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from mlpromote import arns, grants, project_policy
from mlpromote.aws import rekognition
from mlpromote.aws.rekognition import CopyDescription, VersionDescription
from mlpromote.config import SmokeTest, TextSmokeTest
from mlpromote.errors import CopyConflict
from mlpromote.versions import ModelVersionArn

# USD per inference unit and hour while RUNNING, traffic or not, by region. Source: the Amazon
# Rekognition pricing page (https://aws.amazon.com/rekognition/pricing/, Custom Labels, inference
# hours) for US East (N. Virginia), as recorded in ../shared/notes/aws-facts.md; checked 2026-11-29.
# No other region's price could be confirmed then (the documentation searched gives none), and
# prices differ by region: rather than guess, a region not listed here gets no figure, and drift's
# IdleVersion findings say so and count inference units instead. Add a region with its source and
# date. The figures rank findings; they are not a bill.
INFERENCE_UNIT_HOUR_USD: dict[str, float] = {"us-east-1": 4.00}


class RekognitionCustomLabels:
    name = "rekognition"
    invoke_action = grants.ACTION
    pricing_page = "https://aws.amazon.com/rekognition/pricing/"

    def parse_version(self, text: object) -> ModelVersionArn:
        return ModelVersionArn.parse(text)

    def project_arn(self, project: str) -> str:
        return rekognition.project_arn(project)

    def serving_arn(self, version_arn: str) -> str:
        # The applications call the version itself (DetectCustomLabels takes its ARN).
        return version_arn

    def versions_served_by(self, project: str, serving_arns: Collection[str]) -> dict[str, str]:
        return {}  # each pointer names its version: nothing to look up

    def describe(self, project_arn: str, version_arn: str) -> VersionDescription:
        # DescribeProjectVersions takes the version's name; the ARN says which of that name.
        return rekognition.describe_version(project_arn, ModelVersionArn.parse(version_arn).version, version_arn)

    def status(self, project_arn: str, version_arn: str) -> str:
        return self.describe(project_arn, version_arn).status

    def list_versions(self, project_arn: str) -> list[VersionDescription]:
        return rekognition.list_versions(project_arn)

    def start(self, version_arn: str, min_units: int, max_units: int | None) -> None:
        rekognition.start_version(version_arn, min_units, max_units)

    def stop(self, version_arn: str) -> None:
        rekognition.stop_version(version_arn)

    def smoke_test(
        self,
        role_chain: tuple[str, ...],
        version_arn: str,
        test: SmokeTest | TextSmokeTest,
        external_id: str | None,
    ) -> dict[str, float]:
        assert isinstance(test, SmokeTest)  # the config gives a Custom Labels project an image smoke test
        seen: dict[str, float] = {}
        for bucket, key in test.image_locations():
            labels = rekognition.detect_custom_labels(
                role_chain, version_arn, bucket, key, test.min_confidence, external_id=external_id
            )
            for name, confidence in labels.items():
                seen[name] = max(seen.get(name, 0.0), confidence)
        return seen

    def grant_statement(self, version_arn: str, vpc_endpoint_ids: Sequence[str]) -> dict[str, Any]:
        return grants.statement_for(version_arn, vpc_endpoint_ids)

    def unit_hour_price(self, region: str) -> float | None:
        return INFERENCE_UNIT_HOUR_USD.get(region)

    # --- copies (strategy: copy) -----------------------------------------------------------------

    def share_for_copy(
        self,
        project_arn: str,
        version_arn: str,
        environment: str,
        accounts: list[str],
        units: project_policy.OrganizationalUnits | None = None,
    ) -> None:
        rekognition.put_project_policy(
            project_arn, project_policy.policy_name(environment), project_policy.text(version_arn, accounts, units)
        )

    def unshare(self, project_arn: str, version_arn: str, environment: str) -> bool:
        return rekognition.delete_project_policy(project_arn, project_policy.policy_name(environment))

    def find_copy(
        self, role_arn: str, version_arn: str, create_project: bool = False
    ) -> tuple[str | None, CopyDescription | None]:
        version = ModelVersionArn.parse(version_arn)
        chain = (role_arn,)
        project = rekognition.find_project(chain, version.project)
        if project is None:
            return (rekognition.create_project(chain, version.project) if create_project else None), None
        copy = rekognition.describe_named(chain, project, version.version)
        if copy is not None and copy.source_arn != version_arn:
            raise CopyConflict(
                f"account {arns.account_of(role_arn)}: project {version.project} has a version {version.version} "
                f"that is not a copy of {version_arn} ({copy.source_arn or 'not a copy at all'}); rename or "
                "delete that version, then promote again"
            )
        return project, copy

    def copy(self, role_arn: str, version_arn: str, source_project_arn: str, destination_project_arn: str) -> str:
        version = ModelVersionArn.parse(version_arn)
        bucket = arns.copy_output_bucket(arns.account_of(role_arn), version.region)
        return rekognition.copy_version(
            (role_arn,), source_project_arn, version_arn, destination_project_arn, version.version, bucket
        )

    def describe_copy(self, role_arn: str, copy_arn: str) -> CopyDescription | None:
        version = ModelVersionArn.parse(copy_arn)
        project = rekognition.find_project((role_arn,), version.project)
        found = rekognition.describe_named((role_arn,), project, version.version) if project else None
        return found if found is not None and found.arn == copy_arn else None

    def version_named(self, role_arn: str, version_arn: str) -> CopyDescription | None:
        version = ModelVersionArn.parse(version_arn)
        project = rekognition.find_project((role_arn,), version.project)
        return rekognition.describe_named((role_arn,), project, version.version) if project else None

    def list_copies(self, role_arn: str, project: str) -> list[CopyDescription]:
        project_arn = rekognition.find_project((role_arn,), project)
        return rekognition.list_copies((role_arn,), project_arn) if project_arn else []

    def start_copy(self, role_arn: str, copy_arn: str, min_units: int, max_units: int | None) -> None:
        rekognition.start_version_as((role_arn,), copy_arn, min_units, max_units)

    def stop_copy(self, role_arn: str, copy_arn: str) -> None:
        rekognition.stop_version_as((role_arn,), copy_arn)

    def delete_copy(self, role_arn: str, copy_arn: str) -> None:
        rekognition.delete_version_as((role_arn,), copy_arn)


CUSTOM_LABELS = RekognitionCustomLabels()
