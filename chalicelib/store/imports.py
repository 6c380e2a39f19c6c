"""The import ledger: who holds an import, where it stopped, how it ended."""

from __future__ import annotations

from datetime import UTC, datetime

from pynamodb.exceptions import DoesNotExist, PutError, UpdateError

from chalicelib.domain.imports import Claim
from chalicelib.store.models import ImportModel

RUNNING = "running"
DONE = "done"


def _iso(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).isoformat(timespec="seconds")


class DynamoLedger:
    def claim(self, import_id: str, key: str, now: float, lease_seconds: int) -> tuple[Claim, str | None]:
        fresh = ImportModel(
            import_id=import_id,
            key=key,
            status=RUNNING,
            lease_until=int(now) + lease_seconds,
            updated_at=_iso(now),
        )
        try:
            fresh.save(condition=ImportModel.import_id.does_not_exist())
            return Claim.NEW, None
        except PutError as error:
            if not _condition_failed(error):
                raise
        try:
            held = ImportModel.get(import_id, consistent_read=True)
        except DoesNotExist:
            return Claim.BUSY, None
        if held.status == DONE:
            return Claim.DONE, None
        if held.lease_until > now:
            return Claim.BUSY, None
        try:
            held.update(
                actions=[ImportModel.lease_until.set(int(now) + lease_seconds)],
                condition=(ImportModel.lease_until == held.lease_until) & (ImportModel.status == RUNNING),
            )
        except UpdateError as error:
            if _condition_failed(error):
                return Claim.BUSY, None
            raise
        return Claim.RESUME, held.checkpoint

    def save(self, import_id: str, checkpoint_json: str, now: float, release: bool) -> None:
        lease = 0 if release else int(now)
        ImportModel(import_id=import_id).update(
            actions=[
                ImportModel.checkpoint.set(checkpoint_json),
                ImportModel.lease_until.set(lease),
                ImportModel.updated_at.set(_iso(now)),
            ]
        )

    def finish(self, import_id: str, report_json: str, now: float) -> None:
        ImportModel(import_id=import_id).update(
            actions=[
                ImportModel.status.set(DONE),
                ImportModel.report.set(report_json),
                ImportModel.checkpoint.remove(),
                ImportModel.lease_until.set(0),
                ImportModel.updated_at.set(_iso(now)),
            ]
        )

    def checkpoint_of(self, import_id: str) -> str | None:
        try:
            held = ImportModel.get(import_id, consistent_read=True)
        except DoesNotExist:
            return None
        return held.checkpoint if held.status == RUNNING else None


def _condition_failed(error: Exception) -> bool:
    cause = getattr(error, "cause_response_code", None)
    return cause == "ConditionalCheckFailedException"
