"""The functions and the API, shipped by Chalice: `chalice deploy` / `chalice delete` for a stage,
and what Chalice recorded about them (.chalice/deployed/<stage>.json: the API URL, the functions).

Chalice writes that record only when a deploy succeeds.  One that fails part-way (a throttled or
refused call; against the emulator, always at the REST API) has already made functions, their
queue and stream subscriptions and their schedules, and no record names them: the next deploy
subscribes the functions a second time (AWS refuses, the mapping exists) and `chalice delete`
leaves them behind.  So Chalice's own deployer runs here -- the very steps of `chalice deploy`, in
a child process, because loading app.py puts the stage's environment into the process -- and, when
it fails, what its executor had made is merged into the record before the error is passed on.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from infra import bytecode

ROOT = Path(__file__).resolve().parent.parent


class FunctionsError(RuntimeError):
    """Chalice failed; `operation` is the AWS call that failed (e.g. ImportRestApi), when one did.
    Chalice's own message (`message`) has already been printed."""

    def __init__(self, action: str, message: str, operation: str | None = None, status: int | None = None):
        self.action = action
        self.message = message
        self.operation = operation
        self.status = status
        where = f" at {operation} (HTTP {status})" if operation else ""
        super().__init__(f"chalice {action} failed{where} (its message is above)")


def record_path(project_dir: Path, stage: str) -> Path:
    return project_dir / ".chalice" / "deployed" / f"{stage}.json"


def recorded(project_dir: Path, stage: str) -> list[dict[str, Any]]:
    """What Chalice has deployed for the stage, as it recorded it (empty when nothing)."""
    path = record_path(project_dir, stage)
    if not path.exists():
        return []
    resources: list[dict[str, Any]] = json.loads(path.read_text()).get("resources", [])
    return resources


def api_url(project_dir: Path, stage: str) -> str | None:
    for resource in recorded(project_dir, stage):
        if resource.get("resource_type") == "rest_api":
            return str(resource["rest_api_url"]).rstrip("/")
    return None


BEACON = "beacon"  # app.py's function for page views and the tag (chalicelib/web/beacon_door.py)
QUIET_LOGS = {"LogFormat": "JSON", "ApplicationLogLevel": "WARN", "SystemLogLevel": "WARN"}


def beacon_url(session: Any, project_dir: Path, stage: str) -> str | None:
    """The beacon function's own URL, made once and then found again: a Lambda function URL open
    to every browser (auth NONE; since October 2025 that takes both lambda:InvokeFunctionUrl and
    lambda:InvokeFunction in the function's policy).  None when Chalice has not made it."""
    arn = next(
        (
            r["lambda_arn"]
            for r in recorded(project_dir, stage)
            if r.get("resource_type") == "lambda_function" and r.get("name") == BEACON
        ),
        None,
    )
    if arn is None:
        return None
    lam = session.client("lambda")
    try:
        url = lam.get_function_url_config(FunctionName=arn)["FunctionUrl"]
    except lam.exceptions.ResourceNotFoundException:
        url = lam.create_function_url_config(FunctionName=arn, AuthType="NONE", InvokeMode="BUFFERED")[
            "FunctionUrl"
        ]
    grants: list[dict[str, Any]] = [
        {
            "StatementId": "browsers-call-the-url",
            "Action": "lambda:InvokeFunctionUrl",
            "FunctionUrlAuthType": "NONE",
        },
        {
            "StatementId": "browsers-invoke-via-the-url",
            "Action": "lambda:InvokeFunction",
            "InvokedViaFunctionUrl": True,
        },
    ]
    try:
        granted = {g.get("Sid") for g in json.loads(lam.get_policy(FunctionName=arn)["Policy"])["Statement"]}
    except lam.exceptions.ResourceNotFoundException:
        granted = set()  # no policy yet
    for grant in grants:
        if grant["StatementId"] not in granted:  # granted by an earlier deploy otherwise
            lam.add_permission(FunctionName=arn, Principal="*", **grant)
    # Lambda's own START/END/REPORT lines for every page view would cost more in CloudWatch Logs
    # than the function's time: the beacon function logs warnings and errors only.
    lam.update_function_configuration(FunctionName=arn, LoggingConfig=QUIET_LOGS)
    return str(url).rstrip("/")


STREAM_HANDLERS = ("events_changed", "contacts_changed")  # app.py's DynamoDB stream functions
# What Lambda does with a stream batch its function fails (Chalice sets none of it, and Lambda's
# own default retries the batch until its records expire a day later, holding up the whole shard
# behind it): halve the batch and try the halves, so the healthy records go on; give a record
# that still fails alone 10 tries (a passing fault -- throttling -- passes within them); then
# park its place in the stream (shard, sequence numbers) on the dead-letter queue and go on.
ON_FAILURE = {"BisectBatchOnFunctionError": True, "MaximumRetryAttempts": 10}


def park_failed_batches(session: Any, project_dir: Path, stage: str, dead_letter_url: str) -> int:
    """Set ON_FAILURE on the stream functions' event source mappings, with the dead-letter
    queue (which the functions' role may send to) as their on-failure destination.  Returns how
    many mappings were set; setting them again changes nothing."""
    lam, sqs = session.client("lambda"), session.client("sqs")
    queue = sqs.get_queue_attributes(QueueUrl=dead_letter_url, AttributeNames=["QueueArn"])
    destination = {"OnFailure": {"Destination": queue["Attributes"]["QueueArn"]}}
    arns = [
        r["lambda_arn"]
        for r in recorded(project_dir, stage)
        if r.get("resource_type") == "lambda_function" and r.get("name") in STREAM_HANDLERS
    ]
    mappings = [
        m for arn in arns for m in lam.list_event_source_mappings(FunctionName=arn)["EventSourceMappings"]
    ]
    for mapping in mappings:
        lam.update_event_source_mapping(UUID=mapping["UUID"], DestinationConfig=destination, **ON_FAILURE)
    return len(mappings)


def deploy(project_dir: Path, stage: str, env: dict[str, str] | None = None) -> None:
    """`chalice deploy --stage <stage>` in `project_dir`, with `env` added to its environment,
    the modules compiled first so the package carries their bytecode (infra/bytecode.py)."""
    if not bytecode.compile_package(project_dir):
        raise FunctionsError("deploy", "a module of chalicelib does not compile (printed above)")
    _run("deploy", project_dir, stage, env or {})


def delete(project_dir: Path, stage: str) -> None:
    """`chalice delete --stage <stage>`: removes what the record names."""
    _run("delete", project_dir, stage, {})


def _run(action: str, project_dir: Path, stage: str, env: dict[str, str]) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        result = Path(scratch) / "result.json"
        command = [sys.executable, "-m", "infra.functions", action, "--stage", stage]
        command += ["--project-dir", str(project_dir), "--result", str(result)]
        done = subprocess.run(command, cwd=ROOT, env={**os.environ, **env}, check=False)
        outcome = json.loads(result.read_text()) if result.exists() else {}
    if done.returncode != 0:
        raise FunctionsError(
            action,
            outcome.get("error", f"exit status {done.returncode}"),
            outcome.get("operation"),
            outcome.get("status"),
        )


# --- the child process ---------------------------------------------------------------------
def merge(earlier: list[dict[str, Any]], made: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The record after a failed deploy: what it made or updated, and what earlier deploys made
    that it had not reached yet (it records per resource name)."""
    by_name = {r["name"]: r for r in earlier}
    by_name.update({r["name"]: r for r in made})
    return list(by_name.values())


def _failed_call(error: BaseException) -> tuple[str | None, int | None]:
    """The AWS operation and HTTP status behind a Chalice error, when there is one."""
    seen: BaseException | None = error
    while seen is not None:
        operation = getattr(seen, "operation_name", None)
        response = getattr(seen, "response", None)
        if operation and isinstance(response, dict):
            return str(operation), response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        seen = getattr(seen, "original_error", None) or seen.__cause__
    return None, None


def _child(action: str, stage: str, project_dir: Path, result: Path) -> int:
    from chalice.cli.factory import CLIFactory
    from chalice.deploy.deployer import ChaliceDeploymentError, ResultsRecorder
    from chalice.utils import UI, OSUtils

    os.environ["AWS_CHALICE_CLI_MODE"] = "true"  # as the chalice command sets it
    os.chdir(project_dir)
    factory = CLIFactory(str(project_dir), environ=os.environ)
    config = factory.create_config_obj(chalice_stage_name=stage)
    session = factory.create_botocore_session()
    ui = UI()
    if action == "delete":
        deployer = factory.create_deletion_deployer(session=session, ui=ui)
    else:
        deployer = factory.create_default_deployer(session=session, config=config, ui=ui)
    earlier = recorded(project_dir, stage)
    try:
        deployed = deployer.deploy(config, chalice_stage_name=stage)
    except ChaliceDeploymentError as error:
        if action == "deploy":
            # Chalice keeps what its executor made in `resource_values` (chalice 1.34, pinned).
            made = deployer._executor.resource_values
            record = {"resources": merge(earlier, made), "schema_version": "2.0", "backend": "api"}
            ResultsRecorder(osutils=OSUtils()).record_results(record, stage, str(project_dir))
        operation, status = _failed_call(error)
        result.write_text(json.dumps({"error": str(error), "operation": operation, "status": status}))
        print(error, file=sys.stderr)
        return 2
    if action == "deploy":
        factory.create_deployment_reporter(ui=ui).display_report(deployed)
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description="Run chalice deploy/delete (used by infra/deploy.py).")
    parser.add_argument("action", choices=["deploy", "delete"])
    parser.add_argument("--stage", required=True)
    parser.add_argument("--project-dir", type=Path, default=ROOT)
    parser.add_argument("--result", type=Path, required=True)
    args = parser.parse_args()
    sys.exit(_child(args.action, args.stage, args.project_dir.resolve(), args.result))


if __name__ == "__main__":
    main()
