"""Undo a failed promotion: restore parameters, revoke the new grant, stop what it started."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mlpromote.aws import sessions
from mlpromote.handler import deployed_config, step_handler
from mlpromote.phases.compensate import compensate
from mlpromote.plan import PromotionPlan


@step_handler("Compensate")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    plan = PromotionPlan.model_validate(event["plan"])
    sessions.use_region(plan.region)
    return compensate(plan, deployed_config(), event["error"]).dump()
