"""What the deployed commands check before they ask AWS anything, and the REST API client they read
the deployed config (GET /config) and a promotion (GET /promotions/{id}) through.

Input is checked in two rounds. Its form needs nothing: an ARN's syntax, a partition botocore knows,
a region of that partition, an environment name, a promotion id. Its meaning needs the deployed
config: the first of `--config FILE`, $MLPROMOTE_CONFIG_FILE and the checkout's config/mlpromote.yaml
(the file `sam deploy` ships) is read locally, so input is refused with no credentials at all; only
without any of them is the config read from the stack, over its REST API (GET /config).
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mlpromote import arns, promotions
from mlpromote.config import CONFIG_FILE_ENV, Config, load_config
from mlpromote.errors import InvalidModelVersionArn, InvalidPromotionRequest, TransientAwsError
from mlpromote.plan import PromotionRequest
from mlpromote.versions import ModelVersionArn

# The config `sam deploy` ships from this checkout (the ConfigLayer), as samconfig.toml names the stack.
CHECKOUT_CONFIG = Path("config/mlpromote.yaml")
# Step Functions execution names: 1-80 characters; mlpromote's are letters, digits, - and _.
_EXECUTION_NAME = re.compile(r"[A-Za-z0-9_\-]{1,80}")
_EXECUTION_ARN = re.compile(
    r"arn:(?P<partition>aws|aws-cn|aws-us-gov):states:(?P<region>[a-z0-9\-]+):[0-9]{12}:execution:"
    r"[A-Za-z0-9_\-]{1,80}:(?P<name>[A-Za-z0-9_\-]{1,80})"
)
_ENVIRONMENT = re.compile(r"[a-zA-Z0-9_\-]{1,40}")


class InvalidPromotionId(InvalidPromotionRequest):
    """Neither an execution ARN nor an execution name."""


class ApiUnreachable(Exception):
    """The REST API did not answer (not an input problem: exit 1)."""


def version_arn(text: str) -> ModelVersionArn:
    """The ARN's syntax, and a region botocore knows in the ARN's own partition."""
    version = ModelVersionArn.parse(text)
    region_partition = arns.known_regions().get(version.region)
    if region_partition is None:
        raise InvalidModelVersionArn(f"{text}: {arns.unknown_region_message(version.region)}")
    if region_partition != version.partition:
        raise InvalidModelVersionArn(
            f"{text}: region {version.region} is in the {region_partition} partition, not {version.partition}; "
            f"its ARNs start arn:{region_partition}:"
        )
    return version


def environment_name(name: str) -> str:
    if not _ENVIRONMENT.fullmatch(name):
        raise InvalidPromotionRequest(
            f"environment: {name!r} is not an environment name (letters, digits, _ and -, at most 40)"
        )
    return name


def promotion_id(text: str) -> str:
    """An execution ARN (its region known to botocore) or an execution name, as promote printed it."""
    match = _EXECUTION_ARN.fullmatch(text)
    if match:
        if arns.known_regions().get(match["region"]) != match["partition"]:
            raise InvalidPromotionId(f"{text}: {match['region']} is not a region of the {match['partition']} partition")
        return text
    if _EXECUTION_NAME.fullmatch(text):
        return text
    raise InvalidPromotionId(
        f"{text[:120]!r} is not a promotion: give the execution ARN that promote printed "
        "(arn:aws:states:REGION:ACCOUNT:execution:STATE_MACHINE:NAME) or its NAME"
    )


def local_config(explicit: Path | None) -> Config | None:
    """The deployed config as a local file: --config, else $MLPROMOTE_CONFIG_FILE, else the checkout's."""
    if explicit is not None:
        return load_config(explicit)
    from_env = os.environ.get(CONFIG_FILE_ENV)
    if from_env:
        return load_config(Path(from_env))
    return load_config(CHECKOUT_CONFIG) if CHECKOUT_CONFIG.is_file() else None


def check_request(request: PromotionRequest, config: Config) -> None:
    """What the API would refuse (the environment, the ARN's account, region and partition, the project)."""
    promotions.check(request, config)


def published_config(api_url: str) -> Config:
    """The deployed config, as the stack's REST API publishes it (GET /config)."""
    return promotions.config_from_published(get(api_url, "/config"))


def get(api_url: str, path: str) -> dict[str, Any]:
    """GET a route of the REST API: SigV4-signed with the usual AWS chain's credentials, except on this
    host (`mlpromote local serve`, which checks no signature)."""
    url = api_url.rstrip("/") + path
    headers: dict[str, str] = {"Accept": "application/json"}
    if not _loopback(url):
        headers = _signed("GET", url, headers)
    request = urllib.request.Request(url, headers=headers, method="GET")
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return dict(json.loads(answer.read() or b"{}"))
    except urllib.error.HTTPError as refused:
        body = _json(refused.read())
        if refused.code == 404 and body.get("error") == "NotFound":
            raise InvalidPromotionId(str(body.get("message", "no such promotion"))) from None
        if refused.code in (429, 502, 503, 504):
            raise TransientAwsError(f"GET {path}: HTTP {refused.code}; try again") from None
        raise ApiUnreachable(f"GET {url}: HTTP {refused.code} {body.get('message') or body}") from None
    except (urllib.error.URLError, OSError) as error:
        raise ApiUnreachable(f"GET {url}: {getattr(error, 'reason', error)}") from None


def _json(data: bytes) -> dict[str, Any]:
    try:
        document = json.loads(data or b"{}")
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}


def _loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _signed(method: str, url: str, headers: dict[str, str]) -> dict[str, str]:
    import boto3
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.exceptions import NoCredentialsError

    credentials = boto3.Session().get_credentials()
    if credentials is None:
        raise NoCredentialsError()
    # https://{api}.execute-api.{region}.{suffix}/{stage}: the region is the host's third label.
    region = (urlsplit(url).hostname or "").split(".")[2]
    request = AWSRequest(method=method, url=url, headers=headers)
    SigV4Auth(credentials.get_frozen_credentials(), "execute-api", region).add_auth(request)
    return dict(request.headers.items())
