"""Watch the environment's rollback alarms during the bake; RolledBackOnAlarm if one goes off."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mlpromote.aws import sessions
from mlpromote.handler import step_handler
from mlpromote.phases.pointers import watch_alarms
from mlpromote.plan import PromotionPlan
from mlpromote.results import Watch


@step_handler("WatchAlarms")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    plan = PromotionPlan.model_validate(event["plan"])
    sessions.use_region(plan.region)
    watch = Watch.model_validate(event["watch"]) if event.get("watch") else None
    return watch_alarms(plan, watch, (event.get("rollout") or {}).get("index")).dump()
