"""The REST API (API Gateway, AWS_IAM): request, read and list promotions; approve or reject one;
abort one; roll an environment back.

Routes here, logic in mlpromote.promotions. Every refusal is a 4xx whose message names the field
or the problem and what to do; no execution starts for one. api/openapi.yaml documents them.
"""

import os
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from mlpromote import abandoned, approvals, arns, promotions
from mlpromote.aws import sessions
from mlpromote.errors import (
    ApproverIsRequester,
    AwsCallFailed,
    InvalidPromotionRequest,
    NotAnApprover,
    NotAwaitingApproval,
    PromotionError,
    PromotionInProgress,
    PromotionNotFound,
    PromotionNotRunning,
    TransientAwsError,
)
from mlpromote.handler import deployed_config, use_deployment
from mlpromote.observability import logger, metrics, tracer
from mlpromote.phases import plan
from mlpromote.plan import PromotionRequest

app = APIGatewayRestResolver()


def _state_machine() -> str:
    return os.environ["STATE_MACHINE_ARN"]


def _caller() -> str:
    identity = app.current_event.request_context.identity
    return identity.user_arn or identity.caller or "unknown"


def _body() -> dict[str, Any]:
    try:
        body = app.current_event.json_body
    except ValueError:
        raise InvalidPromotionRequest("the body is not JSON; send a JSON object") from None
    if not isinstance(body, dict):
        raise InvalidPromotionRequest("the body must be a JSON object")
    return body


def _start(data: dict[str, Any]) -> Response:
    request = PromotionRequest.parse({**data, "entryPoint": "api", "requestedBy": _caller()})
    now = datetime.now(UTC)
    if (app.current_event.get_query_string_value("dryRun") or "").lower() == "true":
        # A refusal is part of the plan (200): the dry run answers what the promotion would do.
        return Response(200, content_types.APPLICATION_JSON, plan.dry_run(request, deployed_config(), now.isoformat()))
    promotions.check(request, deployed_config())
    key = app.current_event.get_header_value("Idempotency-Key", case_sensitive=False)
    # A retry first: it is answered with its own promotion, never refused as someone else's.
    execution = promotions.retry_of(_state_machine(), request, now, key)
    if execution is None:
        promotions.refuse_if_in_progress(request.environment)
        execution = promotions.start(_state_machine(), request, now, key)
    return Response(202, content_types.APPLICATION_JSON, promotions.status_of(execution))


@app.post("/promotions")
def request_promotion() -> Response:
    data = _body()
    for owned in ("entryPoint", "requestedBy", "rollback"):
        if owned in data:
            raise InvalidPromotionRequest(
                f"{owned}: not a field of this route (the API sets entryPoint and requestedBy; "
                "roll back with POST /environments/{environment}/rollback)"
            )
    if "modelVersionArn" not in data:
        raise InvalidPromotionRequest(
            "modelVersionArn: required, the ARN of the version to promote; "
            "to roll back, POST /environments/{environment}/rollback"
        )
    return _start(data)


@app.post("/environments/<environment>/rollback")
def roll_back(environment: str) -> Response:
    data = _body() if app.current_event.body else {}
    unknown = set(data) - {"reason", "project"}
    if unknown:
        raise InvalidPromotionRequest(f"{', '.join(sorted(unknown))}: unknown field; the body takes reason and project")
    return _start({**data, "environment": environment, "rollback": True})


@app.get("/promotions/<promotion_id>")
def read_promotion(promotion_id: str) -> dict[str, Any]:
    state_machine = _state_machine()
    return promotions.describe(state_machine, promotions.execution_arn(state_machine, promotion_id))


@app.post("/promotions/<promotion_id>/approval")
def decide_approval(promotion_id: str) -> dict[str, Any]:
    decision = approvals.Decision.parse(_body())
    execution = promotions.execution_arn(_state_machine(), promotion_id)
    config = deployed_config()
    waiting = approvals.read(execution)
    rules = config.environments.get(waiting.environment) if waiting else None
    approval = approvals.decide(execution, decision, approver=_caller(), rules=rules)
    metrics.add_metric(name=f"Approval{approval.status.title().replace('-', '')}", unit=MetricUnit.Count, value=1)
    return {"promotionId": promotion_id, "executionArn": execution, "approval": approval.public()}


@app.get("/config")
def read_config() -> dict[str, Any]:
    """What the deployed control plane accepts, so a client can refuse bad input before it asks."""
    return promotions.published_config(deployed_config())


@app.post("/promotions/<promotion_id>/abort")
def abort_promotion(promotion_id: str) -> Response:
    """Stop a running promotion; ReleaseAbandoned undoes what it changed (202: under way)."""
    data = _body()
    unknown = set(data) - {"reason"}
    if unknown:
        raise InvalidPromotionRequest(f"{', '.join(sorted(unknown))}: unknown field; the body takes reason")
    execution = promotions.execution_arn(_state_machine(), promotion_id)
    document = abandoned.abort(execution, data.get("reason"), by=_caller())
    metrics.add_metric(name="PromotionsAborted", unit=MetricUnit.Count, value=1)
    return Response(202, content_types.APPLICATION_JSON, document)


@app.get("/promotions")
def list_promotions() -> dict[str, Any]:
    environment = app.current_event.get_query_string_value("environment")
    if not environment:
        raise InvalidPromotionRequest("environment: required query parameter, e.g. /promotions?environment=prod")
    deployed_config().environment(environment)
    limit_text = app.current_event.get_query_string_value("limit", "20") or "20"
    if not limit_text.isdigit() or not 1 <= int(limit_text) <= 100:
        raise InvalidPromotionRequest("limit: a whole number from 1 to 100")
    return promotions.recent(environment, int(limit_text), app.current_event.get_query_string_value("nextToken"))


@app.exception_handler(AwsCallFailed)
def aws_refused(error: AwsCallFailed) -> Response:
    """Step Functions knows no such execution: the promotion id is wrong. Any other refusal is the
    function's failure (a 5xx), not a bad request."""
    if error.code in ("ExecutionDoesNotExist", "InvalidArn"):
        return Response(404, content_types.APPLICATION_JSON, {"error": "NotFound", "message": "no such promotion"})
    raise error


@app.exception_handler(TransientAwsError)
def busy(error: TransientAwsError) -> Response:
    """AWS throttled or failed a call for a moment: 503, which clients (botocore's retries, the CLI)
    retry; a 400 would tell them not to. Nothing was decided or started."""
    metrics.add_metric(name="ApiTransientFailure", unit=MetricUnit.Count, value=1)
    what = f"{error.operation}: {error.code}" if error.operation else str(error)
    body = {"error": "TransientAwsError", "message": f"{what}; nothing changed, send the same request again"}
    return Response(503, content_types.APPLICATION_JSON, body, headers={"Retry-After": "1"})


@app.exception_handler(PromotionInProgress)
def in_progress(error: PromotionInProgress) -> Response:
    metrics.add_metric(name="ApiRefusedInProgress", unit=MetricUnit.Count, value=1)
    return Response(409, content_types.APPLICATION_JSON, {"error": "PromotionInProgress", "message": str(error)})


@app.exception_handler(NotAnApprover)
def not_an_approver(error: NotAnApprover) -> Response:
    metrics.add_metric(name="ApprovalRefused", unit=MetricUnit.Count, value=1)
    return Response(403, content_types.APPLICATION_JSON, {"error": "NotAnApprover", "message": str(error)})


@app.exception_handler(ApproverIsRequester)
def own_promotion(error: ApproverIsRequester) -> Response:
    metrics.add_metric(name="ApprovalRefused", unit=MetricUnit.Count, value=1)
    return Response(409, content_types.APPLICATION_JSON, {"error": "ApproverIsRequester", "message": str(error)})


@app.exception_handler(PromotionNotFound)
def not_found(error: PromotionNotFound) -> Response:
    return Response(404, content_types.APPLICATION_JSON, {"error": "NotFound", "message": str(error)})


@app.exception_handler(NotAwaitingApproval)
def not_awaiting(error: NotAwaitingApproval) -> Response:
    return Response(409, content_types.APPLICATION_JSON, {"error": "NotAwaitingApproval", "message": str(error)})


@app.exception_handler(PromotionNotRunning)
def not_running(error: PromotionNotRunning) -> Response:
    return Response(409, content_types.APPLICATION_JSON, {"error": "PromotionNotRunning", "message": str(error)})


@app.exception_handler(PromotionError)
def refused(error: PromotionError) -> Response:
    metrics.add_metric(name="ApiRefused", unit=MetricUnit.Count, value=1)
    return Response(400, content_types.APPLICATION_JSON, {"error": type(error).__name__, "message": str(error)})


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    metrics.add_metric(name="ApiRequests", unit=MetricUnit.Count, value=1)
    # The API talks to its own stack (the state machine, the table): the state machine's region.
    sessions.use_region(arns.region_of_arn(_state_machine()))
    use_deployment()
    return app.resolve(event, context)
