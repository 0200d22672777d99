"""Every AWS call a handler makes in the rehearsal is authorized as that handler's deployed role.

The runtime runs each handler `acting_as` its function's role (template.yaml's `Role`). A botocore
hook on every client (`before-call`, registered for every botocore session, as moto registers its
own `before-send`) then works out who is calling: the role of an assumed-role access key (moto's
STS knows it: a target-account role, an access role), else the function's own role. From the
operation and its parameters it derives the IAM action, the resource ARN and the request's condition
keys, and evaluates the role's policies as IAM holds them at that moment (trust, inline, attached,
permissions boundary) with the SCPs of its account (mlpromote_emulator.iam_policy). A denied call
answers AccessDenied (AccessDeniedException, AuthorizationError: the code the service uses) as AWS
would, parsed by botocore from the service's own wire format, before moto sees it: it changes nothing.

Calls outside a handler (the emulator seeding or reading the world, the Step Functions engine's own
clients) are not checked: they are not the control plane's.

AWS's evaluation logic: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
Cross-account: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html
"""

from __future__ import annotations

import contextvars
import functools
import json
import re
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import botocore.handlers
from botocore.awsrequest import AWSResponse
from botocore.model import OperationModel
from botocore.parsers import create_parser

from mlpromote import arns
from mlpromote_emulator import iam_policy
from mlpromote_emulator import moto_adaptations as adapt
from mlpromote_emulator.iam_policy import EMPTY_RESOURCE_POLICY, Role

# The IAM action prefix where it is not the service's signing name.
_ACTION_PREFIX = {"monitoring": "cloudwatch"}
# The IAM action where it is not named after the API operation (Service Authorization Reference, AWS Lambda:
# the Invoke API is authorized as lambda:InvokeFunction).
_ACTION_NAME = {"lambda:Invoke": "lambda:InvokeFunction"}
# Actions AWS authorizes for anyone (GetCallerIdentity needs no permission).
_ALWAYS_ALLOWED = frozenset({"sts:GetCallerIdentity"})
# The error code each service answers a denied call with, where it is not the protocol's default.
_DENIED_CODE = {"sns": "AuthorizationError"}
_TRANSACT_ACTIONS = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
}


@dataclass(frozen=True)
class Request:
    """One authorization AWS makes for a call (a call may need several: TransactWriteItems)."""

    action: str
    resource: str
    context: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Denial:
    principal: str  # the caller as AWS names it: an assumed-role session ARN
    action: str
    resource: str
    reason: str

    @property
    def message(self) -> str:
        return (
            f"User: {self.principal} is not authorized to perform: {self.action} "
            f"on resource: {self.resource} {self.reason}"
        )


@dataclass(frozen=True)
class Checked:
    role: str  # role ARN
    action: str


@dataclass
class Authorizer:
    """What the rehearsal's IAM knows beyond moto's: SCPs, AWS managed policies attached to roles
    (moto loads none), the organization, the partition keys of tables, and the private endpoint the
    functions in a VPC call through."""

    scps: dict[str, list[tuple[str, dict[str, Any]]]]
    aws_managed: dict[str, list[tuple[str, dict[str, Any]]]]  # role ARN -> (name, document)
    organizations: dict[str, str] = field(default_factory=dict)  # account -> aws:PrincipalOrgID
    table_keys: dict[str, str] = field(default_factory=dict)  # table name -> partition key attribute
    # Functions in a VPC (template VpcConfig) and the endpoint their Rekognition and STS calls take.
    vpc_functions: frozenset[str] = frozenset()
    vpc_endpoint: str | None = None
    denials: list[Denial] = field(default_factory=list)
    # Every (role, action) evaluated, allowed or not: what the rehearsal's IAM has seen.
    checked: set[Checked] = field(default_factory=set)

    def role(self, arn: str) -> Role | None:
        documents = adapt.role_documents(arn)
        if documents is None:
            return None
        policies = [(name, _document(text)) for name, text in documents.inline + documents.managed]
        policies += self.aws_managed.get(documents.arn, [])
        boundary = None
        if documents.boundary_arn:
            boundary = (documents.boundary_arn, _boundary(documents.boundary_arn))
        account = arn.split(":")[4]
        # The world's organization (world.organization) knows accounts that joined an OU during the run.
        member = adapt.organization_of_account(account)
        return Role(
            arn=documents.arn,
            trust=_document(documents.trust),
            policies=policies,
            org=self.organizations.get(account) or (member.id if member else ""),
            org_paths=tuple(adapt.organization_paths(account)),
            boundary=boundary,
        )

    def check(self, principal: _Principal, requests: list[Request]) -> Denial | None:
        role = self.role(principal.role_arn)
        if role is None:
            return Denial(
                principal.session_arn, requests[0].action, requests[0].resource, "because the role does not exist"
            )
        for request in requests:
            if request.action in _ALWAYS_ALLOWED:
                continue
            with _lock:
                self.checked.add(Checked(role.arn, request.action))
            resource_policy, owner = self._resource_policy(role, request)
            decision = iam_policy.decide(
                role,
                request.action,
                request.resource,
                request.context,
                resource_policy,
                owner,
                self.scps.get(role.account),
            )
            if not decision.allowed:
                denial = Denial(principal.session_arn, request.action, request.resource, decision.reason)
                with _lock:
                    self.denials.append(denial)
                return denial
        return None

    def _resource_policy(self, role: Role, request: Request) -> tuple[dict[str, Any] | None, str | None]:
        parts = request.resource.split(":")
        owner = parts[4] if len(parts) >= 6 and parts[4] else None
        if request.action in ("sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"):
            target = adapt.role_documents(request.resource)
            # A role that does not exist trusts nobody: AWS answers AccessDenied, as for a refusing trust.
            return (_document(target.trust) if target else EMPTY_RESOURCE_POLICY), owner
        if request.action == "rekognition:CopyProjectVersion" and owner and owner != role.account:
            # A project policy on the source project is CopyProjectVersion's resource policy.
            return adapt.copy_policy_of(request.resource) or EMPTY_RESOURCE_POLICY, owner
        if request.action == "comprehend:ImportModel" and owner and owner != role.account:
            # The resource-based policy on the source model version is ImportModel's resource policy.
            return adapt.import_policy_of(request.resource) or EMPTY_RESOURCE_POLICY, owner
        if owner and owner != role.account:
            # The services the handlers call across accounts here (Rekognition, SSM, IAM, DynamoDB, ...) have
            # no resource policy on these resources: across accounts, nothing allows it.
            return EMPTY_RESOURCE_POLICY, owner
        return None, owner


@dataclass(frozen=True)
class _Principal:
    role_arn: str
    session_arn: str
    function: str


_lock = threading.Lock()
_authorizer: Authorizer | None = None
# The function whose handler runs (its logical id and role ARN), in this context.
_acting: contextvars.ContextVar[tuple[str, str] | None] = contextvars.ContextVar("mlpromote_acting", default=None)


def enforce(authorizer: Authorizer | None) -> None:
    """Authorize handlers' calls with `authorizer` from now on (None: stop)."""
    global _authorizer
    _install_hooks()
    _authorizer = authorizer


@contextmanager
def acting_as(function: str, role_arn: str) -> Iterator[None]:
    token = _acting.set((function, role_arn))
    try:
        yield
    finally:
        _acting.reset(token)


@functools.cache
def _install_hooks() -> None:
    # Registered for every botocore session made from now on (the handlers' are made after the
    # emulator starts: it resets mlpromote.aws.sessions), as moto registers its before-send.
    botocore.handlers.BUILTIN_HANDLERS.append(("before-parameter-build", _remember_parameters))
    botocore.handlers.BUILTIN_HANDLERS.append(("before-call", _authorize))


def _remember_parameters(params: dict[str, Any], context: dict[str, Any], **kwargs: Any) -> None:
    context["mlpromote_parameters"] = params


def _authorize(
    model: OperationModel, request_signer: Any, context: dict[str, Any], **kwargs: Any
) -> tuple[AWSResponse, dict[str, Any]] | None:
    authorizer, acting = _authorizer, _acting.get()
    if authorizer is None or acting is None or not adapt.control_plane_call():
        return None
    credentials = request_signer._credentials.get_frozen_credentials() if request_signer._credentials else None
    if credentials is None:
        return None
    region = str(request_signer.region_name)
    account, role_arn, session = adapt.caller(credentials.access_key)
    function, function_role = acting
    if role_arn is None:
        role_arn, session = function_role, function
    principal = _Principal(role_arn, _session_arn(role_arn, str(session)), function)
    params = dict(context.get("mlpromote_parameters") or {})
    requests = requests_for(model, params, account, region, authorizer, function)
    denial = authorizer.check(principal, requests)
    if denial is None:
        return None
    return _denied(model, denial)


def _session_arn(role_arn: str, session: str) -> str:
    parts = role_arn.split(":")
    return f"arn:{parts[1]}:sts::{parts[4]}:assumed-role/{parts[5].rsplit('/', 1)[-1]}/{session}"


def _denied(model: OperationModel, denial: Denial) -> tuple[AWSResponse, dict[str, Any]]:
    """The AccessDenied answer as the service's wire protocol carries it, parsed by botocore's own parser."""
    service = model.service_model
    protocol = str(service.resolved_protocol)
    code = _DENIED_CODE.get(service.service_name) or (
        "AccessDenied"
        if protocol in ("query", "rest-xml", "ec2") or "awsQueryCompatible" in service.metadata
        else "AccessDeniedException"
    )
    status, headers, body = adapt.error_response(service.service_name, code, denial.message, protocol)
    raw = body.encode() if isinstance(body, str) else body
    headers = {key: str(value) for key, value in headers.items() if key != "status"}
    parsed = create_parser(protocol).parse({"status_code": status, "headers": headers, "body": raw}, model.output_shape)
    response = AWSResponse("https://mlpromote.emulator/denied", status, headers, None)
    response._content = raw
    return response, parsed


# --- what IAM authorizes for a call ----------------------------------------------------------------


def requests_for(
    model: OperationModel, params: Mapping[str, Any], account: str, region: str, authorizer: Authorizer, function: str
) -> list[Request]:
    """The IAM action(s), resource ARN(s) and condition keys of one call, from botocore's operation model
    and the call's parameters (the Service Authorization Reference's resource type for each action)."""
    service = model.service_model
    signing = service.signing_name or service.endpoint_prefix
    prefix = _ACTION_PREFIX.get(signing, signing)
    action = _ACTION_NAME.get(f"{prefix}:{model.name}", f"{prefix}:{model.name}")
    partition = arns.partition_of(region)
    base: dict[str, Any] = {"aws:RequestedRegion": region}
    if function in authorizer.vpc_functions and authorizer.vpc_endpoint and prefix in ("rekognition", "sts"):
        base["aws:SourceVpce"] = authorizer.vpc_endpoint
    resources = _resources(prefix, model.name, params, account, region, partition, authorizer)
    out = []
    for name, resource, context in resources:
        out.append(Request(name or action, resource, {**base, **context}))
    return out


def _comprehend(
    operation: str, params: Mapping[str, Any], partition: str, at: str
) -> list[tuple[str | None, str, dict[str, Any]]]:
    """Comprehend's resource for each call (Service Authorization Reference, Amazon Comprehend): the
    model for Describe*, the endpoint for Describe/DeleteEndpoint, ClassifyDocument and DetectEntities;
    CreateEndpoint on both the endpoint it creates and the model it serves; the List* calls on `*`."""
    if operation == "CreateEndpoint":
        model = str(params.get("ModelArn") or "*")
        kind = "document-classifier" if ":document-classifier/" in model else "entity-recognizer"
        endpoint = f"arn:{partition}:comprehend:{at}:{kind}-endpoint/{params.get('EndpointName')}"
        return [(None, endpoint, {}), (None, model, {})]
    if operation == "ImportModel":
        # On the source (across accounts, its resource policy must allow it too) and the model it creates.
        source = str(params.get("SourceModelArn") or "*")
        kind = "document-classifier" if ":document-classifier/" in source else "entity-recognizer"
        created = (
            f"arn:{partition}:comprehend:{at}:{kind}/{params.get('ModelName')}/version/{params.get('VersionName')}"
        )
        return [(None, source, {}), (None, created, {})]
    resource = (
        params.get("ResourceArn")
        or params.get("EndpointArn")
        or params.get("DocumentClassifierArn")
        or params.get("EntityRecognizerArn")
        or "*"
    )
    return [(None, str(resource), {})]


def _resources(
    prefix: str,
    operation: str,
    params: Mapping[str, Any],
    account: str,
    region: str,
    partition: str,
    authorizer: Authorizer,
) -> list[tuple[str | None, str, dict[str, Any]]]:
    """(action, or None for the call's own; resource ARN; condition keys) of each authorization."""
    at = f"{region}:{account}"
    if prefix == "rekognition":
        if operation == "CreateProject":
            # Authorized on the project it creates (Service Authorization Reference: CreateProject, project).
            return [(None, f"arn:{partition}:rekognition:{at}:project/{params.get('ProjectName')}/*", {})]
        if operation == "CopyProjectVersion":
            # On the source version (across accounts, its project policy must allow it too) and the destination.
            return [
                (None, str(params.get("SourceProjectVersionArn") or "*"), {}),
                (None, str(params.get("DestinationProjectArn") or "*"), {}),
            ]
        return [(None, str(params.get("ProjectVersionArn") or params.get("ProjectArn") or "*"), {})]
    if prefix == "comprehend":
        return _comprehend(operation, params, partition, at)
    if prefix == "ssm":
        names = params.get("Names") or [params.get("Name") or params.get("Path") or ""]
        return [(None, _parameter_arn(str(name), partition, at), {}) for name in names]
    if prefix == "iam":
        if "RoleName" in params:
            role = f"arn:{partition}:iam::{account}:role/{params['RoleName']}"
            documents = adapt.role_documents(role)
            keys: dict[str, Any] = {}
            if documents and documents.boundary_arn:
                keys["iam:PermissionsBoundary"] = documents.boundary_arn
            if "PolicyArn" in params:
                keys["iam:PolicyARN"] = params["PolicyArn"]
            return [(None, documents.arn if documents else role, keys)]
        return [(None, str(params.get("PolicyArn") or "*"), {})]
    if prefix == "sts":
        role = str(params.get("RoleArn") or "*")
        context: dict[str, Any] = {}
        if params.get("ExternalId") is not None:
            context["sts:ExternalId"] = params["ExternalId"]
        if params.get("RoleSessionName") is not None:
            context["sts:RoleSessionName"] = params["RoleSessionName"]
        out: list[tuple[str | None, str, dict[str, Any]]] = [(None, role, context)]
        if params.get("SourceIdentity") is not None:
            # AssumeRole with SourceIdentity needs sts:SetSourceIdentity too (IAM User Guide, "Monitor and
            # control actions taken with assumed roles").
            identity = {**context, "sts:SourceIdentity": params["SourceIdentity"]}
            out.append(("sts:SetSourceIdentity", role, identity))
        if params.get("Tags"):
            out.append(("sts:TagSession", role, context))
        return out
    if prefix == "dynamodb":
        return _dynamodb(operation, params, partition, at, authorizer)
    if prefix == "states":
        resource = params.get("executionArn") or params.get("stateMachineArn")
        # SendTaskSuccess/Failure/Heartbeat take no resource ARN: the task token scopes them.
        return [(None, str(resource or "*"), {})]
    if prefix == "sns":
        return [(None, str(params.get("TopicArn") or params.get("TargetArn") or "*"), {})]
    if prefix == "events":
        buses = {str(entry.get("EventBusName") or "default") for entry in params.get("Entries", [])} or {"default"}
        return [
            (None, bus if bus.startswith("arn:") else f"arn:{partition}:events:{at}:event-bus/{bus}", {})
            for bus in sorted(buses)
        ]
    if prefix == "cloudwatch":
        names = params.get("AlarmNames") or []
        if not names or "CompositeAlarm" in (params.get("AlarmTypes") or []):
            # Listing without names (or composite alarms) needs the action on every alarm.
            return [(None, "*", {})]
        return [(None, f"arn:{partition}:cloudwatch:{at}:alarm:{name}", {}) for name in names]
    if prefix == "lambda":
        function = str(params.get("FunctionName") or "*")
        arn = function if function.startswith("arn:") else f"arn:{partition}:lambda:{at}:function:{function}"
        if params.get("Qualifier") and arn.count(":") == 6:
            # A qualified call is authorized on the version's or alias's ARN, which the unqualified
            # function ARN does not match (Lambda Developer Guide, "Resources and conditions").
            arn = f"{arn}:{params['Qualifier']}"
        return [(None, arn, {})]
    if prefix == "s3":
        bucket, key = params.get("Bucket"), params.get("Key")
        return [(None, f"arn:{partition}:s3:::{bucket}" + (f"/{key}" if key else ""), {})]
    # An operation this table does not know: authorized against "*", which a policy scoped to
    # resources does not match, so a new kind of call shows up here rather than passing unchecked.
    return [(None, "*", {})]


def _parameter_arn(name: str, partition: str, at: str) -> str:
    if name.startswith("arn:"):
        return name.split(":parameter/", 1)[0] + ":parameter/" + name.split(":parameter/", 1)[1].split(":", 1)[0]
    # A selector (name:label or name:version) names the same parameter.
    bare = name.split(":", 1)[0]
    return f"arn:{partition}:ssm:{at}:parameter/{bare.lstrip('/')}"


def _dynamodb(
    operation: str, params: Mapping[str, Any], partition: str, at: str, authorizer: Authorizer
) -> list[tuple[str | None, str, dict[str, Any]]]:
    def table(name: Any) -> str:
        return f"arn:{partition}:dynamodb:{at}:table/{name}"

    def leading(name: Any, item: Mapping[str, Any] | None) -> dict[str, Any]:
        key = authorizer.table_keys.get(str(name))
        value = (item or {}).get(key or "")
        scalar = next(iter(value.values()), None) if isinstance(value, dict) else None
        return {"dynamodb:LeadingKeys": [str(scalar)]} if scalar is not None else {}

    if operation in ("TransactWriteItems", "TransactGetItems"):
        out: list[tuple[str | None, str, dict[str, Any]]] = []
        for entry in params.get("TransactItems", []):
            for kind, body in entry.items():
                action = "dynamodb:GetItem" if kind == "Get" else _TRANSACT_ACTIONS[kind]
                out.append(
                    (action, table(body["TableName"]), leading(body["TableName"], body.get("Key") or body.get("Item")))
                )
        return out
    name = params.get("TableName")
    if operation == "Query":
        return [(None, table(name), _query_leading_key(params, authorizer.table_keys.get(str(name))))]
    return [(None, table(name), leading(name, params.get("Key") or params.get("Item")))]


def _query_leading_key(params: Mapping[str, Any], key: str | None) -> dict[str, Any]:
    """The partition key value of a Query's key condition (`#pk = :v` or `pk = :v`)."""
    names = dict(params.get("ExpressionAttributeNames") or {})
    for left, right in re.findall(r"([#\w]+)\s*=\s*(:\w+)", str(params.get("KeyConditionExpression") or "")):
        if names.get(left, left) == key:
            value = (params.get("ExpressionAttributeValues") or {}).get(right) or {}
            scalar = next(iter(value.values()), None)
            if scalar is not None:
                return {"dynamodb:LeadingKeys": [str(scalar)]}
    return {}


@functools.lru_cache(maxsize=4096)
def _document(text: str) -> dict[str, Any]:
    return dict(json.loads(text))


def _boundary(arn: str) -> dict[str, Any]:
    text = adapt.managed_policy_document(arn)
    if text is not None:
        return _document(text)
    if arn.split(":")[4] == "aws":
        return iam_policy.aws_managed_policy(arn.rsplit("/", 1)[-1])
    # IAM refuses a boundary that does not exist; one that is gone allows nothing.
    return EMPTY_RESOURCE_POLICY
