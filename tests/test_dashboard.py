"""The dashboard and the alarms in template.yaml plot what the handlers really publish.

The handlers run on the emulator (a promotion that succeeds, one that fails and is compensated, a
drift run), and the metrics they print as CloudWatch embedded metric format are the truth: every
metric the dashboard or an alarm names (namespace, name, dimensions) must be among them, and every
operational metric they publish must be on the dashboard. The README's picture (docs/dashboard.svg)
must be the layout of this dashboard.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from mlpromote import drift, promotion_metrics
from mlpromote_emulator.runtime import load_template

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tools"))
import render_dashboard  # noqa: E402

QA = "222222222222"
# A metric: (namespace, name, dimensions as sorted (key, value) pairs; "*" where SEARCH takes every value).
Metric = tuple[str, str, tuple[tuple[str, str], ...]]


def _template() -> dict[str, Any]:
    return dict(load_template(REPO / "template.yaml"))


def dashboard_metrics() -> set[Metric]:
    found: set[Metric] = set()
    for widget in render_dashboard.dashboard()["widgets"]:
        for metric in widget["properties"].get("metrics", []):
            if isinstance(metric[0], dict):
                search = re.fullmatch(
                    r"SEARCH\('\{(?P<schema>[^}]+)\} MetricName=\"(?P<name>\w+)\"', '\w+', \d+\)",
                    metric[0]["expression"],
                )
                assert search, metric[0]["expression"]
                namespace, *keys = search["schema"].split(",")
                # SEARCH's schema: every value of each key; the service is always mlpromote.
                found.add(
                    (
                        namespace,
                        search["name"],
                        tuple(sorted((k, "mlpromote" if k == "service" else "*") for k in keys)),
                    )
                )
            else:
                parts = [p for p in metric if not isinstance(p, dict)]
                found.add((parts[0], parts[1], tuple(sorted(zip(parts[2::2], parts[3::2], strict=True)))))
    return found


def alarm_metrics() -> set[Metric]:
    found: set[Metric] = set()
    for resource in _template()["Resources"].values():
        if resource["Type"] != "AWS::CloudWatch::Alarm":
            continue
        properties = resource["Properties"]
        metrics = (
            [properties]
            if "MetricName" in properties
            else [m["MetricStat"]["Metric"] for m in properties["Metrics"] if "MetricStat" in m]
        )
        for metric in metrics:
            dimensions = tuple(sorted((d["Name"], d["Value"]) for d in metric.get("Dimensions", [])))
            found.add((metric["Namespace"], metric["MetricName"], dimensions))
    return found


@pytest.fixture(scope="module")
def published(tmp_path_factory: Any) -> set[Metric]:
    """What the handlers print: a promotion to prod, one to qa that fails and is compensated, a drift run."""
    sys.path.insert(0, str(REPO / "tests"))
    from conftest import Worlds

    worlds = Worlds()
    fault = {"service": "ssm", "operation": "PutParameter", "account": QA, "error": "AccessDenied", "count": 1}
    scenario = worlds.scenario(
        {"environment": "prod", "version": "tools/v2"}, {"environment": "qa", "version": "tools/v3"}, faults=[fault]
    )
    from mlpromote_emulator.runtime import Emulator

    with Emulator(scenario) as emu:
        emu.inject(scenario.faults)
        statuses = [emu.promote(spec).status for spec in scenario.promotions]
        _, failed = emu.invoke("DetectDriftFunction", b"{}")
        lines = emu.logs.getvalue().splitlines()
    assert statuses == ["SUCCEEDED", "FAILED"] and not failed
    found: set[Metric] = set()
    for line in lines:
        if line.startswith('{"_aws"'):
            document = json.loads(line)
            for directive in document["_aws"]["CloudWatchMetrics"]:
                for metric in directive["Metrics"]:
                    for keys in directive["Dimensions"]:
                        dimensions = tuple(sorted((k, str(document[k])) for k in keys))
                        found.add((directive["Namespace"], metric["Name"], dimensions))
    return found


def _matches(wanted: Metric, got: Metric) -> bool:
    return (
        wanted[:2] == got[:2]
        and [k for k, _ in wanted[2]] == [k for k, _ in got[2]]
        and all(w == "*" or w == g for (_, w), (_, g) in zip(wanted[2], got[2], strict=True))
    )


def test_every_metric_the_dashboard_and_the_alarms_read_is_published(published: set[Metric]) -> None:
    unpublished = {m for m in dashboard_metrics() | alarm_metrics() if not any(_matches(m, p) for p in published)}
    assert unpublished == set()


def test_every_operational_metric_published_is_on_the_dashboard(published: set[Metric]) -> None:
    operational = {
        value for name, value in vars(promotion_metrics).items() if name.isupper() and isinstance(value, str)
    } | {drift.METRIC}
    on_dashboard = {name for _, name, _ in dashboard_metrics()}
    published_names = {name for _, name, _ in published}
    assert operational <= published_names  # the constants are what the handlers really print
    assert on_dashboard == operational
    # Per environment for the dashboard, for the whole control plane for the alarms.
    per_environment = {name for _, name, dims in published if dict(dims).get("environment") == "qa"}
    assert per_environment == {
        promotion_metrics.STARTED,
        promotion_metrics.FAILED,
        promotion_metrics.DURATION,
        promotion_metrics.COMPENSATIONS,
    }
    assert {k for _, name, dims in published if name == drift.METRIC for k, v in dims if k == "kind"} == {"kind"}
    assert {dict(d)["kind"] for _, name, d in published if name == drift.METRIC} == set(drift.KINDS)


def test_the_alarms_are_on_the_dashboard() -> None:
    alarms = {name for name, r in _template()["Resources"].items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    widget = next(w for w in render_dashboard.dashboard()["widgets"] if w["type"] == "alarm")
    assert {arn.strip("<>").removesuffix(".Arn") for arn in widget["properties"]["alarms"]} == alarms


def test_the_readme_picture_is_this_dashboards_layout() -> None:
    rendered = render_dashboard.render(render_dashboard.dashboard())
    assert (REPO / "docs" / "dashboard.svg").read_text(encoding="utf-8") == rendered, (
        "docs/dashboard.svg is stale: .venv/bin/python tools/render_dashboard.py"
    )
