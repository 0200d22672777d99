"""Version leases: a promotion stops a version only while no other running promotion may serve it.

The environment lock keeps one promotion per environment; a version is shared by every environment.
So each promotion leases, with its lock, the versions it will serve or may put back (the promoted
one, and what its environment serves when it takes it: one `LEASE#<version arn>` item each, in the
promotions table). Retire and compensate stop a version only through `stop_unless_used`:

1. claim the stop: a conditional write that marks the version "stopping by X" only if no other
   promotion holds a lease on it (and none is stopping it);
2. then read who points at it (every environment's parameters);
3. stop it if nothing does; clear the mark either way.

A promotion that wants a version leases it before it reads the version's state or moves a pointer
(taking a lease fails while another promotion's mark is on it). So either the lease comes first
and the claim fails, or the claim comes first and the lease waits for it to end; and every pointer
a promotion writes goes to a version it leases, so once the claim holds, the read in step 2 sees
every pointer there will be. Two promotions can never both pass, and none stops what another brings
into service or may put back.

Leases of a promotion that ended without releasing them (aborted, crashed) are released by whoever
recovers its lock, by the status-change handler, or here, when they are in the way.
"""

from __future__ import annotations

from collections.abc import Callable

from mlpromote.aws import dynamodb, stepfunctions


def holders(version: str, execution: str) -> list[str]:
    """The other running promotions that hold a lease on (or are stopping) `version`. Leases of
    promotions that have ended are released on the way."""
    item = dynamodb.lease(version)
    others = {str(h) for h in item.get("holders") or ()} | (
        {str(item["stoppingBy"])} if item.get("stoppingBy") else set()
    )
    others.discard(execution)
    running = []
    for holder in sorted(others):
        if stepfunctions.execution_status(holder) == "RUNNING":
            running.append(holder)
        else:
            dynamodb.drop_lease(version, holder)
    return running


def stopper(version: str, execution: str) -> str | None:
    """The running promotion (other than `execution`) stopping `version` right now, if any. The mark
    of a promotion that has ended is cleared on the way."""
    marked = dynamodb.lease(version).get("stoppingBy")
    if not marked or marked == execution:
        return None
    if stepfunctions.execution_status(str(marked)) == "RUNNING":
        return str(marked)
    dynamodb.drop_lease(version, str(marked))
    return None


def claim(version: str, execution: str) -> list[str]:
    """Claim the stop of `version` for `execution`: [] once claimed, else the running promotions in the way."""
    if dynamodb.claim_stop(version, execution):
        return []
    in_the_way = holders(version, execution)
    if in_the_way or not dynamodb.claim_stop(version, execution):
        return in_the_way or holders(version, execution) or ["another promotion"]
    return []


def stop_unless_used(
    versions: list[str],
    execution: str,
    live: Callable[[], dict[str, list[str]]],
    stop: Callable[[str], str | None],
    done_with_them: bool = False,
) -> tuple[list[str], dict[str, str]]:
    """Stop each of `versions` that no other running promotion leases and no parameter points at.

    `live()` reads every environment's pointers (version -> where), once, after the claims; `stop`
    stops one and returns None, or why it could not. `done_with_them`: the caller will neither serve
    nor put back these versions any more (a retirement past the switch, a compensation), so where another promotion
    is in the way, it gives up its own lease: that one, when it retires, is then free to stop it.
    Returns what was stopped, and why each other version was left running.
    """
    left: dict[str, str] = {}
    claimed = []
    for version in versions:
        in_the_way = claim(version, execution)
        if in_the_way:
            left[version] = f"a running promotion may serve it: {', '.join(in_the_way)}"
            if done_with_them:
                dynamodb.drop_lease(version, execution)
        else:
            claimed.append(version)
    stopped = []
    try:
        pointers = live() if claimed else {}
        for version in claimed:
            if pointers.get(version):
                left[version] = f"still live in {', '.join(pointers[version])}"
            elif (why := stop(version)) is not None:
                left[version] = why
            else:
                stopped.append(version)
    finally:
        for version in claimed:
            dynamodb.end_stop(version, execution)
    return stopped, left
