"""The event pump: what Lambda's event source mappings do on AWS.

It long-polls the import queue and calls the very handler Lambda calls
(`app.import_file`) with the event shape Lambda sends.  A message whose
handler fails stays on the queue; the queue's redrive policy moves it to the
DLQ after its receive count runs out, as on AWS.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

log = logging.getLogger("sodate.pump")

LAMBDA_TIMEOUT_MS = 900_000


class LambdaContext:
    """The parts of Lambda's context object that handlers use."""

    def __init__(self, function_name: str, timeout_ms: int = LAMBDA_TIMEOUT_MS) -> None:
        self.function_name = function_name
        self.aws_request_id = str(uuid.uuid4())
        self.memory_limit_in_mb = 1024
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
        self._deadline = time.monotonic() + timeout_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def sqs_event(messages: list[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": m.get("MessageAttributes", {}),
                "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for m in messages
        ]
    }


class QueuePump(threading.Thread):
    def __init__(
        self,
        sqs: Any,
        queue_url: str,
        handler: Callable[[dict[str, Any], Any], Any],
        function_name: str,
        retry_after_s: int = 2,
    ) -> None:
        super().__init__(name=f"pump-{function_name}", daemon=True)
        self._sqs = sqs
        self._url = queue_url
        self._handler = handler
        self._function = function_name
        self._retry_after = retry_after_s
        self._halt = threading.Event()
        attrs = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
        self._arn = attrs["Attributes"]["QueueArn"]
        self._region = sqs.meta.region_name

    def stop(self) -> None:
        self._halt.set()

    def run(self) -> None:
        while not self._halt.is_set():
            try:
                self.pump_once(wait_seconds=1)
            except Exception:  # keep pumping: one bad poll must not stop the stack
                if self._halt.is_set():
                    return
                log.exception("pump %s: polling failed", self._function)
                time.sleep(1)

    def pump_once(self, wait_seconds: int = 0) -> int:
        """Deliver at most one message (batch size 1, as configured in app.py)."""
        answer = self._sqs.receive_message(
            QueueUrl=self._url,
            MaxNumberOfMessages=1,
            WaitTimeSeconds=wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = answer.get("Messages", [])
        if not messages:
            return 0
        event = sqs_event(messages, self._arn, self._region)
        try:
            self._handler(event, LambdaContext(self._function))
        except Exception:
            log.exception("%s failed; the message returns to the queue", self._function)
            for m in messages:  # Lambda would wait out the visibility timeout; locally, retry soon
                self._sqs.change_message_visibility(
                    QueueUrl=self._url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=self._retry_after
                )
            return 0
        for m in messages:
            self._sqs.delete_message(QueueUrl=self._url, ReceiptHandle=m["ReceiptHandle"])
        return len(messages)


class StreamPump(threading.Thread):
    """What Lambda's DynamoDB stream mapping does: read each shard in order, hand
    batches to the handler, and retry a failed batch before moving past it."""

    def __init__(
        self,
        streams: Any,
        stream_arn: str,
        handler: Callable[[dict[str, Any], Any], Any],
        function_name: str,
        interval_s: float = 0.1,
        max_attempts: int = 3,
    ) -> None:
        super().__init__(name=f"pump-{function_name}", daemon=True)
        self._streams = streams
        self._arn = stream_arn
        self._handler = handler
        self._function = function_name
        self._interval = interval_s
        self._max_attempts = max_attempts
        self._halt = threading.Event()
        self._after: dict[str, str | None] = {}  # shard -> last sequence number handled
        self.errors: list[Exception] = []  # what the handler raised (tests assert it stays empty)
        self._failures: dict[str, int] = {}
        self._region = streams.meta.region_name
        self._backlog: list[dict[str, Any]] = []  # records a restart carried over, handed first
        self._discover()

    @property
    def function_name(self) -> str:
        return self._function

    def carry_over(self, records: list[dict[str, Any]]) -> None:
        """Records the stream held unhandled when the last run stopped: handed to the handler
        before anything new, as the stream would have (a restore writes no stream records)."""
        self._backlog = list(records)

    def unhandled(self) -> list[dict[str, Any]]:
        """What the handler has not been given yet (Lambda's record shape), oldest first."""
        pending = list(self._backlog)
        for shard, last in list(self._after.items()):
            while True:
                answer = self._streams.get_records(
                    ShardIterator=self._iterator_after(shard, last), Limit=1000
                )
                records = answer.get("Records", [])
                if not records:
                    break
                pending += [self._lambda_record(r) for r in records]
                last = records[-1]["dynamodb"]["SequenceNumber"]
        return pending

    def _discover(self) -> None:
        shards = self._streams.describe_stream(StreamArn=self._arn)["StreamDescription"]["Shards"]
        for shard in shards:
            self._after.setdefault(shard["ShardId"], None)

    def skip_to_end(self) -> None:
        """Start after every record the stream holds now (a restore's writes are not news)."""
        for shard in list(self._after):
            self._after[shard] = self._last_sequence(shard)

    def _last_sequence(self, shard: str) -> str | None:
        """The shard's last sequence number, found by probing: the emulator numbers a shard's
        records one after another, so ~2 log2(n) one-record reads find the end where reading
        every record would cost it a millisecond each.  Numbers that are not consecutive (not
        the emulator) are read through instead."""

        def record_at(number: int) -> dict[str, Any] | None:
            iterator = self._streams.get_shard_iterator(
                StreamArn=self._arn,
                ShardId=shard,
                ShardIteratorType="AT_SEQUENCE_NUMBER",
                SequenceNumber=str(number),
            )["ShardIterator"]
            records = self._streams.get_records(ShardIterator=iterator, Limit=1).get("Records", [])
            return records[0] if records else None

        first = self._streams.get_records(ShardIterator=self._iterator_after(shard, None), Limit=1).get(
            "Records"
        )
        if not first:
            return None
        start = int(first[0]["dynamodb"]["SequenceNumber"])
        high = 1
        while record_at(start + high) is not None:
            high *= 2
        low = high // 2 if high > 1 else 0  # low holds a record, high does not
        while high - low > 1:
            middle = (low + high) // 2
            low, high = (middle, high) if record_at(start + middle) is not None else (low, middle)
        last = record_at(start + low)
        if last is not None and last["dynamodb"]["SequenceNumber"] == str(start + low):
            return str(start + low)
        after: str | None = None
        while True:  # not consecutive: read them all
            records = self._streams.get_records(ShardIterator=self._iterator_after(shard, after), Limit=1000)
            if not records.get("Records"):
                return after
            after = records["Records"][-1]["dynamodb"]["SequenceNumber"]

    def _iterator(self, shard: str) -> str:
        """A fresh iterator after the last record handled (iterators expire on AWS after
        15 minutes, and moto's go stale when a failed transaction rolls a table back)."""
        return self._iterator_after(shard, self._after[shard])

    def _iterator_after(self, shard: str, last: str | None) -> str:
        position = {"ShardIteratorType": "TRIM_HORIZON"}
        if last is not None:
            position = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": last}
        answer = self._streams.get_shard_iterator(StreamArn=self._arn, ShardId=shard, **position)
        return str(answer["ShardIterator"])

    def stop(self) -> None:
        self._halt.set()

    def run(self) -> None:
        while not self._halt.is_set():
            try:
                if not self.pump_once():
                    self._halt.wait(self._interval)
            except Exception:
                if self._halt.is_set():
                    return
                log.exception("pump %s: polling failed", self._function)
                time.sleep(1)

    def pump_once(self) -> int:
        """Hand every shard's waiting records to the handler once; returns how many."""
        if self._backlog:
            batch = self._backlog[:100]
            try:
                self._handler({"Records": batch}, LambdaContext(self._function))
            except Exception as error:
                self.errors.append(error)
                log.exception("%s failed on records carried over from the last run", self._function)
            self._backlog = self._backlog[len(batch) :]  # only now: a save meanwhile keeps them
            return len(batch)
        delivered = 0
        for shard in list(self._after):
            answer = self._streams.get_records(ShardIterator=self._iterator(shard), Limit=100)
            records = answer.get("Records", [])
            if not records:
                continue
            event = {"Records": [self._lambda_record(r) for r in records]}
            try:
                self._handler(event, LambdaContext(self._function))
            except Exception as error:
                self.errors.append(error)
                self._failures[shard] = self._failures.get(shard, 0) + 1
                if self._failures[shard] < self._max_attempts:
                    log.exception("%s failed; the batch is retried", self._function)
                    delivered += len(records)  # not drained yet: the caller polls again
                    continue  # the same records again next time
                log.exception("%s failed %d times; skipping the batch", self._function, self._max_attempts)
            self._failures.pop(shard, None)
            self._after[shard] = records[-1]["dynamodb"]["SequenceNumber"]
            delivered += len(records)
        return delivered

    def _lambda_record(self, record: dict[str, Any]) -> dict[str, Any]:
        change = dict(record["dynamodb"])
        created = change.get("ApproximateCreationDateTime")
        if created is not None and hasattr(created, "timestamp"):
            change["ApproximateCreationDateTime"] = created.timestamp()
        return {
            "eventID": record.get("eventID", ""),
            "eventName": record["eventName"],
            "eventVersion": record.get("eventVersion", "1.1"),
            "eventSource": "aws:dynamodb",
            "awsRegion": self._region,
            "dynamodb": change,
            "eventSourceARN": self._arn,
        }


class Every(threading.Thread):
    """Something the local stack does every `every_s` seconds until stopped (a failure is
    logged and the next turn comes as usual)."""

    def __init__(self, name: str, every_s: float, at_once: bool = False) -> None:
        super().__init__(name=name, daemon=True)
        self._every = every_s
        self._at_once = at_once
        self._halt = threading.Event()

    def stop(self) -> None:
        self._halt.set()

    def run(self) -> None:
        if self._at_once:
            self._turn()
        while not self._halt.wait(self._every):
            self._turn()

    def _turn(self) -> None:
        try:
            self.once()
        except Exception:
            if not self._halt.is_set():
                log.exception("%s failed", self.name)

    def once(self) -> None:
        raise NotImplementedError


class Schedule(Every):
    """An EventBridge schedule: calls the handler every `every_s` seconds (first call at once)."""

    def __init__(
        self, handler: Callable[[dict[str, Any], Any], Any], function_name: str, every_s: float
    ) -> None:
        super().__init__(f"schedule-{function_name}", every_s, at_once=True)
        self._handler = handler
        self._function = function_name

    def once(self) -> None:
        event = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": "123456789012",
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "region": "us-east-1",
            "resources": [],
            "detail": {},
        }
        self._handler(event, LambdaContext(self._function))
