"""The bucket, through boto3 (imported only here, when the plugin is enabled and used).

Every call is blocking: routes run them in a worker thread (:func:`run`). Path-style
addressing, so that a presigned URL and the signed media request name
``<endpoint>/<bucket>/<key>`` on S3, MinIO or any S3-compatible server alike.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit, urlunsplit

import anyio.to_thread

from meet_core.api import Settings

T = TypeVar("T")

#: Bytes read to sniff a file's type (the old system gave libmagic as many).
SNIFF_BYTES = 2048


async def run(function: Callable[..., T], *args: Any) -> T:
    """``function(*args)`` in a worker thread (boto3 blocks)."""
    return await anyio.to_thread.run_sync(functools.partial(function, *args))


class Storage:
    """The S3 bucket of the core's ``AWS_*`` settings; one boto3 client, made on first use."""

    def __init__(self, settings: Settings) -> None:
        self.core = settings.core
        self.bucket = settings.core.aws_storage_bucket_name
        self._client: Any = None
        self._session: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3
            from botocore.config import Config

            core = self.core
            self._session = boto3.session.Session(
                aws_access_key_id=core.aws_s3_access_key_id,
                aws_secret_access_key=core.aws_s3_secret_access_key,
                region_name=core.aws_s3_region_name,
            )
            self._client = self._session.client(
                "s3",
                endpoint_url=core.aws_s3_endpoint_url,
                config=Config(
                    signature_version=core.aws_s3_signature_version, s3={"addressing_style": "path"}
                ),
            )
        return self._client

    # ------------------------------------------------------------------- uploads

    def upload_url(self, key: str) -> str:
        """A presigned ``PUT`` of ``key`` for the browser, with ``x-amz-acl: private`` signed.

        ``AWS_S3_DOMAIN_REPLACE`` swaps the URL's origin (the browser reaches the storage by a
        public name while the server uses an internal one).
        """
        url: str = self.client.generate_presigned_url(
            "put_object",
            Params={"Bucket": self.bucket, "Key": key, "ACL": "private"},
            ExpiresIn=self.core.aws_s3_upload_policy_expiration,
        )
        if self.core.aws_s3_domain_replace:
            public = urlsplit(self.core.aws_s3_domain_replace.rstrip("/"))
            parts = urlsplit(url)
            url = urlunsplit(
                (
                    public.scheme or parts.scheme,
                    public.netloc,
                    public.path + parts.path,
                    parts.query,
                    parts.fragment,
                )
            )
        return url

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def move(self, source: str, target: str) -> None:
        """Copy ``source`` to ``target`` (server side); the source is deleted by the caller."""
        self.client.copy_object(
            Bucket=self.bucket, Key=target, CopySource={"Bucket": self.bucket, "Key": source}, ACL="private"
        )

    def size(self, key: str) -> int:
        return int(self.client.head_object(Bucket=self.bucket, Key=key)["ContentLength"])

    def head_bytes(self, key: str, count: int = SNIFF_BYTES) -> bytes:
        """The first ``count`` bytes of ``key`` (a ranged GET)."""
        response = self.client.get_object(Bucket=self.bucket, Key=key, Range=f"bytes=0-{count - 1}")
        data: bytes = response["Body"].read()
        return data

    def delete(self, *keys: str) -> None:
        """Delete ``keys`` (missing ones are fine: S3 deletes are idempotent)."""
        for key in keys:
            self.client.delete_object(Bucket=self.bucket, Key=key)

    # ---------------------------------------------------------------- media auth

    def signed_get_headers(self, key: str) -> dict[str, str]:
        """SigV4 headers of ``GET <endpoint>/<bucket>/<key>`` for nginx to forward (services.md §7.9).

        Signed by botocore (``S3SigV4Auth``) with the storage credentials; the payload hash is
        the empty body's, so ``X-Amz-Content-SHA256`` is sent and signed.
        """
        from botocore.auth import S3SigV4Auth
        from botocore.awsrequest import AWSRequest

        client = self.client
        credentials = self._session.get_credentials().get_frozen_credentials()
        endpoint = client.meta.endpoint_url.rstrip("/")
        request = AWSRequest(method="GET", url=f"{endpoint}/{self.bucket}/{quote(key)}")
        region = self.core.aws_s3_region_name or client.meta.region_name or "us-east-1"
        S3SigV4Auth(credentials, "s3", region).add_auth(request)
        names = ("Authorization", "X-Amz-Date", "X-Amz-Content-SHA256", "X-Amz-Security-Token")
        return {name: request.headers[name] for name in names if name in request.headers}
