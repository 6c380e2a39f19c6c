"""Anonymous visitors become contacts only on proof, and bring their history along."""

from __future__ import annotations

import json
import time

from chalicelib.domain.tokens import sign
from tests.aws.test_api import drop_and_import
from tests.aws.test_beacons import auth, send


def pageview(site, visitor, path="/", **extra):
    return {
        "site": site["site_id"],
        "k": "pageview",
        "u": f"https://shop.example.jp{path}",
        "v": visitor,
        **extra,
    }


def contact_by_email(api, aws, email):
    return api.http.get(f"/admin/contacts?email={email}", headers=auth(aws)).json_body


def timeline(api, aws, contact_id):
    answer = api.http.get(f"/admin/contacts/{contact_id}/timeline", headers=auth(aws))
    assert answer.status_code == 200
    return answer.json_body["hits"]


def visitor_hits(api, aws, site, visitor):
    path = f"/admin/sites/{site['site_id']}/visitors/{visitor}/timeline"
    return api.http.get(path, headers=auth(aws)).json_body["hits"]


def test_a_click_in_a_sodate_email_joins_the_earlier_history(aws, api, site):
    drop_and_import(aws, api, "c.csv", b"email,name\naiko@example.com,Aiko\n")
    aiko = contact_by_email(api, aws, "aiko@example.com")
    for path in ("/", "/pricing"):
        assert send(api, pageview(site, "device-aaaa", path)).status_code == 204
    token = api.http.post(f"/admin/contacts/{aiko['contact_id']}/link-token", headers=auth(aws)).json_body[
        "token"
    ]

    assert send(api, pageview(site, "device-aaaa", "/products/tea", i=token)).status_code == 204
    assert send(api, pageview(site, "device-aaaa", "/checkout")).status_code == 204

    paths = [h["path"] for h in timeline(api, aws, aiko["contact_id"])]
    assert paths == ["/checkout", "/products/tea", "/pricing", "/"], "history joined, newest first"
    assert visitor_hits(api, aws, site, "device-aaaa") == []


def test_forged_truncated_expired_or_wrong_purpose_link_tokens_identify_nobody(aws, api, site):
    drop_and_import(aws, api, "c.csv", b"email,name\naiko@example.com,Aiko\n")
    aiko = contact_by_email(api, aws, "aiko@example.com")
    good = api.http.post(f"/admin/contacts/{aiko['contact_id']}/link-token", headers=auth(aws)).json_body[
        "token"
    ]
    forged = sign({"c": aiko["contact_id"]}, "guessed-key", int(time.time()) + 3600)
    expired = sign({"c": aiko["contact_id"]}, "irrelevant", 1)
    # Her own mail's unsubscribe, click and pixel tokens are signed with the same key, for other purposes.
    key = aws["session"].client("secretsmanager").get_secret_value(SecretId=aws["LinkSigningKeySecret"])
    mail = f"{aiko['contact_id']}#welcome#hello#1"
    later = int(time.time()) + 3600
    other_purposes = [
        sign({"unsub": mail}, key["SecretString"], later),
        sign({"m": mail, "u": "https://shop.example.jp/"}, key["SecretString"], later),
        sign({"m": mail}, key["SecretString"], later),
    ]
    for visitor, token in (
        ("device-f1", forged),
        ("device-f2", good[:-4]),
        ("device-f3", expired),
        ("device-f4", aiko["contact_id"]),
        *((f"device-p{n}", token) for n, token in enumerate(other_purposes)),
    ):
        assert send(api, pageview(site, visitor, i=token)).status_code == 204
        assert len(visitor_hits(api, aws, site, visitor)) == 1, "kept anonymous"
    assert timeline(api, aws, aiko["contact_id"]) == []
    # The good token identifies one browser; the same link opened in another (forwarded) does nothing.
    assert send(api, pageview(site, "device-g1", i=good)).status_code == 204
    assert send(api, pageview(site, "device-g2", i=good)).status_code == 204
    assert len(visitor_hits(api, aws, site, "device-g2")) == 1, "the replay stays anonymous"
    assert len(timeline(api, aws, aiko["contact_id"])) == 1
    rejected = api.http.get(f"/admin/sites/{site['site_id']}", headers=auth(aws)).json_body["rejected_today"]
    assert rejected == {"bad_link_token": 8}


def test_the_sites_backend_vouches_and_two_devices_become_one_contact(aws, api, site):
    assert send(api, pageview(site, "laptop-0001", "/a")).status_code == 204
    assert send(api, pageview(site, "phone-00001", "/b")).status_code == 204
    ids = set()
    for visitor in ("laptop-0001", "phone-00001"):
        token = sign({"v": visitor, "email": "Ken@Example.com"}, site["secret"], int(time.time()) + 300)
        answer = api.http.post(
            "/identify",
            headers={"Content-Type": "application/json"},
            body=json.dumps({"site": site["site_id"], "token": token}),
        )
        assert answer.status_code == 200, answer.body
        ids.add(answer.json_body["contact_id"])
    (contact_id,) = ids
    assert sorted(h["path"] for h in timeline(api, aws, contact_id)) == ["/a", "/b"]
    assert contact_by_email(api, aws, "ken@example.com")["contact_id"] == contact_id


def test_a_backend_token_signed_with_another_secret_is_forbidden(aws, api, site):
    token = sign(
        {"v": "laptop-0001", "email": "ken@example.com"}, "not-the-site-secret", int(time.time()) + 300
    )
    answer = api.http.post(
        "/identify",
        headers={"Content-Type": "application/json"},
        body=json.dumps({"site": site["site_id"], "token": token}),
    )
    assert answer.status_code == 403
    assert api.http.get("/admin/contacts?email=ken@example.com", headers=auth(aws)).status_code == 404


def form(api, site, origin="https://shop.example.jp", **body):
    return api.http.post(
        "/f",
        headers={"Content-Type": "application/json", "Origin": origin},
        body=json.dumps({"site": site["site_id"], **body}),
    )


def test_a_lead_form_for_a_new_address_creates_a_pending_contact_and_joins_no_browser(aws, api, site):
    """A form not defined in forms.yaml is a lead's details: the person is created, but the claim
    proves nothing, so the browser's history stays its own (a stranger's views never land on the
    customer the shop imports later)."""
    assert send(api, pageview(site, "visitor-form1", "/whitepaper")).status_code == 204
    answer = form(
        api,
        site,
        v="visitor-form1",
        email="new@example.com",
        name="New Person",
        form="whitepaper",
        path="/whitepaper",
    )
    assert answer.status_code == 202
    created = contact_by_email(api, aws, "new@example.com")
    assert created["name"] == "New Person" and created["status"] == "pending"
    assert timeline(api, aws, created["contact_id"]) == []
    path = f"/admin/sites/{site['site_id']}/visitors/visitor-form1/timeline"
    kept = api.http.get(path, headers=auth(aws)).json_body["hits"]
    assert [(h["kind"], h["path"]) for h in kept] == [("form", "/whitepaper"), ("pageview", "/whitepaper")]


def test_an_unsigned_claim_never_touches_an_existing_person(aws, api, site):
    drop_and_import(aws, api, "c.csv", b"email,name\naiko@example.com,Aiko\n")
    before = contact_by_email(api, aws, "aiko@example.com")
    assert send(api, pageview(site, "attacker-01", "/evil")).status_code == 204
    answer = form(api, site, v="attacker-01", email="aiko@example.com", name="Hacked")
    assert answer.status_code == 202
    assert contact_by_email(api, aws, "aiko@example.com") == before
    assert timeline(api, aws, before["contact_id"]) == []
    assert form(api, site, origin="https://evil.example", email="x@example.com").status_code == 403


def test_erasing_a_person_deletes_their_history_and_cuts_their_browsers_loose(aws, api, site):
    token = sign({"v": "laptop-0001", "email": "gone@example.com"}, site["secret"], int(time.time()) + 300)
    assert send(api, pageview(site, "laptop-0001", "/before")).status_code == 204
    contact_id = api.http.post(
        "/identify",
        headers={"Content-Type": "application/json"},
        body=json.dumps({"site": site["site_id"], "token": token}),
    ).json_body["contact_id"]
    exported = json.loads(api.http.get(f"/admin/contacts/{contact_id}/export", headers=auth(aws)).body)
    assert [h["path"] for h in exported["timeline"]] == ["/before"]

    erased = api.http.delete(f"/admin/contacts/{contact_id}", headers=auth(aws)).json_body
    assert erased["events_deleted"] == 2  # the hit and the browser's link marker
    items = aws["session"].client("dynamodb").scan(TableName=aws["EventsTable"])["Items"]
    assert not [i for i in items if contact_id in json.dumps(i)], "nothing refers to the person any more"

    assert send(api, pageview(site, "laptop-0001", "/after")).status_code == 204
    assert [h["path"] for h in visitor_hits(api, aws, site, "laptop-0001")] == ["/after"], "anonymous again"


def test_the_identity_token_from_a_mail_link_is_never_stored(aws, api, site):
    # GIVEN a visitor landing from a mail link, then moving on (the token in the URL and referrer)
    drop_and_import(aws, api, "c.csv", b"email,name\naiko@example.com,Aiko\n")
    aiko = contact_by_email(api, aws, "aiko@example.com")
    token = api.http.post(f"/admin/contacts/{aiko['contact_id']}/link-token", headers=auth(aws)).json_body[
        "token"
    ]
    landing = f"https://shop.example.jp/guide?utm_source=mail&sodate_t={token}"
    assert (
        send(
            api, {**pageview(site, "device-lt01", "/guide?utm_source=mail&sodate_t=" + token), "i": token}
        ).status_code
        == 204
    )
    assert send(api, pageview(site, "device-lt01", "/pricing", r=landing)).status_code == 204

    # THEN she is known, and neither hit, nor the pages list, holds the token
    hits = timeline(api, aws, aiko["contact_id"])
    assert [h["path"] for h in hits] == ["/pricing", "/guide"]
    assert hits[1]["url"] == "https://shop.example.jp/guide?utm_source=mail"
    assert hits[0]["referrer"] == "https://shop.example.jp/guide?utm_source=mail"
    pages = api.http.get(f"/admin/sites/{site['site_id']}/pages", headers=auth(aws)).json_body["pages"]
    assert all("sodate_t" not in page["last_url"] for page in pages) and pages
