"""The End User Messaging SMS stand-in's account: configuration sets with their event
destinations, the opt-out lists, the texts it took, and the events it publishes for them.

What each operation does, as the reference pages have it (devstack/sms_voice_standin.py lists
them):
- CreateConfigurationSet: a new name (ConflictException RESOURCE_ALREADY_EXISTS otherwise);
  answers its ARN `arn:aws:sms-voice:<region>:<account>:configuration-set/<name>`;
- CreateEventDestination: on a configuration set named or given by ARN (ResourceNotFoundException
  otherwise); exactly one of the CloudWatch Logs, Firehose and SNS destinations; at most five a
  set (ServiceQuotaExceededException EVENT_DESTINATIONS_PER_CONFIGURATION_SET); "The TEXT_SENT
  event type is not supported" (EventDestination); enabled when created;
- DescribeConfigurationSets: all of them, or those named (an unknown name: ResourceNotFoundException);
- PutOptedOutNumber / DescribeOptedOutNumbers: the account's opt-out list `Default` (others:
  ResourceNotFoundException -- the stand-in has no CreateOptOutList);
- SendTextMessage: the configuration set must exist; a destination on the opt-out list is refused
  with ConflictException DESTINATION_PHONE_NUMBER_OPTED_OUT ("If you attempt to send a message to
  a destination number that is on an opt-out list ... [the service] doesn't attempt to send the
  message"); over the configured rate: ThrottlingException; DryRun validates and sends nothing.
  Answers `{"MessageId": ...}`.

Events ("Example event data", "Event types for SMS, MMS, and voice"): each text taken is followed
by a TEXT_PENDING (not final) and then, to a destination simulator number the "Simulator phone
numbers" page lists as Failure, a final TEXT_CARRIER_UNREACHABLE (the page says only "message
failure events"; which failure type is the stand-in's choice) -- to every other number a final
TEXT_DELIVERED.  Each is published, as its JSON object, to every enabled SNS destination of the
text's configuration set whose MatchingEventTypes take it (ALL, TEXT_ALL or the type itself),
a moment after the send answered, as the real service publishes after it answers.
"""

from __future__ import annotations

import json
import queue
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from chalicelib.domain.phones import country_of
from devstack.sms_voice_rules import ApiError, check, conflict, not_found, validation

DEFAULT_LIST = "Default"
MAX_DESTINATIONS = 5
KEPT = 1000  # texts kept (and shown), newest last
STANDIN_NUMBER = "+12065550152"  # the reference's example origination number, when none is given
# The "Simulator phone numbers" page, destination numbers whose event type is Failure.
FAILING = frozenset(
    {
        "+61455944039",
        "+43676800442032",
        "+32460213923",
        "+56229140631",
        "+420790542287",
        "+4525919215",
        "+37282720793",
        "+3584573979111",
        "+33755512502",
        "+85257048854",
        "+36707178772",
        "+394390009174",
        "+447937404992",
        "+352691385882",
        "+3197008100150",
        "+4759449387",
        "+48732141442",
        "+351927946950",
        "+40783900332",
        "+34683783442",
        "+46790645102",
        "+41798075874",
        "+886903444632",
        "+447860019067",
        "+14254147167",
    }
)
_GSM = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)

Publish = Callable[[str, str], None]  # (SNS topic ARN, message)


class Account:
    def __init__(
        self,
        directory: Path | None,
        publish: Publish,
        account: str = "123456789012",
        region: str = "us-east-1",
        rate_per_s: float | None = None,
        delay_s: float = 0.2,
    ) -> None:
        self._file = directory / "texts.json" if directory else None
        self._publish, self._account, self._region = publish, account, region
        self.rate_per_s, self._delay = rate_per_s, delay_s  # the rate may be changed (tests)
        self._lock = threading.Lock()
        self._sets: dict[str, dict[str, Any]] = {}
        self._opted_out: dict[str, dict[str, Any]] = {}
        self._window: deque[float] = deque()
        self.texts: list[dict[str, Any]] = self._load()
        self.events: deque[dict[str, Any]] = deque(maxlen=KEPT)
        self._outbox: queue.Queue[tuple[float, str, dict[str, Any]] | None] = queue.Queue()
        self._worker = threading.Thread(target=self._deliver, name="sms-voice-events", daemon=True)
        self._worker.start()

    # --- the operations -----------------------------------------------------------------------
    def handle(self, operation: str, request: Any) -> dict[str, Any]:
        handlers: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "CreateConfigurationSet": self.create_configuration_set,
            "CreateEventDestination": self.create_event_destination,
            "DescribeConfigurationSets": self.describe_configuration_sets,
            "PutOptedOutNumber": self.put_opted_out_number,
            "DescribeOptedOutNumbers": self.describe_opted_out_numbers,
            "SendTextMessage": self.send_text_message,
        }
        if operation not in handlers:
            raise ApiError("UnknownOperationException", f"The stand-in does not offer {operation}.")
        return handlers[operation](check(operation, request))

    def create_configuration_set(self, request: dict[str, Any]) -> dict[str, Any]:
        name = request["ConfigurationSetName"]
        with self._lock:
            if name in self._sets:
                raise conflict("RESOURCE_ALREADY_EXISTS", "configuration-set", name, f"{name} exists.")
            found = {
                "ConfigurationSetArn": self._arn("configuration-set", name),
                "ConfigurationSetName": name,
                "EventDestinations": [],
                "CreatedTimestamp": time.time(),
            }
            self._sets[name] = found
        return {k: found[k] for k in ("ConfigurationSetArn", "ConfigurationSetName", "CreatedTimestamp")} | {
            "Tags": request.get("Tags", [])
        }

    def create_event_destination(self, request: dict[str, Any]) -> dict[str, Any]:
        kinds = [
            k
            for k in ("CloudWatchLogsDestination", "KinesisFirehoseDestination", "SnsDestination")
            if k in request
        ]
        if len(kinds) != 1:
            raise validation(
                "INVALID_PARAMETER",
                "Give exactly one of CloudWatchLogsDestination, "
                "KinesisFirehoseDestination and SnsDestination.",
            )
        if "TEXT_SENT" in request["MatchingEventTypes"]:
            field = {"Name": "MatchingEventTypes", "Message": "The TEXT_SENT event type is not supported."}
            raise validation("FIELD_VALIDATION_FAILED", field["Message"], [field])
        with self._lock:
            found = self._set(request["ConfigurationSetName"])
            destinations = found["EventDestinations"]
            name = request["EventDestinationName"]
            if any(d["EventDestinationName"] == name for d in destinations):
                raise conflict("RESOURCE_ALREADY_EXISTS", "event-destination", name, f"{name} exists.")
            if len(destinations) >= MAX_DESTINATIONS:
                raise ApiError(
                    "ServiceQuotaExceededException",
                    "Five event destinations a configuration set.",
                    Reason="EVENT_DESTINATIONS_PER_CONFIGURATION_SET",
                )
            destination = {
                "EventDestinationName": name,
                "Enabled": True,
                "MatchingEventTypes": list(request["MatchingEventTypes"]),
                kinds[0]: request[kinds[0]],
            }
            destinations.append(destination)
        return {
            "ConfigurationSetArn": found["ConfigurationSetArn"],
            "ConfigurationSetName": found["ConfigurationSetName"],
            "EventDestination": destination,
        }

    def describe_configuration_sets(self, request: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            names = request.get("ConfigurationSetNames")
            found = [self._set(n) for n in names] if names else list(self._sets.values())
            return {"ConfigurationSets": json.loads(json.dumps(found))}

    def put_opted_out_number(self, request: dict[str, Any]) -> dict[str, Any]:
        self._opt_out_list(request["OptOutListName"])
        entry = {
            "OptedOutNumber": request["OptedOutNumber"],
            "OptedOutTimestamp": time.time(),
            "EndUserOptedOut": False,
        }
        with self._lock:
            entry = self._opted_out.setdefault(entry["OptedOutNumber"], entry)
        return {
            "OptOutListArn": self._arn("opt-out-list", DEFAULT_LIST),
            "OptOutListName": DEFAULT_LIST,
            **entry,
        }

    def describe_opted_out_numbers(self, request: dict[str, Any]) -> dict[str, Any]:
        self._opt_out_list(request["OptOutListName"])
        with self._lock:
            asked = request.get("OptedOutNumbers")
            found = (
                [self._opted_out[n] for n in asked if n in self._opted_out]
                if asked
                else list(self._opted_out.values())
            )
        return {
            "OptOutListArn": self._arn("opt-out-list", DEFAULT_LIST),
            "OptOutListName": DEFAULT_LIST,
            "OptedOutNumbers": found,
        }

    def send_text_message(self, request: dict[str, Any]) -> dict[str, Any]:
        if "MessageBody" not in request:
            field = {"Name": "MessageBody", "Message": "A text needs a body."}
            raise validation("MISSING_PARAMETER", field["Message"], [field])
        number, now = request["DestinationPhoneNumber"], time.time()
        with self._lock:
            named = request.get("ConfigurationSetName")
            found = self._set(named) if named else None
            if number in self._opted_out:
                raise conflict(
                    "DESTINATION_PHONE_NUMBER_OPTED_OUT",
                    "opted-out-number",
                    number,
                    "The destination phone number is opted out.",
                )
            self._take_rate(now)
            message_id = str(uuid.uuid4())
            if request.get("DryRun"):
                return {"MessageId": message_id}
            text = {
                "MessageId": message_id,
                "At": now,
                "DestinationPhoneNumber": number,
                "MessageBody": request["MessageBody"],
                "MessageType": request.get("MessageType", "PROMOTIONAL"),
                "OriginationIdentity": request.get("OriginationIdentity", ""),
                "ConfigurationSetName": found["ConfigurationSetName"] if found else "",
                "Context": request.get("Context", {}),
            }
            self.texts = [*self.texts, text][-KEPT:]
            self._save()
        self._schedule(text, found)
        return {"MessageId": message_id}

    # --- events -------------------------------------------------------------------------------
    def settle(self, timeout: float = 10.0) -> None:
        """Wait until every event of the texts taken so far is published (tests)."""
        deadline = time.monotonic() + timeout
        while self._outbox.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)

    def stop(self) -> None:
        self._outbox.put(None)

    def _schedule(self, text: dict[str, Any], found: dict[str, Any] | None) -> None:
        topics = [
            d for d in (found or {}).get("EventDestinations", []) if d["Enabled"] and "SnsDestination" in d
        ]
        failing = text["DestinationPhoneNumber"] in FAILING
        final = (
            ("TEXT_CARRIER_UNREACHABLE", "CARRIER_UNREACHABLE", "The carrier could not be reached")
            if failing
            else ("TEXT_DELIVERED", "DELIVERED", "Message has been accepted by phone")
        )
        for n, (kind, status, said, is_final) in enumerate(
            [("TEXT_PENDING", "PENDING", "Message is pending delivery", False), (*final, True)]
        ):
            event = self._event(text, kind, status, said, is_final)
            for destination in topics:
                if {"ALL", "TEXT_ALL", kind} & set(destination["MatchingEventTypes"]):
                    due = text["At"] + self._delay * (n + 1)
                    self._outbox.put((due, destination["SnsDestination"]["TopicArn"], event))

    def _event(self, text: dict[str, Any], kind: str, status: str, said: str, final: bool) -> dict[str, Any]:
        body, identity = text["MessageBody"], text["OriginationIdentity"]
        gsm = set(body) <= _GSM
        per_part = (160, 153) if gsm else (70, 67)
        parts = 1 if len(body) <= per_part[0] else -(-len(body) // per_part[1])
        event = {
            "eventType": kind,
            "eventVersion": "1.0",
            "eventTimestamp": int(time.time() * 1000),
            "isFinal": final,
            "originationPhoneNumber": identity if identity.startswith("+") else STANDIN_NUMBER,
            "destinationPhoneNumber": text["DestinationPhoneNumber"],
            "isoCountryCode": country_of(text["DestinationPhoneNumber"]) or "",
            "isInternationalSend": False,
            "messageId": text["MessageId"],
            "messageRequestTimestamp": int(text["At"] * 1000),
            "messageEncoding": "GSM" if gsm else "UNICODE",
            "messageType": text["MessageType"],
            "messageStatus": status,
            "messageStatusDescription": said,
            "totalMessageParts": parts,
            "totalMessagePrice": 0.0,
            "totalCarrierFee": 0.0,
        }
        return event | ({"context": text["Context"]} if text["Context"] else {})

    def _deliver(self) -> None:
        while True:
            item = self._outbox.get()
            try:
                if item is None:
                    return
                due, topic, event = item
                time.sleep(max(0.0, due - time.time()))
                event = event | {"eventTimestamp": int(time.time() * 1000)}  # when it is reported
                self._publish(topic, json.dumps(event, ensure_ascii=False))
                self.events.append({"TopicArn": topic, **event})
            except Exception:  # a topic gone (the emulator stopped): the next event is tried anyway
                pass
            finally:
                self._outbox.task_done()

    # --- the rest -----------------------------------------------------------------------------
    def _set(self, name_or_arn: str) -> dict[str, Any]:
        name = name_or_arn.rsplit("/", 1)[-1] if name_or_arn.startswith("arn:") else name_or_arn
        if name not in self._sets:
            raise not_found("configuration-set", name_or_arn)
        return self._sets[name]

    def _opt_out_list(self, name_or_arn: str) -> None:
        name = name_or_arn.rsplit("/", 1)[-1] if name_or_arn.startswith("arn:") else name_or_arn
        if name != DEFAULT_LIST:
            raise not_found("opt-out-list", name_or_arn)

    def _take_rate(self, now: float) -> None:
        if self.rate_per_s is None:
            return
        while self._window and now - self._window[0] >= 1.0:
            self._window.popleft()
        if len(self._window) >= self.rate_per_s:
            raise ApiError("ThrottlingException", "Rate exceeded.")
        self._window.append(now)

    def _arn(self, kind: str, name: str) -> str:
        return f"arn:aws:sms-voice:{self._region}:{self._account}:{kind}/{name}"

    def _load(self) -> list[dict[str, Any]]:
        try:
            found = json.loads(self._file.read_text()) if self._file else []
        except (OSError, ValueError):
            return []
        return found if isinstance(found, list) else []

    def _save(self) -> None:
        if self._file is None:
            return
        self._file.parent.mkdir(parents=True, exist_ok=True)
        partial = self._file.with_suffix(".json.partial")
        partial.write_text(json.dumps(self.texts, ensure_ascii=False, indent=1))
        partial.replace(self._file)
