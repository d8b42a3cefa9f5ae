#!/usr/bin/python3
"""Offline image import and export against a real annexd: an image built with umoci, saved by skopeo
as a docker-archive and as an OCI layout, imported with `annexctl images import`, pulled back with
skopeo (logged in with `aws ecr get-login-password`), exported with `annexctl images export` and
loaded by `podman load` and `skopeo copy docker-archive:`; corrupt, truncated, path-escaping and
digest-mismatched archives refused with nothing stored. No network: everything is built here."""

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import AWS_CLI, AnnexTestCase, REGION, have  # noqa: E402

TOOLS = {name: shutil.which(name) for name in ("umoci", "skopeo", "podman")}


def run(*args, **kw):
    p = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=300, **kw)
    if p.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, args))} failed ({p.returncode}): {p.stdout}{p.stderr}")
    return p


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def oci_layout_image(layout, tag):
    """(manifest digest, manifest dict) of `tag` in an OCI layout directory."""
    index = json.loads((Path(layout) / "index.json").read_text())
    for d in index["manifests"]:
        if d.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag:
            digest = d["digest"]
            blob = Path(layout) / "blobs" / "sha256" / digest.split(":")[1]
            return digest, json.loads(blob.read_text())
    raise AssertionError(f"no {tag} in {layout}")


class ImageImportExportTest(AnnexTestCase):
    @classmethod
    def setUpClass(cls):
        missing = [n for n, p in TOOLS.items() if not p]
        if missing:
            raise unittest.SkipTest(f"{', '.join(missing)} not installed")
        super().setUpClass()
        cls.work = Path(tempfile.mkdtemp(prefix="annex-imx-"))
        layout, bundle = cls.work / "L", cls.work / "bundle"
        run("umoci", "init", "--layout", layout)
        run("umoci", "new", "--image", f"{layout}:v1")
        run("umoci", "unpack", "--rootless", "--image", f"{layout}:v1", bundle)
        (bundle / "rootfs" / "app").mkdir()
        (bundle / "rootfs" / "app" / "data.bin").write_bytes(os.urandom(3 << 20))
        (bundle / "rootfs" / "app" / "hello.txt").write_text("hello from annex\n")
        run("umoci", "repack", "--image", f"{layout}:v1", bundle)
        cls.layout = layout
        cls.docker_archive = cls.work / "app.tar"
        run("skopeo", "copy", f"oci:{layout}:v1", f"docker-archive:{cls.docker_archive}:app:v1")

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            shutil.rmtree(getattr(cls, "work", "/nonexistent"), ignore_errors=True)

    # -- helpers -----------------------------------------------------------

    def annexctl(self, *args, check=True):
        return self.daemon.annexctl(*[str(a) for a in args], check=check)

    def aws(self, *args, check=True):
        p = subprocess.run([AWS_CLI, "--endpoint-url", self.daemon.endpoint, "--region", REGION, *args],
                           env=self.daemon.client_env(), capture_output=True, text=True, timeout=120)
        if check and p.returncode != 0:
            raise AssertionError(f"aws {' '.join(args)} failed: {p.stdout}{p.stderr}")
        return p

    def pull(self, ref, dest):
        """skopeo copy from the appliance's /v2/, logged in with an ECR token, into a dir: (which keeps
        the manifest and blobs as served); returns (manifest digest, manifest)."""
        token = self.aws("ecr", "get-login-password").stdout.strip()
        host = self.daemon.endpoint.split("://", 1)[1]
        run("skopeo", "copy", "--src-tls-verify=false", "--src-creds", f"AWS:{token}",
            f"docker://{host}/{ref}", f"dir:{dest}")
        raw = (Path(dest) / "manifest.json").read_bytes()
        return "sha256:" + hashlib.sha256(raw).hexdigest(), json.loads(raw)

    def repository_exists(self, name):
        p = self.aws("ecr", "describe-repositories", "--repository-names", name, check=False)
        return p.returncode == 0

    def archive_layers(self, path):
        """sha256 of each layer file a docker-archive's manifest.json names, in order."""
        with tarfile.open(path) as t:
            manifest = json.load(t.extractfile("manifest.json"))[0]
            return ["sha256:" + hashlib.sha256(t.extractfile(t.getmember(n)).read()).hexdigest()
                    for n in manifest["Layers"]], manifest

    # -- tests -------------------------------------------------------------

    def test_docker_archive_imports_and_pulls_back_with_skopeo(self):
        p = self.annexctl("images", "import", self.docker_archive)
        images = json.loads(p.stdout)["images"]
        self.assertEqual([(i["repositoryName"], i["imageTag"]) for i in images], [("app", "v1")])
        self.assertTrue(self.repository_exists("app"))
        digest, manifest = self.pull("app:v1", self.work / "pulled")
        layers, archived = self.archive_layers(self.docker_archive)
        self.assertEqual([l["digest"] for l in manifest["layers"]], layers)
        # The config goes in as it was: the image id stays the same.
        self.assertEqual(manifest["config"]["digest"], "sha256:" + archived["Config"].removesuffix(".json"))
        blob = self.work / "pulled" / layers[-1].split(":")[1]
        self.assertEqual("sha256:" + sha256_file(blob), layers[-1])
        with tarfile.open(blob) as t:
            self.assertEqual(t.extractfile("app/hello.txt").read(), b"hello from annex\n")

    def test_gzipped_oci_layout_keeps_its_manifest_digest(self):
        path = self.work / "layout.tar.gz"
        with tarfile.open(path, "w:gz") as t:
            t.add(self.layout, arcname=".")
        p = self.annexctl("images", "import", path, "--repository", "team/layout")
        images = json.loads(p.stdout)["images"]
        want, _ = oci_layout_image(self.layout, "v1")
        self.assertEqual([(i["repositoryName"], i["imageTag"], i["imageDigest"]) for i in images],
                         [("team/layout", "v1", want)])
        digest, manifest = self.pull("team/layout:v1", self.work / "pulled-layout")
        _, original = oci_layout_image(self.layout, "v1")
        self.assertEqual(digest, want)
        self.assertEqual(manifest, original)

    def test_export_loads_with_podman_and_skopeo(self):
        self.annexctl("images", "import", self.docker_archive, "--repository", "exported:v2")
        out = self.work / "out.tar"
        p = self.annexctl("images", "export", "exported:v2", "-o", out)
        self.assertIn("exported exported:v2", p.stderr)
        layers, archived = self.archive_layers(out)
        original_layers, original = self.archive_layers(self.docker_archive)
        self.assertEqual(layers, original_layers)
        self.assertEqual(archived["Config"], original["Config"])
        self.assertEqual(archived["RepoTags"], ["exported:v2"])
        run("skopeo", "copy", f"docker-archive:{out}", f"oci:{self.work / 'from-export'}:v2")
        if os.geteuid() != 0:
            self.skipTest("podman load needs root here (vfs storage in temp dirs)")
        store = Path(tempfile.mkdtemp(prefix="podman-", dir=self.work))
        podman = ["podman", "--root", store / "root", "--runroot", store / "run", "--storage-driver", "vfs"]
        run(*podman, "load", "-i", out)
        ids = run(*podman, "images", "--format", "{{.ID}} {{.Repository}}:{{.Tag}}").stdout
        self.assertIn(original["Config"][:12], ids)
        self.assertIn("exported:v2", ids)

    def test_export_of_a_missing_image_fails_cleanly(self):
        out = self.work / "missing.tar"
        p = self.annexctl("images", "export", "nothing-here:v1", "-o", out, check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("RepositoryNotFoundException", p.stderr)
        self.assertFalse(out.exists())
        self.assertFalse(Path(str(out) + ".partial").exists())

    def transfer_error(self, method, path, query, body=b""):
        status, _, data = self.daemon.signed(method, path, query=query, body=body, service="ecr")
        return status, json.loads(data).get("__type", "").split("#")[-1]

    def test_export_of_a_missing_tag_is_image_not_found(self):
        self.annexctl("images", "import", self.docker_archive, "--repository", "exp-missing:v1")
        p = self.annexctl("images", "export", "exp-missing:nope", "-o", self.work / "nope.tar", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("ImageNotFoundException", p.stderr)
        # ECR's status for its client errors, over the raw API too.
        self.assertEqual(self.transfer_error("GET", "/_annex/api/images/export", {"image": "exp-missing:nope"}),
                         (400, "ImageNotFoundException"))
        self.assertEqual(self.transfer_error("GET", "/_annex/api/images/export", {"image": "exp-nothing:v1"}),
                         (400, "RepositoryNotFoundException"))

    def test_import_tags_follow_the_distribution_rule(self):
        p = self.annexctl("images", "import", self.docker_archive, "--repository", "badtag:.hidden", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("InvalidParameterException", p.stderr)
        self.assertFalse(self.repository_exists("badtag"))
        # An archive's own RepoTags are held to the same rule.
        bad = self.work / "badtags.tar"
        with tarfile.open(self.docker_archive) as src, tarfile.open(bad, "w") as dst:
            for m in src.getmembers():
                data = src.extractfile(m).read() if m.isfile() else None
                if m.name == "manifest.json":
                    manifest = json.loads(data)
                    manifest[0]["RepoTags"] = ["badtags:-dash"]
                    data = json.dumps(manifest).encode()
                    m.size = len(data)
                dst.addfile(m, io.BytesIO(data) if data is not None else None)
        p = self.annexctl("images", "import", bad, check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("InvalidParameterException", p.stderr)
        self.assertFalse(self.repository_exists("badtags"))

    def test_root_export_is_bound_by_the_policys_deny(self):
        self.annexctl("images", "import", self.docker_archive, "--repository", "exp-denied:v1")
        deny = json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Deny", "Principal": "*", "Action": "ecr:BatchGetImage"}]})
        self.aws("ecr", "set-repository-policy", "--repository-name", "exp-denied", "--policy-text", deny)
        p = self.annexctl("images", "export", "exp-denied:v1", "-o", self.work / "denied.tar", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("AccessDenied", p.stderr)
        self.aws("ecr", "delete-repository-policy", "--repository-name", "exp-denied")
        self.annexctl("images", "export", "exp-denied:v1", "-o", self.work / "allowed.tar")

    def test_interrupted_imports_are_failed_at_startup(self):
        spool = self.daemon.data_dir / "registry" / "import-spool"
        spool.mkdir(parents=True, exist_ok=True)
        (spool / "cafe.json").write_text('{"id": "cafe", "state": "importing", "account": "x"}')
        (spool / "cafe.tar").write_bytes(b"half an archive")
        self.daemon.restart()
        self.assertEqual(list(spool.iterdir()), [])
        self.assertIn("an image import was interrupted by a restart and has failed",
                      self.daemon.log_path.read_text(errors="replace"))

    def refused(self, path, repository, reason):
        p = self.annexctl("images", "import", path, "--repository", repository, check=False)
        self.assertNotEqual(p.returncode, 0, p.stdout)
        self.assertIn(reason, p.stderr)
        self.assertFalse(self.repository_exists(repository), f"{repository} was created")

    def test_truncated_and_corrupt_archives_are_refused(self):
        data = self.docker_archive.read_bytes()
        cut = self.work / "cut.tar"
        cut.write_bytes(data[: len(data) // 2])
        self.refused(cut, "cut", "truncated")
        garbage = self.work / "garbage.tar"
        garbage.write_bytes(os.urandom(100000))
        self.refused(garbage, "garbage", "InvalidParameterException")

    def test_digest_mismatch_is_refused_and_nothing_stored(self):
        bad = self.work / "mismatch.tar"
        with tarfile.open(self.docker_archive) as src, tarfile.open(bad, "w") as dst:
            layer = json.load(src.extractfile("manifest.json"))[0]["Layers"][-1]
            for m in src.getmembers():
                f = src.extractfile(m) if m.isfile() else None
                data = f.read() if f else None
                if m.name == layer:
                    data = data[:-1] + bytes([data[-1] ^ 1])  # one bit, same size
                dst.addfile(m, io.BytesIO(data) if data is not None else None)
        self.refused(bad, "mismatch", "digest mismatch")

    def test_entry_escaping_the_archive_is_refused(self):
        bad = self.work / "escape.tar"
        with tarfile.open(self.docker_archive) as src, tarfile.open(bad, "w") as dst:
            for m in src.getmembers():
                dst.addfile(m, src.extractfile(m) if m.isfile() else None)
            evil = tarfile.TarInfo("../../etc/cron.d/evil")
            evil.size = 5
            dst.addfile(evil, io.BytesIO(b"evil\n"))
        self.refused(bad, "escape", "escapes the archive")

    def test_unsigned_import_is_refused(self):
        status, _, body = harness.http_request("POST", self.daemon.endpoint + "/_annex/api/images/import",
                                               body=b"x" * 10)
        self.assertIn(status, (400, 403))
        self.assertIn(b"AccessDenied", body)


if __name__ == "__main__":
    harness.main()
