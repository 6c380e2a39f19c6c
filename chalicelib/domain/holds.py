"""Why a scenario mail did not go when its step came, and whether and when it is tried again.

Four reasons, each decided where its rule lives:

- `send_window`: the scenario's hours are closed in the person's timezone (`Window.next_open`);
- `frequency_cap`: the person has had their share of mail (`cap.frees_at`);
- `consent`: `consent.refusal` says no -- not_subscribed, paused or topic_off;
- `suppressed`: the address is on the do-not-mail list, or the contact is blocked.

The first two put the send off: the person stays on the step and their place is due again
at `retry_at` (the later of the window's opening and a place under the cap freeing), so a
hold is one event however often the tick runs meanwhile.  The last two are the mailer's
answer to a send it has claimed: the mail of that step is never sent (a pause that ends later
does not bring it back) and the person walks on to the next step, as they always have.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from .consent import REFUSALS
from .mail.cap import Cap, frees_at
from .scenarios import Window

HELD = "mail_held"  # the timeline entry's kind
SEND_WINDOW = "send_window"
FREQUENCY_CAP = "frequency_cap"
CONSENT = "consent"
SUPPRESSED = "suppressed"
NO_CHANNEL = "no_channel"  # a send whose channels the person is on none of (or allows none)


@dataclass(frozen=True)
class Hold:
    """A send that did not go: why, and when it is tried again (None: never; the step is skipped)."""

    reason: str  # send_window, frequency_cap, consent, suppressed
    retry_at: datetime | None = None
    refusal: str = ""  # consent: not_subscribed, paused or topic_off

    def fields(self, step: str, template: str, zone: tzinfo = UTC) -> dict[str, str]:
        """The `mail_held` timeline entry's fields; `retry_at` in the person's time zone, so it
        reads as the send window does ("08:00" in Tokyo is 08:00+09:00)."""
        found = {"step": step, "template": template, "reason": self.reason}
        if self.refusal:
            found["refusal"] = self.refusal
        if self.retry_at is None:
            return found | {"then": "skipped"}
        at = self.retry_at.astimezone(zone)
        if at.microsecond:  # to the second, never before the place is due again
            at = at.replace(microsecond=0) + timedelta(seconds=1)
        return found | {"then": "retry", "retry_at": at.isoformat()}


def deferral(
    now: datetime,
    window: Window | None,
    zone: tzinfo,
    cap: Cap | None,
    mail_times: Callable[[], list[float]],
    claimed: Callable[[], bool],
) -> Hold | None:
    """Must a send step wait, and until when?  Quiet hours hold it until the window opens; a
    full cap until a place frees -- unless this step's mail is claimed already (another tick
    is sending it, or sent it): then the cap is full with that very mail, and it is no hold.
    With both, the later moment wins and names the reason.  `mail_times` and `claimed` are
    asked only when the cap needs them, in that order (first the cap, then the ledger)."""
    opens = window.next_open(now, zone) if window else None
    frees: datetime | None = None
    if cap is not None:
        free = frees_at(cap, mail_times(), now.timestamp())
        if free is not None and not claimed():
            frees = datetime.fromtimestamp(free, UTC)
    if frees is not None and (opens is None or frees > opens):
        return Hold(FREQUENCY_CAP, frees)
    return Hold(SEND_WINDOW, opens) if opens is not None else None


def refused(outcome: str) -> Hold | None:
    """The mailer's outcome of a claimed send as a hold (None: it was not refused for the person)."""
    if outcome in (SUPPRESSED, NO_CHANNEL):
        return Hold(outcome)
    if outcome in REFUSALS:
        return Hold(CONSENT, refusal=outcome)
    return None
