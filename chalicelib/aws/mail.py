"""Scenario mail through SES: a whole MIME message in the configuration set, whose events
(delivery, bounce, complaint) come back as mail feedback."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from chalicelib.domain.errors import OutcomeUnknownError
from chalicelib.domain.mail.message import MailRejectedError, MailThrottledError

THROTTLED = frozenset({"Throttling", "ThrottlingException", "TooManyRequestsException", "LimitExceeded"})
REJECTED = frozenset({"MessageRejected", "InvalidParameterValue", "MailFromDomainNotVerifiedException"})


class SesTransport:
    def __init__(self, ses: Any, sender: str, configuration_set: str) -> None:
        self._ses = ses
        self._from = sender
        self._config_set = configuration_set

    def send_raw(self, to: str, raw: bytes) -> str:
        try:
            answer = self._ses.send_raw_email(
                Source=self._from,
                Destinations=[to],
                RawMessage={"Data": raw},
                **({"ConfigurationSetName": self._config_set} if self._config_set else {}),
            )
        except (ReadTimeoutError, ConnectionClosedError) as error:  # after the request went out
            raise OutcomeUnknownError(f"SES's answer was lost: {error}"[:300]) from None
        except (EndpointConnectionError, ConnectTimeoutError) as error:  # nothing went out: as busy
            raise MailThrottledError(f"SES could not be reached: {error}"[:300]) from None
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            message = error.response.get("Error", {}).get("Message", "")
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            if code in THROTTLED or "Maximum sending rate exceeded" in message or status == 503:
                raise MailThrottledError(message or code) from None  # 503: turned away, not taken
            if code in REJECTED:
                raise MailRejectedError(message[:300] or code) from None
            if status >= 500:
                raise OutcomeUnknownError(f"SES failed inside: {code}: {message}"[:300]) from None
            raise
        return str(answer["MessageId"])
