"""A mail or a text whose answer never comes back may have gone: SES and End User Messaging SMS
take no idempotency key, so the real boto3 clients Sodate builds send such a request once, and
the adapters say the outcome is unknown (never "not sent", which would send it again).  A 503
turned the request away and is retried as throttling; a 500 may have taken it.  The service here
is a loopback server that reads the request whole, then hangs up or answers as told."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.aws import clients
from chalicelib.aws.mail import SesTransport
from chalicelib.aws.sms_voice import SmsVoiceSms, sms_voice_client
from chalicelib.domain.errors import OutcomeUnknownError
from chalicelib.domain.mail.message import MailThrottledError

ERRORS = {
    500: b"<ErrorResponse><Error><Code>InternalFailure</Code><Message>inside</Message></Error></ErrorResponse>",
    503: b"<ErrorResponse><Error><Code>ServiceUnavailable</Code><Message>busy</Message></Error></ErrorResponse>",
}


class Service:
    """Counts the requests; each is read whole, then hung up on (`answer` 0) or answered."""

    def __init__(self) -> None:
        self.answer = 0
        self.requests = 0
        self._socket = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self._socket.accept()
            except OSError:
                return
            with connection:
                head = b""
                while b"\r\n\r\n" not in head:
                    head += connection.recv(65536)
                length = next(
                    (
                        int(line.split(b":")[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length")
                    ),
                    0,
                )
                body = head.split(b"\r\n\r\n", 1)[1]
                while len(body) < length:
                    body += connection.recv(65536)
                self.requests += 1
                if self.answer:
                    said = ERRORS[self.answer]
                    status = (
                        b"500 Internal Server Error" if self.answer == 500 else b"503 Service Unavailable"
                    )
                    connection.sendall(
                        b"HTTP/1.1 "
                        + status
                        + b"\r\nContent-Type: text/xml\r\nContent-Length: "
                        + str(len(said)).encode()
                        + b"\r\nConnection: close\r\n\r\n"
                        + said
                    )

    def close(self) -> None:
        self._socket.close()


@pytest.fixture
def service(monkeypatch: pytest.MonkeyPatch) -> Iterator[Service]:
    running = Service()
    monkeypatch.setenv("AWS_ENDPOINT_URL", running.url)
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")):
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-northeast-1")
    clients.client.cache_clear()
    yield running
    clients.client.cache_clear()
    running.close()


def ses(service: Service) -> SesTransport:
    return SesTransport(clients.client("ses", one_attempt=True), "shop@example.jp", "")


def test_a_mail_whose_connection_breaks_after_sending_goes_once_and_is_unknown(service: Service) -> None:
    with pytest.raises(OutcomeUnknownError, match="answer was lost"):
        ses(service).send_raw("aiko@example.com", b"Subject: hi\r\n\r\nhello")
    assert service.requests == 1, "botocore would have sent it again"


@pytest.mark.parametrize(("status", "raised"), [(500, OutcomeUnknownError), (503, MailThrottledError)])
def test_a_mail_the_service_fails_inside_is_unknown_and_one_it_turned_away_is_throttled(
    service: Service, status: int, raised: Any
) -> None:
    service.answer = status
    with pytest.raises(raised):
        ses(service).send_raw("aiko@example.com", b"Subject: hi\r\n\r\nhello")
    assert service.requests == 1


def test_a_mail_service_that_cannot_be_reached_sent_nothing_and_is_busy(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        nobody = f"http://127.0.0.1:{taken.getsockname()[1]}"  # closed again: nobody listens there
    monkeypatch.setenv("AWS_ENDPOINT_URL", nobody)
    clients.client.cache_clear()
    with pytest.raises(MailThrottledError, match="could not be reached"):  # so tried again later
        ses(service).send_raw("aiko@example.com", b"Subject: hi\r\n\r\nhello")


def test_a_text_whose_connection_breaks_after_sending_goes_once_and_is_unknown(service: Service) -> None:
    texts = SmsVoiceSms(sms_voice_client(service.url), "")
    with pytest.raises(OutcomeUnknownError, match="answer was lost"):
        texts.send("+818011112222", "新茶入荷")
    service.answer = 500
    with pytest.raises(OutcomeUnknownError, match="failed inside"):
        texts.send("+818011112222", "新茶入荷")
    assert service.requests == 2, "once each"
