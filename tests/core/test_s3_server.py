"""The S3 test server of meet_core.testing: boto3 writes, a presigned URL reads back, reset empties."""

from __future__ import annotations

import urllib.request


def test_objects_written_with_boto3_are_served_to_a_presigned_url(s3):
    s3.create_bucket("meet-media")
    client = s3.client()
    client.put_object(Bucket="meet-media", Key="recordings/a.mp4", Body=b"hello")

    url = client.generate_presigned_url(
        "get_object", Params={"Bucket": "meet-media", "Key": "recordings/a.mp4"}, ExpiresIn=60
    )
    with urllib.request.urlopen(url) as response:
        assert response.read() == b"hello"

    s3.reset()
    assert client.list_buckets()["Buckets"] == []
