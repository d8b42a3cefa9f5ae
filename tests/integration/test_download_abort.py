#!/usr/bin/python3
"""Clients that walk away from large downloads must not take annexd down.

Regression: `curl -s http://127.0.0.1:4566/big/big | head -c 1000` killed
annexd with SIGPIPE (exit 141): the object's bytes go out with sendfile(2),
which raises SIGPIPE on a socket whose peer has gone. Here clients start
downloads of a 64 MiB public object (a single PUT and a multipart upload),
read a few KB and close (FIN, and RST through SO_LINGER 0) in plain, ranged,
part-number and TLS variants; annexd must keep serving and return the whole
object afterwards.
"""

import hashlib
import os
import socket
import ssl
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import AnnexTestCase, random_bucket  # noqa: E402

MiB = 1024 * 1024
SIZE = 64 * MiB
PART = 16 * MiB
ROUNDS = 6


class DownloadAbortTest(AnnexTestCase):
    daemon_kwargs = {"tls": True}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        d = cls.daemon
        cls.bucket = random_bucket("abort")
        cls.data = os.urandom(SIZE)
        s3 = d.boto3_client()
        s3.create_bucket(Bucket=cls.bucket, ObjectOwnership="ObjectWriter")  # its objects get public-read ACLs
        s3.put_object(Bucket=cls.bucket, Key="big", Body=cls.data, ACL="public-read")
        upload = s3.create_multipart_upload(Bucket=cls.bucket, Key="multi", ACL="public-read")
        parts = []
        for n, start in enumerate(range(0, SIZE, PART), start=1):
            r = s3.upload_part(Bucket=cls.bucket, Key="multi", UploadId=upload["UploadId"], PartNumber=n,
                               Body=cls.data[start:start + PART])
            parts.append({"PartNumber": n, "ETag": r["ETag"]})
        s3.complete_multipart_upload(Bucket=cls.bucket, Key="multi", UploadId=upload["UploadId"],
                                     MultipartUpload={"Parts": parts})
        cls.ca = d.data_dir / "tls" / "ca.pem"

    def connect(self, tls):
        d = self.daemon
        sock = socket.create_connection(("127.0.0.1", d.tls_port if tls else d.port), timeout=10)
        if tls:
            sock = ssl.create_default_context(cafile=str(self.ca)).wrap_socket(sock, server_hostname="localhost")
        return sock

    def abandon(self, target, extra_headers="", tls=False, reset=False):
        """Starts `GET target`, reads a few KB of the answer, then goes away."""
        sock = self.connect(tls)
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: localhost\r\n{extra_headers}\r\n".encode())
        got = b""
        while len(got) < 4096:
            chunk = sock.recv(4096)
            if not chunk:
                break
            got += chunk
        self.assertTrue(got.startswith(b"HTTP/1.1 20"), got[:200])
        if reset:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        sock.close()

    def assert_still_serving(self):
        d = self.daemon
        self.assertIsNone(d.proc.poll(), "annexd exited\n" + d.log_tail())
        status, _, _ = harness.http_request("GET", d.endpoint + "/_annex/health", timeout=5)
        self.assertEqual(status, 200)

    def test_abandoned_downloads(self):
        t0 = time.monotonic()
        b = self.bucket
        variants = [
            (f"/{b}/big", "", False),
            (f"/{b}/big", "Range: bytes=1000-40000000\r\n", False),
            (f"/{b}/multi", "", False),
            (f"/{b}/multi?partNumber=1", "", False),
            (f"/{b}/multi", "Range: bytes=20000000-\r\n", False),
            (f"/{b}/big", "", True),
            (f"/{b}/multi?partNumber=2", "", True),
        ]
        for round_ in range(ROUNDS):
            for target, headers, tls in variants:
                self.abandon(target, headers, tls=tls, reset=round_ % 2 == 1)
            self.assert_still_serving()
        for key in ("big", "multi"):
            status, _, body = harness.http_request("GET", f"{self.daemon.endpoint}/{b}/{key}", timeout=60)
            self.assertEqual(status, 200)
            self.assertEqual(hashlib.sha256(body).hexdigest(), hashlib.sha256(self.data).hexdigest(), key)
        self.assertLess(time.monotonic() - t0, 50)


if __name__ == "__main__":
    harness.main()
