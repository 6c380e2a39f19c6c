"""Texts through AWS End User Messaging SMS (the `pinpoint-sms-voice-v2` API, SendTextMessage).

Why not SNS `Publish` to a phone number any more: SNS cannot name an End User Messaging
*configuration set*, and only a configuration set's event destinations publish what became of a
text (TEXT_DELIVERED, TEXT_CARRIER_UNREACHABLE...: domain/sms_receipts.py).  Through SNS the
scenario report's sms_delivered / sms_failed stayed 0 on AWS.

Each send, as the API reference's SendTextMessage has it: `DestinationPhoneNumber` (E.164),
`MessageBody`, `MessageType` (TRANSACTIONAL or PROMOTIONAL, from the step's sms_type),
`ConfigurationSetName` (the stack's, SODATE_SMS_CONFIGURATION_SET) and, when the SODATE_SMS_SENDERS
setting names one for the destination's country, `OriginationIdentity` (the account's number or a
sender ID); without it the service picks one of the account's identities.  No `Context`: it is
logged to every event destination, and nothing personal belongs there.

Its errors, as SnsSms mapped SNS's:
- ThrottlingException: nothing went; the step waits for a later tick (ChannelThrottledError);
- ValidationException: this text never goes (ChannelRejectedError naming the Reason);
- ConflictException DESTINATION_PHONE_NUMBER_OPTED_OUT: the number is on the opt-out list of the
  identity the text would leave from -- no text, the ledger says the number opted out
  (ChannelOptedOutError); another ConflictException reason is refused the same way, naming it;
- ResourceNotFoundException (the configuration set or the identity is not in the account),
  AccessDeniedException, ServiceQuotaExceededException (the month's spend limit): the setup, not
  the person -- logged, and the step waits until it is put right, as LINE's refused token does.

No per-send opt-out question (SNS's CheckIfPhoneNumberIsOptedOut before): the send refuses an
opted-out number itself, against the opt-out list of the identity it actually uses -- which a
question asked beforehand could not know when the service picks the identity -- and a question
per text would double the calls against the account's API quota.  `opted_out` answers False;
STOP replies to our own numbers still stop texts before any send (services/sms_replies.py).

The client makes one attempt: SendTextMessage has no idempotency token, so botocore's retry of a
request whose answer was lost could text a person twice; a throttled text waits for the next tick
instead.  Locally the endpoint is the stand-in's (SODATE_SMS_VOICE_URL, devstack/sms_voice_standin.py);
on AWS boto3's own.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from chalicelib.domain.channels import ChannelOptedOutError, ChannelRejectedError, ChannelThrottledError
from chalicelib.domain.errors import OutcomeUnknownError
from chalicelib.domain.sms_senders import Senders
from chalicelib.logs import logger

OPTED_OUT = "DESTINATION_PHONE_NUMBER_OPTED_OUT"
SETUP = frozenset({"ResourceNotFoundException", "AccessDeniedException", "ServiceQuotaExceededException"})
MESSAGE_TYPES = ("PROMOTIONAL", "TRANSACTIONAL")


def sms_voice_client(endpoint_url: str = "") -> Any:
    """End User Messaging SMS's client: one attempt a request (see above), the stand-in's endpoint
    when given (boto3 would otherwise take AWS_ENDPOINT_URL, the AWS emulator, which has none)."""
    import boto3
    from botocore.config import Config

    config = Config(retries={"total_max_attempts": 1}, connect_timeout=5, read_timeout=15)
    extra = {"endpoint_url": endpoint_url} if endpoint_url else {}
    return boto3.session.Session().client("pinpoint-sms-voice-v2", config=config, **extra)  # type: ignore[call-overload]


class SmsVoiceSms:
    def __init__(
        self, client: Any, configuration_set: str, senders: Senders | None = None, kind: str = "PROMOTIONAL"
    ) -> None:
        if kind not in MESSAGE_TYPES:
            raise ValueError(f"MessageType is one of {MESSAGE_TYPES}, not {kind!r}")
        self._client = client
        self._configuration_set = configuration_set
        self._senders = senders or Senders()
        self._kind = kind

    def request(self, number: str, text: str) -> dict[str, str]:
        """SendTextMessage's parameters for a text to this number."""
        sender = self._senders.for_number(number)
        identity = sender.origination_number or sender.sender_id
        params = {"DestinationPhoneNumber": number, "MessageBody": text, "MessageType": self._kind}
        if self._configuration_set:
            params["ConfigurationSetName"] = self._configuration_set
        if identity:
            params["OriginationIdentity"] = identity
        return params

    def opted_out(self, number: str) -> bool:
        return False  # the send itself refuses an opted-out number (see above)

    def send(self, number: str, text: str) -> str:
        try:
            answer = self._client.send_text_message(**self.request(number, text))
        except (ReadTimeoutError, ConnectionClosedError) as error:  # after the request went out
            raise OutcomeUnknownError(f"End User Messaging SMS's answer was lost: {error}"[:300]) from None
        except (EndpointConnectionError, ConnectTimeoutError) as error:  # nothing went out: wait
            raise ChannelThrottledError(
                f"End User Messaging SMS could not be reached: {error}"[:300]
            ) from None
        except ClientError as error:
            raise _channel_error(error) from None
        return str(answer["MessageId"])


def _channel_error(error: ClientError) -> Exception:
    found = error.response.get("Error", {})
    code, message = found.get("Code", ""), found.get("Message", "") or found.get("Code", "")
    reason = str(error.response.get("Reason", "") or found.get("Reason", ""))
    said = f"End User Messaging SMS refused the text: {reason or code}: {message}"[:300]
    if code == "ThrottlingException":
        return ChannelThrottledError(message[:300])
    if code == "ConflictException" and reason == OPTED_OUT:
        return ChannelOptedOutError(f"the number opted out of texts ({OPTED_OUT})")
    if code in ("ValidationException", "ConflictException"):
        return ChannelRejectedError(said)
    if code in SETUP:
        logger.error("End User Messaging SMS refused the setup", extra={"code": code, "reason": reason})
        return ChannelThrottledError(said)
    if error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) >= 500:
        return OutcomeUnknownError(f"End User Messaging SMS failed inside: {code}: {message}"[:300])
    return error
