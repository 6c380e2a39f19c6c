"""`make run`: the whole of Sodate on this machine, in the foreground.

moto (server mode) is the AWS; infra/template.yaml is deployed into it by
CloudFormation; the Chalice app serves the API; the pump feeds the queues to
the Lambda handlers.  Ctrl-C stops everything.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from devstack import banner, console_user, demo_site, lock, sms_voice_standin, state
from devstack.cloudformation import LocalStack
from devstack.emulator import Emulator, free_port
from devstack.pump import Every, QueuePump, Schedule, StreamPump
from devstack.state import LocalState, Resources, Restored

ROOT = Path(__file__).resolve().parent.parent
REGION = "us-east-1"
LOCAL_SITE_ID = "local-demo"
EXAMPLES = ROOT / "examples" / "config"


@dataclass
class Running:
    emulator: Emulator
    env: dict[str, str]
    server: Any = None
    threads: list[threading.Thread] = field(default_factory=list)
    pumps: list[Any] = field(default_factory=list)
    extra_servers: list[Any] = field(default_factory=list)
    state: LocalState | None = None
    restored: Restored | None = None
    _saving: threading.Lock = field(default_factory=threading.Lock)

    def save(self) -> None:
        """Dump the local state (on stop, and every few minutes while running)."""
        if self.state is None:
            return
        from chalicelib import clock

        with self._saving:
            unhandled = {p.function_name: p.unhandled() for p in self.pumps if isinstance(p, StreamPump)}
            self.state.save(clock.offset(), unhandled)

    def stop(self) -> None:
        for pump in self.pumps:
            pump.stop()
        try:  # a batch being handled is in the dump too: it is handed over again after the restart
            self.save()
        except Exception:  # the emulator may already be gone; the last good dump stays
            logging.getLogger("sodate.state").exception("the local state could not be saved")
        for server in [self.server, *self.extra_servers]:
            if server is not None:
                server.shutdown()
        deadline = time.monotonic() + 3  # a handler still busy is a daemon thread: it ends with us
        for thread in self.threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        self.emulator.stop()


def start(
    local_dir: Path,
    moto_port: int,
    api_port: int,
    rows_per_run: int = 0,
    sweep_seconds: float = 60,
    examples: bool = True,
    durable: bool = True,
    save_every: float = 300,
) -> Running:
    emulator = Emulator(free_port(moto_port), local_dir / "moto.log")
    emulator.start()
    running = Running(emulator, {})
    try:
        aws = {
            "AWS_ENDPOINT_URL": emulator.endpoint,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
        }
        os.environ.update(aws)
        session = boto3.session.Session(region_name=REGION)
        texts = sms_voice_standin.serve_locally(session, local_dir / "sms")  # moto has no End User Messaging
        running.extra_servers.append(texts)
        stack = LocalStack(
            session, "sodate", sms_voice=session.client("pinpoint-sms-voice-v2", endpoint_url=texts.url)
        )
        outputs = stack.deploy({"Prefix": "sodate"})
        if durable:
            running.state = LocalState(session, _resources(stack), local_dir)
            if running.state.exists():
                password = console_user.credentials(local_dir)[1]  # the restored console users'
                running.restored = running.state.restore(stack.notifications_paused, password)
                from chalicelib import clock

                clock.travel(running.restored.clock_offset)
        token = session.client("secretsmanager").get_secret_value(SecretId=outputs["AdminTokenSecret"])[
            "SecretString"
        ]
        api_port = free_port(api_port)
        env = {
            **aws,
            "SODATE_API": f"http://127.0.0.1:{api_port}",
            "SODATE_BUCKET": outputs["Bucket"],
            "SODATE_ADMIN_TOKEN": token,
            "SODATE_SITE_ID": LOCAL_SITE_ID,
            "SODATE_STAGE": "local",
            "SODATE_CONTACTS_TABLE": outputs["ContactsTable"],
            "SODATE_IMPORTS_TABLE": outputs["ImportsTable"],
            "SODATE_SUPPRESSIONS_TABLE": outputs["SuppressionsTable"],
            "SODATE_SITES_TABLE": outputs["SitesTable"],
            "SODATE_EVENTS_TABLE": outputs["EventsTable"],
            "SODATE_IMPORT_QUEUE_URL": outputs["ImportQueueUrl"],
            "SODATE_IMPORT_QUEUE_NAME": outputs["ImportQueueName"],
            "SODATE_IMPORT_DLQ_URL": outputs["ImportDeadLetterQueueUrl"],
            "SODATE_DEAD_LETTER_QUEUE_URL": outputs["ImportDeadLetterQueueUrl"],
            "SODATE_ADMIN_TOKEN_SECRET": outputs["AdminTokenSecret"],
            "SODATE_LINK_KEY_SECRET": outputs["LinkSigningKeySecret"],
            "SODATE_DEFINITIONS_TABLE": outputs["DefinitionsTable"],
            "SODATE_SEGMENTS_TABLE": outputs["SegmentsTable"],
            "SODATE_SALES_ALERTS_TOPIC": outputs["SalesAlertsTopicArn"],
            "SODATE_SENDER": outputs["SenderAddress"],
            "SODATE_EVENTS_STREAM_ARN": outputs["EventsStreamArn"],
            "SODATE_CONTACTS_STREAM_ARN": outputs["ContactsStreamArn"],
            "SODATE_JOURNEYS_TABLE": outputs["JourneysTable"],
            "SODATE_PEOPLE_INDEX_TABLE": outputs["PeopleIndexTable"],
            "SODATE_CONFIGURATION_SET": outputs["MailConfigurationSet"],
            "SODATE_FEEDBACK_QUEUE": outputs["MailFeedbackQueueName"],
            "SODATE_FEEDBACK_QUEUE_URL": outputs["MailFeedbackQueueUrl"],
            "SODATE_WEBHOOK_KEY_SECRET": outputs["WebhookSigningKeySecret"],
            "SODATE_LINE_CHANNEL_SECRET": outputs["LineChannelSecret"],
            "SODATE_SMS_CONFIGURATION_SET": outputs["SmsConfigurationSet"],
            "SODATE_SMS_VOICE_URL": texts.url,  # its texts: <url>/_standin/ (page), /_standin/texts (JSON)
            "SODATE_PUBLIC_URL": f"http://127.0.0.1:{api_port}",
        }
        env.update(console_user.local_admin(session, outputs, local_dir, env["SODATE_API"]))
        if rows_per_run:
            env["SODATE_IMPORT_ROWS_PER_RUN"] = str(rows_per_run)
        running.env = env
        env["SODATE_MAILBOX_URL"] = _serve_mailbox(running, session, stack, local_dir)  # the console shows it
        env.update(_serve_line(running, session, local_dir))
        os.environ.update(env)
        _serve_api(running, api_port)
        env["SODATE_DEMO_URL"] = _serve_demo(running, env)
        _start_pumps(running, session, sweep_seconds)
        if durable and save_every > 0:
            autosave = Autosave(running, save_every)
            autosave.start()
            running.pumps.append(autosave)
            running.threads.append(autosave)
        if examples and running.restored is None:
            _load_examples(session, env["SODATE_BUCKET"])
        _write_env(local_dir / "env", env)
    except BaseException:
        running.stop()
        raise
    return running


class Autosave(Every):
    """Saves the local state every `every_s` seconds, so a killed run loses at most that much."""

    def __init__(self, running: Running, every_s: float) -> None:
        super().__init__("autosave", every_s)
        self._running = running

    def once(self) -> None:
        self._running.save()


def _resources(stack: LocalStack) -> Resources:
    return Resources(
        tables=stack.physical("AWS::DynamoDB::Table"),
        buckets=stack.physical("AWS::S3::Bucket"),
        queues=stack.physical("AWS::SQS::Queue"),
        secrets=stack.physical("AWS::SecretsManager::Secret"),
        user_pools=stack.physical("AWS::Cognito::UserPool"),
    )


def _serve_api(running: Running, port: int) -> None:
    from chalice.cli.factory import CLIFactory

    factory = CLIFactory(str(ROOT), environ=dict(os.environ))
    config = factory.create_config_obj(chalice_stage_name="local")
    server = factory.create_local_server(config.chalice_app, config, "127.0.0.1", port)
    thread = threading.Thread(target=server.serve_forever, name="api", daemon=True)
    thread.start()
    running.server, running.threads = server, [*running.threads, thread]


def _serve_demo(running: Running, env: dict[str, str]) -> str:
    """The local demo site: a few pages carrying the tag, registered as SODATE_SITE_ID."""
    from chalicelib import bootstrap
    from chalicelib.domain.errors import NotFoundError

    sites = bootstrap.sites()
    try:
        sites.find(LOCAL_SITE_ID)  # restored from the last run
    except NotFoundError:
        sites.register({"name": "Local demo", "domains": ["localhost", "127.0.0.1"]}, LOCAL_SITE_ID)
    server = demo_site.serve(env["SODATE_API"], LOCAL_SITE_ID)
    thread = threading.Thread(target=server.serve_forever, name="demo", daemon=True)
    thread.start()
    running.threads.append(thread)
    running.extra_servers.append(server)
    return f"http://localhost:{server.server_address[1]}/"


def _serve_mailbox(running: Running, session: Any, stack: LocalStack, local_dir: Path) -> str:
    """What SES took, filed under .local/mailbox and shown on a page; SES's events published."""
    from devstack import mailbox, mailbox_pages

    account = session.client("sts").get_caller_identity()["Account"]
    feedback = mailbox.Feedback(
        session.client("sns"),
        stack.physical("AWS::SNS::Topic")["MailFeedbackTopic"],
        running.env["SODATE_CONFIGURATION_SET"],
        account,
        REGION,
    )
    pump = mailbox.MailPump(running.emulator.endpoint, mailbox.MailStore(local_dir / mailbox.NAME), feedback)
    pump.start()
    running.pumps.append(pump)
    running.threads.append(pump)
    server = mailbox_pages.serve(pump)
    thread = threading.Thread(target=server.serve_forever, name="mailbox-pages", daemon=True)
    thread.start()
    running.threads.append(thread)
    running.extra_servers.append(server)
    return f"http://127.0.0.1:{server.server_address[1]}/"


def _serve_line(running: Running, session: Any, local_dir: Path) -> dict[str, str]:
    """The LINE stand-in on loopback: its channel's token and secret go into the stack's secret
    (fresh each run), its webhooks to the API's /line/webhook; data under .local/line."""
    import secrets

    from devstack.line_standin import DIALOG, make_server

    env = running.env
    token, secret = secrets.token_urlsafe(32), secrets.token_hex(16)
    value = json.dumps({"channel_access_token": token, "channel_secret": secret})
    session.client("secretsmanager").put_secret_value(
        SecretId=env["SODATE_LINE_CHANNEL_SECRET"], SecretString=value
    )
    server, _ = make_server(0, local_dir / "line", token, secret, f"{env['SODATE_API']}/line/webhook")
    thread = threading.Thread(target=server.serve_forever, args=(0.1,), name="line-standin", daemon=True)
    thread.start()
    running.threads.append(thread)
    running.extra_servers.append(server)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    return {"SODATE_LINE_API": url, "SODATE_LINE_DIALOG_URL": f"{url}{DIALOG}"}


def _start_pumps(running: Running, session: Any, sweep_seconds: float) -> None:
    """The queue and both streams feed their handlers; the schedules tick."""
    import app

    streams = session.client("dynamodbstreams")
    env = running.env
    pumps: list[Any] = [
        QueuePump(session.client("sqs"), env["SODATE_IMPORT_QUEUE_URL"], app.import_file, "import_file"),
        StreamPump(streams, env["SODATE_EVENTS_STREAM_ARN"], app.events_changed, "events_changed"),
        StreamPump(streams, env["SODATE_CONTACTS_STREAM_ARN"], app.contacts_changed, "contacts_changed"),
        QueuePump(
            session.client("sqs"), env["SODATE_FEEDBACK_QUEUE_URL"], app.mail_feedback, "mail_feedback"
        ),
        Schedule(app.tick, "tick", sweep_seconds),
        Schedule(app.sweep, "sweep", sweep_seconds),
        Schedule(app.rfm, "rfm", 3600),
        Schedule(app.dates, "dates", 3600),  # daily on AWS; a second pass on a day enters nobody
    ]
    if running.restored is not None:  # the restore's own stream records are not news
        for pump in pumps:
            if isinstance(pump, StreamPump):
                pump.skip_to_end()
                pump.carry_over(running.restored.stream_records.get(pump.function_name, []))
    for pump in pumps:
        pump.start()
        running.pumps.append(pump)
        running.threads.append(pump)


def _load_examples(session: Any, bucket: str) -> None:
    """The documented example definitions, dropped as a marketer would: catalogue first,
    then scoring, then segments (each waits for the one before to be checked)."""
    s3 = session.client("s3")
    for kind in ("catalogue", "scoring", "segments", "templates", "scenarios", "forms"):
        s3.put_object(Bucket=bucket, Key=f"config/{kind}.yaml", Body=(EXAMPLES / f"{kind}.yaml").read_bytes())
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                report = json.loads(
                    s3.get_object(Bucket=bucket, Key=f"results/config/{kind}.yaml.json")["Body"].read()
                )
            except s3.exceptions.NoSuchKey:
                time.sleep(0.1)
                continue
            if report.get("status") != "applied":
                raise RuntimeError(f"the example {kind}.yaml was refused: {report.get('errors')}")
            break


def _write_env(path: Path, env: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["# Written by `make run`; source it: set -a; . .local/env; set +a"]
    lines += [f"{key}={value}" for key, value in env.items()]
    tmp = path.with_suffix(".tmp")
    tmp.write_text("\n".join(lines) + "\n")
    tmp.chmod(0o600)
    tmp.replace(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--local-dir", type=Path, default=ROOT / ".local")
    parser.add_argument("--moto-port", type=int, default=int(os.environ.get("SODATE_MOTO_PORT", "4566")))
    parser.add_argument("--api-port", type=int, default=int(os.environ.get("SODATE_API_PORT", "8000")))
    parser.add_argument(
        "--rows-per-run",
        type=int,
        default=0,
        help="pause an import after this many rows (tests the checkpoint path)",
    )
    parser.add_argument(
        "--sweep-seconds",
        type=float,
        default=60,
        help="how often the sweep runs (EventBridge runs it every minute)",
    )
    parser.add_argument("--reset", action="store_true", help="forget the saved local state first")
    parser.add_argument(
        "--save-every",
        type=float,
        default=300,
        help="seconds between saves of the local state while running (it is saved on stop too)",
    )
    args = parser.parse_args(argv)
    # Sodate's own events are JSON lines (chalicelib/logs.py); the AWS SDK's chatter only when asked.
    aws_level = logging.INFO if os.environ.get("SODATE_LOG_AWS") else logging.WARNING
    logging.basicConfig(level=aws_level, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("sodate.pump").setLevel(logging.INFO)
    sys.path.insert(0, str(ROOT))
    try:
        held = lock.take(args.local_dir)
    except lock.StackRunningError as error:
        print(error, file=sys.stderr, flush=True)
        return 1
    if args.reset and state.reset(args.local_dir):
        print(f"Forgot the saved local state in {args.local_dir / state.NAME}.", flush=True)
    try:
        return _serve(args, held)
    finally:
        lock.release(held)


def _serve(args: argparse.Namespace, held: Path) -> int:
    running = start(
        args.local_dir,
        args.moto_port,
        args.api_port,
        args.rows_per_run,
        args.sweep_seconds,
        save_every=args.save_every,
    )
    env = running.env
    lock.describe(held, api=env["SODATE_API"], emulator=env["AWS_ENDPOINT_URL"])
    print(banner.text(env, args.local_dir, running.restored, args.sweep_seconds, args.save_every), flush=True)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    while not stop.wait(0.5):
        pass
    print("Stopping...", flush=True)
    running.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
