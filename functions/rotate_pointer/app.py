"""Point one batch of target accounts' parameters at the promoted version and move their `current` label."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mlpromote.aws import sessions
from mlpromote.handler import failed_iteration, step_handler
from mlpromote.phases.pointers import rotate_batch
from mlpromote.plan import AccountPlan


# Failed accounts come back grouped by error; a batch that fails as a whole ends with a short error too.
@step_handler("RotatePointer", failed_iteration("accounts"))
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    plan = AccountPlan.model_validate(event["plan"])
    sessions.use_region(plan.region)
    return rotate_batch(plan, event["accounts"]).dump()
