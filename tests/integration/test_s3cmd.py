#!/usr/bin/python3
"""s3cmd (Debian's /usr/bin/s3cmd, SigV4) against a real annexd."""

import hashlib
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import S3CMD, AnnexTestCase, have, random_bucket  # noqa: E402

MiB = 1024 * 1024


@unittest.skipUnless(have(S3CMD), f"s3cmd not installed at {S3CMD} (apt-get install s3cmd)")
class S3cmdTest(AnnexTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        d = cls.daemon
        cls.tmp = d.workdir / "s3cmd"
        cls.tmp.mkdir()
        cls.config = cls.tmp / "s3cfg"
        cls.config.write_text(
            "[default]\n"
            f"access_key = {d.access_key}\n"
            f"secret_key = {d.secret_key}\n"
            f"host_base = 127.0.0.1:{d.port}\n"
            f"host_bucket = 127.0.0.1:{d.port}\n"
            "bucket_location = us-east-1\n"
            "use_https = False\n"
            "signature_v2 = False\n"
            "check_ssl_certificate = False\n"
            "progress_meter = False\n")
        cls.env = d.client_env()

    def s3cmd(self, *args, check=True):
        p = subprocess.run([S3CMD, "-c", str(self.config), *args], env=self.env, capture_output=True, text=True,
                           timeout=300)
        if check and p.returncode != 0:
            self.fail(f"`s3cmd {' '.join(args)}` exited {p.returncode}\nstdout: {p.stdout}\nstderr: {p.stderr}")
        return p

    def test_mb_put_get_ls_del(self):
        bucket = random_bucket("s3cmd")
        self.s3cmd("mb", f"s3://{bucket}")
        self.assertIn(f"s3://{bucket}", self.s3cmd("ls").stdout)

        src = self.tmp / "small.txt"
        src.write_bytes(b"s3cmd was here\n" * 10)
        self.s3cmd("put", str(src), f"s3://{bucket}/docs/small.txt")
        ls = self.s3cmd("ls", f"s3://{bucket}/docs/").stdout
        self.assertIn(f"s3://{bucket}/docs/small.txt", ls)
        self.assertIn(" 150 ", ls)
        self.assertIn("DIR", self.s3cmd("ls", f"s3://{bucket}/").stdout)

        dst = self.tmp / "small.back"
        self.s3cmd("get", "--force", f"s3://{bucket}/docs/small.txt", str(dst))
        self.assertEqual(dst.read_bytes(), src.read_bytes())

        info = self.s3cmd("info", f"s3://{bucket}/docs/small.txt").stdout
        self.assertIn(hashlib.md5(src.read_bytes()).hexdigest(), info)

        # Make it public: anyone can read it with a plain GET. New buckets have ACLs
        # disabled (BucketOwnerEnforced, as on S3): enable them first, as on S3.
        url = f"{self.daemon.endpoint}/{bucket}/docs/small.txt"
        self.assertEqual(harness.http_request("GET", url)[0], 403)
        self.assertIn("AccessControlListNotSupported",
                      self.s3cmd("setacl", "--acl-public", f"s3://{bucket}/docs/small.txt", check=False).stderr)
        controls = b"<OwnershipControls><Rule><ObjectOwnership>ObjectWriter</ObjectOwnership></Rule></OwnershipControls>"
        status, _, body = self.daemon.signed("PUT", f"/{bucket}", query={"ownershipControls": ""}, body=controls)
        self.assertEqual(status, 200, body)
        self.s3cmd("setacl", "--acl-public", f"s3://{bucket}/docs/small.txt")
        self.assertEqual(harness.http_request("GET", url)[:3:2], (200, src.read_bytes()))
        self.s3cmd("setacl", "--acl-private", f"s3://{bucket}/docs/small.txt")
        self.assertEqual(harness.http_request("GET", url)[0], 403)

        # Server-side copy and move.
        self.s3cmd("cp", f"s3://{bucket}/docs/small.txt", f"s3://{bucket}/docs/copy.txt")
        self.s3cmd("mv", f"s3://{bucket}/docs/copy.txt", f"s3://{bucket}/moved/small.txt")
        ls = self.s3cmd("ls", "-r", f"s3://{bucket}").stdout
        self.assertIn(f"s3://{bucket}/moved/small.txt", ls)
        self.assertNotIn("copy.txt", ls)
        moved = self.tmp / "moved.back"
        self.s3cmd("get", "--force", f"s3://{bucket}/moved/small.txt", str(moved))
        self.assertEqual(moved.read_bytes(), src.read_bytes())
        self.s3cmd("del", f"s3://{bucket}/moved/small.txt")

        self.s3cmd("del", f"s3://{bucket}/docs/small.txt")
        self.assertNotIn("small.txt", self.s3cmd("ls", "-r", f"s3://{bucket}").stdout)
        p = self.s3cmd("get", f"s3://{bucket}/docs/small.txt", str(self.tmp / "gone"), check=False)
        self.assertNotEqual(p.returncode, 0)
        self.s3cmd("rb", f"s3://{bucket}")
        self.assertNotIn(f"s3://{bucket}", self.s3cmd("ls").stdout)

    def test_multipart_put_20mib(self):
        bucket = random_bucket("s3cmdmp")
        self.s3cmd("mb", f"s3://{bucket}")
        src = self.tmp / "big.bin"
        data = os.urandom(20 * MiB)
        src.write_bytes(data)
        self.s3cmd("put", "--multipart-chunk-size-mb=5", str(src), f"s3://{bucket}/big.bin")
        # Four 5 MiB parts: S3's composite ETag says so.
        status, headers, _ = self.daemon.signed("HEAD", f"/{bucket}/big.bin")
        self.assertEqual(status, 200)
        self.assertRegex(headers["etag"], r'^"[0-9a-f]{32}-4"$')
        self.assertEqual(int(headers["content-length"]), len(data))
        dst = self.tmp / "big.back"
        self.s3cmd("get", "--force", f"s3://{bucket}/big.bin", str(dst))
        self.assertEqual(hashlib.sha256(dst.read_bytes()).hexdigest(), hashlib.sha256(data).hexdigest())

    def test_sync(self):
        bucket = random_bucket("s3cmdsync")
        self.s3cmd("mb", f"s3://{bucket}")
        src = self.tmp / "tree"
        files = {"one.txt": b"1", "a/two.txt": b"22", "a/b/three.bin": os.urandom(100 * 1024), "a/empty": b""}
        for name, data in files.items():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            (src / name).write_bytes(data)
        self.s3cmd("sync", str(src) + "/", f"s3://{bucket}/tree/")
        listed = self.s3cmd("ls", "-r", f"s3://{bucket}/tree/").stdout
        for name in files:
            self.assertIn(f"s3://{bucket}/tree/{name}", listed)
        # Nothing changed: nothing to upload.
        out = self.s3cmd("sync", str(src) + "/", f"s3://{bucket}/tree/").stdout
        self.assertNotIn("upload:", out)
        (src / "a/two.txt").write_bytes(b"changed!")
        files["a/two.txt"] = b"changed!"
        out = self.s3cmd("sync", str(src) + "/", f"s3://{bucket}/tree/").stdout
        self.assertEqual(out.count("upload:"), 1, out)

        dst = self.tmp / "tree-back"
        dst.mkdir()
        self.s3cmd("sync", f"s3://{bucket}/tree/", str(dst) + "/")
        got = {str(p.relative_to(dst)): p.read_bytes() for p in dst.rglob("*") if p.is_file()}
        self.assertEqual(got, files)


if __name__ == "__main__":
    harness.main()
