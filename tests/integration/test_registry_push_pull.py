"""The OCI distribution API (/v2/) with the real clients: skopeo and podman push
images built here (no network) with an ECR token (GetAuthorizationToken), pull
them back and get the same digests; multi-arch indexes; tag immutability;
deletes; refusals in the distribution API's JSON (digest mismatch, missing
blobs, oversized manifests, bad ranges, hostile paths) with nothing stored;
uploads resumed across a restart; tokens that expire (annexd's clock moved by
tests/integration/clockshift.cc)."""

import base64
import datetime
import gzip
import hashlib
import http.client
import io
import json
import os
import secrets
import shutil
import socket
import subprocess
import tarfile
import tempfile
import threading
import time
import unittest
from pathlib import Path

from harness import AnnexTestCase, have, http_request, main, raw_request, wait_for

SKOPEO = "/usr/bin/skopeo"
PODMAN = "/usr/bin/podman"
CLOCKSHIFT = os.environ.get("ANNEX_CLOCKSHIFT", "")
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def layer(files):
    """A gzip'ed tar layer holding `files` ({name: bytes}); returns (blob, diff_id)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 1_700_000_000, 0o644
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0), sha(raw.getvalue())


class Layout:
    """An OCI image layout written by hand, as `umoci`/`skopeo` would read it."""

    def __init__(self, root):
        self.root = Path(root)
        (self.root / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
        (self.root / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
        self.entries = []

    def blob(self, data):
        d = sha(data)
        (self.root / "blobs" / "sha256" / d[7:]).write_bytes(data)
        return {"digest": d, "size": len(data)}

    def image(self, layers, arch="amd64"):
        """Writes an image manifest; returns (descriptor, manifest bytes)."""
        blobs = [layer(files) for files in layers]
        config = json.dumps({"architecture": arch, "os": "linux", "config": {"Cmd": ["/bin/sh"]},
                             "rootfs": {"type": "layers", "diff_ids": [d for _, d in blobs]}}).encode()
        manifest = json.dumps({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": dict(self.blob(config), mediaType="application/vnd.oci.image.config.v1+json"),
            "layers": [dict(self.blob(b), mediaType="application/vnd.oci.image.layer.v1.tar+gzip") for b, _ in blobs],
        }).encode()
        desc = dict(self.blob(manifest), mediaType=OCI_MANIFEST, platform={"architecture": arch, "os": "linux"})
        return desc, manifest

    def tag(self, desc, tag):
        self.entries.append(dict(desc, annotations={"org.opencontainers.image.ref.name": tag}))
        (self.root / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": self.entries}))

    def index(self, children):
        data = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": children}).encode()
        return dict(self.blob(data), mediaType=OCI_INDEX), data


class RegistryBase(AnnexTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp = Path(tempfile.mkdtemp(prefix="annex-reg-"))
        cls.password = cls.token()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)
        super().tearDownClass()

    @classmethod
    def ecr(cls, op, body, creds=None, expect=200, when=None):
        status, _, data = cls.daemon.signed(
            "POST", "/", body=json.dumps(body), service="ecr", creds=creds, when=when,
            headers={"X-Amz-Target": "AmazonEC2ContainerRegistry_V20150921." + op,
                     "Content-Type": "application/x-amz-json-1.1"})
        assert status == expect, f"{op}: {status} {data[:400]!r}"
        return json.loads(data or b"{}")

    @classmethod
    def token(cls, creds=None, when=None):
        data = cls.ecr("GetAuthorizationToken", {}, creds=creds, when=when)["authorizationData"][0]
        user, password = base64.b64decode(data["authorizationToken"]).decode().split(":", 1)
        assert user == "AWS"
        return password

    def create_repo(self, name, mutability="MUTABLE"):
        self.ecr("CreateRepository", {"repositoryName": name, "imageTagMutability": mutability})
        return name

    @property
    def host(self):
        return f"127.0.0.1:{self.daemon.port}"

    def v2(self, method, path, body=b"", headers=None, password=None, auth=True):
        h = dict(headers or {})
        if auth:
            h["Authorization"] = "Basic " + base64.b64encode(f"AWS:{password or self.password}".encode()).decode()
        return http_request(method, f"{self.daemon.endpoint}{path}", headers=h, body=body)

    def error(self, body):
        return json.loads(body)["errors"][0]["code"]

    def skopeo(self, *args, check=True):
        p = subprocess.run([SKOPEO, "--insecure-policy", *args], capture_output=True, text=True, timeout=180)
        if check and p.returncode != 0:
            raise AssertionError(f"skopeo {' '.join(args)}: {p.returncode}\n{p.stdout}{p.stderr}")
        return p

    def push(self, src, dest, *extra, check=True):
        return self.skopeo("copy", "--dest-tls-verify=false", "--dest-creds", "AWS:" + self.password, *extra,
                           src, f"docker://{self.host}/{dest}", check=check)

    def pull(self, src, dest, *extra):
        return self.skopeo("copy", "--src-tls-verify=false", "--src-creds", "AWS:" + self.password, *extra,
                           f"docker://{self.host}/{src}", dest)

    def upload(self, repo, data, digest=None):
        """A raw monolithic upload; returns (status, body)."""
        status, headers, body = self.v2("POST", f"/v2/{repo}/blobs/uploads/")
        self.assertEqual(status, 202, body)
        status, _, body = self.v2("PUT", f"{headers['location']}?digest={digest or sha(data)}", body=data)
        return status, body

    def simple_layout(self, name, tag="v1", files=None):
        layout = Layout(self.tmp / name)
        desc, manifest = layout.image([files or {"hello.txt": b"hello " + name.encode()}])
        layout.tag(desc, tag)
        return layout, desc, manifest


@unittest.skipUnless(have(SKOPEO), "skopeo is not installed")
class DistributionTest(RegistryBase):
    def test_version_check_needs_a_token(self):
        status, headers, body = self.v2("GET", "/v2/", auth=False)
        self.assertEqual(status, 401)
        self.assertIn('service="ecr.amazonaws.com"', headers["www-authenticate"])
        self.assertTrue(headers["www-authenticate"].startswith("Basic realm="))
        self.assertEqual(self.error(body), "UNAUTHORIZED")
        status, headers, _ = self.v2("GET", "/v2/")
        self.assertEqual(status, 200)
        self.assertEqual(headers["docker-distribution-api-version"], "registry/2.0")
        # Forged and tampered tokens.
        forged = "v1." + base64.urlsafe_b64encode(b"AKIAX\n123456789012\n99999999999").decode().rstrip("=") + ".AAAA"
        for bad in (forged, self.password[:-2] + ("AA" if self.password[-2:] != "AA" else "BB"), "x"):
            self.assertEqual(self.v2("GET", "/v2/", password=bad)[0], 401, bad)
        status, _, _ = http_request("GET", self.daemon.endpoint + "/v2/", headers={"Authorization": "Bearer " + self.password})
        self.assertEqual(status, 200)
        # A SigV4 signature is as good as a token.
        status, _, _ = self.daemon.signed("GET", "/v2/", service="ecr")
        self.assertEqual(status, 200)

    def test_skopeo_push_pull_same_digests(self):
        repo = self.create_repo("team/app")
        layout = Layout(self.tmp / "app")
        desc, manifest = layout.image([{"a.txt": b"a" * 100000}, {"b.bin": os.urandom(300000)}])
        layout.tag(desc, "v1")
        self.push(f"oci:{layout.root}:v1", f"{repo}:v1")
        status, headers, body = self.v2("GET", f"/v2/{repo}/manifests/v1", headers={"Accept": OCI_MANIFEST})
        self.assertEqual(status, 200)
        self.assertEqual(headers["docker-content-digest"], desc["digest"])
        self.assertEqual(headers["content-type"], OCI_MANIFEST)
        self.assertEqual(body, manifest)
        out = self.tmp / "app-out"
        self.pull(f"{repo}:v1", f"oci:{out}:v1")
        index = json.loads((out / "index.json").read_text())
        self.assertEqual(index["manifests"][0]["digest"], desc["digest"])
        for entry in json.loads(manifest)["layers"] + [json.loads(manifest)["config"]]:
            data = (out / "blobs" / "sha256" / entry["digest"][7:]).read_bytes()
            self.assertEqual(sha(data), entry["digest"])
        # Blob HEAD and ranges.
        first = json.loads(manifest)["layers"][1]
        status, headers, _ = self.v2("HEAD", f"/v2/{repo}/blobs/{first['digest']}")
        self.assertEqual((status, int(headers["content-length"])), (200, first["size"]))
        status, headers, part = self.v2("GET", f"/v2/{repo}/blobs/{first['digest']}", headers={"Range": "bytes=10-19"})
        self.assertEqual((status, len(part)), (206, 10))
        self.assertEqual(headers["content-range"], f"bytes 10-19/{first['size']}")
        status, headers, body = self.v2("GET", f"/v2/{repo}/blobs/{first['digest']}",
                                        headers={"Range": f"bytes={first['size']}-"})
        self.assertEqual((status, self.error(body)), (416, "RANGE_INVALID"))
        # Another repository does not serve the blob it was never given.
        other = self.create_repo("team/other")
        status, _, body = self.v2("GET", f"/v2/{other}/blobs/{first['digest']}")
        self.assertEqual((status, self.error(body)), (404, "BLOB_UNKNOWN"))
        # ... until it is mounted from one the caller may read.
        status, headers, _ = self.v2("POST", f"/v2/{other}/blobs/uploads/?mount={first['digest']}&from={repo}")
        self.assertEqual(status, 201)
        self.assertEqual(headers["docker-content-digest"], first["digest"])
        self.assertEqual(self.v2("HEAD", f"/v2/{other}/blobs/{first['digest']}")[0], 200)
        # Mounting what the source lacks falls back to a new upload.
        status, headers, _ = self.v2("POST", f"/v2/{other}/blobs/uploads/?mount={sha(b'nothing')}&from={repo}")
        self.assertEqual(status, 202)
        self.assertIn("docker-upload-uuid", headers)

    def test_push_to_missing_repository_is_refused(self):
        layout, _, _ = self.simple_layout("missing")
        p = self.push(f"oci:{layout.root}:v1", "nosuch/repo:v1", check=False)
        self.assertNotEqual(p.returncode, 0)
        status, _, body = self.v2("POST", "/v2/nosuch/repo/blobs/uploads/")
        self.assertEqual(status, 404)
        err = json.loads(body)["errors"][0]
        self.assertEqual(err["code"], "NAME_UNKNOWN")
        self.assertIn("The repository with name 'nosuch/repo' does not exist", err["message"])

    def test_multi_arch_index_pull_by_platform(self):
        repo = self.create_repo("multi")
        layout = Layout(self.tmp / "multi")
        amd, _ = layout.image([{"arch": b"amd64"}], arch="amd64")
        arm, arm_manifest = layout.image([{"arch": b"arm64"}], arch="arm64")
        idx, _ = layout.index([amd, arm])
        layout.tag(idx, "latest")
        self.push(f"oci:{layout.root}:latest", f"{repo}:latest", "--all")
        status, headers, _ = self.v2("HEAD", f"/v2/{repo}/manifests/latest")
        self.assertEqual((status, headers["docker-content-digest"], headers["content-type"]),
                         (200, idx["digest"], OCI_INDEX))
        out = self.tmp / "multi-arm"
        self.pull(f"{repo}:latest", f"oci:{out}:x", "--override-arch", "arm64")
        pulled = json.loads((out / "index.json").read_text())["manifests"][0]["digest"]
        self.assertEqual(pulled, arm["digest"])
        config = json.loads(arm_manifest)["config"]["digest"]
        self.assertEqual(json.loads((out / "blobs/sha256" / config[7:]).read_bytes())["architecture"], "arm64")
        # A child an index names cannot be deleted from under it.
        status, _, _ = self.v2("DELETE", f"/v2/{repo}/manifests/{arm['digest']}")
        self.assertGreaterEqual(status, 400)

    def test_tag_immutability(self):
        repo = self.create_repo("frozen", "IMMUTABLE")
        first, _, _ = self.simple_layout("frozen1", files={"v": b"one"})
        second, desc2, manifest2 = self.simple_layout("frozen2", files={"v": b"two"})
        self.push(f"oci:{first.root}:v1", f"{repo}:v1")
        p = self.push(f"oci:{second.root}:v1", f"{repo}:v1", check=False)
        self.assertNotEqual(p.returncode, 0)
        # The blobs are in by now; the manifest PUT itself is refused with ECR's words.
        status, _, body = self.v2("PUT", f"/v2/{repo}/manifests/v1", body=manifest2,
                                  headers={"Content-Type": OCI_MANIFEST})
        err = json.loads(body)["errors"][0]
        self.assertEqual((status, err["code"]), (400, "TAG_INVALID"))
        self.assertIn("cannot be overwritten because the repository is immutable", err["message"])
        self.push(f"oci:{second.root}:v1", f"{repo}:v2")
        status, headers, _ = self.v2("HEAD", f"/v2/{repo}/manifests/v2")
        self.assertEqual(headers["docker-content-digest"], desc2["digest"])

    def test_delete_by_digest(self):
        repo = self.create_repo("deleting")
        layout, desc, _ = self.simple_layout("deleting")
        self.push(f"oci:{layout.root}:v1", f"{repo}:v1")
        status, _, _ = self.v2("DELETE", f"/v2/{repo}/manifests/{desc['digest']}")
        self.assertEqual(status, 202)
        for ref in (desc["digest"], "v1"):
            status, _, body = self.v2("GET", f"/v2/{repo}/manifests/{ref}")
            self.assertEqual((status, self.error(body)), (404, "MANIFEST_UNKNOWN"))
        status, _, body = self.v2("GET", f"/v2/{repo}/tags/list")
        self.assertEqual(json.loads(body)["tags"], [])

    def test_digest_mismatch_stores_nothing(self):
        repo = self.create_repo("mismatch")
        data = b"the bytes sent" * 1000
        wrong = sha(b"other bytes")
        status, body = self.upload(repo, data, digest=wrong)
        self.assertEqual((status, self.error(body)), (400, "DIGEST_INVALID"))
        status, _, body = self.v2("POST", f"/v2/{repo}/blobs/uploads/?digest={wrong}", body=data)
        self.assertEqual((status, self.error(body)), (400, "DIGEST_INVALID"))
        for d in (wrong, sha(data)):
            self.assertEqual(self.v2("HEAD", f"/v2/{repo}/blobs/{d}")[0], 404)
        status, _, body = self.v2("POST", f"/v2/{repo}/blobs/uploads/?digest=sha256:xyz", body=data)
        self.assertEqual((status, self.error(body)), (400, "DIGEST_INVALID"))
        # A monolithic POST with the right digest is stored.
        status, headers, _ = self.v2("POST", f"/v2/{repo}/blobs/uploads/?digest={sha(data)}", body=data)
        self.assertEqual((status, headers["docker-content-digest"]), (201, sha(data)))

    def test_manifest_refusals(self):
        repo = self.create_repo("refusals")
        config = b'{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}'
        self.assertEqual(self.upload(repo, config)[0], 201)
        missing = {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": sha(b"absent"), "size": 6}
        manifest = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                               "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                          "digest": sha(config), "size": len(config)},
                               "layers": [missing]}).encode()
        status, _, body = self.v2("PUT", f"/v2/{repo}/manifests/v1", body=manifest,
                                  headers={"Content-Type": OCI_MANIFEST})
        self.assertEqual((status, self.error(body)), (400, "MANIFEST_BLOB_UNKNOWN"))
        status, _, body = self.v2("PUT", f"/v2/{repo}/manifests/v1", body=b"{not json",
                                  headers={"Content-Type": OCI_MANIFEST})
        self.assertEqual((status, self.error(body)), (400, "MANIFEST_INVALID"))
        status, _, body = self.v2("PUT", f"/v2/{repo}/manifests/{sha(b'x')}", body=manifest,
                                  headers={"Content-Type": OCI_MANIFEST})
        self.assertEqual((status, self.error(body)), (400, "DIGEST_INVALID"))
        # Over 4 MiB: refused from its Content-Length, and without one (chunked) once the limit is passed.
        big = b'{"schemaVersion":2,"annotations":{"x":"' + b"a" * (4 << 20) + b'"}}'
        auth = {"Authorization": "Basic " + base64.b64encode(f"AWS:{self.password}".encode()).decode(),
                "Host": self.host, "Content-Type": OCI_MANIFEST}
        status, _, body = raw_request("127.0.0.1", self.daemon.port, "PUT", f"/v2/{repo}/manifests/big", None,
                                      auth, big)
        self.assertEqual((status, self.error(body)), (400, "MANIFEST_INVALID"))
        conn = http.client.HTTPConnection("127.0.0.1", self.daemon.port, timeout=30)
        try:
            conn.request("PUT", f"/v2/{repo}/manifests/big", body=iter([big[i:i + 65536] for i in
                                                                        range(0, len(big), 65536)]),
                         headers=auth, encode_chunked=True)
            r = conn.getresponse()
            self.assertEqual((r.status, self.error(r.read())), (400, "MANIFEST_INVALID"))
        except (BrokenPipeError, ConnectionResetError):
            pass  # answered and closed before the client finished sending
        finally:
            conn.close()
        status, _, body = self.v2("GET", f"/v2/{repo}/tags/list")
        self.assertEqual(json.loads(body)["tags"], [])

    def test_chunked_upload_resumes_after_restart(self):
        repo = self.create_repo("chunked")
        data = os.urandom(3 << 20)
        status, headers, _ = self.v2("POST", f"/v2/{repo}/blobs/uploads/")
        location, uuid = headers["location"], headers["docker-upload-uuid"]
        self.assertEqual(headers["range"], "0-0")
        status, headers, _ = self.v2("PATCH", location, body=data[:1 << 20],
                                     headers={"Content-Range": f"0-{(1 << 20) - 1}"})
        self.assertEqual((status, headers["range"]), (202, f"0-{(1 << 20) - 1}"))
        # A chunk that does not continue the upload is refused and told where it stands.
        status, headers, body = self.v2("PATCH", location, body=b"x" * 10, headers={"Content-Range": "5-14"})
        self.assertEqual((status, self.error(body), headers["range"]), (416, "RANGE_INVALID", f"0-{(1 << 20) - 1}"))
        status, _, body = self.v2("PATCH", location, body=b"x", headers={"Content-Range": "abc-def"})
        self.assertEqual(status, 416)
        self.daemon.restart()
        status, headers, _ = self.v2("GET", location)
        self.assertEqual((status, headers["range"], headers["docker-upload-uuid"]), (204, f"0-{(1 << 20) - 1}", uuid))
        status, _, _ = self.v2("PATCH", location, body=data[1 << 20:2 << 20])
        self.assertEqual(status, 202)
        status, headers, _ = self.v2("PUT", f"{location}?digest={sha(data)}", body=data[2 << 20:])
        self.assertEqual((status, headers["docker-content-digest"]), (201, sha(data)))
        status, _, got = self.v2("GET", f"/v2/{repo}/blobs/{sha(data)}")
        self.assertEqual((status, sha(got)), (200, sha(data)))
        self.assertEqual(self.v2("GET", location)[0], 404)  # finished uploads are gone
        # DELETE cancels.
        status, headers, _ = self.v2("POST", f"/v2/{repo}/blobs/uploads/")
        self.assertEqual(self.v2("DELETE", headers["location"])[0], 204)
        status, _, body = self.v2("GET", headers["location"])
        self.assertEqual((status, self.error(body)), (404, "BLOB_UPLOAD_UNKNOWN"))

    def test_concurrent_patches_do_not_interleave(self):
        repo = self.create_repo("concurrent")
        status, headers, _ = self.v2("POST", f"/v2/{repo}/blobs/uploads/")
        location = headers["location"]
        auth = "Basic " + base64.b64encode(f"AWS:{self.password}".encode()).decode()
        slow = socket.create_connection(("127.0.0.1", self.daemon.port))
        slow.sendall(f"PATCH {location} HTTP/1.1\r\nHost: {self.host}\r\nAuthorization: {auth}\r\n"
                     f"Content-Length: 2000000\r\n\r\n".encode() + b"a" * 100000)
        time.sleep(0.5)
        status, _, body = self.v2("PATCH", location, body=b"b" * 1000)
        self.assertEqual((status, self.error(body)), (400, "BLOB_UPLOAD_INVALID"))
        slow.sendall(b"a" * 1900000)
        self.assertIn(b" 202 ", slow.recv(4096))
        slow.close()
        status, headers, _ = self.v2("GET", location)
        self.assertEqual(headers["range"], "0-1999999")

    def test_listing_pagination(self):
        repo = self.create_repo("listing/app")
        layout, desc, _ = self.simple_layout("listing", tag="a1")
        layout.tag(desc, "b2")
        layout.tag(desc, "c3")
        for tag in ("a1", "b2", "c3"):
            self.push(f"oci:{layout.root}:{tag}", f"{repo}:{tag}")
        status, headers, body = self.v2("GET", f"/v2/{repo}/tags/list?n=2")
        self.assertEqual(json.loads(body), {"name": repo, "tags": ["a1", "b2"]})
        self.assertEqual(headers["link"], f'</v2/{repo}/tags/list?last=b2&n=2>; rel="next"')
        status, headers, body = self.v2("GET", f"/v2/{repo}/tags/list?n=2&last=b2")
        self.assertEqual(json.loads(body)["tags"], ["c3"])
        self.assertNotIn("link", headers)
        status, _, body = self.v2("GET", f"/v2/{repo}/tags/list?n=abc")
        self.assertEqual(status, 400)
        status, headers, body = self.v2("GET", "/v2/_catalog?n=1")
        self.assertEqual(status, 200)
        self.assertEqual(len(json.loads(body)["repositories"]), 1)
        self.assertIn("rel=\"next\"", headers["link"])
        status, _, body = self.v2("GET", "/v2/_catalog")
        self.assertIn(repo, json.loads(body)["repositories"])

    def test_hostile_requests_leave_the_daemon_up(self):
        repo = self.create_repo("hostile")
        cases = [("GET", "/v2/../x/manifests/a"), ("GET", "/v2/" + "a" * 5000 + "/manifests/a"),
                 ("GET", "/v2/" + "a/" * 200 + "manifests/a"), ("GET", f"/v2/{repo}/blobs/sha256:zz"),
                 ("GET", f"/v2/{repo}/blobs/md5:abc"), ("GET", f"/v2/{repo}/manifests/bad:tag:"),
                 ("GET", f"/v2/{repo}/manifests/" + "t" * 200), ("PATCH", f"/v2/{repo}/blobs/uploads/../../x"),
                 ("GET", f"/v2/{repo}/blobs/uploads/nonexistent"), ("PUT", f"/v2/{repo}/blobs/uploads/x?digest=a"),
                 ("POST", f"/v2/{repo}/manifests/v1"), ("GET", "/v2/x%00y/tags/list"), ("DELETE", "/v2/")]
        for method, path in cases:
            status, headers, body = self.v2(method, path)
            self.assertGreaterEqual(status, 400, path)
            self.assertLess(status, 500, path)
            if headers.get("content-type", "").startswith("application/json"):
                self.assertIn("errors", json.loads(body), path)
        # A client that disappears mid-upload.
        status, headers, _ = self.v2("POST", f"/v2/{repo}/blobs/uploads/")
        s = socket.create_connection(("127.0.0.1", self.daemon.port))
        auth = "Basic " + base64.b64encode(f"AWS:{self.password}".encode()).decode()
        s.sendall(f"PATCH {headers['location']} HTTP/1.1\r\nHost: {self.host}\r\nAuthorization: {auth}\r\n"
                  f"Content-Length: 10000000\r\n\r\n".encode() + b"z" * 50000)
        s.close()
        status, headers2, _ = wait_for("the aborted PATCH to end", lambda: (
            lambda r: r if r[0] == 204 else None)(self.v2("GET", headers["location"])))
        self.assertEqual(self.v2("GET", "/v2/")[0], 200)


@unittest.skipUnless(have(SKOPEO), "skopeo is not installed")
class CrossAccountTest(RegistryBase):
    def test_other_account_needs_the_repository_policy(self):
        uri = self.ecr("CreateRepository", {"repositoryName": "shared"})["repository"]["repositoryUri"]
        registry_host = uri.split("/", 1)[0]
        owner = registry_host.split(".", 1)[0]
        layout, desc, _ = self.simple_layout("shared")
        self.push(f"oci:{layout.root}:v1", "shared:v1")
        other = self.daemon.create_account("other-" + os.urandom(3).hex())
        password = self.token(creds=(other["AccessKeyId"], other["SecretAccessKey"]))
        path = "/v2/shared/manifests/v1"
        # Without a Host naming the owner's registry the caller addresses its own, which has no such repository.
        status, _, body = self.v2("GET", path, password=password)
        self.assertEqual((status, self.error(body)), (404, "NAME_UNKNOWN"))
        status, _, body = self.v2("GET", path, password=password, headers={"Host": registry_host})
        self.assertEqual((status, self.error(body)), (403, "DENIED"))
        policy = {"Version": "2012-10-17", "Statement": [{
            "Sid": "pull", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{other['AccountId']}:root"},
            "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            "Resource": f"arn:aws:ecr:us-east-1:{owner}:repository/shared"}]}
        self.ecr("SetRepositoryPolicy", {"repositoryName": "shared", "policyText": json.dumps(policy)})
        status, headers, _ = self.v2("GET", path, password=password, headers={"Host": registry_host})
        self.assertEqual((status, headers["docker-content-digest"]), (200, desc["digest"]))
        # Pulling is all it was given.
        status, _, body = self.v2("POST", "/v2/shared/blobs/uploads/", password=password,
                                  headers={"Host": registry_host})
        self.assertEqual((status, self.error(body)), (403, "DENIED"))
        # The catalog lists the caller's own repositories only.
        status, _, body = self.v2("GET", "/v2/_catalog", password=password, headers={"Host": registry_host})
        self.assertEqual(json.loads(body)["repositories"], [])
        self.assertTrue(owner.isdigit())


@unittest.skipUnless(have(SKOPEO), "skopeo is not installed")
class OneRuleForEveryApiTest(RegistryBase):
    """The JSON API and /v2/ agree: on tags, on compiled repository policies, on what binds the root."""

    def inspect(self, ref, check=True):
        return self.skopeo("inspect", "--raw", "--tls-verify=false", "--creds", "AWS:" + self.password,
                           f"docker://{self.host}/{ref}", check=check)

    def test_a_tag_set_by_put_image_pulls(self):
        repo = self.create_repo("agree/tags")
        layout, desc, manifest = self.simple_layout("agree-tags")
        self.push(f"oci:{layout.root}:v1", f"{repo}:v1")
        self.ecr("PutImage", {"repositoryName": repo, "imageManifest": manifest.decode(), "imageTag": "v1.0_json-set"})
        self.assertEqual(self.inspect(f"{repo}:v1.0_json-set").stdout.encode().strip(), manifest.strip())
        status, _, body = self.ecr_raw("PutImage", {"repositoryName": repo, "imageManifest": manifest.decode(),
                                                    "imageTag": "not pullable"})
        self.assertEqual((status, json.loads(body)["__type"].split("#")[-1]), (400, "InvalidParameterException"))

    def ecr_raw(self, op, body):
        return self.daemon.signed("POST", "/", body=json.dumps(body), service="ecr",
                                  headers={"X-Amz-Target": "AmazonEC2ContainerRegistry_V20150921." + op,
                                           "Content-Type": "application/x-amz-json-1.1"})

    def test_root_denied_by_the_policy_everywhere_but_the_policy(self):
        repo = self.create_repo("agree/root")
        layout, _, _ = self.simple_layout("agree-root")
        self.push(f"oci:{layout.root}:v1", f"{repo}:v1")
        # ECR's usual form: no Resource, the repository it is attached to.
        deny = {"Version": "2012-10-17", "Statement": [{
            "Sid": "nopull", "Effect": "Deny", "Principal": "*", "Action": ["ecr:BatchGetImage", "ecr:DescribeImages"]}]}
        self.ecr("SetRepositoryPolicy", {"repositoryName": repo, "policyText": json.dumps(deny)})
        status, _, body = self.v2("GET", f"/v2/{repo}/manifests/v1")
        self.assertEqual((status, self.error(body)), (403, "DENIED"))
        self.assertNotEqual(self.inspect(f"{repo}:v1", check=False).returncode, 0)
        status, _, body = self.ecr_raw("DescribeImages", {"repositoryName": repo})
        self.assertEqual((status, json.loads(body)["__type"].split("#")[-1]), (400, "AccessDeniedException"))
        self.ecr("GetRepositoryPolicy", {"repositoryName": repo})
        self.ecr("DeleteRepositoryPolicy", {"repositoryName": repo})
        self.inspect(f"{repo}:v1")


@unittest.skipUnless(have(PODMAN) and os.geteuid() == 0, "podman as root is needed")
class PodmanTest(RegistryBase):
    def podman(self, *args, stdin=None, check=True):
        store = self.tmp / "podman"
        cmd = [PODMAN, "--root", str(store / "root"), "--runroot", str(store / "run"), "--storage-driver", "vfs",
               "--cgroup-manager", "cgroupfs", "--events-backend", "none", *args]
        p = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=300,
                           env=dict(os.environ, REGISTRY_AUTH_FILE=str(self.tmp / "auth.json")))
        if check and p.returncode != 0:
            raise AssertionError(f"podman {' '.join(args)}: {p.returncode}\n{p.stdout}{p.stderr}")
        return p

    def test_podman_login_push_pull(self):
        repo = self.create_repo("podman/app")
        layout, desc, _ = self.simple_layout("podman", files={"p.txt": b"podman" * 1000})
        p = self.podman("login", "--tls-verify=false", "-u", "AWS", "--password-stdin", self.host, stdin=self.password)
        self.assertIn("Login Succeeded", p.stdout)
        # podman names an oci: image after its path, so the path must be a valid reference:
        # mkdtemp's random suffix may hold "-_" or a trailing "_", which is not.
        named = Path(tempfile.gettempdir()) / f"annexpodman{secrets.token_hex(4)}"
        named.symlink_to(layout.root)
        self.addCleanup(named.unlink)
        self.podman("pull", f"oci:{named}:v1")
        image = f"{self.host}/{repo}:v1"
        self.podman("tag", self.podman("images", "-q").stdout.split()[0], image)
        self.podman("push", "--tls-verify=false", image)
        status, headers, _ = self.v2("HEAD", f"/v2/{repo}/manifests/v1")
        self.assertEqual(status, 200)
        pushed = headers["docker-content-digest"]
        self.podman("rmi", "-a", "-f")
        self.podman("pull", "--tls-verify=false", image)
        self.assertEqual(self.podman("image", "inspect", "--format", "{{.Digest}}", image).stdout.strip(), pushed)
        bad = self.podman("login", "--tls-verify=false", "-u", "AWS", "--password-stdin", self.host,
                          stdin="v1.bad.token", check=False)
        self.assertNotEqual(bad.returncode, 0)


@unittest.skipUnless(os.path.exists(CLOCKSHIFT), "ANNEX_CLOCKSHIFT does not name the clockshift library (run under ctest)")
class TokenExpiryTest(RegistryBase):
    """annexd reads its wall clock's offset from a file the test changes."""

    @classmethod
    def setUpClass(cls):
        cls.clock_file = Path(tempfile.mkdtemp(prefix="annex-clock-")) / "offset"
        cls.clock_file.write_text("0\n")
        cls.daemon_kwargs = {"extra_env": {"LD_PRELOAD": CLOCKSHIFT, "ANNEX_CLOCKSHIFT_FILE": str(cls.clock_file)}}
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(cls.clock_file.parent, ignore_errors=True)

    def test_token_expires_after_twelve_hours(self):
        self.assertEqual(self.v2("GET", "/v2/")[0], 200)
        self.clock_file.write_text(str(11 * 3600) + "\n")
        time.sleep(0.2)
        self.assertEqual(self.v2("GET", "/v2/")[0], 200)
        self.clock_file.write_text(str(12 * 3600 + 60) + "\n")
        status, headers, body = wait_for("the token to expire", lambda: (
            lambda r: r if r[0] == 401 else None)(self.v2("GET", "/v2/")))
        self.assertIn("expired", json.loads(body)["errors"][0]["message"])
        # A fresh token works again (its request signed at annexd's time).
        later = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=12 * 3600 + 60)
        status, _, _ = self.v2("GET", "/v2/", password=self.token(when=later))
        self.assertEqual(status, 200)


if __name__ == "__main__":
    main()
