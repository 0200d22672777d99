"""Before the first pointer moves: the version is still RUNNING and its environment still grants it."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mlpromote.aws import sessions
from mlpromote.handler import step_handler
from mlpromote.phases.pointers import confirm_serving
from mlpromote.plan import PromotionPlan


@step_handler("ConfirmServing")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    plan = PromotionPlan.model_validate(event["plan"])
    sessions.use_region(plan.region)
    return confirm_serving(plan).dump()
