"""Start the model version with the project's inference units, unless it is already starting."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mlpromote.aws import sessions
from mlpromote.handler import step_handler
from mlpromote.phases.model import start_model
from mlpromote.plan import PromotionPlan


@step_handler("StartModel")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    plan = PromotionPlan.model_validate(event["plan"])
    sessions.use_region(plan.region)
    return start_model(plan).dump()
