"""One call per account, side by side: environments have hundreds of accounts, each a round trip."""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


def for_each_account(accounts: list[str], read: Callable[[str], T], workers: int) -> dict[str, T]:
    """`read(account)` for every account, side by side in up to `workers` threads."""
    if len(accounts) <= 1:
        return {account: read(account) for account in accounts}
    with ThreadPoolExecutor(max_workers=min(workers, len(accounts))) as pool:
        # Each read runs in a copy of the caller's context (logging keys, tracing), not a blank one.
        futures = {account: pool.submit(contextvars.copy_context().run, read, account) for account in accounts}
        return {account: future.result() for account, future in futures.items()}
