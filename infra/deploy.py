"""`make deploy`: install Sodate, or update it, in the AWS account the environment's credentials
and region point at.

    python -m infra.deploy --stage dev --prefix sodate [--stack sodate] [--sender a@b] [--public-url U]

1. the stack of infra/template.yaml: created, or updated ("no changes" is fine);
2. the Chalice stage pointed at the stack's outputs and role (infra/stage_config.py's `apply`);
3. `chalice deploy --stage <stage>`, with the queue names and stream ARNs app.py reads while it
   is packaged (its event sources);
4. the API's URL (or --public-url) set as the stage's SODATE_PUBLIC_URL, where the links in mail
   point; the functions are deployed again only when that changed;
5. the API URL, the admin token's secret id (never the token) and the next steps, printed.

Every call goes where boto3 sends it: AWS, or AWS_ENDPOINT_URL when that is set (the rehearsal in
tests/aws/test_deploy_rehearsal.py points it at the emulator).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from infra import functions, kept_data, stack
from infra.functions import FunctionsError
from infra.stack import StackError
from infra.stage_config import DEPLOY_TIME, ENVIRONMENT, apply

ROOT = Path(__file__).resolve().parent.parent
Say = Callable[[str], None]


@dataclass(frozen=True)
class Installation:
    """Which installation: a Chalice stage over one stack (one stage per prefix)."""

    stage: str = "dev"
    prefix: str = "sodate"
    stack: str = ""  # the prefix when empty
    sender: str | None = None  # the template's default on create, the previous value on update
    public_url: str | None = None  # your tracking domain; the API's URL when None
    project_dir: Path = ROOT  # where app.py and .chalice/ are

    @property
    def stack_name(self) -> str:
        return self.stack or self.prefix

    @property
    def config_path(self) -> Path:
        return self.project_dir / ".chalice" / "config.json"

    def parameters(self) -> dict[str, str]:
        return {"Prefix": self.prefix} | ({"SenderAddress": self.sender} if self.sender else {})


@dataclass
class Deployed:
    stack: str  # created, updated or unchanged
    outputs: dict[str, str]
    api_url: str | None = None
    public_url: str | None = None
    beacon_url: str | None = None
    chalice_runs: int = 0
    notes: list[str] = field(default_factory=list)


def deploy_stack(session: Any, installation: Installation) -> tuple[str, dict[str, str]]:
    """Step 1: the stack, created or updated; returns what happened and its outputs."""
    cfn = session.client("cloudformation")
    if stack.status(cfn, installation.stack_name) in (None, "ROLLBACK_COMPLETE"):
        # CloudFormation cannot create tables or a bucket over ones an earlier destroy kept.
        clash = kept_data.existing(session, kept_data.expected(session, installation.parameters()))
        if clash:
            raise StackError(
                f"{', '.join(map(str, clash))} already exist, kept by an earlier destroy or a failed "
                "first deploy; the stack cannot be created over them. Remove them with "
                "`make destroy KEEP_DATA=0` (their data is lost) or choose another PREFIX."
            )
    action = stack.deploy_stack(cfn, installation.stack_name, installation.parameters())
    return action, stack.outputs(cfn, installation.stack_name)


def write_stage(installation: Installation, outputs: dict[str, str]) -> None:
    """Step 2: the stage's role and environment from the stack's outputs."""
    path = installation.config_path
    config = apply(json.loads(path.read_text()), installation.stage, outputs)
    path.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n")


def deploy_time_env(outputs: dict[str, str]) -> dict[str, str]:
    """What app.py reads while Chalice packages it (the queues and streams of its event sources)."""
    return {name: outputs[ENVIRONMENT[name]] for name in DEPLOY_TIME}


def set_stage_url(installation: Installation, url: str, name: str = "SODATE_PUBLIC_URL") -> bool:
    """Step 4: an address the functions need in the stage (SODATE_PUBLIC_URL, where links in mail
    point; SODATE_BEACON_URL, the tag's address the console shows); True when it changed."""
    path = installation.config_path
    config = json.loads(path.read_text())
    environment = config["stages"][installation.stage].setdefault("environment_variables", {})
    url = url.rstrip("/")
    if environment.get(name) == url:
        return False
    environment[name] = url
    path.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n")
    return True


def deploy(
    session: Any,
    installation: Installation,
    complete: Callable[[dict[str, str]], dict[str, str]] | None = None,
    say: Say = print,
) -> Deployed:
    """Every step.  `complete` may add to the stack's outputs (the rehearsal fills in what the
    emulator's CloudFormation leaves out).  A failing `chalice deploy` raises FunctionsError,
    after recording what it made (infra/functions.py)."""
    action, outputs = deploy_stack(session, installation)
    if complete is not None:
        outputs = complete(outputs)
    say(f"stack {installation.stack_name}: {action}")
    write_stage(installation, outputs)
    say(f"{installation.config_path}: stage {installation.stage} points at stack {installation.stack_name}")
    result = Deployed(action, outputs)
    env = deploy_time_env(outputs)
    if installation.public_url:
        set_stage_url(installation, installation.public_url)
    functions.deploy(installation.project_dir, installation.stage, env)
    result.chalice_runs += 1
    result.api_url = functions.api_url(installation.project_dir, installation.stage)
    result.public_url = installation.public_url or result.api_url
    result.beacon_url = functions.beacon_url(session, installation.project_dir, installation.stage)
    changed = [
        f"{name} is now {url}"
        for name, url in (("SODATE_PUBLIC_URL", result.public_url), ("SODATE_BEACON_URL", result.beacon_url))
        if url and set_stage_url(installation, url, name)
    ]
    if changed:
        say("; ".join(changed) + "; deploying the functions again")
        functions.deploy(installation.project_dir, installation.stage, env)
        result.chalice_runs += 1
    parked = functions.park_failed_batches(
        session, installation.project_dir, installation.stage, outputs["ImportDeadLetterQueueUrl"]
    )
    say(f"{parked} stream subscriptions park a record that keeps failing on the dead-letter queue")
    for line in summary(installation, result):
        say(line)
    return result


def summary(installation: Installation, result: Deployed) -> list[str]:
    outputs = result.outputs
    tag_base = result.beacon_url or result.public_url or "<API>"
    # Through the beacon's URL, the tag's forms still need the API (data-api; tag.js).
    forms = f' data-api="{result.public_url}"' if result.beacon_url and result.public_url else ""
    secret = outputs["AdminTokenSecret"]
    return [
        "",
        f"Sodate is deployed: stage {installation.stage}, stack {installation.stack_name} ({result.stack}).",
        f"  API:          {result.api_url or '(not known)'}",
        f"  Links in mail point at {result.public_url or '(not set)'}",
        f"  Page views:   {result.beacon_url or '(not known)'} (the beacon function's URL)",
        f"  Bucket:       {outputs['Bucket']}",
        f"  Admin token:  in Secrets Manager, secret {secret}",
        f"                aws secretsmanager get-secret-value --secret-id {secret} "
        "--query SecretString --output text",
        "Next steps:",
        f"  1. Verify the sender {outputs['SenderAddress']} in SES: open the link in the mail SES sent "
        "to it (a domain identity needs its DNS records).",
        "  2. Leave the SES sandbox (request production access in the SES console); until then SES "
        "mails only verified addresses.",
        "  3. Register your site (POST /admin/sites with the admin token, or the console's Sites page) "
        "and put its tag on every page:",
        f'     <script async src="{tag_base}/tag.js" data-site="<site id>"{forms}></script>',
        "Run `make deploy` again to update; `make destroy` removes the installation (keeping the data).",
    ]


def installation_arguments(description: str | None) -> argparse.ArgumentParser:
    """What names an installation, for `make deploy` and `make destroy` alike."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--prefix", default="sodate")
    parser.add_argument("--stack", default="", help="the stack's name (default: the prefix)")
    return parser


def regional_session(command: str) -> boto3.session.Session:
    """The user's AWS session; without a region there is nowhere to deploy to (or from)."""
    session = boto3.session.Session()
    if not session.region_name:
        sys.exit(f"{command}: no region; set AWS_REGION (or AWS_DEFAULT_REGION) as for the aws command")
    return session


def main(argv: list[str] | None = None) -> None:
    parser = installation_arguments(__doc__)
    parser.add_argument("--sender", default="", help="the address Sodate's mail comes from")
    parser.add_argument("--public-url", default="", help="where links in mail point (default: the API)")
    args = parser.parse_args(argv)
    installation = Installation(
        stage=args.stage,
        prefix=args.prefix,
        stack=args.stack,
        sender=args.sender or None,
        public_url=args.public_url or None,
    )
    session = regional_session("make deploy")
    try:
        deploy(session, installation)
    except (StackError, SystemExit) as error:
        sys.exit(f"make deploy stopped: {error}")
    except FunctionsError as error:
        record = functions.record_path(installation.project_dir, installation.stage)
        sys.exit(
            f"make deploy stopped: {error}\nWhat chalice made before that is recorded in {record}: "
            "`make deploy` again updates it, `make destroy` removes it."
        )


if __name__ == "__main__":
    main()
