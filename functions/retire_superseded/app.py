"""Revoke and stop what the promotion superseded, if nothing uses it; report the promotion."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mlpromote.aws import sessions
from mlpromote.handler import deployed_config, step_handler
from mlpromote.phases.retire import retire_superseded
from mlpromote.summary import PromotionState, summarize


@step_handler("RetireSuperseded")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    state = PromotionState.model_validate(event["state"])
    sessions.use_region(state.plan.region)
    return summarize(state, retire_superseded(state.plan, deployed_config(), state.grant))
