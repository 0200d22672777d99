"""Pointers: the SSM parameter, in each target account, that applications read the model ARN from."""

from __future__ import annotations

from botocore.exceptions import ClientError

from mlpromote.aws import sessions

CURRENT_LABEL = "current"


def _ssm(role_arn: str) -> object:
    return sessions.assumed_client("ssm", (role_arn,))


def read_pointer(role_arn: str, name: str) -> str | None:
    """The version ARN the parameter holds, or None when it does not exist (ssm:GetParameter: the
    account's parameter reader, or its writer when the caller is about to write)."""
    try:
        answer = _ssm(role_arn).get_parameter(Name=name)  # type: ignore[attr-defined]
    except ClientError as error:
        if sessions.error_code(error) == "ParameterNotFound":
            return None
        raise sessions.translated(error, f"ssm GetParameter {name}") from error
    return str(answer["Parameter"]["Value"])


def write_pointer(writer_role_arn: str, name: str, value: str | None) -> int | None:
    """Point the parameter at `value` (delete it for None) and move the `current` label onto it
    (ssm:PutParameter and LabelParameterVersion, or DeleteParameter: the account's parameter writer)."""
    ssm = _ssm(writer_role_arn)
    try:
        if value is None:
            try:
                ssm.delete_parameter(Name=name)  # type: ignore[attr-defined]
            except ClientError as error:
                if sessions.error_code(error) != "ParameterNotFound":
                    raise
            return None
        version = int(
            ssm.put_parameter(Name=name, Value=value, Type="String", Overwrite=True)["Version"]  # type: ignore[attr-defined]
        )
        ssm.label_parameter_version(  # type: ignore[attr-defined]
            Name=name, ParameterVersion=version, Labels=[CURRENT_LABEL]
        )
        return version
    except ClientError as error:
        raise sessions.translated(error, f"ssm PutParameter {name}") from error
