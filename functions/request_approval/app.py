"""Wait for approval: keep the task token for the approvers' decision and notify them."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mlpromote.approvals import request_approval
from mlpromote.aws import sessions
from mlpromote.handler import approval_topic, step_handler
from mlpromote.plan import PromotionPlan


@step_handler("RequestApproval")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    plan = PromotionPlan.model_validate(event["plan"])
    sessions.use_region(plan.region)
    requested = request_approval(plan, event["taskToken"], approval_topic(), event.get("wave"))
    return requested.model_dump(mode="json", by_alias=True)
