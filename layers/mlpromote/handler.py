"""What every step's Lambda handler does around its one call into a phase (mlpromote.phases), and
the one place the library reads the function's environment: the template sets it, the handler reads
it here, and passes what it found to the domain (the config, the approval topic) or names it to the
adapters (the promotions table). Domain code never reads os.environ (tests/test_import_graph.py).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from mlpromote import config, results
from mlpromote.aws import dynamodb, sessions
from mlpromote.errors import AwsError, PromotionError, TransientAwsError
from mlpromote.history import DEFAULT_TABLE, TABLE_ENV
from mlpromote.observability import logger, metrics, tracer

Handler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]
# (event, {"Error", "Cause"}) -> the result that reports the failure instead of raising it.
FailureResult = Callable[[dict[str, Any], dict[str, str]], dict[str, Any]]
# The longest cause an error carries. A raised error's Cause on AWS is the runtime's whole error
# document (message, type, request id, stack trace: about 1 KB), and it stays in the execution's
# state, whose quota is 256 KB; a fan-out keeps one result per account, so its failures stay shorter.
CAUSE_CHARACTERS = 1000
# The shorter cause a fan-out's result keeps (mlpromote.results.reported).
RESULT_CAUSE_CHARACTERS = results.RESULT_CAUSE_CHARACTERS

APPROVAL_TOPIC_ENV = "APPROVAL_TOPIC_ARN"


def use_deployment() -> None:
    """Name this deployment's resources to the adapters, as the function's environment gives them."""
    dynamodb.use_table(os.environ.get(TABLE_ENV, DEFAULT_TABLE))


def deployed_config() -> config.Config:
    """The config the function runs with: the file the config layer ships, or MLPROMOTE_CONFIG_FILE."""
    return config.deployed_config(os.environ.get(config.CONFIG_FILE_ENV, config.DEFAULT_CONFIG_FILE))


def approval_topic() -> str | None:
    """The SNS topic that tells approvers a promotion waits for them (none: the event alone)."""
    return os.environ.get(APPROVAL_TOPIC_ENV) or None


def short(text: str, limit: int = CAUSE_CHARACTERS) -> str:
    return results.short(text, limit)


def failed_iteration(key: str) -> FailureResult:
    """A fan-out iteration's failure as its result: {key: event[key], failed: true, error}."""
    return lambda event, error: {key: event[key], "failed": True, "error": error}


def step_handler(step: str, failure_result: FailureResult | None = None) -> Callable[[Handler], Handler]:
    """Observability with the execution ARN as correlation id, and the step's named error reported.

    AWS errors arrive named: the adapters translate every ClientError (TransientAwsError, retried by
    the ASL; AwsCallFailed, caught and compensated; mlpromote.aws.sessions.translated).
    With `failure_result`, a failure that no retry would mend is returned, with a short cause, instead
    of raised: a Map keeps every iteration's result, and a raised error's cause is the whole stack.
    """

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        def run(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
            # Every role this invocation assumes is a session named after the promotion.
            sessions.use_promotion(event.get("execution"), _requested_by(event))
            use_deployment()
            try:
                result = handler(event, context)
            except PromotionError as error:
                metrics.add_metric(name=f"{step}Failed", unit=MetricUnit.Count, value=1)
                code = {"code": error.code} if isinstance(error, AwsError) else {}
                logger.warning("step failed", extra={"error": type(error).__name__, "cause": str(error), **code})
                if failure_result is not None and not isinstance(error, TransientAwsError):
                    return failure_result(event, results.reported(error))
                if isinstance(error, AwsError) and len(str(error)) > CAUSE_CHARACTERS:
                    # AWS's message (an IAM denial quotes ARNs and policies) kept within the cause's bound.
                    raise type(error)(short(str(error)), error.operation, error.code, error.said) from error
                raise
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
