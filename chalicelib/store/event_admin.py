"""The admin side of the events table: sites, timelines, pages, links and erasure.

Kept apart from store/events.py so the beacon path never loads (or compiles) it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from chalicelib import clock
from chalicelib.domain.site import Site
from chalicelib.store.dynamo import InvalidCursorError, batch_write, decode, encode
from chalicelib.store.events import (
    ALL_SITES,
    LINK_MARK,
    SITE_CACHE_SECONDS,
    EventStore,
    page_key,
    page_keys,
    rejected_keys,
    site_item,
    site_of,
)
from chalicelib.store.line_people import USER as LINE_USER

__all__ = ["EventAdmin", "InvalidCursorError"]


class EventAdmin(EventStore):
    def put_site(self, site: Site) -> None:
        self._db.put_item(
            TableName=self._sites,
            Item=site_item(site),
            ConditionExpression="attribute_not_exists(site_id)",
        )
        self._site_cache.pop(site.site_id, None)
        ALL_SITES.clear()

    def spend(self, once: str, expires_at: int) -> bool:
        """A conditional put: the first use wins; DynamoDB's TTL removes the mark when the token expires."""
        try:
            self._db.put_item(
                TableName=self._events,
                Item={"pk": {"S": once}, "sk": {"S": "spent"}, "expires_at": {"N": str(expires_at)}},
                ConditionExpression="attribute_not_exists(pk)",
            )
        except self._db.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def site_for_host(self, host: str) -> Site | None:
        """The site owning `host`: the sites table is a handful of rows, read whole a minute at most."""
        return next((site for site in self.all_sites() if site.rules.owns(host)), None)

    def all_sites(self) -> list[Site]:
        """Every registered site (a handful: the table is read whole, kept a minute at most)."""
        cached = ALL_SITES.get("all")
        if cached is None or clock.stopwatch() - cached[0] > SITE_CACHE_SECONDS:
            sites: list[Site] = []
            request: dict[str, Any] = {"TableName": self._sites}
            while True:
                answer = self._db.scan(**request)
                sites += [site_of(item) for item in answer.get("Items", [])]
                if "LastEvaluatedKey" not in answer:
                    break
                request["ExclusiveStartKey"] = answer["LastEvaluatedKey"]
            cached = ALL_SITES["all"] = (clock.stopwatch(), sites)
        return list(cached[1])

    def link(self, site_id: str, visitor_id: str, contact_id: str, at: str) -> None:
        """From now on this browser's hits belong to the contact.

        A marker in the contact's own partition lets an erase find and cut the link."""
        self._db.put_item(
            TableName=self._events,
            Item={
                "pk": {"S": f"l#{site_id}#{visitor_id}"},
                "sk": {"S": "contact"},
                "contact_id": {"S": contact_id},
                "at": {"S": at},
            },
        )
        self._db.put_item(
            TableName=self._events,
            Item={
                "pk": {"S": f"c#{contact_id}"},
                "sk": {"S": f"{LINK_MARK}{site_id}#{visitor_id}"},
                "at": {"S": at},
            },
        )
        self._link_cache[(site_id, visitor_id)] = (clock.stopwatch(), contact_id)

    def erase_contact(self, contact_id: str, line_user_id: str = "") -> int:
        """Delete the person's hits and cut every browser link to them, and the LINE user's link
        to them (the LINE user's own follow stays theirs); returns items deleted."""
        if line_user_id:  # unless linked to someone else since
            with contextlib.suppress(self._db.exceptions.ConditionalCheckFailedException):
                self._db.update_item(
                    TableName=self._events,
                    Key={"pk": {"S": f"{LINE_USER}{line_user_id}"}, "sk": {"S": "line"}},
                    UpdateExpression="REMOVE contact_id",
                    ConditionExpression="contact_id = :c",
                    ExpressionAttributeValues={":c": {"S": contact_id}},
                )
        deleted = 0
        for items in self._partition(f"c#{contact_id}"):
            deletes = [_delete(i["pk"]["S"], i["sk"]["S"]) for i in items]
            for item in items:
                if item["sk"]["S"].startswith(LINK_MARK):
                    site_id, visitor_id = item["sk"]["S"][len(LINK_MARK) :].split("#", 1)
                    deletes.append(_delete(f"l#{site_id}#{visitor_id}", "contact"))
                    self._link_cache.pop((site_id, visitor_id), None)
            for chunk in range(0, len(deletes), 25):
                self._write_all(deletes[chunk : chunk + 25])
            deleted += len(items)
        return deleted

    def move_history(self, site_id: str, visitor_id: str, contact_id: str) -> int:
        """Anonymous hits join the contact (and stop expiring); returns how many moved."""
        moved = 0
        for items in self._partition(f"v#{site_id}#{visitor_id}"):
            # Marked as moved: the console counted these hits when they came (as anonymous).
            kept = [
                {**{k: v for k, v in i.items() if k != "expires_at"}, "moved": {"BOOL": True}} for i in items
            ]
            self._write_all([{"PutRequest": {"Item": {**i, "pk": {"S": f"c#{contact_id}"}}}} for i in kept])
            self._write_all([_delete(i["pk"]["S"], i["sk"]["S"]) for i in items])
            moved += len(items)
        return moved

    def _partition(self, pk: str) -> Iterator[list[dict[str, Any]]]:
        """Every item under one key, 25 at a time: one BatchWriteItem's worth."""
        start: dict[str, Any] | None = None
        while True:
            request: dict[str, Any] = {
                "TableName": self._events,
                "KeyConditionExpression": "pk = :pk",
                "ExpressionAttributeValues": {":pk": {"S": pk}},
                "Limit": 25,
            }
            if start:
                request["ExclusiveStartKey"] = start
            answer = self._db.query(**request)
            if answer.get("Items"):
                yield answer["Items"]
            start = answer.get("LastEvaluatedKey")
            if not start:
                return

    def _write_all(self, requests: list[dict[str, Any]]) -> None:
        batch_write(self._db, self._events, requests)

    def pages(self, site_id: str, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
        """The site's page lines in path order, `limit` at a time: each shard asked for its next
        `limit` after the cursor, merged (a line from before the shards adds to its page's)."""
        after = decode(cursor) if cursor else None
        lines: dict[str, dict[str, Any]] = {}
        more = False
        for pk in page_keys(site_id):
            request: dict[str, Any] = {
                "TableName": self._events,
                "KeyConditionExpression": "pk = :pk",
                "ExpressionAttributeValues": {":pk": {"S": pk}},
                "Limit": limit,
            }
            if after is not None:
                request["ExclusiveStartKey"] = {"pk": {"S": pk}, "sk": {"S": after}}
            answer = self._db.query(**request)
            more = more or "LastEvaluatedKey" in answer
            for item in answer.get("Items", []):
                _merge(lines, item)
        paths = sorted(lines)
        shown = [lines[path] for path in paths[:limit]]
        more = more or len(paths) > limit
        return shown, encode(shown[-1]["path"]) if more and shown else None

    def page_last_hit(self, site_id: str, path: str) -> str | None:
        for pk in (page_key(site_id, path), f"p#{site_id}"):  # then the line from before the shards
            item = self._db.get_item(TableName=self._events, Key={"pk": {"S": pk}, "sk": {"S": path}}).get(
                "Item"
            )
            if item:
                return str(item["last_hit"]["S"])
        return None

    def rejected(self, site_id: str, day: str) -> dict[str, int]:
        """Today's rejected hits by reason, added up over the shards."""
        counts: dict[str, int] = {}
        for pk in rejected_keys(site_id, day):
            items, _ = self._query(pk, 100, None, newest_first=False)
            for i in items:
                counts[i["sk"]["S"]] = counts.get(i["sk"]["S"], 0) + int(i["hits"]["N"])
        return counts

    def timeline(self, owner: str, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
        items, next_cursor = self._query(owner, limit, cursor, newest_first=True, before=LINK_MARK)
        return [_plain(i) for i in items], next_cursor

    def _query(
        self, pk: str, limit: int, cursor: str | None, newest_first: bool, before: str | None = None
    ) -> tuple[list[Any], str | None]:
        request: dict[str, Any] = {
            "TableName": self._events,
            "KeyConditionExpression": "pk = :pk" + (" AND sk < :before" if before else ""),
            "ExpressionAttributeValues": {":pk": {"S": pk}, **({":before": {"S": before}} if before else {})},
            "Limit": limit,
            "ScanIndexForward": not newest_first,
        }
        if cursor:
            request["ExclusiveStartKey"] = {"pk": {"S": pk}, "sk": {"S": decode(cursor)}}
        answer = self._db.query(**request)
        last = answer.get("LastEvaluatedKey")
        return answer.get("Items", []), encode(last["sk"]["S"]) if last else None


def _merge(lines: dict[str, dict[str, Any]], item: dict[str, Any]) -> None:
    path = item["sk"]["S"]
    line = {"path": path, "last_url": item["last_url"]["S"], "last_hit": item["last_hit"]["S"]}
    line["hits"] = int(item["hits"]["N"])
    found = lines.get(path)
    if found:  # the same page before and after the shards: one line
        newest = max(found, line, key=lambda seen: seen["last_hit"])
        line = {**newest, "hits": found["hits"] + line["hits"]}
    lines[path] = line


def _delete(pk: str, sk: str) -> dict[str, Any]:
    return {"DeleteRequest": {"Key": {"pk": {"S": pk}, "sk": {"S": sk}}}}


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, wire in item.items():
        if name in ("pk", "sk", "expires_at"):
            continue
        out[name] = {k: v["S"] for k, v in wire["M"].items()} if "M" in wire else wire.get("S", wire.get("N"))
    return out
