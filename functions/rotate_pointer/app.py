"""Point one target account's parameter at the promoted version and move its `current` label."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mlpromote.aws import sessions
from mlpromote.handler import step_handler
from mlpromote.phases.pointers import rotate_pointer
from mlpromote.plan import AccountPlan


@step_handler("RotatePointer")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    plan = AccountPlan.model_validate(event["plan"])
    sessions.use_region(plan.region)
    return rotate_pointer(plan, event["account"]).dump()
