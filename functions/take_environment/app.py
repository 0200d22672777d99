"""Take the environment: one promotion per environment at a time, its leases, and the start of its history record."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mlpromote.aws import sessions
from mlpromote.handler import step_handler
from mlpromote.phases.lock import take_environment
from mlpromote.plan import PromotionPlan


@step_handler("TakeEnvironment")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    plan = PromotionPlan.model_validate(event["plan"])
    sessions.use_region(plan.region)
    return take_environment(plan).dump()
