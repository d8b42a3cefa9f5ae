#!/usr/bin/env python3
"""Encryption at rest with boto3 and awscli: SSE-S3 on every new object (inline, data file, multipart, copies),
no plaintext anywhere on the data partition, ranged GETs across chunk boundaries, SSE-C (put, get, head, copy,
multipart) with S3's refusals, bucket default encryption, and the sealing key (restart, a wrong key refused)."""

import hashlib
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import s3_fixture  # noqa: E402
from harness import AnnexTestCase, md5_b64, random_bucket  # noqa: E402
from s3_fixture import S3TestCase  # noqa: E402

s3_fixture.require_boto3()
import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402

MiB = 1 << 20
CHUNK = 65536 - 16  # plaintext bytes per sealed chunk


def marked(label, size):
    """`size` bytes that say `label` over and over: easy to find on disk if stored in the clear."""
    unit = f"<plaintext {label}>".encode()
    return (unit * (size // len(unit) + 1))[:size]


def sse_c(key):
    return {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": key}


class EncryptionTest(S3TestCase):
    daemon_kwargs = {"tls": True}
    bucket_prefix = "enc"

    def setUp(self):
        super().setUp()
        self.tls = boto3.session.Session().client(
            "s3", endpoint_url=self.daemon.tls_endpoint, region_name="us-east-1",
            aws_access_key_id=self.daemon.access_key, aws_secret_access_key=self.daemon.secret_key,
            verify=str(self.daemon.data_dir / "tls" / "ca.pem"),
            config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}))

    def stored_files(self):
        root = self.daemon.data_dir / "objectstore"
        return [p for p in root.rglob("*") if p.is_file()]

    def assertNoPlaintext(self, *needles):
        for path in self.stored_files():
            data = path.read_bytes()
            for needle in needles:
                self.assertNotIn(needle, data, f"plaintext found in {path}")

    def test_every_new_object_is_sse_s3_and_no_plaintext_is_stored(self):
        bucket = self.new_bucket()
        small, large = marked("small", 3000), marked("large", 3 * MiB + 12345)
        put = self.s3.put_object(Bucket=bucket, Key="small", Body=small)
        self.assertEqual(put["ServerSideEncryption"], "AES256")
        self.s3.put_object(Bucket=bucket, Key="large", Body=large, ServerSideEncryption="AES256")
        up = self.s3.create_multipart_upload(Bucket=bucket, Key="mp")
        self.assertEqual(up["ServerSideEncryption"], "AES256")
        parts = [marked("part1", 5 * MiB), marked("part2", 777)]
        etags = [self.s3.upload_part(Bucket=bucket, Key="mp", UploadId=up["UploadId"], PartNumber=n + 1,
                                     Body=p)["ETag"] for n, p in enumerate(parts)]
        done = self.s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=up["UploadId"], MultipartUpload={
            "Parts": [{"PartNumber": n + 1, "ETag": e} for n, e in enumerate(etags)]})
        self.assertEqual(done["ServerSideEncryption"], "AES256")
        copy = self.s3.copy_object(Bucket=bucket, Key="copy", CopySource={"Bucket": bucket, "Key": "large"})
        self.assertEqual(copy["ServerSideEncryption"], "AES256")
        for key, want in (("small", small), ("large", large), ("mp", b"".join(parts)), ("copy", large)):
            got = self.s3.get_object(Bucket=bucket, Key=key)
            self.assertEqual(got["ServerSideEncryption"], "AES256")
            self.assertEqual(hashlib.sha256(got["Body"].read()).digest(), hashlib.sha256(want).digest(), key)
        self.assertEqual(self.s3.head_object(Bucket=bucket, Key="mp")["ServerSideEncryption"], "AES256")
        self.assertNoPlaintext(b"<plaintext small>", b"<plaintext large>", b"<plaintext part1>", b"<plaintext part2>")
        # The ETag is still the MD5 of the plaintext, as S3's is for SSE-S3.
        self.assertEqual(put["ETag"], '"%s"' % hashlib.md5(small).hexdigest())

    def test_ranges_across_chunk_boundaries(self):
        bucket = self.new_bucket()
        data = os.urandom(3 * CHUNK + 1000)
        self.s3.put_object(Bucket=bucket, Key="r", Body=data)
        for first, last in ((0, 0), (CHUNK - 1, CHUNK), (CHUNK - 5, 2 * CHUNK + 5), (3 * CHUNK, len(data) - 1),
                            (100, 100 + CHUNK * 2), (len(data) - 1, len(data) - 1)):
            got = self.s3.get_object(Bucket=bucket, Key="r", Range=f"bytes={first}-{last}")["Body"].read()
            self.assertEqual(got, data[first:last + 1], (first, last))
        small = os.urandom(5000)
        self.s3.put_object(Bucket=bucket, Key="inline", Body=small)
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key="inline", Range="bytes=10-4000")["Body"].read(),
                         small[10:4001])

    def test_customer_keys(self):
        bucket = self.new_bucket()
        key, other = os.urandom(32), os.urandom(32)
        data = marked("customer", 200000)
        put = self.tls.put_object(Bucket=bucket, Key="c", Body=data, **sse_c(key))
        self.assertEqual(put["SSECustomerAlgorithm"], "AES256")
        self.assertEqual(put["SSECustomerKeyMD5"], md5_b64(key))
        self.assertEqual(self.tls.get_object(Bucket=bucket, Key="c", **sse_c(key))["Body"].read(), data)
        self.assertEqual(self.tls.head_object(Bucket=bucket, Key="c", **sse_c(key))["ContentLength"], len(data))
        # S3's refusals: no key, the wrong key, a key for an SSE-S3 object, SSE-C over plain HTTP.
        self.assertError("InvalidRequest", self.tls.get_object, Bucket=bucket, Key="c", status=400)
        self.assertError("AccessDenied", self.tls.get_object, Bucket=bucket, Key="c", status=403, **sse_c(other))
        self.assertError("403", self.tls.head_object, Bucket=bucket, Key="c", status=403, **sse_c(other))
        self.tls.put_object(Bucket=bucket, Key="plain", Body=b"x")
        self.assertError("InvalidRequest", self.tls.get_object, Bucket=bucket, Key="plain", status=400, **sse_c(key))
        self.assertError("InvalidRequest", self.s3.put_object, Bucket=bucket, Key="http", Body=b"x", status=400,
                         **sse_c(key))
        # Copies: the source's key to read it, the destination's own key (or SSE-S3).
        self.tls.copy_object(Bucket=bucket, Key="c2", CopySource={"Bucket": bucket, "Key": "c"},
                             CopySourceSSECustomerAlgorithm="AES256", CopySourceSSECustomerKey=key, **sse_c(other))
        self.assertEqual(self.tls.get_object(Bucket=bucket, Key="c2", **sse_c(other))["Body"].read(), data)
        self.tls.copy_object(Bucket=bucket, Key="c3", CopySource={"Bucket": bucket, "Key": "c"},
                             CopySourceSSECustomerAlgorithm="AES256", CopySourceSSECustomerKey=key)
        self.assertEqual(self.tls.get_object(Bucket=bucket, Key="c3")["ServerSideEncryption"], "AES256")
        self.assertError("InvalidRequest", self.tls.copy_object, Bucket=bucket, Key="c4",
                         CopySource={"Bucket": bucket, "Key": "c"})
        # Multipart: every part with the upload's key.
        up = self.tls.create_multipart_upload(Bucket=bucket, Key="mp", **sse_c(key))["UploadId"]
        self.assertError("AccessDenied", self.tls.upload_part, Bucket=bucket, Key="mp", UploadId=up, PartNumber=1,
                         Body=b"x", **sse_c(other))
        e1 = self.tls.upload_part(Bucket=bucket, Key="mp", UploadId=up, PartNumber=1, Body=marked("mp", 5 * MiB),
                                  **sse_c(key))["ETag"]
        e2 = self.tls.upload_part(Bucket=bucket, Key="mp", UploadId=up, PartNumber=2, Body=b"tail", **sse_c(key))["ETag"]
        self.tls.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=up, MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]})
        self.assertEqual(self.tls.get_object(Bucket=bucket, Key="mp", **sse_c(key))["Body"].read(),
                         marked("mp", 5 * MiB) + b"tail")
        self.assertError("InvalidRequest", self.tls.get_object, Bucket=bucket, Key="mp")
        self.assertNoPlaintext(b"<plaintext customer>", b"<plaintext mp>")
        # The key itself is stored nowhere.
        for path in self.stored_files():
            self.assertNotIn(key, path.read_bytes(), f"the customer key is in {path}")

    def test_request_and_bucket_settings(self):
        bucket = self.new_bucket()
        err = self.assertError("InvalidArgument", self.s3.put_object, Bucket=bucket, Key="k", Body=b"x",
                               ServerSideEncryption="aws:kms", status=400)
        self.assertIn("KMS", err["Error"]["Message"])
        rule = self.s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
        self.assertEqual(rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"], "AES256")
        self.s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [
            {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
        self.assertError("InvalidArgument", self.s3.put_bucket_encryption, Bucket=bucket,
                         ServerSideEncryptionConfiguration={"Rules": [
                             {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]})
        self.s3.delete_bucket_encryption(Bucket=bucket)
        self.assertEqual(self.s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
                         ["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"], "AES256")
        if harness.have("/usr/bin/aws"):
            out = subprocess.run(["aws", "--endpoint-url", self.daemon.endpoint, "s3api", "head-object", "--bucket",
                                  bucket, "--key", "k2"], env=self.daemon.client_env(), capture_output=True, text=True)
            self.assertNotEqual(out.returncode, 0)  # no such key: the command runs against the appliance
            self.s3.put_object(Bucket=bucket, Key="k2", Body=b"y")
            out = subprocess.run(["aws", "--endpoint-url", self.daemon.endpoint, "s3api", "head-object", "--bucket",
                                  bucket, "--key", "k2"], env=self.daemon.client_env(), capture_output=True, text=True)
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertIn('"ServerSideEncryption": "AES256"', out.stdout)


class SealingKeyTest(AnnexTestCase):
    """The master key is sealed by a key file beside (not in) the data directory."""

    def test_restart_and_a_wrong_sealing_key(self):
        s3 = self.daemon.boto3_client()
        bucket = random_bucket("seal")
        s3.create_bucket(Bucket=bucket)
        s3.put_object(Bucket=bucket, Key="k", Body=b"sealed bytes")
        key_file = self.daemon.data_dir.parent / (self.daemon.data_dir.name + ".sealing-key")
        self.assertTrue(key_file.is_file(), "the sealing key lies beside the data directory")
        self.assertEqual(key_file.stat().st_mode & 0o777, 0o600)
        original = key_file.read_bytes()
        self.daemon.restart()
        self.assertEqual(self.daemon.boto3_client().get_object(Bucket=bucket, Key="k")["Body"].read(), b"sealed bytes")
        self.daemon.stop()
        key_file.write_bytes(os.urandom(32))
        with self.assertRaises(harness.DaemonError):
            self.daemon.start(timeout=10)
        self.assertIn("does not open", self.daemon.log_tail(20))
        key_file.write_bytes(original)
        self.daemon.start()
        self.assertEqual(self.daemon.boto3_client().get_object(Bucket=bucket, Key="k")["Body"].read(), b"sealed bytes")


if __name__ == "__main__":
    harness.main()
