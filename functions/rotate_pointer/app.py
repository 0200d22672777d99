"""Point one target account's parameter at the promoted version and move its `current` label."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mlpromote.aws import sessions
from mlpromote.handler import failed_iteration, step_handler
from mlpromote.phases.pointers import rotate_pointer
from mlpromote.plan import AccountPlan


# A failed account ends its iteration with a short error, so 500 of them fit the state's 256 KB.
@step_handler("RotatePointer", failed_iteration("account"))
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    plan = AccountPlan.model_validate(event["plan"])
    sessions.use_region(plan.region)
    return rotate_pointer(plan, event["account"]).dump()
