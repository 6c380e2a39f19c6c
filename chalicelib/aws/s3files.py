"""The bucket, as the import needs it: streamed reads pinned to one ETag."""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

from botocore.exceptions import ClientError

from chalicelib.domain.errors import FileChangedError

CHUNK_BYTES = 1 << 20


class S3Files:
    def __init__(self, s3: Any, bucket: str) -> None:
        self._s3 = s3
        self._bucket = bucket

    def read_chunks(self, key: str, start: int, etag: str) -> Iterator[bytes]:
        """The object from byte `start`, a MiB at a time, never the whole file in memory."""
        request: dict[str, Any] = {"Bucket": self._bucket, "Key": key, "IfMatch": f'"{etag.strip(chr(34))}"'}
        if start:
            request["Range"] = f"bytes={start}-"
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
