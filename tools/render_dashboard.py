"""Render the layout of template.yaml's CloudWatch dashboard (OperationsDashboard) as an SVG.

A layout, not a screenshot: each widget at its grid position and size (CloudWatch's grid is 24 columns
wide), with its title and what it plots; no data. The README shows docs/dashboard.svg;
tests/test_dashboard.py fails when it no longer matches the template.

    .venv/bin/python tools/render_dashboard.py [--output docs/dashboard.svg]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from html import escape
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "src"), str(REPO / "layers")]

from mlpromote_emulator.runtime import load_template  # noqa: E402

COLUMN, ROW, MARGIN, CAPTION = 40, 34, 10, 40


def dashboard(template_path: Path = REPO / "template.yaml") -> dict[str, Any]:
    """The dashboard body, its ${...} substitutions left as readable placeholders."""
    body = load_template(template_path)["Resources"]["OperationsDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    return dict(json.loads(re.sub(r"\$\{([^}]+)\}", r"<\1>", body)))


def describe(widget: dict[str, Any]) -> list[str]:
    """One line per thing the widget shows."""
    properties = widget["properties"]
    if widget["type"] == "text":
        return [line.lstrip("# ") for line in properties["markdown"].splitlines()[1:]]
    if widget["type"] == "alarm":
        return [f"alarm {arn.split('.')[0].strip('<')}" for arn in properties["alarms"]]
    lines = []
    for metric in properties["metrics"]:
        if isinstance(metric[0], dict):
            found = re.search(r'MetricName=\\?"(\w+)\\?"', metric[0]["expression"])
            lines.append(f"{found[1] if found else '?'}, one line per environment")
        else:
            dimensions = [str(part) for part in metric[2:] if not isinstance(part, dict)]
            labels = [value for key, value in zip(dimensions[::2], dimensions[1::2], strict=True) if key != "service"]
            lines.append(metric[1] + (f" ({', '.join(labels)})" if labels else ""))
    view = properties.get("view", "timeSeries")
    lines.append(f"{properties.get('stat', '')} per {properties.get('period', 300) // 60} min, {view}")
    return lines


def render(body: dict[str, Any]) -> str:
    widgets = body["widgets"]
    width = 24 * COLUMN + 2 * MARGIN
    height = max(w["y"] + w["height"] for w in widgets) * ROW + 2 * MARGIN + CAPTION
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif">',
        f'<rect width="{width}" height="{height}" fill="#f2f3f3"/>',
        f'<text x="{MARGIN}" y="{MARGIN + 16}" font-size="14" fill="#545b64">Layout of the OperationsDashboard '
        "widgets, rendered from template.yaml: positions, titles and metrics; no data</text>",
    ]
    for widget in widgets:
        x = MARGIN + widget["x"] * COLUMN
        y = MARGIN + CAPTION + widget["y"] * ROW
        w, h = widget["width"] * COLUMN - 6, widget["height"] * ROW - 6
        title = widget["properties"].get("title") or widget["properties"].get("markdown", "").splitlines()[0]
        parts.append(f'<rect x="{x}" y="{y}" width="{w}" height="{h}" fill="#ffffff" stroke="#d5dbdb"/>')
        parts.append(
            f'<text x="{x + 10}" y="{y + 22}" font-size="14" font-weight="bold" fill="#16191f">'
            f"{escape(title.lstrip('# '))}</text>"
        )
        for index, line in enumerate(describe(widget)):
            parts.append(
                f'<text x="{x + 10}" y="{y + 44 + index * 16}" font-size="11" fill="#545b64">{escape(line)}</text>'
            )
        if widget["type"] == "metric" and widget["properties"].get("view") == "timeSeries":
            # The empty axes of a time series: where CloudWatch draws the lines.
            bottom = y + h - 12
            parts.append(
                f'<polyline points="{x + 10},{y + h * 0.55:.0f} {x + 10},{bottom} {x + w - 10},{bottom}" '
                'fill="none" stroke="#aab7b8"/>'
            )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=REPO / "docs" / "dashboard.svg")
    arguments = parser.parse_args(argv)
    arguments.output.write_text(render(dashboard()), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
