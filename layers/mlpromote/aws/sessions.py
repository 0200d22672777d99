"""Clients in the ML account and in target accounts, created once and reused.

Clients are made lazily (nothing touches the network at import time) and cached for the life of
the container. Assumed-role credentials are cached until shortly before they expire, so a
promotion assumes each role once per container, not once per call.

Region: every client is made in the region the handler names with `use_region` (the config's, which
the plan carries), not whatever AWS_REGION says: the models, the pointers and the control plane's
own resources all live in the config's region. Unset (a test, a shell), botocore's default applies.

Sessions: every assumed role's session is named after the promotion (`use_promotion`), so
CloudTrail in a target account shows which promotion moved its pointer, and the requester's
identity travels as the session's SourceIdentity where the chain allows it: on the target
accounts' roles assumed directly (their trust allows sts:SetSourceIdentity), not on the smoke
test's chain, which ends in an access role. IAM User Guide, "Monitor and control actions taken
with assumed roles".

Retries: botocore's own retries are off. Transient errors surface to the state machine, whose
Retry clauses own backoff; a retry loop hidden in a client would make the workflow's behaviour
depend on where a call happens to be.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from mlpromote.errors import AwsCallFailed, AwsError, TransientAwsError

_NO_RETRIES = Config(retries={"mode": "standard", "total_max_attempts": 1})
# A synchronous Lambda invoke answers when the function ends: up to its timeout (900 s at most),
# longer than botocore's 60 s read timeout.
_SYNC_INVOKES = Config(retries={"mode": "standard", "total_max_attempts": 1}, read_timeout=900)
_SESSION_NAME = "mlpromote"
# RoleSessionName and SourceIdentity: 2 to 64 characters of [\w+=,.@-] (STS AssumeRole).
_STS_NAME_MAX = 64
_NOT_IN_STS_NAMES = re.compile(r"[^A-Za-z0-9_+=,.@-]")
# Renew assumed-role credentials this long before they expire.
_EXPIRY_MARGIN = timedelta(minutes=5)

TRANSIENT_ERROR_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "Throttled",  # SNS's ThrottledException, as its botocore model names the code on the wire
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ProvisionedThroughputExceededException",
        "InternalServerError",
        "InternalServerErrorException",
        "InternalFailure",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "TooManyUpdates",
    }
)

_lock = threading.Lock()
# One boto3 session for every client: clients made from it share its loaded service models,
# so a client in a second account costs microseconds, not another read of botocore's data.
_session: boto3.session.Session | None = None
_clients: dict[tuple[str, str, str], Any] = {}
_credentials: dict[tuple[str, str], tuple[dict[str, str], datetime]] = {}


_region: str | None = None
# The promotion this invocation works for (Lambda runs one invocation per container at a time).
_session_name = _SESSION_NAME
_source_identity: str | None = None


def use_region(region: str) -> None:
    """Make every client from now on in `region`. Handlers call it once per invocation."""
    global _region
    _region = region


def use_promotion(execution: str | None, requested_by: str | None = None) -> None:
    """Name the sessions of the roles assumed from now on after this promotion (its execution ARN),
    with the requester as their source identity. Handlers call it once per invocation."""
    global _session_name, _source_identity
    _session_name = session_name(execution)
    _source_identity = source_identity(requested_by)


def session_name(execution: str | None) -> str:
    """`mlpromote-<execution name>`, in STS's characters and length. A name cut to fit keeps a hash
    of the whole, so two long names that share a beginning still name different sessions."""
    if not execution:
        return _SESSION_NAME
    name = _NOT_IN_STS_NAMES.sub("-", f"{_SESSION_NAME}-{execution.rsplit(':', 1)[-1]}")
    if len(name) > _STS_NAME_MAX:
        digest = hashlib.sha256(execution.encode()).hexdigest()[:8]
        name = f"{name[: _STS_NAME_MAX - len(digest) - 1]}-{digest}"
    return name


def source_identity(requested_by: str | None) -> str | None:
    """Who asked, as STS takes it: the last part of the requester's ARN (an assumed role's session
    name, which under IAM Identity Center is the person's user name; a user's name), or the entry
    point's own value, in STS's characters and length. None when nobody is known (the console)."""
    if not requested_by:
        return None
    who = requested_by.rsplit("/", 1)[-1] if requested_by.startswith("arn:") else requested_by
    who = _NOT_IN_STS_NAMES.sub("-", who)[:_STS_NAME_MAX]
    return who if len(who) >= 2 else None


def current_region() -> str:
    return _region or _boto_session().region_name or "us-east-1"


def client(service: str, region: str | None = None) -> Any:
    """A client with the function's own credentials (in the ML account)."""
    region = region or current_region()
    key = ("", service, region)
    with _lock:
        if key not in _clients:
            config = _SYNC_INVOKES if service == "lambda" else _NO_RETRIES
            _clients[key] = _boto_session().client(service, region_name=region, config=config)
        return _clients[key]


def assumed_client(
    service: str, role_arns: tuple[str, ...], region: str | None = None, external_id: str | None = None
) -> Any:
    """A client acting as the last role of a chain, each role assumed from the one before; the last one
    with `external_id` when its trust policy asks for one (sts:ExternalId)."""
    region = region or current_region()
    return assumed_client_from(_chain_credentials(role_arns, region, external_id), service, region)


def _chain_credentials(role_arns: tuple[str, ...], region: str, external_id: str | None = None) -> dict[str, str]:
    sts = client("sts", region)
    credentials: dict[str, str] | None = None
    for index, role_arn in enumerate(role_arns):
        last = index == len(role_arns) - 1
        # Per promotion: a warm container must not act for one promotion in a session named after another.
        chain = "/".join(role_arns[: index + 1]) + (f"#{external_id}" if last and external_id else "")
        key = (f"{chain}@{_session_name}@{_source_identity or ''}", region)
        cached = _credentials.get(key)
        if cached and cached[1] - _EXPIRY_MARGIN > datetime.now(UTC):
            credentials = cached[0]
            continue
        if credentials is not None:
            sts = assumed_client_from(credentials, "sts", region)
        arguments = {"RoleArn": role_arn, "RoleSessionName": _session_name}
        if len(role_arns) == 1 and _source_identity:
            # Only on a one-role chain (the target accounts' roles, whose trust allows it): a source
            # identity persists through role chaining, and the access role at the end of the smoke
            # test's chain does not allow sts:SetSourceIdentity (mlpromote.iam_model.ASSUME_ACTIONS).
            arguments["SourceIdentity"] = _source_identity
        if last and external_id:
            arguments["ExternalId"] = external_id
        with translating(f"sts AssumeRole {role_arn}"):
            answer = sts.assume_role(**arguments)["Credentials"]
        credentials = {k: answer[k] for k in ("AccessKeyId", "SecretAccessKey", "SessionToken")}
        expiration = answer["Expiration"]
        if expiration.tzinfo is None:
            expiration = expiration.replace(tzinfo=UTC)
        _credentials[key] = (credentials, expiration)
    assert credentials is not None, "a role chain has at least one role"
    return credentials


def assumed_client_from(credentials: dict[str, str], service: str, region: str) -> Any:
    key = (credentials["AccessKeyId"], service, region)
    with _lock:
        if key not in _clients:
            _clients[key] = _boto_session().client(
                service,
                region_name=region,
                config=_NO_RETRIES,
                aws_access_key_id=credentials["AccessKeyId"],
                aws_secret_access_key=credentials["SecretAccessKey"],
                aws_session_token=credentials["SessionToken"],
            )
        return _clients[key]


def _boto_session() -> boto3.session.Session:
    global _session
    if _session is None:
        _session = boto3.session.Session()
    return _session


def reset(credentials_only: bool = False) -> None:
    """Forget assumed credentials and their clients (and, unless `credentials_only`, everything):
    a new container, as far as this module knows."""
    global _session, _region
    with _lock:
        _credentials.clear()
        for key in [k for k in _clients if k[0]]:
            del _clients[key]
        if not credentials_only:
            _session, _region = None, None
            use_promotion(None)
            _clients.clear()


def error_code(error: Exception) -> str:
    response = getattr(error, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def is_transient(error: ClientError) -> bool:
    return error_code(error) in TRANSIENT_ERROR_CODES


def translated(error: ClientError, what: str) -> AwsError:
    """The domain's named error for an AWS call's ClientError: TransientAwsError (the ASL retries it,
    the API answers 503) or AwsCallFailed (caught and compensated), each with AWS's operation, code
    and message. The one place that reads a ClientError: adapters raise what this returns, and
    nothing above them sees botocore's exceptions (tests/test_import_graph.py)."""
    code = error_code(error)
    said = str(error.response.get("Error", {}).get("Message", ""))
    if code in TRANSIENT_ERROR_CODES:
        message = f"{what}: {code} ({error}); the workflow retries this"
        return TransientAwsError(message, operation=error.operation_name, code=code, said=said)
    # botocore's own text ("An error occurred (Code) when calling the Operation operation: ...") names the call.
    return AwsCallFailed(str(error), operation=error.operation_name, code=code, said=said)


@contextmanager
def translating(what: str) -> Iterator[None]:
    """Calls made in this block raise the domain's named errors (`translated`), not ClientError."""
    try:
        yield
    except ClientError as error:
        raise translated(error, what) from error
