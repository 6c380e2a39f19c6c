"""Feed a deployed stack's outputs into a Chalice stage (.chalice/config.json).

`make deploy` (infra/deploy.py) does this with `apply`; by hand:

    python infra/stage_config.py --stack sodate --stage dev

Sets the stage's environment variables (table names, bucket, queue, the admin
token's secret id, the console's user pool and app client) and the
least-privilege role the stack created, so `chalice deploy --stage dev` needs
no hand edits.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import boto3

CONFIG = Path(__file__).resolve().parent.parent / ".chalice" / "config.json"

ENVIRONMENT = {
    "SODATE_CONTACTS_TABLE": "ContactsTable",
    "SODATE_IMPORTS_TABLE": "ImportsTable",
    "SODATE_SUPPRESSIONS_TABLE": "SuppressionsTable",
    "SODATE_SITES_TABLE": "SitesTable",
    "SODATE_EVENTS_TABLE": "EventsTable",
    "SODATE_BUCKET": "Bucket",
    "SODATE_IMPORT_QUEUE_URL": "ImportQueueUrl",
    "SODATE_IMPORT_QUEUE_NAME": "ImportQueueName",
    "SODATE_ADMIN_TOKEN_SECRET": "AdminTokenSecret",
    "SODATE_LINK_KEY_SECRET": "LinkSigningKeySecret",
    "SODATE_DEFINITIONS_TABLE": "DefinitionsTable",
    "SODATE_SEGMENTS_TABLE": "SegmentsTable",
    "SODATE_SALES_ALERTS_TOPIC": "SalesAlertsTopicArn",
    "SODATE_SENDER": "SenderAddress",
    "SODATE_DEAD_LETTER_QUEUE_URL": "ImportDeadLetterQueueUrl",
    "SODATE_EVENTS_STREAM_ARN": "EventsStreamArn",
    "SODATE_CONTACTS_STREAM_ARN": "ContactsStreamArn",
    "SODATE_JOURNEYS_TABLE": "JourneysTable",
    "SODATE_CONFIGURATION_SET": "MailConfigurationSet",
    "SODATE_SMS_CONFIGURATION_SET": "SmsConfigurationSet",
    "SODATE_FEEDBACK_QUEUE": "MailFeedbackQueueName",
    "SODATE_WEBHOOK_KEY_SECRET": "WebhookSigningKeySecret",
    "SODATE_LINE_CHANNEL_SECRET": "LineChannelSecret",
    "SODATE_CONSOLE_TABLE": "ConsoleTable",
    "SODATE_PEOPLE_INDEX_TABLE": "PeopleIndexTable",
    "SODATE_USER_POOL_ID": "UserPoolId",
    "SODATE_USER_POOL_CLIENT_ID": "UserPoolClientId",
}


# app.py reads these while `chalice deploy` packages it (queue and stream event sources).
DEPLOY_TIME = (
    "SODATE_IMPORT_QUEUE_NAME",
    "SODATE_EVENTS_STREAM_ARN",
    "SODATE_CONTACTS_STREAM_ARN",
    "SODATE_FEEDBACK_QUEUE",
)


def stack_outputs(cloudformation: Any, stack: str) -> dict[str, str]:
    described = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}


def apply(config: dict[str, Any], stage: str, outputs: dict[str, str]) -> dict[str, Any]:
    missing = sorted({*ENVIRONMENT.values(), "FunctionsRoleArn"} - set(outputs))
    if missing:
        raise SystemExit(f"The stack lacks outputs {missing}; deploy infra/template.yaml first.")
    settings = config.setdefault("stages", {}).setdefault(stage, {})
    settings["manage_iam_role"] = False
    settings["iam_role_arn"] = outputs["FunctionsRoleArn"]
    settings.setdefault("environment_variables", {}).update(
        {name: outputs[key] for name, key in ENVIRONMENT.items()}
    )
    return config


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stack", default="sodate")
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--config", type=Path, default=CONFIG)
    parser.add_argument(
        "--public-url",
        help="the API's public https URL (or your tracking domain), used in links in scenario mail",
    )
    parser.add_argument(
        "--print-env",
        action="store_true",
        help="print `export` lines for what `chalice deploy` reads when it builds the event sources",
    )
    args = parser.parse_args()
    outputs = stack_outputs(boto3.client("cloudformation"), args.stack)
    if args.print_env:
        for name in DEPLOY_TIME:
            print(f"export {name}={outputs[ENVIRONMENT[name]]}")
        return
    config = apply(json.loads(args.config.read_text()), args.stage, outputs)
    if args.public_url:
        environment = config["stages"][args.stage]["environment_variables"]
        environment["SODATE_PUBLIC_URL"] = args.public_url.rstrip("/")
    args.config.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n")
    print(f"{args.config}: stage '{args.stage}' now points at stack '{args.stack}'.")


if __name__ == "__main__":
    main()
