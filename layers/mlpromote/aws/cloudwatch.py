"""Rollback alarms in a target account."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from mlpromote.aws import sessions

# DescribeAlarms without AlarmTypes returns metric alarms only, even when composite alarms have the
# names asked for (CloudWatch API reference, DescribeAlarms: AlarmTypes). A rollback alarm may be either.
_ALARM_TYPES = ["CompositeAlarm", "MetricAlarm"]


def _alarms(role_arn: str, names: list[str]) -> list[dict[str, Any]]:
    """The named alarms that exist in the account, read through the account's role."""
    cloudwatch = sessions.assumed_client("cloudwatch", (role_arn,))
    alarms: list[dict[str, Any]] = []
    try:
        # DescribeAlarms takes at most 100 names per call; the config allows 100.
        for page in cloudwatch.get_paginator("describe_alarms").paginate(AlarmNames=names, AlarmTypes=_ALARM_TYPES):
            alarms += page.get("MetricAlarms", []) + page.get("CompositeAlarms", [])
    except ClientError as error:
        raise sessions.translated(error, "cloudwatch DescribeAlarms") from error
    return alarms


def alarms_in_alarm(role_arn: str, names: list[str]) -> list[str]:
    """Which of the named alarms are in ALARM now. The state is checked here rather than with
    StateValue, which not every implementation combines with names."""
    return sorted(alarm["AlarmName"] for alarm in _alarms(role_arn, names) if alarm.get("StateValue") == "ALARM")


def missing_alarms(role_arn: str, names: list[str]) -> list[str]:
    """Which of the named alarms do not exist in the account."""
    found = {alarm["AlarmName"] for alarm in _alarms(role_arn, names)}
    return [name for name in names if name not in found]
