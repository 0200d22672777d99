"""Grant the environment's access role DetectCustomLabels on exactly the promoted version."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mlpromote.aws import sessions
from mlpromote.handler import step_handler
from mlpromote.phases.access import grant_access
from mlpromote.plan import PromotionPlan


@step_handler("GrantAccess")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    plan = PromotionPlan.model_validate(event["plan"])
    sessions.use_region(plan.region)
    return grant_access(plan).dump()
