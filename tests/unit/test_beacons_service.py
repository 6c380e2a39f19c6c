"""The beacon use case over in-memory ports: what is kept of a page view, and what is refused."""

from __future__ import annotations

import json

import pytest

from chalicelib.domain.site import Site
from chalicelib.domain.tokens import sign
from chalicelib.services.beacons import IP_HITS_PER_MINUTE, VISITOR_HITS_PER_10S, Beacons, Outcome
from chalicelib.services.identity import Identity
from tests.fakes import FakeClock, MemoryPeople, MemorySites

CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
SHOP = Site("s_shop", "Shop", ("shop.example.jp",), "site-secret", "none", "2026-01-01T00:00:00+00:00")
ORIGIN = "https://shop.example.jp"
LINK_KEY = "link-key-" + "k" * 32
TODAY = "2026-11-23"  # FakeClock's day


class World:
    def __init__(self) -> None:
        self.clock = FakeClock()
        self.sites = MemorySites()
        self.people = MemoryPeople()
        self.identity = Identity(self.sites, self.people, lambda: LINK_KEY, self.clock, ttl_days=90)
        self.beacons = Beacons(self.sites, 90, self.clock, identify=self.identity.from_email_link)
        self.sites.put_site(SHOP)
        self.sites.put_site(
            Site("s_strict", "Strict", ("strict.example.jp",), "s2", "required", "2026-01-01T00:00:00+00:00")
        )

    def send(self, body: object, origin: str | None = ORIGIN, agent: str = CHROME, **headers: str) -> Outcome:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        given = {"user-agent": agent, **headers} | ({"origin": origin} if origin else {})
        return self.beacons.from_post(raw, given, "203.0.113.7", "POST")

    def owners(self) -> list[str]:
        return sorted(self.sites.hits)

    def rejected(self, site: str = "s_shop") -> dict[str, int]:
        return self.sites.rejected(site, TODAY)


def view(path: str = "/pricing", visitor: str | None = "visitor-0001", **extra: object) -> dict:
    return (
        {"site": "s_shop", "k": "pageview", "u": f"https://shop.example.jp{path}", "t": "Pricing"}
        | ({"v": visitor} if visitor else {})
        | extra
    )


def test_a_page_view_from_an_anonymous_visitor_is_kept_under_the_visitor_for_the_ttl():
    world = World()
    assert world.send(view()) == Outcome("", ORIGIN), "stored, CORS answered for the page's own origin"
    assert world.owners() == ["v#s_shop#visitor-0001"]
    (hit,) = world.sites.hits["v#s_shop#visitor-0001"]
    assert (hit["kind"], hit["path"], hit["visitor"]) == ("pageview", "/pricing", "visitor-0001")
    assert hit["expires_at"] == int(world.clock()) + 90 * 86400


def test_a_page_view_from_a_linked_browser_goes_to_the_contact_and_never_expires():
    world = World()
    world.sites.link("s_shop", "visitor-0001", "c-aiko", "2026-11-01T00:00:00.000+00:00")
    assert world.send(view("/products/tea")).refused == ""
    assert world.owners() == ["c#c-aiko"]
    (hit,) = world.sites.hits["c#c-aiko"]
    assert hit["path"] == "/products/tea" and "expires_at" not in hit


def test_a_hit_without_a_visitor_id_is_kept_only_as_the_days_anonymous_traffic():
    world = World()
    assert world.send(view(visitor=None)).refused == ""
    assert world.owners() == [f"a#s_shop#{TODAY}"]
    assert "visitor" not in world.sites.hits[f"a#s_shop#{TODAY}"][0]


@pytest.mark.parametrize("header", ["sec-gpc", "dnt"])
def test_a_browser_that_asks_not_to_be_tracked_keeps_no_visitor_id_even_when_linked(header):
    world = World()
    world.sites.link("s_shop", "visitor-0001", "c-aiko", "2026-11-01T00:00:00.000+00:00")
    assert world.send(view(), **{header: "1"}).refused == ""
    assert world.owners() == [f"a#s_shop#{TODAY}"], "neither the visitor's nor the person's history"
    (hit,) = world.sites.hits[f"a#s_shop#{TODAY}"]
    assert "visitor" not in hit


def test_a_site_that_requires_consent_keeps_no_visitor_id_until_the_page_says_so():
    world = World()
    strict = {"site": "s_strict", "u": "https://strict.example.jp/", "v": "visitor-0001"}
    assert world.send(strict, origin="https://strict.example.jp").refused == ""
    assert world.send(strict | {"c": 1}, origin="https://strict.example.jp").refused == ""
    assert world.owners() == [f"a#s_strict#{TODAY}", "v#s_strict#visitor-0001"]


def test_a_beacon_from_a_foreign_origin_is_refused_counted_and_reflects_no_origin():
    world = World()
    assert world.send(view(), origin="https://evil.example") == Outcome("foreign_origin", "")
    assert world.send(view(), origin="https://shop.example.jp.evil.example").refused == "foreign_origin"
    assert world.sites.hits == {}
    assert world.rejected() == {"foreign_origin": 2}


def test_a_page_on_another_domain_is_refused_and_counted_as_a_foreign_url():
    world = World()
    assert world.send(view() | {"u": "https://evil.example/phish"}).refused == "foreign_url"
    assert world.sites.hits == {} and world.rejected() == {"foreign_url": 1}


@pytest.mark.parametrize("body", [b"{not json", b'{"site": "s_shop",', b"\xff\xfe\x00"])
def test_malformed_json_is_refused_and_nothing_is_stored(body):
    world = World()
    assert world.send(body).refused == "not_json"
    assert world.beacons.from_pixel(body.decode("latin-1"), {}, "203.0.113.7", "GET").refused == "not_json"
    assert world.sites.hits == {}


@pytest.mark.parametrize("body", [b"null", b"[]", b'"s_shop"', b"7"])
def test_json_that_is_not_an_object_is_refused_as_such_and_nothing_is_stored(body):
    world = World()
    assert world.send(body).refused == "not_object"
    assert world.sites.hits == {} and world.rejected() == {}


def test_an_unknown_site_and_an_oversized_body_are_refused_before_anything_is_kept():
    world = World()
    assert world.send(view() | {"site": "s_guess"}).refused == "unknown_site"
    assert world.send(b"x" * 5000).refused == "too_large"
    assert world.sites.hits == {} and world.rejected() == {}


def test_an_address_naming_made_up_sites_is_held_to_its_limit_and_reads_no_more_sites():
    world = World()
    world.send(view())  # the shop's beacons have been seen: its site is cached
    made_up = [world.send(view() | {"site": f"s_guess{n}"}).refused for n in range(IP_HITS_PER_MINUTE + 50)]
    assert made_up == ["unknown_site"] * (IP_HITS_PER_MINUTE - 1) + ["rate_limited"] * 51
    assert world.sites.reads == IP_HITS_PER_MINUTE, "no read of the sites table once over the limit"
    assert world.send(view()).refused == "rate_limited"
    assert world.rejected() == {"rate_limited": 1}, "the shop sees its own beacon held back"
    elsewhere = world.beacons.from_post(
        json.dumps(view()).encode(), {"origin": ORIGIN}, "198.51.100.9", "POST"
    )
    assert elsewhere.refused == "", "another address is not held back"
    world.clock.travel(60)
    assert world.send(view() | {"site": "s_guess"}).refused == "unknown_site", "a new minute"


def test_thirty_hits_per_visitor_in_ten_seconds_then_refused_until_the_next_window():
    world = World()
    answers = []
    for _ in range(VISITOR_HITS_PER_10S + 2):  # four a second: a fast reader, not a bot
        answers.append(world.send(view()).refused)
        world.clock.travel(0.25)
    assert answers == [""] * 30 + ["rate_limited"] * 2
    assert world.rejected() == {"rate_limited": 2}
    assert world.send(view(visitor="visitor-0002")).refused == "", "another visitor is not held back"
    hits = world.sites.hits["v#s_shop#visitor-0001"]
    assert len(hits) == 30 and not [h for h in hits if "bot" in h]

    world.clock.travel(10 - 0.25 * 32)  # ten seconds after the first hit: a new window
    assert world.send(view()).refused == ""
    assert len(world.sites.hits["v#s_shop#visitor-0001"]) == 31


def test_more_hits_in_one_second_than_a_person_makes_are_kept_as_a_bot():
    world = World()
    for _ in range(6):
        world.send(view())  # the clock stands still
    flags = [h.get("bot") for h in world.sites.hits["v#s_shop#visitor-0001"]]
    assert flags == [None] * 5 + ["impossible_speed"]


def bad_tokens(world: World) -> dict[str, str]:
    now = int(world.clock())
    return {
        "forged": sign({"c": "c-aiko"}, "guessed-key", now + 3600),
        "truncated": world.identity.link_token("c-aiko")[:-4],
        "expired": sign({"c": "c-aiko"}, LINK_KEY, now - 1),
        "a bare contact id": "c-aiko",
        "for an erased person": world.identity.link_token("c-gone"),
    }


@pytest.mark.parametrize(
    "which", ["forged", "truncated", "expired", "a bare contact id", "for an erased person"]
)
def test_a_bad_link_token_is_counted_and_the_hit_is_still_kept_anonymously(which):
    world = World()
    world.people.add("aiko@example.com", "c-aiko", status="subscribed")
    token = bad_tokens(world)[which]
    assert world.send(view(i=token)).refused == ""
    assert world.owners() == ["v#s_shop#visitor-0001"], "kept, and joined to nobody"
    assert world.rejected() == {"bad_link_token": 1}
    assert world.sites.links == {}


def test_a_good_link_token_joins_the_visitors_history_and_later_hits_follow():
    world = World()
    world.people.add("aiko@example.com", "c-aiko", status="subscribed")
    world.send(view("/"))
    world.clock.travel(60)
    world.send(view("/products/tea", i=world.identity.link_token("c-aiko")))
    world.clock.travel(60)
    world.send(view("/checkout"))
    assert world.owners() == ["c#c-aiko"]
    assert [h["path"] for h in world.sites.hits["c#c-aiko"]] == ["/", "/products/tea", "/checkout"]
    assert not [h for h in world.sites.hits["c#c-aiko"] if "expires_at" in h], "the history stays"
    assert world.rejected() == {}


def test_a_link_scanner_landing_with_the_identity_token_identifies_nobody():
    world = World()
    world.people.add("aiko@example.com", "c-aiko", status="subscribed")
    scanner = "Mozilla/5.0 (compatible; Proofpoint URL Defense)"
    assert world.send(view(i=world.identity.link_token("c-aiko")), agent=scanner).refused == ""
    (hit,) = world.sites.hits["v#s_shop#visitor-0001"]
    assert hit["bot"] == "user_agent:proofpoint"
    assert world.sites.links == {}
