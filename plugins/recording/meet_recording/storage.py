"""S3 through botocore/boto3, imported only here and only when a code path needs them.

Media auth signs ``GET <endpoint>/<bucket>/<key>`` with botocore's SigV4 signer (never by
hand); the summary service gets presigned URLs; ``meet recordings purge`` deletes objects.
"""

from __future__ import annotations

from typing import Any, Protocol


class StorageSettings(Protocol):
    """The core's ``AWS_*`` settings (``settings.core``): the bucket every media plugin shares."""

    aws_s3_endpoint_url: str | None
    aws_s3_access_key_id: str | None
    aws_s3_secret_access_key: str | None
    aws_session_token: str | None
    aws_s3_region_name: str | None
    aws_storage_bucket_name: str


EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def object_url(settings: StorageSettings, key: str) -> str:
    endpoint = (settings.aws_s3_endpoint_url or "").rstrip("/")
    return f"{endpoint}/{settings.aws_storage_bucket_name}/{key}"


def signed_get_headers(settings: StorageSettings, key: str) -> dict[str, str]:
    """SigV4 headers of ``GET`` on the object (path-style), for nginx to forward to the bucket."""
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    credentials = Credentials(
        settings.aws_s3_access_key_id or "",
        settings.aws_s3_secret_access_key or "",
        settings.aws_session_token,
    )
    request = AWSRequest(method="GET", url=object_url(settings, key))
    request.context["payload_signing_enabled"] = True  # hash of the empty body, not UNSIGNED-PAYLOAD
    S3SigV4Auth(credentials, "s3", settings.aws_s3_region_name or "us-east-1").add_auth(request)
    names = ["Authorization", "X-Amz-Date", "X-Amz-Content-SHA256", "X-Amz-Security-Token"]
    return {name: str(request.headers[name]) for name in names if name in request.headers}


def client(settings: StorageSettings) -> Any:
    """A boto3 S3 client on the storage settings (path-style, SigV4)."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=settings.aws_s3_endpoint_url,
        aws_access_key_id=settings.aws_s3_access_key_id,
        aws_secret_access_key=settings.aws_s3_secret_access_key,
        aws_session_token=settings.aws_session_token,
        region_name=settings.aws_s3_region_name,
        config=Config(
            signature_version="s3v4", s3={"addressing_style": "path"}, connect_timeout=10, read_timeout=30
        ),
    )


def presigned_get(settings: StorageSettings, key: str, expires: int) -> str:
    """A presigned GET URL of the object, valid ``expires`` seconds (no network call)."""
    url: str = client(settings).generate_presigned_url(
        "get_object", Params={"Bucket": settings.aws_storage_bucket_name, "Key": key}, ExpiresIn=expires
    )
    return url


def delete_prefixes(settings: StorageSettings, prefixes: list[str]) -> int:
    """Delete every object under each prefix; the number deleted (blocking: run it in a thread)."""
    s3 = client(settings)
    bucket, deleted = settings.aws_storage_bucket_name, 0
    for prefix in prefixes:
        found = s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
        if found:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": item["Key"]} for item in found]})
            deleted += len(found)
    return deleted
