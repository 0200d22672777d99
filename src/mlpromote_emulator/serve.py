"""`mlpromote local serve`: the deployed stack's REST API (api/openapi.yaml) on 127.0.0.1, backed by
the emulator, so every route can be tried with curl.

Each HTTP request becomes the API Gateway proxy event the deployed API would send and goes through
the real Api handler (`apigateway.LocalGateway`); executions it starts run on moto's interpreter in
the background while the server runs. Requests are made as `arn:aws:iam::<mlAccount>:user/local-serve`
(nothing is signed or checked locally). The scenario's `promotions:` are not run; its faults are
injected, so failures can be rehearsed over HTTP too.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any
from urllib.parse import parse_qs, urlsplit

import boto3

from mlpromote.errors import InvalidConfig
from mlpromote_emulator.apigateway import LocalGateway, local_caller
from mlpromote_emulator.runtime import Emulator, load_template
from mlpromote_emulator.scenario import InvalidScenario, Scenario, load_scenario

HOST = "127.0.0.1"
DEFAULT_PORT = 3000
EXIT_OK, EXIT_BAD_INPUT = 0, 2


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def _proxy(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        answer = self.server.gateway.call(
            self.command,
            url.path,
            body,
            headers={name: value for name, value in self.headers.items()},
            query=parse_qs(url.query, keep_blank_values=True),
            source_ip=self.client_address[0],
        )
        data = answer.body.encode("utf-8")
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            if name.lower() not in ("content-length", "connection"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _proxy

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.log is not None:
            print(format % args, file=self.server.log, flush=True)


class _Server(ThreadingHTTPServer):
    gateway: LocalGateway
    log: IO[str] | None


class LocalApi:
    """The REST API on http://127.0.0.1:<port> (0 picks a free port), in front of an open Emulator."""

    def __init__(self, emulator: Emulator, port: int = DEFAULT_PORT, log: IO[str] | None = None) -> None:
        self.emulator = emulator
        self.caller = local_caller(emulator.config.partition, emulator.config.ml_account, "local-serve")
        self._server = _Server((HOST, port), _Handler)
        self._server.gateway = LocalGateway(
            load_template(emulator.repo_root / "template.yaml"), emulator.invoke, self.caller
        )
        self._server.log = log

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self._server.server_address[1]}"

    def serve_forever(self) -> None:
        self._server.serve_forever(poll_interval=0.1)

    def shutdown(self) -> None:
        """Stop serve_forever (from another thread) and close the socket."""
        self._server.shutdown()
        self._server.server_close()

    def close(self) -> None:
        self._server.server_close()

    def __enter__(self) -> LocalApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def example_request(scenario: Scenario, emulator: Emulator) -> dict[str, str]:
    """A promotion worth trying: the last-listed version the first environment does not serve yet."""
    for environment in scenario.config.environments:
        live = set(scenario.world.live.get(environment, []))
        for label in reversed(scenario.world.versions):
            if label not in live:
                return {"environment": environment, "modelVersionArn": emulator.names.arn(label, scenario.config)}
    environment, label = next(iter(scenario.config.environments)), next(iter(scenario.world.versions))
    return {"environment": environment, "modelVersionArn": emulator.names.arn(label, scenario.config)}


def serve(
    path: Path,
    port: int = DEFAULT_PORT,
    out: IO[str] | None = None,
    err: IO[str] | None = None,
    ready: Callable[[LocalApi], None] | None = None,
    project_dir: Path | None = None,
) -> int:
    """Serve until Ctrl-C (or `api.shutdown()`; `ready` hears of the api once it listens).
    Exit 2 when the scenario is invalid or the port cannot be had."""
    out, err = out or sys.stdout, err or sys.stderr
    try:
        scenario = load_scenario(path)
    except (InvalidConfig, InvalidScenario) as error:
        print(f"{type(error).__name__}: {error}", file=err)
        return EXIT_BAD_INPUT
    with Emulator(scenario, project_dir) as emulator:
        try:
            api = LocalApi(emulator, port, log=err)
        except OSError as error:
            print(f"cannot listen on {HOST}:{port}: {error.strerror}; pick another with --port", file=err)
            return EXIT_BAD_INPUT
        emulator.inject(scenario.faults)
        # Promotions at an approval gate wait for a POST .../approval from the user, however long it takes.
        emulator.approvals_by_hand = True
        body = json.dumps(example_request(scenario, emulator))
        print(
            f"mlpromote API on {api.url} (emulator of {path}; its promotions: are not run), Ctrl-C stops. "
            f"Try: curl -s -X POST {api.url}/promotions -H 'Content-Type: application/json' -d '{body}'",
            file=out,
            flush=True,
        )
        with api:
            if ready is not None:
                ready(api)
            try:
                api.serve_forever()
            except KeyboardInterrupt:
                print("stopping", file=err)
            finally:
                stop_running(emulator)
    return EXIT_OK


def stop_running(emulator: Emulator) -> None:
    """Stop the executions still running, so none outlives the emulator."""
    sfn = boto3.client("stepfunctions", region_name=emulator.config.region)
    for page in sfn.get_paginator("list_executions").paginate(
        stateMachineArn=emulator.state_machine_arn, statusFilter="RUNNING"
    ):
        for execution in page["executions"]:
            sfn.stop_execution(executionArn=execution["executionArn"], error="LocalServeStopped", cause="Ctrl-C")


def serve_in_background(api: LocalApi) -> threading.Thread:
    """Run `api` in a daemon thread (tests, embedding); stop it with `api.shutdown()`."""
    thread = threading.Thread(target=api.serve_forever, name="mlpromote-local-serve", daemon=True)
    thread.start()
    return thread
