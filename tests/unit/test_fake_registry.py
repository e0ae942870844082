"""The fake registry (tests/fixtures/fake_registry.py) answers as registry:2 with htpasswd does."""

from __future__ import annotations

import base64
import json
import pathlib
import sys

import httpx
import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "fixtures"))

from fake_registry import FakeRegistry, digest_of, fake_registry  # noqa: E402,F401  # pylint: disable=unused-import

AUTH = {"Authorization": "Basic " + base64.b64encode(b"builder:s3cret").decode()}


def _client(registry: FakeRegistry, headers: dict[str, str] | None = None) -> httpx.Client:
    return httpx.Client(base_url=f"http://{registry.host}", headers=headers or {})


def _push_blob(client: httpx.Client, name: str, data: bytes) -> httpx.Response:
    started = client.post(f"/v2/{name}/blobs/uploads/")
    assert started.status_code == 202 and started.headers["Docker-Upload-UUID"]
    return client.put(started.headers["Location"], params={"digest": digest_of(data)}, content=data)


def test_every_endpoint_asks_for_basic_credentials(fake_registry):  # noqa: F811
    with _client(fake_registry) as client:
        answer = client.get("/v2/")
        assert answer.status_code == 401
        assert answer.headers["WWW-Authenticate"] == 'Basic realm="Registry Realm"'
        assert answer.json()["errors"][0]["code"] == "UNAUTHORIZED"
        assert client.head(f"/v2/x/blobs/{digest_of(b'')}").status_code == 401
    wrong = {"Authorization": "Basic " + base64.b64encode(b"builder:nope").decode()}
    with _client(fake_registry, wrong) as client:
        assert client.get("/v2/").status_code == 401
    with _client(fake_registry, AUTH) as client:
        assert client.get("/v2/").status_code == 200
    assert [r["user"] for r in fake_registry.requests] == [None, None, None, "builder"]
    assert fake_registry.requests[-1]["authorization"] == AUTH["Authorization"]


def test_a_push_is_recorded_with_its_user_and_digest(fake_registry):  # noqa: F811
    config, layer = b'{"os":"windows"}', b"layer bytes"
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": {"digest": digest_of(config), "size": len(config)},
                           "layers": [{"digest": digest_of(layer), "size": len(layer)}]}).encode()
    with _client(fake_registry, AUTH) as client:
        assert client.head(f"/v2/team/smoke/blobs/{digest_of(layer)}").status_code == 404
        assert _push_blob(client, "team/smoke", layer).status_code == 201
        assert _push_blob(client, "team/smoke", config).status_code == 201
        assert client.head(f"/v2/team/smoke/blobs/{digest_of(layer)}").status_code == 200
        put = client.put("/v2/team/smoke/manifests/v1", content=manifest,
                         headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
        assert put.status_code == 201 and put.headers["Docker-Content-Digest"] == digest_of(manifest)
        got = client.get("/v2/team/smoke/manifests/v1")
        assert got.content == manifest and got.headers["Content-Type"] == "application/vnd.oci.image.manifest.v1+json"
        assert client.get(f"/v2/team/smoke/manifests/{digest_of(manifest)}").status_code == 200
    assert fake_registry.pushes == [{"repository": "team/smoke", "reference": "v1", "digest": digest_of(manifest),
                                     "user": "builder"}]
    assert fake_registry.manifest("team/smoke", "v1")[1] == manifest


def test_bad_pushes_are_refused(fake_registry):  # noqa: F811
    with _client(fake_registry, AUTH) as client:
        started = client.post("/v2/smoke/blobs/uploads/")
        refused = client.put(started.headers["Location"], params={"digest": digest_of(b"other")}, content=b"data")
        assert refused.status_code == 400 and refused.json()["errors"][0]["code"] == "DIGEST_INVALID"
        orphan = json.dumps({"schemaVersion": 2, "config": {"digest": digest_of(b"never")}, "layers": []})
        answer = client.put("/v2/smoke/manifests/latest", content=orphan)
        assert answer.status_code == 400 and answer.json()["errors"][0]["code"] == "MANIFEST_BLOB_UNKNOWN"
        assert client.get("/v2/smoke/manifests/latest").json()["errors"][0]["code"] == "MANIFEST_UNKNOWN"
        assert client.get("/v2/Upper/manifests/latest").status_code == 404  # not a valid repository name
    assert fake_registry.pushes == []


def test_chunked_upload_and_no_authentication():
    with FakeRegistry() as registry, _client(registry) as client:
        started = client.post("/v2/smoke/blobs/uploads/")
        patched = client.patch(started.headers["Location"], content=b"abc")
        assert patched.status_code == 202 and patched.headers["Range"] == "0-2"
        done = client.put(patched.headers["Location"], params={"digest": digest_of(b"abcdef")}, content=b"def")
        assert done.status_code == 201 and registry.blobs[digest_of(b"abcdef")] == b"abcdef"
        assert registry.requests[0]["user"] is None


def test_the_host_is_loopback_only():
    registry = FakeRegistry()
    with pytest.raises(AssertionError):
        str(registry.host)
    with registry:
        assert registry.host.startswith("127.0.0.1:")
