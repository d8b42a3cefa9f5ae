#!/usr/bin/env python3
"""S3 versioning with real clients: boto3 (Debian's, and the newer one when present) and awscli s3api.

Covers PutBucketVersioning/GetBucketVersioning, version ids on every write, null versions before enabling and
while suspended, delete markers and their headers, GET/HEAD/DELETE/CopyObject/ACLs by versionId,
ListObjectVersions paging by key and version-id markers, DeleteObjects with version ids, multipart versions,
the versioned empty-then-delete pattern, and versions surviving a kill -9.
"""

import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import s3_fixture  # noqa: E402
from harness import AnnexTestCase, random_bucket  # noqa: E402
from s3_fixture import S3TestCase  # noqa: E402

s3_fixture.require_boto3()
import boto3  # noqa: E402


def headers_of(response):
    return response["ResponseMetadata"]["HTTPHeaders"]


class VersioningTest(S3TestCase):
    bucket_prefix = "ver"

    @classmethod
    def new_bucket(cls, versioned=True, **kw):
        """Versioned unless asked otherwise."""
        return super().new_bucket(versioned=versioned, **kw)

    def body(self, bucket, key, **kw):
        return self.s3.get_object(Bucket=bucket, Key=key, **kw)["Body"].read()

    def versions(self, bucket, **kw):
        r = self.s3.list_object_versions(Bucket=bucket, **kw)
        entries = [(v["Key"], v["VersionId"], v["IsLatest"], False) for v in r.get("Versions", [])]
        entries += [(m["Key"], m["VersionId"], m["IsLatest"], True) for m in r.get("DeleteMarkers", [])]
        return r, entries

    def test_configuration(self):
        bucket = self.new_bucket(versioned=False)
        self.assertNotIn("Status", self.s3.get_bucket_versioning(Bucket=bucket))
        self.s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        self.assertEqual(self.s3.get_bucket_versioning(Bucket=bucket)["Status"], "Enabled")
        self.s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
        self.assertEqual(self.s3.get_bucket_versioning(Bucket=bucket)["Status"], "Suspended")
        err = self.assertError("InvalidArgument", self.s3.put_bucket_versioning, Bucket=bucket,
                               VersioningConfiguration={"Status": "Enabled", "MFADelete": "Enabled"}, MFA="x 1",
                               status=400)
        self.assertIn("MFA", err["Error"]["Message"])
        self.assertError("MalformedXML", self.s3.put_bucket_versioning, Bucket=bucket,
                         VersioningConfiguration={"Status": "Off"}, status=400)
        self.assertEqual(self.s3.get_bucket_versioning(Bucket=bucket)["Status"], "Suspended")
        self.assertError("NoSuchBucket", self.s3.put_bucket_versioning, Bucket=random_bucket("none"),
                         VersioningConfiguration={"Status": "Enabled"}, status=404)

    def test_versions_markers_and_reads_by_id(self):
        bucket = self.new_bucket(versioned=False)
        before = self.s3.put_object(Bucket=bucket, Key="k", Body=b"before")
        self.assertNotIn("VersionId", before, "a bucket never versioned names no version")
        self.s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        v1 = self.s3.put_object(Bucket=bucket, Key="k", Body=b"one")["VersionId"]
        v2 = self.s3.put_object(Bucket=bucket, Key="k", Body=b"two" * 30000)["VersionId"]  # a data file
        self.assertNotEqual(v1, v2)
        self.assertEqual(self.body(bucket, "k"), b"two" * 30000)
        self.assertEqual(self.body(bucket, "k", VersionId=v1), b"one")
        self.assertEqual(self.body(bucket, "k", VersionId="null"), b"before")
        head = self.s3.head_object(Bucket=bucket, Key="k", VersionId=v1)
        self.assertEqual((head["VersionId"], head["ContentLength"]), (v1, 3))
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key="k")["VersionId"], v2)
        _, entries = self.versions(bucket)
        self.assertEqual(entries, [("k", v2, True, False), ("k", v1, False, False), ("k", "null", False, False)])

        # DELETE without an id: a delete marker becomes the current version.
        d = self.s3.delete_object(Bucket=bucket, Key="k")
        self.assertTrue(d["DeleteMarker"])
        marker = d["VersionId"]
        err = self.assertError("NoSuchKey", self.s3.get_object, Bucket=bucket, Key="k", status=404)
        self.assertEqual(headers_of(err)["x-amz-delete-marker"], "true")
        self.assertEqual(headers_of(err)["x-amz-version-id"], marker)
        err = self.assertError("MethodNotAllowed", self.s3.get_object, Bucket=bucket, Key="k", VersionId=marker,
                               status=405)
        self.assertEqual(headers_of(err)["x-amz-delete-marker"], "true")
        self.assertNotIn("Contents", self.s3.list_objects_v2(Bucket=bucket))
        self.assertEqual(self.body(bucket, "k", VersionId=v1), b"one", "older versions stay readable")
        _, entries = self.versions(bucket)
        self.assertEqual(sorted(entries), sorted([("k", marker, True, True), ("k", v2, False, False),
                                                  ("k", v1, False, False), ("k", "null", False, False)]))
        self.assertError("BucketNotEmpty", self.s3.delete_bucket, Bucket=bucket, status=409)

        # Removing the marker by id brings the object back; removing v2 makes v1 current.
        d = self.s3.delete_object(Bucket=bucket, Key="k", VersionId=marker)
        self.assertEqual((d["DeleteMarker"], d["VersionId"]), (True, marker))
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key="k")["VersionId"], v2)
        d = self.s3.delete_object(Bucket=bucket, Key="k", VersionId=v2)
        self.assertEqual(d["VersionId"], v2)
        self.assertNotIn("DeleteMarker", d)
        self.assertEqual(self.body(bucket, "k"), b"one")
        self.assertError("NoSuchVersion", self.s3.get_object, Bucket=bucket, Key="k", VersionId=v2, status=404)
        # Deleting a version that is gone succeeds, as in S3.
        self.s3.delete_object(Bucket=bucket, Key="k", VersionId=v2)
        self.assertError("InvalidArgument", self.s3.get_object, Bucket=bucket, Key="k", VersionId="not-an-id",
                         status=400)
        self.assertEqual([c["Key"] for c in self.s3.list_objects_v2(Bucket=bucket)["Contents"]], ["k"])

    def test_suspended_writes_replace_the_null_version(self):
        bucket = self.new_bucket()
        v1 = self.s3.put_object(Bucket=bucket, Key="k", Body=b"one")["VersionId"]
        self.s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
        r = self.s3.put_object(Bucket=bucket, Key="k", Body=b"null-1")
        self.assertEqual(r["VersionId"], "null")
        self.s3.put_object(Bucket=bucket, Key="k", Body=b"null-2")
        _, entries = self.versions(bucket)
        self.assertEqual(entries, [("k", "null", True, False), ("k", v1, False, False)])
        self.assertEqual(self.body(bucket, "k"), b"null-2")
        # Re-enabled: a new version on top; then suspended again, a null delete marker replaces the null version.
        self.s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        v3 = self.s3.put_object(Bucket=bucket, Key="k", Body=b"three")["VersionId"]
        self.s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
        d = self.s3.delete_object(Bucket=bucket, Key="k")
        self.assertEqual((d["DeleteMarker"], d["VersionId"]), (True, "null"))
        _, entries = self.versions(bucket)
        self.assertEqual(entries, [("k", v3, False, False), ("k", v1, False, False), ("k", "null", True, True)])
        self.assertError("NoSuchKey", self.s3.get_object, Bucket=bucket, Key="k", status=404)

    def test_copy_restores_an_older_version(self):
        bucket = self.new_bucket()
        v1 = self.s3.put_object(Bucket=bucket, Key="doc", Body=b"first draft")["VersionId"]
        self.s3.put_object(Bucket=bucket, Key="doc", Body=b"second draft")
        r = self.s3.copy_object(Bucket=bucket, Key="doc", CopySource={"Bucket": bucket, "Key": "doc", "VersionId": v1})
        self.assertEqual(r["CopySourceVersionId"], v1)
        self.assertNotIn(r["VersionId"], ("null", v1))
        self.assertEqual(self.body(bucket, "doc"), b"first draft")
        _, entries = self.versions(bucket)
        self.assertEqual(len(entries), 3)
        # A copy onto itself that only changes metadata is a new version too; the old one keeps its data.
        before = self.s3.get_object(Bucket=bucket, Key="doc")["VersionId"]
        self.s3.copy_object(Bucket=bucket, Key="doc", CopySource={"Bucket": bucket, "Key": "doc"},
                            MetadataDirective="REPLACE", Metadata={"state": "final"})
        self.assertEqual(self.body(bucket, "doc", VersionId=before), b"first draft")
        self.assertEqual(self.s3.head_object(Bucket=bucket, Key="doc")["Metadata"], {"state": "final"})
        marker = self.s3.delete_object(Bucket=bucket, Key="doc")["VersionId"]
        self.assertError("InvalidRequest", self.s3.copy_object, Bucket=bucket, Key="x",
                         CopySource={"Bucket": bucket, "Key": "doc", "VersionId": marker}, status=400)
        self.assertError("NoSuchKey", self.s3.copy_object, Bucket=bucket, Key="x",
                         CopySource={"Bucket": bucket, "Key": "doc"}, status=404)

    def test_upload_part_copy_names_the_source_version(self):
        bucket = self.new_bucket()
        v1 = self.s3.put_object(Bucket=bucket, Key="src", Body=b"one" * 100)["VersionId"]
        v2 = self.s3.put_object(Bucket=bucket, Key="src", Body=b"two" * 100)["VersionId"]
        up = self.s3.create_multipart_upload(Bucket=bucket, Key="dst")["UploadId"]
        # The current version, and an older one named by id: each answer says which version was copied.
        current = self.s3.upload_part_copy(Bucket=bucket, Key="dst", UploadId=up, PartNumber=1,
                                           CopySource={"Bucket": bucket, "Key": "src"})
        self.assertEqual(current["CopySourceVersionId"], v2)
        older = self.s3.upload_part_copy(Bucket=bucket, Key="dst", UploadId=up, PartNumber=1,
                                         CopySource={"Bucket": bucket, "Key": "src", "VersionId": v1},
                                         CopySourceRange="bytes=0-5")
        self.assertEqual(older["CopySourceVersionId"], v1)
        self.s3.complete_multipart_upload(Bucket=bucket, Key="dst", UploadId=up, MultipartUpload={"Parts": [
            {"PartNumber": 1, "ETag": older["CopyPartResult"]["ETag"]}]})
        self.assertEqual(self.body(bucket, "dst"), b"oneone")
        # A source in a bucket never versioned has no version to name, as in S3.
        plain = self.new_bucket(versioned=False)
        self.s3.put_object(Bucket=plain, Key="src", Body=b"x")
        up = self.s3.create_multipart_upload(Bucket=plain, Key="dst")["UploadId"]
        r = self.s3.upload_part_copy(Bucket=plain, Key="dst", UploadId=up, PartNumber=1,
                                     CopySource={"Bucket": plain, "Key": "src"})
        self.assertNotIn("CopySourceVersionId", r)
        self.s3.abort_multipart_upload(Bucket=plain, Key="dst", UploadId=up)

    def test_multipart_acl_and_delete_objects_by_version(self):
        bucket = self.new_bucket(acls=True)
        v1 = self.s3.put_object(Bucket=bucket, Key="big", Body=b"small")["VersionId"]
        up = self.s3.create_multipart_upload(Bucket=bucket, Key="big")["UploadId"]
        part = self.s3.upload_part(Bucket=bucket, Key="big", UploadId=up, PartNumber=1, Body=b"p" * 1000)
        done = self.s3.complete_multipart_upload(Bucket=bucket, Key="big", UploadId=up, MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
        v2 = done["VersionId"]
        self.assertNotEqual(v1, v2)
        self.assertEqual(self.body(bucket, "big", VersionId=v1), b"small")
        self.assertEqual(len(self.body(bucket, "big")), 1000)
        # ACLs belong to one version.
        self.s3.put_object_acl(Bucket=bucket, Key="big", VersionId=v1, ACL="public-read")
        grants = self.s3.get_object_acl(Bucket=bucket, Key="big", VersionId=v1)["Grants"]
        self.assertEqual(len(grants), 2)
        self.assertEqual(len(self.s3.get_object_acl(Bucket=bucket, Key="big")["Grants"]), 1)
        self.assertEqual(self.body(bucket, "big", VersionId=v1), b"small", "an ACL change keeps the data")
        # DeleteObjects: one version by id, one key without (a marker).
        self.s3.put_object(Bucket=bucket, Key="other", Body=b"o")
        r = self.s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "big", "VersionId": v1},
                                                                      {"Key": "other"}]})
        deleted = {d["Key"]: d for d in r["Deleted"]}
        self.assertEqual(deleted["big"]["VersionId"], v1)
        self.assertNotIn("DeleteMarker", deleted["big"])
        self.assertTrue(deleted["other"]["DeleteMarker"])
        marker = deleted["other"]["DeleteMarkerVersionId"]
        r = self.s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "other", "VersionId": marker}]})
        self.assertEqual((r["Deleted"][0]["DeleteMarker"], r["Deleted"][0]["DeleteMarkerVersionId"]), (True, marker))
        self.assertEqual(self.body(bucket, "other"), b"o")
        _, entries = self.versions(bucket)
        self.assertEqual(sorted(entries), sorted([("big", v2, True, False), ("other", entries[1][1], True, False)]))

    def test_paging_by_key_and_version_markers(self):
        bucket = self.new_bucket()
        expected = []
        for key in ("a", "b/1", "b/2", "c"):
            ids = [self.s3.put_object(Bucket=bucket, Key=key, Body=f"{key}{i}".encode())["VersionId"]
                   for i in range(3)]
            expected += [(key, vid) for vid in reversed(ids)]
        marker = self.s3.delete_object(Bucket=bucket, Key="c")["VersionId"]
        expected.insert(expected.index(("c", expected[-3][1])), ("c", marker))
        r, entries = self.versions(bucket)
        self.assertEqual(sorted((k, v) for k, v, _, _ in entries), sorted(expected))
        for page_size in (1, 2, 5):
            seen, kw = [], {}
            while True:
                r, entries = self.versions(bucket, MaxKeys=page_size, **kw)
                self.assertLessEqual(len(entries), page_size)
                page = [(v["Key"], v["VersionId"]) for v in r.get("Versions", [])] + \
                       [(m["Key"], m["VersionId"]) for m in r.get("DeleteMarkers", [])]
                seen += page
                if not r["IsTruncated"]:
                    break
                kw = {"KeyMarker": r["NextKeyMarker"], "VersionIdMarker": r["NextVersionIdMarker"]}
            self.assertEqual(sorted(seen), sorted(expected), f"pages of {page_size}")
            self.assertEqual(len(seen), len(expected), f"no entry twice in pages of {page_size}")
        r, _ = self.versions(bucket, Delimiter="/")
        self.assertEqual([p["Prefix"] for p in r["CommonPrefixes"]], ["b/"])
        self.assertEqual(sorted({v["Key"] for v in r["Versions"]}), ["a", "c"])
        # The paginator, as tools use it.
        pages = self.s3.get_paginator("list_object_versions").paginate(Bucket=bucket, PaginationConfig={"PageSize": 2})
        total = sum(len(p.get("Versions", [])) + len(p.get("DeleteMarkers", [])) for p in pages)
        self.assertEqual(total, len(expected))

    def test_versioned_bucket_is_emptied_and_deleted_as_tools_do(self):
        bucket = self.new_bucket()
        for i in range(5):
            self.s3.put_object(Bucket=bucket, Key=f"k{i % 2}", Body=b"x" * (i * 40000))
        self.s3.delete_object(Bucket=bucket, Key="k0")
        self.assertError("BucketNotEmpty", self.s3.delete_bucket, Bucket=bucket, status=409)
        boto3.resource("s3", endpoint_url=self.daemon.endpoint, region_name="us-east-1",
                       aws_access_key_id=self.daemon.access_key, aws_secret_access_key=self.daemon.secret_key
                       ).Bucket(bucket).object_versions.delete()
        _, entries = self.versions(bucket)
        self.assertEqual(entries, [])
        self.s3.delete_bucket(Bucket=bucket)

    def test_awscli_s3api(self):
        if not harness.have("/usr/bin/aws"):
            self.skipTest("awscli (/usr/bin/aws) is not installed")
        bucket = self.new_bucket(versioned=False)
        env = self.daemon.client_env()

        def aws(*args):
            out = subprocess.run(["aws", "--endpoint-url", self.daemon.endpoint, "s3api", *args], env=env,
                                 capture_output=True, text=True, timeout=60)
            self.assertEqual(out.returncode, 0, out.stderr)
            return json.loads(out.stdout) if out.stdout.strip() else {}

        aws("put-bucket-versioning", "--bucket", bucket, "--versioning-configuration", "Status=Enabled")
        self.assertEqual(aws("get-bucket-versioning", "--bucket", bucket)["Status"], "Enabled")
        with open(os.path.join(self.daemon.workdir, "f"), "wb") as f:
            f.write(b"hello")
        v1 = aws("put-object", "--bucket", bucket, "--key", "f", "--body", f.name)["VersionId"]
        marker = aws("delete-object", "--bucket", bucket, "--key", "f")
        self.assertTrue(marker["DeleteMarker"])
        listed = aws("list-object-versions", "--bucket", bucket)
        self.assertEqual([v["VersionId"] for v in listed["Versions"]], [v1])
        self.assertEqual([m["VersionId"] for m in listed["DeleteMarkers"]], [marker["VersionId"]])
        out = os.path.join(self.daemon.workdir, "out")
        aws("get-object", "--bucket", bucket, "--key", "f", "--version-id", v1, out)
        with open(out, "rb") as f:
            self.assertEqual(f.read(), b"hello")


class VersioningCrashTest(AnnexTestCase):
    """Versions are durable once acknowledged: a kill -9 loses none and leaves none half-made."""

    def test_versions_survive_kill(self):
        s3 = self.daemon.boto3_client()
        bucket = random_bucket("vcrash")
        s3.create_bucket(Bucket=bucket)
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        acked = {}
        for i in range(12):
            body = (b"%d" % i) * (10 if i % 2 else 50000)
            acked[s3.put_object(Bucket=bucket, Key=f"k{i % 3}", Body=body)["VersionId"]] = (f"k{i % 3}", body)
        marker = s3.delete_object(Bucket=bucket, Key="k0")["VersionId"]
        self.daemon.kill()
        self.daemon.start()
        s3 = self.daemon.boto3_client()
        self.assertEqual(s3.get_bucket_versioning(Bucket=bucket)["Status"], "Enabled")
        listed = s3.list_object_versions(Bucket=bucket)
        self.assertEqual({v["VersionId"] for v in listed["Versions"]}, set(acked))
        self.assertEqual([m["VersionId"] for m in listed["DeleteMarkers"]], [marker])
        for vid, (key, body) in acked.items():
            self.assertEqual(s3.get_object(Bucket=bucket, Key=key, VersionId=vid)["Body"].read(), body)
        # The stored totals, recounted at startup, hold every version and no marker.
        self.assertIn("annex_objectstore_objects 12\n", self.daemon.metrics())


if __name__ == "__main__":
    harness.main()
