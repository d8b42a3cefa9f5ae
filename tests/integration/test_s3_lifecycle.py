#!/usr/bin/env python3
"""S3 lifecycle rules with boto3 and awscli, applied by the appliance's scheduler while annexd's wall clock is moved
on by days (the clockshift library): expiry by prefix, noncurrent versions, lone delete markers, incomplete
multipart uploads, and x-amz-expiration on PUT/HEAD."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import s3_fixture  # noqa: E402
from harness import random_bucket  # noqa: E402
from s3_fixture import ClientError, LifecycleClock, S3TestCase  # noqa: E402

s3_fixture.require_boto3()


class LifecycleConfigurationTest(S3TestCase):
    def test_put_get_delete_and_refusals(self):
        bucket = self.new_bucket(prefix="lc")
        self.assertError("NoSuchLifecycleConfiguration", self.s3.get_bucket_lifecycle_configuration, Bucket=bucket)
        rules = [{"ID": "logs", "Status": "Enabled", "Filter": {"Prefix": "logs/"}, "Expiration": {"Days": 7}},
                 {"ID": "old", "Status": "Enabled", "Filter": {"And": {"Prefix": "data/", "Tags": [
                     {"Key": "tier", "Value": "scratch"}], "ObjectSizeGreaterThan": 1024}},
                  "NoncurrentVersionExpiration": {"NoncurrentDays": 30, "NewerNoncurrentVersions": 2}},
                 {"ID": "uploads", "Status": "Disabled", "Filter": {"Prefix": ""},
                  "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 3}}]
        self.s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": rules})
        got = self.s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
        self.assertEqual([r["ID"] for r in got], ["logs", "old", "uploads"])
        self.assertEqual(got[0]["Expiration"], {"Days": 7})
        self.assertEqual(got[1]["Filter"]["And"]["Tags"], [{"Key": "tier", "Value": "scratch"}])
        self.assertEqual(got[1]["NoncurrentVersionExpiration"], {"NoncurrentDays": 30, "NewerNoncurrentVersions": 2})
        self.assertEqual(got[2]["Status"], "Disabled")
        # PutObject and HeadObject say when a matching object will expire.
        put = self.s3.put_object(Bucket=bucket, Key="logs/a", Body=b"x")
        self.assertRegex(put["Expiration"], r'^expiry-date="[A-Z][a-z]{2}, .* 00:00:00 GMT", rule-id="logs"$')
        self.assertEqual(self.s3.head_object(Bucket=bucket, Key="logs/a")["Expiration"], put["Expiration"])
        self.assertNotIn("Expiration", self.s3.put_object(Bucket=bucket, Key="keep/a", Body=b"x"))
        for bad, code in (
                ({"ID": "t", "Status": "Enabled", "Filter": {"Prefix": ""},
                  "Transitions": [{"Days": 30, "StorageClass": "GLACIER"}]}, "InvalidStorageClass"),
                ({"ID": "d", "Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"Days": 0}},
                 "InvalidArgument")):
            self.assertError(code, self.s3.put_bucket_lifecycle_configuration, Bucket=bucket,
                             LifecycleConfiguration={"Rules": [bad]})
        self.assertEqual(len(self.s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]), 3,
                         "a refused configuration changes nothing")
        self.s3.delete_bucket_lifecycle(Bucket=bucket)
        with self.assertRaises(ClientError):
            self.s3.get_bucket_lifecycle_configuration(Bucket=bucket)


class LifecycleScheduleTest(LifecycleClock, S3TestCase):
    """annexd's clock is moved on by days; its midnight lifecycle pass applies the rules."""

    def test_rules_applied_by_the_scheduler(self):
        s3 = self.daemon.boto3_client()
        plain, versioned = random_bucket("lcp"), random_bucket("lcv")
        for b in (plain, versioned):
            s3.create_bucket(Bucket=b)
        s3.put_bucket_versioning(Bucket=versioned, VersioningConfiguration={"Status": "Enabled"})
        s3.put_bucket_lifecycle_configuration(Bucket=plain, LifecycleConfiguration={"Rules": [
            {"ID": "logs", "Status": "Enabled", "Filter": {"Prefix": "logs/"}, "Expiration": {"Days": 1}},
            {"ID": "uploads", "Status": "Enabled", "Filter": {"Prefix": ""},
             "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}}]})
        s3.put_bucket_lifecycle_configuration(Bucket=versioned, LifecycleConfiguration={"Rules": [
            {"ID": "old", "Status": "Enabled", "Filter": {"Prefix": ""},
             "NoncurrentVersionExpiration": {"NoncurrentDays": 1}},
            {"ID": "markers", "Status": "Enabled", "Filter": {"Prefix": ""},
             "Expiration": {"ExpiredObjectDeleteMarker": True}}]})
        for key in ("logs/1", "logs/2", "keep/1"):
            s3.put_object(Bucket=plain, Key=key, Body=b"x")
        s3.create_multipart_upload(Bucket=plain, Key="logs/unfinished")
        s3.put_object(Bucket=versioned, Key="doc", Body=b"v1")
        v2 = s3.put_object(Bucket=versioned, Key="doc", Body=b"v2")["VersionId"]
        s3.put_object(Bucket=versioned, Key="gone", Body=b"g")
        s3.delete_object(Bucket=versioned, Key="gone")

        self.pass_at(3)
        self.assertEqual([o["Key"] for o in s3.list_objects_v2(Bucket=plain)["Contents"]], ["keep/1"])
        self.assertNotIn("Uploads", s3.list_multipart_uploads(Bucket=plain))
        r = s3.list_object_versions(Bucket=versioned)
        self.assertEqual([(v["Key"], v["VersionId"]) for v in r["Versions"]], [("doc", v2)])
        self.assertEqual([m["Key"] for m in r.get("DeleteMarkers", [])], ["gone"], "a marker goes on a later pass")
        self.pass_at(5)
        r = s3.list_object_versions(Bucket=versioned)
        self.assertNotIn("DeleteMarkers", r)
        self.assertEqual(s3.get_object(Bucket=versioned, Key="doc")["Body"].read(), b"v2")


if __name__ == "__main__":
    harness.main()
