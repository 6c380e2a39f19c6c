"""The deploy rehearsal: the code of `make deploy` and `make destroy` (infra/deploy.py,
infra/destroy.py, Chalice's own deployer in infra/functions.py) against moto in server mode on
loopback, as far as the emulator goes.

Where the emulator stops -- named here, not skipped:
* The REST API.  `chalice deploy` creates every function, its queue and stream subscriptions and
  its schedules first, then imports the REST API (a Swagger 2.0 document) into API Gateway.  moto
  answers that ImportRestApi call with HTTP 500: its import reads `info.description`, which
  Chalice's document has not, and it implements only OpenAPI 3 imports.  So every deploy here ends
  in a FunctionsError at exactly that call; there is no API URL, so setting SODATE_PUBLIC_URL from
  it (and the second `chalice deploy` that needs) is checked on its own in the last test.
* moto's CloudFormation creates no Secrets Manager secret, no SES configuration set and no Cognito
  user pool (nor its app client) and leaves their outputs out; `_fill_in` creates them, as
  devstack does for `make run`.  moto has no End User Messaging SMS at all: the texts'
  configuration set is only named (`make run` creates it in the stand-in).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from devstack.emulator import Emulator, free_port
from infra import deploy as deploy_module
from infra import functions
from infra.deploy import Installation, deploy
from infra.destroy import destroy
from infra.functions import FunctionsError
from infra.kept_data import load_template
from infra.stack import StackError, status
from infra.stage_config import ENVIRONMENT

ROOT = Path(__file__).resolve().parents[2]
MOTO_SKIPS = {
    "AdminTokenSecret",
    "LinkSigningKeySecret",
    "WebhookSigningKeySecret",
    "LineChannelSecret",
    "MailConfigurationSet",
    "SmsConfigurationSet",
    "UserPoolId",
    "UserPoolClientId",
}
SCHEDULES = {
    "tick": "rate(1 minute)",
    "sweep": "rate(1 minute)",
    "rfm": "cron(0 3 * * ? *)",
    "dates": "cron(0 0 * * ? *)",
}
HANDLERS = {"events_changed", "contacts_changed", "mail_feedback", "import_file", "beacon", *SCHEDULES}


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A moto server of its own on a loopback port, and the environment pointing every client at it."""
    server = Emulator(free_port(), tmp_path_factory.mktemp("moto") / "moto.log")
    server.start()
    with pytest.MonkeyPatch.context() as env:
        for name in ("AWS_PROFILE", "AWS_REGION", "AWS_SESSION_TOKEN"):
            env.delenv(name, raising=False)
        env.setenv("AWS_ENDPOINT_URL", server.endpoint)
        env.setenv("AWS_DEFAULT_REGION", "us-east-1")
        env.setenv("AWS_ACCESS_KEY_ID", "rehearsal")
        env.setenv("AWS_SECRET_ACCESS_KEY", "rehearsal")
        try:
            yield boto3.session.Session()
        finally:
            server.stop()


def _project(directory: Path) -> Path:
    """A copy of what Chalice deploys, without requirements: the rehearsal fetches no wheels."""
    shutil.copy(ROOT / "app.py", directory)
    shutil.copytree(
        ROOT / "chalicelib", directory / "chalicelib", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copytree(ROOT / ".chalice", directory / ".chalice", ignore=shutil.ignore_patterns("deploy*"))
    (directory / "requirements.txt").write_text("")
    return directory


def _fill_in(session: Any, prefix: str) -> Any:
    """What moto's CloudFormation leaves out: the three secrets, the SES configuration set, and the
    console's user pool with its app client (found again by name on a second deploy)."""
    secrets, ses, cognito = (
        session.client("secretsmanager"),
        session.client("ses"),
        session.client("cognito-idp"),
    )
    template_outputs = set(load_template()["Outputs"])

    def complete(outputs: dict[str, str]) -> dict[str, str]:
        assert template_outputs - set(outputs) == MOTO_SKIPS, "what moto's CloudFormation skips has changed"
        filled = dict(outputs)
        for key, name in (
            ("AdminTokenSecret", "admin-token"),
            ("LinkSigningKeySecret", "link-signing-key"),
            ("WebhookSigningKeySecret", "webhook-signing-key"),
            ("LineChannelSecret", "line-channel"),
        ):
            try:
                filled[key] = secrets.describe_secret(SecretId=f"{prefix}/{name}")["ARN"]
            except secrets.exceptions.ResourceNotFoundException:
                filled[key] = secrets.create_secret(Name=f"{prefix}/{name}", SecretString=f"{name}-value")[
                    "ARN"
                ]
        if f"{prefix}-mail" not in {c["Name"] for c in ses.list_configuration_sets()["ConfigurationSets"]}:
            ses.create_configuration_set(ConfigurationSet={"Name": f"{prefix}-mail"})
        filled["MailConfigurationSet"] = f"{prefix}-mail"
        filled["SmsConfigurationSet"] = f"{prefix}-sms"
        pools = {p["Name"]: p["Id"] for p in cognito.list_user_pools(MaxResults=60)["UserPools"]}
        pool = (
            pools.get(f"{prefix}-console")
            or cognito.create_user_pool(PoolName=f"{prefix}-console")["UserPool"]["Id"]
        )
        clients = cognito.list_user_pool_clients(UserPoolId=pool, MaxResults=60)["UserPoolClients"]
        filled["UserPoolId"] = pool
        filled["UserPoolClientId"] = (
            clients[0]["ClientId"]
            if clients
            else cognito.create_user_pool_client(UserPoolId=pool, ClientName=f"{prefix}-console")[
                "UserPoolClient"
            ]["ClientId"]
        )
        return filled

    return complete


def _deploy_until_the_rest_api(session: Any, installation: Installation) -> dict[str, str]:
    """One `make deploy`; it must stop at the REST API import and nowhere else (see the top)."""
    outputs: dict[str, str] = {}
    fill = _fill_in(session, installation.prefix)

    def complete(found: dict[str, str]) -> dict[str, str]:
        outputs.update(fill(found))
        return outputs

    with pytest.raises(FunctionsError) as stopped:
        deploy(session, installation, complete, say=lambda line: None)
    # THE EMULATOR'S LIMIT: moto answers 500 to API Gateway's ImportRestApi (Swagger 2.0 import).
    assert (stopped.value.operation, stopped.value.status) == ("ImportRestApi", 500), stopped.value
    assert session.client("apigateway").get_rest_apis()["items"] == [], "nothing else stood in for it"
    assert functions.api_url(installation.project_dir, installation.stage) is None
    return outputs


def _installed(session: Any, stage: str) -> dict[str, Any]:
    """The functions of the stage as Lambda and EventBridge see them."""
    lambdas, events = session.client("lambda"), session.client("events")
    named = {f["FunctionName"]: f for f in lambdas.list_functions()["Functions"]}
    ours = {name: config for name, config in named.items() if name.startswith(f"sodate-{stage}")}
    sources = [
        (m["FunctionArn"].rsplit(":", 1)[-1], m["EventSourceArn"], m["BatchSize"])
        for m in lambdas.list_event_source_mappings()["EventSourceMappings"]
    ]
    rules = {
        r["Name"]: (
            r["ScheduleExpression"],
            [t["Arn"] for t in events.list_targets_by_rule(Rule=r["Name"])["Targets"]],
        )
        for r in events.list_rules(NamePrefix=f"sodate-{stage}-")["Rules"]
    }
    return {"functions": ours, "sources": sorted(sources), "rules": rules}


def _queue_arn(session: Any, url: str) -> str:
    attributes = session.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return str(attributes["Attributes"]["QueueArn"])


def test_deploy_redeploy_and_destroy_against_the_emulator(emulator: Any, tmp_path: Path) -> None:
    session = emulator
    installation = Installation(stage="dev", prefix="sodate", project_dir=_project(tmp_path))
    outputs = _deploy_until_the_rest_api(session, installation)

    # The stack, and the stage pointed at its outputs.
    cfn = session.client("cloudformation")
    assert status(cfn, "sodate") == "CREATE_COMPLETE"
    stage = json.loads(installation.config_path.read_text())["stages"]["dev"]
    assert stage["manage_iam_role"] is False and stage["iam_role_arn"] == outputs["FunctionsRoleArn"]
    assert stage["environment_variables"] == {name: outputs[key] for name, key in ENVIRONMENT.items()}

    # Every function, with the stack's role, the stage's environment and its own limits.
    seen = _installed(session, "dev")
    assert set(seen["functions"]) == {"sodate-dev"} | {f"sodate-dev-{name}" for name in HANDLERS}
    for name, function in seen["functions"].items():
        assert function["Role"] == outputs["FunctionsRoleArn"], name
        assert function["Environment"]["Variables"] == stage["environment_variables"], name
        assert function["Handler"] == (
            "app.app" if name == "sodate-dev" else f"app.{name[len('sodate-dev-') :]}"
        )
        limits = {"import_file": (900, 1024), "beacon": (10, 512)}.get(name[len("sodate-dev-") :], (60, 512))
        assert (function["Timeout"], function["MemorySize"]) == limits, name

    # The beacon function's own URL: open to browsers (both grants), made once, found again; and
    # its logs quiet (moto keeps no LoggingConfig, so what was asked of it is read on the way).
    asked: list[dict[str, Any]] = []
    session.events.register(
        "provide-client-params.lambda.UpdateFunctionConfiguration", lambda params, **_: asked.append(params)
    )
    url = functions.beacon_url(session, installation.project_dir, "dev")
    assert url and url == functions.beacon_url(session, installation.project_dir, "dev")
    lam = session.client("lambda")
    config = lam.get_function_url_config(FunctionName="sodate-dev-beacon")
    assert (config["AuthType"], config["FunctionUrl"].rstrip("/")) == ("NONE", url)
    grants = json.loads(lam.get_policy(FunctionName="sodate-dev-beacon")["Policy"])["Statement"]
    assert sorted(g["Action"] for g in grants) == ["lambda:InvokeFunction", "lambda:InvokeFunctionUrl"]
    assert {a["LoggingConfig"]["SystemLogLevel"] for a in asked} == {"WARN"}, "no START/REPORT per view"

    # The event sources: both streams and both queues, once each.
    expected_sources = sorted(
        [
            ("sodate-dev-contacts_changed", outputs["ContactsStreamArn"], 100),
            ("sodate-dev-events_changed", outputs["EventsStreamArn"], 100),
            ("sodate-dev-import_file", _queue_arn(session, outputs["ImportQueueUrl"]), 1),
            ("sodate-dev-mail_feedback", _queue_arn(session, outputs["MailFeedbackQueueUrl"]), 10),
        ]
    )
    assert seen["sources"] == expected_sources

    # A stream batch a function fails is halved until the failing record is alone, which after
    # its tries is parked on the dead-letter queue: it holds up no record behind it.
    parked = functions.park_failed_batches(
        session, installation.project_dir, "dev", outputs["ImportDeadLetterQueueUrl"]
    )
    assert (
        parked
        == 2
        == functions.park_failed_batches(
            session, installation.project_dir, "dev", outputs["ImportDeadLetterQueueUrl"]
        )
    )
    dead_letters = _queue_arn(session, outputs["ImportDeadLetterQueueUrl"])
    for mapping in lam.list_event_source_mappings()["EventSourceMappings"]:
        streamed = mapping["EventSourceArn"] in (outputs["ContactsStreamArn"], outputs["EventsStreamArn"])
        assert mapping.get("BisectBatchOnFunctionError") is (True if streamed else None), mapping
        assert mapping.get("MaximumRetryAttempts") == (10 if streamed else None)
        assert mapping.get("DestinationConfig") == (
            {"OnFailure": {"Destination": dead_letters}} if streamed else None
        )

    # The schedules: tick, sweep, rfm and dates, each aimed at its function.
    assert seen["rules"] == {
        f"sodate-dev-{name}-event": (expression, [seen["functions"][f"sodate-dev-{name}"]["FunctionArn"]])
        for name, expression in SCHEDULES.items()
    }

    # Again, with another sender: the stack is updated and so are the functions -- nothing doubles.
    again = Installation(stage="dev", prefix="sodate", sender="news@shop.example.jp", project_dir=tmp_path)
    updated = _deploy_until_the_rest_api(session, again)
    assert status(cfn, "sodate") == "UPDATE_COMPLETE"
    after = _installed(session, "dev")
    assert set(after["functions"]) == set(seen["functions"])
    assert after["sources"] == expected_sources and after["rules"] == seen["rules"]
    for name, function in after["functions"].items():
        assert function["Environment"]["Variables"]["SODATE_SENDER"] == "news@shop.example.jp", name
    assert updated["Bucket"] == outputs["Bucket"]

    # Destroy, keeping the data: functions, subscriptions, schedules and stack gone; tables and bucket stay.
    s3, dynamodb = session.client("s3"), session.client("dynamodb")
    s3.put_object(Bucket=outputs["Bucket"], Key="imports/contacts.csv", Body=b"email\na@example.jp\n")
    gone = destroy(session, again, keep_data=True, say=lambda line: None)
    assert _installed(session, "dev") == {"functions": {}, "sources": [], "rules": {}}
    assert status(cfn, "sodate") is None
    assert session.client("sqs").list_queues().get("QueueUrls", []) == []
    tables = {outputs[key] for key in ENVIRONMENT.values() if key.endswith("Table")}
    assert tables <= set(dynamodb.list_tables()["TableNames"])
    assert (
        s3.get_object(Bucket=outputs["Bucket"], Key="imports/contacts.csv")["Body"]
        .read()
        .startswith(b"email")
    )
    assert set(gone.kept) == {f"table {t}" for t in tables} | {f"bucket {outputs['Bucket']}"}
    assert "function sodate-dev-tick" in gone.removed and "stack sodate" in " ".join(gone.removed)

    # A new deploy over the kept data is refused before anything is made; dropping the data clears it.
    with pytest.raises(StackError, match="sodate-contacts"):
        deploy(session, installation, _fill_in(session, "sodate"), say=lambda line: None)
    assert status(cfn, "sodate") is None
    dropped = destroy(session, installation, keep_data=False, say=lambda line: None)
    assert set(dropped.removed) == set(gone.kept)
    assert not tables & set(dynamodb.list_tables()["TableNames"])
    assert outputs["Bucket"] not in {b["Name"] for b in s3.list_buckets()["Buckets"]}


def test_the_api_url_becomes_the_public_url_and_only_a_change_redeploys(
    emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What moto stops before: once the API is known, the stage's SODATE_PUBLIC_URL is set to its URL
    and the functions are deployed again -- only when it changed.  Chalice is replaced by a stand-in
    that records what a successful deploy records."""
    project = tmp_path / "project"
    shutil.copytree(ROOT / ".chalice", project / ".chalice", ignore=shutil.ignore_patterns("deploy*"))
    installation = Installation(stage="pub", prefix="sodpub", project_dir=project)
    seen: list[str | None] = []
    url = "https://abc123.execute-api.us-east-1.amazonaws.com/api/"

    def chalice_deploy(project_dir: Path, stage: str, env: dict[str, str] | None = None) -> None:
        config = json.loads((project_dir / ".chalice" / "config.json").read_text())
        seen.append(config["stages"][stage]["environment_variables"].get("SODATE_PUBLIC_URL"))
        assert env and env["SODATE_IMPORT_QUEUE_NAME"] == "sodpub-imports"
        record = {"resources": [{"name": "rest_api", "resource_type": "rest_api", "rest_api_url": url}]}
        functions.record_path(project_dir, stage).parent.mkdir(parents=True, exist_ok=True)
        functions.record_path(project_dir, stage).write_text(json.dumps(record))

    monkeypatch.setattr(deploy_module.functions, "deploy", chalice_deploy)
    printed: list[str] = []
    result = deploy(emulator, installation, _fill_in(emulator, "sodpub"), say=printed.append)
    assert seen == [None, url.rstrip("/")] and result.chalice_runs == 2
    text = "\n".join(printed)
    assert url.rstrip("/") in text and result.outputs["AdminTokenSecret"] in text
    assert "admin-token-value" not in text, "the token itself is never printed"
    assert "sandbox" in text and "Verify the sender" in text

    seen.clear()
    assert deploy(emulator, installation, _fill_in(emulator, "sodpub"), say=printed.append).chalice_runs == 1
    assert seen == [url.rstrip("/")]
