"""Rollback alarms in a target account."""

from __future__ import annotations

from botocore.exceptions import ClientError

from mlpromote.aws import sessions


def alarms_in_alarm(role_arn: str, names: list[str]) -> list[str]:
    """Which of the named alarms are in ALARM now, read through the account's role."""
    cloudwatch = sessions.assumed_client("cloudwatch", (role_arn,))
    found: list[str] = []
    try:
        # DescribeAlarms takes at most 100 names per call; the config allows 100. The state is
        # checked here rather than with StateValue, which not every implementation combines with names.
        for page in cloudwatch.get_paginator("describe_alarms").paginate(AlarmNames=names):
            alarms = page.get("MetricAlarms", []) + page.get("CompositeAlarms", [])
            found += [alarm["AlarmName"] for alarm in alarms if alarm.get("StateValue") == "ALARM"]
    except ClientError as error:
        sessions.raise_if_transient(error, "cloudwatch DescribeAlarms")
        raise
    return sorted(found)
