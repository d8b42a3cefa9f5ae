#!/usr/bin/python3
"""rclone (Debian's /usr/bin/rclone, s3 backend, provider Other) against a real annexd."""

import hashlib
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import RCLONE, AnnexTestCase, have, random_bucket  # noqa: E402

MiB = 1024 * 1024


@unittest.skipUnless(have(RCLONE), f"rclone not installed at {RCLONE} (apt-get install rclone)")
class RcloneTest(AnnexTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        d = cls.daemon
        cls.tmp = d.workdir / "rclone"
        cls.tmp.mkdir()
        cls.config = cls.tmp / "rclone.conf"
        cls.config.write_text(
            "[annex]\n"
            "type = s3\n"
            "provider = Other\n"
            "env_auth = false\n"
            f"access_key_id = {d.access_key}\n"
            f"secret_access_key = {d.secret_key}\n"
            f"endpoint = {d.endpoint}\n"
            "region = us-east-1\n"
            "force_path_style = true\n")
        cls.env = d.client_env()

    def rclone(self, *args, check=True):
        p = subprocess.run([RCLONE, "--config", str(self.config), "--retries", "1", "--low-level-retries", "1",
                            *args], env=self.env, capture_output=True, text=True, timeout=300)
        if check and p.returncode != 0:
            self.fail(f"`rclone {' '.join(args)}` exited {p.returncode}\nstdout: {p.stdout}\nstderr: {p.stderr}")
        return p

    def make_tree(self, root, files):
        for name, data in files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_bytes(data)

    def test_tree_copy_lsf_check_delete_purge(self):
        bucket = random_bucket("rclone")
        self.rclone("mkdir", f"annex:{bucket}")
        self.assertIn(bucket, self.rclone("lsd", "annex:").stdout)
        src = self.tmp / "tree"
        files = {
            "README.md": b"# tree\n",
            "src/main.c": b"int main(void) { return 0; }\n",
            "src/lib/util.h": b"#pragma once\n",
            "data/blob.bin": os.urandom(300 * 1024),
            "data/empty.dat": b"",
            "unicode/Ärger & Ölfässer.txt": "ümlaut".encode(),
        }
        self.make_tree(src, files)
        self.rclone("copy", str(src), f"annex:{bucket}/tree")
        listed = set(self.rclone("lsf", "-R", "--files-only", f"annex:{bucket}/tree").stdout.splitlines())
        self.assertEqual(listed, set(files))
        self.assertEqual(set(self.rclone("lsf", f"annex:{bucket}/tree").stdout.splitlines()),
                         {"README.md", "src/", "data/", "unicode/"})
        # check compares hashes; --download compares the bytes themselves.
        self.rclone("check", str(src), f"annex:{bucket}/tree")
        self.rclone("check", "--download", str(src), f"annex:{bucket}/tree")

        # A local change is detected.
        (src / "src/main.c").write_bytes(b"int main(void) { return 1; }\n")
        p = self.rclone("check", str(src), f"annex:{bucket}/tree", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("main.c", p.stderr)

        # MD5s as rclone sees them match the local files.
        md5s = dict(reversed(line.split("  ", 1)) for line in
                    self.rclone("md5sum", f"annex:{bucket}/tree").stdout.splitlines())
        self.assertEqual(md5s["README.md"], hashlib.md5(files["README.md"]).hexdigest())
        self.assertEqual(md5s["data/blob.bin"], hashlib.md5(files["data/blob.bin"]).hexdigest())
        # Server-side copy and move inside the remote.
        self.rclone("copyto", f"annex:{bucket}/tree/README.md", f"annex:{bucket}/copies/README.md")
        self.rclone("moveto", f"annex:{bucket}/copies/README.md", f"annex:{bucket}/moved/README.md")
        self.assertEqual(self.rclone("cat", f"annex:{bucket}/moved/README.md").stdout.encode(), files["README.md"])
        self.assertEqual(self.rclone("lsf", f"annex:{bucket}/copies", check=False).stdout.strip(), "")

        self.rclone("delete", f"annex:{bucket}/tree/data")
        listed = set(self.rclone("lsf", "-R", "--files-only", f"annex:{bucket}/tree").stdout.splitlines())
        self.assertEqual(listed, {k for k in files if not k.startswith("data/")})

        self.rclone("purge", f"annex:{bucket}")
        self.assertNotIn(bucket, self.rclone("lsd", "annex:").stdout)

    def test_multipart_30mib(self):
        bucket = random_bucket("rclonemp")
        self.rclone("mkdir", f"annex:{bucket}")
        src = self.tmp / "big"
        src.mkdir()
        data = os.urandom(30 * MiB)
        (src / "big.bin").write_bytes(data)
        self.rclone("copy", "--s3-upload-cutoff", "5M", "--s3-chunk-size", "5M", str(src / "big.bin"),
                    f"annex:{bucket}/")
        self.assertEqual(self.rclone("lsf", "--format", "ps", f"annex:{bucket}").stdout.strip(), f"big.bin;{len(data)}")
        self.rclone("check", "--download", str(src), f"annex:{bucket}/")
        # rclone stores the MD5 of multipart uploads in metadata, so hash checks still work.
        self.rclone("check", str(src), f"annex:{bucket}/")
        out = self.tmp / "big-back"
        self.rclone("copy", f"annex:{bucket}/big.bin", str(out))
        self.assertEqual(hashlib.sha256((out / "big.bin").read_bytes()).hexdigest(), hashlib.sha256(data).hexdigest())
        if _have_boto3():
            head = self.daemon.boto3_client().head_object(Bucket=bucket, Key="big.bin")
            self.assertRegex(head["ETag"], r'^"[0-9a-f]{32}-6"$')
        self.rclone("deletefile", f"annex:{bucket}/big.bin")
        self.assertEqual(self.rclone("lsf", f"annex:{bucket}").stdout.strip(), "")
        self.rclone("rmdir", f"annex:{bucket}")

    def test_versions(self):
        """rclone's versioning commands and --s3-versions, which name old versions by their date."""
        bucket = random_bucket("rclonever")
        self.rclone("mkdir", f"annex:{bucket}")
        self.rclone("backend", "versioning", f"annex:{bucket}", "Enabled")
        self.assertEqual(self.rclone("backend", "versioning", f"annex:{bucket}").stdout.strip(), "Enabled")
        src = self.tmp / "versions"
        src.mkdir()
        for text in (b"first\n", b"second, longer\n"):
            (src / "doc.txt").write_bytes(text)
            self.rclone("copy", str(src / "doc.txt"), f"annex:{bucket}/")
            time.sleep(1.1)  # rclone names versions by their time, to the second
        self.assertEqual(self.rclone("lsf", f"annex:{bucket}").stdout.split(), ["doc.txt"])
        listed = self.rclone("lsf", "--s3-versions", "--format", "ps", f"annex:{bucket}").stdout.split()
        self.assertEqual(len(listed), 2, listed)
        old = next(entry.split(";")[0] for entry in listed if entry.startswith("doc-v"))
        self.assertEqual(self.rclone("cat", "--s3-versions", f"annex:{bucket}/{old}").stdout, "first\n")
        self.rclone("deletefile", f"annex:{bucket}/doc.txt")  # a delete marker: both versions stay
        self.assertEqual(self.rclone("lsf", f"annex:{bucket}").stdout.strip(), "")
        self.assertEqual(len(self.rclone("lsf", "--s3-versions", f"annex:{bucket}").stdout.split()), 2)
        self.rclone("backend", "cleanup-hidden", f"annex:{bucket}")  # removes every old version and marker
        self.assertEqual(self.rclone("lsf", "--s3-versions", f"annex:{bucket}").stdout.strip(), "")
        self.rclone("rmdir", f"annex:{bucket}")


def _have_boto3():
    try:
        import boto3  # noqa: F401
        return True
    except ImportError:
        return False


if __name__ == "__main__":
    harness.main()
