"""The promotions table: one lock per environment, and the history of every promotion.

One DynamoDB table, three kinds of item:

- `pk = LOCK#<environment>`: which execution holds the environment. Taken and released in the
  same transaction as the history record it belongs to, so a record and its lock never disagree.
- `pk = ENV#<environment>, sk = <started at>#<execution name>`: a promotion, from its start
  (status RUNNING) to its end (SUCCEEDED, FAILED, ABORTED, TIMED_OUT).
- `pk = LEASE#<version arn>`: the running promotions that may serve or stop that version
  (`holders`, a string set of executions), and, for the moment it takes to decide and stop it,
  which promotion is stopping it (`stoppingBy`). Written with the lock, released with the outcome:
  a promotion stops a version only while no other promotion holds it (mlpromote.leases).

"What was live in prod at time T" is the last SUCCEEDED promotion of prod that ended before T.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from mlpromote.errors import HistoryRecordUnreadable
from mlpromote.models import CamelModel

TABLE_ENV = "MLPROMOTE_TABLE"
DEFAULT_TABLE = "mlpromote-promotions"


def lock_key(environment: str) -> dict[str, str]:
    return {"pk": f"LOCK#{environment}", "sk": "LOCK"}


def lease_key(version_arn: str) -> dict[str, str]:
    return {"pk": f"LEASE#{version_arn}", "sk": "LEASE"}


def record_key(environment: str, started_at: str, execution: str) -> dict[str, str]:
    return {"pk": f"ENV#{environment}", "sk": f"{started_at}#{execution.rsplit(':', 1)[-1]}"}


class AccountChange(BaseModel):
    model_config = ConfigDict(populate_by_name=True, defer_build=True)
    account: str
    # None: the account had no parameter before. Records written before `from: null` was kept
    # (it was dropped with every other None) lack the key; they meant the same, so it defaults.
    from_version: str | None = Field(default=None, alias="from")
    to_version: str = Field(alias="to")


class WaveRecord(BaseModel):
    """One wave of the promotion's rollout: its accounts, and how it ended (mlpromote.waves' statuses)."""

    model_config = ConfigDict(defer_build=True)
    accounts: list[str]
    status: str
    # A wave with approve: true: the decision at its gate (decision, approver, comment, decidedAt).
    approval: dict[str, Any] | None = None


class PromotionRecord(CamelModel):
    """One promotion, as the history keeps it."""

    model_config = ConfigDict(extra="ignore")

    promotion_id: str  # the execution ARN
    environment: str
    project: str
    version: str
    kind: str = "promotion"  # or "rollback"
    accounts: list[AccountChange] = []
    # The rollout's waves, in order (one wave without a rollout); records written before waves
    # existed have none.
    waves: list[WaveRecord] | None = None
    requested_by: str = "console"
    entry_point: str = "console"
    reason: str | None = None
    forced: bool = False
    approval: str | None = None  # approved, rejected, timed-out; None where no approval was needed
    approver: str | None = None
    approval_comment: str | None = None
    # Decisions the four-eyes rules refused before the one that counted: [{by, error, at}].
    approval_refusals: list[dict[str, str]] | None = None
    started_at: str
    ended_at: str | None = None
    status: str = "RUNNING"
    error: str | None = None
    cause: str | None = None
    # An execution that ended outside its own states (aborted, timed out): what ReleaseAbandoned's
    # compensation did (restored, revoked, stopped, leftRunningWhy), or its error.
    compensation: dict[str, Any] | None = None

    @model_validator(mode="before")
    @classmethod
    def _accounts_from_groups(cls, data: Any) -> Any:
        """An item keeps its accounts grouped by what they pointed at before (`accountsFrom`); read,
        each account is `{account, from, to}` again. Items written before hold `accounts` as it is."""
        if not isinstance(data, dict) or "accountsFrom" not in data:
            return _waves_from_sizes(data)
        groups = data["accountsFrom"]
        if not isinstance(groups, list) or not all(isinstance(g, dict) for g in groups):
            return data  # validation says what is wrong with it
        accounts = sorted(
            (
                {"account": account, "from": group.get("version"), "to": data.get("version")}
                for group in groups
                for account in group.get("accounts") or []
            ),
            key=lambda change: str(change["account"]),
        )
        return _waves_from_sizes({**{k: v for k, v in data.items() if k != "accountsFrom"}, "accounts": accounts})

    def item(self) -> dict[str, Any]:
        """The DynamoDB item. Top-level None attributes are left out by the writer; nested ones
        (a group's `version` when its accounts had no parameter) stay, as NULL, so the record reads back.

        The accounts are kept grouped by what they pointed at before, each ARN once: DynamoDB's items
        hold 400 KB, and a thousand accounts with two ARNs each would pass it."""
        document = self.model_dump(mode="json", by_alias=True, exclude={"accounts"})
        groups: dict[str | None, list[str]] = {}
        for change in self.accounts:
            groups.setdefault(change.from_version, []).append(change.account)
        if self.waves is not None:
            # A wave is a run of the accounts sorted by id (mlpromote.waves): its size says which.
            document["waves"] = [
                {"size": len(w.accounts), "status": w.status, **({"approval": w.approval} if w.approval else {})}
                for w in self.waves
            ]
        return {
            **record_key(self.environment, self.started_at, self.promotion_id),
            **document,
            "accountsFrom": [{"version": version, "accounts": accounts} for version, accounts in groups.items()],
        }

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> PromotionRecord:
        """The record, or HistoryRecordUnreadable naming the item and what is wrong with it: a
        record that does not read back is refused, never guessed at (a rollback or a `requires`
        check would otherwise decide on part of the history)."""
        try:
            return cls.model_validate(item)
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(str(part) for part in problem['loc']) or 'item'}: {problem['msg']}"
                for problem in error.errors()
            )
            raise HistoryRecordUnreadable(
                f"the history item pk={item.get('pk')!r} sk={item.get('sk')!r} in the promotions table is not a "
                f"promotion record ({problems}); fix or delete that item (it was not written by this version of "
                "mlpromote), then try again"
            ) from None


def _waves_from_sizes(data: Any) -> Any:
    """An item keeps each wave as its size: the wave's accounts are the next that many of the record's
    accounts, sorted by id."""
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("waves"), list)
        or not isinstance(data.get("accounts"), list)
    ):
        return data
    # DynamoDB reads a number back as a Decimal.
    if not all(isinstance(w, dict) and isinstance(w.get("size"), int | Decimal) for w in data["waves"]):
        return data  # written whole (or broken: validation says what is wrong with it)
    ids = sorted(str(c.get("account")) if isinstance(c, dict) else str(c.account) for c in data["accounts"])
    waves, start = [], 0
    for wave in data["waves"]:
        size = int(wave["size"])
        waves.append({**{k: v for k, v in wave.items() if k != "size"}, "accounts": ids[start : start + size]})
        start += size
    return {**data, "waves": waves}


def live_at(records: list[PromotionRecord], at: datetime) -> PromotionRecord | None:
    """The promotion that put the environment's current version in place, as of `at`."""
    done = [r for r in records if r.status == "SUCCEEDED" and r.ended_at and datetime.fromisoformat(r.ended_at) <= at]
    return max(done, key=lambda r: r.ended_at or "", default=None)


def rollback_target(
    records: list[PromotionRecord], current: str, key: Callable[[str], str] = lambda arn: arn
) -> str | None:
    """What a rollback goes back to: the version the current one replaced when it was promoted,
    else the last other version promoted successfully. None when the history knows no other.
    Versions are compared by `key` (a copy environment's: "project/version", the same in every account)."""
    done = sorted((r for r in records if r.status == "SUCCEEDED"), key=lambda r: r.ended_at or "", reverse=True)
    for record in done:
        if key(record.version) != current:
            return record.version
        replaced = {key(change.from_version) for change in record.accounts if change.from_version is not None}
        replaced.discard(current)
        if len(replaced) == 1:
            return replaced.pop()
        # A no-op (it already served `current`) or a split environment: look further back.
    return None
