"""Use case: a visitor signs up through a form, and confirms from their mailbox.

1. The submission is checked (the form's fields, the topics offered, a honeypot
   nobody fills, a start token that says the page was served seconds ago, a rate
   per IP and per address).  A new address becomes a `pending` person; an existing
   person is not changed at all -- the claim is not yet proven.
2. The confirmation mail goes to SES at once, in the request.  The submission
   waits, signed by nothing but its random key, until its link is used.
3. The link opens a page; the page's POST confirms (a scanner's GET confirms
   nothing).  Only then are the person's fields and topics written, the status
   made `subscribed` and the browser that submitted identified -- by a token for
   that browser alone, on the way back to the site.

Every step is a consent ledger entry, with the wording shown, page, IP and agent.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from chalicelib.domain.consent import Change, ConsentEntry
from chalicelib.domain.contact import NEVER_AGAIN, Source, Status, create
from chalicelib.domain.definitions.forms import Form, Forms
from chalicelib.domain.emails import InvalidEmailError, email_hash, normalize_email
from chalicelib.domain.errors import BadInputError, NotFoundError, OutcomeUnknownError, TooManyError
from chalicelib.domain.hits import truncate_ip, valid_visitor_id
from chalicelib.domain.mail.confirmation import default_confirmation
from chalicelib.domain.mail.message import MailRejectedError, MailThrottledError, Sender, build_message
from chalicelib.domain.rows import ContactRow, plain_text
from chalicelib.domain.site import Site
from chalicelib.domain.tokens import CONFIRM, FORM_START, InvalidTokenError, sign, verify
from chalicelib.services.consent import ConsentRecords
from chalicelib.services.definitions import DefinitionsService
from chalicelib.services.identity import Identity
from chalicelib.services.ports import (
    Clock,
    ContactDirectory,
    MailTransport,
    PendingSignups,
    Secret,
)

CONFIRM_DAYS = 7  # a confirmation link works this long
MIN_FILL_SECONDS = 2  # a form sent sooner after its page was served is a robot's
START_TOKEN_HOURS = 24
PER_IP = (10, 600)  # sign-ups from one (truncated) IP address per 10 minutes
PER_ADDRESS = (3, 3600)  # confirmation mails to one address per hour
HONEYPOT = "sodate_hp"


class SignupBusyError(RuntimeError):
    """The mail service would not take the confirmation now: the visitor is asked to try again."""


@dataclass(frozen=True)
class Client:
    ip: str
    user_agent: str


@dataclass(frozen=True)
class Taken:
    """What the visitor sees after sending the form."""

    thanks: str
    redirect: str | None = None


@dataclass(frozen=True)
class MailLinks:
    api: str  # the API's public base URL
    sender_address: str
    require_https: bool = True


class Signups:
    def __init__(
        self,
        definitions: DefinitionsService,
        directory: ContactDirectory,
        consent: ConsentRecords,
        pending: PendingSignups,
        transport: MailTransport,
        link_key: Secret,
        links: MailLinks,
        clock: Clock,
        identity: Identity,  # the submission is this browser's behaviour; the way back identifies it
    ) -> None:
        self._definitions = definitions
        self._directory = directory
        self._consent = consent
        self._pending = pending
        self._transport = transport
        self._key = link_key
        self._links = links
        self._clock = clock
        self._identity = identity

    # --- the form ------------------------------------------------------------------------------------
    def forms(self) -> Forms:
        return self._definitions.in_force().definitions.forms

    def defines(self, site: Site, name: Any) -> bool:
        form = self.forms().forms.get(name) if isinstance(name, str) else None
        return form is not None and form.belongs_to(site.site_id, site.domains)

    def form(self, site: Site, name: str) -> Form:
        form = self.forms().forms.get(name)
        if form is None or not form.belongs_to(site.site_id, site.domains):
            raise NotFoundError(f"This site has no form named {name!r}.")
        return form

    def start_token(self, site: Site, form: Form) -> str:
        """Served with the form: when it was served (the minimum fill time is counted from it)."""
        now = int(self._clock())
        claims = {"f": f"{site.site_id}#{form.name}", "t": str(now)}
        return sign(claims, self._key(), now + START_TOKEN_HOURS * 3600)

    def submit(self, site: Site, form: Form, body: Mapping[str, Any], client: Client) -> Taken:
        language = body.get("lang") if body.get("lang") in ("ja", "en") else form.language
        taken = Taken(form.thanks.get(str(language)), form.redirect)
        if str(body.get(HONEYPOT) or "").strip():
            return taken  # a robot filled the field no person sees: it is told nothing
        self._check_start(site, form, body.get("ft"))
        email, fields = _fields(form, body)
        topics = _topics(form, body)
        now = self._clock()
        ip = truncate_ip(client.ip)
        if self._pending.count(f"ip#{ip}", PER_IP[1], now) > PER_IP[0]:
            raise TooManyError("Too many sign-ups from this network; please try again in a few minutes.")
        if self._directory.suppression_of(email) in NEVER_AGAIN:
            return taken  # erased, bounced or complained: never mailed again, and not told so
        if self._pending.count(f"to#{email_hash(email)}", PER_ADDRESS[1], now) > PER_ADDRESS[0]:
            return taken  # a mail box is not flooded with confirmations
        at = _iso(now)
        self._identity.record_submission(site, {**body, "form": form.name})  # scored like a page view
        contact = self._directory.find_by_email(email) or self._new_person(site, form, email, at)
        page = _page_on_site(site, body.get("page"))
        version = self._definitions.in_force().definitions.versions.get("forms", 0)
        submission = {
            "form": form.name,
            "site": site.site_id,
            "email": email,
            "fields": fields,
            "topics": topics,
            "language": language,
            "wording": form.consent.get(str(language)),
            "wording_id": form.wording_id(str(language)),
            "forms_version": str(version),
            "page": page,
            "visitor": str(body["v"]) if valid_visitor_id(body.get("v")) else "",
            "ip": ip,
            "user_agent": client.user_agent[:256],
            "at": at,
            "opt_in": form.opt_in,
        }
        status = contact.get("status")
        if form.opt_in == "single" and status == Status.PENDING:
            self._grant(contact, submission, client, "form")
            return taken
        nonce = os.urandom(16).hex()
        expires = int(now) + CONFIRM_DAYS * 86400
        self._pending.keep(nonce, submission, expires)
        mail_id = self._send_confirmation(form, email, sign({"s": nonce}, self._key(), expires), language)
        detail = _evidence(submission) | {"confirmation_mail": mail_id}
        entry = ConsentEntry(
            at, Change.REQUESTED, "form", "person", str(status), detail, ip, client.user_agent
        )
        self._consent.record(str(contact["contact_id"]), entry)
        return taken

    def _check_start(self, site: Site, form: Form, token: Any) -> None:
        if token is None and form.plain_post:
            return
        if token is None:
            raise BadInputError("This form must be sent from its page (its start token 'ft' is missing).")
        try:
            claims = verify(token, self._key(), self._clock(), FORM_START)
        except InvalidTokenError as error:
            raise BadInputError(f"ft: {error} Reload the page and send the form again.") from None
        if claims["f"] != f"{site.site_id}#{form.name}" or not claims["t"].isdigit():
            raise BadInputError("ft: the start token is for another form.")
        if self._clock() - int(claims["t"]) < MIN_FILL_SECONDS:
            raise BadInputError("The form was sent too quickly; please check it and send it again.")

    def _new_person(self, site: Site, form: Form, email: str, at: str) -> dict[str, Any]:
        """A pending person who holds nothing but the address until it is proven theirs."""
        row = ContactRow(0, email, {}, {})
        contact = create(row, os.urandom(16).hex(), Source(f"form:{form.name}", at)).contact
        if self._directory.create_if_absent(contact):
            return contact
        found = self._directory.find_by_email(email)  # someone created them a moment ago
        assert found is not None
        return found

    def _send_confirmation(self, form: Form, email: str, token: str, language: Any) -> str:
        mailing = self._definitions.in_force().definitions.mailing
        template = mailing.templates.get(form.confirmation or "") or default_confirmation()
        url = f"{self._links.api}/confirm/{token}"
        rendered = template.render(
            {"email": email, "language": language}, {"confirm_url": url, "form": form.name}
        )
        sender = Sender(mailing.sender_name or "Sodate", self._links.sender_address, mailing.postal_address)
        now = datetime.fromtimestamp(self._clock(), UTC)
        raw = build_message(sender, email, rendered, None, now, {"X-Sodate-Mail": f"confirm#{form.name}"})
        try:
            return self._transport.send_raw(email, raw)
        except MailThrottledError:
            raise SignupBusyError(
                "The mail service is busy; please send the form again in a minute."
            ) from None
        except MailRejectedError as error:
            raise BadInputError(f"The confirmation mail could not be sent to this address: {error}") from None
        except OutcomeUnknownError:  # it may well be on its way; if not, the form can be sent again
            return ""

    # --- the confirmation --------------------------------------------------------------------------
    def waiting(self, token: str) -> dict[str, Any] | None:
        """What the confirmation page shows before its button is pressed (None: used or expired)."""
        submission = self._pending.look(self._nonce(token))
        if submission is None:
            return None
        return {"email": submission["email"], "form": submission["form"], "topics": submission["topics"]}

    def confirm(self, token: str, client: Client) -> dict[str, Any] | None:
        """The button on the confirmation page: subscribed, for the chosen topics.  None when the
        link was used already or has expired (a second press changes nothing)."""
        submission = self._pending.take(self._nonce(token))
        if submission is None:
            return None
        contact = self._directory.find_by_email(submission["email"])
        if contact is None:
            raise NotFoundError("This sign-up's person was erased; sign up again to subscribe.")
        if not self._grant(contact, submission, client, "confirmation"):
            raise BadInputError("This address can no longer be subscribed.")
        return {"email": submission["email"], "continue_url": self._continue_url(contact, submission)}

    def _grant(
        self, contact: dict[str, Any], submission: dict[str, Any], client: Client, source: str
    ) -> bool:
        email = str(contact["email"])
        if self._directory.suppression_of(email) in NEVER_AGAIN:
            return False
        self._directory.lift_unsubscribe(email)  # they asked again, from their own mailbox
        at = _iso(self._clock())
        every_topic = contact.get("status") == Status.SUBSCRIBED and "topics" not in contact
        came_from = f"form:{submission['form']}"
        kept = contact.get("status") != Status.SUBSCRIBED
        if kept:
            self._consent.keep(str(contact["contact_id"]))  # the sign-up's evidence, before it counts
        was = self._directory.grant(
            email, submission["fields"], submission["topics"], came_from, at, every_topic
        )
        if was is None:
            return False
        detail = _evidence(submission) | (
            {"submitted_ip": submission["ip"]} if source == "confirmation" else {}
        )
        entry = ConsentEntry(
            at,
            Change.GRANTED,
            source,
            "person",
            Status.SUBSCRIBED,
            detail,
            truncate_ip(client.ip),
            client.user_agent,
        )
        mailable = kept or was == Status.SUBSCRIBED  # kept for good already: nothing to move again
        self._consent.record(str(contact["contact_id"]), entry, was_mailable=mailable)
        return True

    def _continue_url(self, contact: dict[str, Any], submission: dict[str, Any]) -> str:
        """Back to the page the form was on; it identifies the browser that submitted -- and only that
        one (the token names it), so a forwarded confirmation joins nobody else's history."""
        page = submission.get("page") or ""
        if not page:
            return ""
        visitor = submission.get("visitor") or ""
        if not visitor:
            return page
        token = self._identity.browser_token(str(contact["contact_id"]), visitor)
        base, _, fragment = page.partition("#")
        joiner = "&" if "?" in base else "?"
        return f"{base}{joiner}sodate_t={token}" + (f"#{fragment}" if fragment else "")

    def _nonce(self, token: str) -> str:
        return str(verify(token, self._key(), self._clock(), CONFIRM)["s"])


def _fields(form: Form, body: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    email = body.get("email")
    if not isinstance(email, str):
        raise BadInputError("email: this form needs an email address.")
    try:
        normalized = normalize_email(email)
    except InvalidEmailError as error:
        raise BadInputError(f"email: {error.reason}") from None
    fields: dict[str, Any] = {}
    attrs: dict[str, str] = {}
    for field in form.fields:
        if field.name == "email":  # read above, and never a field to write
            continue
        value = body.get(field.name)
        text = plain_text(value).strip() if isinstance(value, str) else ""
        if value is not None and not isinstance(value, str):
            raise BadInputError(f"{field.name}: expected text.")
        if not text and field.required:
            raise BadInputError(f"{field.name}: this field is required.")
        if len(text) > field.max_chars:
            raise BadInputError(f"{field.name}: at most {field.max_chars} characters.")
        if text and field.options and text not in field.options:
            raise BadInputError(f"{field.name}: choose one of {', '.join(field.options)}.")
        if text and field.name.startswith("attrs."):
            attrs[field.name[6:]] = text
        elif text:
            fields[field.name] = text
    if attrs:
        fields["attrs"] = attrs
    return normalized, fields


def _topics(form: Form, body: Mapping[str, Any]) -> list[str]:
    chosen = body.get("topics", [])
    chosen = [chosen] if isinstance(chosen, str) else chosen
    if not isinstance(chosen, list) or not all(isinstance(t, str) for t in chosen):
        raise BadInputError("topics: expected a list of topic names.")
    unknown = [t for t in chosen if t not in form.topics]
    if unknown:
        raise BadInputError(f"topics: this form does not offer {', '.join(unknown)[:200]}.")
    if form.topics and not chosen:
        raise BadInputError("topics: choose at least one.")
    return sorted(set(chosen))


def _page_on_site(site: Site, page: Any) -> str:
    """The page the form was on, if it is one of the site's (else nothing is kept)."""
    if not isinstance(page, str) or len(page) > 2000:
        return ""
    parts = urlsplit(page)
    return page if parts.scheme in ("http", "https") and site.rules.owns(parts.hostname or "") else ""


def _evidence(submission: dict[str, Any]) -> dict[str, str]:
    keys = ("form", "forms_version", "wording", "wording_id", "language", "page", "opt_in")
    found = {k: str(submission.get(k) or "") for k in keys}
    found["topics"] = ",".join(submission.get("topics") or [])
    found["submitted_at"] = str(submission.get("at", ""))
    return found


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")
