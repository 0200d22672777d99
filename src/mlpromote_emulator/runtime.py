"""The offline runtime: the real state machine and the real handlers on moto, in one process.

`Emulator(scenario)` is a context manager. On entry it starts moto, simulated time and the
adaptations, seeds the scenario's world, creates the functions and the state machine from
template.yaml exactly as `sam deploy` would name them, and then runs promotions on moto's
Step Functions interpreter. Every handler call is the real `functions/<step>/app.py`.
"""

from __future__ import annotations

import importlib.util
import io
import json
import logging
import os
import sys
import tempfile
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import yaml
from moto import mock_aws

from mlpromote import arns
from mlpromote.aws import sessions
from mlpromote.config import CONFIG_FILE_ENV, Config
from mlpromote.executions import StepReport, readable_cause, step_names, steps_from_history
from mlpromote_emulator import authorization, entry_points, iam_policy
from mlpromote_emulator import moto_adaptations as adapt
from mlpromote_emulator.apigateway import LocalGateway, local_caller
from mlpromote_emulator.cfn import Stack, load_template, load_template_text
from mlpromote_emulator.clock import SimulatedClock
from mlpromote_emulator.project import (
    ACCESS_ROLES_RENDERER,
    ORGANIZATION_READER_TEMPLATE,
    SCP_DIR,
    TARGET_TEMPLATE,
    project_dir,
)
from mlpromote_emulator.scenario import FaultSpec, PromotionSpec, Scenario
from mlpromote_emulator.scheduler import Scheduler
from mlpromote_emulator.world import (
    STATE_MACHINE_ROLE,
    IamStacks,
    WorldMap,
    deploy_target_account,
    environment_accounts,
    observe,
    schedule_alarms,
    seed,
)

STATE_MACHINE_RESOURCE = "PromoteModelStateMachine"
# Lambda's Timeout when neither the function nor Globals sets one (AWS::Serverless::Function).
LAMBDA_DEFAULT_TIMEOUT = 3
# Real seconds an execution may take on the emulator before it is abandoned (simulated time is free).
EXECUTION_DEADLINE_SECONDS = 120.0
# Who approves or rejects in a scenario (`approve: true | false`), and who requests, unless the
# scenario names them (`approver:`, `requester:`): local IAM users of the ML account.
APPROVER = "local-approver"
REQUESTER = "local-scenario"
# How often Emulator.wait looks at a running execution it has nothing to hand over to (real seconds);
# it wakes at once when the execution ends.
WAIT_POLL_SECONDS = 0.05
# How many times a scenario's decision is sent when the approval route answers 5xx or 429.
DECISION_ATTEMPTS = 5


@dataclass
class PromotionResult:
    environment: str
    version: str
    status: str
    error: str | None
    cause: str | None
    steps: list[StepReport]
    execution_arn: str
    output: Any = None
    compensation: Any = None
    state_transitions: int = 0
    via: str = "console"
    # approved, rejected, timed-out; None where the environment needs no approval.
    approval: str | None = None
    # The rollout's waves, [{accounts, status}] (mlpromote.waves), as the history records them.
    waves: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "version": self.version,
            "status": self.status,
            "error": self.error,
            "cause": self.cause,
            "steps": [{"name": s.name, "status": s.status} for s in self.steps],
            "output": self.output,
            "compensation": self.compensation,
            "via": self.via,
            "approval": self.approval,
            "waves": self.waves,
            "promotionId": self.execution_arn.rsplit(":", 1)[-1] if self.execution_arn else None,
        }


@dataclass
class _LambdaContext:
    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int = 512
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = ""
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def get_remaining_time_in_millis(self) -> int:
        return 120_000


class Emulator:
    def __init__(self, scenario: Scenario, repo_root: Path | None = None, seed: int | None = None) -> None:
        """`repo_root`: the stack to deploy (template.yaml, the ASL, functions/); None: this install's own
        (mlpromote_emulator.project). InvalidProjectDir, before anything starts, when a file is missing.
        `seed`: concurrent executions' handlers run in an order a seeded scheduler picks
        (mlpromote_emulator.scheduler); without one, in whatever order their threads come."""
        self.scenario = scenario
        self.config = scenario.config
        self.repo_root = project_dir(repo_root)
        self.names = WorldMap(scenario)
        self.clock = SimulatedClock()
        self.logs = io.StringIO()
        # (function, real seconds) of every handler call, for benchmarks.
        self.invocations: list[tuple[str, float]] = []
        self._last_function = ""
        self._one_handler_at_a_time = threading.Lock()
        # A handler that invokes another function synchronously (ReleaseAbandoned runs Compensate) waits
        # for it in its own thread: that call is not a second container competing for the turn.
        self._in_handler = threading.local()
        self.scheduler = None if seed is None else Scheduler(seed, self.clock.sleep, self.clock.activity)
        self._mock = mock_aws(
            config={"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
        )
        # Each function's published versions (number -> the handler module deployed then), its $LATEST,
        # and its aliases (name -> version): an execution runs the version its definition names.
        self._handlers: dict[str, dict[str, ModuleType]] = {}
        self._aliases: dict[str, dict[str, str]] = {}
        self._deploys = 0
        # Each function's Timeout (template.yaml, else Globals, else Lambda's default), in seconds.
        self.timeouts: dict[str, float] = {}
        self._saved_env: dict[str, str | None] = {}
        self._config_file: Path | None = None
        self.state_machine_arn = ""
        self._executions = 0
        self._asl: dict[str, Any] = {}
        # The approval gate: task token -> execution (seen in the payloads handed to functions),
        # and the decision each execution will get ("approve" / "reject"); absent, it times out.
        self._task_tokens: dict[str, str] = {}
        self.decisions: dict[str, list[tuple[str, str | None, str | None]]] = {}
        # True: every approval waits for someone to decide (a test, `local serve`), never times out.
        self.approvals_by_hand = False
        # Per execution, the gates (by requestedAt) decided or given up on; attempts per gate.
        self._decided: dict[str, set[str]] = {}
        self._decision_attempts: dict[tuple[str, str], int] = {}
        # Executions whose decision the approval route refused for good, and every refusal it gave.
        self._undeliverable: set[str] = set()
        self.decision_failures: dict[str, list[str]] = {}
        self._template: dict[str, Any] = {}
        self.topics: dict[str, str] = {}
        # The URLs of the event rules' dead-letter queues: an event EventBridge could not deliver ends there.
        self.dead_letter_queues: set[str] = set()
        # Each function's role (template.yaml's Role), which its handler's calls are authorized as.
        self.function_roles: dict[str, str] = {}
        self.authorizer: authorization.Authorizer | None = None
        self._stacks: IamStacks | None = None

    # --- lifecycle -----------------------------------------------------------------------

    def __enter__(self) -> Emulator:
        handle, name = tempfile.mkstemp(prefix="mlpromote-config-", suffix=".yaml")
        os.close(handle)
        self._config_file = Path(name)
        self._config_file.write_text(
            yaml.safe_dump(self.config.model_dump(mode="json", by_alias=True, exclude_none=True)),
            encoding="utf-8",
        )
        self._set_env(
            {
                "AWS_ACCESS_KEY_ID": "emulator",
                "AWS_SECRET_ACCESS_KEY": "emulator",
                "AWS_SESSION_TOKEN": None,
                "AWS_PROFILE": None,
                "AWS_DEFAULT_REGION": self.config.region,
                "AWS_REGION": self.config.region,
                CONFIG_FILE_ENV: str(self._config_file),
                "POWERTOOLS_TRACE_DISABLED": "true",
                "POWERTOOLS_SERVICE_NAME": "mlpromote",
                "POWERTOOLS_LOG_LEVEL": "INFO",
            }
        )
        adapt.install()
        # The interpreter logs every failed state; the report already says what failed.
        logging.getLogger("moto.stepfunctions").setLevel(logging.CRITICAL)
        adapt.set_default_account(self.config.ml_account)
        adapt.grant_times.clear()
        adapt.forget_sessions()
        adapt.forget_organizations()
        adapt.hooks.invoke = self.invoke
        adapt.hooks.sleep = self.clock.sleep
        adapt.hooks.activity = self.clock.activity
        adapt.hooks.wait_for_callback = self._wait_for_callback
        adapt.hooks.faults = []
        adapt.hooks.calls = []
        adapt.hooks.deliveries = {}
        adapt.hooks.stopped = set()
        adapt.hooks.endings = {}
        adapt.hooks.delivered_events = []
        adapt.hooks.iam_propagation_seconds = self.scenario.world.iam_propagation_seconds
        adapt.hooks.trust_policy_limit = self.scenario.world.trust_policy_max_chars
        adapt.hooks.iam_read_lag_seconds = self.scenario.world.iam_read_lag_seconds
        sessions.reset()
        # Handlers print their logs and EMF metrics to stdout, as in Lambda; here they are kept
        # in `logs`, so a report or --json on the real stdout stays readable.
        self._stdout = sys.stdout
        sys.stdout = self.logs
        self._mock.start()
        self.clock.in_handler = adapt.control_plane_call
        adapt.hooks.call_seconds = self.scenario.world.aws_call_seconds
        self.clock.start()
        self._template = load_template(self.repo_root / "template.yaml")
        stacks = self._iam_stacks()
        self._stacks = stacks
        seed(self.scenario, self.names, stacks)
        adapt.forget_policy_writes()  # the world was deployed long before the run
        self._deploy()
        self.authorizer = self._authorizer(stacks)
        authorization.enforce(self.authorizer)
        adapt.hooks.scheduled = []
        schedule_alarms(self.scenario)
        self.clock.on_advance = adapt.run_due_events
        return self

    def __exit__(self, *exc: object) -> None:
        authorization.enforce(None)
        sys.stdout = self._stdout
        self.clock.stop()
        self._mock.stop()
        adapt.hooks.invoke = None
        adapt.hooks.sleep = None
        adapt.hooks.activity = None
        adapt.hooks.wait_for_callback = None
        adapt.hooks.call_seconds = 0.0
        sessions.reset()
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        if self._config_file:
            self._config_file.unlink(missing_ok=True)

    def _set_env(self, values: dict[str, str | None]) -> None:
        for key, value in values.items():
            self._saved_env.setdefault(key, os.environ.get(key))
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    # --- deployment, as template.yaml describes it ---------------------------------------

    def _iam_stacks(self) -> IamStacks:
        """The stacks a deployment of this config creates roles with (README's deployment steps)."""
        config, parameters = self.config, template_parameters(self.config)
        renderer = _load_module("mlpromote_render_access_roles", self.repo_root / ACCESS_ROLES_RENDERER)
        access = load_template_text(renderer.render(config, "the emulator's config"))
        target = load_template(self.repo_root / TARGET_TEMPLATE)
        accounts = self.scenario.target_accounts()
        # Every account of the organization's OUs: one may join an OU environment during the run.
        accounts += [
            a for spec in self.scenario.world.organization.values() for a in spec.accounts if a not in accounts
        ]
        reader = None
        if config.organization_reader_role_arn is not None:
            reader = Stack(
                load_template(self.repo_root / ORGANIZATION_READER_TEMPLATE),
                config.organization_reader_role_arn.split(":")[4],
                config.region,
                name="mlpromote-organization-reader",
                parameters=parameters,
            )
        return IamStacks(
            control=self.stack(),
            access_roles=Stack(access, config.ml_account, config.region, name="mlpromote-AccessRoles"),
            targets={
                account: Stack(target, account, config.region, name="mlpromote-target", parameters=parameters)
                for account in accounts
            },
            organization_reader=reader,
        )

    def _authorizer(self, stacks: IamStacks) -> authorization.Authorizer:
        config = self.config
        organizations = {config.ml_account: config.organization_id or ""}
        for environment in config.environments:
            for account in self.scenario.accounts_of(environment):
                organizations.setdefault(account, config.organization_of(environment) or "")
        resources = self._template["Resources"]
        tables = {
            str(r["Properties"]["TableName"]): next(
                k["AttributeName"] for k in r["Properties"]["KeySchema"] if k["KeyType"] == "HASH"
            )
            for r in resources.values()
            if r["Type"] == "AWS::DynamoDB::Table"
        }
        # With vpcEndpointIds, the functions in a VPC call Rekognition through the endpoint every
        # environment lists (docs/security.md, "Private connectivity").
        listed = [env.vpc_endpoint_ids for env in config.environments.values() if env.vpc_endpoint_ids]
        common = [e for e in listed[0] if all(e in others for others in listed)] if listed else []
        return authorization.Authorizer(
            scps=iam_policy.load_scps(config, self.repo_root / SCP_DIR, self._organization_accounts()),
            aws_managed=stacks.aws_managed,
            organizations=organizations,
            table_keys=tables,
            vpc_functions=frozenset(
                logical
                for logical, r in resources.items()
                if r["Type"] == "AWS::Serverless::Function" and "VpcConfig" in r.get("Properties", {})
            ),
            vpc_endpoint=common[0] if common else None,
        )

    def _organization_accounts(self) -> list[str]:
        """Every target account, and every account of the world's OUs (one may join an OU environment)."""
        accounts = self.scenario.target_accounts()
        return accounts + [
            a for spec in self.scenario.world.organization.values() for a in spec.accounts if a not in accounts
        ]

    def join_organizational_unit(self, account: str, unit: str) -> None:
        """Move `account` into the OU `unit` of the world's organization (MoveAccount), with the target
        account's roles deployed there as the StackSet's automatic deployment would: an account that
        joins an OU environment after a promotion."""
        assert self._stacks is not None, "join_organizational_unit inside `with Emulator(...)`"
        if account not in self._stacks.targets:
            parameters = template_parameters(self.config)
            target = load_template(self.repo_root / TARGET_TEMPLATE)
            self._stacks.targets[account] = Stack(
                target, account, self.config.region, name="mlpromote-target", parameters=parameters
            )
        deploy_target_account(self.scenario, self._stacks, account)
        adapt.move_account(account, unit)
        if self.authorizer is not None:
            # The SCPs attached to the target accounts apply to it from now on.
            others = [a for a in self.scenario.target_accounts() if a in self.authorizer.scps]
            if others:
                self.authorizer.scps.setdefault(account, list(self.authorizer.scps[others[0]]))

    def _deploy(self) -> None:
        template = self._template
        resources = template["Resources"]
        default_handler = template.get("Globals", {}).get("Function", {}).get("Handler", "app.lambda_handler")
        region, account = self.config.region, self.config.ml_account
        lam = boto3.client("lambda", region_name=region)
        role_arn = arns.role(self.config.partition, account, STATE_MACHINE_ROLE)
        tables = self._create_tables(resources)
        variables = template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
        for key, value in variables.items():
            if isinstance(value, dict) and value.get("Ref") in tables:
                self._set_env({key: tables[value["Ref"]]})
        for logical_id, resource in resources.items():
            if resource["Type"] != "AWS::Serverless::Function":
                continue
            properties = resource["Properties"]
            if "Role" not in properties:
                raise ValueError(
                    f"template.yaml: {logical_id} names no Role; the emulator runs each function as its role"
                )
            self.function_roles[logical_id] = str(self.stack().resolve(properties["Role"]))
            lam.create_function(
                FunctionName=logical_id,
                Runtime=properties.get("Runtime", template["Globals"]["Function"]["Runtime"]),
                Role=role_arn,
                Handler=properties.get("Handler", default_handler),
                Code={"ZipFile": b"emulated"},
            )
        self._publish_functions(template)
        machine = resources[STATE_MACHINE_RESOURCE]["Properties"]
        definition = self._definition(machine)
        sfn = boto3.client("stepfunctions", region_name=region)
        self.state_machine_arn = sfn.create_state_machine(
            name=machine.get("Name", "mlpromote-promote-model"), definition=definition, roleArn=role_arn
        )["stateMachineArn"]
        self._create_event_rules(machine)
        self._create_function_event_rules(resources)
        # Functions that name the state machine (the API) or a topic find them where the template puts them.
        physical = {STATE_MACHINE_RESOURCE: self.state_machine_arn, **self._create_topics(resources)}
        for resource in resources.values():
            if resource["Type"] != "AWS::Serverless::Function":
                continue
            for key, value in resource["Properties"].get("Environment", {}).get("Variables", {}).items():
                if isinstance(value, dict) and value.get("Ref") in physical:
                    self._set_env({key: physical[value["Ref"]]})

    def _publish_functions(self, template: dict[str, Any]) -> None:
        """As `sam deploy` does: each function's code becomes its $LATEST; with AutoPublishAlias, a new
        published version, and the alias moved onto it. Earlier versions stay, with their code."""
        self._deploys += 1
        globals_ = template.get("Globals", {}).get("Function", {})
        default_handler = globals_.get("Handler", "app.lambda_handler")
        default_timeout = globals_.get("Timeout", LAMBDA_DEFAULT_TIMEOUT)
        lam = boto3.client("lambda", region_name=self.config.region)
        for logical_id, resource in template["Resources"].items():
            if resource["Type"] != "AWS::Serverless::Function":
                continue
            properties = resource["Properties"]
            handler = properties.get("Handler", default_handler)
            module_name, _, _function = handler.rpartition(".")
            path = self.repo_root / properties["CodeUri"] / f"{module_name}.py"
            module = _load_module(f"mlpromote_function_{logical_id}_{self._deploys}", path)
            versions = self._handlers.setdefault(logical_id, {})
            versions["$LATEST"] = module
            self.timeouts[logical_id] = float(properties.get("Timeout", default_timeout))
            alias = properties.get("AutoPublishAlias", globals_.get("AutoPublishAlias"))
            if not alias:
                continue
            # Lambda publishes no version of unchanged code; each deploy here is new code (SAM hashes it).
            lam.update_function_code(FunctionName=logical_id, ZipFile=f"emulated deploy {self._deploys}".encode())
            number = str(lam.publish_version(FunctionName=logical_id)["Version"])
            versions[number] = module
            self._aliases.setdefault(logical_id, {})[str(alias)] = number
        self._route_handler_logs()

    def _definition(self, machine: dict[str, Any]) -> str:
        definition = (self.repo_root / machine["DefinitionUri"]).read_text(encoding="utf-8")
        for key, value in machine.get("DefinitionSubstitutions", {}).items():
            definition = definition.replace("${" + key + "}", self._resolve(value))
        self._asl = json.loads(definition)
        return definition

    def redeploy(self, repo_root: Path | None = None) -> None:
        """`sam deploy` of another checkout (or this one again) over the running stack: the functions get
        its code, and the state machine its definition. Running executions keep the definition they
        started with (UpdateStateMachine: "Executions that are already running will continue to use the
        previous definition"), so they keep invoking what it names: the versions they started on when
        it names versions, $LATEST (the new code) when it names the functions unqualified."""
        self.repo_root = project_dir(repo_root) if repo_root is not None else self.repo_root
        template = self._template = load_template(self.repo_root / "template.yaml")
        self._publish_functions(template)
        definition = self._definition(template["Resources"][STATE_MACHINE_RESOURCE]["Properties"])
        boto3.client("stepfunctions", region_name=self.config.region).update_state_machine(
            stateMachineArn=self.state_machine_arn, definition=definition
        )

    def _create_function_event_rules(self, resources: dict[str, Any]) -> None:
        """The functions' EventBridgeRule events, as SAM creates them: a rule on the default bus whose
        target is the function (its AutoPublishAlias alias when it has one, as SAM points event sources
        there). The state machine's status-change events reach ReleaseAbandoned this way."""
        events = boto3.client("events", region_name=self.config.region)
        for logical_id, resource in resources.items():
            if resource["Type"] != "AWS::Serverless::Function":
                continue
            for name, source in resource["Properties"].get("Events", {}).items():
                if source["Type"] != "EventBridgeRule":
                    continue
                pattern = self._resolve_refs(source["Properties"]["Pattern"])
                rule = f"{logical_id}{name}"
                events.put_rule(Name=rule, EventPattern=json.dumps(pattern))
                arn = arns.lambda_function(
                    self.config.partition, self.config.region, self.config.ml_account, logical_id
                )
                alias = next(iter(self._aliases.get(logical_id, {})), None)
                events.put_targets(Rule=rule, Targets=[{"Id": name, "Arn": f"{arn}:{alias}" if alias else arn}])

    def _resolve_refs(self, value: Any) -> Any:
        if isinstance(value, dict) and set(value) == {"Ref"} and value["Ref"] == STATE_MACHINE_RESOURCE:
            return self.state_machine_arn
        if isinstance(value, dict):
            return {k: self._resolve_refs(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._resolve_refs(v) for v in value]
        return value

    def _create_topics(self, resources: dict[str, Any]) -> dict[str, str]:
        """The template's SNS topics. Logical id -> topic ARN."""
        sns = boto3.client("sns", region_name=self.config.region)
        for logical_id, resource in resources.items():
            if resource["Type"] == "AWS::SNS::Topic":
                name = resource["Properties"].get("TopicName", logical_id)
                self.topics[logical_id] = sns.create_topic(Name=name)["TopicArn"]
        return dict(self.topics)

    def notifications(self, topic: str = "ApprovalTopic") -> list[dict[str, str]]:
        """What the control plane published to a topic of the template: subject and message."""
        sent = adapt.sent_notifications(self.config.ml_account, self.config.region, self.topics[topic])
        return [{"subject": subject, "message": message} for subject, message in sent]

    def _create_event_rules(self, machine: dict[str, Any]) -> None:
        """The state machine's EventBridgeRule events, as SAM would create them on the default bus."""
        events = boto3.client("events", region_name=self.config.region)
        sqs = boto3.client("sqs", region_name=self.config.region)
        for name, source in machine.get("Events", {}).items():
            if source["Type"] != "EventBridgeRule":
                continue
            properties = source["Properties"]
            events.put_rule(Name=name, EventPattern=json.dumps(properties["Pattern"]))
            target: dict[str, Any] = {"Id": name, "Arn": self.state_machine_arn}
            if "InputTransformer" in properties:
                target["InputTransformer"] = properties["InputTransformer"]
            if "RetryPolicy" in properties:
                target["RetryPolicy"] = properties["RetryPolicy"]
            queue = properties.get("DeadLetterConfig", {}).get("QueueLogicalId")
            if queue:
                # SAM creates the dead-letter queue the event source names, and lets EventBridge send to it.
                url = sqs.create_queue(QueueName=queue)["QueueUrl"]
                arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
                target["DeadLetterConfig"] = {"Arn": arn}
                self.dead_letter_queues.add(url)
            events.put_targets(Rule=name, Targets=[target])

    def _create_tables(self, resources: dict[str, Any]) -> dict[str, str]:
        """The template's DynamoDB tables, created with its own key schema. Logical id -> table name."""
        dynamodb = boto3.client("dynamodb", region_name=self.config.region)
        names = {}
        for logical_id, resource in resources.items():
            if resource["Type"] != "AWS::DynamoDB::Table":
                continue
            properties = resource["Properties"]
            dynamodb.create_table(
                TableName=properties["TableName"],
                AttributeDefinitions=properties["AttributeDefinitions"],
                KeySchema=properties["KeySchema"],
                BillingMode=properties.get("BillingMode", "PAY_PER_REQUEST"),
            )
            names[logical_id] = properties["TableName"]
        return names

    def stack(self) -> Stack:
        """template.yaml as deployed here: the config's names as its parameters (as samconfig.toml passes
        them), functions named by their logical ids (as `_deploy` creates them)."""
        return Stack(
            self._template,
            self.config.ml_account,
            self.config.region,
            parameters=template_parameters(self.config),
            generated_name="{logical}",
        )

    def _resolve(self, value: Any) -> str:
        if isinstance(value, dict) and isinstance(value.get("Ref"), str) and "." in value["Ref"]:
            # SAM's referenceable properties of a function with AutoPublishAlias: Name.Version, the
            # version this deploy published (its ARN), and Name.Alias, the alias (its ARN).
            logical_id, attribute = value["Ref"].split(".", 1)
            arn = arns.lambda_function(self.config.partition, self.config.region, self.config.ml_account, logical_id)
            aliases = self._aliases.get(logical_id)
            if aliases and attribute == "Version":
                return f"{arn}:{next(iter(aliases.values()))}"
            if aliases and attribute == "Alias":
                return f"{arn}:{next(iter(aliases))}"
            raise ValueError(f"{value['Ref']}: {logical_id} has no AutoPublishAlias in template.yaml")
        resolved = self.stack().resolve(value)
        if not isinstance(resolved, str):
            raise ValueError(f"the emulator cannot resolve the substitution {value!r} in template.yaml")
        return resolved

    def _route_handler_logs(self) -> None:
        # Powertools' Logger holds the stdout it found when first imported.
        for handler in logging.getLogger("mlpromote").handlers:
            if isinstance(handler, logging.StreamHandler):
                # Not setStream: it flushes the old stream, which whoever imported mlpromote first (a CLI run
                # under pytest's capsys) may have closed since.
                with handler.lock or nullcontext():
                    handler.stream = self.logs

    # --- running the handlers ------------------------------------------------------------

    def invoke(self, function_name: str, body: bytes, qualifier: str | None = None) -> tuple[bytes, bool]:
        """Run a function's real handler as Lambda would: its JSON result, or its error payload and True.
        `qualifier`: a published version or an alias (None: $LATEST), whose code runs."""
        version = self._aliases.get(function_name, {}).get(qualifier or "", qualifier or "$LATEST")
        module = self._handlers[function_name].get(version)
        arn = arns.lambda_function(self.config.partition, self.config.region, self.config.ml_account, function_name)
        if module is None:
            # As Lambda answers an invoke of a version or alias that does not exist.
            message = f"Function not found: {arn}:{qualifier}"
            return json.dumps({"errorType": "ResourceNotFoundException", "errorMessage": message}).encode(), True
        context = _LambdaContext(
            function_name=function_name,
            invoked_function_arn=f"{arn}:{qualifier}" if qualifier else arn,
            function_version=version,
        )
        self.clock.activity()
        payload = json.loads(body)
        if isinstance(payload, dict) and "taskToken" in payload:
            self._task_tokens[str(payload["taskToken"])] = str(payload.get("execution"))
        # One handler at a time: in Lambda each runs in its own container, with its own
        # Powertools Logger keys and Metrics buffer; in one process they would mix.
        nested = getattr(self._in_handler, "depth", 0) > 0
        turn = nullcontext() if nested else self._turn(function_name, payload)
        one_at_a_time: AbstractContextManager[Any] = nullcontext() if nested else self._one_handler_at_a_time
        self._in_handler.depth = getattr(self._in_handler, "depth", 0) + 1
        try:
            return self._run(module, function_name, payload, context, turn, one_at_a_time)
        finally:
            self._in_handler.depth -= 1

    def _run(
        self,
        module: ModuleType,
        function_name: str,
        payload: Any,
        context: _LambdaContext,
        turn: AbstractContextManager[Any],
        one_at_a_time: AbstractContextManager[Any],
    ) -> tuple[bytes, bool]:
        with (
            turn,
            one_at_a_time,
            adapt.acting_as_control_plane(),
            authorization.acting_as(function_name, self.function_roles[function_name]),
        ):
            if function_name != self._last_function:
                # Each function has its own containers: credentials one function assumed are not
                # there for the next. Iterations of one function share a warm container.
                sessions.reset(credentials_only=True)
                self._last_function = function_name
            started, began = time.perf_counter(), self.clock.now()
            self.clock.handler_started()
            try:
                result = module.lambda_handler(payload, context)
            except Exception as error:
                return _function_error(error, context.aws_request_id), True
            finally:
                self.clock.handler_ended()
                self.clock.activity()
                self.invocations.append((function_name, time.perf_counter() - started))
                ran = (self.clock.now() - began).total_seconds()
            if ran > self.timeouts[function_name]:
                # Lambda stopped the handler at its timeout: whatever it did until then is done, and its
                # answer is lost (on AWS the rest of the work would not have happened either).
                return _timed_out(context.aws_request_id, self.timeouts[function_name]), True
        return json.dumps(result).encode(), False

    def _turn(self, function_name: str, payload: Any) -> AbstractContextManager[None]:
        if self.scheduler is None:
            return nullcontext()
        execution = payload.get("execution") if isinstance(payload, dict) else None
        return self.scheduler.turn(function_name, str(execution or ""))

    # --- promotions ----------------------------------------------------------------------

    def inject(self, faults: list[FaultSpec]) -> None:
        adapt.hooks.faults.extend(
            adapt.Fault(service=f.service, operation=f.operation, error=f.error, account=f.account, count=f.count)
            for f in faults
        )

    def request_for(self, spec: PromotionSpec) -> dict[str, Any]:
        request: dict[str, Any] = {"environment": spec.environment}
        if spec.rollback:
            request["rollback"] = True
            if spec.project:
                request["project"] = spec.project
        else:
            request["modelVersionArn"] = spec.model_version_arn or self.names.arn(str(spec.version), self.config)
        if spec.force:
            request["force"] = True
        if spec.reason:
            request["reason"] = spec.reason
        return request

    def start(self, request: Any, name: str | None = None) -> str:
        self._executions += 1
        sfn = boto3.client("stepfunctions", region_name=self.config.region)
        return str(
            sfn.start_execution(
                stateMachineArn=self.state_machine_arn,
                name=name or f"promotion-{self._executions}",
                input=json.dumps(request),
            )["executionArn"]
        )

    def wait_at_the_gate(self, execution_arn: str) -> None:
        """Until the execution waits at the approval gate (its approval is awaiting a decision)."""
        from mlpromote import approvals

        deadline = time.monotonic() + EXECUTION_DEADLINE_SECONDS
        while (approval := approvals.read(execution_arn)) is None or approval.status != approvals.AWAITING:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{execution_arn} never reached the approval gate")
            time.sleep(0.01)

    def wait(self, execution_arn: str, on_step: Callable[[StepReport], None] | None = None) -> dict[str, Any]:
        """Until the execution ends; `on_step` hears of each top-level step as it finishes."""
        sfn = boto3.client("stepfunctions", region_name=self.config.region)
        deadline = time.monotonic() + EXECUTION_DEADLINE_SECONDS
        told = 0
        while True:
            description = sfn.describe_execution(executionArn=execution_arn)
            running = description["status"] == "RUNNING"
            if on_step is not None:
                steps = steps_from_history(self.history(execution_arn), self._steps())
                # While running, the last step may still be going on: tell it once it has ended.
                done = steps[:-1] if running else steps
                for step in done[told:]:
                    on_step(step)
                told = max(told, len(done))
            if not running:
                # The ending's status-change event reaches its rules' targets (ReleaseAbandoned) first.
                adapt.delivered(execution_arn, max(0.0, deadline - time.monotonic()))
                return dict(description)
            self._hand_over_decision(execution_arn)
            if time.monotonic() > deadline:
                sfn.stop_execution(executionArn=execution_arn, error="EmulatorDeadline", cause="ran too long")
                return dict(sfn.describe_execution(executionArn=execution_arn))
            # Until it ends, or a while: each look is an API call that competes with the execution's own
            # threads for the interpreter, so look often only when a decision is waiting to be handed over.
            handing_over = execution_arn in self.decisions and execution_arn not in self._decided
            adapt.ended(execution_arn, 0.005 if handing_over else WAIT_POLL_SECONDS)

    # --- the approval gate -----------------------------------------------------------------

    def _wait_for_callback(self, answered: threading.Event, timeout: float | None, token: str) -> None:
        if self.approvals_by_hand:
            # Someone will decide: wait for that, not for the (simulated) timeout.
            answered.wait(EXECUTION_DEADLINE_SECONDS)
            return
        execution = self._task_tokens.get(token)
        if execution is not None and len(self._decided.get(execution, ())) < len(self.decisions.get(execution, [])):
            deadline = time.monotonic() + EXECUTION_DEADLINE_SECONDS
            # The scenario's decision is on its way, unless the approval route refused it for good:
            # then nobody decides, and the approval times out on the simulated clock, never stalling.
            while not answered.wait(0.01):
                if execution in self._undeliverable or time.monotonic() > deadline:
                    break
            else:
                return
        self.clock.wait_for(answered, timeout)

    def _hand_over_decision(self, execution_arn: str) -> None:
        """Once the execution waits for approval, decide as the scenario says, through the API, and
        send it again on a 5xx or 429 as a client of a real API would (a few times, then give up)."""
        decided = self._decided.setdefault(execution_arn, set())
        if len(decided) >= len(self.decisions.get(execution_arn, [])):
            return
        from mlpromote import approvals

        approval = approvals.read(execution_arn)
        if approval is None or approval.status != approvals.AWAITING or approval.requested_at in decided:
            return
        # One decision per gate, in the order the gates come (the environment's, then the waves').
        decision, comment, approver = self.decisions[execution_arn][len(decided)]
        answer = self.decide(execution_arn, decision, comment, approver)
        gate = (execution_arn, approval.requested_at)
        attempts = self._decision_attempts[gate] = self._decision_attempts.get(gate, 0) + 1
        retryable = answer.status >= 500 or answer.status == 429
        if not retryable or attempts >= DECISION_ATTEMPTS:
            decided.add(approval.requested_at)
        if answer.status >= 300:
            self.decision_failures.setdefault(execution_arn, []).append(f"{answer.status} {answer.body}")
            if approval.requested_at in decided:
                self._undeliverable.add(execution_arn)

    @property
    def event_deliveries(self) -> list[tuple[str, str]]:
        """(function, event) of every EventBridge delivery to a function, e.g. status changes to ReleaseAbandoned."""
        return list(adapt.hooks.delivered_events)

    def approval_status(self, execution_arn: str) -> str | None:
        from mlpromote import approvals

        approval = approvals.read(execution_arn)
        return approval.status if approval else None

    def decide(self, execution_arn: str, decision: str, comment: str | None = None, approver: str | None = None) -> Any:
        """POST /promotions/{id}/approval through the API handler, as the scenario's approver."""
        from mlpromote_emulator.apigateway import LocalGateway, local_caller

        caller = approver or local_caller(self.config.partition, self.config.ml_account, APPROVER)
        gateway = LocalGateway(self._template, self.invoke, caller)
        body = {"decision": decision, **({"comment": comment} if comment else {})}
        name = execution_arn.rsplit(":", 1)[-1]
        return gateway.call(
            "POST", f"/promotions/{name}/approval", json.dumps(body), {"Content-Type": "application/json"}
        )

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        sfn = boto3.client("stepfunctions", region_name=self.config.region)
        events: list[dict[str, Any]] = []
        for page in sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn):
            events.extend(page["events"])
        return events

    def start_via(self, spec: PromotionSpec) -> str:
        """Start the promotion the way `spec.via` says: StartExecution (console), the REST API's
        handler (api; ApiRefused unless it answers 202) or a request event (event). Its execution."""
        request = self.request_for(spec)
        if spec.via == "api":
            caller = spec.requester or local_caller(self.config.partition, self.config.ml_account, REQUESTER)
            gateway = LocalGateway(self._template, self.invoke, caller)
            return entry_points.through_api(gateway, request, spec.idempotency_key)
        if spec.via == "event":
            return entry_points.through_event(
                self.config.region, self.state_machine_arn, request, tuple(sorted(self.dead_letter_queues))
            )
        if spec.requester:  # StartExecution carries who asked only in the request itself
            request["requestedBy"] = spec.requester
        return self.start(request)

    def plan(self, spec: PromotionSpec) -> dict[str, Any]:
        """The dry run of `spec` through the API (POST ...?dryRun=true), as its requester; it changes
        nothing. A request the API cannot even parse is a plan with that refusal."""
        caller = spec.requester or local_caller(self.config.partition, self.config.ml_account, REQUESTER)
        gateway = LocalGateway(self._template, self.invoke, caller)
        try:
            return entry_points.dry_run_through_api(gateway, self.request_for(spec))
        except entry_points.ApiRefused as refused:
            return {
                "environment": spec.environment,
                "version": spec.title,
                "kind": "rollback" if spec.rollback else "promotion",
                "accounts": [],
                "grant": [],
                "revoke": [],
                "start": [],
                "stop": [],
                "costPerHourUsd": {"before": None, "after": None},
                "waves": [],
                "refusal": refused.error,
                "refusalMessage": refused.message,
            }

    def _started(self, spec: PromotionSpec) -> str | PromotionResult:
        """The execution, or for a request the API refused, the failed result that says why."""
        try:
            execution = self.start_via(spec)
        except (entry_points.ApiRefused, entry_points.EventNotDelivered) as refused:
            label = self._version_label(spec, {})
            return PromotionResult(
                spec.environment,
                label,
                "FAILED",
                refused.error,
                refused.message,
                [],
                "",
                via=spec.via,
                waves=self._waves_not_started(spec.environment),
            )
        if spec.approve is not None:
            decisions = spec.approve if isinstance(spec.approve, list) else [spec.approve]
            self.decisions[execution] = [
                ("approve" if approve else "reject", spec.approval_comment, spec.approver) for approve in decisions
            ]
        return execution

    def _ended(self, spec: PromotionSpec, execution_arn: str, description: dict[str, Any]) -> PromotionResult:
        label = self._version_label(spec, description)
        result = self.result(execution_arn, description, spec.environment, label)
        result.via = spec.via
        result.approval = self.approval_status(execution_arn)
        result.waves = self._waves(execution_arn, spec.environment)
        return result

    def _waves(self, execution_arn: str, environment: str) -> list[dict[str, Any]]:
        """The waves as the promotion's history record says they ended; a promotion refused before it
        took the environment (no record) started none of them."""
        from mlpromote.aws import dynamodb

        if environment in self.config.environments:
            for record in dynamodb.records(environment):
                if record.promotion_id == execution_arn and record.waves is not None:
                    return [wave.model_dump(exclude_none=True) for wave in record.waves]
        return self._waves_not_started(environment)

    def _waves_not_started(self, environment: str) -> list[dict[str, Any]]:
        from mlpromote import waves

        if environment not in self.config.environments:
            return []  # refused as an unknown environment: it has no waves
        env = self.config.environments[environment]
        # An OU environment's accounts as the plan would resolve them now (accounts may have joined).
        planned = waves.plan_waves(environment_accounts(self.scenario, environment), env.rollout, env.bake_minutes)
        return waves.report([wave.accounts for wave in planned], [waves.NOT_STARTED] * len(planned))

    def promote(self, spec: PromotionSpec, on_step: Callable[[StepReport], None] | None = None) -> PromotionResult:
        started = self._started(spec)
        if isinstance(started, PromotionResult):
            return started
        return self._ended(spec, started, self.wait(started, on_step))

    def promote_together(self, specs: list[PromotionSpec]) -> list[PromotionResult]:
        """Start every promotion, then wait for all: they run side by side, as concurrent requests would."""
        started = [self._started(spec) for spec in specs]
        ended = {execution: self.wait(execution) for execution in started if isinstance(execution, str)}
        return [
            execution if isinstance(execution, PromotionResult) else self._ended(spec, execution, ended[execution])
            for execution, spec in zip(started, specs, strict=True)
        ]

    def _version_label(self, spec: PromotionSpec, description: dict[str, Any]) -> str:
        if not spec.rollback:
            return self.names.label(spec.model_version_arn or self.names.arn(str(spec.version), self.config)) or ""
        output = json.loads(description.get("output") or "{}")
        return str(self.names.label(output.get("version")) or "rollback")

    def history_records(self) -> dict[str, list[dict[str, Any]]]:
        """The promotions table's history, per environment, oldest first, versions by scenario name."""
        from mlpromote.aws import dynamodb

        return {
            environment: [
                _labelled(record.model_dump(mode="json", by_alias=True), self.names)
                for record in dynamodb.records(environment)
            ]
            for environment in self.config.environments
        }

    def result(
        self, execution_arn: str, description: dict[str, Any], environment: str, version: str
    ) -> PromotionResult:
        events = self.history(execution_arn)
        output = json.loads(description["output"]) if description.get("output") else None
        return PromotionResult(
            environment=environment,
            version=version,
            status=description["status"],
            error=description.get("error"),
            cause=readable_cause(description.get("cause")),
            steps=steps_from_history(events, self._steps()),
            execution_arn=execution_arn,
            output=_labelled(output, self.names),
            compensation=_labelled(_task_output(events, "Compensate"), self.names),
            state_transitions=billed_transitions(events),
        )

    def _steps(self) -> set[str]:
        return step_names(self._asl)

    def world(self) -> dict[str, Any]:
        """The world once the simulated clock has run every start and stop already under way to its
        end: a version the last promotion stopped reads STOPPED, not STOPPING (the report's contract)."""
        self.settle()
        return observe(self.scenario, self.names)

    def settle(self) -> None:
        """Let the simulated time pass until no model start or stop is under way."""
        accounts = {self.config.ml_account, *(a for env in self.config.environments.values() for a in env.accounts)}
        ends = [e for account in sorted(accounts) if (e := adapt.transitions_end(account, self.config.region))]
        end = max(ends, default=None)
        if end is not None:
            self.clock.advance((end - self.clock.now()).total_seconds())

    def metrics(self) -> dict[str, float]:
        """The CloudWatch metrics the handlers published (EMF lines in their output), summed by name."""
        totals: dict[str, float] = {}
        for line in self.logs.getvalue().splitlines():
            if not line.startswith('{"_aws"'):
                continue
            document = json.loads(line)
            for directive in document["_aws"]["CloudWatchMetrics"]:
                for metric in directive["Metrics"]:
                    values = document[metric["Name"]]
                    totals[metric["Name"]] = totals.get(metric["Name"], 0) + sum(
                        values if isinstance(values, list) else [values]
                    )
        return totals


def _function_error(error: BaseException, request_id: str) -> bytes:
    """An unhandled exception as the Python runtime reports it (awslambdaric's build_fault_result: the
    Lambda developer guide, "AWS Lambda function errors in Python"): Step Functions makes errorType the
    task's error and this whole document its Cause, so a Cause is about 1 KB on AWS, not a line."""
    frames = traceback.extract_tb(error.__traceback__)[1:]  # the first frame is this emulator's call
    return json.dumps(
        {
            "errorMessage": str(error),
            "errorType": type(error).__name__,
            "requestId": request_id,
            "stackTrace": traceback.format_list(frames),
        }
    ).encode()


def _timed_out(request_id: str, timeout: float) -> bytes:
    """What Lambda answers for an invocation that ran past its timeout; Step Functions reports its
    errorType, Sandbox.Timedout, as the task's error (Lambda developer guide, "Troubleshoot invocation
    issues", Sandbox.Timedout)."""
    return json.dumps(
        {
            "errorType": "Sandbox.Timedout",
            "errorMessage": f"RequestId: {request_id} Error: Task timed out after {timeout:.2f} seconds",
        }
    ).encode()


def template_parameters(config: Config) -> dict[str, str]:
    """The parameters a deployment passes the stacks for this config (samconfig.toml's parameter_overrides,
    the README's StackSet command): the names the config shares with the templates."""
    return {
        "ParameterPathPrefix": config.parameter_path_prefix.lstrip("/"),
        "AccessRolePrefix": config.access_role_prefix,
        "MlAccountId": config.ml_account,
    }


def _load_module(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise FileNotFoundError(f"no handler module at {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _task_output(events: list[dict[str, Any]], state: str) -> Any:
    entered = False
    for event in events:
        if event["type"] == "TaskStateEntered":
            entered = event["stateEnteredEventDetails"]["name"] == state
        elif event["type"] == "TaskStateExited" and entered:
            return json.loads(event["stateExitedEventDetails"]["output"]).get("compensation")
    return None


def billed_transitions(events: list[dict[str, Any]]) -> int:
    """State transitions as Step Functions bills them: every state entered, Map iterations'
    states included, plus every retry of a task (each retry is a transition too)."""
    entered = sum(1 for e in events if e["type"].endswith("StateEntered"))
    tasks = sum(1 for e in events if e["type"] == "TaskStateEntered")
    attempts = sum(1 for e in events if e["type"] in ("LambdaFunctionScheduled", "TaskScheduled"))
    return entered + max(0, attempts - tasks)


def largest_state_bytes(events: list[dict[str, Any]]) -> int:
    """The largest state input, output, task input or result of an execution, in UTF-8 bytes: what
    Step Functions holds to its 256 KB quota."""
    largest = 0
    for event in events:
        for key, details in event.items():
            if key.endswith("EventDetails") and isinstance(details, dict):
                for field_name in ("input", "output"):
                    if isinstance(details.get(field_name), str):
                        largest = max(largest, len(details[field_name].encode("utf-8")))
    return largest


def _labelled(value: Any, names: WorldMap) -> Any:
    """Replace version ARNs by their scenario names, so reports read like the scenario."""
    if isinstance(value, str):
        return names.label_of.get(value, value)
    if isinstance(value, list):
        return [_labelled(v, names) for v in value]
    if isinstance(value, dict):
        return {k: _labelled(v, names) for k, v in value.items()}
    return value
