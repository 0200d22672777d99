"""The operational metrics of promotions, as the dashboard and the alarms in template.yaml read them.

Each is published twice, as CloudWatch embedded metric format (Powertools' single_metric): per
environment (dimensions environment and service), which the dashboard's SEARCH expressions plot one line
per environment of, and for the whole control plane (service only), which the alarms watch: an alarm
cannot aggregate over a dimension, and environments come from the config, not the template.
tests/test_dashboard.py keeps these names, the dashboard's and the alarms' in agreement with what the
handlers really print.
"""

from __future__ import annotations

from datetime import UTC, datetime

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from mlpromote.observability import metrics

STARTED = "PromotionsStarted"
SUCCEEDED = "PromotionsSucceeded"
FAILED = "PromotionsFailed"
DURATION = "PromotionDuration"
COMPENSATIONS = "Compensations"
# Published by drift detection (mlpromote.drift): findings per kind, the idle versions' cost.
IDLE_COST = "IdleCostPerHourUsd"
IDLE_UNITS = "IdleInferenceUnits"


def _publish(name: str, unit: MetricUnit, value: float, environment: str | None) -> None:
    with single_metric(name=name, unit=unit, value=value, namespace=metrics.namespace) as metric:
        if environment is not None:
            metric.add_dimension(name="environment", value=environment)


def _both(name: str, unit: MetricUnit, value: float, environment: str) -> None:
    _publish(name, unit, value, environment)
    _publish(name, unit, value, None)


def started(environment: str) -> None:
    """A promotion took its environment (the lock): it will end with succeeded or failed."""
    _both(STARTED, MetricUnit.Count, 1, environment)


def ended(environment: str, status: str, requested_at: str) -> None:
    """How a promotion that took its environment ended, and how long it took since it was requested."""
    _both(SUCCEEDED if status == "SUCCEEDED" else FAILED, MetricUnit.Count, 1, environment)
    seconds = (datetime.now(UTC) - datetime.fromisoformat(requested_at)).total_seconds()
    _both(DURATION, MetricUnit.Seconds, max(0.0, seconds), environment)


def compensated(environment: str) -> None:
    """A failed promotion was undone (a compensation that itself fails is the step's CompensateFailed)."""
    _both(COMPENSATIONS, MetricUnit.Count, 1, environment)
