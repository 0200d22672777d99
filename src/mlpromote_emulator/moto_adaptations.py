"""Every adaptation of moto's internals the emulator needs, and nothing else. Pinned to moto 5.2.5.

moto gives us real IAM, STS, SSM, S3, Lambda and a real Step Functions interpreter. What it lacks:

- Rekognition Custom Labels: projects, versions, their lifecycle, and DetectCustomLabels that
  checks the caller's grant and the model's state (`CustomLabels*` below);
- cross-account trust on AssumeRole (moto admits anyone);
- running a Lambda's real handler in-process (moto's no-Docker backend returns a canned answer);
- simulated time in Wait states, Retry backoff and task-token timeouts (moto really sleeps);
- one ML account as the default account (moto's default is 123456789012);
- SSM's rules for parameter names (moto takes a hierarchical name without its leading slash);
- fault injection and a record of the AWS calls the control plane makes;
- StopExecution as Step Functions does it: ABORTED at once (moto leaves an execution that waits
  for a task token RUNNING), with the error and cause given, and nothing in its history after
  ExecutionAborted;
- Step Functions' "Step Functions Execution Status Change" events on the default bus, delivered
  to rules whose target is a Lambda function (moto neither emits them nor invokes Lambda targets);
- qualified function ARNs (a version or an alias) in Lambda invokes: the qualifier reaches the
  emulator, which runs that version's code;
- speed at hundreds of accounts, with the same answers: moto finds the account and the session of an
  access key by scanning every account's IAM and every STS session, parses each JSONPath anew at
  every state, and makes a boto3 client for every Lambda task; here an index by key, parsed paths
  kept, and one engine client per session.

`install()` applies all of them once; `tests/emulator/test_moto_adaptations.py` checks each
against moto, so an upgrade that moves an internal fails loudly there and not in a promotion.
"""

from __future__ import annotations

import contextvars
import fnmatch
import functools
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote
from xml.sax.saxutils import escape

import boto3
import botocore.exceptions
import botocore.session
import moto
import moto.iam.models as iam_models
import moto.stepfunctions.parser.asl.component.common.retry.retrier_decl as retrier_decl
import moto.stepfunctions.parser.asl.component.state.exec.state_task.lambda_eval_utils as sfn_lambda_eval
import moto.stepfunctions.parser.asl.utils.boto_client as sfn_boto_client
import moto.stepfunctions.parser.asl.utils.json_path as sfn_json_path
from botocore.model import ServiceModel, ShapeResolver, StructureShape
from botocore.serialize import CBORSerializer
from jsonpath_ng.ext import parse as parse_json_path
from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.cloudwatch.models import cloudwatch_backends
from moto.cloudwatch.responses import CloudWatchResponse
from moto.comprehend.models import ComprehendBackend, comprehend_backends
from moto.comprehend.responses import ComprehendResponse
from moto.core.exceptions import JsonRESTError
from moto.core.models import botocore_stubber
from moto.core.request import determine_request_protocol
from moto.core.responses import ActionResult, BaseResponse, EmptyResult
from moto.events.exceptions import ValidationException as EventsValidationException
from moto.events.models import EventsBackend, events_backends
from moto.events.models import Rule as EventsRule
from moto.iam.exceptions import LimitExceededException, NotFoundException
from moto.iam.models import IAMBackend, iam_backends
from moto.iam.responses import IamResponse
from moto.organizations.responses import OrganizationsResponse
from moto.rekognition.models import RekognitionBackend, rekognition_backends
from moto.rekognition.responses import RekognitionResponse
from moto.s3.models import s3_backends
from moto.sns.models import sns_backends
from moto.ssm.exceptions import SSMException
from moto.ssm.exceptions import ValidationException as SsmValidationException
from moto.ssm.models import ssm_backends
from moto.ssm.responses import SimpleSystemManagerResponse
from moto.stepfunctions.parser.api import (
    ExecutionAbortedEventDetails,
    ExecutionFailedEventDetails,
    ExecutionStatus,
    HistoryEventType,
)
from moto.stepfunctions.parser.asl.component.common.error_name.error_equals_decl import ErrorEqualsDecl
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEvent,
    FailureEventException,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import StatesErrorNameType
from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import TimeoutSeconds
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction
from moto.stepfunctions.parser.asl.eval.callback.callback import (
    CallbackEndpoint,
    CallbackOutcome,
    CallbackOutcomeTimedOut,
)
from moto.stepfunctions.parser.asl.eval.environment import Environment as SfnEnvironment
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.asl.eval.event.event_manager import EventManager
from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication
from moto.stepfunctions.parser.backend.execution import Execution as SfnExecution
from moto.stepfunctions.responses import StepFunctionResponse
from moto.sts.models import AssumedRole, STSBackend
from moto.sts.responses import TokenResponse
from moto.utilities.arns import parse_arn

from mlpromote.arns import PARTITIONS
from mlpromote_emulator import comprehend

PINNED_MOTO = "5.2.5"
# Errors that real AWS answers with a 5xx status.
_SERVER_ERRORS = frozenset(
    {"InternalServerError", "InternalFailure", "ServiceUnavailable", "InternalServerErrorException"}
)


# --- the hooks the emulator fills in --------------------------------------------------------


@dataclass
class Fault:
    service: str
    operation: str
    error: str
    account: str | None = None
    count: int = 1
    message: str = "injected by the mlpromote emulator"
    # Only from the control plane's Nth call on (0-based): a fault campaign injects "at position N".
    after: int = 0

    def matches(self, service: str, operation: str, account: str, position: int) -> bool:
        return (
            self.count > 0
            and position >= self.after
            and self.service == service
            and self.operation == operation
            and self.account in (None, account)
        )


@dataclass
class Call:
    service: str
    operation: str
    account: str
    error: str | None = None


@dataclass
class Hooks:
    """What the emulator plugs into moto. One set per process: the emulator runs one world at a time."""

    # (function name, payload, qualifier or None) -> (response payload, whether the function failed)
    invoke: Callable[[str, bytes, str | None], tuple[bytes, bool]] | None = None
    sleep: Callable[[float], None] | None = None
    # Wait for a task token's answer (the event) for at most `timeout` simulated seconds.
    wait_for_callback: Callable[[threading.Event, float | None, str], None] | None = None
    activity: Callable[[], None] | None = None
    faults: list[Fault] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    iam_propagation_seconds: float = 5.0
    # For this long after a PutRolePolicy or DeleteRolePolicy, GetRolePolicy answers with the document
    # as it was before (IAM is eventually consistent; world.iamReadLagSeconds).
    iam_read_lag_seconds: float = 0.0
    # IAM's quota on a role's trust policy: 2,048 characters, up to 4,096 with a quota increase.
    trust_policy_limit: int = 2048
    # (when, what): things that happen in the world at a simulated time, e.g. an alarm going off.
    scheduled: list[tuple[datetime, Callable[[], None]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Execution ARN -> the thread delivering its status-change event (Emulator.wait joins it).
    deliveries: dict[str, threading.Thread] = field(default_factory=dict)
    # Executions StopExecution aborted (moto's thread for them may still be winding down).
    stopped: set[str] = field(default_factory=set)
    # Execution ARN -> set once its ending has been announced: registered before its status changes,
    # so whoever sees the ending can wait for the announcement.
    endings: dict[str, threading.Event] = field(default_factory=dict)
    # (function, event) of every delivery of an EventBridge rule to a Lambda target.
    delivered_events: list[tuple[str, str]] = field(default_factory=list)
    # Step Functions' quota of events in one execution's history (a test may lower it to watch it bite).
    history_event_quota: int = 25_000
    # Simulated seconds every control-plane AWS call takes (its latency): 0 keeps calls instant.
    call_seconds: float = 0.0


hooks = Hooks()
# A context variable, not a thread-local: a handler that reads accounts side by side in a thread
# pool runs each read in a copy of its context, so those calls count as the control plane's too.
_control_plane: contextvars.ContextVar[bool] = contextvars.ContextVar("mlpromote_control_plane", default=False)


def control_plane_call() -> bool:
    """True while a control-plane handler runs: its AWS calls are recorded and faultable."""
    return _control_plane.get()


class acting_as_control_plane:
    def __enter__(self) -> None:
        self._token = _control_plane.set(True)

    def __exit__(self, *exc: object) -> None:
        _control_plane.reset(self._token)


# --- default account ----------------------------------------------------------------------


def set_default_account(account: str) -> None:
    """Calls with credentials moto does not know (the Step Functions engine's, the handlers') land here."""
    iam_models.DEFAULT_ACCOUNT_ID = account


# --- Lambda: run the real handler ----------------------------------------------------------


def _invoke(
    self: LambdaSimpleBackend,
    function_name: str,
    qualifier: str | None,
    body: Any,
    headers: Any,
    response_headers: Any,
) -> bytes:
    assert hooks.invoke is not None, "the emulator installs an invoke hook before running executions"
    name, arn_qualifier = function_and_qualifier(function_name)
    payload, failed = hooks.invoke(name, body or b"{}", qualifier or arn_qualifier)
    if failed:
        response_headers["x-amz-function-error"] = "Unhandled"
    return payload


def function_and_qualifier(name_or_arn: str) -> tuple[str, str | None]:
    """(function name, qualifier) of a name, a partial ARN or a full ARN, qualified or not (Lambda's
    FunctionName forms: `Name`, `Name:3`, `arn:aws:lambda:r:a:function:Name:live`)."""
    parts = name_or_arn.split(":")
    if name_or_arn.startswith("arn:"):
        return parts[6], (parts[7] if len(parts) > 7 else None)
    if len(parts) >= 3 and parts[1] == "function":  # 123456789012:function:Name[:qualifier]
        return parts[2], (parts[3] if len(parts) > 3 else None)
    return parts[0], (parts[1] if len(parts) > 1 else None)


# --- simulated time ------------------------------------------------------------------------


def _wait_interval(self: WaitFunction, env: Any, wait_seconds: int) -> None:
    (hooks.sleep or _no_sleep)(wait_seconds)


def _no_sleep(seconds: float) -> None:
    return None


class _RetrierTime:
    """Stands in for the `time` module inside moto's retrier: backoff sleeps move the simulated clock."""

    @staticmethod
    def sleep(seconds: float) -> None:
        (hooks.sleep or _no_sleep)(seconds)


_original_callback_wait = CallbackEndpoint.wait


def _callback_wait(self: CallbackEndpoint, timeout: float | None = None) -> CallbackOutcome | None:
    """A `.waitForTaskToken` task waits for SendTask* or its timeout, on the simulated clock.

    A task without a TimeoutSeconds waits (in real time) for its answer: on the simulated clock its
    default timeout of three years would pass at the first quiet moment.
    """
    if hooks.wait_for_callback is None or timeout is None or timeout >= TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS:
        return _original_callback_wait(self, timeout)
    hooks.wait_for_callback(self._notify_event, timeout, str(self.callback_id))
    if self._outcome is None:
        # moto leaves the timeout to the state's own (real-time) wait; here the simulated one ended.
        return CallbackOutcomeTimedOut(callback_id=self.callback_id)
    return self._outcome


def _send_task_failure(self: StepFunctionResponse) -> Any:
    """moto's response drops the `cause`; the approval gate puts who rejected, and why, in it."""
    # With execute_state_machine on, the backend is the interpreter's, which takes the cause.
    self.stepfunction_backend.send_task_failure(  # type: ignore[call-arg]
        self._get_param("taskToken"), error=self._get_param("error"), cause=self._get_param("cause")
    )
    return EmptyResult()


# --- StopExecution, and the status-change events of every ending ----------------------------

STATUS_CHANGE = "Step Functions Execution Status Change"
# Lambda retries an asynchronous invocation (EventBridge's, here) that fails twice
# (Lambda developer guide, "Error handling and automatic retries in Lambda").
ASYNC_INVOKE_ATTEMPTS = 3
_original_execution_stop = SfnExecution.stop
_original_terminated = BaseExecutionWorkerCommunication.terminated


def _stop_execution_response(self: StepFunctionResponse) -> ActionResult:
    """moto's response drops StopExecution's `error` and `cause`; the execution keeps them."""
    execution = self.stepfunction_backend.describe_execution(self._get_param("executionArn"))
    if execution.status == "RUNNING":
        execution.stop(stop_date=datetime.now(UTC), error=self._get_param("error"), cause=self._get_param("cause"))
    return ActionResult({"stopDate": execution.stop_date})


def _stop(self: SfnExecution, stop_date: datetime, error: str | None, cause: str | None) -> None:
    """ABORTED at once, as on AWS. moto only flags the program as stopped and lets its thread find out:
    a task waiting for a task token never does (the execution stays RUNNING until the wait ends,
    up to the task's timeout), and its states keep adding events after the stop."""
    _original_execution_stop(self, stop_date, error, cause)
    worker = self.exec_worker
    env = getattr(worker, "env", None)
    if env is None or self.exec_status != ExecutionStatus.RUNNING:
        return
    ending = _ending(self.exec_arn)
    env.event_history_context.source_event_id = 0
    env.event_manager.add_event(
        context=env.event_history_context,
        event_type=HistoryEventType.ExecutionAborted,
        event_details=EventDetails(  # type: ignore[typeddict-item]
            executionAbortedEventDetails=ExecutionAbortedEventDetails(error=error, cause=cause)
        ),
    )
    # The history ends here (StopExecution: "the execution ... ends"); the interrupted states' last words are dropped.
    env.event_manager.add_event = lambda *args, **kwargs: 0
    self.exec_status, self.stop_date, self.error, self.cause = ExecutionStatus.ABORTED, stop_date, error, cause
    hooks.stopped.add(self.exec_arn)
    for endpoint in list(env.callback_pool_manager._pool.values()):
        endpoint._notify_event.set()  # the waiting task's thread ends; the execution is already ABORTED
    _announce(self)
    ending.set()


def _terminated(self: BaseExecutionWorkerCommunication) -> None:
    ending = _ending(self.execution.exec_arn)
    if self.execution.exec_arn not in hooks.stopped:  # already ABORTED, with its stop date, by _stop
        _original_terminated(self)
    _announce(self.execution)
    ending.set()


def _ending(execution_arn: str) -> threading.Event:
    with hooks.lock:
        return hooks.endings.setdefault(execution_arn, threading.Event())


def _announce(execution: SfnExecution) -> None:
    """Put the execution's status-change event on the default bus of its account and region, as Step
    Functions does for every ending (Step Functions developer guide, "Automating Step Functions event
    delivery with EventBridge": detail executionArn, stateMachineArn, name, status, startDate, stopDate,
    input, output, error, cause). Delivered from another thread, as EventBridge does, after the status
    changed: a target that calls DescribeExecution sees the ending."""
    arn = execution.exec_arn
    with hooks.lock:
        if arn in hooks.deliveries or hooks.invoke is None:
            return
        detail = {
            "executionArn": arn,
            "stateMachineArn": execution.state_machine_arn,
            "name": execution.name,
            "status": execution.status,
            "startDate": int(execution.start_date.timestamp() * 1000),
            "stopDate": int((execution.stop_date or datetime.now(UTC)).timestamp() * 1000),
            "input": execution.execution_input,
            "output": json.dumps(execution.output) if execution.status == "SUCCEEDED" else None,
            "error": execution.error,
            "cause": execution.cause,
        }
        entry = {"Source": "aws.states", "DetailType": STATUS_CHANGE, "Detail": json.dumps(detail), "Resources": [arn]}
        backend = events_backends[execution.account_id][execution.region_name]
        thread = threading.Thread(target=backend.put_events, args=([entry],), daemon=True, name=f"status-{arn}")
        thread.start()
        hooks.deliveries[arn] = thread


def ended(execution_arn: str, timeout: float) -> bool:
    """Wait until the execution ends, at most `timeout` real seconds (False: still running then, as far
    as this knows: a stopped execution may end without it)."""
    return _ending(execution_arn).wait(timeout)


def delivered(execution_arn: str, timeout: float) -> bool:
    """Wait until the execution's status-change event has been delivered (False: not yet, after `timeout`)."""
    ending = hooks.endings.get(execution_arn)
    if ending is not None and not ending.wait(timeout):
        return False
    thread = hooks.deliveries.get(execution_arn)
    if thread is None:
        return True
    thread.join(timeout)
    return not thread.is_alive()


# --- calls: record, and inject faults ------------------------------------------------------

_original_call_action = BaseResponse.call_action


def _call_action(self: BaseResponse) -> Any:
    if not control_plane_call():
        return _original_call_action(self)
    if hooks.activity is not None:
        hooks.activity()
    run_due_events()
    service = self.service_name or ""
    operation = self._get_action()
    account = self.current_account
    _call_latency()
    with hooks.lock:
        position = len(hooks.calls)
        fault = next((f for f in hooks.faults if f.matches(service, operation, account, position)), None)
        if fault:
            fault.count -= 1
        hooks.calls.append(Call(service, operation, account, fault.error if fault else None))
    if fault is None:
        return _original_call_action(self)
    return error_response(
        service, fault.error, f"{fault.message} ({service} {operation} in {account})", _request_protocol(self, service)
    )


def run_due_events() -> None:
    now = datetime.now(UTC)
    with hooks.lock:
        due = [event for event in hooks.scheduled if event[0] <= now]
        hooks.scheduled = [event for event in hooks.scheduled if event[0] > now]
    for _, happen in due:
        happen()


def error_response(
    service: str, code: str, message: str, protocol: str | None = None
) -> tuple[int, dict[str, Any], str | bytes]:
    """An AWS error as the service's wire protocol carries it, so botocore parses its code (and its
    retry classification) as it would from AWS. `protocol`: what the request was made with (a
    service may speak several: CloudWatch's botocore model lists smithy-rpc-v2-cbor, json and
    query); by default the one botocore picks for the service."""
    status = 500 if code in _SERVER_ERRORS else (403 if code.startswith("AccessDenied") else 400)
    model = _service_model(service)
    protocol = protocol or (str(model.resolved_protocol) if model else "query")
    fault = "Receiver" if status >= 500 else "Sender"
    headers: dict[str, Any] = {"status": status, "x-amzn-RequestId": "mlpromote-emulator"}
    if model is not None and "awsQueryCompatible" in model.metadata:
        # A former query service keeps its query error codes in this header (botocore reads it first).
        headers["x-amzn-query-error"] = f"{code};{fault}"
    if protocol == "smithy-rpc-v2-cbor":
        # https://smithy.io/2.0/additional-specs/protocols/smithy-rpc-v2.html#operation-error-serialization
        headers.update({"Content-Type": "application/cbor", "smithy-protocol": "rpc-v2-cbor"})
        return status, headers, _cbor_map({"__type": code, "message": message})
    if protocol == "json":
        version = model.metadata.get("jsonVersion", "1.1") if model else "1.1"
        headers["Content-Type"] = f"application/x-amz-json-{version}"
        return status, headers, json.dumps({"__type": code, "message": message})
    if protocol == "rest-json":
        headers.update({"Content-Type": "application/json", "x-amzn-ErrorType": code})
        return status, headers, json.dumps({"message": message})
    error = f"<Error><Type>{fault}</Type><Code>{escape(code)}</Code><Message>{escape(message)}</Message></Error>"
    headers["Content-Type"] = "text/xml"
    if protocol == "rest-xml":
        return status, headers, error
    if protocol == "ec2":
        return (
            status,
            headers,
            f"<Response><Errors>{error}</Errors><RequestID>mlpromote-emulator</RequestID></Response>",
        )
    return status, headers, f"<ErrorResponse>{error}<RequestId>mlpromote-emulator</RequestId></ErrorResponse>"


_service_models: dict[str, ServiceModel | None] = {}


def _service_model(service: str) -> ServiceModel | None:
    if service not in _service_models:
        try:
            _service_models[service] = botocore.session.get_session().get_service_model(service)
        except botocore.exceptions.UnknownServiceError:
            _service_models[service] = None
    return _service_models[service]


def _request_protocol(response: BaseResponse, service: str) -> str | None:
    """The protocol the client spoke, from its request (botocore may pick another than the model's default)."""
    headers = response.headers or {}
    content_type = str(headers.get("Content-Type") or "")
    if headers.get("smithy-protocol") == "rpc-v2-cbor" or content_type.startswith("application/cbor"):
        return "smithy-rpc-v2-cbor"
    model = _service_model(service)
    if model is None:
        return None
    try:
        return determine_request_protocol(model, content_type.split(";")[0] or None)
    except NotImplementedError:
        return None


def _cbor_map(fields: dict[str, str]) -> bytes:
    """A CBOR map of strings, through botocore's own CBOR encoder (the one its clients send with)."""
    members = {name: {"shape": "String"} for name in fields}
    shape = StructureShape(
        "Error", {"type": "structure", "members": members}, ShapeResolver({"String": {"type": "string"}})
    )
    encoded = bytearray()
    CBORSerializer()._serialize_data_item(encoded, fields, shape)
    return bytes(encoded)


# --- STS: trust policies -------------------------------------------------------------------

_original_assume_role = TokenResponse.assume_role


def _caller(access_key: str) -> tuple[str, str | None]:
    """(account, role ARN or None) of the credentials behind an access key."""
    assumed = assumed_role_of(access_key)
    if assumed is not None:
        return assumed.account_id, assumed.role_arn
    return _account_of_key(access_key), None


def admits(
    trust_policy: dict[str, Any],
    caller_account: str,
    caller_role: str | None,
    external_id: str | None = None,
    action: str = "sts:AssumeRole",
) -> bool:
    """Whether a trust policy lets this caller call sts:AssumeRole (or `action`: sts:SetSourceIdentity).

    A coarse check for every caller: an account principal (id or :root) admits any principal of
    that account, and so does a role ARN of that account; of the conditions, only sts:ExternalId
    (StringEquals). The handlers' calls are first evaluated in full, as their own roles, by
    mlpromote_emulator.authorization (aws:PrincipalArn, aws:PrincipalOrgID, identity policies, SCPs).
    """
    for statement in _statements(trust_policy):
        if statement.get("Effect") != "Allow" or not _action_matches(statement.get("Action"), action):
            continue
        wanted = statement.get("Condition", {}).get("StringEquals", {}).get("sts:ExternalId")
        if wanted is not None and external_id not in _as_list(wanted):
            continue
        principal = statement.get("Principal", {})
        principals = ["*"] if principal == "*" else _as_list(principal.get("AWS", []))
        for entry in principals:
            if entry in ("*", caller_account, caller_role):
                return True
            if entry.startswith("arn:") and entry.split(":")[4] == caller_account:
                return True
    return False


def _assume_role(self: TokenResponse) -> Any:
    role_arn = self._get_param("RoleArn") or ""
    parts = role_arn.split(":")
    if len(parts) == 6 and parts[2] == "iam" and parts[5].startswith("role/"):
        account, role_name = parts[4], parts[5].split("/")[-1]
        caller_account, caller_role = _caller(self.get_access_key())
        # moto keys IAM (a global service) per account by partition, not region: the ARN's own partition.
        known = account in iam_backends and parts[1] in PARTITIONS
        role = role_named(iam_backends[account][parts[1]], role_name) if known else None
        trust = json.loads(unquote(role.assume_role_policy_document)) if role else None
        if trust is None or not admits(trust, caller_account, caller_role, self._get_param("ExternalId")):
            who = caller_role or f"account {caller_account}"
            return error_response(
                "sts",
                "AccessDenied",
                f"{who} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
            )
        refused = _session_refused(self, role_arn, trust, caller_account, caller_role)
        if refused is not None:
            return refused
    return _original_assume_role(self)


# --- STS: session names and source identity -------------------------------------------------

# STS AssumeRole: RoleSessionName and SourceIdentity are 2 to 64 characters of [\w+=,.@-].
_STS_NAME = re.compile(r"[\w+=,.@-]{2,64}", re.ASCII)


@dataclass(frozen=True)
class IssuedSession:
    """A role session the emulator's STS issued: what CloudTrail would show of it."""

    role_arn: str
    session_name: str
    source_identity: str | None


# Every session issued, in order; (role ARN, session name) -> its source identity.
issued_sessions: list[IssuedSession] = []
_source_identities: dict[tuple[str, str], str | None] = {}


def _session_refused(
    response: TokenResponse, role_arn: str, trust: dict[str, Any], caller_account: str, caller_role: str | None
) -> Any:
    """AssumeRole's rules for the session (IAM User Guide, "Monitor and control actions taken with
    assumed roles"): names in STS's characters; a source identity set earlier in a role chain
    persists and cannot be changed; setting or keeping one needs sts:SetSourceIdentity in the trust."""
    name = response._get_param("RoleSessionName") or ""
    wanted = response._get_param("SourceIdentity")
    for field_name, value in (("roleSessionName", name), ("sourceIdentity", wanted)):
        if value is not None and not _STS_NAME.fullmatch(value):
            return error_response(
                "sts",
                "ValidationError",
                f"1 validation error detected: Value '{value}' at '{field_name}' failed to satisfy constraint: "
                "Member must satisfy regular expression pattern: [\\w+=,.@-]*",
            )
    inherited = _caller_source_identity(response.get_access_key())
    if inherited is not None and wanted is not None and wanted != inherited:
        return error_response(
            "sts", "AccessDenied", f"the session's source identity {inherited!r} cannot be changed to {wanted!r}"
        )
    identity = wanted or inherited
    if identity is not None and not admits(trust, caller_account, caller_role, action="sts:SetSourceIdentity"):
        who = caller_role or f"account {caller_account}"
        return error_response(
            "sts", "AccessDenied", f"{who} is not authorized to perform: sts:SetSourceIdentity on resource: {role_arn}"
        )
    _source_identities[(role_arn, name)] = identity
    issued_sessions.append(IssuedSession(role_arn, name, identity))
    return None


def forget_sessions() -> None:
    """A new world: no session issued yet."""
    issued_sessions.clear()
    _source_identities.clear()


def _caller_source_identity(access_key: str) -> str | None:
    assumed = assumed_role_of(access_key)
    if assumed is not None:
        return _source_identities.get((assumed.role_arn, assumed.session_name))
    return None


# --- IAM in GovCloud: the partition of the request ------------------------------------------

_original_iam_region = IamResponse.get_region_from_url


def _iam_region(self: IamResponse, request: Any, full_url: str) -> str:
    """IAM's GovCloud endpoint is iam.us-gov.amazonaws.com: moto reads `us-gov` as the region, which
    is no partition's, and files the roles under `aws` with `arn:aws:` ARNs. AWS answers in aws-us-gov
    there; the request's SigV4 scope names the real region (us-gov-west-1), so take it from there."""
    region = _original_iam_region(self, request, full_url)
    if region == "us-gov":
        authorization = request.headers.get("Authorization", "")
        if "Credential=" in authorization:
            return str(authorization.split("Credential=", 1)[1].split("/")[2])
    return region


def role_named(backend: IAMBackend, name: str) -> Any:
    """The role, or None (moto's get_role raises)."""
    return next((role for role in backend.roles.values() if role.name == name), None)


# --- IAM: when was each grant written ------------------------------------------------------

# (account, role name, version ARN) -> when the inline policy first allowed DetectCustomLabels on it
grant_times: dict[tuple[str, str, str], datetime] = {}
_original_put_role_policy = IAMBackend.put_role_policy
_original_delete_role_policy = IAMBackend.delete_role_policy


# The calls that use a model, one per model service: a grant allows one of them on one ARN.
_MODEL_ACTIONS = ("rekognition:DetectCustomLabels", "comprehend:ClassifyDocument", "comprehend:DetectEntities")


def _detect_resources(document: dict[str, Any]) -> set[str]:
    out: set[str] = set()
    for statement in _statements(document):
        if statement.get("Effect") == "Allow" and any(
            _action_matches(statement.get("Action"), action) for action in _MODEL_ACTIONS
        ):
            out.update(_as_list(statement.get("Resource", [])))
    return out


def _role_grants(backend: IAMBackend, role_name: str) -> set[str]:
    role = backend.get_role(role_name)
    out: set[str] = set()
    for document in role.policies.values():
        out |= _detect_resources(json.loads(unquote(document)) if isinstance(document, str) else document)
    return out


def _record_grant_changes(backend: IAMBackend, role_name: str, before: set[str]) -> None:
    after = _role_grants(backend, role_name)
    now = datetime.now(UTC)
    for resource in after - before:
        grant_times[(backend.account_id, role_name, resource)] = now
    for resource in before - after:
        grant_times.pop((backend.account_id, role_name, resource), None)


# IAM quotas (IAM User Guide, "IAM and AWS STS quotas"): all inline policies of a role together at most
# 10,240 characters, a role's trust policy at most 2,048 (4,096 with a quota increase); IAM does not
# count whitespace. Past them IAM answers LimitExceeded (HTTP 409) in these words.
ROLE_INLINE_POLICIES_LIMIT = 10_240
_original_create_role = IAMBackend.create_role
_original_update_assume_role_policy = IAMBackend.update_assume_role_policy


def policy_chars(document: str | dict[str, Any]) -> int:
    """A policy's size as IAM counts it: the JSON without whitespace."""
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError:
            document = json.loads(unquote(str(document)))
    return len(json.dumps(document, separators=(",", ":"), ensure_ascii=False))


def _require_trust_within_quota(role_name: str, document: str) -> None:
    if policy_chars(document) > hooks.trust_policy_limit:
        raise LimitExceededException(f"Cannot exceed quota for ACLSizePerRole: {hooks.trust_policy_limit}")


def _create_role(self: IAMBackend, role_name: str, assume_role_policy_document: str, *args: Any, **kwargs: Any) -> Any:
    _require_trust_within_quota(role_name, assume_role_policy_document)
    return _original_create_role(self, role_name, assume_role_policy_document, *args, **kwargs)


def _update_assume_role_policy(self: IAMBackend, role_name: str, policy_document: str) -> None:
    _require_trust_within_quota(role_name, policy_document)
    _original_update_assume_role_policy(self, role_name, policy_document)


# --- IAM: eventually consistent reads of inline policies --------------------------------------
# IAM User Guide, "Troubleshoot IAM" > "Changes that I make are not always immediately visible": IAM is
# eventually consistent, and a change can take time to show. Modelled on the one read the control plane
# relies on: GetRolePolicy answers with the document as it was before the latest write for
# hooks.iam_read_lag_seconds after it (NoSuchEntity if there was none).

# (account, role, policy) -> (when last written, the document before that write, or None)
_policy_writes: dict[tuple[str, str, str], tuple[datetime, str | None]] = {}
_original_get_role_policy = IamResponse.get_role_policy


def _record_policy_write(backend: IAMBackend, role_name: str, policy_name: str) -> None:
    role = role_named(backend, role_name)
    previous = role.policies.get(policy_name) if role is not None else None
    _policy_writes[(backend.account_id, role_name, policy_name)] = (datetime.now(UTC), previous)


def forget_policy_writes() -> None:
    """Every write so far is old news (a world seeded long before the run)."""
    _policy_writes.clear()


def _get_role_policy(self: IamResponse) -> Any:
    role_name, policy_name = self._get_param("RoleName"), self._get_param("PolicyName")
    written = _policy_writes.get((self.current_account, role_name, policy_name))
    if written is None or datetime.now(UTC) - written[0] >= timedelta(seconds=hooks.iam_read_lag_seconds):
        return _original_get_role_policy(self)
    if written[1] is None:
        raise NotFoundException(f"The role policy with name {policy_name} cannot be found.")
    return ActionResult({"RoleName": role_name, "PolicyName": policy_name, "PolicyDocument": written[1]})


def _put_role_policy(self: IAMBackend, role_name: str, policy_name: str, policy_json: str) -> None:
    role = self.get_role(role_name)
    others = sum(policy_chars(document) for name, document in role.policies.items() if name != policy_name)
    if others + policy_chars(policy_json) > ROLE_INLINE_POLICIES_LIMIT:
        raise LimitExceededException(
            f"Maximum policy size of {ROLE_INLINE_POLICIES_LIMIT} bytes exceeded for role {role_name}"
        )
    before = _role_grants(self, role_name)
    _record_policy_write(self, role_name, policy_name)
    _original_put_role_policy(self, role_name, policy_name, policy_json)
    _record_grant_changes(self, role_name, before)


def _delete_role_policy(self: IAMBackend, role_name: str, policy_name: str) -> None:
    before = _role_grants(self, role_name)
    _record_policy_write(self, role_name, policy_name)
    _original_delete_role_policy(self, role_name, policy_name)
    _record_grant_changes(self, role_name, before)


def backdate_grants(account: str, seconds: float) -> None:
    """Make every grant of an account look `seconds` older (a world that existed before the run)."""
    for key in list(grant_times):
        if key[0] == account:
            grant_times[key] -= timedelta(seconds=seconds)


# --- Rekognition Custom Labels -------------------------------------------------------------


@dataclass
class CustomLabelsVersion:
    arn: str
    project: str
    name: str
    status: str
    labels: dict[str, float]
    start_seconds: float
    fails_on_start: bool = False
    starting_since: datetime | None = None
    min_units: int | None = None
    max_units: int | None = None
    # A stop passes through STOPPING for this long (world.stopSeconds) before STOPPED.
    stop_seconds: float = 120
    stopping_since: datetime | None = None
    # A copy (CopyProjectVersion) is COPYING_IN_PROGRESS for this long (world.copySeconds), then
    # COPYING_COMPLETED; `source_arn` is the version it copies (DescribeProjectVersions' SourceProjectVersionArn).
    copy_seconds: float = 300
    copying_since: datetime | None = None
    source_arn: str | None = None
    created: datetime = field(default_factory=lambda: datetime.now(UTC))

    def current_status(self) -> str:
        end = self.transition_ends()
        if end is not None and datetime.now(UTC) >= end:
            if self.status == "STARTING":
                self.status, self.starting_since = ("FAILED" if self.fails_on_start else "RUNNING"), None
            elif self.status == "COPYING_IN_PROGRESS":
                self.status, self.copying_since = "COPYING_COMPLETED", None
            else:
                self.status, self.stopping_since = "STOPPED", None
        return self.status

    def transition_ends(self) -> datetime | None:
        """When the start, stop or copy under way ends (None: none is under way)."""
        if self.status == "STARTING" and self.starting_since is not None:
            return self.starting_since + timedelta(seconds=self.start_seconds)
        if self.status == "STOPPING" and self.stopping_since is not None:
            return self.stopping_since + timedelta(seconds=self.stop_seconds)
        if self.status == "COPYING_IN_PROGRESS" and self.copying_since is not None:
            return self.copying_since + timedelta(seconds=self.copy_seconds)
        return None


def _custom_labels(self: RekognitionBackend) -> dict[str, Any]:
    """Per account and region: {"projects": {name: arn}, "versions": {arn: CustomLabelsVersion}}."""
    if not hasattr(self, "_mlpromote_custom_labels"):
        # "policies": {project ARN: {policy name: ProjectPolicy}}
        self._mlpromote_custom_labels = {"projects": {}, "versions": {}, "policies": {}}  # type: ignore[attr-defined]
    return self._mlpromote_custom_labels  # type: ignore[attr-defined]


class CustomLabelsError(JsonRESTError):
    pass


def _version(backend: RekognitionBackend, arn: str) -> CustomLabelsVersion:
    version = _custom_labels(backend)["versions"].get(arn)
    if version is None:
        raise CustomLabelsError("ResourceNotFoundException", f"The resource {arn} cannot be found")
    return version


def _describe_projects(self: RekognitionResponse) -> str:
    names = self._get_param("ProjectNames")
    projects = _custom_labels(self.rekognition_backend)["projects"]
    found = [
        {"ProjectArn": arn, "Status": "CREATED", "CreationTimestamp": 1.7e9}
        for name, arn in sorted(projects.items())
        if not names or name in names
    ]
    return json.dumps({"ProjectDescriptions": found})


def _describe_project_versions(self: RekognitionResponse) -> str:
    project_arn = self._get_param("ProjectArn")
    names = self._get_param("VersionNames")
    store = _custom_labels(self.rekognition_backend)
    if project_arn not in store["projects"].values():
        raise CustomLabelsError("ResourceNotFoundException", f"The resource {project_arn} cannot be found")
    found = []
    for version in store["versions"].values():
        if project_arn.split("/")[1] == version.project and (not names or version.name in names):
            description = {
                "ProjectVersionArn": version.arn,
                "Status": version.current_status(),
                "CreationTimestamp": version.created.timestamp(),
            }
            if version.source_arn:
                description["SourceProjectVersionArn"] = version.source_arn
            if version.status == "FAILED":
                description["StatusMessage"] = "The model failed to start (emulated)."
            if version.min_units:
                description["MinInferenceUnits"] = version.min_units
            found.append(description)
    return json.dumps({"ProjectVersionDescriptions": found})


def _start_project_version(self: RekognitionResponse) -> str:
    version = _version(self.rekognition_backend, self._get_param("ProjectVersionArn"))
    status = version.current_status()
    # StartProjectVersion's modelled error for a version busy in another transition (the API reference
    # names no other): a STOPPING version is started only once it is STOPPED.
    if status in ("RUNNING", "STARTING", "STOPPING"):
        raise CustomLabelsError("ResourceInUseException", f"{version.arn} is {status}")
    if status not in ("TRAINING_COMPLETED", "STOPPED", "COPYING_COMPLETED", "FAILED"):
        raise CustomLabelsError("InvalidParameterException", f"{version.arn} is {status} and cannot be started")
    version.status, version.starting_since = "STARTING", datetime.now(UTC)
    version.min_units = self._get_param("MinInferenceUnits")
    version.max_units = self._get_param("MaxInferenceUnits")
    return json.dumps({"Status": "STARTING"})


def _stop_project_version(self: RekognitionResponse) -> str:
    """StopProjectVersion "stops a running model" (Rekognition API reference, StopProjectVersion): only a
    RUNNING version, which then is STOPPING for world.stopSeconds before it is STOPPED. A STARTING one
    is in a transition the API does not document stopping: ResourceInUseException, as for any busy version."""
    version = _version(self.rekognition_backend, self._get_param("ProjectVersionArn"))
    status = version.current_status()
    if status != "RUNNING":
        raise CustomLabelsError(
            "ResourceInUseException", f"{version.arn} is {status}; StopProjectVersion stops only a RUNNING model"
        )
    version.status, version.stopping_since = "STOPPING", datetime.now(UTC)
    return json.dumps({"Status": "STOPPING"})


def _detect_custom_labels(self: RekognitionResponse) -> str:
    arn = self._get_param("ProjectVersionArn")
    version = _version(self.rekognition_backend, arn)
    caller_account, caller_role = _caller(self.get_access_key())
    if not _may_detect(caller_account, caller_role, arn, self.current_account):
        raise CustomLabelsError(
            "AccessDeniedException",
            f"User: {caller_role or caller_account} is not authorized to perform: "
            f"rekognition:DetectCustomLabels on resource: {arn}",
        )
    if version.current_status() != "RUNNING":
        raise CustomLabelsError("ResourceNotReadyException", f"{arn} is {version.status}, not RUNNING")
    s3_object = self._get_param("Image", {}).get("S3Object", {})
    bucket, key = s3_object.get("Bucket"), s3_object.get("Name")
    try:
        # Bucket names are global: a copy in a target account reads the ML account's smoke-test images.
        _bucket_owner_backend(bucket, self.partition, self.current_account).get_object(bucket, key)
    except Exception:
        raise CustomLabelsError(
            "InvalidS3ObjectException", f"Unable to get object metadata from S3: s3://{bucket}/{key}"
        ) from None
    min_confidence = float(self._get_param("MinConfidence", 55))
    labels = [
        {"Name": name, "Confidence": confidence}
        for name, confidence in sorted(version.labels.items())
        if confidence >= min_confidence
    ]
    return json.dumps({"CustomLabels": labels})


def _bucket_owner_backend(bucket: str, partition: str, default_account: str) -> Any:
    for backends in s3_backends.values():
        backend = backends[partition]
        if bucket in backend.buckets:
            return backend
    return s3_backends[default_account][partition]


def _may_detect(caller_account: str, caller_role: str | None, version_arn: str, model_account: str) -> bool:
    """The caller must be a role of the model's account whose inline grant is old enough to have propagated.
    A copy (CopyProjectVersion) is called in its own account by that account's roles, whose permission is
    their deployed identity policy, which the rehearsal's IAM (mlpromote_emulator.authorization) checks."""
    if caller_role is None or caller_account != model_account:
        return False
    copy = _custom_labels(rekognition_backends[model_account][version_arn.split(":")[3]])["versions"].get(version_arn)
    if copy is not None and copy.source_arn:
        return True
    role_name = caller_role.split("/")[-1]
    backend = iam_backends[model_account][version_arn.split(":")[1]]
    if role_named(backend, role_name) is None:
        return False
    cutoff = datetime.now(UTC) - timedelta(seconds=hooks.iam_propagation_seconds)
    for resource in _role_grants(backend, role_name):
        if fnmatch.fnmatchcase(version_arn, resource):
            granted = grant_times.get((model_account, role_name, resource))
            if granted is not None and granted <= cutoff:
                return True
    return False


# --- Rekognition Custom Labels: projects, project policies and copies ---------------------------
# CreateProject, PutProjectPolicy / DeleteProjectPolicy / ListProjectPolicies, CopyProjectVersion and
# DeleteProjectVersion, as the Rekognition API reference describes them:
# https://docs.aws.amazon.com/rekognition/latest/APIReference/API_CopyProjectVersion.html (same region; the
# destination project must exist; COPYING_IN_PROGRESS, then COPYING_COMPLETED; across accounts only
# with a project policy on the source project that allows the caller), API_PutProjectPolicy.html
# (PolicyRevisionId: a policy is replaced only with its current revision id; a document of at most
# 2,000 characters whose only action is rekognition:CopyProjectVersion, with Effect, Principal, Action and
# Resource and no NotAction/NotResource/NotPrincipal: Custom Labels guide, "Creating a project policy
# document"), and the Custom Labels guide's quotas (at most 5 project policies per project; ListProjectPolicies
# pages hold at most 5).

PROJECT_POLICIES_PER_PROJECT = 5
PROJECT_POLICY_MAX_CHARS = 2000
_POLICY_NAME = re.compile(r"^[a-zA-Z0-9_.\-]{1,128}$")


@dataclass
class ProjectPolicy:
    name: str
    document: str
    revision: str
    created: datetime
    updated: datetime


def _project_arn_from(backend: RekognitionBackend, arn: str) -> str:
    if arn not in _custom_labels(backend)["projects"].values():
        raise CustomLabelsError("ResourceNotFoundException", f"The resource {arn} cannot be found")
    return arn


def _create_project(self: RekognitionResponse) -> str:
    name = self._get_param("ProjectName")
    store = _custom_labels(self.rekognition_backend)
    if name in store["projects"]:
        raise CustomLabelsError("ResourceInUseException", f"A project named {name} already exists")
    created = int(datetime.now(UTC).timestamp() * 1000)
    arn = f"arn:{self.partition}:rekognition:{self.region}:{self.current_account}:project/{name}/{created}"
    store["projects"][name] = arn
    return json.dumps({"ProjectArn": arn})


def _policy_document_problem(text: str) -> str | None:
    """Why Rekognition refuses a project policy document (MalformedPolicyDocumentException), or None."""
    try:
        document = json.loads(text)
    except ValueError:
        return "the policy document is not JSON"
    statements = _statements(document) if isinstance(document, dict) else []
    if not statements:
        return "the policy document has no Statement"
    for statement in statements:
        if any(key in statement for key in ("NotAction", "NotResource", "NotPrincipal")):
            return "NotAction, NotResource and NotPrincipal are not allowed in a project policy"
        if not all(key in statement for key in ("Effect", "Principal", "Action", "Resource")):
            return "every statement needs Effect, Principal, Action and Resource"
        if any(action.lower() != "rekognition:copyprojectversion" for action in _as_list(statement["Action"])):
            return "the only action a project policy may name is rekognition:CopyProjectVersion"
    return None


def _put_project_policy(self: RekognitionResponse) -> str:
    store = _custom_labels(self.rekognition_backend)
    project = _project_arn_from(self.rekognition_backend, self._get_param("ProjectArn"))
    name, document = self._get_param("PolicyName"), self._get_param("PolicyDocument")
    revision = self._get_param("PolicyRevisionId")
    if not isinstance(name, str) or not _POLICY_NAME.match(name):
        raise CustomLabelsError("InvalidParameterException", f"PolicyName {name!r} is not 1-128 of a-z A-Z 0-9 _ . -")
    if not isinstance(document, str) or not 1 <= len(document) <= PROJECT_POLICY_MAX_CHARS:
        raise CustomLabelsError(
            "InvalidParameterException",
            f"PolicyDocument is {len(document or '')} characters; it must be 1 to {PROJECT_POLICY_MAX_CHARS}",
        )
    problem = _policy_document_problem(document)
    if problem:
        raise CustomLabelsError("MalformedPolicyDocumentException", problem)
    policies: dict[str, ProjectPolicy] = store["policies"].setdefault(project, {})
    existing = policies.get(name)
    if existing is None and revision is not None:
        raise CustomLabelsError("InvalidPolicyRevisionIdException", f"{project} has no policy {name} to revise")
    if existing is not None and revision is None:
        raise CustomLabelsError(
            "ResourceAlreadyExistsException", f"{project} has a policy {name}; give its PolicyRevisionId to replace it"
        )
    if existing is not None and revision != existing.revision:
        raise CustomLabelsError(
            "InvalidPolicyRevisionIdException", f"{revision} is not the current revision of {name} on {project}"
        )
    if existing is None and len(policies) >= PROJECT_POLICIES_PER_PROJECT:
        raise CustomLabelsError(
            "LimitExceededException", f"{project} has {len(policies)} project policies, the most it may have"
        )
    now = datetime.now(UTC)
    new_revision = f"{(existing.revision if existing else '0')}{len(policies)}{int(now.timestamp() * 1000):x}"[-32:]
    policies[name] = ProjectPolicy(name, document, new_revision, existing.created if existing else now, now)
    return json.dumps({"PolicyRevisionId": new_revision})


def _delete_project_policy(self: RekognitionResponse) -> str:
    store = _custom_labels(self.rekognition_backend)
    project = _project_arn_from(self.rekognition_backend, self._get_param("ProjectArn"))
    name, revision = self._get_param("PolicyName"), self._get_param("PolicyRevisionId")
    policies: dict[str, ProjectPolicy] = store["policies"].setdefault(project, {})
    existing = policies.get(name)
    if existing is None:
        raise CustomLabelsError("ResourceNotFoundException", f"{project} has no project policy {name}")
    if revision is not None and revision != existing.revision:
        raise CustomLabelsError(
            "InvalidPolicyRevisionIdException", f"{revision} is not the current revision of {name} on {project}"
        )
    del policies[name]
    return "{}"


def _list_project_policies(self: RekognitionResponse) -> str:
    store = _custom_labels(self.rekognition_backend)
    project = _project_arn_from(self.rekognition_backend, self._get_param("ProjectArn"))
    limit = self._get_param("MaxResults") or PROJECT_POLICIES_PER_PROJECT
    if not 1 <= int(limit) <= PROJECT_POLICIES_PER_PROJECT:
        raise CustomLabelsError("InvalidParameterException", "MaxResults must be 1 to 5")
    policies = sorted(store["policies"].get(project, {}).values(), key=lambda p: p.name)
    start = int(self._get_param("NextToken") or 0)
    page = policies[start : start + int(limit)]
    answer: dict[str, Any] = {
        "ProjectPolicies": [
            {
                "ProjectArn": project,
                "PolicyName": policy.name,
                "PolicyRevisionId": policy.revision,
                "PolicyDocument": policy.document,
                "CreationTimestamp": policy.created.timestamp(),
                "LastUpdatedTimestamp": policy.updated.timestamp(),
            }
            for policy in page
        ]
    }
    if start + int(limit) < len(policies):
        answer["NextToken"] = str(start + int(limit))
    return json.dumps(answer)


def project_policy_document(project_arn: str) -> dict[str, Any] | None:
    """Every statement of the project's policies, as one resource policy (None: the project has none).
    A version's project is its ARN up to `/version/`, with the project's creation time after it."""
    parts = project_arn.split(":")
    if len(parts) < 6:
        return None
    store = _custom_labels(rekognition_backends[parts[4]][parts[3]])
    statements = [
        statement
        for policy in store["policies"].get(project_arn, {}).values()
        for statement in _statements(json.loads(policy.document))
    ]
    return {"Version": "2012-10-17", "Statement": statements} if statements else None


def copy_policy_of(version_arn: str) -> dict[str, Any] | None:
    """The project policies of the project a version belongs to, as one resource policy (None: none)."""
    parts = version_arn.split(":")
    if len(parts) < 6 or parts[4] not in rekognition_backends:
        return None
    store = _custom_labels(rekognition_backends[parts[4]][parts[3]])
    version = store["versions"].get(version_arn)
    project = store["projects"].get(version.project) if version else None
    return project_policy_document(project) if project else None


def _project_policy_allows(project_arn: str, version_arn: str, caller_account: str, caller_role: str | None) -> bool:
    """The project's policies allow this caller (its role, or its account's root) to copy this version,
    evaluated as IAM evaluates a resource policy (mlpromote_emulator.iam_policy, principalmapper): the
    Principal, the Resource and the Condition, with the caller's aws:PrincipalArn, aws:PrincipalOrgID and
    aws:PrincipalOrgPaths from the world's organization; an explicit Deny wins. Only the resource policy:
    the caller's own identity policy is the authorizer's (mlpromote_emulator.authorization)."""
    from mlpromote_emulator import iam_policy

    document = project_policy_document(project_arn)
    if document is None:
        return False
    partition = version_arn.split(":")[1]
    member = organization_of_account(caller_account)
    caller = iam_policy.Role(
        arn=caller_role or f"arn:{partition}:iam::{caller_account}:root",
        trust={},
        policies=[("identity", _ALLOW_EVERYTHING)],
        org=member.id if member else "",
        org_paths=tuple(organization_paths(caller_account)),
    )
    return iam_policy.allowed(
        caller, "rekognition:CopyProjectVersion", version_arn, {}, document, version_arn.split(":")[4]
    )


# The caller's identity side, for a check of the resource policy alone.
_ALLOW_EVERYTHING = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


# A trained version can be copied whether or not it runs.
_COPYABLE = frozenset({"TRAINING_COMPLETED", "RUNNING", "STOPPED", "STARTING", "STOPPING", "COPYING_COMPLETED"})


def _copy_project_version(self: RekognitionResponse) -> str:
    source_project = self._get_param("SourceProjectArn")
    source_arn = self._get_param("SourceProjectVersionArn")
    destination = _project_arn_from(self.rekognition_backend, self._get_param("DestinationProjectArn"))
    name = self._get_param("VersionName")
    parts = str(source_arn).split(":")
    if len(parts) < 6 or parts[3] != self.region:
        raise CustomLabelsError(
            "InvalidParameterException", "the source and destination projects must be in the same AWS Region"
        )
    source_backend = rekognition_backends[parts[4]][parts[3]]
    source = _custom_labels(source_backend)["versions"].get(source_arn)
    if source is None or _custom_labels(source_backend)["projects"].get(source.project) != source_project:
        raise CustomLabelsError("ResourceNotFoundException", f"The resource {source_arn} cannot be found")
    caller_account, caller_role = _caller(self.get_access_key())
    allowed = _project_policy_allows(source_project, source_arn, caller_account, caller_role)
    if caller_account != parts[4] and not allowed:
        raise CustomLabelsError(
            "AccessDeniedException",
            f"User: {caller_role or caller_account} is not authorized to perform: rekognition:CopyProjectVersion "
            f"on resource: {source_arn} because no project policy on {source_project} allows it",
        )
    if source.current_status() not in _COPYABLE:
        raise CustomLabelsError("InvalidParameterException", f"{source_arn} is {source.status} and cannot be copied")
    bucket = (self._get_param("OutputConfig") or {}).get("S3Bucket")
    if not bucket or bucket not in s3_backends[self.current_account][self.partition].buckets:
        raise CustomLabelsError(
            "InvalidParameterException",
            f"OutputConfig.S3Bucket {bucket!r} is not a bucket of account {self.current_account}",
        )
    store = _custom_labels(self.rekognition_backend)
    project_name = destination.split("/")[1]
    if any(v.project == project_name and v.name == name for v in store["versions"].values()):
        raise CustomLabelsError("ResourceInUseException", f"{destination} already has a version named {name}")
    now = datetime.now(UTC)
    arn = f"{destination.rsplit('/', 1)[0]}/version/{name}/{int(now.timestamp() * 1000)}"
    store["versions"][arn] = CustomLabelsVersion(
        arn=arn,
        project=project_name,
        name=name,
        status="COPYING_IN_PROGRESS",
        labels=dict(source.labels),
        start_seconds=source.start_seconds,
        stop_seconds=source.stop_seconds,
        copy_seconds=source.copy_seconds,
        copying_since=now,
        source_arn=source_arn,
        created=now,
    )
    return json.dumps({"ProjectVersionArn": arn})


def _delete_project_version(self: RekognitionResponse) -> str:
    """A RUNNING, STARTING, STOPPING or copying version cannot be deleted (ResourceInUseException): stop it first."""
    version = _version(self.rekognition_backend, self._get_param("ProjectVersionArn"))
    status = version.current_status()
    if status in ("RUNNING", "STARTING", "STOPPING", "COPYING_IN_PROGRESS", "TRAINING_IN_PROGRESS"):
        raise CustomLabelsError("ResourceInUseException", f"{version.arn} is {status}; stop it before deleting it")
    del _custom_labels(self.rekognition_backend)["versions"][version.arn]
    return json.dumps({"Status": "DELETING"})


# --- Amazon Comprehend custom models: versions, real-time endpoints, the calls that use them ------
# The store and its rules are mlpromote_emulator.comprehend; here they answer Comprehend's API, kept on
# moto's backend (per account and region) so they go with it when moto resets.


def comprehend_store(account: str, region: str) -> comprehend.Store:
    backend: ComprehendBackend = comprehend_backends[account][region]
    if not hasattr(backend, "_mlpromote_comprehend"):
        backend._mlpromote_comprehend = comprehend.Store(account, region)  # type: ignore[attr-defined]
    return backend._mlpromote_comprehend  # type: ignore[attr-defined]


class ComprehendApiError(JsonRESTError):
    pass


def _comprehend(self: ComprehendResponse) -> comprehend.Store:
    return comprehend_store(self.current_account, self.region)


def _answer(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except comprehend.ComprehendError as error:
        raise ComprehendApiError(error.code, error.message) from None


def _model_properties(model: comprehend.Model) -> dict[str, Any]:
    arn_key = "DocumentClassifierArn" if model.kind == comprehend.CLASSIFIER else "EntityRecognizerArn"
    properties: dict[str, Any] = {
        arn_key: model.arn,
        "LanguageCode": "en",
        "Status": model.current_status(),
        "VersionName": model.version,
        "SubmitTime": model.submitted.timestamp(),
    }
    if model.source_arn:
        properties["SourceModelArn"] = model.source_arn
    return properties


def _describe_model(kind: str, arn_param: str, key: str) -> Callable[[ComprehendResponse], str]:
    def describe(self: ComprehendResponse) -> str:
        model = _answer(lambda: _comprehend(self).model(self._get_param(arn_param), kind))
        return json.dumps({key: _model_properties(model)})

    return describe


def _list_models(kind: str, name_filter: str, key: str) -> Callable[[ComprehendResponse], str]:
    def list_models(self: ComprehendResponse) -> str:
        # One page: mlpromote's projects have far fewer versions than the API's 500 per page.
        name = (self._get_param("Filter") or {}).get(name_filter)
        return json.dumps({key: [_model_properties(m) for m in _comprehend(self).list_models(kind, name)]})

    return list_models


def _create_endpoint(self: ComprehendResponse) -> str:
    endpoint = _answer(
        lambda: _comprehend(self).create_endpoint(
            self._get_param("EndpointName"), self._get_param("ModelArn"), self._get_param("DesiredInferenceUnits")
        )
    )
    return json.dumps({"EndpointArn": endpoint.arn, "ModelArn": endpoint.model_arn})


def _describe_endpoint(self: ComprehendResponse) -> str:
    endpoint = _answer(lambda: _comprehend(self).endpoint(self._get_param("EndpointArn")))
    return json.dumps({"EndpointProperties": endpoint.properties()})


def _delete_endpoint(self: ComprehendResponse) -> str:
    _answer(lambda: _comprehend(self).delete_endpoint(self._get_param("EndpointArn")))
    return "{}"


def _list_endpoints(self: ComprehendResponse) -> str:
    selected = self._get_param("Filter") or {}
    endpoints = _comprehend(self).list_endpoints(selected.get("ModelArn"), selected.get("Status"))
    return json.dumps({"EndpointPropertiesList": [e.properties() for e in endpoints]})


def _infer(self: ComprehendResponse, kind: str, action: str) -> comprehend.Model:
    """The endpoint's model, if the caller may call it: a role of the endpoint's account whose grant on
    exactly this endpoint has propagated (as DetectCustomLabels), and the endpoint IN_SERVICE."""
    arn = str(self._get_param("EndpointArn") or "")
    caller_account, caller_role = _caller(self.get_access_key())
    store = _comprehend(self)
    endpoint = store.endpoints.get(arn)
    model = store.models.get(endpoint.model_arn) if endpoint else None
    # An import (strategy: copy) is called in its own account by that account's roles, whose permission is
    # their deployed identity policy, which the rehearsal's IAM (mlpromote_emulator.authorization) checks.
    local = model is not None and model.source_arn is not None and caller_account == self.current_account
    if endpoint is not None and not local and not _may_detect(caller_account, caller_role, arn, self.current_account):
        raise ComprehendApiError(
            "AccessDeniedException",
            f"User: {caller_role or caller_account} is not authorized to perform: {action} on resource: {arn}",
        )
    return _answer(lambda: store.infer(arn, kind, self._get_param("Text")))


def _classify_document(self: ComprehendResponse) -> str:
    model = _infer(self, comprehend.CLASSIFIER, "comprehend:ClassifyDocument")
    classes = [{"Name": name, "Score": score} for name, score in sorted(model.finds.items())]
    return json.dumps({"Classes": classes})


def _detect_entities(self: ComprehendResponse) -> str:
    if not self._get_param("EndpointArn"):
        raise ComprehendApiError("InvalidRequestException", "the emulator serves DetectEntities on custom endpoints")
    model = _infer(self, comprehend.ENTITY_RECOGNIZER, "comprehend:DetectEntities")
    text = str(self._get_param("Text"))
    entities = [
        {"Type": name, "Score": score, "Text": text[:10], "BeginOffset": 0, "EndOffset": min(10, len(text))}
        for name, score in sorted(model.finds.items())
    ]
    return json.dumps({"Entities": entities})


def _put_resource_policy(self: ComprehendResponse) -> str:
    store = _comprehend(self)
    revision = _answer(
        lambda: store.put_resource_policy(
            str(self._get_param("ResourceArn")), self._get_param("ResourcePolicy"), self._get_param("PolicyRevisionId")
        )
    )
    return json.dumps({"PolicyRevisionId": revision})


def _describe_resource_policy(self: ComprehendResponse) -> str:
    policy = _answer(lambda: _comprehend(self).resource_policy(str(self._get_param("ResourceArn"))))
    return json.dumps(
        {
            "ResourcePolicy": policy.document,
            "PolicyRevisionId": policy.revision,
            "CreationTime": policy.created.timestamp(),
            "LastModifiedTime": policy.updated.timestamp(),
        }
    )


def _delete_resource_policy(self: ComprehendResponse) -> str:
    _answer(
        lambda: _comprehend(self).delete_resource_policy(
            str(self._get_param("ResourceArn")), self._get_param("PolicyRevisionId")
        )
    )
    return "{}"


def _import_model(self: ComprehendResponse) -> str:
    """ImportModel (API reference): the source in the same region as the call (InvalidRequestException),
    existing (ResourceNotFoundException), and, from another account, allowed by its resource policy
    (AccessDeniedException); the copy lands in the caller's account."""
    source_arn = str(self._get_param("SourceModelArn") or "")
    parts = source_arn.split(":")
    if len(parts) < 6 or parts[2] != "comprehend":
        raise ComprehendApiError("ValidationException", f"SourceModelArn {source_arn!r} is not a Comprehend model ARN")
    if parts[3] != self.region:
        raise ComprehendApiError(
            "InvalidRequestException",
            f"The source model is in {parts[3]}; a model can be imported only in the region it is in ({self.region})",
        )
    kind = comprehend.CLASSIFIER if f":{comprehend.CLASSIFIER}/" in source_arn else comprehend.ENTITY_RECOGNIZER
    source_store = comprehend_store(parts[4], parts[3])
    source = _answer(lambda: source_store.model(source_arn, kind))
    caller_account, caller_role = _caller(self.get_access_key())
    if caller_account != parts[4] and not source_store.policy_allows_import(source_arn, caller_account, caller_role):
        raise ComprehendApiError(
            "AccessDeniedException",
            f"User: {caller_role or caller_account} is not authorized to perform: comprehend:ImportModel on resource: "
            f"{source_arn} because no resource-based policy allows it",
        )
    store = _comprehend(self)
    _comprehend_accounts.add((self.current_account, self.region))
    store.import_seconds, store.create_seconds, store.delete_seconds = (
        source_store.import_seconds,
        source_store.create_seconds,
        source_store.delete_seconds,
    )
    model = _answer(lambda: store.import_model(source, self._get_param("ModelName"), self._get_param("VersionName")))
    return json.dumps({"ModelArn": model.arn})


def import_policy_of(model_arn: str) -> dict[str, Any] | None:
    """The resource-based policy of a Comprehend model version (None: it has none)."""
    parts = model_arn.split(":")
    if len(parts) < 6 or (parts[4], parts[3]) not in _comprehend_accounts:
        return None
    policy = comprehend_store(parts[4], parts[3]).policies.get(model_arn)
    return json.loads(policy.document) if policy else None


def _delete_model(kind: str, arn_param: str) -> Callable[[ComprehendResponse], str]:
    def delete(self: ComprehendResponse) -> str:
        _answer(lambda: _comprehend(self).delete_model(str(self._get_param(arn_param)), kind))
        return "{}"

    return delete


def _install_comprehend() -> None:
    responses: dict[str, Callable[[ComprehendResponse], str]] = {
        "describe_document_classifier": _describe_model(
            comprehend.CLASSIFIER, "DocumentClassifierArn", "DocumentClassifierProperties"
        ),
        "describe_entity_recognizer": _describe_model(
            comprehend.ENTITY_RECOGNIZER, "EntityRecognizerArn", "EntityRecognizerProperties"
        ),
        "list_document_classifiers": _list_models(
            comprehend.CLASSIFIER, "DocumentClassifierName", "DocumentClassifierPropertiesList"
        ),
        "list_entity_recognizers": _list_models(
            comprehend.ENTITY_RECOGNIZER, "RecognizerName", "EntityRecognizerPropertiesList"
        ),
        "create_endpoint": _create_endpoint,
        "describe_endpoint": _describe_endpoint,
        "delete_endpoint": _delete_endpoint,
        "list_endpoints": _list_endpoints,
        "classify_document": _classify_document,
        "detect_entities": _detect_entities,
        "put_resource_policy": _put_resource_policy,
        "describe_resource_policy": _describe_resource_policy,
        "delete_resource_policy": _delete_resource_policy,
        "import_model": _import_model,
        "delete_document_classifier": _delete_model(comprehend.CLASSIFIER, "DocumentClassifierArn"),
        "delete_entity_recognizer": _delete_model(comprehend.ENTITY_RECOGNIZER, "EntityRecognizerArn"),
    }
    for name, response in responses.items():
        setattr(ComprehendResponse, name, response)


# --- EventBridge: a PutEvents request's entries hold 256 KB in all -------------------------

# "The total entry size must be less than 256KB", counted as the EventBridge user guide's "Calculating
# PutEvents event entry size" says: Time 14 bytes, Source, DetailType, Detail and each of Resources in
# UTF-8 (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html). moto checks
# only the number of entries.
PUT_EVENTS_MAX_BYTES = 256 * 1024
_original_put_events = EventsBackend.put_events


def put_events_entry_size(entry: dict[str, Any]) -> int:
    size = 14 if entry.get("Time") is not None else 0
    for key in ("Source", "DetailType", "Detail"):
        size += len(str(entry.get(key) or "").encode("utf-8"))
    return size + sum(len(str(resource).encode("utf-8")) for resource in entry.get("Resources") or [])


def _put_events(self: EventsBackend, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if sum(put_events_entry_size(entry) for entry in events) >= PUT_EVENTS_MAX_BYTES:
        raise EventsValidationException("Total size of the entries in the request is over the limit.")
    return _original_put_events(self, events)


# --- EventBridge: a rule whose target is a state machine starts an execution ----------------

_original_send_to_targets = EventsRule.send_to_targets


def _send_to_targets(self: EventsRule, original_event: Any, transform_input: bool = True) -> None:
    """moto delivers to logs, SQS and buses; Step Functions targets raise NotImplementedError.
    Those start an execution with the target's input transformer applied as EventBridge does."""
    machines = [t for t in self.targets if parse_arn(t["Arn"]).service == "states"]
    functions = [t for t in self.targets if parse_arn(t["Arn"]).service == "lambda"]
    if functions and hooks.invoke is not None and self.event_pattern.matches_event(original_event):
        for target in functions:
            _invoke_target(target, original_event)
    if machines and self.event_pattern.matches_event(original_event):
        for target in machines:
            transformer = target.get("InputTransformer")
            document = (
                transform_input_for_target(
                    transformer["InputTemplate"], transformer.get("InputPathsMap", {}), original_event
                )
                if transformer
                else json.dumps(original_event)
            )
            _start_execution_for(self, target, original_event, document)
    others = [t for t in self.targets if t not in machines and t not in functions]
    if others:
        all_targets, self.targets = self.targets, others
        try:
            _original_send_to_targets(self, original_event, transform_input)
        finally:
            self.targets = all_targets


def _invoke_target(target: dict[str, Any], event: dict[str, Any]) -> None:
    """A Lambda target: an asynchronous invocation with the event (or the transformed input), which
    Lambda retries twice when the function fails."""
    assert hooks.invoke is not None
    transformer = target.get("InputTransformer")
    document = (
        transform_input_for_target(transformer["InputTemplate"], transformer.get("InputPathsMap", {}), event)
        if transformer
        else json.dumps(event, default=str)
    )
    name, qualifier = function_and_qualifier(target["Arn"])
    hooks.delivered_events.append((name, document))
    for _ in range(ASYNC_INVOKE_ATTEMPTS):
        _, failed = hooks.invoke(name, document.encode(), qualifier)
        if not failed:
            return


# The target's RetryPolicy when it has none (EventBridge user guide, "How EventBridge retries delivering events").
_DEFAULT_RETRY_ATTEMPTS = 185


def _start_execution_for(rule: EventsRule, target: dict[str, Any], event: dict[str, Any], document: str) -> None:
    """StartExecution with the transformed input. A failed delivery (an input transformer's output that is
    not JSON is InvalidExecutionInput) is tried again up to the target's MaximumRetryAttempts, then the
    event goes to its dead-letter queue with the attributes EventBridge sets (EventBridge user guide,
    "Using dead-letter queues to process undelivered events"), or is dropped without one."""
    arn = parse_arn(target["Arn"])
    sfn = boto3.client("stepfunctions", region_name=arn.region)
    retries = int(target.get("RetryPolicy", {}).get("MaximumRetryAttempts", _DEFAULT_RETRY_ATTEMPTS))
    error: botocore.exceptions.ClientError | None = None
    for _attempt in range(1 + retries):
        try:
            sfn.start_execution(stateMachineArn=target["Arn"], name=f"event-{event.get('id', '')}"[:80], input=document)
            return
        except botocore.exceptions.ClientError as failed:
            error = failed
    assert error is not None
    queue = target.get("DeadLetterConfig", {}).get("Arn")
    if not queue:
        return
    where = parse_arn(queue)
    sqs = boto3.client("sqs", region_name=where.region)
    url = sqs.get_queue_url(QueueName=where.resource_id, QueueOwnerAWSAccountId=where.account)["QueueUrl"]
    attributes = {
        "RULE_ARN": rule.arn,
        "TARGET_ARN": target["Arn"],
        "ERROR_CODE": str(error.response["Error"].get("Code")),
        "ERROR_MESSAGE": str(error.response["Error"].get("Message")),
        "EXHAUSTED_RETRY_CONDITION": "MaximumRetryAttempts",
        "RETRY_ATTEMPTS": str(retries),
    }
    sqs.send_message(
        QueueUrl=url,
        MessageBody=json.dumps(event),
        MessageAttributes={k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
    )


def transform_input_for_target(template: str, paths: dict[str, str], event: dict[str, Any]) -> str:
    """EventBridge's input transformer. In a JSON template a placeholder outside quotes becomes the
    value as JSON (a string gets its quotes), inside quotes its text. A variable whose path is not in
    the event "isn't created and won't appear in the output" (EventBridge user guide, "Common issues
    with transforming input"): its placeholder gives nothing, so `"reason": <reason>` is not JSON.
    moto's EventTemplateParser inserts bare text in both places, which is not valid JSON."""
    values = {name: value for name, path in paths.items() if (value := _json_path(event, path)) is not _MISSING}
    if not template.lstrip().startswith(("{", "[")):
        return _PLACEHOLDER.sub(lambda m: str(values[m[1]]) if m[1] in values else "", template)
    out, in_string, index = [], False, 0
    while index < len(template):
        char = template[index]
        match = _PLACEHOLDER.match(template, index)
        if match and match[1] in paths:
            if match[1] in values:
                value = values[match[1]]
                out.append(json.dumps(str(value))[1:-1] if in_string else json.dumps(value))
            index = match.end()
            continue
        if char == '"' and (index == 0 or template[index - 1] != "\\"):
            in_string = not in_string
        out.append(char)
        index += 1
    return "".join(out)


_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.-]+)>")


_MISSING = object()


def _json_path(event: dict[str, Any], path: str) -> Any:
    node: Any = event
    for part in path.removeprefix("$").strip(".").split("."):
        if not part:
            continue
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


# --- small helpers -------------------------------------------------------------------------


def _as_list(value: Any) -> list[Any]:
    return [value] if isinstance(value, str) else list(value or [])


def _statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    return (
        _as_list(document.get("Statement", []))
        if not isinstance(document.get("Statement"), dict)
        else [document["Statement"]]
    )


def _action_matches(actions: Any, wanted: str) -> bool:
    return any(fnmatch.fnmatchcase(wanted.lower(), a.lower()) for a in _as_list(actions))


# --- SSM: parameter names --------------------------------------------------------------------
# SSM's rules (Systems Manager User Guide, "Requirements and constraints for parameter names":
# https://docs.aws.amazon.com/systems-manager/latest/userguide/sysman-parameter-name-constraints.html):
# each level of letters, digits and _ . -, levels separated by /, and a name in a hierarchy fully
# qualified with a leading / (moto takes "mlpromote/tools/model-arn" and keeps it apart from the real
# one); at most 15 levels (PutParameter: HierarchyLevelLimitExceededException); at most 1011
# characters counting the ARN before the name. moto already refuses the "aws" and "ssm" prefixes.

_SSM_NAME = re.compile(r"^/?[a-zA-Z0-9_.\-]+(/[a-zA-Z0-9_.\-]+)*$")
# What SSM answers (ValidationException) for a name that is not a valid name or path.
SSM_INVALID_NAME = (
    'Parameter name: can\'t be prefixed with "ssm" (case-insensitive). If formed as a path, it can consist of '
    "sub-paths divided by slash symbol; each sub-path can be formed as a mix of letters, numbers and the "
    "following 3 symbols .-_"
)
SSM_MAX_LEVELS = 15
SSM_MAX_NAME_WITH_ARN = 1011


class SsmHierarchyTooDeep(SSMException):
    def __init__(self, name: str) -> None:
        super().__init__(
            "HierarchyLevelLimitExceededException",
            f"A hierarchy can have a maximum of {SSM_MAX_LEVELS} levels; {name} has {name.strip('/').count('/') + 1}.",
        )


def _ssm_name(response: SimpleSystemManagerResponse, selectors: bool) -> str:
    """The request's Name as SSM resolves it: an ARN reduced to the name, `name:label` to the name."""
    name = str(response._get_param("Name") or "")
    if name.startswith("arn:"):
        name = name.split(":parameter", 1)[-1]
    if selectors:
        name = name.split(":", 1)[0]
    if not _SSM_NAME.match(name) or ("/" in name and not name.startswith("/")):
        raise SsmValidationException(SSM_INVALID_NAME)
    return name


_original_put_parameter = SimpleSystemManagerResponse.put_parameter
_original_get_parameter = SimpleSystemManagerResponse.get_parameter
_original_label_parameter_version = SimpleSystemManagerResponse.label_parameter_version
_original_delete_parameter = SimpleSystemManagerResponse.delete_parameter


def _put_parameter(self: SimpleSystemManagerResponse) -> Any:
    name = _ssm_name(self, selectors=False)
    if name.strip("/").count("/") + 1 > SSM_MAX_LEVELS:
        raise SsmHierarchyTooDeep(name)
    arn = f"arn:{self.ssm_backend.partition}:ssm:{self.region}:{self.current_account}:parameter/{name.lstrip('/')}"
    if len(arn) > SSM_MAX_NAME_WITH_ARN:
        raise SsmValidationException(
            f"Parameter name {name[:80]}... is {len(arn)} characters with its ARN; at most "
            f"{SSM_MAX_NAME_WITH_ARN} are allowed."
        )
    return _original_put_parameter(self)


def _get_parameter(self: SimpleSystemManagerResponse) -> Any:
    _ssm_name(self, selectors=True)
    return _original_get_parameter(self)


def _label_parameter_version(self: SimpleSystemManagerResponse) -> Any:
    _ssm_name(self, selectors=False)
    return _original_label_parameter_version(self)


def _delete_parameter(self: SimpleSystemManagerResponse) -> Any:
    _ssm_name(self, selectors=False)
    return _original_delete_parameter(self)


# --- install ---------------------------------------------------------------------------------

# --- CloudWatch: DescribeAlarms' AlarmTypes ----------------------------------------------------

_original_describe_alarms = CloudWatchResponse.describe_alarms


# --- AWS Organizations: the world's OUs, served to the management account ----------------------
# moto's backend makes up its own OU and account ids; a scenario names real-looking ones
# (world.organization), so the emulator keeps the tree itself and answers the read calls the control
# plane makes. Organizations API Reference: ListAccountsForParent lists the accounts directly in the
# parent (not in child OUs), ListOrganizationalUnitsForParent the child OUs; both at most 20 per page
# (MaxResults 1-20), both only from the management account (or a delegated administrator).

ORGANIZATIONS_PAGE_MAX = 20


@dataclass
class Organization:
    """One organization: its id, its management account and its OUs (OU id -> accounts and child OUs)."""

    id: str
    management_account: str
    units: dict[str, list[str]] = field(default_factory=dict)  # OU -> accounts directly in it
    children: dict[str, list[str]] = field(default_factory=dict)  # OU -> child OUs

    def root(self) -> str:
        """The root's id: an OU id carries it (ou-<root suffix>-...)."""
        first = next(iter(self.units), "ou-root-00000000")
        return "r-" + first.split("-")[1]

    def parent_of(self, unit: str) -> str | None:
        return next((parent for parent, children in self.children.items() if unit in children), None)

    def paths(self, account: str) -> list[str]:
        """aws:PrincipalOrgPaths of a principal in `account`: o-.../r-.../ou-.../.../ (IAM User Guide,
        "Understand the AWS Organizations entity path"); the root's path for an account in no OU."""
        unit = next((u for u, accounts in self.units.items() if account in accounts), None)
        chain: list[str] = []
        while unit is not None:
            chain.insert(0, unit)
            unit = self.parent_of(unit)
        return ["/".join([self.id, self.root(), *chain]) + "/"]


_organizations: dict[str, Organization] = {}


def seed_organization(organization: Organization) -> None:
    _organizations[organization.management_account] = organization


def forget_organizations() -> None:
    _organizations.clear()


def organization_of_account(account: str) -> Organization | None:
    """The organization an account is a member of (its management account, or an account of one of its OUs)."""
    for organization in _organizations.values():
        if account == organization.management_account or any(account in a for a in organization.units.values()):
            return organization
    return None


def unit_accounts(units: list[str]) -> list[str]:
    """The accounts of `units` and their child OUs, recursively, sorted, in whichever organization has them."""
    found: set[str] = set()
    for organization in _organizations.values():
        pending = [unit for unit in units if unit in organization.units]
        while pending:
            unit = pending.pop()
            found.update(organization.units[unit])
            pending.extend(organization.children.get(unit, []))
    return sorted(found)


def organization_paths(account: str) -> list[str]:
    """aws:PrincipalOrgPaths of a principal in `account` ([] outside every organization)."""
    organization = organization_of_account(account)
    return organization.paths(account) if organization is not None else []


def move_account(account: str, unit: str) -> None:
    """Put `account` into `unit` (out of any other OU), as MoveAccount does."""
    for organization in _organizations.values():
        if unit in organization.units:
            for accounts in organization.units.values():
                if account in accounts:
                    accounts.remove(account)
            organization.units[unit].append(account)
            return
    raise ValueError(f"no organization has the OU {unit}")


class OrganizationsError(JsonRESTError):
    pass


def _organization_for(response: OrganizationsResponse) -> Organization:
    organization = _organizations.get(response.current_account)
    if organization is not None:
        return organization
    if organization_of_account(response.current_account) is not None:
        raise OrganizationsError("AccessDeniedException", "You don't have permissions to access this resource.")
    raise OrganizationsError("AWSOrganizationsNotInUseException", "Your account is not a member of an organization.")


def _page(response: OrganizationsResponse, items: list[dict[str, Any]], key: str) -> str:
    size = int(response._get_param("MaxResults") or ORGANIZATIONS_PAGE_MAX)
    if not 1 <= size <= ORGANIZATIONS_PAGE_MAX:
        raise OrganizationsError("InvalidInputException", f"MaxResults must be 1-{ORGANIZATIONS_PAGE_MAX}.")
    start = int(response._get_param("NextToken") or 0)
    answer: dict[str, Any] = {key: items[start : start + size]}
    if start + size < len(items):
        answer["NextToken"] = str(start + size)
    return json.dumps(answer)


def _parent(response: OrganizationsResponse, organization: Organization) -> str:
    parent = str(response._get_param("ParentId"))
    if parent != organization.root() and parent not in organization.units:
        raise OrganizationsError(
            "ParentNotFoundException", "We can't find a root or OU with the ParentId that you specified."
        )
    return parent


def _list_accounts_for_parent(self: OrganizationsResponse) -> str:
    organization = _organization_for(self)
    parent = _parent(self, organization)
    accounts = organization.units.get(parent, [])
    listed = [
        {
            "Id": account,
            "Arn": f"arn:aws:organizations::{organization.management_account}:account/{organization.id}/{account}",
            "Name": f"account-{account}",
            "Email": f"{account}@example.com",
            "Status": "ACTIVE",
            "State": "ACTIVE",
            "JoinedMethod": "CREATED",
            "JoinedTimestamp": 1.7e9,
        }
        for account in sorted(accounts)
    ]
    return _page(self, listed, "Accounts")


def _list_organizational_units_for_parent(self: OrganizationsResponse) -> str:
    organization = _organization_for(self)
    parent = _parent(self, organization)
    if parent == organization.root():
        children = [unit for unit in organization.units if organization.parent_of(unit) is None]
    else:
        children = organization.children.get(parent, [])
    listed = [
        {
            "Id": unit,
            "Arn": f"arn:aws:organizations::{organization.management_account}:ou/{organization.id}/{unit}",
            "Name": unit,
        }
        for unit in children
    ]
    return _page(self, listed, "OrganizationalUnits")


def _describe_alarms(self: CloudWatchResponse) -> ActionResult:
    """Only the alarm types asked for: without AlarmTypes, DescribeAlarms returns metric alarms only, even
    when composite alarms have the names asked for (CloudWatch API reference, DescribeAlarms). moto
    returns both kinds whatever is asked."""
    answer = _original_describe_alarms(self)
    wanted = set(self._get_param("AlarmTypes", []) or ["MetricAlarm"])
    result = dict(answer.result)  # type: ignore[call-overload]
    for kind in ("MetricAlarm", "CompositeAlarm"):
        if kind not in wanted:
            result[f"{kind}s"] = []
    return ActionResult(result)


def _name_step_functions_errors() -> None:
    """The Step Functions interpreter's errors (its api module, a LocalStack port) name their code in
    `code`, while moto's AWSError renders `TYPE`: StartExecution with input that is not JSON answered
    with no error code at all. AWS answers InvalidExecutionInput."""
    import moto.stepfunctions.parser.api as sfn_api
    from moto.core.exceptions import AWSError

    unnamed = [
        value
        for value in vars(sfn_api).values()
        if isinstance(value, type) and issubclass(value, AWSError) and getattr(value, "code", None) and not value.TYPE
    ]
    for error in unnamed:
        error.TYPE = str(error.code)
        error.STATUS = int(getattr(error, "status_code", 400))


_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    if moto.__version__ != PINNED_MOTO:
        raise RuntimeError(
            f"the mlpromote emulator adapts moto {PINNED_MOTO} internals but moto {moto.__version__} is installed; "
            "re-check src/mlpromote_emulator/moto_adaptations.py and its tests before moving the pin"
        )
    LambdaSimpleBackend.invoke = _invoke  # type: ignore[method-assign]
    WaitFunction._wait_interval = _wait_interval  # type: ignore[method-assign]
    retrier_decl.time = _RetrierTime  # type: ignore[assignment]
    CallbackEndpoint.wait = _callback_wait  # type: ignore[method-assign]
    StepFunctionResponse.send_task_failure = _send_task_failure  # type: ignore[method-assign]
    StepFunctionResponse.stop_execution = _stop_execution_response  # type: ignore[method-assign]
    SfnExecution.stop = _stop  # type: ignore[method-assign]
    BaseExecutionWorkerCommunication.terminated = _terminated  # type: ignore[method-assign]
    BaseResponse.call_action = _call_action  # type: ignore[method-assign]
    TokenResponse.assume_role = _assume_role  # type: ignore[method-assign]
    IamResponse.get_region_from_url = _iam_region  # type: ignore[method-assign,assignment]
    IAMBackend.put_role_policy = _put_role_policy  # type: ignore[method-assign]
    IamResponse.get_role_policy = _get_role_policy  # type: ignore[method-assign]
    IAMBackend.create_role = _create_role  # type: ignore[method-assign]
    IAMBackend.update_assume_role_policy = _update_assume_role_policy  # type: ignore[method-assign]
    IAMBackend.delete_role_policy = _delete_role_policy  # type: ignore[method-assign]
    RekognitionResponse.describe_projects = _describe_projects  # type: ignore[attr-defined]
    RekognitionResponse.describe_project_versions = _describe_project_versions  # type: ignore[attr-defined]
    RekognitionResponse.start_project_version = _start_project_version  # type: ignore[attr-defined]
    RekognitionResponse.stop_project_version = _stop_project_version  # type: ignore[attr-defined]
    RekognitionResponse.detect_custom_labels = _detect_custom_labels  # type: ignore[method-assign]
    RekognitionResponse.create_project = _create_project  # type: ignore[attr-defined]
    RekognitionResponse.put_project_policy = _put_project_policy  # type: ignore[attr-defined]
    RekognitionResponse.delete_project_policy = _delete_project_policy  # type: ignore[attr-defined]
    RekognitionResponse.list_project_policies = _list_project_policies  # type: ignore[attr-defined]
    RekognitionResponse.copy_project_version = _copy_project_version  # type: ignore[attr-defined]
    RekognitionResponse.delete_project_version = _delete_project_version  # type: ignore[attr-defined]
    EventsRule.send_to_targets = _send_to_targets  # type: ignore[method-assign]
    EventsBackend.put_events = _put_events  # type: ignore[method-assign]
    SimpleSystemManagerResponse.put_parameter = _put_parameter  # type: ignore[method-assign]
    SimpleSystemManagerResponse.get_parameter = _get_parameter  # type: ignore[method-assign]
    SimpleSystemManagerResponse.label_parameter_version = _label_parameter_version  # type: ignore[method-assign]
    SimpleSystemManagerResponse.delete_parameter = _delete_parameter  # type: ignore[method-assign]
    CloudWatchResponse.describe_alarms = _describe_alarms  # type: ignore[method-assign]
    OrganizationsResponse.list_accounts_for_parent = _list_accounts_for_parent  # type: ignore[method-assign]
    OrganizationsResponse.list_organizational_units_for_parent = _list_organizational_units_for_parent  # type: ignore[method-assign]
    _name_step_functions_errors()
    # moto's PutMetricAlarm reads AlarmRule "to re-use this method for composite alarms", but does not
    # route PutCompositeAlarm to it.
    CloudWatchResponse.put_composite_alarm = CloudWatchResponse.put_metric_alarm  # type: ignore[attr-defined]
    _install_step_functions_quotas()
    _install_comprehend()
    _install_key_index()
    sfn_json_path.parse = _parsed_json_path
    sfn_lambda_eval.boto_client_for = _engine_client
    _installed = True


def seed_custom_labels(account: str, region: str, project: str, project_arn: str, version: CustomLabelsVersion) -> None:
    store = _custom_labels(rekognition_backends[account][region])
    store["projects"][project] = project_arn
    store["versions"][version.arn] = version


def custom_labels_versions(account: str, region: str) -> dict[str, CustomLabelsVersion]:
    return _custom_labels(rekognition_backends[account][region])["versions"]


def transitions_end(account: str, region: str) -> datetime | None:
    """When the last start or stop under way in the account's Custom Labels, or the last creation or
    deletion of a Comprehend endpoint, ends (None: none is)."""
    ends = [end for version in custom_labels_versions(account, region).values() if (end := version.transition_ends())]
    if (account, region) in _comprehend_accounts and (end := comprehend_store(account, region).transitions_end()):
        ends.append(end)
    return max(ends, default=None)


# Accounts and regions seeded with Comprehend models (transitions_end looks only there: creating moto's
# Comprehend backend for every Custom Labels world would cost for nothing).
_comprehend_accounts: set[tuple[str, str]] = set()


def seed_comprehend(account: str, region: str, model: comprehend.Model, endpoint: comprehend.Endpoint | None) -> None:
    store = comprehend_store(account, region)
    _comprehend_accounts.add((account, region))
    store.models[model.arn] = model
    if endpoint is not None:
        store.endpoints[endpoint.arn] = endpoint


# --- what world.py and runtime.py read and write behind the API ---------------------------------
# The world is seeded and read back through these, so moto's backends are touched only in this module.


def ensure_role(account: str, partition: str, name: str, trust: dict[str, Any]) -> None:
    """Create the role in the account's IAM unless it exists (the organization's admin role, which no
    API call could create before any role exists to call from)."""
    backend = iam_backends[account][partition]
    if role_named(backend, name) is None:
        backend.create_role(
            role_name=name,
            assume_role_policy_document=json.dumps(trust),
            path="/",
            permissions_boundary=None,
            description="",
            tags=[],
            max_session_duration="3600",
            linked_service=None,
        )


def inline_policy(account: str, partition: str, role_name: str, policy_name: str) -> dict[str, Any] | None:
    """The role's inline policy as IAM holds it now (None: no role, or no such policy), not as a
    possibly stale GetRolePolicy would answer it."""
    role = role_named(iam_backends[account][partition], role_name)
    document = role.policies.get(policy_name) if role else None
    if isinstance(document, str):
        document = json.loads(unquote(document))
    return document


def parameter_value(account: str, region: str, name: str) -> str | None:
    """The parameter's latest value, or None when it does not exist."""
    parameter = ssm_backends[account][region].get_parameter(name)
    return str(parameter.value) if parameter else None


def set_alarm_state(account: str, region: str, name: str, state: str, reason: str) -> None:
    cloudwatch_backends[account][region].set_alarm_state(name, reason, None, state)  # type: ignore[arg-type]


def sent_notifications(account: str, region: str, topic_arn: str) -> list[tuple[str, str]]:
    """(subject, message) of everything published to the topic."""
    topic = sns_backends[account][region].topics[topic_arn]
    return [(str(subject), str(message)) for _id, message, subject, *_ in topic.sent_notifications]


# --- Step Functions quotas -------------------------------------------------------------------
# Step Functions developer guide, "Handling errors in Step Functions workflows"
# (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html): States.ALL "can't
# catch the States.DataLimitExceeded terminal error or Runtime error types". moto's States.ALL catches
# everything, so a state past 256 KB would be compensated offline and not on AWS.
_TERMINAL_ERRORS = frozenset({StatesErrorNameType.StatesStatesDataLimitExceeded, StatesErrorNameType.StatesRuntime})
_original_error_equals = ErrorEqualsDecl._eval_body


def _error_equals(self: ErrorEqualsDecl, env: Any) -> None:
    error_name = env.stack[-1]
    terminal = isinstance(error_name, StatesErrorName) and error_name.typ in _TERMINAL_ERRORS
    if terminal and ErrorEqualsDecl._STATE_ALL_ERROR in self.error_names:
        env.stack.pop()
        env.stack.append(False)
        return
    _original_error_equals(self, env)


# Service quotas, "Maximum execution history size: 25,000 events in a single state machine execution
# history" (https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html). On AWS the
# execution then fails with States.Runtime, whatever Catch it is in, and the failure is event 25,000:
# "The execution reached the maximum number of history events (25000)." moto has no such limit.
HISTORY_QUOTA_CAUSE = "The execution reached the maximum number of history events ({quota})."
_ENDINGS = frozenset(
    {
        HistoryEventType.ExecutionFailed,
        HistoryEventType.ExecutionAborted,
        HistoryEventType.ExecutionTimedOut,
        HistoryEventType.ExecutionSucceeded,
    }
)
_original_add_event = EventManager.add_event


def _add_event(self: EventManager, context: Any, event_type: Any, event_details: Any = None, **kwargs: Any) -> int:
    quota = hooks.history_event_quota
    if event_type in _ENDINGS:
        if getattr(self, "_mlpromote_quota_reached", False):
            # However the interpreter unwound, the execution ends as AWS ends it.
            event_type = HistoryEventType.ExecutionFailed
            event_details = EventDetails(executionFailedEventDetails=_history_quota_failure(quota))  # type: ignore[typeddict-item]
        return int(_original_add_event(self, context, event_type, event_details, **kwargs))
    # The last event of the quota is the execution's failure.
    if getattr(self, "_mlpromote_quota_reached", False) or len(self._history_event_list) >= quota - 1:
        self._mlpromote_quota_reached = True  # type: ignore[attr-defined]
        raise _history_quota_exceeded(quota)
    return int(_original_add_event(self, context, event_type, event_details, **kwargs))


def _history_quota_failure(quota: int) -> ExecutionFailedEventDetails:
    return ExecutionFailedEventDetails(
        error=StatesErrorNameType.StatesRuntime.to_name(), cause=HISTORY_QUOTA_CAUSE.format(quota=quota)
    )


class _HistoryQuotaExceeded(FailureEventException):
    """A States.Runtime failure: no Catch takes it (see _error_equals), so the execution fails, with
    AWS's cause as it is (moto prefixes a Runtime error's cause with the state it happened in)."""

    def get_execution_failed_event_details(self) -> ExecutionFailedEventDetails:
        return _history_quota_failure(hooks.history_event_quota)


def _history_quota_exceeded(quota: int) -> FailureEventException:
    failure = FailureEvent.__new__(FailureEvent)
    failure.state_name = ""  # type: ignore[misc]
    failure.source_event_id = 0  # type: ignore[misc]
    failure.error_name = StatesErrorName(typ=StatesErrorNameType.StatesRuntime)  # type: ignore[misc]
    failure.event_type = HistoryEventType.ExecutionFailed  # type: ignore[misc]
    failure.event_details = EventDetails(executionFailedEventDetails=_history_quota_failure(quota))  # type: ignore[misc,typeddict-item]
    return _HistoryQuotaExceeded(failure_event=failure)


_original_set_error = SfnEnvironment.set_error


def _set_error(self: SfnEnvironment, error: ExecutionFailedEventDetails) -> None:
    """An execution past the history quota fails with AWS's error and cause, whatever the interpreter
    made of the failure on its way up (a Parallel or Map branch turns States.Runtime into a ValueError)."""
    if getattr(self.event_manager, "_mlpromote_quota_reached", False):
        error = _history_quota_failure(hooks.history_event_quota)
    _original_set_error(self, error)


def _call_latency() -> None:
    """A control-plane call takes `hooks.call_seconds` of simulated time, as a real round trip takes
    time: what a handler does one call after another adds up against its Lambda timeout."""
    if hooks.call_seconds > 0 and hooks.sleep is not None:
        hooks.sleep(hooks.call_seconds)


def _install_step_functions_quotas() -> None:
    ErrorEqualsDecl._eval_body = _error_equals  # type: ignore[method-assign]
    EventManager.add_event = _add_event  # type: ignore[method-assign,assignment]
    SfnEnvironment.set_error = _set_error  # type: ignore[method-assign]


# --- IAM: what the authorizer evaluates ---------------------------------------------------------


@dataclass(frozen=True)
class RoleDocuments:
    """A role as moto's IAM holds it now: trust and inline policies (JSON text), the customer managed
    policies attached to it, and its permissions boundary's ARN."""

    arn: str
    trust: str
    inline: tuple[tuple[str, str], ...]
    managed: tuple[tuple[str, str], ...]
    boundary_arn: str | None


def role_documents(role_arn: str) -> RoleDocuments | None:
    """The role behind an ARN in moto's IAM, or None when it does not exist."""
    parts = role_arn.split(":")
    if len(parts) != 6 or parts[1] not in PARTITIONS or parts[4] not in iam_backends:
        return None
    role = role_named(iam_backends[parts[4]][parts[1]], parts[5].rsplit("/", 1)[-1])
    if role is None:
        return None
    return RoleDocuments(
        arn=str(role.arn),
        trust=unquote(str(role.assume_role_policy_document)),
        inline=tuple((name, unquote(str(document))) for name, document in role.policies.items()),
        managed=tuple((policy.name, _policy_text(policy)) for policy in role.managed_policies.values()),
        boundary_arn=role.permissions_boundary_arn,
    )


def managed_policy_document(policy_arn: str) -> str | None:
    """A customer managed policy's default version (JSON text), or None when moto has no such policy."""
    parts = policy_arn.split(":")
    if len(parts) != 6 or parts[1] not in PARTITIONS or parts[4] not in iam_backends:
        return None
    policy = iam_backends[parts[4]][parts[1]].managed_policies.get(policy_arn)
    return _policy_text(policy) if policy is not None else None


def _policy_text(policy: Any) -> str:
    version = next((v for v in policy.versions if v.is_default), None)
    document = version.document if version is not None else "{}"
    return unquote(document if isinstance(document, str) else json.dumps(document))


def caller(access_key: str) -> tuple[str, str | None, str | None]:
    """(account, role ARN, session name) of the credentials behind an access key; the role and session
    are None for keys that are not an assumed role's."""
    assumed = assumed_role_of(access_key)
    if assumed is not None:
        return assumed.account_id, assumed.role_arn, assumed.session_name
    return _account_of_key(access_key), None, None


@functools.cache
def aws_managed_policies() -> dict[str, Any]:
    """moto's copy of the AWS managed policies (name -> policy, with its Document)."""
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    return dict(json.loads(aws_managed_policies_data))


# --- speed at hundreds of accounts ------------------------------------------------------------
# moto finds the account behind an access key by looking in every account's IAM backend, in every
# partition (creating the backends it has not made yet, each with its copy of the AWS managed
# policies), and the role behind it by scanning every STS session ever issued: per request, work
# that grows with the accounts and the sessions, which at a few hundred accounts is most of a
# promotion. An index by key, kept where moto adds and removes keys, gives the same answers.
# Keys are random (20 characters), so at most one backend holds a key, as the scan assumes too.


class _IndexedAccessKeys(dict[str, Any]):
    """An IAM backend's access keys, indexed by key id in `_key_accounts` as they come and go."""

    def __init__(self, account: str) -> None:
        super().__init__()
        self.account = account

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        _key_accounts[key] = self

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        if _key_accounts.get(key) is self:
            del _key_accounts[key]

    def forget(self) -> None:
        for key in list(self):
            if _key_accounts.get(key) is self:
                del _key_accounts[key]


# Access key id -> the IAM backend's keys that hold it; access key id -> the session STS issued with it.
_key_accounts: dict[str, _IndexedAccessKeys] = {}
_sessions_by_key: dict[str, AssumedRole] = {}
_original_iam_init = IAMBackend.__init__
_original_iam_reset = IAMBackend.reset
_original_sts_assume_role = STSBackend.assume_role


def _iam_init(self: IAMBackend, region_name: str, account_id: str) -> None:
    _original_iam_init(self, region_name, account_id)
    _index_keys(self)


def _index_keys(backend: IAMBackend) -> None:
    if isinstance(backend.access_keys, _IndexedAccessKeys):
        return
    indexed = _IndexedAccessKeys(backend.account_id)
    for key, value in backend.access_keys.items():
        indexed[key] = value
    backend.access_keys = indexed


def _iam_reset(self: IAMBackend) -> None:
    # moto's reset empties the backend and runs __init__ again: its keys are gone.
    keys = self.__dict__.get("access_keys")
    if isinstance(keys, _IndexedAccessKeys):
        keys.forget()
    _original_iam_reset(self)


def _sts_assume_role(self: STSBackend, *args: Any, **kwargs: Any) -> AssumedRole:
    role = _original_sts_assume_role(self, *args, **kwargs)
    _sessions_by_key[role.access_key_id] = role
    return role


def _account_of_key(access_key: str) -> str:
    """moto's get_account_id_from, by the index: the account whose IAM holds the key, else moto's default."""
    keys = _key_accounts.get(access_key)
    return keys.account if keys is not None and access_key in keys else str(iam_models.DEFAULT_ACCOUNT_ID)


def assumed_role_of(access_key: str) -> AssumedRole | None:
    """The session STS issued with this key, while its key lives (None: not an assumed role's key)."""
    role = _sessions_by_key.get(access_key)
    if role is None:
        return None
    keys = _key_accounts.get(access_key)
    # A reset of moto (a new world) drops the key with its sessions.
    if keys is None or keys.get(access_key) is not role.access_key:
        del _sessions_by_key[access_key]
        return None
    return role


def _install_key_index() -> None:
    # Backends made before install() (none in a fresh process: moto makes them on first use).
    for per_account in list(dict.values(iam_backends)):
        for backend in list(dict.values(per_account)):
            _index_keys(backend)
    IAMBackend.__init__ = _iam_init  # type: ignore[method-assign]
    IAMBackend.reset = _iam_reset  # type: ignore[method-assign,assignment]
    STSBackend.assume_role = _sts_assume_role  # type: ignore[method-assign]
    iam_models.get_account_id_from = _account_of_key


@functools.lru_cache(maxsize=4096)
def _parsed_json_path(path: str) -> Any:
    """jsonpath_ng builds its whole parser (ply's yacc tables) for every parse; moto parses the ASL's
    paths again at every state it enters. A parsed path is an immutable expression tree: parse once."""
    return parse_json_path(path)


_original_engine_client = sfn_boto_client.boto_client_for
_engine_clients: dict[tuple[Any, str, str, bool], Any] = {}


def _engine_client(region: str, service: str, state_credentials: Any = None) -> Any:
    """The interpreter's client for a Lambda task: moto makes a new one (a new boto3 client, tens of
    milliseconds) for every invocation, always with the same fixed keys and settings (it ignores
    `state_credentials`), so one per session, region and service is the same client."""
    # Per default session: moto's start makes a new one, and the old one's clients go with it.
    if boto3.DEFAULT_SESSION is None:
        boto3.setup_default_session()  # as boto3.client does first
    key = (boto3.DEFAULT_SESSION, region, service, bool(botocore_stubber.enabled))
    client = _engine_clients.get(key)
    if client is None:
        if any(cached[0] is not key[0] for cached in _engine_clients):
            _engine_clients.clear()
        client = _engine_clients[key] = _original_engine_client(region, service, state_credentials)
    return client
