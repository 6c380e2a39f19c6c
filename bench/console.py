"""The console's figures.

- the bytes of script and style a browser receives (gzipped, as served);
- DynamoDB items read to draw the overview with 10,000 and with 100,000 contacts in the table,
  over 90 days of counters (moto in-process; the contacts are put in the table and counted into
  the gauges by the very service the contacts stream feeds) -- the two must be equal;
- time to the first chart in Chromium, on `make run` with 10,000 contacts imported.
"""

from __future__ import annotations

import json
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "chalicelib" / "web" / "console_static"


def asset_gzip_bytes() -> int:
    manifest = json.loads((STATIC / "manifest.json").read_text(encoding="utf-8"))
    return sum((STATIC / f"{name}.gz").stat().st_size for name in manifest.values())


def overview_items_read(contacts: list[int], days: int = 90) -> dict[int, int]:
    """{contacts: items read by one overview of `days` days}."""
    return {count: _items_read(count, days) for count in contacts}


def _items_read(count: int, days: int) -> int:
    import boto3
    from moto import mock_aws

    from chalicelib.domain.figures import Fact
    from chalicelib.services.figures import Figures
    from chalicelib.store.contact_state import ContactState
    from chalicelib.store.dynamo import batch_write
    from chalicelib.store.figures import FigureBook
    from chalicelib.store.people_index import PeopleIndexTable
    from devstack.cloudformation import LocalStack

    with mock_aws():
        session = boto3.session.Session(region_name="us-east-1")
        outputs = LocalStack(session, "bench").deploy({"Prefix": "bench"})
        db = session.client("dynamodb")
        read = {"items": 0}

        def tally(parsed: dict[str, Any], **_: Any) -> None:
            batch = sum(len(items) for items in parsed.get("Responses", {}).values())
            read["items"] += len(parsed.get("Items", [])) + (1 if parsed.get("Item") else 0) + batch

        db.meta.events.register("after-call.dynamodb.*", tally)
        people = ContactState(
            db, outputs["ContactsTable"], outputs["EventsTable"], outputs["SuppressionsTable"]
        )
        table = outputs["ConsoleTable"]
        index = PeopleIndexTable(db, outputs["PeopleIndexTable"])
        figures = Figures(FigureBook(db, table), index, people, time.time)
        images = []
        items = []
        for i in range(count):
            image = {"status": "subscribed" if i % 3 else "pending", "grade": f"{'ABCD'[i % 4]}{1 + i % 4}"}
            images.append((None, image | {"rfm": f"{1 + i % 5}{1 + i // 5 % 5}1"}))
            email = f"person{i}@example.jp"
            items.append(
                {
                    "PutRequest": {
                        "Item": {"email": {"S": email}, "contact_id": {"S": f"c{i}"}, **_typed(image)}
                    }
                }
            )
        batch_write(db, outputs["ContactsTable"], items)
        for start in range(0, count, 100):  # as the contacts stream hands them over (batch_size=100)
            figures.on_contacts(images[start : start + 100], f"contacts-{start}")
        today = datetime.now(UTC)
        for back in range(days):
            at = (today - timedelta(days=back)).isoformat()
            facts = [Fact("pageview", at, known=bool(n % 2)) for n in range(20)]
            facts += [Fact(kind, at, known=True) for kind in ("mail_sent", "mail_delivered", "email_open")]
            facts.append(Fact("conversion", at, known=True, amount="1200"))
            figures.on_events(facts, f"events-{back}")
        read["items"] = 0
        seen = figures.overview({"range": "90d"})
        if seen["contacts"] != count:
            raise RuntimeError(f"the gauges counted {seen['contacts']} of {count} contacts")
        return read["items"]


def _typed(image: dict[str, str]) -> dict[str, Any]:
    return {k: {"S": v} for k, v in image.items()}


def first_chart_ms(env: dict[str, str], loads: int = 5) -> float:
    """Median over `loads` page loads: navigation start until the first chart is drawn."""
    from selenium.webdriver.common.by import By

    from tests.e2e.conftest import chromium, wait_for

    browser = chromium(None)
    try:
        browser.get(f"{env['SODATE_CONSOLE_URL']}?lang=en")
        browser.find_element(By.ID, "email").send_keys(env["SODATE_CONSOLE_USER"])
        browser.find_element(By.ID, "password").send_keys(env["SODATE_CONSOLE_PASSWORD"])
        browser.find_element(By.ID, "sign-in").click()
        wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "body[data-page]"))
        times = []
        for _ in range(loads + 1):  # the first load fills the cache, as any returning user has it
            browser.get(f"{env['SODATE_API']}/console?lang=en&range=30d")
            wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "body[data-first-chart]"), timeout=30)
            mark = "return performance.getEntriesByName('sodate:first-chart')[0].startTime"
            times.append(float(browser.execute_script(mark)))
        return statistics.median(times[1:])
    finally:
        browser.quit()


def stack_with_contacts(local: Path) -> float:
    """`make run`, 10,000 contacts imported and counted, then the first chart's time."""
    from bench import restart
    from devstack import child

    process = child.launch(local, "--save-every", "0", "--reset", timeout=300)
    try:
        env = child.settings(local)
        restart.load(env)
        deadline = time.monotonic() + 600
        while _contacts_counted(env) < restart.CONTACTS:
            if time.monotonic() > deadline:
                raise RuntimeError("the contacts were not all counted within 10 minutes")
            time.sleep(1)
        return first_chart_ms(env)
    finally:
        child.stop(process)


def _contacts_counted(env: dict[str, str]) -> int:
    import boto3

    db = boto3.session.Session(
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name=env["AWS_DEFAULT_REGION"],
    ).client("dynamodb", endpoint_url=env["AWS_ENDPOINT_URL"])
    from chalicelib.store.figures import FigureBook

    return FigureBook(db, env["SODATE_CONSOLE_TABLE"]).gauges().get("contacts", 0)  # its shards added
