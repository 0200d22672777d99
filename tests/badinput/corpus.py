# ruff: noqa: E501  (the corpus is a table: one entry per line)
"""A corpus of bad input (issue 4, item 8): requests, version ARNs, configs, config files and
scenarios, malformed and hostile, each with the named error it must give.

Each entry is a `Bad`: an id, the input, what it must raise, and (for configs and scenarios) a piece
of the message that says where the problem is. An entry with `bug` set is a known product bug: its
test is marked xfail(strict=True) with that reason, so fixing the bug turns it into an XPASS failure
that asks for the mark to be removed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ML, QA, PROD_A = "111111111111", "222222222222", "333333333333"
# The standard world's tools/v2 (tests/conftest.py): a valid, existing, RUNNING version.
ARN = f"arn:aws:rekognition:us-east-1:{ML}:project/tools/version/v2/1700000002000"
HUGE = "x" * 1_000_000


@dataclass(frozen=True)
class Bad:
    id: str
    value: Any
    error: str  # the named error's class name
    where: str = ""  # a piece of the message naming the problem
    bug: str | None = None  # known product bug: xfail(strict=True, reason=bug)


def request(**fields: Any) -> dict[str, Any]:
    """A valid request to promote tools/v2 to prod, with `fields` changed (None removes one)."""
    out: dict[str, Any] = {"environment": "prod", "modelVersionArn": ARN, "reason": "bad input corpus"}
    for key, value in fields.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


# fmt: off
# --- requests (the execution input), refused by Validate and plan before any AWS call --------

BAD_REQUESTS: list[Bad] = [
    Bad("not-an-object-string", "promote tools/v2 to prod", "InvalidPromotionRequest"),
    Bad("not-an-object-list", [request()], "InvalidPromotionRequest"),
    Bad("not-an-object-null", None, "InvalidPromotionRequest"),
    Bad("not-an-object-number", 42, "InvalidPromotionRequest"),
    Bad("empty-object", {}, "InvalidPromotionRequest", "environment"),
    Bad("missing-environment", request(environment=None), "InvalidPromotionRequest", "environment"),
    Bad("missing-version-and-rollback", request(modelVersionArn=None), "InvalidPromotionRequest"),
    Bad("unknown-key", request(sudo=True), "InvalidPromotionRequest", "sudo"),
    Bad("unknown-key-snake-case-typo", request(model_version_ar="x"), "InvalidPromotionRequest"),
    Bad("environment-wrong-type", request(environment=["prod"]), "InvalidPromotionRequest", "environment"),
    Bad("environment-number", request(environment=7), "InvalidPromotionRequest", "environment"),
    Bad("environment-path-traversal", request(environment="../../prod"), "InvalidPromotionRequest", "environment"),
    Bad("environment-empty", request(environment=""), "InvalidPromotionRequest", "environment"),
    Bad("environment-huge", request(environment=HUGE), "InvalidPromotionRequest", "environment"),
    Bad("environment-sql", request(environment="prod' OR '1'='1"), "InvalidPromotionRequest", "environment"),
    Bad("environment-unicode-lookalike", request(environment="pr\u043ed"), "InvalidPromotionRequest", "environment"),
    Bad("environment-unknown", request(environment="staging"), "UnknownEnvironment", "staging"),
    Bad("environment-case", request(environment="PROD"), "UnknownEnvironment", "PROD"),
    Bad("arn-wrong-type", request(modelVersionArn={"arn": ARN}), "InvalidPromotionRequest", "modelVersionArn"),
    Bad("arn-empty", request(modelVersionArn=""), "InvalidPromotionRequest", "modelVersionArn"),
    Bad("arn-huge", request(modelVersionArn=ARN + HUGE), "InvalidPromotionRequest", "modelVersionArn"),
    Bad("arn-of-a-project", request(modelVersionArn=ARN.split("/version/")[0] + "/1700000000000"), "InvalidModelVersionArn"),
    Bad("arn-of-s3", request(modelVersionArn="arn:aws:s3:::mlpromote-smoke/tools/v2"), "InvalidModelVersionArn"),
    Bad("arn-other-account", request(modelVersionArn=ARN.replace(ML, "999999999999")), "VersionOutsideMlAccount"),
    Bad("arn-target-account", request(modelVersionArn=ARN.replace(ML, PROD_A)), "VersionOutsideMlAccount"),
    Bad("arn-other-region", request(modelVersionArn=ARN.replace("us-east-1", "eu-west-1")), "VersionOutsideMlAccount"),
    Bad("arn-unknown-project", request(modelVersionArn=ARN.replace("/tools/", "/secret/")), "UnknownProject", "secret"),
    # ".." is a legal Custom Labels name (it is no path in an ARN): refused because no such project is configured.
    Bad("arn-project-dot-dot", request(modelVersionArn=ARN.replace("/tools/", "/../")), "UnknownProject", "'..'"),
    Bad("reason-wrong-type", request(reason=["because"]), "InvalidPromotionRequest", "reason"),
    Bad("reason-empty", request(reason=""), "InvalidPromotionRequest", "reason"),
    Bad("reason-huge", request(reason=HUGE), "InvalidPromotionRequest", "reason"),
    Bad("force-without-reason", request(force=True, reason=None), "InvalidPromotionRequest", "reason"),
    Bad("rollback-and-version", request(rollback=True), "InvalidPromotionRequest", "rollback"),
    Bad("rollback-project-traversal", request(modelVersionArn=None, rollback=True, project="../../tools"), "UnknownProject"),
    Bad("force-as-string", request(force="yes"), "InvalidPromotionRequest", "force"),
    Bad("rollback-as-number", request(modelVersionArn=None, rollback=1), "InvalidPromotionRequest", "rollback"),
]

# --- version ARNs: ModelVersionArn.parse -------------------------------------------------------

BAD_ARNS: list[Bad] = [
    Bad("none", None, "InvalidModelVersionArn"),
    Bad("number", 1700000002000, "InvalidModelVersionArn"),
    Bad("bytes", ARN.encode(), "InvalidModelVersionArn"),
    Bad("list", [ARN], "InvalidModelVersionArn"),
    Bad("empty", "", "InvalidModelVersionArn"),
    Bad("whitespace", "   ", "InvalidModelVersionArn"),
    Bad("label-not-arn", "tools/v2", "InvalidModelVersionArn"),
    Bad("project-arn", f"arn:aws:rekognition:us-east-1:{ML}:project/tools/1700000000000", "InvalidModelVersionArn"),
    Bad("other-service", ARN.replace(":rekognition:", ":sagemaker:"), "InvalidModelVersionArn"),
    Bad("other-partition", ARN.replace("arn:aws:", "arn:evil:"), "InvalidModelVersionArn"),
    Bad("uppercase-prefix", ARN.replace("arn:aws:rekognition", "ARN:AWS:REKOGNITION"), "InvalidModelVersionArn"),
    Bad("short-account", ARN.replace(ML, "11111111111"), "InvalidModelVersionArn"),
    Bad("account-with-letters", ARN.replace(ML, "11111111111a"), "InvalidModelVersionArn"),
    Bad("region-missing", ARN.replace("us-east-1", ""), "InvalidModelVersionArn"),
    Bad("no-timestamp", ARN.rsplit("/", 1)[0], "InvalidModelVersionArn"),
    Bad("timestamp-not-numeric", ARN.rsplit("/", 1)[0] + "/yesterday", "InvalidModelVersionArn"),
    Bad("timestamp-too-long", ARN.rsplit("/", 1)[0] + "/" + "9" * 21, "InvalidModelVersionArn"),
    Bad("path-traversal-project", ARN.replace("/tools/", "/../../etc/"), "InvalidModelVersionArn"),
    Bad("path-traversal-version", ARN.replace("/v2/", "/../../v2/"), "InvalidModelVersionArn"),
    Bad("wildcard", ARN.replace("/v2/", "/*/"), "InvalidModelVersionArn"),
    Bad("wildcard-everything", "*", "InvalidModelVersionArn"),
    Bad("leading-space", " " + ARN, "InvalidModelVersionArn"),
    Bad("trailing-space", ARN + " ", "InvalidModelVersionArn"),
    Bad("embedded-nul", ARN.replace("/v2/", "/v2\x00/"), "InvalidModelVersionArn"),
    Bad("two-arns", ARN + "," + ARN, "InvalidModelVersionArn"),
    Bad("json-injection", ARN + '","Resource":"*', "InvalidModelVersionArn"),
    Bad("name-too-long", ARN.replace("/v2/", "/" + "v" * 256 + "/"), "InvalidModelVersionArn"),
    Bad("huge", ARN + HUGE, "InvalidModelVersionArn"),
    Bad("unicode-lookalike-colon", ARN.replace(":project", "\uff1aproject"), "InvalidModelVersionArn"),
    Bad("trailing-newline", ARN + "\n", "InvalidModelVersionArn"),
    Bad("fullwidth-account", ARN.replace(ML, "\uff11" * 12), "InvalidModelVersionArn"),
    Bad("arabic-indic-timestamp", ARN.rsplit("/", 1)[0] + "/\u0661\u0667", "InvalidModelVersionArn"),
]

# --- configs: parse_config on the standard config with an override merged in --------------------
# (tests/conftest.py `merge`: mappings merge, None removes a key, anything else replaces.)

BAD_CONFIGS: list[Bad] = [
    Bad("region-missing", {"region": None}, "InvalidConfig", "region: required key is missing"),
    Bad("region-wrong-type", {"region": ["us-east-1"]}, "InvalidConfig", "region"),
    Bad("region-made-up", {"region": "moon-base-1a"}, "InvalidConfig", "region"),
    Bad("region-huge", {"region": HUGE}, "InvalidConfig", "region"),
    Bad("ml-account-short", {"mlAccount": "1234"}, "InvalidConfig", "mlAccount"),
    Bad("ml-account-number", {"mlAccount": 111111111111}, "InvalidConfig", "mlAccount"),
    Bad("ml-account-arn", {"mlAccount": f"arn:aws:iam::{ML}:root"}, "InvalidConfig", "mlAccount"),
    Bad("ml-account-fullwidth", {"mlAccount": "\uff11" * 12}, "InvalidConfig", "mlAccount"),
    Bad("unknown-top-level-key", {"enviroments": {}}, "InvalidConfig", "enviroments: unknown key"),
    Bad("environments-empty", {"environments": None, "environments ": {}}, "InvalidConfig", "environments"),
    Bad("environments-list", {"environments": ["qa", "prod"]}, "InvalidConfig", "environments"),
    Bad("environment-name-traversal", {"environments": {"../prod": {"accounts": ["555555555555"]}}}, "InvalidConfig", "../prod"),
    Bad("environment-accounts-empty", {"environments": {"prod": {"accounts": []}}}, "InvalidConfig", "environments.prod.accounts"),
    Bad("environment-accounts-string", {"environments": {"prod": {"accounts": PROD_A}}}, "InvalidConfig", "environments.prod.accounts"),
    Bad("environment-account-twice", {"environments": {"prod": {"accounts": [PROD_A, PROD_A]}}}, "InvalidConfig", "twice"),
    Bad("environment-account-in-two", {"environments": {"qa": {"accounts": [PROD_A]}}}, "InvalidConfig", "both"),
    Bad("environment-ml-account", {"environments": {"qa": {"accounts": [ML]}}}, "InvalidConfig", "ML account"),
    Bad("environment-account-fullwidth", {"environments": {"qa": {"accounts": ["\uff12" * 12]}}}, "InvalidConfig", "accounts"),
    Bad("environment-too-many-accounts", {"environments": {"prod": {"accounts": [f"{n:012d}" for n in range(500_000_000_000, 500_000_001_501)]}}}, "InvalidConfig", "environments.prod.accounts"),
    Bad("environment-unknown-key", {"environments": {"prod": {"acounts": [PROD_A]}}}, "InvalidConfig", "acounts"),
    Bad("access-role-arn", {"environments": {"prod": {"accessRoleName": f"arn:aws:iam::{ML}:role/admin"}}}, "InvalidConfig", "accessRoleName"),
    Bad("access-role-path", {"environments": {"prod": {"accessRoleName": "../../admin"}}}, "InvalidConfig", "accessRoleName"),
    Bad("access-role-unicode", {"environments": {"prod": {"accessRoleName": "mlpromote-\u00e4ccess"}}}, "InvalidConfig", "accessRoleName"),
    Bad("retire-superseded-list", {"environments": {"prod": {"retireSuperseded": [True]}}}, "InvalidConfig", "retireSuperseded"),
    Bad("projects-empty", {"projects": None, "projects ": {}}, "InvalidConfig", "projects"),
    Bad("project-name-traversal", {"projects": {"../tools": {"parameterName": "/x", "smokeTest": {"images": ["s3://b-b/x.jpg"], "expectLabels": ["x"]}}}}, "InvalidConfig", "../tools"),
    Bad("parameter-traversal", {"projects": {"tools": {"parameterName": "/mlpromote/../../etc/passwd"}}}, "InvalidConfig", "parameterName"),
    Bad("parameter-traversal-relative", {"projects": {"tools": {"parameterName": "../secrets"}}}, "InvalidConfig", "parameterName"),
    Bad("parameter-double-slash", {"projects": {"tools": {"parameterName": "/mlpromote//model"}}}, "InvalidConfig", "parameterName"),
    Bad("parameter-aws-reserved", {"projects": {"tools": {"parameterName": "/aws/service/ami"}}}, "InvalidConfig", "reserves"),
    Bad("parameter-ssm-reserved", {"projects": {"tools": {"parameterName": "SSM-model"}}}, "InvalidConfig", "reserves"),
    Bad("parameter-arn", {"projects": {"tools": {"parameterName": "arn:aws:ssm:us-east-1:111111111111:parameter/x"}}}, "InvalidConfig", "parameterName"),
    Bad("parameter-shell", {"projects": {"tools": {"parameterName": "/x;rm -rf /"}}}, "InvalidConfig", "parameterName"),
    Bad("parameter-url-encoded", {"projects": {"tools": {"parameterName": "/mlpromote/%2e%2e/x"}}}, "InvalidConfig", "parameterName"),
    Bad("parameter-too-long", {"projects": {"tools": {"parameterName": "/x" * 600}}}, "InvalidConfig", "parameterName"),
    Bad("parameter-16-levels", {"projects": {"tools": {"parameterName": "/l" * 16}}}, "InvalidConfig", "parameterName"),
    Bad("units-negative", {"projects": {"tools": {"minInferenceUnits": -1}}}, "InvalidConfig", "minInferenceUnits"),
    Bad("units-huge", {"projects": {"tools": {"minInferenceUnits": 10**100}}}, "InvalidConfig", "minInferenceUnits"),
    Bad("units-float", {"projects": {"tools": {"minInferenceUnits": 1.5}}}, "InvalidConfig", "minInferenceUnits"),
    Bad("units-bool", {"projects": {"tools": {"minInferenceUnits": True}}}, "InvalidConfig", "minInferenceUnits"),
    Bad("units-max-below-min", {"projects": {"tools": {"minInferenceUnits": 3, "maxInferenceUnits": 2}}}, "InvalidConfig", "maxInferenceUnits"),
    Bad("smoke-test-missing", {"projects": {"tools": {"smokeTest": None}}}, "InvalidConfig", "smokeTest"),
    Bad("images-https", {"projects": {"tools": {"smokeTest": {"images": ["https://evil.example/x.jpg"]}}}}, "InvalidConfig", "images"),
    Bad("images-file", {"projects": {"tools": {"smokeTest": {"images": ["file:///etc/passwd"]}}}}, "InvalidConfig", "images"),
    Bad("images-bucket-traversal", {"projects": {"tools": {"smokeTest": {"images": ["s3://../x.jpg"]}}}}, "InvalidConfig", "images"),
    Bad("images-too-many", {"projects": {"tools": {"smokeTest": {"images": [f"s3://bucket-a/{n}.jpg" for n in range(11)]}}}}, "InvalidConfig", "images"),
    Bad("labels-empty", {"projects": {"tools": {"smokeTest": {"expectLabels": []}}}}, "InvalidConfig", "expectLabels"),
    Bad("labels-huge", {"projects": {"tools": {"smokeTest": {"expectLabels": [HUGE]}}}}, "InvalidConfig", "expectLabels"),
    Bad("confidence-nan", {"projects": {"tools": {"smokeTest": {"minConfidence": float("nan")}}}}, "InvalidConfig", "minConfidence"),
    Bad("confidence-infinite", {"projects": {"tools": {"smokeTest": {"minConfidence": float("inf")}}}}, "InvalidConfig", "minConfidence"),
    Bad("target-role-arn", {"targetRoles": {"smokeTest": f"arn:aws:iam::{ML}:role/x"}}, "InvalidConfig", "targetRoles.smokeTest"),
    Bad("workflow-poll-zero", {"workflow": {"startPollSeconds": 0}}, "InvalidConfig", "workflow.startPollSeconds"),
    Bad("workflow-propagation-huge", {"workflow": {"grantPropagationSeconds": 10**9}}, "InvalidConfig", "grantPropagationSeconds"),
    Bad("workflow-unknown-key", {"workflow": {"retries": 99}}, "InvalidConfig", "workflow.retries"),
]

# Whole config documents (not a mapping at all).
BAD_CONFIG_DOCUMENTS: list[Bad] = [
    Bad("none", None, "InvalidConfig", "expected a mapping"),
    Bad("list", [{"region": "us-east-1"}], "InvalidConfig", "expected a mapping"),
    Bad("string", "region: us-east-1", "InvalidConfig", "expected a mapping"),
    Bad("number", 3, "InvalidConfig", "expected a mapping"),
    Bad("empty-mapping", {}, "InvalidConfig", "required key is missing"),
    Bad("non-string-keys", {1: 2, None: 3, (4, 5): 6}, "InvalidConfig", "required key is missing"),
]


def _yaml_bomb(levels: int = 9, width: int = 9) -> str:
    """Billion laughs: each alias level multiplies the document by `width`, built by reference."""
    lines = ["a0: &a0 [" + ", ".join(["lol"] * width) + "]"]
    for level in range(1, levels):
        lines.append(f"a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


BOMB = _yaml_bomb()
# Raw config files: load_config(path) on exactly these bytes.
BAD_CONFIG_FILES: list[Bad] = [
    Bad("empty-file", b"", "InvalidConfig", "is empty"),
    Bad("only-a-comment", b"# nothing here\n", "InvalidConfig", "is empty"),
    Bad("only-whitespace", b" \n  \n", "InvalidConfig", "is empty"),
    Bad("null-document", b"~\n", "InvalidConfig", "is empty"),
    Bad("not-yaml", b"region: [us-east-1\n", "InvalidConfig", "not valid YAML"),
    Bad("tab-indent", b"region: us-east-1\nenvironments:\n\tprod: {}\n", "InvalidConfig", "not valid YAML"),
    Bad("non-utf8", b"region: us-east-1\nmlAccount: \xff\xfe\x00\n", "InvalidConfig", "cannot be read"),
    Bad("latin1", "region: us-east-1 # r\xe9gion\n".encode("latin-1"), "InvalidConfig", "cannot be read"),
    Bad("utf16", "region: us-east-1\n".encode("utf-16"), "InvalidConfig", "cannot be read"),
    Bad("nul-byte", b"region: us-east-1\x00\n", "InvalidConfig", "not valid YAML"),
    Bad("python-tag", b"!!python/object/apply:os.system ['touch /tmp/pwned']\n", "InvalidConfig", "not valid YAML"),
    Bad("python-name-tag", b"region: !!python/name:os.system\n", "InvalidConfig", "not valid YAML"),
    Bad("two-documents", b"region: us-east-1\n---\nregion: eu-west-1\n", "InvalidConfig", "not valid YAML"),
    Bad("duplicate-anchor-alias-undefined", b"region: *nowhere\n", "InvalidConfig", "not valid YAML"),
    Bad("duplicate-key", b"region: us-east-1\nmlAccount: '111111111111'\nregion: eu-west-1\n", "InvalidConfig", "key 'region' appears twice in one mapping (line 1 and line 3)"),
    Bad("duplicate-key-in-flow", b"environments: {prod: {accounts: ['333333333333']}, prod: {accounts: []}}\n", "InvalidConfig", "key 'prod' appears twice in one mapping (line 1 and line 1)"),
    Bad("yaml-bomb", BOMB.encode(), "InvalidConfig", "required key is missing"),
    Bad("yaml-bomb-as-region", (BOMB + "region: *a8\n").encode(), "InvalidConfig", "region"),
    Bad("recursive-alias", b"region: &r [*r]\n", "InvalidConfig", "region"),
    Bad("huge-line", b"region: " + b"x" * 500_000 + b"\n", "InvalidConfig", "region"),
    Bad("deep-flow-nesting", b"region: " + b"[" * 1500 + b"]" * 1500 + b"\n", "InvalidConfig", ""),
    Bad("deep-block-nesting", "".join("  " * i + f"k{i}:\n" for i in range(1500)).encode(), "InvalidConfig", ""),
]

# --- scenarios: load_scenario(path) on a file; a "config: ../config.yaml" points at a valid config ----

SCENARIO_HEAD = "config: ../config.yaml\n"
_WORLD = "world: {versions: {tools/v1: {status: RUNNING, labels: [hammer]}}, live: {prod: [tools/v1]}}\n"
BAD_SCENARIO_FILES: list[Bad] = [
    Bad("empty", b"", "InvalidScenario", "is empty"),
    Bad("list", b"- config: ../config.yaml\n", "InvalidScenario", "expected a mapping"),
    Bad("no-config", _WORLD.encode(), "InvalidScenario", "config: required key is missing"),
    Bad("config-missing-file", ("config: ../nowhere.yaml\n" + _WORLD).encode(), "InvalidConfig", "does not exist"),
    Bad("config-is-a-directory", ("config: ../\n" + _WORLD).encode(), "InvalidConfig", "cannot be read"),
    Bad("config-traversal-to-a-non-config", ("config: ../../../../../../../../etc/hostname\n" + _WORLD).encode(), "InvalidConfig", ""),
    Bad("config-number", ("config: 5\n" + _WORLD).encode(), "InvalidScenario", "config"),
    Bad("config-invalid-inline", ("config: {region: nowhere}\n" + _WORLD).encode(), "InvalidConfig", "region"),
    Bad("world-missing", SCENARIO_HEAD.encode(), "InvalidScenario", "world: required key is missing"),
    Bad("versions-empty", (SCENARIO_HEAD + "world: {versions: {}}\n").encode(), "InvalidScenario", "world.versions"),
    Bad("version-label-traversal", (SCENARIO_HEAD + "world: {versions: {../../etc/v1: {status: RUNNING}}}\n").encode(), "InvalidScenario", "world.versions"),
    Bad("version-status-unknown", (SCENARIO_HEAD + "world: {versions: {tools/v1: {status: RUNING}}}\n").encode(), "InvalidScenario", "RUNING"),
    Bad("version-labels-wrong-type", (SCENARIO_HEAD + "world: {versions: {tools/v1: {status: RUNNING, labels: 5}}}\n").encode(), "InvalidScenario", "labels"),
    Bad("version-unknown-key", (SCENARIO_HEAD + "world: {versions: {tools/v1: {status: RUNNING, owner: me}}}\n").encode(), "InvalidScenario", "owner"),
    Bad("live-unknown-environment", (SCENARIO_HEAD + "world: {versions: {tools/v1: {status: RUNNING}}, live: {staging: [tools/v1]}}\n").encode(), "InvalidScenario", "staging"),
    Bad("live-unknown-version", (SCENARIO_HEAD + "world: {versions: {tools/v1: {status: RUNNING}}, live: {prod: [tools/v9]}}\n").encode(), "InvalidScenario", "tools/v9"),
    Bad("start-seconds-negative", (SCENARIO_HEAD + "world: {versions: {tools/v1: {status: RUNNING}}, startSeconds: -1}\n").encode(), "InvalidScenario", "startSeconds"),
    Bad("start-seconds-nan", (SCENARIO_HEAD + "world: {versions: {tools/v1: {status: RUNNING}}, startSeconds: .nan}\n").encode(), "InvalidScenario", "startSeconds"),
    Bad("start-fails-unknown", (SCENARIO_HEAD + "world: {versions: {tools/v1: {status: RUNNING}}, startFails: [tools/v2]}\n").encode(), "InvalidScenario", "startFails"),
    Bad("fault-service-injection", (SCENARIO_HEAD + _WORLD + "faults: [{service: 'ssm; rm -rf /', operation: PutParameter, error: X1}]\n").encode(), "InvalidScenario", "faults[0].service"),
    Bad("fault-account-short", (SCENARIO_HEAD + _WORLD + "faults: [{service: ssm, operation: PutParameter, error: X1, account: '1'}]\n").encode(), "InvalidScenario", "faults[0].account"),
    Bad("fault-count-zero", (SCENARIO_HEAD + _WORLD + "faults: [{service: ssm, operation: PutParameter, error: X1, count: 0}]\n").encode(), "InvalidScenario", "faults[0].count"),
    Bad("promotion-both", (SCENARIO_HEAD + _WORLD + f"promotions: [{{environment: prod, version: tools/v1, modelVersionArn: '{ARN}'}}]\n").encode(), "InvalidScenario", "promotions"),
    Bad("promotion-neither", (SCENARIO_HEAD + _WORLD + "promotions: [{environment: prod}]\n").encode(), "InvalidScenario", "promotions"),
    Bad("promotion-unknown-key", (SCENARIO_HEAD + _WORLD + "promotions: [{environment: prod, version: tools/v1, sudo: true}]\n").encode(), "InvalidScenario", "sudo"),
    Bad("promotion-version-traversal", (SCENARIO_HEAD + _WORLD + "promotions: [{environment: prod, version: ../../v1}]\n").encode(), "InvalidScenario", "promotions"),
    Bad("unknown-top-level-key", (SCENARIO_HEAD + _WORLD + "promotion: []\n").encode(), "InvalidScenario", "promotion"),
    Bad("non-utf8", SCENARIO_HEAD.encode() + b"world: \xc3\x28\n", "InvalidScenario", "cannot be read"),
    Bad("yaml-bomb", (BOMB + SCENARIO_HEAD + _WORLD).encode(), "InvalidScenario", "a0"),
    Bad("deep-nesting", (SCENARIO_HEAD + "world: " + "[" * 1500 + "]" * 1500 + "\n").encode(), "InvalidScenario", ""),
    Bad("duplicate-key", (SCENARIO_HEAD + _WORLD + "faults: []\nworld: {versions: {}}\n").encode(), "InvalidScenario", "key 'world' appears twice in one mapping (line 2 and line 4)"),
    Bad("duplicate-nested-key", (SCENARIO_HEAD + "world:\n  versions: {tools/v1: {status: RUNNING}}\n  live: {prod: [tools/v1]}\n  live: {}\n").encode(), "InvalidScenario", "key 'live' appears twice in one mapping (line 4 and line 5)"),
    Bad("fault-unknown-operation", (SCENARIO_HEAD + _WORLD + "faults: [{service: ssm, operation: PutParamter, error: InternalServerError}]\n").encode(), "InvalidScenario", "faults[0].operation: 'PutParamter' is not an operation of ssm; did you mean 'PutParameter'?"),
    Bad("fault-unknown-error", (SCENARIO_HEAD + _WORLD + "faults: [{service: ssm, operation: PutParameter, error: Boom}]\n").encode(), "InvalidScenario", "faults[0].error: 'Boom' is not an error code ssm answers with"),
    Bad("fault-unknown-service", (SCENARIO_HEAD + _WORLD + "faults: [{service: smm, operation: PutParameter, error: InternalServerError}]\n").encode(), "InvalidScenario", "faults[0].service: 'smm' is not a service the control plane calls; did you mean 'ssm'?"),
    Bad("fault-query-error-shape-name", (SCENARIO_HEAD + _WORLD + "faults: [{service: iam, operation: PutRolePolicy, error: NoSuchEntityException}]\n").encode(), "InvalidScenario", "did you mean 'NoSuchEntity'?"),
    Bad("fault-key-typo", (SCENARIO_HEAD + _WORLD + "faults: [{service: ssm, operation: PutParameter, eror: InternalServerError}]\n").encode(), "InvalidScenario", "faults[0].eror: unknown key 'eror'; did you mean 'error'?"),
    Bad("promotion-project-without-rollback", (SCENARIO_HEAD + _WORLD + "promotions: [{environment: prod, version: tools/v1, project: tools}]\n").encode(), "InvalidScenario", "promotions[0]: project goes with rollback: true"),
    Bad("promotion-project-unknown", (SCENARIO_HEAD + _WORLD + "promotions: [{environment: prod, rollback: true, project: tols}]\n").encode(), "InvalidScenario", "promotions[0].project: no project 'tols' in the config; did you mean 'tools'?"),
    Bad("batch-entry-key-typo", (SCENARIO_HEAD + _WORLD + "promotions: [{batch: [{environment: prod, versio: tools/v1}]}]\n").encode(), "InvalidScenario", "promotions[0].batch[0].versio: unknown key 'versio'; did you mean 'version'?"),
]

# fmt: on

# A representative handful of requests run through the real workflow on the emulator.
WORKFLOW_REQUESTS = [
    "not-an-object-string",
    "unknown-key",
    "environment-path-traversal",
    "environment-unknown",
    "arn-of-s3",
    "arn-other-account",
    "arn-unknown-project",
    "force-without-reason",
]
# One more: a well-formed ARN of a version that does not exist (only the workflow can tell).
MISSING_VERSION = Bad(
    "version-does-not-exist", request(modelVersionArn=ARN.replace("/v2/", "/v9/")), "ModelVersionNotFound"
)
# Scenario files run through `mlpromote local promote --scenario FILE --json`.
CLI_SCENARIOS = [
    "empty",
    "no-config",
    "config-is-a-directory",
    "version-status-unknown",
    "promotion-unknown-key",
    "duplicate-key",
    "fault-unknown-operation",
    "fault-unknown-error",
    "fault-unknown-service",
    "fault-key-typo",
    "promotion-project-unknown",
    "batch-entry-key-typo",
    "non-utf8",
    "yaml-bomb",
    "deep-nesting",
]

# Of those, a single typo: stderr is one line that names the key and what is allowed there.
ONE_LINE_SCENARIOS = [
    "promotion-unknown-key",
    "duplicate-key",
    "fault-unknown-operation",
    "fault-unknown-error",
    "fault-unknown-service",
    "fault-key-typo",
    "promotion-project-unknown",
    "batch-entry-key-typo",
]


def every_case() -> list[Bad]:
    return BAD_REQUESTS + BAD_ARNS + BAD_CONFIGS + BAD_CONFIG_DOCUMENTS + BAD_CONFIG_FILES + BAD_SCENARIO_FILES
