"""Rollout waves: which accounts each wave of a promotion switches, decided once, in the plan.

An environment's `rollout` is a list of cumulative targets, as AWS AppConfig's deployment strategies
and Argo Rollouts' steps are: each wave brings the number of switched accounts up to `accounts: N`,
or `percent: P` of the environment's accounts (rounded up), and always at least one account more than
the wave before. The accounts are taken in the order of their ids, so the same environment always
rolls out in the same order, and the dry run shows it. The last wave reaches every account (the
config says so: `rollout_problem`). A wave with nothing left to switch (a small environment, whose
earlier waves already reached every account) is not run: its bake, if it is the last wave's, moves
to the last wave that runs, so the environment is never baked for less than its config says.

Without a rollout, a promotion is one wave of every account, baked for the environment's
`bakeMinutes`, as before waves existed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Protocol

from pydantic import ConfigDict

from mlpromote.models import CamelModel

# A wave's status in the history and the report.
SWITCHED = "switched"  # its accounts point at the promoted version, and stayed there
PUT_BACK = "putBack"  # it switched (or was switching) when the promotion failed: compensated
NOT_STARTED = "notStarted"  # the promotion ended before it began: none of its pointers moved
ALREADY_SERVED = "alreadyServed"  # its accounts already served the version: nothing to switch
COMPENSATION_FAILED = "compensationFailed"  # it switched, and the compensation failed: check its accounts by hand
WAVE_STATUSES = (SWITCHED, PUT_BACK, NOT_STARTED, ALREADY_SERVED, COMPENSATION_FAILED)


class WaveStep(Protocol):
    """A wave as the config writes it (mlpromote.config.Wave)."""

    @property
    def accounts(self) -> int | None: ...

    @property
    def percent(self) -> float | None: ...

    @property
    def bake_minutes(self) -> int | None: ...

    @property
    def approve(self) -> bool: ...


class PlannedWave(CamelModel):
    """One wave of a promotion: its accounts, the bake after it, and whether a person decides first."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    accounts: list[str]
    bake_seconds: int = 0
    # Wait for a decision (the approval gate's machinery) before this wave starts.
    approve: bool = False


def target(step: WaveStep, total: int) -> int:
    """How many accounts are switched once `step` is done, before the one-more rule and the cap."""
    if step.accounts is not None:
        return step.accounts
    assert step.percent is not None  # the config requires one of them
    # Rounded up, so 10 % of 5 accounts is one account, not none. Rounded on a whole number of
    # hundredths of a percent, so 30 % of 10 is 3 whatever binary floating point makes of 0.3.
    return math.ceil(round(step.percent * total, 6) / 100)


def plan_waves(accounts: Sequence[str], rollout: Sequence[WaveStep], bake_minutes: int) -> list[PlannedWave]:
    """The waves of a promotion to `accounts`: they partition the accounts sorted by id, in order.

    `bake_minutes` is the environment's bakeMinutes: the bake of the last wave, unless that wave
    says its own. Without a rollout: one wave of every account.
    """
    ordered = sorted(accounts)
    if not rollout:
        return [PlannedWave(accounts=ordered, bake_seconds=bake_minutes * 60)]
    waves: list[PlannedWave] = []
    done = 0
    last = len(rollout) - 1
    for index, step in enumerate(rollout):
        bake = step.bake_minutes if step.bake_minutes is not None else (bake_minutes if index == last else 0)
        reach = len(ordered) if index == last else min(len(ordered), max(target(step, len(ordered)), done + 1))
        if reach <= done:
            # Nothing left to switch: every account is in an earlier wave. The last wave's bake is
            # the environment's final bake; the last wave that runs takes it over.
            if index == last and waves and bake > waves[-1].bake_seconds // 60:
                waves[-1] = waves[-1].model_copy(update={"bake_seconds": bake * 60})
            continue
        waves.append(PlannedWave(accounts=ordered[done:reach], bake_seconds=bake * 60, approve=step.approve))
        done = reach
    return waves


def rollout_problem(rollout: Sequence[WaveStep], accounts: int | None) -> str | None:
    """What is wrong with a rollout, in the config's terms (None: nothing). `accounts`: how many
    accounts the environment lists (None where they are known only at promotion time)."""
    if not rollout:
        return None
    for index, step in enumerate(rollout):
        if (step.accounts is None) == (step.percent is None):
            gives = "both accounts and percent" if step.accounts is not None else "neither accounts nor percent"
            return (
                f"rollout[{index}] gives {gives}: a wave brings the switched accounts up to a number "
                "(accounts: 5) or a share (percent: 10); write one of them"
            )
    if rollout[0].approve:
        return (
            "rollout[0].approve: the first wave starts right after the environment's approval gate; "
            "set requiresApproval: true on the environment instead (approve: true is for later waves)"
        )
    for index in range(1, len(rollout)):
        before, step = rollout[index - 1], rollout[index]
        for key in ("accounts", "percent"):
            earlier, now = getattr(before, key), getattr(step, key)
            if earlier is not None and now is not None and now <= earlier:
                return (
                    f"rollout[{index}].{key} ({now}) is not above rollout[{index - 1}].{key} ({earlier}): each wave "
                    "brings the switched accounts up to a higher target; raise it, or remove one of the waves"
                )
    last = rollout[-1]
    reaches_all = last.percent == 100 or (
        last.accounts is not None and accounts is not None and last.accounts >= accounts
    )
    if not reaches_all:
        said = f"percent: {last.percent:g}" if last.percent is not None else f"accounts: {last.accounts}"
        of = f" of the environment's {accounts}" if accounts is not None else ""
        return (
            f"rollout[{len(rollout) - 1}] ({said}) is the last wave and does not reach every account{of}: "
            "end the rollout with {percent: 100}"
        )
    return None


def statuses(waves: int, state: dict[str, Any], already_served: bool) -> list[str]:
    """How each of the `waves` ended, from the state machine's data at "Record the outcome": the rollout's
    last wave taken up (`rollout.index`, and whether its pointers had begun to move), and whether the
    promotion succeeded (a summary) or was compensated."""
    if state.get("summary") is not None:
        return [ALREADY_SERVED if already_served else SWITCHED] * waves
    rollout = state.get("rollout")
    if not isinstance(rollout, dict) or not isinstance(rollout.get("index"), int):
        return [NOT_STARTED] * waves  # failed before the first wave was taken up
    moved = rollout["index"] if rollout.get("switching") else rollout["index"] - 1
    back = PUT_BACK if "restored" in (state.get("compensation") or {}) else COMPENSATION_FAILED
    return [back if index <= moved else NOT_STARTED for index in range(waves)]


def report(accounts: Sequence[list[str]], wave_statuses: Sequence[str]) -> list[dict[str, Any]]:
    """`[{accounts, status}]`: the waves (each wave's accounts) as the history and the report give them."""
    return [{"accounts": ids, "status": status} for ids, status in zip(accounts, wave_statuses, strict=True)]


def wave_lines(waves: list[dict[str, Any]]) -> list[str]:
    """One line per wave: its number, approval, accounts and bake (and its status, in a report)."""
    lines = []
    for number, wave in enumerate(waves, 1):
        accounts = wave["accounts"]
        shown = ", ".join(accounts[:5]) + (f" and {len(accounts) - 5} more" if len(accounts) > 5 else "")
        gate = "approve, then " if wave.get("approve") else ""
        bake = f"; bake {wave['bakeMinutes']} min" if wave.get("bakeMinutes") else ""
        status = f": {wave['status']}" if wave.get("status") else ""
        lines.append(f"{number}. {gate}{len(accounts)} account(s) ({shown}){bake}{status}")
    return lines
