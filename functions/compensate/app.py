"""Undo a failed promotion: restore parameters, revoke the new grant, stop what it started."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mlpromote import promotion_metrics
from mlpromote.aws import sessions
from mlpromote.handler import deployed_config, step_handler
from mlpromote.phases.compensate import compensate
from mlpromote.plan import PromotionPlan
from mlpromote.results import Grant


@step_handler("Compensate")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # The whole state: the plan, the error, the grant and the rollout if they ran (a missing path cannot be passed).
    state = event["state"]
    plan = PromotionPlan.model_validate(state["plan"])
    grant = Grant.model_validate(state["grant"]) if state.get("grant") else None
    sessions.use_region(plan.region)
    wave = (state.get("rollout") or {}).get("index")  # the last wave taken up, once the rollout began
    compensation = compensate(plan, deployed_config(), state["error"], grant, wave, event.get("retryCount"))
    promotion_metrics.compensated(plan.environment)
    return compensation.dump()
