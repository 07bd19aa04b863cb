"""A real S3 endpoint on loopback for tests: moto's server mode (HTTP, SigV4, presigned URLs).

boto3, a browser's presigned upload and nginx-style signed fetches all talk to it over HTTP,
exactly as they would to S3 or MinIO. One server per test session; :meth:`S3TestServer.reset`
empties it between tests.
"""

from __future__ import annotations

import socket
from typing import Any

ACCESS_KEY = "testing-access-key"
SECRET_KEY = "testing-secret-key"
REGION = "us-east-1"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class S3TestServer:
    """``with S3TestServer() as s3:`` then ``s3.url``, ``s3.client()``, ``s3.env(bucket)``."""

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)

    def __enter__(self) -> S3TestServer:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop()

    def client(self) -> Any:
        """A boto3 S3 client on this server."""
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.url,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name=REGION,
        )

    def create_bucket(self, name: str) -> None:
        self.client().create_bucket(Bucket=name)

    def reset(self) -> None:
        """Forget every bucket and object (moto's reset endpoint)."""
        import urllib.request

        urllib.request.urlopen(urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")).close()

    def env(self, bucket: str) -> dict[str, str]:
        """The old system's ``AWS_*`` settings pointing at this server and ``bucket``."""
        return {
            "AWS_S3_ENDPOINT_URL": self.url,
            "AWS_S3_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_S3_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_S3_REGION_NAME": REGION,
            "AWS_STORAGE_BUCKET_NAME": bucket,
        }
