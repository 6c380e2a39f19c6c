"""The CloudFormation stack of infra/template.yaml: create or update it (waiting, and saying which
resource failed when one does), read its outputs, delete it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

TEMPLATE = Path(__file__).resolve().parent / "template.yaml"
NO_CHANGES = "No updates are to be performed"


class StackError(RuntimeError):
    pass


def status(cfn: Any, stack: str) -> str | None:
    """The stack's status, or None when there is no such stack (or it is deleted)."""
    try:
        found = cfn.describe_stacks(StackName=stack)["Stacks"]
    except ClientError as error:
        if "does not exist" in str(error):
            return None
        raise
    state = str(found[0]["StackStatus"]) if found else None
    return None if state == "DELETE_COMPLETE" else state


def outputs(cfn: Any, stack: str) -> dict[str, str]:
    described = cfn.describe_stacks(StackName=stack)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}


def deploy_stack(
    cfn: Any,
    stack: str,
    parameters: dict[str, str],
    path: Path = TEMPLATE,
) -> str:
    """Create the stack, or update it; returns "created", "updated" or "unchanged".

    A parameter not given keeps its previous value on update (its default on create)."""
    body = path.read_text()
    current = status(cfn, stack)
    if current == "ROLLBACK_COMPLETE":  # a first create that failed can only be deleted
        delete_stack(cfn, stack)
        current = None
    if current is not None and current.endswith("_IN_PROGRESS"):
        raise StackError(f"stack {stack} is busy ({current}); try again when it is done")
    if current is None:
        cfn.create_stack(
            StackName=stack,
            TemplateBody=body,
            Capabilities=["CAPABILITY_NAMED_IAM"],
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        )
        _wait(cfn, stack, "CREATE_COMPLETE")
        return "created"
    described = cfn.describe_stacks(StackName=stack)["Stacks"][0]
    previous = [
        p["ParameterKey"] for p in described.get("Parameters", []) if p["ParameterKey"] not in parameters
    ]
    try:
        cfn.update_stack(
            StackName=stack,
            TemplateBody=body,
            Capabilities=["CAPABILITY_NAMED_IAM"],
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()]
            + [{"ParameterKey": k, "UsePreviousValue": True} for k in previous],
        )
    except ClientError as error:
        if NO_CHANGES in str(error):
            return "unchanged"
        raise
    _wait(cfn, stack, "UPDATE_COMPLETE")
    return "updated"


def delete_stack(cfn: Any, stack: str) -> bool:
    """Delete the stack and wait until it is gone; False when there was none."""
    if status(cfn, stack) is None:
        return False
    cfn.delete_stack(StackName=stack)
    _wait(cfn, stack, None)
    return True


def _wait(cfn: Any, stack: str, want: str | None, timeout: float = 3600, pause: float = 5) -> None:
    """Poll until the stack settles; `want` None means deleted."""
    deadline = time.monotonic() + timeout
    while True:
        state = status(cfn, stack)
        if state == want:
            return
        if state is None or not state.endswith("_IN_PROGRESS"):
            raise StackError(f"stack {stack}: {state or 'gone'}{_failure(cfn, stack)}")
        if time.monotonic() > deadline:
            raise StackError(f"stack {stack} still {state} after {timeout:.0f}s")
        time.sleep(pause)


def _failure(cfn: Any, stack: str) -> str:
    """The first resource failure CloudFormation reported, if it reported one."""
    try:
        events = cfn.describe_stack_events(StackName=stack)["StackEvents"]
    except ClientError:
        return ""
    failed = [e for e in events if str(e.get("ResourceStatus", "")).endswith("_FAILED")]
    if not failed:
        return ""
    first = failed[-1]  # events come newest first
    return f" ({first['LogicalResourceId']}: {first.get('ResourceStatusReason', 'failed')})"
