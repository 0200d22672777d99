"""Scheduled (and `mlpromote drift`): compare every environment, project and account with what was
promoted; publish DriftFindings and a 'Model Promotion Drift Detected' event; repair where allowed."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mlpromote.aws import sessions
from mlpromote.drift import detect_drift
from mlpromote.handler import deployed_config, step_handler


@step_handler("DetectDrift")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    config = deployed_config()
    sessions.use_region(config.region)
    return detect_drift(config).dump()
