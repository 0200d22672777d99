"""The clock every step reads: timezone-aware UTC, written as ISO 8601 in the state and the history."""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    return datetime.now(UTC)


def stamp() -> str:
    return now().isoformat()


def seconds_since(timestamp: str) -> float:
    return (now() - datetime.fromisoformat(timestamp)).total_seconds()
