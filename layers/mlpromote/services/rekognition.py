"""Rekognition Custom Labels as a ModelService: versions of a project, started with inference
units, called with DetectCustomLabels on an image in S3."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from mlpromote import grants
from mlpromote.aws import rekognition
from mlpromote.aws.rekognition import VersionDescription
from mlpromote.config import SmokeTest, TextSmokeTest
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


CUSTOM_LABELS = RekognitionCustomLabels()
