"""The files routes in the OpenAPI document: bodies and error shapes."""

from __future__ import annotations

from meet_files import FilesPlugin

API = "/api/v1.0"


async def test_bodies_and_errors_are_documented(meet_app, s3):
    meet = await meet_app(env=s3.env("meet-media-storage"), plugins=[FilesPlugin])
    document = (await meet.client.get(f"{API}/swagger.json")).json()
    paths = document["paths"]
    bodies = {
        ("post", "/files"): "FileCreateBody",
        ("put", "/files/{file_id}"): "FileBody",
        ("patch", "/files/{file_id}"): "FilePatchBody",
    }
    for (method, path), component in bodies.items():
        schema = paths[API + path][method]["requestBody"]["content"]["application/json"]["schema"]
        assert schema == {"$ref": f"#/components/schemas/{component}"}
    create = document["components"]["schemas"]["FileCreateBody"]
    assert sorted(create["required"]) == ["filename", "type"]
    assert create["properties"]["filename"]["maxLength"] == 255
    assert "403" in paths[f"{API}/files"]["post"]["responses"]
    assert "400" in paths[f"{API}/files/{{file_id}}/upload-ended"]["post"]["responses"]
    assert "requestBody" not in paths[f"{API}/files/{{file_id}}/upload-ended"]["post"]
    assert set(paths[f"{API}/files/media-auth"]) >= {"get"}
