"""Notifications to people: the approval topic (its email subscription is a template parameter)."""

from __future__ import annotations

from botocore.exceptions import ClientError

from mlpromote.aws import sessions
from mlpromote.observability import logger


def publish(topic_arn: str, subject: str, message: str) -> bool:
    """Publish one message; True when SNS took it.

    Like the EventBridge events, a notification must not fail a promotion: a transient error is
    raised for the state machine to retry, any other is logged and reported as False.
    """
    try:
        # SNS subjects are at most 100 characters of printable ASCII.
        sessions.client("sns").publish(TopicArn=topic_arn, Subject=subject[:100], Message=message)
    except ClientError as error:
        if sessions.is_transient(error):
            raise sessions.translated(error, "sns Publish") from error
        logger.warning("notification not sent", extra={"topic": topic_arn, "error": str(error)})
        return False
    return True
