"""Sign-up forms through the real routes, moto behind them: the hosted page, the tag's spec, the
post (JSON and plain HTML), the confirmation mail from SES, the page and its POST, the ledger."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from chalicelib import clock
from tests.aws.test_beacons import auth
from tests.aws.test_scenarios import body, raw_mail, subject
from tests.aws.test_scoring_segments import put_definition

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "config"
SHOP = "https://shop.example.jp"
FORMS = (EXAMPLES / "forms.yaml").read_text().replace("site: localhost", "site: shop.example.jp")
BROWSER = {"origin": SHOP, "user-agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0 Safari/537.36"}


def define(api: Any, aws: dict[str, Any], forms: str = FORMS) -> None:
    for kind, text in (("templates", (EXAMPLES / "templates.yaml").read_text()), ("forms", forms)):
        answer = put_definition(api, aws, kind, text)
        assert answer.status_code == 200, answer.body


def spec(api: Any, site: dict[str, Any]) -> dict[str, Any]:
    answer = api.http.get(f"/forms/{site['site_id']}/newsletter/spec", headers=BROWSER)
    assert answer.status_code == 200, answer.body
    assert answer.headers["Access-Control-Allow-Origin"] == SHOP
    found: dict[str, Any] = answer.json_body
    return found


def post_json(api: Any, site: dict[str, Any], **fields: Any) -> Any:
    payload = {"site": site["site_id"], "form": "newsletter", "email": "Hana@Example.com", "name": "花子"}
    payload |= {"topics": ["newsletter"], "v": "visitor-hana-01", "page": f"{SHOP}/news"} | fields
    headers = {**BROWSER, "Content-Type": "application/json"}
    return api.http.post("/f", body=json.dumps(payload), headers=headers)


def confirm_link(address: str = "hana@example.com") -> str:
    mails = [m for m in raw_mail() if m["To"] == address]
    assert mails, "no confirmation mail"
    found = re.search(r"https://mail\.example\.test/api(/confirm/[\w.-]+)", body(mails[-1], "plain"))
    assert found
    return found.group(1)


def test_the_hosted_page_is_an_accessible_form_that_runs_no_script(aws, api, site):
    define(api, aws)
    answer = api.http.get(f"/forms/{site['site_id']}/newsletter?lang=en")
    assert answer.status_code == 200
    page = answer.body.decode()
    assert answer.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert "script" not in answer.headers["Content-Security-Policy"] and "<script" not in page
    assert '<html lang="en">' in page and '<label for="f-email">Email address' in page
    assert 'name="ft"' in page and 'name="sodate_hp"' in page and 'action="../../f"' in page
    assert "I agree to receive the emails" in page and 'name="topics" value="offers"' in page
    assert api.http.get(f"/forms/{site['site_id']}/nothing").status_code == 404
    assert api.http.get("/forms/no-such-site/newsletter").status_code == 404


def test_a_json_sign_up_mails_at_once_and_the_confirmation_page_post_subscribes(aws, api, site):
    define(api, aws)
    ft = spec(api, site)["ft"]
    clock.travel(5)
    answer = post_json(api, site, ft=ft)
    assert answer.status_code == 202, answer.body
    assert "確認メール" in answer.json_body["thanks"]
    (mail,) = [m for m in raw_mail() if m["To"] == "hana@example.com"]
    assert "ご登録の確認" in subject(mail) and "List-Unsubscribe" not in mail
    person = api.http.get("/admin/contacts?email=hana@example.com", headers=auth(aws)).json_body
    assert person["status"] == "pending" and "name" not in person

    link = confirm_link()
    page = api.http.get(link)
    assert page.status_code == 200 and 'method="post"' in page.body.decode()
    assert api.http.get(link).status_code == 200, "a scanner's GETs confirm nothing"
    person = api.http.get("/admin/contacts?email=hana@example.com", headers=auth(aws)).json_body
    assert person["status"] == "pending"

    form_post = {"Content-Type": "application/x-www-form-urlencoded"}
    done = api.http.post(link, body="", headers=form_post)
    assert done.status_code == 200 and "You are subscribed" in done.body.decode()
    assert f'href="{SHOP}/news?sodate_t=' in done.body.decode()
    person = api.http.get("/admin/contacts?email=hana@example.com", headers=auth(aws)).json_body
    assert (
        person["status"] == "subscribed" and person["name"] == "花子" and person["topics"] == ["newsletter"]
    )
    assert api.http.post(link, body="", headers=form_post).status_code == 410, "once"

    ledger = api.http.get(f"/admin/contacts/{person['contact_id']}/consent", headers=auth(aws)).json_body
    assert [(e["change"], e["source"]) for e in ledger["entries"]] == [
        ("requested", "form"),
        ("granted", "confirmation"),
    ]
    assert ledger["entries"][1]["detail"]["wording"].startswith("育て茶舗からのお知らせ")
    export = api.http.get(f"/admin/contacts/{person['contact_id']}/export", headers=auth(aws)).json_body
    assert export["consent"] == ledger["entries"]


def test_a_plain_html_post_from_the_hosted_page_answers_with_a_page(aws, api, site):
    define(api, aws)
    page = api.http.get(f"/forms/{site['site_id']}/newsletter").body.decode()
    ft = re.search(r'name="ft" value="([^"]+)"', page)
    assert ft
    clock.travel(5)
    fields = {"site": site["site_id"], "form": "newsletter", "ft": ft.group(1), "lang": "ja"}
    fields |= {"email": "taro@example.com", "topics": "offers", "sodate_hp": ""}
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "origin": "http://localhost",
        "host": "localhost",
    }
    answer = api.http.post("/f", body=urlencode(fields), headers=headers)
    assert answer.status_code == 200, answer.body
    assert "確認メールをお送りしました" in answer.body.decode()
    assert answer.headers["Content-Type"].startswith("text/html")
    assert [m["To"] for m in raw_mail()] == ["taro@example.com"]

    refused = api.http.post("/f", body=urlencode(fields | {"email": "nope"}), headers=headers)
    assert refused.status_code == 400 and 'role="alert"' in refused.body.decode()


def test_robots_and_strangers_are_refused(aws, api, site):
    define(api, aws)
    ft = spec(api, site)["ft"]
    assert post_json(api, site, ft=ft).status_code == 400, "sent within a second of the page"
    clock.travel(5)
    assert post_json(api, site, ft=ft, sodate_hp="x").status_code == 202
    assert post_json(api, site).json_body["Message"].startswith("This form must be sent from its page")
    foreign = {**BROWSER, "origin": "https://evil.example", "Content-Type": "application/json"}
    payload = {"site": site["site_id"], "form": "newsletter", "email": "x@example.com", "ft": ft}
    assert api.http.post("/f", body=json.dumps(payload), headers=foreign).status_code == 403
    assert api.http.get(f"/forms/{site['site_id']}/newsletter/spec", headers=foreign).status_code == 403
    assert raw_mail() == [], "no mail for any of them"


def test_a_form_of_another_site_and_oversized_fields_are_refused_by_name(aws, api, site):
    define(api, aws)
    other = api.http.post(
        "/admin/sites",
        body=json.dumps({"name": "Other", "domains": ["other.example.jp"]}),
        headers={**auth(aws), "Content-Type": "application/json"},
    ).json_body
    ft = spec(api, site)["ft"]
    clock.travel(5)
    elsewhere = {"site": other["site_id"], "form": "newsletter", "email": "x@example.com", "ft": ft}
    foreign = {**BROWSER, "origin": "https://other.example.jp", "Content-Type": "application/json"}
    refused = api.http.post("/f", body=json.dumps(elsewhere), headers=foreign)
    assert refused.status_code == 202 and "thanks" not in refused.json_body, "not this site's form: a lead"
    assert api.http.get(f"/forms/{other['site_id']}/newsletter").status_code == 404
    assert (
        post_json(api, site, ft=ft, name="名" * 201).json_body["Message"] == "name: at most 200 characters."
    )
    huge = post_json(api, site, ft=ft, name="x" * 17_000)
    assert huge.status_code == 400 and "16 KiB" in huge.json_body["Message"]
    assert raw_mail() == []
