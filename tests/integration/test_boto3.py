#!/usr/bin/python3
"""boto3 (Debian's python3-boto3) against a real annexd."""

import base64
import contextlib
import datetime
import hashlib
import io
import os
import socket
import sys
import time
import unittest
import urllib.parse
import urllib.request
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import random_bucket  # noqa: E402
from s3_fixture import S3TestCase  # noqa: E402

try:
    import boto3  # noqa: F401
    import botocore
    from boto3.s3.transfer import TransferConfig
    HAVE_BOTO3 = True
except ImportError:  # pragma: no cover - reported as a skip
    HAVE_BOTO3 = False

MiB = 1024 * 1024


def b64(raw):
    return base64.b64encode(raw).decode()


def crc32_b64(data):
    return b64(zlib.crc32(data).to_bytes(4, "big"))


def _crc32c_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC32C = _crc32c_table()


def crc32c_b64(data):
    c = 0xFFFFFFFF
    for byte in data:
        c = _CRC32C[(c ^ byte) & 0xFF] ^ (c >> 8)
    return b64((c ^ 0xFFFFFFFF).to_bytes(4, "big"))


def utf8_sorted(keys):
    return sorted(keys, key=lambda k: k.encode("utf-8"))


@contextlib.contextmanager
def localhost_subdomains_resolve():
    """Resolves *.localhost to 127.0.0.1 (what systemd-resolved does; glibc alone does not)."""
    real = socket.getaddrinfo

    def fake(host, *args, **kw):
        if isinstance(host, str) and host.endswith(".localhost"):
            host = "127.0.0.1"
        return real(host, *args, **kw)

    socket.getaddrinfo = fake
    try:
        yield
    finally:
        socket.getaddrinfo = real


@unittest.skipUnless(HAVE_BOTO3, "boto3 is not importable by /usr/bin/python3 (apt-get install python3-boto3)")
class Boto3Test(S3TestCase):
    bucket_prefix = "bt"

    # -- buckets ----------------------------------------------------------------

    def test_buckets_and_error_codes(self):
        name = self.new_bucket()
        self.assertIn(name, [b["Name"] for b in self.s3.list_buckets()["Buckets"]])
        self.s3.head_bucket(Bucket=name)
        self.assertIsNone(self.s3.get_bucket_location(Bucket=name).get("LocationConstraint"))
        self.assertError("BucketAlreadyOwnedByYou", self.s3.create_bucket, Bucket=name, status=409)

        missing = random_bucket("missing")
        self.assertError("404", self.s3.head_bucket, Bucket=missing, status=404)
        self.assertError("NoSuchBucket", self.s3.list_objects_v2, Bucket=missing, status=404)
        self.assertError("NoSuchBucket", self.s3.get_object, Bucket=missing, Key="k", status=404)
        self.assertError("NoSuchBucket", self.s3.put_object, Bucket=missing, Key="k", Body=b"x", status=404)
        self.assertError("NoSuchBucket", self.s3.delete_bucket, Bucket=missing, status=404)
        self.assertError("NoSuchKey", self.s3.get_object, Bucket=name, Key="nope", status=404)
        self.assertError("404", self.s3.head_object, Bucket=name, Key="nope", status=404)

        self.s3.put_object(Bucket=name, Key="k", Body=b"x")
        self.assertError("BucketNotEmpty", self.s3.delete_bucket, Bucket=name, status=409)
        self.s3.delete_object(Bucket=name, Key="k")
        # Deleting a missing key is not an error in S3.
        self.assertEqual(self.s3.delete_object(Bucket=name, Key="k")["ResponseMetadata"]["HTTPStatusCode"], 204)
        self.s3.delete_bucket(Bucket=name)
        self.assertNotIn(name, [b["Name"] for b in self.s3.list_buckets()["Buckets"]])

        for bad in ("ab", "Upper-Case", "a..b", "-leading", "trailing-", "192.168.5.4", "x" * 64, "under_score",
                    "xn--punycode", "bucket-s3alias"):
            self.assertError("InvalidBucketName", self.s3.create_bucket, Bucket=bad, status=400)
        names = [b["Name"] for b in self.s3.list_buckets()["Buckets"]]
        for bad in ("ab", "Upper-Case", "a..b"):
            self.assertNotIn(bad, names)

    # -- objects ----------------------------------------------------------------

    def test_metadata_round_trip(self):
        bucket = self.new_bucket()
        expires = datetime.datetime(2031, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
        body = b"\x1f\x8b pretend gzip"
        self.s3.put_object(Bucket=bucket, Key="meta.bin", Body=body, ContentType="application/vnd.annex+json",
                           ContentEncoding="gzip", ContentDisposition='attachment; filename="report.json"',
                           CacheControl="max-age=3600, must-revalidate", Expires=expires, ContentLanguage="de-CH",
                           Metadata={"Project": "Annex", "emoji-free": "plain value", "empty": ""})
        for resp in (self.s3.head_object(Bucket=bucket, Key="meta.bin"),
                     self.s3.get_object(Bucket=bucket, Key="meta.bin")):
            self.assertEqual(resp["ContentType"], "application/vnd.annex+json")
            self.assertEqual(resp["ContentEncoding"], "gzip")
            self.assertEqual(resp["ContentDisposition"], 'attachment; filename="report.json"')
            self.assertEqual(resp["CacheControl"], "max-age=3600, must-revalidate")
            self.assertEqual(resp["ContentLanguage"], "de-CH")
            self.assertEqual(resp["Expires"], expires)
            # S3 lower-cases user metadata names.
            self.assertEqual(resp["Metadata"], {"project": "Annex", "emoji-free": "plain value", "empty": ""})
            self.assertEqual(resp["ContentLength"], len(body))
            self.assertEqual(resp["ETag"], '"%s"' % hashlib.md5(body).hexdigest())
            self.assertIsInstance(resp["LastModified"], datetime.datetime)
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key="meta.bin")["Body"].read(), body)

        # response-* overrides on a signed GET.
        r = self.s3.get_object(Bucket=bucket, Key="meta.bin", ResponseContentType="text/csv",
                               ResponseContentDisposition="inline", ResponseCacheControl="no-store")
        self.assertEqual(r["ContentType"], "text/csv")
        self.assertEqual(r["ContentDisposition"], "inline")
        self.assertEqual(r["CacheControl"], "no-store")

        # Default content type when none is given.
        self.s3.put_object(Bucket=bucket, Key="plain", Body=b"p")
        self.assertEqual(self.s3.head_object(Bucket=bucket, Key="plain")["ContentType"], "binary/octet-stream")

        # Overwrite replaces data and metadata.
        self.s3.put_object(Bucket=bucket, Key="meta.bin", Body=b"new", Metadata={"v": "2"})
        r = self.s3.get_object(Bucket=bucket, Key="meta.bin")
        self.assertEqual(r["Body"].read(), b"new")
        self.assertEqual(r["Metadata"], {"v": "2"})
        self.assertNotIn("ContentEncoding", r)

    def test_empty_upload_then_upload_on_same_connection(self):
        """`aws s3 sync`/`cp` of a tree with empty files: no stall after a zero-length PUT.

        botocore (python3-boto3 1.29, awscli 2.9) sends `Expect: 100-continue` even for an empty
        file-like body; if the server answers that PUT without a `100 Continue`, botocore reuses the
        pooled connection with a stale status line and the next PUT hangs until its read timeout
        (boto/botocore#3755). S3 sends `100 Continue`, so clients never see this against AWS.
        """
        bucket = self.new_bucket("empty")
        s3 = self.daemon.boto3_client(read_timeout=5, max_pool_connections=1)
        for i in range(3):
            t0 = time.monotonic()
            s3.put_object(Bucket=bucket, Key=f"empty{i}", Body=io.BytesIO(b""))
            s3.put_object(Bucket=bucket, Key=f"full{i}", Body=io.BytesIO(b"after an empty one"))
            self.assertLess(time.monotonic() - t0, 3.0, "an upload after an empty upload stalled")
        self.assertEqual(s3.get_object(Bucket=bucket, Key="full2")["Body"].read(), b"after an empty one")
        self.assertEqual(s3.head_object(Bucket=bucket, Key="empty2")["ContentLength"], 0)

    def test_conditional_requests(self):
        bucket = self.new_bucket()
        etag = self.s3.put_object(Bucket=bucket, Key="c", Body=b"conditional")["ETag"]
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key="c", IfMatch=etag)["Body"].read(), b"conditional")
        self.assertError("304", self.s3.get_object, Bucket=bucket, Key="c", IfNoneMatch=etag, status=304)
        self.assertError("PreconditionFailed", self.s3.get_object, Bucket=bucket, Key="c", IfMatch='"0000"',
                         status=412)
        self.assertError("412", self.s3.head_object, Bucket=bucket, Key="c", IfMatch='"0000"', status=412)
        future = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)
        past = datetime.datetime(2000, 1, 1, tzinfo=datetime.timezone.utc)
        self.assertError("304", self.s3.get_object, Bucket=bucket, Key="c", IfModifiedSince=future, status=304)
        self.assertError("PreconditionFailed", self.s3.get_object, Bucket=bucket, Key="c", IfUnmodifiedSince=past,
                         status=412)
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key="c", IfModifiedSince=past)["Body"].read(),
                         b"conditional")

        # Conditional write: If-None-Match: * refuses to overwrite.
        status, _, body = self.daemon.signed("PUT", f"/{bucket}/c", headers={"If-None-Match": "*"}, body=b"clobber")
        self.assertEqual(status, 412, body)
        self.assertEqual(harness.error_code(body), "PreconditionFailed")
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key="c")["Body"].read(), b"conditional")
        status, _, body = self.daemon.signed("PUT", f"/{bucket}/fresh", headers={"If-None-Match": "*"}, body=b"new")
        self.assertEqual(status, 200, body)

        # Copy-source conditionals.
        self.assertError("PreconditionFailed", self.s3.copy_object, Bucket=bucket, Key="c2",
                         CopySource={"Bucket": bucket, "Key": "c"}, CopySourceIfMatch='"0000"', status=412)
        self.s3.copy_object(Bucket=bucket, Key="c2", CopySource={"Bucket": bucket, "Key": "c"},
                            CopySourceIfMatch=etag)
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key="c2")["Body"].read(), b"conditional")

    def test_checksums(self):
        bucket = self.new_bucket()
        data = os.urandom(150 * 1024)
        r = self.s3.put_object(Bucket=bucket, Key="crc32", Body=data, ChecksumAlgorithm="CRC32")
        self.assertEqual(r.get("ChecksumCRC32"), crc32_b64(data))
        g = self.s3.get_object(Bucket=bucket, Key="crc32", ChecksumMode="ENABLED")
        self.assertEqual(g["ChecksumCRC32"], crc32_b64(data))
        self.assertEqual(g["Body"].read(), data)  # botocore also validates the checksum while reading
        h = self.s3.head_object(Bucket=bucket, Key="crc32", ChecksumMode="ENABLED")
        self.assertEqual(h["ChecksumCRC32"], crc32_b64(data))
        # Without ChecksumMode the checksum is not returned.
        self.assertNotIn("ChecksumCRC32", self.s3.head_object(Bucket=bucket, Key="crc32"))

        r = self.s3.put_object(Bucket=bucket, Key="sha256", Body=data, ChecksumAlgorithm="SHA256")
        want = b64(hashlib.sha256(data).digest())
        self.assertEqual(r.get("ChecksumSHA256"), want)
        g = self.s3.get_object(Bucket=bucket, Key="sha256", ChecksumMode="ENABLED")
        self.assertEqual(g["ChecksumSHA256"], want)
        self.assertEqual(g["Body"].read(), data)

        # CRC32C and SHA1 through raw headers (botocore needs awscrt for CRC32C).
        for algo, value in (("crc32c", crc32c_b64(data)), ("sha1", b64(hashlib.sha1(data).digest()))):
            status, _, body = self.daemon.signed("PUT", f"/{bucket}/{algo}", body=data,
                                                 headers={f"x-amz-checksum-{algo}": value})
            self.assertEqual(status, 200, body)
            g = self.s3.get_object(Bucket=bucket, Key=algo, ChecksumMode="ENABLED")
            self.assertEqual(g["Checksum" + algo.upper()], value)
            self.assertEqual(g["Body"].read(), data)

    def test_upload_fileobj_20mib_multipart(self):
        bucket = self.new_bucket()
        data = os.urandom(20 * MiB)
        cfg = TransferConfig(multipart_threshold=8 * MiB, multipart_chunksize=8 * MiB, max_concurrency=4)
        self.s3.upload_fileobj(io.BytesIO(data), bucket, "big/20mib.bin", Config=cfg,
                               ExtraArgs={"ContentType": "application/x-big", "Metadata": {"kind": "multipart"}})
        head = self.s3.head_object(Bucket=bucket, Key="big/20mib.bin")
        self.assertEqual(head["ContentLength"], len(data))
        self.assertRegex(head["ETag"], r'^"[0-9a-f]{32}-3"$')
        self.assertEqual(head["ContentType"], "application/x-big")
        self.assertEqual(head["Metadata"], {"kind": "multipart"})
        out = io.BytesIO()
        self.s3.download_fileobj(bucket, "big/20mib.bin", out, Config=cfg)  # ranged GETs in parallel
        self.assertEqual(hashlib.sha256(out.getvalue()).hexdigest(), hashlib.sha256(data).hexdigest())
        # Managed copy above the threshold: a multipart copy (UploadPartCopy with ranges).
        self.s3.copy({"Bucket": bucket, "Key": "big/20mib.bin"}, bucket, "big/copy.bin", Config=cfg)
        head = self.s3.head_object(Bucket=bucket, Key="big/copy.bin")
        self.assertEqual(head["ContentLength"], len(data))
        self.assertEqual(hashlib.sha256(self.s3.get_object(Bucket=bucket, Key="big/copy.bin")["Body"].read())
                         .hexdigest(), hashlib.sha256(data).hexdigest())
        r = self.s3.get_object(Bucket=bucket, Key="big/20mib.bin", Range="bytes=8388600-8388615")
        self.assertEqual(r["Body"].read(), data[8388600:8388616])
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 206)

    def test_multipart_rules_and_upload_part_copy(self):
        bucket = self.new_bucket()
        src = os.urandom(6 * MiB)
        self.s3.put_object(Bucket=bucket, Key="source", Body=src)
        key = "assembled"
        up = self.s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
        small = os.urandom(1000)
        e_small = self.s3.upload_part(Bucket=bucket, Key=key, UploadId=up, PartNumber=1, Body=small)["ETag"]
        # UploadPartCopy with a byte range of another object.
        r = self.s3.upload_part_copy(Bucket=bucket, Key=key, UploadId=up, PartNumber=2,
                                     CopySource={"Bucket": bucket, "Key": "source"},
                                     CopySourceRange=f"bytes=0-{5 * MiB - 1}")
        e_copy = r["CopyPartResult"]["ETag"]
        self.assertEqual(e_copy, '"%s"' % hashlib.md5(src[:5 * MiB]).hexdigest())
        e_last = self.s3.upload_part(Bucket=bucket, Key=key, UploadId=up, PartNumber=3, Body=b"tail")["ETag"]

        def complete(parts):
            return self.s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=up,
                                                     MultipartUpload={"Parts": parts})

        # A part below 5 MiB that is not the last one.
        self.assertError("EntityTooSmall", complete, [{"PartNumber": 1, "ETag": e_small},
                                                      {"PartNumber": 2, "ETag": e_copy}], status=400)
        # Parts out of order, a wrong ETag, a part never uploaded.
        self.assertError("InvalidPartOrder", complete, [{"PartNumber": 3, "ETag": e_last},
                                                        {"PartNumber": 2, "ETag": e_copy}], status=400)
        self.assertError("InvalidPart", complete, [{"PartNumber": 2, "ETag": '"%s"' % ("0" * 32)},
                                                   {"PartNumber": 3, "ETag": e_last}], status=400)
        self.assertError("InvalidPart", complete, [{"PartNumber": 2, "ETag": e_copy},
                                                   {"PartNumber": 4, "ETag": e_last}], status=400)
        self.assertError("404", self.s3.head_object, Bucket=bucket, Key=key, status=404)
        # Parts may be skipped: 2 and 3 make the object.
        r = complete([{"PartNumber": 2, "ETag": e_copy}, {"PartNumber": 3, "ETag": e_last}])
        want = hashlib.md5(hashlib.md5(src[:5 * MiB]).digest() + hashlib.md5(b"tail").digest()).hexdigest()
        self.assertEqual(r["ETag"], f'"{want}-2"')
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key=key)["Body"].read(), src[:5 * MiB] + b"tail")
        g = self.s3.get_object(Bucket=bucket, Key=key, PartNumber=2)
        self.assertEqual(g["Body"].read(), b"tail")
        self.assertEqual(g["PartsCount"], 2)
        self.assertError("NoSuchUpload", self.s3.list_parts, Bucket=bucket, Key=key, UploadId=up, status=404)
        self.assertError("NoSuchUpload", self.s3.upload_part, Bucket=bucket, Key=key, UploadId="nonexistent",
                         PartNumber=1, Body=b"x", status=404)

    def test_copy_object_rules(self):
        bucket = self.new_bucket()
        self.s3.put_object(Bucket=bucket, Key="k", Body=b"data", Metadata={"a": "1"}, ContentType="text/plain")
        # Copying onto itself without changing anything is refused.
        self.assertError("InvalidRequest", self.s3.copy_object, Bucket=bucket, Key="k",
                         CopySource={"Bucket": bucket, "Key": "k"}, status=400)
        self.s3.copy_object(Bucket=bucket, Key="k", CopySource={"Bucket": bucket, "Key": "k"},
                            MetadataDirective="REPLACE", Metadata={"b": "2"}, ContentType="text/csv")
        h = self.s3.head_object(Bucket=bucket, Key="k")
        self.assertEqual((h["Metadata"], h["ContentType"]), ({"b": "2"}, "text/csv"))
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key="k")["Body"].read(), b"data")
        self.assertError("NoSuchKey", self.s3.copy_object, Bucket=bucket, Key="x",
                         CopySource={"Bucket": bucket, "Key": "missing"}, status=404)
        # Copy between buckets, to a key with special characters.
        other = self.new_bucket()
        self.s3.copy_object(Bucket=other, Key="dést/ü n+i", CopySource={"Bucket": bucket, "Key": "k"})
        self.assertEqual(self.s3.get_object(Bucket=other, Key="dést/ü n+i")["Body"].read(), b"data")

    # -- listing ------------------------------------------------------------------

    UNICODE_KEYS = ["a", "a b", "a+b", "b/1", "b/2", "b/c/3", "Zebra", "z", "~tilde", "é/x", "é/y", "ß", "日本/語",
                    "日本/本", "😀", "😀/smile", "ﬀ-ligature", "x\u00a0nbsp", "tab\there", "percent%20"]

    def test_paginated_listing_unicode_utf8_order(self):
        bucket = self.new_bucket()
        for k in self.UNICODE_KEYS:
            self.s3.put_object(Bucket=bucket, Key=k, Body=k.encode())
        want_all = utf8_sorted(self.UNICODE_KEYS)

        pages = list(self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket,
                                                                       PaginationConfig={"PageSize": 3}))
        self.assertGreater(len(pages), 5)
        keys = [c["Key"] for p in pages for c in p.get("Contents", [])]
        self.assertEqual(keys, want_all)
        for p in pages[:-1]:
            self.assertTrue(p["IsTruncated"])
            self.assertLessEqual(p["KeyCount"], 3)
        self.assertFalse(pages[-1]["IsTruncated"])

        pages = list(self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Delimiter="/",
                                                                       PaginationConfig={"PageSize": 2}))
        keys = [c["Key"] for p in pages for c in p.get("Contents", [])]
        prefixes = [c["Prefix"] for p in pages for c in p.get("CommonPrefixes", [])]
        self.assertEqual(keys, [k for k in want_all if "/" not in k])
        self.assertEqual(prefixes, utf8_sorted({k.split("/")[0] + "/" for k in self.UNICODE_KEYS if "/" in k}))
        # Each key or prefix appears once; a page holds at most PageSize entries.
        for p in pages:
            self.assertLessEqual(len(p.get("Contents", [])) + len(p.get("CommonPrefixes", [])), 2)

        pages = list(self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="b/", Delimiter="/",
                                                                       PaginationConfig={"PageSize": 1}))
        self.assertEqual([c["Key"] for p in pages for c in p.get("Contents", [])], ["b/1", "b/2"])
        self.assertEqual([c["Prefix"] for p in pages for c in p.get("CommonPrefixes", [])], ["b/c/"])

        r = self.s3.list_objects_v2(Bucket=bucket, StartAfter="z", FetchOwner=True)
        self.assertEqual([c["Key"] for c in r["Contents"]], [k for k in want_all if k.encode() > b"z"])
        self.assertIn("ID", r["Contents"][0]["Owner"])
        self.assertNotIn("Owner", self.s3.list_objects_v2(Bucket=bucket, MaxKeys=1)["Contents"][0])

        # max-keys=0: nothing, and not truncated (else paginators never end), as S3 answers.
        r = self.s3.list_objects_v2(Bucket=bucket, MaxKeys=0)
        self.assertEqual((r["KeyCount"], r["IsTruncated"]), (0, False))
        self.assertNotIn("Contents", r)
        self.assertNotIn("NextContinuationToken", r)
        r = self.s3.list_objects(Bucket=bucket, MaxKeys=0)
        self.assertEqual((r["IsTruncated"], r.get("Contents")), (False, None))
        r = self.s3.list_object_versions(Bucket=bucket, MaxKeys=0)
        self.assertEqual((r["IsTruncated"], r.get("Versions")), (False, None))
        # An empty continuation token is no token: the listing starts from the beginning.
        r = self.s3.list_objects_v2(Bucket=bucket, ContinuationToken="")
        self.assertEqual([c["Key"] for c in r["Contents"]], want_all[:len(r["Contents"])])
        self.assertEqual(r["ContinuationToken"], "")
        self.assertError("InvalidArgument", self.s3.list_objects_v2, Bucket=bucket, ContinuationToken="not-a-token",
                         status=400)

    def test_list_objects_v1_marker(self):
        bucket = self.new_bucket()
        keys = [f"k{i:03d}" for i in range(10)] + ["p/1", "p/2", "q/1"]
        for k in keys:
            self.s3.put_object(Bucket=bucket, Key=k, Body=b"")
        seen, marker = [], ""
        for _ in range(10):
            r = self.s3.list_objects(Bucket=bucket, MaxKeys=4, Marker=marker)
            batch = [c["Key"] for c in r.get("Contents", [])]
            seen += batch
            if not r["IsTruncated"]:
                break
            marker = r.get("NextMarker") or batch[-1]
        self.assertEqual(seen, sorted(keys))

        r = self.s3.list_objects(Bucket=bucket, Delimiter="/", MaxKeys=11)
        self.assertTrue(r["IsTruncated"])
        self.assertEqual([c["Key"] for c in r["Contents"]], [f"k{i:03d}" for i in range(10)])
        self.assertEqual([c["Prefix"] for c in r["CommonPrefixes"]], ["p/"])
        self.assertEqual(r["NextMarker"], "p/")
        r = self.s3.list_objects(Bucket=bucket, Delimiter="/", Marker=r["NextMarker"])
        self.assertEqual([c["Prefix"] for c in r["CommonPrefixes"]], ["q/"])
        self.assertFalse(r["IsTruncated"])

        pages = list(self.s3.get_paginator("list_objects").paginate(Bucket=bucket, Delimiter="/",
                                                                    PaginationConfig={"PageSize": 3}))
        self.assertEqual([c["Prefix"] for p in pages for c in p.get("CommonPrefixes", [])], ["p/", "q/"])
        self.assertEqual(len([c for p in pages for c in p.get("Contents", [])]), 10)

    def test_encoding_type_url(self):
        bucket = self.new_bucket()
        keys = ["plain", "with space", "plus+sign", "ctrl\x01char", "ünï/cödé", "amp&eq=", "lf\nkey"]
        for k in keys:
            self.s3.put_object(Bucket=bucket, Key=k, Body=b"x")
        # Asked for explicitly, botocore leaves the keys encoded: decode them as a client would.
        for op in ("list_objects_v2", "list_objects"):
            r = getattr(self.s3, op)(Bucket=bucket, EncodingType="url")
            self.assertEqual(r.get("EncodingType"), "url")
            raw = [c["Key"] for c in r["Contents"]]
            for k in raw:
                self.assertRegex(k, r"^[\x21-\x7e]+$", f"{op}: key not URL-encoded: {k!r}")
            self.assertEqual([urllib.parse.unquote_plus(k) for k in raw], utf8_sorted(keys), op)
            r = getattr(self.s3, op)(Bucket=bucket, EncodingType="url", Delimiter="/")
            self.assertEqual([urllib.parse.unquote_plus(p["Prefix"]) for p in r["CommonPrefixes"]], ["ünï/"])
        # Without EncodingType, botocore asks for url encoding itself and decodes.
        r = self.s3.list_objects_v2(Bucket=bucket)
        self.assertEqual([c["Key"] for c in r["Contents"]], utf8_sorted(keys))
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key="ctrl\x01char")["Body"].read(), b"x")

    def test_delete_objects_quiet_and_verbose(self):
        bucket = self.new_bucket()
        for i in range(6):
            self.s3.put_object(Bucket=bucket, Key=f"d{i}", Body=b"x")
        r = self.s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": f"d{i}"} for i in range(3)],
                                                          "Quiet": True})
        self.assertNotIn("Deleted", r)
        self.assertNotIn("Errors", r)
        r = self.s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "d3"}, {"Key": "d4"}, {"Key": "nope"}]})
        self.assertEqual(sorted(d["Key"] for d in r["Deleted"]), ["d3", "d4", "nope"])
        self.assertEqual([c["Key"] for c in self.s3.list_objects_v2(Bucket=bucket)["Contents"]], ["d5"])
        # More than 1000 keys is refused as a whole.
        self.assertError("MalformedXML", self.s3.delete_objects, Bucket=bucket,
                         Delete={"Objects": [{"Key": f"x{i}"} for i in range(1001)]}, status=400)
        self.assertEqual([c["Key"] for c in self.s3.list_objects_v2(Bucket=bucket)["Contents"]], ["d5"])

    def test_unversioned_bucket_lists_null_versions_and_empties_as_tools_do(self):
        bucket = self.new_bucket()
        for key in ("a", "b/c", "b/d", "e"):
            self.s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
        r = self.s3.list_object_versions(Bucket=bucket)
        self.assertEqual([(v["Key"], v["VersionId"], v["IsLatest"], v["Size"]) for v in r["Versions"]],
                         [("a", "null", True, 1), ("b/c", "null", True, 3), ("b/d", "null", True, 3),
                          ("e", "null", True, 1)])
        self.assertNotIn("DeleteMarkers", r)
        self.assertFalse(r["IsTruncated"])
        r = self.s3.list_object_versions(Bucket=bucket, Delimiter="/")
        self.assertEqual([v["Key"] for v in r["Versions"]], ["a", "e"])
        self.assertEqual([p["Prefix"] for p in r["CommonPrefixes"]], ["b/"])
        # Pages of one, resumed from the key and version markers.
        seen, kw = [], {}
        while True:
            page = self.s3.list_object_versions(Bucket=bucket, MaxKeys=1, **kw)
            seen += [v["Key"] for v in page["Versions"]]
            if not page["IsTruncated"]:
                break
            self.assertEqual(page["NextVersionIdMarker"], "null")
            kw = {"KeyMarker": page["NextKeyMarker"], "VersionIdMarker": page["NextVersionIdMarker"]}
        self.assertEqual(seen, ["a", "b/c", "b/d", "e"])
        self.assertError("InvalidArgument", self.s3.list_object_versions, Bucket=bucket, VersionIdMarker="null",
                         status=400)
        # An object's one version is null; no other id names anything.
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key="a", VersionId="null")["Body"].read(), b"a")
        self.assertError("InvalidArgument", self.s3.get_object, Bucket=bucket, Key="a", VersionId="3HL4kqtJlcpXro",
                         status=400)
        self.assertError("InvalidArgument", self.s3.delete_object, Bucket=bucket, Key="a", VersionId="3HL4kqtJlcpXro",
                         status=400)
        # A copy source's version too: null is the object, another id names nothing (and copies nothing).
        self.s3.copy_object(Bucket=bucket, Key="a-copy", CopySource={"Bucket": bucket, "Key": "a", "VersionId": "null"})
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key="a-copy")["Body"].read(), b"a")
        self.assertError("InvalidArgument", self.s3.copy_object, Bucket=bucket, Key="a-bad",
                         CopySource={"Bucket": bucket, "Key": "a", "VersionId": "3HL4kqtJlcpXro"}, status=400)
        self.assertError("404", self.s3.head_object, Bucket=bucket, Key="a-bad", status=404)  # HEAD: no body
        self.s3.delete_object(Bucket=bucket, Key="a-copy")
        r = self.s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "a", "VersionId": "3HL4kqtJlcpXro"}]})
        self.assertEqual([(e["Key"], e["Code"]) for e in r["Errors"]], [("a", "InvalidArgument")])
        self.assertEqual(self.s3.head_object(Bucket=bucket, Key="a")["ContentLength"], 1, "a bad version deletes nothing")
        # How SDK helpers and terraform's force_destroy empty a bucket: every version, then the bucket.
        boto3.resource("s3", endpoint_url=self.daemon.endpoint, region_name="us-east-1",
                       aws_access_key_id=self.daemon.access_key, aws_secret_access_key=self.daemon.secret_key
                       ).Bucket(bucket).object_versions.delete()
        self.assertEqual(self.s3.list_object_versions(Bucket=bucket).get("Versions", []), [])
        self.s3.delete_bucket(Bucket=bucket)

    def test_delete_objects_keys_with_whitespace_and_control_characters(self):
        """Keys are data in DeleteObjects, and every response naming them stays well-formed XML 1.0."""
        bucket = self.new_bucket("keys")
        keys = [" ", "_ ", '"', "&", "<", " lead and trail ", "x\x01y", "x\x1fy", "x\x7fy", "x\ty", "x\ny", "x\ry",
                "x\r\ny"]
        for k in keys:
            self.s3.put_object(Bucket=bucket, Key=k, Body=b"x")

        def in_xml(key):
            """The key as XML 1.0 can carry it: control characters but TAB, LF and CR become U+FFFD."""
            return "".join("\ufffd" if ord(c) < 0x20 and c not in "\t\n\r" else c for c in key)

        self.assertEqual([c["Key"] for c in self.s3.list_objects_v2(Bucket=bucket)["Contents"]], utf8_sorted(keys))
        # Without encoding-type (botocore sets it for the listings above, other clients may not).
        uploads = {k: self.s3.create_multipart_upload(Bucket=bucket, Key=k)["UploadId"] for k in keys[-7:]}
        for query in ({"list-type": "2"}, {}, {"list-type": "2", "delimiter": "y", "prefix": "x\x01"}, {"uploads": ""}):
            status, _, body = self.daemon.signed("GET", f"/{bucket}", query=query)
            self.assertEqual(status, 200, body[:300])
            listed = harness.xml_findall_text(body, "Key")  # expat, as botocore: fails on a malformed document
            expected = keys[-7:] if "uploads" in query else [] if "delimiter" in query else keys
            self.assertEqual(sorted(listed), sorted(in_xml(k) for k in expected), query)
        listed = self.s3.list_multipart_uploads(Bucket=bucket)["Uploads"]
        self.assertEqual(sorted((u["Key"], u["UploadId"]) for u in listed),
                         sorted((in_xml(k), u) for k, u in uploads.items()))
        for k, upload_id in uploads.items():
            self.s3.abort_multipart_upload(Bucket=bucket, Key=k, UploadId=upload_id)

        r = self.s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys]})
        self.assertNotIn("Errors", r)
        self.assertEqual(sorted(d["Key"] for d in r["Deleted"]), sorted(in_xml(k) for k in keys))
        self.assertEqual(self.s3.list_objects_v2(Bucket=bucket)["KeyCount"], 0)
        self.s3.delete_bucket(Bucket=bucket)

    def test_acl_grants_are_kept_or_refused_as_s3_does(self):
        """Grants to canonical users and groups are kept; email grants and unknown ids or groups are refused."""
        bucket = self.new_bucket("grants", acls=True)
        self.s3.put_object(Bucket=bucket, Key="o", Body=b"x")
        acl = self.s3.get_bucket_acl(Bucket=bucket)
        owner = acl["Owner"]
        owner_grant = {"Grantee": {"Type": "CanonicalUser", "ID": owner["ID"]}, "Permission": "FULL_CONTROL"}
        refused = [
            ({"Grantee": {"Type": "CanonicalUser", "ID": "otherid"}, "Permission": "FULL_CONTROL"}, "InvalidArgument"),
            ({"Grantee": {"Type": "AmazonCustomerByEmail", "EmailAddress": "bob@example.com"}, "Permission": "READ"},
             "UnresolvableGrantByEmailAddress"),
            ({"Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/Nobody"},
              "Permission": "READ"}, "InvalidArgument"),
        ]
        for grant, code in refused:
            policy = {"Owner": owner, "Grants": [owner_grant, grant]}
            self.assertError(code, self.s3.put_bucket_acl, Bucket=bucket, AccessControlPolicy=policy, status=400)
            self.assertError(code, self.s3.put_object_acl, Bucket=bucket, Key="o", AccessControlPolicy=policy,
                             status=400)
        for header in ("GrantFullControl", "GrantRead", "GrantWriteACP"):
            self.assertError("InvalidArgument", self.s3.put_bucket_acl, Bucket=bucket, status=400,
                             **{header: "id=otherid"})
            self.assertError("UnresolvableGrantByEmailAddress", self.s3.put_object, Bucket=bucket, Key="p",
                             Body=b"x", status=400, **{header: "emailAddress=bob@example.com"})
        # Nothing refused took effect; other grants are kept as given.
        self.assertEqual(self.s3.get_bucket_acl(Bucket=bucket)["Grants"], acl["Grants"])
        authenticated = {"Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"},
                         "Permission": "READ"}
        self.s3.put_bucket_acl(Bucket=bucket, AccessControlPolicy={"Owner": owner,
                                                                   "Grants": [owner_grant, authenticated]})
        self.assertIn(authenticated, self.s3.get_bucket_acl(Bucket=bucket)["Grants"])
        self.s3.put_bucket_acl(Bucket=bucket, AccessControlPolicy={"Owner": owner, "Grants": [owner_grant]})
        self.assertEqual(self.s3.get_bucket_acl(Bucket=bucket)["Grants"], acl["Grants"])

    # -- access ---------------------------------------------------------------------

    def test_cross_account_access_denied(self):
        bucket = self.new_bucket("private", acls=True)
        self.s3.put_object(Bucket=bucket, Key="secret.txt", Body=b"root's data")
        acct = self.daemon.create_account("other-" + os.urandom(3).hex())
        other = self.daemon.boto3_client(acct["AccessKeyId"], acct["SecretAccessKey"])
        self.assertNotIn(bucket, [b["Name"] for b in other.list_buckets()["Buckets"]])
        self.assertError("403", other.head_bucket, Bucket=bucket, status=403)
        self.assertError("403", other.head_object, Bucket=bucket, Key="secret.txt", status=403)
        self.assertError("AccessDenied", other.get_object, Bucket=bucket, Key="secret.txt", status=403)
        self.assertError("AccessDenied", other.list_objects_v2, Bucket=bucket, status=403)
        self.assertError("AccessDenied", other.put_object, Bucket=bucket, Key="intruder", Body=b"x", status=403)
        self.assertError("AccessDenied", other.delete_object, Bucket=bucket, Key="secret.txt", status=403)
        self.assertError("AccessDenied", other.delete_bucket, Bucket=bucket, status=403)
        self.assertError("AccessDenied", other.put_bucket_acl, Bucket=bucket, ACL="public-read", status=403)
        self.assertError("AccessDenied", other.copy_object, Bucket=bucket, Key="copy",
                         CopySource={"Bucket": bucket, "Key": "secret.txt"}, status=403)
        self.assertError("BucketAlreadyExists", other.create_bucket, Bucket=bucket, status=409)
        # The other account's own bucket cannot receive a copy of root's object either.
        theirs = random_bucket("theirs")
        other.create_bucket(Bucket=theirs)
        self.assertError("AccessDenied", other.copy_object, Bucket=theirs, Key="stolen",
                         CopySource={"Bucket": bucket, "Key": "secret.txt"}, status=403)
        self.assertError("AccessDenied", self.s3.list_objects_v2, Bucket=theirs, status=403)
        # Nothing changed.
        self.assertEqual([c["Key"] for c in self.s3.list_objects_v2(Bucket=bucket)["Contents"]], ["secret.txt"])
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key="secret.txt")["Body"].read(), b"root's data")
        self.assertEqual(other.list_objects_v2(Bucket=theirs)["KeyCount"], 0)

        # A public-read bucket: the other account may list it, as S3's bucket READ grant
        # allows, but neither read its objects (their own ACLs decide) nor write.
        self.s3.put_bucket_acl(Bucket=bucket, ACL="public-read")
        self.assertEqual([c["Key"] for c in other.list_objects_v2(Bucket=bucket)["Contents"]], ["secret.txt"])
        self.assertError("AccessDenied", other.get_object, Bucket=bucket, Key="secret.txt", status=403)
        self.assertError("AccessDenied", other.put_object, Bucket=bucket, Key="intruder", Body=b"x", status=403)

    def test_public_read_anonymous(self):
        bucket = self.new_bucket("pub", acls=True)
        self.s3.put_object(Bucket=bucket, Key="hello.txt", Body=b"hello world", ContentType="text/plain")
        anon = self.daemon.boto3_client(anonymous=True)
        url = f"{self.daemon.endpoint}/{bucket}/hello.txt"

        self.assertError("AccessDenied", anon.get_object, Bucket=bucket, Key="hello.txt", status=403)
        status, _, body = harness.http_request("GET", url)
        self.assertEqual(status, 403)
        self.assertEqual(harness.error_code(body), "AccessDenied")

        # An object ACL makes that one object public.
        self.s3.put_object(Bucket=bucket, Key="one.txt", Body=b"just me", ACL="public-read")
        self.assertEqual(anon.get_object(Bucket=bucket, Key="one.txt")["Body"].read(), b"just me")
        self.assertError("AccessDenied", anon.get_object, Bucket=bucket, Key="hello.txt", status=403)
        grants = self.s3.get_object_acl(Bucket=bucket, Key="one.txt")["Grants"]
        self.assertIn("READ", [g["Permission"] for g in grants
                               if g["Grantee"].get("URI") == "http://acs.amazonaws.com/groups/global/AllUsers"])
        self.s3.put_object_acl(Bucket=bucket, Key="one.txt", ACL="private")
        self.assertError("AccessDenied", anon.get_object, Bucket=bucket, Key="one.txt", status=403)

        # A public-read bucket: anyone may list it (S3's bucket READ grant), not read its
        # objects; an object is read through its own ACL (or a bucket policy). Nobody
        # anonymous may write.
        self.s3.put_bucket_acl(Bucket=bucket, ACL="public-read")
        self.assertEqual(sorted(c["Key"] for c in anon.list_objects_v2(Bucket=bucket)["Contents"]),
                         ["hello.txt", "one.txt"])
        self.assertError("AccessDenied", anon.get_object, Bucket=bucket, Key="hello.txt", status=403)
        self.s3.put_object_acl(Bucket=bucket, Key="hello.txt", ACL="public-read")
        self.assertEqual(anon.get_object(Bucket=bucket, Key="hello.txt")["Body"].read(), b"hello world")
        with urllib.request.urlopen(url, timeout=30) as resp:
            self.assertEqual(resp.status, 200)
            self.assertEqual(resp.read(), b"hello world")
            self.assertEqual(resp.headers["Content-Type"], "text/plain")
        self.assertError("AccessDenied", anon.put_object, Bucket=bucket, Key="graffiti", Body=b"x", status=403)
        self.assertError("AccessDenied", anon.delete_object, Bucket=bucket, Key="hello.txt", status=403)
        # DeleteObjects answers for each key, as S3 does: a refused one is an AccessDenied entry.
        result = anon.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "hello.txt"}]})
        self.assertEqual([(e["Key"], e["Code"]) for e in result.get("Errors", [])], [("hello.txt", "AccessDenied")])
        self.assertNotIn("Deleted", result)
        self.assertError("AccessDenied", anon.put_bucket_acl, Bucket=bucket, ACL="private", status=403)
        self.assertError("AccessDenied", anon.get_bucket_acl, Bucket=bucket, status=403)
        self.assertError("AccessDenied", anon.create_multipart_upload, Bucket=bucket, Key="m", status=403)
        self.assertError("AccessDenied", anon.copy_object, Bucket=bucket, Key="copy",
                         CopySource={"Bucket": bucket, "Key": "hello.txt"}, status=403)
        status, _, body = harness.http_request("DELETE", url)
        self.assertEqual(status, 403)
        self.assertEqual(harness.error_code(body), "AccessDenied")
        self.assertEqual(sorted(c["Key"] for c in self.s3.list_objects_v2(Bucket=bucket)["Contents"]),
                         ["hello.txt", "one.txt"])

    def test_presigned_urls(self):
        bucket = self.new_bucket("presign")
        signer = self.daemon.boto3_client(signature_version="s3v4")
        url = signer.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "up load.txt"},
                                            ExpiresIn=120)
        self.assertIn("X-Amz-Signature=", url)
        req = urllib.request.Request(url, data=b"uploaded with a presigned URL", method="PUT")
        with urllib.request.urlopen(req, timeout=30) as resp:
            self.assertEqual(resp.status, 200)
        url = signer.generate_presigned_url("get_object", ExpiresIn=120, Params={
            "Bucket": bucket, "Key": "up load.txt", "ResponseContentDisposition": 'attachment; filename="x.txt"',
            "ResponseContentType": "text/plain"})
        with urllib.request.urlopen(url, timeout=30) as resp:
            self.assertEqual(resp.read(), b"uploaded with a presigned URL")
            self.assertEqual(resp.headers["Content-Disposition"], 'attachment; filename="x.txt"')
            self.assertEqual(resp.headers["Content-Type"], "text/plain")
        # boto3 1.26's default presigning is the legacy SigV2 query form; those links must work too.
        legacy = self.s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "up load.txt"},
                                                ExpiresIn=120)
        with urllib.request.urlopen(legacy, timeout=30) as resp:
            self.assertEqual(resp.read(), b"uploaded with a presigned URL")
        # A presigned GET does not authorize a PUT to the same URL.
        status, _, body = harness.http_request("PUT", url, body=b"overwrite")
        self.assertEqual((status, harness.error_code(body)), (403, "SignatureDoesNotMatch"))
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key="up load.txt")["Body"].read(),
                         b"uploaded with a presigned URL")

    def test_virtual_hosted_addressing(self):
        bucket = self.new_bucket("vhost")
        self.s3.put_object(Bucket=bucket, Key="path-style.txt", Body=b"via path")
        with localhost_subdomains_resolve():
            for endpoint in (f"http://localhost:{self.daemon.port}", f"http://s3.localhost:{self.daemon.port}"):
                vs3 = self.daemon.boto3_client(endpoint=endpoint, s3={"addressing_style": "virtual"})
                seen_hosts = []
                vs3.meta.events.register("before-send.s3", lambda request, **kw: seen_hosts.append(
                    urllib.parse.urlsplit(request.url).hostname))
                vs3.put_object(Bucket=bucket, Key="virtual.txt", Body=b"via virtual host")
                self.assertEqual(vs3.get_object(Bucket=bucket, Key="path-style.txt")["Body"].read(), b"via path")
                keys = [c["Key"] for c in vs3.list_objects_v2(Bucket=bucket)["Contents"]]
                self.assertEqual(keys, ["path-style.txt", "virtual.txt"])
                host = urllib.parse.urlsplit(endpoint).hostname
                self.assertEqual(set(seen_hosts), {f"{bucket}.{host}"})
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key="virtual.txt")["Body"].read(), b"via virtual host")

        # The same through a raw signed request with only a Host header.
        status, _, body = harness.signed_request(self.daemon.endpoint, "GET", "/virtual.txt",
                                                 host=f"{bucket}.localhost:{self.daemon.port}",
                                                 access_key=self.daemon.access_key, secret_key=self.daemon.secret_key)
        self.assertEqual((status, body), (200, b"via virtual host"))


if __name__ == "__main__":
    harness.main()
