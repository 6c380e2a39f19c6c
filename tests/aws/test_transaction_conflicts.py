"""A write to a contact while an import's transaction holds it (a few milliseconds) is refused by
DynamoDB with TransactionConflictException, which botocore does not retry: Sodate's DynamoDB
client does, a few times with short waits, so a one-click unsubscribe or a preference saved at
that moment still lands.  The service here is a loopback server that speaks DynamoDB's JSON and
refuses as told (moto runs transactions under one lock, so it never conflicts)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from botocore.exceptions import ClientError

from chalicelib.aws import clients

CONFLICT = {
    "__type": "com.amazonaws.dynamodb.v20120810#TransactionConflictException",
    "message": "Transaction is ongoing for the item",
}


class Table:
    def __init__(self) -> None:
        self.refusals, self.requests = 0, 0
        table = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                table.requests += 1
                refused = table.refusals > 0
                table.refusals -= int(refused)
                said = json.dumps(CONFLICT if refused else {}).encode()
                self.send_response(400 if refused else 200)
                self.send_header("Content-Type", "application/x-amz-json-1.0")
                self.send_header("Content-Length", str(len(said)))
                self.end_headers()
                self.wfile.write(said)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> Iterator[Table]:
    running = Table()
    for name, value in {
        "AWS_ENDPOINT_URL": running.url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "ap-northeast-1",
    }.items():
        monkeypatch.setenv(name, value)
    clients.client.cache_clear()
    yield running
    clients.client.cache_clear()
    running.server.shutdown()
    running.server.server_close()


def unsubscribe(db: Any) -> Any:
    return db.update_item(
        TableName="contacts",
        Key={"email": {"S": "aiko@example.com"}},
        UpdateExpression="SET #s = :s",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": {"S": "unsubscribed"}},
    )


def test_a_write_refused_while_a_transaction_holds_the_item_is_sent_again_and_lands(table: Table) -> None:
    table.refusals = 3
    unsubscribe(clients.client("dynamodb"))
    assert table.requests == 4, "three refusals, then it landed"


def test_a_conflict_that_lasts_reaches_the_caller_after_a_few_tries(table: Table) -> None:
    table.refusals = 100
    with pytest.raises(ClientError, match="TransactionConflictException"):
        unsubscribe(clients.client("dynamodb"))
    assert table.requests == clients.CONFLICT_ATTEMPTS
