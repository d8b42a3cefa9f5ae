#!/usr/bin/env python3
"""S3 tagging with boto3 and awscli: object tags (per version, on PUT, copy and multipart), bucket tags, InvalidTag."""

import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import s3_fixture  # noqa: E402
from s3_fixture import S3TestCase  # noqa: E402

s3_fixture.require_boto3()


def tagset(d):
    return [{"Key": k, "Value": v} for k, v in d.items()]


class TaggingTest(S3TestCase):
    bucket_prefix = "tag"

    def tags(self, bucket, key, **kw):
        return {t["Key"]: t["Value"] for t in self.s3.get_object_tagging(Bucket=bucket, Key=key, **kw)["TagSet"]}

    def test_object_tags_put_get_delete_and_count(self):
        bucket = self.new_bucket()
        self.s3.put_object(Bucket=bucket, Key="k", Body=b"x", Tagging="project=annex&stage=test%20run")
        self.assertEqual(self.tags(bucket, "k"), {"project": "annex", "stage": "test run"})
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key="k")["TagCount"], 2)
        self.assertEqual(self.s3.head_object(Bucket=bucket, Key="k")["ResponseMetadata"]["HTTPHeaders"]
                         ["x-amz-tagging-count"], "2")
        self.s3.put_object_tagging(Bucket=bucket, Key="k", Tagging={"TagSet": tagset({"only": "one", "e": ""})})
        self.assertEqual(self.tags(bucket, "k"), {"only": "one", "e": ""})
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key="k")["Body"].read(), b"x", "tags keep the data")
        self.s3.delete_object_tagging(Bucket=bucket, Key="k")
        self.assertEqual(self.tags(bucket, "k"), {})
        self.assertNotIn("TagCount", self.s3.get_object(Bucket=bucket, Key="k"))
        self.assertError("NoSuchKey", self.s3.get_object_tagging, Bucket=bucket, Key="none", status=404)
        self.assertError("NoSuchKey", self.s3.put_object_tagging, Bucket=bucket, Key="none",
                         Tagging={"TagSet": []}, status=404)

    def test_invalid_tags_are_refused_and_change_nothing(self):
        bucket = self.new_bucket()
        self.s3.put_object(Bucket=bucket, Key="k", Body=b"x", Tagging="a=1")
        cases = {
            "Object tags cannot be greater than 10": {f"k{i}": "v" for i in range(11)},
            "The TagKey you have provided is too long, max 128": {"k" * 129: "v"},
            "The TagValue you have provided is too long, max 256": {"k": "v" * 257},
            "Your TagKey cannot be prefixed with aws:": {"aws:x": "v"},
            "The TagValue you have provided is invalid": {"k": "semi;colon"},
        }
        for message, tags in cases.items():
            err = self.assertError("InvalidTag", self.s3.put_object_tagging, Bucket=bucket, Key="k",
                                   Tagging={"TagSet": tagset(tags)}, status=400)
            self.assertEqual(err["Error"]["Message"], message)
        err = self.assertError("InvalidTag", self.s3.put_object_tagging, Bucket=bucket, Key="k",
                               Tagging={"TagSet": [{"Key": "d", "Value": "1"}, {"Key": "d", "Value": "2"}]})
        self.assertEqual(err["Error"]["Message"], "Cannot provide multiple Tags with the same key")
        # What boto3 would not send: an empty key, a tag without a value.
        status, _, body = self.daemon.signed("PUT", f"/{bucket}/k", query={"tagging": ""}, body=(
            b"<Tagging><TagSet><Tag><Key></Key><Value>v</Value></Tag></TagSet></Tagging>"))
        self.assertEqual((status, harness.error_code(body)), (400, "InvalidTag"), body)
        self.assertIn(b"The TagKey you have provided is invalid", body)
        status, _, body = self.daemon.signed("PUT", f"/{bucket}/k", query={"tagging": ""}, body=(
            b"<Tagging><TagSet><Tag><Key>k</Key></Tag></TagSet></Tagging>"))
        self.assertEqual((status, harness.error_code(body)), (400, "MalformedXML"), body)
        self.assertError("InvalidTag", self.s3.put_object, Bucket=bucket, Key="k2", Body=b"x",
                         Tagging="&".join(f"k{i}=v" for i in range(11)), status=400)
        self.assertEqual(self.tags(bucket, "k"), {"a": "1"})
        self.assertError("NoSuchKey", self.s3.get_object, Bucket=bucket, Key="k2", status=404)
        # 128-character keys and 256-character values of any script are fine.
        ok = {"ключ" * 32: "значение" * 32, "a b+c-d=e.f_g:h/i@j": ""}
        self.s3.put_object_tagging(Bucket=bucket, Key="k", Tagging={"TagSet": tagset(ok)})
        self.assertEqual(self.tags(bucket, "k"), ok)

    def test_copy_directive_and_multipart(self):
        bucket = self.new_bucket()
        self.s3.put_object(Bucket=bucket, Key="src", Body=b"data", Tagging="from=src")
        self.s3.copy_object(Bucket=bucket, Key="copied", CopySource={"Bucket": bucket, "Key": "src"})
        self.assertEqual(self.tags(bucket, "copied"), {"from": "src"})
        self.s3.copy_object(Bucket=bucket, Key="replaced", CopySource={"Bucket": bucket, "Key": "src"},
                            TaggingDirective="REPLACE", Tagging="new=tag")
        self.assertEqual(self.tags(bucket, "replaced"), {"new": "tag"})
        self.assertError("InvalidArgument", self.s3.copy_object, Bucket=bucket, Key="x",
                         CopySource={"Bucket": bucket, "Key": "src"}, TaggingDirective="MERGE")
        up = self.s3.create_multipart_upload(Bucket=bucket, Key="mp", Tagging="via=multipart")["UploadId"]
        part = self.s3.upload_part(Bucket=bucket, Key="mp", UploadId=up, PartNumber=1, Body=b"p")
        self.s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=up, MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
        self.assertEqual(self.tags(bucket, "mp"), {"via": "multipart"})

    def test_tags_belong_to_one_version(self):
        bucket = self.new_bucket()
        self.s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        v1 = self.s3.put_object(Bucket=bucket, Key="k", Body=b"1", Tagging="v=1")["VersionId"]
        v2 = self.s3.put_object(Bucket=bucket, Key="k", Body=b"2")["VersionId"]
        self.assertEqual(self.tags(bucket, "k"), {})
        self.assertEqual(self.tags(bucket, "k", VersionId=v1), {"v": "1"})
        r = self.s3.put_object_tagging(Bucket=bucket, Key="k", VersionId=v1, Tagging={"TagSet": tagset({"v": "one"})})
        self.assertEqual(r["VersionId"], v1)
        self.assertEqual(self.tags(bucket, "k", VersionId=v1), {"v": "one"})
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key="k", VersionId=v1)["Body"].read(), b"1")
        self.assertEqual(self.s3.get_object_tagging(Bucket=bucket, Key="k")["VersionId"], v2)
        marker = self.s3.delete_object(Bucket=bucket, Key="k")["VersionId"]
        self.assertError("NoSuchKey", self.s3.get_object_tagging, Bucket=bucket, Key="k", status=404)
        self.assertError("MethodNotAllowed", self.s3.get_object_tagging, Bucket=bucket, Key="k", VersionId=marker,
                         status=405)

    def test_bucket_tags(self):
        bucket = self.new_bucket()
        self.assertError("NoSuchTagSet", self.s3.get_bucket_tagging, Bucket=bucket, status=404)
        self.s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": tagset({"cost-center": "42", "team": "edge"})})
        got = {t["Key"]: t["Value"] for t in self.s3.get_bucket_tagging(Bucket=bucket)["TagSet"]}
        self.assertEqual(got, {"cost-center": "42", "team": "edge"})
        self.assertError("InvalidTag", self.s3.put_bucket_tagging, Bucket=bucket,
                         Tagging={"TagSet": tagset({f"k{i}": "v" for i in range(51)})}, status=400)
        self.s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": tagset({f"k{i}": "v" for i in range(50)})})
        self.s3.delete_bucket_tagging(Bucket=bucket)
        self.assertError("NoSuchTagSet", self.s3.get_bucket_tagging, Bucket=bucket, status=404)
        status, _, body = self.daemon.signed("PUT", f"/{bucket}", query={"tagging": ""}, body=b"<Tagging/>")
        self.assertEqual((status, harness.error_code(body)), (400, "MalformedXML"), body)

    def test_awscli(self):
        if not harness.have("/usr/bin/aws"):
            self.skipTest("awscli (/usr/bin/aws) is not installed")
        bucket = self.new_bucket()
        self.s3.put_object(Bucket=bucket, Key="k", Body=b"x")
        env = self.daemon.client_env()

        def aws(*args):
            out = subprocess.run(["aws", "--endpoint-url", self.daemon.endpoint, "s3api", *args], env=env,
                                 capture_output=True, text=True, timeout=60)
            self.assertEqual(out.returncode, 0, out.stderr)
            return json.loads(out.stdout) if out.stdout.strip() else {}

        aws("put-object-tagging", "--bucket", bucket, "--key", "k", "--tagging", "TagSet=[{Key=env,Value=prod}]")
        self.assertEqual(aws("get-object-tagging", "--bucket", bucket, "--key", "k")["TagSet"],
                         [{"Key": "env", "Value": "prod"}])
        aws("put-bucket-tagging", "--bucket", bucket, "--tagging", "TagSet=[{Key=owner,Value=ops}]")
        self.assertEqual(aws("get-bucket-tagging", "--bucket", bucket)["TagSet"], [{"Key": "owner", "Value": "ops"}])


if __name__ == "__main__":
    harness.main()
