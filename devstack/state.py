"""Durable local state: what `make run` had is there again after a restart.

The emulator keeps everything in memory, so when the stack stops, every resource the template
declares is dumped through the ordinary AWS APIs into `.local/state/` -- every table's items,
every bucket object, every message a queue holds (waiting, still delayed, or taken by a pump
and not finished), every secret's value, the console's users (devstack/pool_users.py) -- and the
moved clock.  The next `make run` deploys the template as always and then puts it all back
before the API answers or a pump starts, so no stream record, bucket notification or schedule
sees the restore as new work.  `make reset` (or `make run` with `--reset`) starts clean.

A dump is written beside the last one and swapped in whole, so a stop interrupted half-way
leaves the previous dump; it is also taken every few minutes while the stack runs, so a
killed run loses at most that much.
"""

from __future__ import annotations

import gzip
import json
import logging
import math
import shutil
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack import pool_users
from devstack.dynamo_json import decode, decode_record, encode_record

log = logging.getLogger("sodate.state")

FORMAT = 1
NAME = "state"
_BATCH = 25


@dataclass
class Resources:
    """The physical names of what the template declared, by logical id."""

    tables: dict[str, str] = field(default_factory=dict)
    buckets: dict[str, str] = field(default_factory=dict)
    queues: dict[str, str] = field(default_factory=dict)  # logical -> queue URL
    secrets: dict[str, str] = field(default_factory=dict)  # logical -> secret id
    user_pools: dict[str, str] = field(default_factory=dict)  # logical -> user pool id


@dataclass
class Restored:
    items: int = 0
    objects: int = 0
    messages: int = 0
    secrets: int = 0
    users: int = 0
    clock_offset: float = 0.0
    seconds: float = 0.0
    stream_records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # by function

    def describe(self) -> str:
        return (
            f"{self.items:,} items, {self.objects:,} objects, {self.messages:,} queued messages, "
            f"{sum(map(len, self.stream_records.values())):,} stream records to hand on, "
            f"{self.secrets} secrets, {self.users} console users in {self.seconds:.1f} s"
        )


class LocalState:
    def __init__(self, session: Any, resources: Resources, local_dir: Path) -> None:
        self._session = session
        self._resources = resources
        self.directory = local_dir / NAME
        self._dynamodb = session.client("dynamodb")
        self._s3 = session.client("s3")
        self._sqs = session.client("sqs")
        self._secrets = session.client("secretsmanager")
        self._cognito = session.client("cognito-idp")
        self._export_bucket: str | None = None

    def exists(self) -> bool:
        return (self.directory / "meta.json").is_file()

    # --- dump ----------------------------------------------------------------------------
    def save(self, clock_offset: float, unhandled: dict[str, list[dict[str, Any]]] | None = None) -> Path:
        """Dump everything into a fresh directory, then swap it in whole.  `unhandled`: stream
        records not yet handed to their function (by function name)."""
        started = time.monotonic()
        fresh = self.directory.with_name(NAME + ".new")
        shutil.rmtree(fresh, ignore_errors=True)
        fresh.mkdir(parents=True)
        counts: dict[str, int] = {}
        for logical, table in self._resources.tables.items():
            counts[f"table {logical}"] = self._dump_table(table, fresh / "tables" / f"{logical}.jsonl")
        for logical, bucket in self._resources.buckets.items():
            counts[f"bucket {logical}"] = self._dump_bucket(bucket, fresh / "buckets" / logical)
        for logical, url in self._resources.queues.items():
            counts[f"queue {logical}"] = self._dump_queue(url, fresh / "queues" / f"{logical}.jsonl")
        for function, records in (unhandled or {}).items():
            counts[f"stream {function}"] = len(records)
            with _created(fresh / "streams" / f"{function}.jsonl") as out:
                for record in records:
                    out.write(json.dumps(encode_record(record), ensure_ascii=False) + "\n")
        values = {
            logical: self._secrets.get_secret_value(SecretId=secret)["SecretString"]
            for logical, secret in self._resources.secrets.items()
        }
        _write_private(fresh / "secrets.json", json.dumps(values))
        users = pool_users.dump(self._cognito, self._resources.user_pools)
        counts.update({f"users {logical}": len(accounts) for logical, accounts in users.items()})
        _write_private(fresh / pool_users.NAME, json.dumps(users, ensure_ascii=False))
        meta = {"format": FORMAT, "saved_at": time.time(), "clock_offset": clock_offset, "counts": counts}
        (fresh / "meta.json").write_text(json.dumps(meta, indent=1))
        old = self.directory.with_name(NAME + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if self.directory.exists():
            self.directory.rename(old)
        fresh.rename(self.directory)
        shutil.rmtree(old, ignore_errors=True)
        log.info("local state saved in %.1f s: %s", time.monotonic() - started, counts)
        return self.directory

    def _dump_table(self, table: str, path: Path) -> int:
        """DynamoDB's own export to S3 (the table's point-in-time recovery is turned on for
        it, as export requires): one pass on the emulator's side, where a scan would cost it
        a millisecond an item to answer."""
        path.parent.mkdir(parents=True, exist_ok=True)
        self._dynamodb.update_continuous_backups(
            TableName=table, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )
        arn = self._dynamodb.describe_table(TableName=table)["Table"]["TableArn"]
        prefix = f"{table}/{time.time_ns()}"
        export = self._dynamodb.export_table_to_point_in_time(
            TableArn=arn, S3Bucket=self._exports(), S3Prefix=prefix, ExportFormat="DYNAMODB_JSON"
        )["ExportDescription"]
        deadline = time.monotonic() + 300
        while export["ExportStatus"] == "IN_PROGRESS" and time.monotonic() < deadline:
            time.sleep(0.02)
            export = self._dynamodb.describe_export(ExportArn=export["ExportArn"])["ExportDescription"]
        if export["ExportStatus"] != "COMPLETED":
            raise RuntimeError(f"exporting {table}: {export.get('FailureMessage') or export['ExportStatus']}")
        count = 0
        with path.open("wb") as out:
            for page in self._s3.get_paginator("list_objects_v2").paginate(
                Bucket=self._exports(), Prefix=prefix
            ):
                for listed in page.get("Contents", []):
                    got = self._s3.get_object(Bucket=self._exports(), Key=listed["Key"])["Body"].read()
                    self._s3.delete_object(Bucket=self._exports(), Key=listed["Key"])
                    if listed["Key"].endswith(".gz"):
                        lines = gzip.decompress(got)
                        out.write(lines)
                        count += lines.count(b"\n")
        return count

    def _exports(self) -> str:
        """A bucket of the local stack's own for the exports (not the marketer's bucket)."""
        if self._export_bucket is None:
            name = f"sodate-local-state-{self._session.client('sts').get_caller_identity()['Account']}"
            self._s3.create_bucket(Bucket=name)
            self._export_bucket = name
        return self._export_bucket

    def _dump_bucket(self, bucket: str, directory: Path) -> int:
        """Each object in a numbered file (keys are the marketer's to choose, not file names),
        with its key and type in the manifest."""
        objects = directory / "objects"
        objects.mkdir(parents=True)
        count = 0
        with (directory / "manifest.jsonl").open("w") as manifest:
            for page in self._s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
                for listed in page.get("Contents", []):
                    got = self._s3.get_object(Bucket=bucket, Key=listed["Key"])
                    with (objects / str(count)).open("wb") as body:
                        shutil.copyfileobj(got["Body"], body, 1 << 20)
                    entry = {
                        "key": listed["Key"],
                        "file": str(count),
                        "content_type": got.get("ContentType", ""),
                        "metadata": got.get("Metadata", {}),
                    }
                    manifest.write(json.dumps(entry, ensure_ascii=False) + "\n")
                    count += 1
        return count

    def _dump_queue(self, url: str, path: Path) -> int:
        """Every message the queue holds, read from the emulator's memory (its
        /_sodate/sqs/messages page): a ReceiveMessage would miss a message still in its
        DelaySeconds, hide the others from the pumps and count a receive against each (five send
        it to the dead-letter queue).  A message a pump had taken and not finished is there too:
        it is delivered again after the restart, as after a Lambda timeout (every handler is
        idempotent).  A delayed one keeps the moment it is due."""
        path.parent.mkdir(parents=True, exist_ok=True)
        endpoint = self._sqs.meta.endpoint_url.rstrip("/")
        account, name = urllib.parse.urlsplit(url).path.strip("/").split("/")[-2:]
        query = urllib.parse.urlencode(
            {"account": account, "region": self._sqs.meta.region_name, "queue": name}
        )
        with urllib.request.urlopen(f"{endpoint}/_sodate/sqs/messages?{query}", timeout=30) as answer:
            messages = json.loads(answer.read())["messages"]
        now = time.time()
        with path.open("w") as out:
            for message in messages:
                line: dict[str, Any] = {"body": message["body"]}
                if message["delay_s"] > 0:
                    line["due"] = now + message["delay_s"]
                out.write(json.dumps(line, ensure_ascii=False) + "\n")
        return len(messages)

    # --- restore -------------------------------------------------------------------------
    def restore(self, pause_notifications: Any, console_password: str) -> Restored:
        """Put the last dump back into a freshly deployed stack.  `pause_notifications` is a
        context manager under which bucket puts notify nobody; `console_password` is the one
        every restored console user signs in with (passwords are not saved)."""
        started = time.monotonic()
        meta = json.loads((self.directory / "meta.json").read_text())
        if meta.get("format") != FORMAT:
            raise RuntimeError(f"{self.directory} is in an unknown format; `make reset` starts clean")
        done = Restored(clock_offset=float(meta.get("clock_offset", 0.0)))
        values = json.loads((self.directory / "secrets.json").read_text())
        for logical, value in values.items():
            if logical in self._resources.secrets:
                self._secrets.put_secret_value(SecretId=self._resources.secrets[logical], SecretString=value)
                done.secrets += 1
        users = self.directory / pool_users.NAME
        if users.is_file():
            saved = json.loads(users.read_text())
            done.users = pool_users.restore(
                self._cognito, self._resources.user_pools, saved, console_password
            )
        done.items = self._restore_tables()
        with pause_notifications():
            for logical, bucket in self._resources.buckets.items():
                done.objects += self._restore_bucket(bucket, self.directory / "buckets" / logical)
        for logical, url in self._resources.queues.items():
            done.messages += self._restore_queue(url, self.directory / "queues" / f"{logical}.jsonl")
        for path in sorted((self.directory / "streams").glob("*.jsonl")):
            done.stream_records[path.stem] = [decode_record(json.loads(line)) for line in _lines(path)]
        done.seconds = time.monotonic() - started
        return done

    def _restore_tables(self) -> int:
        batches = (
            (table, chunk)
            for logical, table in self._resources.tables.items()
            for chunk in _chunks(_lines(self.directory / "tables" / f"{logical}.jsonl"), _BATCH)
        )
        # The emulator answers requests in threads; a few writers keep both cores busy.
        with ThreadPoolExecutor(max_workers=4) as pool:
            return sum(pool.map(lambda batch: self._write(*batch), batches))

    def _write(self, table: str, lines: list[str]) -> int:
        requests = [{"PutRequest": {"Item": decode(json.loads(line)["Item"])}} for line in lines]
        pending: dict[str, Any] = {table: requests}
        for attempt in range(10):
            unprocessed = self._dynamodb.batch_write_item(RequestItems=pending).get("UnprocessedItems", {})
            if not unprocessed:
                return len(requests)
            pending = unprocessed
            time.sleep(0.05 * (attempt + 1))
        raise RuntimeError(f"the emulator kept refusing writes to {table}")

    def _restore_bucket(self, bucket: str, directory: Path) -> int:
        count = 0
        for line in _lines(directory / "manifest.jsonl"):
            entry = json.loads(line)
            extra: dict[str, Any] = {"Metadata": entry.get("metadata") or {}}
            if entry.get("content_type"):
                extra["ContentType"] = entry["content_type"]
            with (directory / "objects" / entry["file"]).open("rb") as body:
                self._s3.put_object(Bucket=bucket, Key=entry["key"], Body=body, **extra)
            count += 1
        return count

    def _restore_queue(self, url: str, path: Path) -> int:
        """A delayed message waits what is left of its delay (its wait went on while the stack
        was stopped), so it is never seen before it was due."""
        count = 0
        for chunk in _chunks(_lines(path), 10):
            entries = []
            for i, line in enumerate(chunk):
                message = json.loads(line)
                left = math.ceil(message.get("due", 0) - time.time())
                entries.append(
                    {"Id": str(i), "MessageBody": message["body"], "DelaySeconds": min(max(left, 0), 900)}
                )
            self._sqs.send_message_batch(QueueUrl=url, Entries=entries)
            count += len(entries)
        return count


def reset(local_dir: Path) -> bool:
    """Forget the saved state; True when there was some."""
    found = False
    for name in (NAME, NAME + ".new", NAME + ".old", "mailbox"):
        path = local_dir / name
        if path.exists():
            shutil.rmtree(path)
            found = True
    return found


def main(argv: list[str] | None = None) -> int:
    """`make reset`: forget the saved state (refused while the stack runs: it would save again)."""
    import argparse
    import sys

    from devstack import lock

    parser = argparse.ArgumentParser(description="Forget the local stack's saved data.")
    parser.add_argument("--local-dir", type=Path, default=Path(__file__).resolve().parent.parent / ".local")
    args = parser.parse_args(argv)
    try:
        held = lock.take(args.local_dir)
    except lock.StackRunningError as error:
        print(f"{error}\nStop it first; then `make reset`.", file=sys.stderr)
        return 1
    try:
        forgot = reset(args.local_dir)
    finally:
        lock.release(held)
    where = args.local_dir / NAME
    print(f"Forgot the saved local state in {where}." if forgot else f"Nothing saved in {where}.")
    return 0


def _lines(path: Path) -> Iterator[str]:
    if not path.is_file():
        return
    with path.open() as lines:
        for line in lines:
            if line.strip():
                yield line


def _chunks(lines: Iterator[str], size: int) -> Iterator[list[str]]:
    chunk: list[str] = []
    for line in lines:
        chunk.append(line)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _created(path: Path) -> Any:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.open("w")


def _write_private(path: Path, text: str) -> None:
    path.touch(mode=0o600)
    path.write_text(text)


if __name__ == "__main__":
    raise SystemExit(main())
