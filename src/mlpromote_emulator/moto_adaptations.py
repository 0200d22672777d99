"""Every adaptation of moto's internals the emulator needs, and nothing else. Pinned to moto 5.2.5.

moto gives us real IAM, STS, SSM, S3, Lambda and a real Step Functions interpreter. What it lacks:

- Rekognition Custom Labels: projects, versions, their lifecycle, and DetectCustomLabels that
  checks the caller's grant and the model's state (`CustomLabels*` below);
- cross-account trust on AssumeRole (moto admits anyone);
- running a Lambda's real handler in-process (moto's no-Docker backend returns a canned answer);
- simulated time in Wait states, Retry backoff and task-token timeouts (moto really sleeps);
- one ML account as the default account (moto's default is 123456789012);
- SSM's rules for parameter names (moto takes a hierarchical name without its leading slash);
- fault injection and a record of the AWS calls the control plane makes.

`install()` applies all of them once; `tests/emulator/test_moto_adaptations.py` checks each
against moto, so an upgrade that moves an internal fails loudly there and not in a promotion.
"""

from __future__ import annotations

import contextvars
import fnmatch
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
from botocore.model import ServiceModel, ShapeResolver, StructureShape
from botocore.serialize import CBORSerializer
from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.cloudwatch.responses import CloudWatchResponse
from moto.core.exceptions import JsonRESTError
from moto.core.request import determine_request_protocol
from moto.core.responses import ActionResult, BaseResponse, EmptyResult
from moto.events.models import Rule as EventsRule
from moto.iam.models import IAMBackend, iam_backends
from moto.iam.responses import IamResponse
from moto.rekognition.models import RekognitionBackend
from moto.rekognition.responses import RekognitionResponse
from moto.s3.models import s3_backends
from moto.ssm.exceptions import SSMException
from moto.ssm.exceptions import ValidationException as SsmValidationException
from moto.ssm.responses import SimpleSystemManagerResponse
from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import TimeoutSeconds
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction
from moto.stepfunctions.parser.asl.eval.callback.callback import (
    CallbackEndpoint,
    CallbackOutcome,
    CallbackOutcomeTimedOut,
)
from moto.stepfunctions.responses import StepFunctionResponse
from moto.sts.models import sts_backends
from moto.sts.responses import TokenResponse
from moto.utilities.arns import parse_arn

from mlpromote.arns import PARTITIONS

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

    invoke: Callable[[str, bytes], tuple[bytes, bool]] | None = None
    sleep: Callable[[float], None] | None = None
    # Wait for a task token's answer (the event) for at most `timeout` simulated seconds.
    wait_for_callback: Callable[[threading.Event, float | None, str], None] | None = None
    activity: Callable[[], None] | None = None
    faults: list[Fault] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    iam_propagation_seconds: float = 5.0
    # (when, what): things that happen in the world at a simulated time, e.g. an alarm going off.
    scheduled: list[tuple[datetime, Callable[[], None]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


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
    payload, failed = hooks.invoke(function_name.rsplit(":", 1)[-1], body or b"{}")
    if failed:
        response_headers["x-amz-function-error"] = "Unhandled"
    return payload


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
    account = iam_models.get_account_id_from(access_key)
    for backends in sts_backends.values():
        for backend in backends.values():
            assumed = backend.get_assumed_role_from_access_key(access_key)
            if assumed is not None:
                return assumed.account_id, assumed.role_arn
    return account, None


def admits(
    trust_policy: dict[str, Any], caller_account: str, caller_role: str | None, external_id: str | None = None
) -> bool:
    """Whether a trust policy lets this caller call sts:AssumeRole.

    A coarse check for every caller: an account principal (id or :root) admits any principal of
    that account, and so does a role ARN of that account; of the conditions, only sts:ExternalId
    (StringEquals). The handlers' calls are first evaluated in full, as their own roles, by
    mlpromote_emulator.authorization (aws:PrincipalArn, aws:PrincipalOrgID, identity policies, SCPs).
    """
    for statement in _statements(trust_policy):
        if statement.get("Effect") != "Allow" or not _action_matches(statement.get("Action"), "sts:AssumeRole"):
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
    return _original_assume_role(self)


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


def _detect_resources(document: dict[str, Any]) -> set[str]:
    out: set[str] = set()
    for statement in _statements(document):
        if statement.get("Effect") == "Allow" and _action_matches(
            statement.get("Action"), "rekognition:DetectCustomLabels"
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


def _put_role_policy(self: IAMBackend, role_name: str, policy_name: str, policy_json: str) -> None:
    before = _role_grants(self, role_name)
    _original_put_role_policy(self, role_name, policy_name, policy_json)
    _record_grant_changes(self, role_name, before)


def _delete_role_policy(self: IAMBackend, role_name: str, policy_name: str) -> None:
    before = _role_grants(self, role_name)
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

    def current_status(self) -> str:
        ready_at = self.starting_since + timedelta(seconds=self.start_seconds) if self.starting_since else None
        if self.status == "STARTING" and ready_at and datetime.now(UTC) >= ready_at:
            self.status = "FAILED" if self.fails_on_start else "RUNNING"
            self.starting_since = None
        return self.status


def _custom_labels(self: RekognitionBackend) -> dict[str, Any]:
    """Per account and region: {"projects": {name: arn}, "versions": {arn: CustomLabelsVersion}}."""
    if not hasattr(self, "_mlpromote_custom_labels"):
        self._mlpromote_custom_labels = {"projects": {}, "versions": {}}  # type: ignore[attr-defined]
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
            description = {"ProjectVersionArn": version.arn, "Status": version.current_status()}
            if version.status == "FAILED":
                description["StatusMessage"] = "The model failed to start (emulated)."
            if version.min_units:
                description["MinInferenceUnits"] = version.min_units
            found.append(description)
    return json.dumps({"ProjectVersionDescriptions": found})


def _start_project_version(self: RekognitionResponse) -> str:
    version = _version(self.rekognition_backend, self._get_param("ProjectVersionArn"))
    status = version.current_status()
    if status in ("RUNNING", "STARTING", "STOPPING"):
        raise CustomLabelsError("ResourceInUseException", f"{version.arn} is {status}")
    if status not in ("TRAINING_COMPLETED", "STOPPED", "COPYING_COMPLETED", "FAILED"):
        raise CustomLabelsError("InvalidParameterException", f"{version.arn} is {status} and cannot be started")
    version.status, version.starting_since = "STARTING", datetime.now(UTC)
    version.min_units = self._get_param("MinInferenceUnits")
    version.max_units = self._get_param("MaxInferenceUnits")
    return json.dumps({"Status": "STARTING"})


def _stop_project_version(self: RekognitionResponse) -> str:
    version = _version(self.rekognition_backend, self._get_param("ProjectVersionArn"))
    if version.current_status() not in ("RUNNING", "STARTING"):
        raise CustomLabelsError("ResourceInUseException", f"{version.arn} is {version.status}, not RUNNING")
    # Real stops pass through STOPPING for a minute or two; nothing in mlpromote waits on it.
    version.status, version.starting_since = "STOPPED", None
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
        s3_backends[self.current_account][self.partition].get_object(bucket, key)
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


def _may_detect(caller_account: str, caller_role: str | None, version_arn: str, model_account: str) -> bool:
    """The caller must be a role of the model's account whose inline grant is old enough to have propagated."""
    if caller_role is None or caller_account != model_account:
        return False
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


# --- EventBridge: a rule whose target is a state machine starts an execution ----------------

_original_send_to_targets = EventsRule.send_to_targets


def _send_to_targets(self: EventsRule, original_event: Any, transform_input: bool = True) -> None:
    """moto delivers to logs, SQS and buses; Step Functions targets raise NotImplementedError.
    Those start an execution with the target's input transformer applied as EventBridge does."""
    machines = [t for t in self.targets if parse_arn(t["Arn"]).service == "states"]
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
            arn = parse_arn(target["Arn"])
            boto3.client("stepfunctions", region_name=arn.region).start_execution(
                stateMachineArn=target["Arn"], name=f"event-{original_event.get('id', '')}"[:80], input=document
            )
    others = [t for t in self.targets if t not in machines]
    if others:
        all_targets, self.targets = self.targets, others
        try:
            _original_send_to_targets(self, original_event, transform_input)
        finally:
            self.targets = all_targets


def transform_input_for_target(template: str, paths: dict[str, str], event: dict[str, Any]) -> str:
    """EventBridge's input transformer. In a JSON template a placeholder outside quotes becomes the
    value as JSON (a string gets its quotes; a missing path is null), inside quotes its text.
    moto's EventTemplateParser inserts bare text in both places, which is not valid JSON."""
    values = {name: _json_path(event, path) for name, path in paths.items()}
    if not template.lstrip().startswith(("{", "[")):
        return _PLACEHOLDER.sub(lambda m: "" if values.get(m[1]) is None else str(values[m[1]]), template)
    out, in_string, index = [], False, 0
    while index < len(template):
        char = template[index]
        match = _PLACEHOLDER.match(template, index)
        if match and match[1] in values:
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


def _json_path(event: dict[str, Any], path: str) -> Any:
    node: Any = event
    for part in path.removeprefix("$").strip(".").split("."):
        if not part:
            continue
        if not isinstance(node, dict) or part not in node:
            return None
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
    BaseResponse.call_action = _call_action  # type: ignore[method-assign]
    TokenResponse.assume_role = _assume_role  # type: ignore[method-assign]
    IamResponse.get_region_from_url = _iam_region  # type: ignore[method-assign,assignment]
    IAMBackend.put_role_policy = _put_role_policy  # type: ignore[method-assign]
    IAMBackend.delete_role_policy = _delete_role_policy  # type: ignore[method-assign]
    RekognitionResponse.describe_projects = _describe_projects  # type: ignore[attr-defined]
    RekognitionResponse.describe_project_versions = _describe_project_versions  # type: ignore[attr-defined]
    RekognitionResponse.start_project_version = _start_project_version  # type: ignore[attr-defined]
    RekognitionResponse.stop_project_version = _stop_project_version  # type: ignore[attr-defined]
    RekognitionResponse.detect_custom_labels = _detect_custom_labels  # type: ignore[method-assign]
    EventsRule.send_to_targets = _send_to_targets  # type: ignore[method-assign]
    SimpleSystemManagerResponse.put_parameter = _put_parameter  # type: ignore[method-assign]
    SimpleSystemManagerResponse.get_parameter = _get_parameter  # type: ignore[method-assign]
    SimpleSystemManagerResponse.label_parameter_version = _label_parameter_version  # type: ignore[method-assign]
    SimpleSystemManagerResponse.delete_parameter = _delete_parameter  # type: ignore[method-assign]
    CloudWatchResponse.describe_alarms = _describe_alarms  # type: ignore[method-assign]
    # moto's PutMetricAlarm reads AlarmRule "to re-use this method for composite alarms", but does not
    # route PutCompositeAlarm to it.
    CloudWatchResponse.put_composite_alarm = CloudWatchResponse.put_metric_alarm  # type: ignore[attr-defined]
    _installed = True


def seed_custom_labels(account: str, region: str, project: str, project_arn: str, version: CustomLabelsVersion) -> None:
    from moto.rekognition.models import rekognition_backends

    store = _custom_labels(rekognition_backends[account][region])
    store["projects"][project] = project_arn
    store["versions"][version.arn] = version


def custom_labels_versions(account: str, region: str) -> dict[str, CustomLabelsVersion]:
    from moto.rekognition.models import rekognition_backends

    return _custom_labels(rekognition_backends[account][region])["versions"]


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
    for backends in sts_backends.values():
        for backend in backends.values():
            assumed = backend.get_assumed_role_from_access_key(access_key)
            if assumed is not None:
                return assumed.account_id, assumed.role_arn, assumed.session_name
    return iam_models.get_account_id_from(access_key), None, None
