"""The control plane's own events on the default EventBridge bus: started, succeeded, failed."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from mlpromote.aws import sessions
from mlpromote.observability import logger

SOURCE = "mlpromote"


def publish(detail_type: str, detail: dict[str, Any]) -> bool:
    """Put one event; True when EventBridge took it.

    A notification must not undo or fail a promotion: a transient error is raised for the state
    machine to retry, any other is logged and reported as False.
    """
    entry = {"Source": SOURCE, "DetailType": detail_type, "Detail": json.dumps(detail, default=str)}
    try:
        answer = sessions.client("events").put_events(Entries=[entry])
    except ClientError as error:
        if sessions.is_transient(error):
            raise sessions.translated(error, "events PutEvents") from error
        logger.warning("event not published", extra={"detailType": detail_type, "error": str(error)})
        return False
    if answer.get("FailedEntryCount"):
        logger.warning("event not published", extra={"detailType": detail_type, "entries": answer.get("Entries")})
        return False
    return True
