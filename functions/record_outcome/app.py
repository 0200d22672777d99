"""Record how the promotion ended in its history, and release the environment."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mlpromote.aws import sessions
from mlpromote.handler import step_handler
from mlpromote.phases.outcome import record_outcome
from mlpromote.plan import PromotionPlan


@step_handler("RecordOutcome")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    state = event["state"]
    plan = PromotionPlan.model_validate(state["plan"])
    sessions.use_region(plan.region)
    return record_outcome(plan, state).dump()
