"""Release the environment of a promotion that was aborted or timed out (Step Functions status event)."""

from typing import Any

from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from mlpromote.aws import sessions
from mlpromote.handler import step_handler
from mlpromote.phases.lock import release_abandoned


@step_handler("ReleaseAbandoned")
@event_source(data_class=EventBridgeEvent)
def lambda_handler(event: EventBridgeEvent, context: LambdaContext) -> dict[str, Any]:
    detail = event.detail
    sessions.use_region(event.region)  # the state machine's, where its table and lock are
    return release_abandoned(detail["executionArn"], detail["status"], detail.get("input")).dump()
