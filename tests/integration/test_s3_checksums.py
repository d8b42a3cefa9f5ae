#!/usr/bin/python3
"""S3 checksums with a current boto3 (default CRC checksums, CRC64NVME,
COMPOSITE and FULL_OBJECT multipart uploads, GetObjectAttributes).

Debian's python3-boto3 predates all of this (CRC64NVME and x-amz-checksum-type
came with botocore 1.36), so when the interpreter running this file has an
older botocore it re-runs itself with the first Python that has a newer one:
$ANNEX_NEW_BOTO3_PYTHON, else ~/.pyenv/versions/*/bin/python3. Without one the
file exits 77 (ctest: skipped).

Without the AWS CRT (botocore[crt], not in Debian at a recent enough version)
boto3 computes CRC32, SHA1 and SHA256 itself but not CRC32C or CRC64NVME: this
file then computes those in Python and passes them as ChecksumCRC32C /
ChecksumCRC64NVME, the SDK's way of sending a precomputed checksum. The
aws-chunked trailer form of CRC64NVME is covered by the JavaScript SDK test
(test_js_sdk.py), whose SDK computes it in JavaScript.
"""

import glob
import os
import subprocess
import sys

MIN_BOTOCORE = (1, 36)


def _botocore_is_new_enough():
    try:
        import botocore
    except ImportError:
        return False
    return tuple(int(x) for x in botocore.__version__.split(".")[:2]) >= MIN_BOTOCORE


def _run_with_newer_boto3():
    """Re-executes this file with a Python whose botocore is new enough, or exits 77."""
    probe = ("import sys, botocore; "
             f"sys.exit(0 if tuple(int(x) for x in botocore.__version__.split('.')[:2]) >= {MIN_BOTOCORE!r} else 1)")
    candidates = [os.environ.get("ANNEX_NEW_BOTO3_PYTHON")]
    candidates += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/*/bin/python3")))
    if os.environ.get("ANNEX_CHECKSUMS_REEXEC"):
        candidates = []  # already re-run once: never loop
    for python in candidates:
        if not python or not os.access(python, os.X_OK):
            continue
        if subprocess.run([python, "-c", probe], capture_output=True).returncode == 0:
            os.environ["ANNEX_CHECKSUMS_REEXEC"] = "1"
            sys.stdout.flush()
            os.execv(python, [python, os.path.abspath(__file__)] + sys.argv[1:])
    print(f"skipped: no Python with botocore >= {'.'.join(map(str, MIN_BOTOCORE))} (set ANNEX_NEW_BOTO3_PYTHON "
          f"or install boto3 in a pyenv Python); {sys.executable} has "
          f"{'an older' if _has_botocore() else 'no'} botocore", file=sys.stderr)
    sys.exit(77)


def _has_botocore():
    try:
        import botocore  # noqa: F401
        return True
    except ImportError:
        return False


if __name__ == "__main__" and not _botocore_is_new_enough():
    _run_with_newer_boto3()

import base64  # noqa: E402
import hashlib  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import unittest  # noqa: E402
import zlib  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import random_bucket  # noqa: E402
from s3_fixture import S3TestCase  # noqa: E402

import boto3  # noqa: E402,F401
from boto3.s3.transfer import TransferConfig  # noqa: E402
from botocore.compat import HAS_CRT  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

MiB = 1024 * 1024


def _reflected_table(poly):
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
        table.append(c)
    return table


_CRC32C = _reflected_table(0x82F63B78)
_CRC64NVME = _reflected_table(0x9A6C9329AC4BC9B5)


def _crc(table, mask, data):
    c = mask
    for byte in data:
        c = table[(c ^ byte) & 0xFF] ^ (c >> 8)
    return c ^ mask


def checksum(algorithm, data):
    """The base64 x-amz-checksum-* value of `data`, computed here (not by the SDK)."""
    if algorithm == "CRC32":
        raw = zlib.crc32(data).to_bytes(4, "big")
    elif algorithm == "CRC32C":
        raw = _crc(_CRC32C, 0xFFFFFFFF, data).to_bytes(4, "big")
    elif algorithm == "CRC64NVME":
        raw = _crc(_CRC64NVME, 0xFFFFFFFFFFFFFFFF, data).to_bytes(8, "big")
    else:
        raw = hashlib.new(algorithm.lower(), data).digest()
    return base64.b64encode(raw).decode()


def composite(algorithm, parts):
    raw = b"".join(base64.b64decode(checksum(algorithm, p)) for p in parts)
    if algorithm in ("SHA1", "SHA256"):
        digest = hashlib.new(algorithm.lower(), raw).digest()
    else:
        digest = base64.b64decode(checksum(algorithm, raw))
    return f"{base64.b64encode(digest).decode()}-{len(parts)}"


def sdk_computes(algorithm):
    """Whether this botocore computes `algorithm` itself (CRC32C and CRC64NVME need the CRT)."""
    return algorithm in ("CRC32", "SHA1", "SHA256") or HAS_CRT


def part_checksum_args(algorithm, data):
    """UploadPart / PutObject arguments asking for `algorithm`: the SDK computes it when it can."""
    if sdk_computes(algorithm):
        return {"ChecksumAlgorithm": algorithm}
    return {f"Checksum{algorithm}": checksum(algorithm, data)}


def error_code(e):
    return e.response["Error"]["Code"]


def payload(size, seed):
    block = hashlib.sha256(seed.encode()).digest() * 64  # 2 KiB
    return (block * (size // len(block) + 1))[:size]


class S3ChecksumsTest(S3TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.bucket = cls.new_bucket(prefix="ck")
        cls.part1 = payload(5 * MiB, "one")
        cls.part2 = payload(5 * MiB, "two")
        cls.part3 = payload(300 * 1024 + 7, "three")

    def create(self, key, algorithm, checksum_type=None):
        kw = {"ChecksumAlgorithm": algorithm}
        if checksum_type:
            kw["ChecksumType"] = checksum_type
        r = self.s3.create_multipart_upload(Bucket=self.bucket, Key=key, **kw)
        self.assertEqual(r["ChecksumAlgorithm"], algorithm)
        return r

    def upload_parts(self, key, upload_id, algorithm, parts):
        done = []
        for n, data in enumerate(parts, 1):
            r = self.s3.upload_part(Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=n, Body=data,
                                    **part_checksum_args(algorithm, data))
            self.assertEqual(r[f"Checksum{algorithm}"], checksum(algorithm, data))
            done.append({"PartNumber": n, "ETag": r["ETag"], f"Checksum{algorithm}": r[f"Checksum{algorithm}"]})
        return done

    # -- single PUTs --------------------------------------------------------

    def test_default_checksum_is_crc32_full_object(self):
        data = b"the SDK adds a CRC32 by default" * 100
        r = self.s3.put_object(Bucket=self.bucket, Key="default", Body=data)
        self.assertEqual(r["ChecksumCRC32"], checksum("CRC32", data))
        self.assertEqual(r["ChecksumType"], "FULL_OBJECT")
        head = self.s3.head_object(Bucket=self.bucket, Key="default", ChecksumMode="ENABLED")
        self.assertEqual(head["ChecksumCRC32"], checksum("CRC32", data))
        self.assertEqual(head["ChecksumType"], "FULL_OBJECT")

    def test_put_object_with_crc64nvme(self):
        data = payload(200 * 1024 + 3, "crc64")
        want = checksum("CRC64NVME", data)
        r = self.s3.put_object(Bucket=self.bucket, Key="crc64", Body=data, **part_checksum_args("CRC64NVME", data))
        self.assertEqual(r["ChecksumCRC64NVME"], want)
        self.assertEqual(r["ChecksumType"], "FULL_OBJECT")
        got = self.s3.get_object(Bucket=self.bucket, Key="crc64", ChecksumMode="ENABLED")
        self.assertEqual(got["ChecksumCRC64NVME"], want)
        self.assertEqual(got["ChecksumType"], "FULL_OBJECT")
        self.assertEqual(got["Body"].read(), data)
        listed = self.s3.list_objects_v2(Bucket=self.bucket, Prefix="crc64")["Contents"][0]
        self.assertEqual(listed["ChecksumAlgorithm"], ["CRC64NVME"])
        self.assertEqual(listed["ChecksumType"], "FULL_OBJECT")
        # A wrong value stores nothing.
        self.assertError("BadDigest", self.s3.put_object, Bucket=self.bucket, Key="crc64-bad", Body=data,
                         ChecksumCRC64NVME=checksum("CRC64NVME", b"other"))
        with self.assertRaises(ClientError) as e:
            self.s3.head_object(Bucket=self.bucket, Key="crc64-bad")
        self.assertEqual(e.exception.response["ResponseMetadata"]["HTTPStatusCode"], 404)

    # -- multipart ----------------------------------------------------------

    def full_object_upload(self, key, algorithm):
        parts = [self.part1, self.part3]
        whole = b"".join(parts)
        r = self.create(key, algorithm, "FULL_OBJECT")
        self.assertEqual(r["ChecksumType"], "FULL_OBJECT")
        upload_id = r["UploadId"]
        done = self.upload_parts(key, upload_id, algorithm, parts)
        listed = self.s3.list_parts(Bucket=self.bucket, Key=key, UploadId=upload_id)
        self.assertEqual(listed["ChecksumAlgorithm"], algorithm)
        self.assertEqual(listed["ChecksumType"], "FULL_OBJECT")
        self.assertEqual([p[f"Checksum{algorithm}"] for p in listed["Parts"]], [checksum(algorithm, p) for p in parts])
        uploads = self.s3.list_multipart_uploads(Bucket=self.bucket, Prefix=key)["Uploads"]
        self.assertEqual((uploads[0]["ChecksumAlgorithm"], uploads[0]["ChecksumType"]), (algorithm, "FULL_OBJECT"))
        want = checksum(algorithm, whole)
        r = self.s3.complete_multipart_upload(
            Bucket=self.bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": done},
            ChecksumType="FULL_OBJECT", MpuObjectSize=len(whole), **{f"Checksum{algorithm}": want})
        self.assertEqual(r[f"Checksum{algorithm}"], want)  # the CRC of every byte, no "-N"
        self.assertEqual(r["ChecksumType"], "FULL_OBJECT")
        head = self.s3.head_object(Bucket=self.bucket, Key=key, ChecksumMode="ENABLED")
        self.assertEqual((head[f"Checksum{algorithm}"], head["ChecksumType"]), (want, "FULL_OBJECT"))
        self.assertEqual(self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read(), whole)

    def test_multipart_full_object_crc32c(self):
        self.full_object_upload("full-crc32c", "CRC32C")

    def test_multipart_full_object_crc64nvme(self):
        self.full_object_upload("full-crc64nvme", "CRC64NVME")

    def test_crc64nvme_defaults_to_full_object_and_parts_may_omit_checksums(self):
        # No ChecksumType: CRC64NVME's only kind. Parts sent without any
        # checksum (no SDK default) get one computed by the store.
        plain = self.daemon.boto3_client(request_checksum_calculation="when_required")
        r = self.create("crc64-default", "CRC64NVME")
        self.assertEqual(r["ChecksumType"], "FULL_OBJECT")
        done = []
        for n, data in enumerate([self.part2, self.part3], 1):
            p = plain.upload_part(Bucket=self.bucket, Key="crc64-default", UploadId=r["UploadId"], PartNumber=n,
                                  Body=data)
            done.append({"PartNumber": n, "ETag": p["ETag"]})
        c = self.s3.complete_multipart_upload(Bucket=self.bucket, Key="crc64-default", UploadId=r["UploadId"],
                                              MultipartUpload={"Parts": done})
        self.assertEqual(c["ChecksumCRC64NVME"], checksum("CRC64NVME", self.part2 + self.part3))

    def test_multipart_composite_crc32(self):
        parts = [self.part1, self.part2, self.part3]
        r = self.create("composite", "CRC32", "COMPOSITE")
        self.assertEqual(r["ChecksumType"], "COMPOSITE")
        done = self.upload_parts("composite", r["UploadId"], "CRC32", parts)
        c = self.s3.complete_multipart_upload(Bucket=self.bucket, Key="composite", UploadId=r["UploadId"],
                                              MultipartUpload={"Parts": done})
        self.assertEqual(c["ChecksumCRC32"], composite("CRC32", parts))
        self.assertEqual(c["ChecksumType"], "COMPOSITE")
        head = self.s3.head_object(Bucket=self.bucket, Key="composite", ChecksumMode="ENABLED")
        self.assertEqual((head["ChecksumCRC32"], head["ChecksumType"]), (composite("CRC32", parts), "COMPOSITE"))
        part = self.s3.head_object(Bucket=self.bucket, Key="composite", PartNumber=2, ChecksumMode="ENABLED")
        self.assertEqual(part["ChecksumCRC32"], checksum("CRC32", self.part2))

    def test_upload_fileobj_uses_composite_crc32_or_full_object_when_given_one(self):
        data = self.part1 + self.part3
        config = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB, max_concurrency=2)
        self.s3.upload_fileobj(io.BytesIO(data), self.bucket, "transfer-default", Config=config)
        head = self.s3.head_object(Bucket=self.bucket, Key="transfer-default", ChecksumMode="ENABLED")
        self.assertEqual((head["ChecksumCRC32"], head["ChecksumType"]),
                         (composite("CRC32", [self.part1, self.part3]), "COMPOSITE"))
        # A full-object checksum handed to the transfer manager makes the upload FULL_OBJECT.
        self.s3.upload_fileobj(io.BytesIO(data), self.bucket, "transfer-full", Config=config,
                               ExtraArgs={"ChecksumCRC32": checksum("CRC32", data)})
        head = self.s3.head_object(Bucket=self.bucket, Key="transfer-full", ChecksumMode="ENABLED")
        self.assertEqual((head["ChecksumCRC32"], head["ChecksumType"]), (checksum("CRC32", data), "FULL_OBJECT"))

    def test_wrong_full_object_checksum_is_refused(self):
        r = self.create("full-wrong", "CRC32C", "FULL_OBJECT")
        done = self.upload_parts("full-wrong", r["UploadId"], "CRC32C", [self.part1, self.part3])
        complete = {"Bucket": self.bucket, "Key": "full-wrong", "UploadId": r["UploadId"],
                    "MultipartUpload": {"Parts": done}}
        self.assertError("BadDigest", self.s3.complete_multipart_upload, ChecksumType="FULL_OBJECT",
                         ChecksumCRC32C=checksum("CRC32C", b"no"), status=400, **complete)
        # The type must be the upload's.
        self.assertError("BadDigest", self.s3.complete_multipart_upload, ChecksumType="COMPOSITE", **complete)
        self.assertError("InvalidRequest", self.s3.complete_multipart_upload, MpuObjectSize=12345, **complete)
        # Nothing was stored; the upload is still there to complete correctly.
        with self.assertRaises(ClientError):
            self.s3.head_object(Bucket=self.bucket, Key="full-wrong")
        whole = self.part1 + self.part3
        ok = self.s3.complete_multipart_upload(ChecksumCRC32C=checksum("CRC32C", whole), **complete)
        self.assertEqual(ok["ChecksumCRC32C"], checksum("CRC32C", whole))

    def test_checksum_type_rules(self):
        for algorithm, kind in (("CRC64NVME", "COMPOSITE"), ("SHA256", "FULL_OBJECT"), ("SHA1", "FULL_OBJECT")):
            with self.assertRaises(ClientError) as e:
                self.s3.create_multipart_upload(Bucket=self.bucket, Key="rules", ChecksumAlgorithm=algorithm,
                                                ChecksumType=kind)
            self.assertEqual(error_code(e.exception), "InvalidRequest", f"{algorithm} {kind}")
        r = self.create("rules", "SHA256")
        self.assertEqual(r["ChecksumType"], "COMPOSITE")
        # A part with another algorithm's checksum cannot make this upload's.
        self.assertError("InvalidRequest", self.s3.upload_part, Bucket=self.bucket, Key="rules", UploadId=r["UploadId"],
                         PartNumber=1, Body=b"x", ChecksumAlgorithm="CRC32")
        self.s3.abort_multipart_upload(Bucket=self.bucket, Key="rules", UploadId=r["UploadId"])

    # -- GetObjectAttributes ------------------------------------------------

    def test_operations_that_require_a_checksum_get_this_boto3s_crc32(self):
        """This botocore sends a CRC32 (not Content-MD5) where S3 requires an integrity check; annexd takes it."""
        sent = []
        self.s3.meta.events.register("before-send.s3.*", lambda request, **kw: sent.append(
            (kw["event_name"].split(".")[-1], "x-amz-checksum-crc32" in request.headers or
             "x-amz-trailer" in request.headers, "Content-MD5" in request.headers)))
        try:
            bucket = random_bucket("lockcrc")
            self.s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
            self.s3.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration={
                "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}})
            version = self.s3.put_object(Bucket=bucket, Key="k", Body=b"x", ObjectLockLegalHoldStatus="ON")["VersionId"]
            self.s3.put_object_legal_hold(Bucket=bucket, Key="k", LegalHold={"Status": "OFF"})
            self.s3.put_object_retention(Bucket=bucket, Key="k", Retention={"Mode": "GOVERNANCE",
                                                                            "RetainUntilDate": "2099-01-01T00:00:00Z"})
            self.s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [
                {"AllowedMethods": ["GET"], "AllowedOrigins": ["*"]}]})
            self.s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [
                {"ID": "r", "Filter": {}, "Status": "Enabled", "Expiration": {"Days": 30}}]})
            r = self.s3.delete_objects(Bucket=bucket, BypassGovernanceRetention=True,
                                       Delete={"Objects": [{"Key": "k", "VersionId": version}]})
            self.assertEqual([d["Key"] for d in r["Deleted"]], ["k"])
        finally:
            self.s3.meta.events.unregister("before-send.s3.*")
        for operation, crc, md5 in sent:
            if operation != "CreateBucket":
                self.assertEqual((operation, crc, md5), (operation, True, False))

    def test_get_object_attributes(self):
        parts = [self.part1, self.part2, self.part3]
        r = self.create("attrs", "SHA256", "COMPOSITE")
        done = self.upload_parts("attrs", r["UploadId"], "SHA256", parts)
        c = self.s3.complete_multipart_upload(Bucket=self.bucket, Key="attrs", UploadId=r["UploadId"],
                                              MultipartUpload={"Parts": done})
        everything = ["ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"]
        a = self.s3.get_object_attributes(Bucket=self.bucket, Key="attrs", ObjectAttributes=everything, MaxParts=2)
        self.assertEqual(a["ETag"], c["ETag"].strip('"'))
        self.assertTrue(a["ETag"].endswith("-3"))
        self.assertEqual(a["Checksum"], {"ChecksumSHA256": composite("SHA256", parts)[:-2], "ChecksumType": "COMPOSITE"})
        self.assertEqual(a["StorageClass"], "STANDARD")
        self.assertEqual(a["ObjectSize"], sum(map(len, parts)))
        self.assertIn("LastModified", a)
        op = a["ObjectParts"]
        self.assertEqual((op["TotalPartsCount"], op["MaxParts"], op["IsTruncated"], op["NextPartNumberMarker"]),
                         (3, 2, True, 2))
        self.assertEqual([(p["PartNumber"], p["Size"], p["ChecksumSHA256"]) for p in op["Parts"]],
                         [(n, len(d), checksum("SHA256", d)) for n, d in enumerate(parts[:2], 1)])
        # The next page.
        a = self.s3.get_object_attributes(Bucket=self.bucket, Key="attrs", ObjectAttributes=["ObjectParts"],
                                          MaxParts=2, PartNumberMarker=op["NextPartNumberMarker"])
        self.assertNotIn("ETag", a)
        op = a["ObjectParts"]
        self.assertEqual((op["PartNumberMarker"], op["IsTruncated"]), (2, False))
        self.assertEqual([(p["PartNumber"], p["Size"]) for p in op["Parts"]], [(3, len(self.part3))])

    def test_get_object_attributes_of_full_object_and_single_objects(self):
        self.full_object_upload("attrs-full", "CRC64NVME")
        a = self.s3.get_object_attributes(Bucket=self.bucket, Key="attrs-full",
                                          ObjectAttributes=["Checksum", "ObjectParts", "ObjectSize"])
        self.assertEqual(a["Checksum"], {"ChecksumCRC64NVME": checksum("CRC64NVME", self.part1 + self.part3),
                                         "ChecksumType": "FULL_OBJECT"})
        self.assertEqual(a["ObjectParts"]["TotalPartsCount"], 2)
        self.assertNotIn("Parts", a["ObjectParts"])  # a full-object upload's parts have no checksums of their own
        data = b"single"
        self.s3.put_object(Bucket=self.bucket, Key="attrs-one", Body=data)
        a = self.s3.get_object_attributes(Bucket=self.bucket, Key="attrs-one",
                                          ObjectAttributes=["ETag", "Checksum", "ObjectParts"])
        self.assertEqual(a["ETag"], hashlib.md5(data).hexdigest())
        self.assertEqual(a["Checksum"], {"ChecksumCRC32": checksum("CRC32", data), "ChecksumType": "FULL_OBJECT"})
        self.assertNotIn("ObjectParts", a)
        a = self.s3.get_object_attributes(Bucket=self.bucket, Key="attrs-one", VersionId="null",
                                          ObjectAttributes=["ObjectSize"])
        self.assertEqual(a["ObjectSize"], len(data))

    def test_get_object_attributes_errors(self):
        self.assertError("NoSuchKey", self.s3.get_object_attributes, Bucket=self.bucket, Key="missing",
                         ObjectAttributes=["ETag"])
        self.s3.put_object(Bucket=self.bucket, Key="attrs-err", Body=b"x")
        status, _, body = self.daemon.signed("GET", f"/{self.bucket}/attrs-err", query={"attributes": ""},
                                             headers={"x-amz-object-attributes": "Colour"})
        self.assertEqual((status, harness.error_code(body)), (400, "InvalidArgument"))
        status, _, body = self.daemon.signed("GET", f"/{self.bucket}/attrs-err", query={"attributes": ""})
        self.assertEqual((status, harness.error_code(body)), (400, "InvalidArgument"))

    def test_get_object_attributes_needs_both_permissions(self):
        # s3:GetObjectAttributes and s3:GetObject, as AWS documents: a bucket
        # policy granting everyone either alone is not enough.
        bucket = self.new_bucket(prefix="ckperm")
        self.s3.put_object(Bucket=bucket, Key="k", Body=b"v")
        anonymous = self.daemon.boto3_client(anonymous=True)

        def grant(*actions):
            self.s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": "*", "Action": list(actions), "Resource": f"arn:aws:s3:::{bucket}/*"}]}))

        for actions in (["s3:GetObject"], ["s3:GetObjectAttributes"]):
            grant(*actions)
            with self.assertRaises(ClientError) as e:
                anonymous.get_object_attributes(Bucket=bucket, Key="k", ObjectAttributes=["ObjectSize"])
            self.assertEqual(error_code(e.exception), "AccessDenied", actions)
        grant("s3:GetObject", "s3:GetObjectAttributes")
        a = anonymous.get_object_attributes(Bucket=bucket, Key="k", ObjectAttributes=["ObjectSize"])
        self.assertEqual(a["ObjectSize"], 1)


if __name__ == "__main__":
    harness.main()
