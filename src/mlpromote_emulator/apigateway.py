"""API Gateway (REST, proxy integration) in front of the emulator's functions, as template.yaml routes it.

A request becomes the Lambda proxy event API Gateway would send (v1 payload) and goes through the
real handler via `Emulator.invoke`; the handler's proxy response comes back as status, headers
and body. Routes are the `Type: Api` events of the template's functions; a request no route
matches is answered here with 404, as the handler never sees it on AWS either (API Gateway itself
answers those). AWS_IAM is not checked: every request comes from `caller`.
"""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mlpromote import arns

# The deployed stage (template.yaml, PromotionsApi.StageName); only requestContext shows it.
STAGE = "v1"

# (function, payload, qualifier) -> (response payload, whether the function failed)
Invoke = Callable[[str, bytes, str | None], tuple[bytes, bool]]


def local_caller(partition: str, account: str, name: str) -> str:
    """The IAM caller a local request is made as: an unmistakably local user of the ML account."""
    return arns.user(partition, account, name)


@dataclass(frozen=True)
class Route:
    method: str
    resource: str  # as API Gateway names it: /promotions/{promotionId}
    function: str  # the template's logical id
    # The function's AutoPublishAlias: SAM points the API's integration at the alias, not $LATEST.
    alias: str | None = None

    def match(self, method: str, path: str) -> dict[str, str] | None:
        """The path parameters when this route serves the request, else None."""
        if method != self.method:
            return None
        pattern = re.sub(r"\\\{([A-Za-z0-9_]+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.resource))
        found = re.fullmatch(pattern, path)
        return found.groupdict() if found else None


def routes(template: Mapping[str, Any]) -> list[Route]:
    """Every `Type: Api` event of every function in the template."""
    found = []
    default_alias = template.get("Globals", {}).get("Function", {}).get("AutoPublishAlias")
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        alias = resource.get("Properties", {}).get("AutoPublishAlias", default_alias)
        for event in resource.get("Properties", {}).get("Events", {}).values():
            if event.get("Type") == "Api":
                properties = event["Properties"]
                found.append(Route(str(properties["Method"]).upper(), str(properties["Path"]), logical_id, alias=alias))
    return found


@dataclass
class ApiResponse:
    status: int
    body: str
    headers: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class LocalGateway:
    def __init__(self, template: Mapping[str, Any], invoke: Invoke, caller: str) -> None:
        self.routes = routes(template)
        self.invoke = invoke
        self.caller = caller

    def call(
        self,
        method: str,
        path: str,
        body: str | bytes | None = None,
        headers: Mapping[str, str] | None = None,
        query: Mapping[str, list[str]] | None = None,
        source_ip: str = "127.0.0.1",
    ) -> ApiResponse:
        method = method.upper()
        for route in self.routes:
            parameters = route.match(method, path)
            if parameters is not None:
                break
        else:
            known = ", ".join(f"{r.method} {r.resource}" for r in self.routes)
            message = f"no route {method} {path}; the API has {known}"
            return ApiResponse(404, json.dumps({"error": "NotFound", "message": message}), _JSON)
        event = proxy_event(route, path, parameters, body, headers or {}, query or {}, self.caller, source_ip)
        payload, failed = self.invoke(route.function, json.dumps(event).encode(), route.alias)
        answer = json.loads(payload)
        if failed:
            # API Gateway answers 502 when the function fails; locally, say why as well.
            detail = f"{answer.get('errorType')}: {answer.get('errorMessage')}"
            return ApiResponse(502, json.dumps({"message": "Internal server error", "detail": detail}), _JSON)
        return _response(answer)


_JSON = {"Content-Type": "application/json"}


def proxy_event(
    route: Route,
    path: str,
    parameters: dict[str, str],
    body: str | bytes | None,
    headers: Mapping[str, str],
    query: Mapping[str, list[str]],
    caller: str,
    source_ip: str,
) -> dict[str, Any]:
    """The event API Gateway's Lambda proxy integration (payload 1.0) sends for this request."""
    text, encoded = body, False
    if isinstance(body, bytes):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            text, encoded = base64.b64encode(body).decode(), True
    return {
        "resource": route.resource,
        "path": path,
        "httpMethod": route.method,
        "headers": dict(headers) or None,
        "multiValueHeaders": {name: [value] for name, value in headers.items()} or None,
        "queryStringParameters": {name: values[-1] for name, values in query.items()} or None,
        "multiValueQueryStringParameters": {name: list(values) for name, values in query.items()} or None,
        "pathParameters": parameters or None,
        "stageVariables": None,
        "body": text or None,
        "isBase64Encoded": encoded,
        "requestContext": {
            "resourcePath": route.resource,
            "httpMethod": route.method,
            "path": f"/{STAGE}{path}",
            "stage": STAGE,
            "requestId": str(uuid.uuid4()),
            "requestTimeEpoch": int(time.time() * 1000),
            "protocol": "HTTP/1.1",
            "identity": {"userArn": caller, "caller": caller, "sourceIp": source_ip},
        },
    }


def _response(answer: Mapping[str, Any]) -> ApiResponse:
    headers = {str(k): str(v) for k, v in (answer.get("headers") or {}).items()}
    for name, values in (answer.get("multiValueHeaders") or {}).items():
        headers.setdefault(str(name), ", ".join(str(v) for v in values))
    body = answer.get("body") or ""
    if answer.get("isBase64Encoded"):
        body = base64.b64decode(body).decode("utf-8", errors="replace")
    return ApiResponse(int(answer.get("statusCode", 502)), str(body), headers)
