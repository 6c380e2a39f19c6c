"""What `chalice deploy` would ship, checked offline, and the stack that feeds it."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from cfnlint.decode import cfn_yaml

from devstack.cloudformation import TEMPLATE
from infra.stage_config import apply, stack_outputs

ROOT = Path(__file__).resolve().parents[2]


def test_chalice_package_makes_the_functions_we_expect(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(ROOT / "app.py", project)
    shutil.copytree(ROOT / "chalicelib", project / "chalicelib")
    shutil.copytree(ROOT / ".chalice", project / ".chalice", ignore=shutil.ignore_patterns("deployments"))
    (project / "requirements.txt").write_text("")  # offline: no wheels to fetch
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SODATE_"))}
    env["AWS_DEFAULT_REGION"] = "ap-northeast-1"
    stream = "arn:aws:dynamodb:ap-northeast-1:123456789012:table/sodate-{}/stream/2026-11-23T00:00:00.000"
    env["SODATE_EVENTS_STREAM_ARN"] = stream.format("events")  # what stage_config.py --print-env exports
    env["SODATE_CONTACTS_STREAM_ARN"] = stream.format("contacts")
    chalice = Path(sys.executable).with_name("chalice")
    subprocess.run(
        [str(chalice), "package", "--stage", "dev", str(tmp_path / "out")],
        cwd=project,
        env=env,
        check=True,
        capture_output=True,
    )
    resources = json.loads((tmp_path / "out" / "sam.json").read_text())["Resources"]

    importer = resources["ImportFile"]["Properties"]
    assert importer["Handler"] == "app.import_file" and importer["Timeout"] == 900
    (source,) = importer["Events"].values()
    assert source["Type"] == "SQS" and source["Properties"]["BatchSize"] == 1
    assert source["Properties"]["Queue"]["Fn::Sub"].endswith(":sodate-imports")
    definition = resources["RestAPI"]["Properties"]["DefinitionBody"]
    assert "*/*" in definition["x-amazon-apigateway-binary-media-types"], "pixels decode whatever Accept says"
    api = definition["paths"]
    assert {"/admin/contacts", "/admin/contacts/{contact_id}", "/admin/contacts/{contact_id}/export"} <= set(
        api
    )
    for function, table in (("EventsChanged", "events"), ("ContactsChanged", "contacts")):
        (source,) = resources[function]["Properties"]["Events"].values()
        assert source["Type"] == "DynamoDB" and source["Properties"]["BatchSize"] == 100
        assert source["Properties"]["Stream"] == stream.format(table)
    schedules = {
        name: next(iter(resources[name]["Properties"]["Events"].values()))["Properties"]["Schedule"]
        for name in ("Sweep", "Rfm", "Tick", "Dates")
    }
    assert schedules == {
        "Sweep": "rate(1 minute)",
        "Rfm": "cron(0 3 * * ? *)",
        "Tick": "rate(1 minute)",
        "Dates": "cron(0 0 * * ? *)",
    }
    (feedback,) = resources["MailFeedback"]["Properties"]["Events"].values()
    assert feedback["Type"] == "SQS" and feedback["Properties"]["Queue"]["Fn::Sub"].endswith(
        ":sodate-mail-feedback"
    )
    assert {"/c/{token}", "/o/{token}", "/u/{token}", "/admin/scenarios/{name}/report"} <= set(api)
    assert not [r for r in resources.values() if r["Type"] == "AWS::IAM::Role"], "the stack's role is used"
    assert importer["Role"] == resources["APIHandler"]["Properties"]["Role"]


def test_the_functions_role_is_least_privilege() -> None:
    role = cfn_yaml.loads(TEMPLATE.read_text())["Resources"]["FunctionsRole"]["Properties"]
    statements = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]
    for statement in statements:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert all("*" not in action for action in actions), statement["Sid"]
        assert "NotResource" not in statement and statement["Resource"] != "*", statement["Sid"]
    # texts: End User Messaging SMS's send alone, on the account's own resources in the stack's
    # region; nothing of SNS's phone-number publishing is left
    (texts,) = [s for s in statements if s["Sid"] == "SendTexts"]
    assert texts["Action"] == "sms-voice:SendTextMessage"
    assert texts["Resource"] == {
        "Fn::Sub": "arn:${AWS::Partition}:sms-voice:${AWS::Region}:${AWS::AccountId}:*"
    }
    assert not [s for s in statements if "sns:CheckIfPhoneNumberIsOptedOut" in str(s["Action"])]


def test_the_functions_role_allows_every_dynamodb_call_the_code_makes() -> None:
    """moto checks no permission: a call the role lacks would fail only on AWS.  Every client
    call on a table, and every kind of item in a transaction (AWS checks each one as its own
    action: a ConditionCheck as dynamodb:ConditionCheckItem), must be in the role."""
    role = cfn_yaml.loads(TEMPLATE.read_text())["Resources"]["FunctionsRole"]["Properties"]
    statements = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]
    (tables,) = [s for s in statements if s["Sid"] == "Tables"]
    code = "\n".join(p.read_text() for p in (ROOT / "chalicelib" / "store").glob("*.py"))
    calls = set(re.findall(r"db\.([a-z_]+)\(", code)) - {"transact_write_items"}
    kinds = set(re.findall(r'"(Put|Update|Delete|ConditionCheck)": \{', code))
    assert calls >= {"update_item", "batch_write_item"} and "ConditionCheck" in kinds, (
        "the scan reads the code"
    )
    needed = {"dynamodb:" + "".join(w.title() for w in c.split("_")) for c in calls}
    needed |= {f"dynamodb:{kind}Item" for kind in kinds}
    assert needed - set(tables["Action"]) == set()


def test_the_texts_configuration_set_publishes_every_text_event_to_the_feedback_topic() -> None:
    resources = cfn_yaml.loads(TEMPLATE.read_text())["Resources"]
    found = resources["SmsConfigurationSet"]
    assert found["Type"] == "AWS::SMSVOICE::ConfigurationSet"
    (destination,) = found["Properties"]["EventDestinations"]
    assert destination["Enabled"] is True and destination["MatchingEventTypes"] == ["TEXT_ALL"]
    assert destination["SnsDestination"]["TopicArn"] == {"Ref": "SmsEventsTopic"}
    (allowed,) = resources["SmsEventsTopicPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert allowed["Principal"] == {"Service": "sms-voice.amazonaws.com"}


def test_stage_config_takes_the_stacks_outputs(aws) -> None:
    outputs = stack_outputs(aws["session"].client("cloudformation"), "sodate")
    for secret in (
        "AdminTokenSecret",
        "LinkSigningKeySecret",
        "WebhookSigningKeySecret",
        "LineChannelSecret",
        "MailConfigurationSet",
        "SmsConfigurationSet",
        "UserPoolId",
        "UserPoolClientId",
    ):
        # moto skips the outputs of the types it does not create (filled in by devstack)
        outputs.setdefault(secret, aws[secret])
    config = apply(json.loads((ROOT / ".chalice" / "config.json").read_text()), "dev", outputs)
    stage = config["stages"]["dev"]
    assert stage["iam_role_arn"] == outputs["FunctionsRoleArn"] and stage["manage_iam_role"] is False
    assert stage["environment_variables"]["SODATE_BUCKET"] == outputs["Bucket"]
    assert stage["environment_variables"]["SODATE_CONTACTS_TABLE"] == "sodate-contacts"
    assert stage["environment_variables"]["SODATE_LINE_CHANNEL_SECRET"] == outputs["LineChannelSecret"]
    assert stage["environment_variables"]["SODATE_SMS_CONFIGURATION_SET"] == "sodate-sms"


def test_the_compiled_wheels_load_on_the_lambda_runtime_chalice_packages_for() -> None:
    """`chalice package` picks the runtime from this Python (3.11: Amazon Linux 2, glibc 2.26) and
    ships the same wheel pip installed here; a wheel built for a newer glibc would fail to import
    in Lambda while every local test passes."""
    from importlib.metadata import distribution

    assert sys.version_info[:2] == (3, 11)
    wheel = distribution("google-re2").read_text("WHEEL") or ""
    tags = [line.split(": ", 1)[1] for line in wheel.splitlines() if line.startswith("Tag: ")]
    glibc = {"manylinux1_x86_64": (2, 5), "manylinux2010_x86_64": (2, 12), "manylinux2014_x86_64": (2, 17)}
    needs = []  # a wheel with several tags installs where any of them holds
    for tag in tags:
        platform = tag.split("-")[-1]
        if platform.startswith("manylinux_"):
            needs.append(tuple(int(part) for part in platform.split("_")[1:3]))
        else:
            needs.append(glibc[platform])
    assert min(needs) <= (2, 26), tags
