"""The bucket, as the import needs it: streamed reads pinned to one ETag; and, for the console's
wizard, listings, copies and signed forms and links a browser uses straight against S3."""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any
from urllib.parse import quote

from botocore.exceptions import ClientError

from chalicelib.domain.errors import FileChangedError
from chalicelib.domain.imports import StoredFile

CHUNK_BYTES = 1 << 20


class S3Files:
    def __init__(self, s3: Any, bucket: str) -> None:
        self._s3 = s3
        self._bucket = bucket

    def read_chunks(self, key: str, start: int, etag: str) -> Iterator[bytes]:
        """The object from byte `start`, a MiB at a time, never the whole file in memory."""
        return self._stream(key, etag, f"bytes={start}-" if start else None)

    def first_bytes(self, key: str, etag: str, count: int) -> bytes:
        return b"".join(self._stream(key, etag, f"bytes=0-{count - 1}"))

    def _stream(self, key: str, etag: str, byte_range: str | None) -> Iterator[bytes]:
        request: dict[str, Any] = {"Bucket": self._bucket, "Key": key, "IfMatch": f'"{etag.strip(chr(34))}"'}
        if byte_range:
            request["Range"] = byte_range
        try:
            body = self._s3.get_object(**request)["Body"]
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code")
            if code in ("PreconditionFailed", "412"):
                raise FileChangedError(key) from None
            if code in ("InvalidRange", "416"):
                return
            raise
        try:
            yield from body.iter_chunks(CHUNK_BYTES)
        finally:
            body.close()

    def get_bytes(self, key: str) -> bytes | None:
        try:
            body: bytes = self._s3.get_object(Bucket=self._bucket, Key=key)["Body"].read()
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise
        return body

    def put_bytes(self, key: str, body: bytes, content_type: str) -> None:
        self._s3.put_object(Bucket=self._bucket, Key=key, Body=body, ContentType=content_type)

    def put_file(self, key: str, body: IO[bytes], content_type: str) -> None:
        self._s3.upload_fileobj(body, self._bucket, key, ExtraArgs={"ContentType": content_type})

    def delete(self, key: str) -> None:
        self._s3.delete_object(Bucket=self._bucket, Key=key)

    def head(self, key: str) -> StoredFile | None:
        try:
            found = self._s3.head_object(Bucket=self._bucket, Key=key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                return None
            raise
        return StoredFile(
            key, found["ContentLength"], found["ETag"].strip('"'), found["LastModified"].timestamp()
        )

    def listing(self, prefix: str, most: int) -> list[StoredFile]:
        found: list[StoredFile] = []
        pages = self._s3.get_paginator("list_objects_v2").paginate(
            Bucket=self._bucket,
            Prefix=prefix,
            PaginationConfig={"MaxItems": most, "PageSize": min(most, 1000)},
        )
        for page in pages:
            found.extend(
                StoredFile(o["Key"], o["Size"], o["ETag"].strip('"'), o["LastModified"].timestamp())
                for o in page.get("Contents", [])
            )
        return found[:most]

    def copy(self, source: str, target: str) -> None:
        self._s3.copy_object(
            Bucket=self._bucket, Key=target, CopySource={"Bucket": self._bucket, "Key": source}
        )

    def upload_form(self, key: str, max_bytes: int, seconds: int) -> tuple[str, dict[str, str]]:
        form = self._s3.generate_presigned_post(
            self._bucket, key, Conditions=[["content-length-range", 1, max_bytes]], ExpiresIn=seconds
        )
        return form["url"], dict(form["fields"])

    def download_link(self, key: str, seconds: int, file_name: str) -> str:
        disposition = f"attachment; filename*=UTF-8''{quote(file_name, safe='')}"
        link: str = self._s3.generate_presigned_url(
            "get_object",
            Params={"Bucket": self._bucket, "Key": key, "ResponseContentDisposition": disposition},
            ExpiresIn=seconds,
        )
        return link
