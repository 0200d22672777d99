"""Check whether the starting version is RUNNING yet, and how long to wait before looking again."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mlpromote.aws import sessions
from mlpromote.handler import step_handler
from mlpromote.phases.model import check_model_status
from mlpromote.plan import PromotionPlan
from mlpromote.results import ModelStart


@step_handler("CheckModelStatus")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    plan = PromotionPlan.model_validate(event["plan"])
    sessions.use_region(plan.region)
    return check_model_status(plan, ModelStart.model_validate(event["modelStart"])).dump()
