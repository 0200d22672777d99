"""Validate and plan: refuse a bad request before any change, and read what every account serves."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mlpromote.aws import sessions
from mlpromote.handler import deployed_config, step_handler
from mlpromote.phases.plan import validate_and_plan


@step_handler("ValidateAndPlan")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    config = deployed_config()
    sessions.use_region(config.region)
    plan = validate_and_plan(event.get("request"), event["execution"], event["requestedAt"], config)
    return plan.dump()
