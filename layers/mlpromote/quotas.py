"""Step Functions' quotas, and how much of them one promotion may use.

A Standard execution's history holds at most 25,000 events; past that the execution fails with
States.Runtime, which no Catch sees: nothing is compensated and the environment is left as the
failure found it (Step Functions developer guide, "Step Functions service quotas", and "Using Step
Functions to continue as new" for the documented way around it). Polling a starting model and
watching alarms during the bake are the loops of promote_model.asl.json; the fan-out adds events per
batch of accounts. The config is refused when the longest promotion it allows could pass the quota, so the limit
bites at check-config, not hours into a bake with every pointer moved.

Validation rather than a poll interval derived from the duration: alarmPollSeconds is a promise (an
alarm is noticed within that long), and stretching it silently would break it. Rather than a child
execution per bake: a second state machine, its own IAM and history, for a loop that fits when polled
at a sensible interval.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from mlpromote.fanout import DEFAULT_ACCOUNTS_PER_BATCH

HISTORY_EVENT_QUOTA = 25_000
# Events a promotion writes outside its loops and fan-out, on its longest path (start, approval, bake,
# compensation, outcome): measured on the emulator at 50 for a plain promotion, rounded up.
EVENTS_OUTSIDE_LOOPS = 120
# One look of a loop: Wait (entered, exited), the Lambda task (entered, scheduled, started, succeeded,
# exited), the Choice (entered, exited).
EVENTS_PER_POLL = 9
# Each batch's iteration of the two Map states (one Lambda invocation per batch of accounts): iteration
# started and succeeded, and the task's five.
EVENTS_PER_BATCH = 14
# Each wave of a rollout beyond the first: its Pass and Choice states, the Map's own events, the
# check for another wave (mlpromote.waves); measured at 16 on the emulator, rounded up.
EVENTS_PER_WAVE = 20
# A Lambda retry adds the failure, the new scheduling and its start.
EVENTS_PER_RETRY = 3
# Kept free for transient errors' retries (throttling, Lambda service errors), which no config bounds.
RETRY_MARGIN = 2_000
# The smoke test's Retry on GrantNotYetEffective in promote_model.asl.json (a test keeps them equal).
GRANT_RETRY_INTERVAL = 5.0
GRANT_RETRY_BACKOFF = 1.5
GRANT_RETRY_MAX_DELAY = 30.0
GRANT_RETRY_MAX_ATTEMPTS = 40
# Compensate's Retry on ModelStillStarting in promote_model.asl.json (a test keeps them equal): a version
# this promotion started and that is still STARTING cannot be stopped (StopProjectVersion stops a
# running model), so the compensation runs again every minute, for up to half an hour, until it can stop it.
COMPENSATION_START_RETRY_SECONDS = 60
COMPENSATION_START_RETRIES = 30

# A compensation that waits for a STARTING version to be RUNNING, to its last retry.
COMPENSATION_WAIT_EVENTS = COMPENSATION_START_RETRIES * EVENTS_PER_RETRY


def grant_retries(grant_propagation_seconds: int) -> int:
    """How often one batch's smoke test is retried, at most, while IAM propagates the grant:
    GrantNotYetEffective is raised only within grantPropagationSeconds of the grant."""
    waited, retries, delay = 0.0, 0, GRANT_RETRY_INTERVAL
    while waited < grant_propagation_seconds and retries < GRANT_RETRY_MAX_ATTEMPTS - 1:
        waited += min(delay, GRANT_RETRY_MAX_DELAY)
        delay *= GRANT_RETRY_BACKOFF
        retries += 1
    return retries


def start_polls(start_timeout_seconds: int, start_poll_seconds: int) -> int:
    """Status checks of a start that runs to its timeout: the first after four intervals, then one
    per interval (mlpromote.steps.poll_delay), and the one that finds the timeout passed."""
    return max(1, math.ceil(start_timeout_seconds / start_poll_seconds) - 3) + 1


def bake_polls(bake_seconds: int, alarm_poll_seconds: int) -> int:
    """Looks at the alarms after the first, over a whole bake, and the last Choice."""
    return math.ceil(bake_seconds / alarm_poll_seconds) + 1 if bake_seconds else 0


@dataclass(frozen=True)
class HistoryBudget:
    accounts: int
    start_polls: int
    bake_polls: int
    grant_retries: int
    # The fan-out's batches (mlpromote.plan.batches_of): its events grow with them, not with the accounts.
    batches: int
    # A rollout's waves: each wave beyond the first adds its own states (mlpromote.waves).
    waves: int = 1

    @property
    def fan_out_events(self) -> int:
        return self.batches * (EVENTS_PER_BATCH + EVENTS_PER_RETRY * self.grant_retries) + EVENTS_PER_WAVE * (
            self.waves - 1
        )

    @property
    def events(self) -> int:
        """The most events one promotion of the environment writes, without transient retries."""
        return (
            EVENTS_OUTSIDE_LOOPS
            + COMPENSATION_WAIT_EVENTS
            + self.fan_out_events
            + EVENTS_PER_POLL * (self.start_polls + self.bake_polls)
        )

    @property
    def polls_allowed(self) -> int:
        """Looks (start and bake together) that fit beside the fan-out and the retry margin."""
        room = (
            HISTORY_EVENT_QUOTA - RETRY_MARGIN - EVENTS_OUTSIDE_LOOPS - COMPENSATION_WAIT_EVENTS - self.fan_out_events
        )
        return max(0, room // EVENTS_PER_POLL)

    @property
    def fits(self) -> bool:
        return self.events <= HISTORY_EVENT_QUOTA - RETRY_MARGIN


def history_budget(
    accounts: int,
    bake_minutes: int | Sequence[int],
    alarm_poll_seconds: int,
    start_timeout_minutes: int,
    start_poll_seconds: int,
    grant_propagation_seconds: int,
    accounts_per_batch: int = DEFAULT_ACCOUNTS_PER_BATCH,
) -> HistoryBudget:
    """`bake_minutes`: the environment's bake, or each wave's (a rollout bakes after each wave)."""
    bakes = [bake_minutes] if isinstance(bake_minutes, int) else list(bake_minutes)
    return HistoryBudget(
        accounts=accounts,
        # Each wave is batched on its own: a wave's last batch may be short.
        batches=math.ceil(accounts / accounts_per_batch) + len(bakes) - 1,
        start_polls=start_polls(start_timeout_minutes * 60, start_poll_seconds),
        bake_polls=sum(bake_polls(bake * 60, alarm_poll_seconds) for bake in bakes),
        grant_retries=grant_retries(grant_propagation_seconds),
        waves=max(1, len(bakes)),
    )


def history_quota_problem(budget: HistoryBudget, bake_minutes: int, start_timeout_minutes: int) -> str | None:
    """What to change so that the environment's longest promotion fits the history quota; None if it fits."""
    if budget.fits:
        return None
    allowed = budget.polls_allowed
    fixes = []
    if bake_minutes and allowed - budget.start_polls > 1:
        fixes.append(
            f"workflow.alarmPollSeconds >= {math.ceil(bake_minutes * 60 / (allowed - budget.start_polls - 1))}"
        )
    if allowed - budget.bake_polls > 2:
        fixes.append(
            f"workflow.startPollSeconds >= {math.ceil(start_timeout_minutes * 60 / (allowed - budget.bake_polls - 2))}"
        )
    if budget.batches * budget.grant_retries * EVENTS_PER_RETRY > RETRY_MARGIN:
        fixes.append("a lower workflow.grantPropagationSeconds")
    fixes.append("a larger workflow.accountsPerBatch" if budget.batches > 1 else "a shorter bakeMinutes")
    return (
        f"set {' or '.join(fixes)}: a promotion could write {budget.events:,} history events "
        f"({budget.bake_polls:,} alarm looks, {budget.start_polls:,} start checks, {budget.accounts} account(s) in "
        f"{budget.batches} batch(es)), "
        f"past the {HISTORY_EVENT_QUOTA - RETRY_MARGIN:,} of Step Functions' {HISTORY_EVENT_QUOTA:,} it may use"
        "; the execution would fail there, uncompensated"
    )


class WorkflowTiming(Protocol):
    """The config's `workflow` timing a promotion's history grows with (mlpromote.config.Workflow)."""

    @property
    def alarm_poll_seconds(self) -> int: ...
    @property
    def start_timeout_minutes(self) -> int: ...
    @property
    def start_poll_seconds(self) -> int: ...
    @property
    def grant_propagation_seconds(self) -> int: ...
    @property
    def batch_size(self) -> int: ...


def environment_history_problem(accounts: int, bakes: Sequence[int], flow: WorkflowTiming) -> str | None:
    """What to change so that a promotion of an environment of `accounts` accounts, baking `bakes`
    minutes after each wave, fits the history quota; None if it fits. The one check behind the config's
    (listed accounts, at check-config) and the plan's (an OU environment's accounts, at promotion time)."""
    budget = history_budget(
        accounts,
        bakes,
        flow.alarm_poll_seconds,
        flow.start_timeout_minutes,
        flow.start_poll_seconds,
        flow.grant_propagation_seconds,
        accounts_per_batch=flow.batch_size,
    )
    return history_quota_problem(budget, sum(bakes), flow.start_timeout_minutes)
