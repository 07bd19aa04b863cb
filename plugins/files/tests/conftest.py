"""Fixtures of the files plugin's tests: an app with the plugin on a real S3 (moto server).

The app fixtures (``meet_app``, ``s3``, ``meet_cli``...) come from ``meet_core.testing``'s
pytest11 entry point.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from meet_core.testing.harness import MeetTestApp
from meet_files import FilesPlugin

API = "/api/v1.0"
FILES = f"{API}/files/"
BUCKET = "meet-media-storage"


def png_bytes(padding: int = 0) -> bytes:
    """A real 1x1 PNG, optionally followed by ``padding`` bytes (to exceed a size limit)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    body = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body + b"\x00" * padding


JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64 + b"\xff\xd9"
GIF = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"


@dataclass
class Files:
    """The app, the S3 server and helpers acting as the frontend does."""

    meet: MeetTestApp
    s3: Any
    browser: httpx.AsyncClient = field(default_factory=lambda: httpx.AsyncClient(timeout=10))
    bucket = BUCKET
    url = FILES
    jpeg = JPEG
    gif = GIF
    png = staticmethod(png_bytes)

    async def login(self, **fields: Any) -> Any:
        user = await self.meet.create_user(**fields)
        await self.meet.login(user)
        return user

    async def create(self, filename: str = "beach.png", **body: Any) -> httpx.Response:
        return await self.meet.client.post(
            FILES, json={"filename": filename, "type": "background_image", **body}
        )

    async def put(self, policy: str, content: bytes, content_type: str = "image/png") -> httpx.Response:
        """The frontend's XHR PUT to the presigned URL (x-amz-acl and the file's Content-Type)."""
        return await self.browser.put(
            policy, content=content, headers={"X-amz-acl": "private", "Content-Type": content_type}
        )

    async def upload_ended(self, file_id: str) -> httpx.Response:
        return await self.meet.client.post(f"{FILES}{file_id}/upload-ended/")

    async def upload(
        self, content: bytes, filename: str = "beach.png", content_type: str = "image/png"
    ) -> dict[str, Any]:
        """Create, PUT, upload-ended: the finished file (asserting each step worked)."""
        created = await self.create(filename)
        assert created.status_code == 201, created.text
        uploaded = await self.put(created.json()["policy"], content, content_type)
        assert uploaded.status_code == 200, uploaded.text
        ended = await self.upload_ended(created.json()["id"])
        assert ended.status_code == 200, ended.text
        result: dict[str, Any] = ended.json()
        return result

    def keys(self) -> list[str]:
        listed = self.s3.client().list_objects_v2(Bucket=BUCKET)
        return sorted(item["Key"] for item in listed.get("Contents", []))


@pytest.fixture
async def files(meet_app: Any, s3: Any) -> AsyncIterator[Files]:
    s3.create_bucket(BUCKET)
    meet = await meet_app(env={**s3.env(BUCKET)}, plugins=[FilesPlugin])
    kit = Files(meet, s3)
    try:
        yield kit
    finally:
        await kit.browser.aclose()


@pytest.fixture
def files_app(meet_app: Any, s3: Any) -> Any:
    """Factory: an app with the plugin and extra ``env`` (the bucket created)."""

    async def make(**env: str) -> Files:
        s3.create_bucket(BUCKET)
        meet = await meet_app(env={**s3.env(BUCKET), **env}, plugins=[FilesPlugin])
        return Files(meet, s3)

    return make
