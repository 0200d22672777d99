"""Calls per account, side by side: environments have hundreds of accounts, each a round trip.

The workflow's Maps fan out over batches of accounts (PromotionPlan.batches), one Lambda invocation
per batch; each invocation does its batch's accounts side by side. Together at most
`workflow.maxConcurrency` accounts at once, as in the steps that read every account from one Lambda.
"""

from __future__ import annotations

import contextvars
import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from mlpromote.errors import PromotionError

T = TypeVar("T")

# A batch's accounts are done in at most this many rounds of `account_workers` at once: with up to
# ten smoke-test images (about 2 s each) and two AssumeRole calls, a round takes at most ~20 s, so four
# fit the fan-out functions' 120 s timeout (template.yaml Globals) with room for a slow call.
MAX_ROUNDS_PER_BATCH = 4
DEFAULT_ACCOUNTS_PER_BATCH = 25


def account_workers(max_concurrency: int, accounts_per_batch: int) -> int:
    """Threads one batch's Lambda uses."""
    return max(1, min(max_concurrency, accounts_per_batch))


def batch_concurrency(max_concurrency: int, accounts_per_batch: int) -> int:
    """Batches a Map runs at once, so that batches times threads stays within max_concurrency."""
    return max(1, max_concurrency // account_workers(max_concurrency, accounts_per_batch))


def rounds(max_concurrency: int, accounts_per_batch: int) -> int:
    """Rounds of calls one batch's Lambda makes one after another."""
    return math.ceil(accounts_per_batch / account_workers(max_concurrency, accounts_per_batch))


def default_accounts_per_batch(max_concurrency: int) -> int:
    return min(DEFAULT_ACCOUNTS_PER_BATCH, MAX_ROUNDS_PER_BATCH * max_concurrency)


def for_each_account(accounts: list[str], read: Callable[[str], T], workers: int) -> dict[str, T]:
    """`read(account)` for every account, side by side in up to `workers` threads. The first
    failure (in the accounts' order) is raised once every account is done."""
    if len(accounts) <= 1:
        return {account: read(account) for account in accounts}
    with ThreadPoolExecutor(max_workers=min(workers, len(accounts))) as pool:
        # Each read runs in a copy of the caller's context (logging keys, tracing), not a blank one.
        futures = {account: pool.submit(contextvars.copy_context().run, read, account) for account in accounts}
        return {account: future.result() for account, future in futures.items()}


def settle_each_account(
    accounts: list[str], act: Callable[[str], T], workers: int
) -> tuple[dict[str, T], dict[str, PromotionError]]:
    """`act(account)` for every account, side by side: what each returned, and the named error each
    raised (anything else is a bug, raised as it is)."""
    done: dict[str, T] = {}
    failed: dict[str, PromotionError] = {}

    def settle(account: str) -> None:
        try:
            done[account] = act(account)
        except PromotionError as error:  # every account's outcome is kept; the caller decides what to raise
            failed[account] = error

    for_each_account(accounts, settle, workers)
    return dict(sorted(done.items())), dict(sorted(failed.items()))
