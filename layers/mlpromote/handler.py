"""What every step's Lambda handler does around its one call into a phase (mlpromote.phases)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError

from mlpromote.aws import sessions
from mlpromote.errors import AwsCallFailed, PromotionError, TransientAwsError
from mlpromote.observability import logger, metrics, tracer

Handler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]


def step_handler(step: str) -> Callable[[Handler], Handler]:
    """Observability with the execution ARN as correlation id, and AWS errors turned into named ones.

    A ClientError's class name says nothing to the state machine, so it becomes TransientAwsError
    (retried by the ASL) or AwsCallFailed (caught and compensated), with the call in the message.
    """

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        def run(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
            # Every role this invocation assumes is a session named after the promotion.
            sessions.use_promotion(event.get("execution"), _requested_by(event))
            try:
                result = handler(event, context)
            except PromotionError as error:
                metrics.add_metric(name=f"{step}Failed", unit=MetricUnit.Count, value=1)
                logger.warning("step failed", extra={"error": type(error).__name__, "cause": str(error)})
                raise
            except ClientError as error:
                metrics.add_metric(name=f"{step}Failed", unit=MetricUnit.Count, value=1)
                logger.warning("AWS call failed", extra={"error": sessions.error_code(error)})
                if sessions.is_transient(error):
                    raise TransientAwsError(str(error)) from error
                raise AwsCallFailed(str(error)) from error
            metrics.add_metric(name=f"{step}Succeeded", unit=MetricUnit.Count, value=1)
            return result

        observed = metrics.log_metrics(run)
        observed = tracer.capture_lambda_handler(observed)
        return logger.inject_lambda_context(correlation_id_path="execution")(observed)

    return decorate


def _requested_by(event: dict[str, Any]) -> str | None:
    """The requester, from the plan a step gets (or the request the plan is made from)."""
    for part in (event.get("plan"), event.get("request")):
        if isinstance(part, dict) and part.get("requestedBy"):
            return str(part["requestedBy"])
    return None
