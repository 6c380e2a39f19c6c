"""Topics and the preference page over in-memory ports: a mail about a topic goes only to people
who have it on; one-click in such a mail turns that topic off; the page's POSTs change topics,
pause mail or stop it all -- each an entry in the ledger."""

from __future__ import annotations

import email
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from chalicelib.domain.consent import refusal
from chalicelib.domain.errors import BadInputError
from chalicelib.domain.journeys import Action
from chalicelib.services.consent import ConsentRecords
from chalicelib.services.definitions import DefinitionsService
from chalicelib.services.mail_events import MailEvents
from chalicelib.services.mailer import Links, Mailer, Sent
from chalicelib.services.preferences import Preferences
from chalicelib.services.sales_alerts import SalesAlerts
from chalicelib.services.scenario_actions import Actions
from tests.fakes import (
    FakeClock,
    MemoryConsentLedger,
    MemoryDefinitionVersions,
    MemoryFiles,
    MemoryJourneys,
    MemoryPeople,
    MemorySites,
    RecordingAlerts,
    RecordingPost,
    RecordingTransport,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "config"
API = "https://api.example.jp/api"
LINK_KEY = "link-key-" + "k" * 32
NOW = "2026-11-23T01:00:00+00:00"


@pytest.mark.parametrize(
    ("contact", "topic", "why"),
    [
        ({"status": "subscribed"}, "offers", None),  # an import's consent: every topic
        ({"status": "subscribed", "topics": {"newsletter"}}, "offers", "topic_off"),
        ({"status": "subscribed", "topics": {"newsletter"}}, "newsletter", None),
        ({"status": "subscribed", "topics_off": {"offers"}}, "offers", "topic_off"),
        ({"status": "subscribed", "topics": {"offers"}}, None, None),  # a mail about no topic
        ({"status": "subscribed", "paused_until": "2026-12-01T00:00:00+00:00"}, None, "paused"),
        ({"status": "subscribed", "paused_until": "2026-11-01T00:00:00+00:00"}, None, None),
        ({"status": "pending"}, "newsletter", "not_subscribed"),
    ],
)
def test_who_may_be_mailed_about_what(contact, topic, why):
    assert refusal(contact, topic, NOW) == why


class World:
    def __init__(self) -> None:
        self.clock = FakeClock()
        self.people = MemoryPeople()
        self.journeys = MemoryJourneys()
        self.transport = RecordingTransport()
        self.ledger = MemoryConsentLedger()
        self.definitions = DefinitionsService(MemoryDefinitionVersions(), MemoryFiles(), self.clock)
        self.definitions.submit("templates", (EXAMPLES / "templates.yaml").read_bytes(), "templates.yaml")
        key = lambda: LINK_KEY  # noqa: E731
        self.mailer = Mailer(self.transport, self.journeys, self.people, "shop@example.jp", Links(API, key))
        actions = Actions(self.journeys, self.people, SalesAlerts(RecordingAlerts()), RecordingPost(), key)
        consent = ConsentRecords(self.ledger, self.clock)
        sites = MemorySites()
        self.events = MailEvents(
            self.journeys, self.people, actions, self.people, key, self.clock, sites, consent
        )
        self.preferences = Preferences(
            self.definitions, self.people, self.people, consent, self.events, key, self.clock
        )
        self.people.add("aiko@example.com", "c-aiko", status="subscribed", topics={"newsletter", "offers"})
        self.sends = 0

    def send(self, template: str) -> Sent:
        self.sends += 1
        contact = self.people.by_email("aiko@example.com")
        assert contact is not None
        key = f"c-aiko#welcome#{template}#{self.sends}"
        mailing = self.definitions.in_force().definitions.mailing
        now = datetime.fromtimestamp(self.clock(), UTC)
        return self.mailer.send(Action("send", template, template, key, "welcome"), contact, mailing, now, "")

    def link(self, kind: str) -> str:
        message = email.message_from_bytes(self.transport.sent[-1][1])
        text = next(p for p in message.walk() if p.get_content_type() == "text/plain").get_payload(
            decode=True
        )
        assert isinstance(text, bytes)
        found = re.findall(rf"{re.escape(API)}/{kind}/([\w.-]+)", text.decode())
        assert found, text.decode()
        return str(found[-1])

    def person(self) -> dict:
        found = self.people.by_email("aiko@example.com")
        assert found is not None
        return found


def test_one_click_in_a_mail_about_a_topic_turns_that_topic_off_and_nothing_else():
    world = World()
    assert world.send("coupon").outcome == "sent"  # about offers
    token = world.link("u")
    assert world.events.unsubscribe_target(token)["topic"] == "offers"
    world.clock.travel(60)
    assert world.events.unsubscribe(token, "198.51.100.0", "Mail/1.0") is True
    assert world.person()["status"] == "subscribed" and world.person()["topics"] == {"newsletter"}
    assert world.send("coupon").outcome == "topic_off"
    assert world.send("tips").outcome == "sent", "the newsletter still comes"
    assert world.send("thank_you").outcome == "sent", "a mail about no topic still comes"
    (entry,) = world.ledger.entries("c-aiko")
    assert (entry.change, entry.source, entry.detail["off"]) == ("topics", "unsubscribe", "offers")
    assert world.events.unsubscribe(token) is False, "a repeat changes nothing"


def test_every_mail_links_the_preference_page_which_changes_nothing_when_opened():
    world = World()
    world.send("tips")
    token = world.link("p")
    shown = world.preferences.page(token)
    assert shown["email"] == "aiko@example.com" and shown["paused_until"] == ""
    assert [(t["name"], t["on"]) for t in shown["topics"]] == [("newsletter", True), ("offers", True)]
    assert world.ledger.entries("c-aiko") == []


def test_the_page_turns_topics_off_and_pauses_mail_with_entries_for_each():
    world = World()
    world.send("tips")
    token = world.link("p")
    done = world.preferences.save(token, ["newsletter"], 30, "203.0.113.0", "Mozilla/5.0")
    assert done["topics"] == ["newsletter"] and done["paused_until"].startswith("2026-12-23")
    assert [e.change for e in world.ledger.entries("c-aiko")] == ["topics", "paused"]
    assert world.send("tips").outcome == "paused"
    world.preferences.save(token, ["newsletter"], None, "", "")  # saved again, the pause kept
    assert world.person()["paused_until"] == done["paused_until"] and len(world.ledger.entries("c-aiko")) == 2
    world.clock.travel(31 * 86400)
    assert world.send("tips").outcome == "sent" and world.send("coupon").outcome == "topic_off"
    with pytest.raises(BadInputError, match="no topic"):
        world.preferences.save(token, ["everything"], 0, "", "")
    with pytest.raises(BadInputError, match="pause"):
        world.preferences.save(token, ["newsletter"], 3650, "", "")


def test_no_topic_left_or_the_button_means_no_mail_at_all():
    world = World()
    world.send("tips")
    token = world.link("p")
    assert world.preferences.save(token, [], 0, "", "") == {"unsubscribed": True}
    assert world.person()["status"] == "unsubscribed"
    assert world.people.suppressed == {"aiko@example.com": "unsubscribed:welcome"}
    (entry,) = world.ledger.entries("c-aiko")
    assert (entry.change, entry.source, entry.detail["how"]) == (
        "withdrawn",
        "preferences",
        "preference page",
    )
    with pytest.raises(BadInputError, match="not subscribed"):
        world.preferences.save(token, ["newsletter"], 0, "", "")
    assert world.send("tips").outcome == "suppressed"
