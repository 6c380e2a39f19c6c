"""The steps other than mail: update a field or a score, tell sales, call a webhook;
webhook retries (tasks in the due index).

Each action is claimed in the ledger first, so it is taken once.  A webhook
is signed (`X-Sodate-Signature: t=<unix time>,v1=<HMAC-SHA256 of "t.body">`)
and, if the receiver fails, retried from the due index after 1, 5, 30, 120
and 720 minutes; then it is given up (the ledger says `failed`, with the last status).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timedelta
from typing import Any

from chalicelib.domain.contact import Contact
from chalicelib.domain.definitions.compile import Definitions
from chalicelib.domain.journeys import Action, key_parts
from chalicelib.domain.timeline import Recorded, points_entry, scenario_entry
from chalicelib.logs import logger
from chalicelib.services.ports import ContactRepository, JourneyRepository, Post, Secret
from chalicelib.services.sales_alerts import SalesAlerts

WEBHOOK_RETRY_MINUTES = (1, 5, 30, 120, 720)


class Actions:
    def __init__(
        self,
        journeys: JourneyRepository,
        state: ContactRepository,
        alerts: SalesAlerts,
        post: Post,
        webhook_key: Secret,
    ) -> None:
        self._journeys = journeys
        self._state = state
        self._alerts = alerts
        self._post = post  # returns the HTTP status; raises OSError-like errors on failure
        self._key = webhook_key

    def timeline(self, contact_id: str, at: datetime, kind: str, scenario: str, **fields: str) -> None:
        self._state.add_to_timeline(contact_id, [scenario_entry(at, kind, scenario, **fields)])

    def take(self, action: Action, contact: Contact, definitions: Definitions, now: datetime) -> bool:
        """Do an update, notification or webhook once; False if it was done before (a re-walk)."""
        contact_id = contact["contact_id"]
        fields = {"kind": action.kind, "status": "done", "at": now.isoformat(timespec="seconds")}
        if not self._journeys.claim(contact_id, action.key, fields):
            return False
        try:
            self._carry_out(action, contact, definitions, now)
        except Exception:  # not done (the sales mail throttled, a table busy): the next walk does it
            self._journeys.release(contact_id, action.key)
            raise
        self.timeline(contact_id, now, f"scenario_{action.kind}", action.scenario, step=action.step)
        return True

    def _carry_out(self, action: Action, contact: Contact, definitions: Definitions, now: datetime) -> None:
        contact_id, scenario = contact["contact_id"], action.scenario
        if action.kind == "update":
            self._update(action, contact, now, scenario)
        elif action.kind == "notify_sales":
            message = action.spec.get("message", "") if isinstance(action.spec, dict) else ""
            at = now.isoformat(timespec="seconds")
            hot = Recorded(
                contact_id,
                "",
                "hot",
                at,
                name=f"scenario {scenario}",
                score=f"step {action.step}",
                because=str(message),
            )
            pages = self._state.history(contact_id, now - timedelta(days=30)).visits[:10]
            self._alerts.send(definitions.sales_alerts, contact, hot, pages)
        elif action.kind == "webhook":
            task = {"key": action.key, "url": action.spec["url"], "attempt": 0, "email": contact["email"]}
            self._journeys.schedule(contact_id, f"webhook#{action.key}", now.timestamp(), task)

    def _update(self, action: Action, contact: Contact, now: datetime, scenario: str) -> None:
        spec = action.spec
        if "attrs" in spec:
            self._state.set_attrs(contact["email"], {str(k): str(v) for k, v in spec["attrs"].items()})
            return
        hit = points_entry(
            now,
            action.key,
            str(spec["score"]),
            float(spec["points"]),
            f"scenario {scenario} step {action.step}",
        )
        self._state.add_to_timeline(contact["contact_id"], [hit])  # scored by the events stream, once

    # --- webhooks (a task from the due index) ----------------------------------------------------
    def webhook(self, contact_id: str, data: dict[str, Any], now: datetime) -> None:
        _, scenario, step = key_parts(data["key"])
        body = json.dumps(
            {
                "type": "sodate.scenario.webhook",
                "id": data["key"].split("#", 1)[1],
                "scenario": scenario,
                "step": step,
                "contact": {"contact_id": contact_id, "email": data["email"]},
                "at": now.isoformat(timespec="seconds"),
            },
            ensure_ascii=False,
        ).encode()
        stamp = str(int(now.timestamp()))
        signature = hmac.new(self._key().encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Sodate webhook",
            "X-Sodate-Signature": f"t={stamp},v1={signature}",
        }
        try:
            status = self._post(data["url"], body, headers)
        except Exception as error:  # the receiver is down, refused, or slow: try again later
            logger.warning("webhook failed", extra={"url": data["url"], "error": str(error)})
            status = 0
        if 200 <= status < 300:
            self._journeys.note(contact_id, data["key"], {"status": "delivered"})
            return
        attempt = int(data["attempt"])
        if attempt >= len(WEBHOOK_RETRY_MINUTES):
            self._journeys.note(contact_id, data["key"], {"status": "failed", "last_status": str(status)})
            return
        due = now.timestamp() + WEBHOOK_RETRY_MINUTES[attempt] * 60
        self._journeys.schedule(contact_id, f"webhook#{data['key']}", due, data | {"attempt": attempt + 1})
