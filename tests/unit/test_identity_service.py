"""Identification over in-memory ports: a visitor becomes a known person only on proof."""

from __future__ import annotations

import json

import pytest

from chalicelib.domain.errors import BadInputError, NotFoundError
from chalicelib.domain.site import Site
from chalicelib.domain.tokens import InvalidTokenError, sign
from chalicelib.services.beacons import Beacons
from chalicelib.services.identity import Identity
from tests.fakes import FakeClock, MemoryPeople, MemorySites

CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
SHOP = Site("s_shop", "Shop", ("shop.example.jp",), "site-secret", "none", "2026-01-01T00:00:00+00:00")
LINK_KEY = "link-key-" + "k" * 32


class World:
    def __init__(self) -> None:
        self.clock = FakeClock()
        self.sites = MemorySites()
        self.people = MemoryPeople()
        self.identity = Identity(self.sites, self.people, lambda: LINK_KEY, self.clock, ttl_days=90)
        self.beacons = Beacons(self.sites, 90, self.clock, identify=self.identity.from_email_link)
        self.sites.put_site(SHOP)
        self.aiko = self.people.add(
            "aiko@example.com", "c-aiko", name="Aiko", status="subscribed", source="import:c.csv"
        )

    def visit(self, visitor: str, path: str) -> None:
        beacon = {"site": "s_shop", "u": f"https://shop.example.jp{path}", "v": visitor}
        headers = {"origin": "https://shop.example.jp", "user-agent": CHROME}
        assert (
            self.beacons.from_post(json.dumps(beacon).encode(), headers, "203.0.113.7", "POST").refused == ""
        )
        self.clock.travel(30)

    def paths(self, owner: str) -> list[str]:
        return [h["path"] for h in self.sites.hits.get(owner, [])]

    def backend_token(self, visitor: str, email: str, secret: str = SHOP.secret) -> str:
        return sign({"v": visitor, "email": email}, secret, int(self.clock()) + 300)


def test_a_link_from_a_sodate_email_identifies_the_browser_and_brings_its_history():
    world = World()
    world.visit("device-aaaa", "/")
    world.visit("device-aaaa", "/pricing")

    token = world.identity.link_token("c-aiko")
    assert world.identity.from_email_link(SHOP, "device-aaaa", token) == "c-aiko"

    assert world.paths("c#c-aiko") == ["/", "/pricing"]
    assert world.paths("v#s_shop#device-aaaa") == [], "nothing left behind to expire"
    assert not [h for h in world.sites.hits["c#c-aiko"] if "expires_at" in h]
    world.visit("device-aaaa", "/checkout")
    assert world.paths("c#c-aiko") == ["/", "/pricing", "/checkout"], "later hits follow"


def test_a_link_token_works_for_thirty_days_and_then_identifies_nobody():
    world = World()
    token = world.identity.link_token("c-aiko")
    world.clock.travel(31 * 86400)
    world.visit("device-aaaa", "/")
    with pytest.raises(InvalidTokenError):
        world.identity.from_email_link(SHOP, "device-aaaa", token)
    assert world.sites.links == {} and world.paths("v#s_shop#device-aaaa") == ["/"]


def test_a_link_for_a_person_erased_since_identifies_nobody():
    world = World()
    token = world.identity.link_token("c-aiko")
    world.people.delete("aiko@example.com")
    world.visit("device-aaaa", "/")
    with pytest.raises(NotFoundError):
        world.identity.from_email_link(SHOP, "device-aaaa", token)
    assert world.sites.links == {} and world.paths("v#s_shop#device-aaaa") == ["/"]


def test_the_sites_backend_vouches_for_a_new_address_and_two_devices_become_one_contact():
    world = World()
    world.visit("laptop-0001", "/a")
    world.visit("phone-00001", "/b")

    first = world.identity.from_site_backend(SHOP, world.backend_token("laptop-0001", "Ken@Example.com"))
    second = world.identity.from_site_backend(SHOP, world.backend_token("phone-00001", "ken@example.com"))

    assert first["contact_id"] == second["contact_id"]
    assert (first["history_moved"], second["history_moved"]) == (1, 1)
    ken = world.people.by_email("ken@example.com")
    assert ken is not None and ken["contact_id"] == first["contact_id"]
    assert ken["status"] == "pending", "a login is not consent to marketing mail"
    assert ken["source"] == "site:s_shop"
    assert sorted(world.paths(f"c#{ken['contact_id']}")) == ["/a", "/b"]
    assert len(world.people.contacts) == 2


def test_the_sites_backend_finds_a_known_person_by_email_and_changes_nothing_of_them():
    world = World()
    before = world.people.by_email("aiko@example.com")
    world.visit("laptop-0001", "/account")
    found = world.identity.from_site_backend(SHOP, world.backend_token("laptop-0001", " AIKO@example.com "))
    assert found == {"contact_id": "c-aiko", "history_moved": 1}
    assert world.people.by_email("aiko@example.com") == before
    assert world.paths("c#c-aiko") == ["/account"]


@pytest.mark.parametrize(
    ("claims", "secret", "error"),
    [
        ({"v": "laptop-0001", "email": "ken@example.com"}, "not-the-site-secret", InvalidTokenError),
        ({"email": "ken@example.com"}, SHOP.secret, BadInputError),
        ({"v": "laptop-0001"}, SHOP.secret, BadInputError),
        ({"v": "x", "email": "ken@example.com"}, SHOP.secret, BadInputError),
    ],
)
def test_a_backend_token_that_proves_nothing_creates_and_links_nobody(claims, secret, error):
    world = World()
    token = sign(claims, secret, int(world.clock()) + 300)
    with pytest.raises(error):
        world.identity.from_site_backend(SHOP, token)
    assert world.people.by_email("ken@example.com") is None
    assert world.sites.links == {}


def test_a_form_for_a_new_address_creates_a_pending_contact_but_joins_no_browser_to_it():
    """A claim is not proof: were the browser linked, a stranger's views would land on the real
    customer's timeline once the shop imports them."""
    world = World()
    world.visit("visitor-form1", "/whitepaper")
    answer = world.identity.from_form(
        SHOP,
        {"v": "visitor-form1", "email": "New@Example.com", "name": "New Person", "form": "whitepaper"}
        | {"path": "/whitepaper"},
    )
    assert answer == {"accepted": True}
    created = world.people.by_email("new@example.com")
    assert created is not None and created["name"] == "New Person" and created["status"] == "pending"
    assert f"c#{created['contact_id']}" not in world.sites.hits
    assert world.sites.links == {}
    kept = world.sites.hits["v#s_shop#visitor-form1"]
    assert [(h["kind"], h["path"], h["name"]) for h in kept] == [
        ("pageview", "/whitepaper", ""),
        ("form", "/whitepaper", "whitepaper"),
    ], "the submission stays the anonymous browser's behaviour"


def test_a_form_for_a_known_address_changes_nothing_of_that_person_and_does_not_link_the_browser():
    world = World()
    before = world.people.by_email("aiko@example.com")
    world.visit("attacker-01", "/evil")

    answer = world.identity.from_form(
        SHOP,
        {"v": "attacker-01", "email": "aiko@example.com", "name": "Hacked", "company": "Evil Inc."}
        | {"form": "contact", "path": "/contact"},
    )

    assert answer == {"accepted": True}, "the browser learns nothing about who exists"
    assert world.people.by_email("aiko@example.com") == before
    assert world.sites.links == {}
    assert "c#c-aiko" not in world.sites.hits, "nothing lands in the person's history"
    kept = world.sites.hits["v#s_shop#attacker-01"]
    assert [(h["kind"], h["name"]) for h in kept] == [("pageview", ""), ("form", "contact")]
    assert len(world.people.contacts) == 1


def test_a_form_from_a_browser_linked_by_proof_goes_to_that_persons_history():
    world = World()
    world.identity.from_email_link(SHOP, "device-aaaa", world.identity.link_token("c-aiko"))
    world.identity.from_form(SHOP, {"v": "device-aaaa", "email": "aiko@example.com", "form": "webinar"})
    assert [(h["kind"], h["name"]) for h in world.sites.hits["c#c-aiko"]] == [("form", "webinar")]


def test_an_erased_address_is_not_recorded_again_by_a_form():
    world = World()
    world.people.suppress("gone@example.com", "erased", "2026-11-01T00:00:00+00:00")
    world.visit("visitor-0009", "/")
    answer = world.identity.from_form(SHOP, {"v": "visitor-0009", "email": "Gone@Example.com", "name": "G"})
    assert answer == {"accepted": True}
    assert world.people.by_email("gone@example.com") is None
    assert world.sites.links == {}
    assert world.paths("v#s_shop#visitor-0009") == ["/"], "no submission kept either"


def test_an_erased_address_is_not_recorded_again_by_the_sites_backend():
    world = World()
    world.people.suppress("gone@example.com", "erased", "2026-11-01T00:00:00+00:00")
    with pytest.raises(BadInputError, match="erased"):
        world.identity.from_site_backend(SHOP, world.backend_token("laptop-0001", "gone@example.com"))
    assert world.people.by_email("gone@example.com") is None
    assert world.sites.links == {}


def test_a_form_without_an_email_or_with_a_broken_one_is_refused():
    world = World()
    for body in ({"v": "visitor-0009"}, {"v": "visitor-0009", "email": "not-an-address"}):
        with pytest.raises(BadInputError):
            world.identity.from_form(SHOP, body)
    assert len(world.people.contacts) == 1 and world.sites.hits == {}


def test_a_link_token_identifies_one_browser_once_and_a_replay_identifies_nobody():
    """A forwarded mail's link, opened in a second browser, must not join that browser too."""
    world = World()
    token = world.identity.link_token("c-aiko")
    assert world.identity.from_email_link(SHOP, "device-aaaa", token) == "c-aiko"
    with pytest.raises(InvalidTokenError, match="used"):
        world.identity.from_email_link(SHOP, "device-bbbb", token)
    assert world.sites.links == {("s_shop", "device-aaaa"): "c-aiko"}
