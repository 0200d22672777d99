"""Smoke-test one batch of target accounts: from each, its role, then the access role, then DetectCustomLabels."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mlpromote.aws import sessions
from mlpromote.handler import step_handler
from mlpromote.phases.access import smoke_test_batch
from mlpromote.plan import AccountPlan
from mlpromote.results import Grant


@step_handler("SmokeTest")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    plan = AccountPlan.model_validate(event["plan"])
    sessions.use_region(plan.region)
    return smoke_test_batch(plan, event["accounts"], Grant.model_validate(event["grant"])).dump()
