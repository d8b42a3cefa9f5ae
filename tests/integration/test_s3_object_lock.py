#!/usr/bin/env python3
"""S3 Object Lock with boto3 and awscli against a real annexd: lock-enabled buckets, default retention,
GOVERNANCE and COMPLIANCE retention, legal holds, and the deletes they refuse — DeleteObject by version id,
DeleteObjects entries, lifecycle rules — for the account root as for anyone; and a retention that ends while
annexd's wall clock is moved on (the clockshift library), after which the delete goes through."""

import datetime
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import s3_fixture  # noqa: E402
from harness import AWS_CLI, have, md5_b64, random_bucket  # noqa: E402
from s3_fixture import DAY, ClientError, LifecycleClock, S3TestCase  # noqa: E402

s3_fixture.require_boto3()

PROTECTED = "Access Denied because object protected by object lock."


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def in_days(days):
    return (utcnow() + datetime.timedelta(days=days)).replace(microsecond=0)


class LockCase(S3TestCase):
    def error(self, call, **kw):
        with self.assertRaises(ClientError) as cm:
            call(**kw)
        return cm.exception.response["Error"]["Code"], cm.exception.response["Error"].get("Message", "")

    def user(self, *actions):
        """A new IAM user of the account allowed `actions` on every bucket and object: its S3 client."""
        import boto3
        iam = boto3.session.Session().client("iam", endpoint_url=self.daemon.endpoint, region_name=harness.REGION,
                                             aws_access_key_id=self.daemon.access_key,
                                             aws_secret_access_key=self.daemon.secret_key)
        name = "lock-" + os.urandom(4).hex()
        iam.create_user(UserName=name)
        iam.put_user_policy(UserName=name, PolicyName="inline", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": "arn:aws:s3:::*"}]}))
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return self.daemon.boto3_client(key["AccessKeyId"], key["SecretAccessKey"])

    def form_upload(self, client, bucket, key, fields, body=b"form"):
        """A POST form upload made with `client`'s generate_presigned_post: (status, body text)."""
        import requests
        post = client.generate_presigned_post(bucket, key, Fields=fields, Conditions=[{k: v} for k, v in fields.items()])
        r = requests.post(post["url"], data=post["fields"], files={"file": ("f.bin", body)}, timeout=30)
        return r.status_code, r.text

    def locked_bucket(self, default=None):
        bucket = self.new_bucket(prefix="lock", ObjectLockEnabledForBucket=True)
        if default:
            self.s3.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration={
                "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": default}})
        return bucket


class ObjectLockTest(LockCase):
    def test_bucket_configuration(self):
        bucket = self.locked_bucket()
        self.assertEqual(self.s3.get_bucket_versioning(Bucket=bucket)["Status"], "Enabled")
        self.assertEqual(self.s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"],
                         {"ObjectLockEnabled": "Enabled"})
        code, _ = self.error(self.s3.put_bucket_versioning, Bucket=bucket,
                             VersioningConfiguration={"Status": "Suspended"})
        self.assertEqual(code, "InvalidBucketState")
        self.s3.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Years": 1}}})
        got = self.s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]
        self.assertEqual(got["Rule"]["DefaultRetention"], {"Mode": "GOVERNANCE", "Years": 1})
        code, _ = self.error(self.s3.put_object_lock_configuration, Bucket=bucket, ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 0}}})
        self.assertEqual(code, "InvalidArgument")

        plain = random_bucket("nolock")
        self.s3.create_bucket(Bucket=plain)
        code, _ = self.error(self.s3.get_object_lock_configuration, Bucket=plain)
        self.assertEqual(code, "ObjectLockConfigurationNotFoundError")
        self.s3.put_object(Bucket=plain, Key="k", Body=b"x")
        code, message = self.error(self.s3.put_object_retention, Bucket=plain, Key="k",
                                   Retention={"Mode": "GOVERNANCE", "RetainUntilDate": in_days(1)})
        self.assertEqual((code, message), ("InvalidRequest", "Bucket is missing Object Lock Configuration"))
        code, _ = self.error(self.s3.put_object, Bucket=plain, Key="k", Body=b"x", ObjectLockLegalHoldStatus="ON")
        self.assertEqual(code, "InvalidRequest")
        code, _ = self.error(self.s3.put_object_lock_configuration, Bucket=plain,
                             ObjectLockConfiguration={"ObjectLockEnabled": "Enabled"})
        self.assertEqual(code, "InvalidBucketState", "versioning must be enabled first")
        # A versioned bucket may turn Object Lock on, as S3 now allows.
        self.s3.put_bucket_versioning(Bucket=plain, VersioningConfiguration={"Status": "Enabled"})
        self.s3.put_object_lock_configuration(Bucket=plain, ObjectLockConfiguration={"ObjectLockEnabled": "Enabled"})
        self.s3.put_object_retention(Bucket=plain, Key="k",
                                     Retention={"Mode": "GOVERNANCE", "RetainUntilDate": in_days(1)})

    def test_default_retention_and_compliance_binds_the_root(self):
        bucket = self.locked_bucket({"Mode": "COMPLIANCE", "Days": 1})
        vid = self.s3.put_object(Bucket=bucket, Key="backup", Body=b"x")["VersionId"]
        head = self.s3.head_object(Bucket=bucket, Key="backup")
        self.assertEqual(head["ObjectLockMode"], "COMPLIANCE")
        until = head["ObjectLockRetainUntilDate"]
        self.assertAlmostEqual((until - utcnow()).total_seconds(), DAY, delta=120)
        got = self.s3.get_object_retention(Bucket=bucket, Key="backup", VersionId=vid)["Retention"]
        self.assertEqual((got["Mode"], got["RetainUntilDate"]), ("COMPLIANCE", until))
        # The root of the owning account cannot delete it, shorten it, or weaken it; not even with the bypass.
        for bypass in (False, True):
            code, message = self.error(self.s3.delete_object, Bucket=bucket, Key="backup", VersionId=vid,
                                       BypassGovernanceRetention=bypass)
            self.assertEqual((code, message), ("AccessDenied", PROTECTED))
        for retention in ({"Mode": "COMPLIANCE", "RetainUntilDate": until - datetime.timedelta(hours=1)},
                          {"Mode": "GOVERNANCE", "RetainUntilDate": in_days(30)}):
            code, _ = self.error(self.s3.put_object_retention, Bucket=bucket, Key="backup", VersionId=vid,
                                 Retention=retention, BypassGovernanceRetention=True)
            self.assertEqual(code, "AccessDenied")
        longer = in_days(3)
        self.s3.put_object_retention(Bucket=bucket, Key="backup", VersionId=vid,
                                     Retention={"Mode": "COMPLIANCE", "RetainUntilDate": longer})
        self.assertEqual(self.s3.get_object_retention(Bucket=bucket, Key="backup")["Retention"]["RetainUntilDate"],
                         longer)
        # Deleting without a version id only adds a marker; overwrites add versions.
        self.assertTrue(self.s3.delete_object(Bucket=bucket, Key="backup")["DeleteMarker"])
        self.s3.put_object(Bucket=bucket, Key="backup", Body=b"y")
        versions = self.s3.list_object_versions(Bucket=bucket)["Versions"]
        self.assertIn(vid, [v["VersionId"] for v in versions])
        # Nor does the bucket go while it holds them.
        code, _ = self.error(self.s3.delete_bucket, Bucket=bucket)
        self.assertEqual(code, "BucketNotEmpty")

    def test_governance_needs_the_bypass(self):
        bucket = self.locked_bucket()
        vid = self.s3.put_object(Bucket=bucket, Key="g", Body=b"x", ObjectLockMode="GOVERNANCE",
                                 ObjectLockRetainUntilDate=in_days(5))["VersionId"]
        got = self.s3.get_object(Bucket=bucket, Key="g")
        self.assertEqual(got["ObjectLockMode"], "GOVERNANCE")
        code, message = self.error(self.s3.delete_object, Bucket=bucket, Key="g", VersionId=vid)
        self.assertEqual((code, message), ("AccessDenied", PROTECTED))
        code, _ = self.error(self.s3.put_object_retention, Bucket=bucket, Key="g", VersionId=vid,
                             Retention={"Mode": "GOVERNANCE", "RetainUntilDate": in_days(1)})
        self.assertEqual(code, "AccessDenied", "shortening needs the bypass")
        self.s3.put_object_retention(Bucket=bucket, Key="g", VersionId=vid, BypassGovernanceRetention=True,
                                     Retention={"Mode": "GOVERNANCE", "RetainUntilDate": in_days(1)})
        # A user of the account allowed everything but s3:BypassGovernanceRetention sends the header in vain.
        account = self.daemon.create_account(random_bucket("acct"))
        root = self.daemon.boto3_client(account["AccessKeyId"], account["SecretAccessKey"])
        import boto3
        iam = boto3.session.Session().client("iam", endpoint_url=self.daemon.endpoint, region_name=harness.REGION,
                                             aws_access_key_id=account["AccessKeyId"],
                                             aws_secret_access_key=account["SecretAccessKey"])
        own = random_bucket("lockacct")
        root.create_bucket(Bucket=own, ObjectLockEnabledForBucket=True)
        v = root.put_object(Bucket=own, Key="g", Body=b"x", ObjectLockMode="GOVERNANCE",
                            ObjectLockRetainUntilDate=in_days(5))["VersionId"]
        iam.create_user(UserName="operator")
        iam.put_user_policy(UserName="operator", PolicyName="inline", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
                {"Effect": "Deny", "Action": "s3:BypassGovernanceRetention", "Resource": "*"}]}))
        key = iam.create_access_key(UserName="operator")["AccessKey"]
        user = self.daemon.boto3_client(key["AccessKeyId"], key["SecretAccessKey"])
        code, _ = self.error(user.delete_object, Bucket=own, Key="g", VersionId=v, BypassGovernanceRetention=True)
        self.assertEqual(code, "AccessDenied")
        root.delete_object(Bucket=own, Key="g", VersionId=v, BypassGovernanceRetention=True)
        # The bypass never lifts COMPLIANCE (above) nor a legal hold (below); with it GOVERNANCE goes.
        self.s3.delete_object(Bucket=bucket, Key="g", VersionId=vid, BypassGovernanceRetention=True)
        self.assertNotIn("Versions", self.s3.list_object_versions(Bucket=bucket))

    def test_legal_hold_and_delete_objects(self):
        bucket = self.locked_bucket()
        held = self.s3.put_object(Bucket=bucket, Key="held", Body=b"x", ObjectLockLegalHoldStatus="ON")["VersionId"]
        free = self.s3.put_object(Bucket=bucket, Key="free", Body=b"x")["VersionId"]
        gov = self.s3.put_object(Bucket=bucket, Key="gov", Body=b"x", ObjectLockMode="GOVERNANCE",
                                 ObjectLockRetainUntilDate=in_days(2))["VersionId"]
        self.assertEqual(self.s3.head_object(Bucket=bucket, Key="held")["ObjectLockLegalHoldStatus"], "ON")
        self.assertEqual(self.s3.get_object_legal_hold(Bucket=bucket, Key="held")["LegalHold"], {"Status": "ON"})
        code, _ = self.error(self.s3.get_object_legal_hold, Bucket=bucket, Key="free")
        self.assertEqual(code, "NoSuchObjectLockConfiguration", "no hold was ever put")
        r = self.s3.delete_objects(Bucket=bucket, BypassGovernanceRetention=True, Delete={"Objects": [
            {"Key": "held", "VersionId": held}, {"Key": "free", "VersionId": free}, {"Key": "gov", "VersionId": gov}]})
        self.assertEqual(sorted(d["Key"] for d in r["Deleted"]), ["free", "gov"])
        self.assertEqual([(e["Key"], e["Code"], e["Message"]) for e in r["Errors"]], [("held", "AccessDenied", PROTECTED)])
        r = self.s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "held", "VersionId": held}]})
        self.assertEqual(r["Errors"][0]["Code"], "AccessDenied")
        self.s3.put_object_legal_hold(Bucket=bucket, Key="held", VersionId=held, LegalHold={"Status": "OFF"})
        self.assertEqual(self.s3.get_object_legal_hold(Bucket=bucket, Key="held")["LegalHold"], {"Status": "OFF"})
        r = self.s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "held", "VersionId": held}]})
        self.assertEqual([d["Key"] for d in r["Deleted"]], ["held"])
        self.assertNotIn("Errors", r)

    def test_multipart_and_copy_carry_the_headers(self):
        bucket = self.locked_bucket({"Mode": "GOVERNANCE", "Days": 2})
        up = self.s3.create_multipart_upload(Bucket=bucket, Key="mp", ObjectLockMode="COMPLIANCE",
                                             ObjectLockRetainUntilDate=in_days(1))
        part = self.s3.upload_part(Bucket=bucket, Key="mp", UploadId=up["UploadId"], PartNumber=1, Body=b"x")
        self.s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=up["UploadId"], MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
        self.assertEqual(self.s3.head_object(Bucket=bucket, Key="mp")["ObjectLockMode"], "COMPLIANCE")
        self.s3.copy_object(Bucket=bucket, Key="copy", CopySource={"Bucket": bucket, "Key": "mp"},
                            ObjectLockLegalHoldStatus="ON")
        head = self.s3.head_object(Bucket=bucket, Key="copy")
        self.assertEqual((head["ObjectLockMode"], head["ObjectLockLegalHoldStatus"]), ("GOVERNANCE", "ON"),
                         "a copy gets the bucket's default, not the source's retention")

    def test_post_form_fields(self):
        bucket = self.locked_bucket({"Mode": "GOVERNANCE", "Days": 1})
        until = in_days(3)
        fields = {"x-amz-object-lock-mode": "COMPLIANCE",
                  "x-amz-object-lock-retain-until-date": until.strftime("%Y-%m-%dT%H:%M:%SZ"),
                  "x-amz-object-lock-legal-hold": "ON"}
        self.assertEqual(self.form_upload(self.s3, bucket, "form", fields)[0], 204)
        head = self.s3.head_object(Bucket=bucket, Key="form")
        self.assertEqual((head["ObjectLockMode"], head["ObjectLockRetainUntilDate"], head["ObjectLockLegalHoldStatus"]),
                         ("COMPLIANCE", until, "ON"), "the form's fields, not the bucket's default")
        self.assertEqual(self.s3.get_object_retention(Bucket=bucket, Key="form")["Retention"],
                         {"Mode": "COMPLIANCE", "RetainUntilDate": until})
        code, message = self.error(self.s3.delete_object, Bucket=bucket, Key="form", VersionId=head["VersionId"])
        self.assertEqual((code, message), ("AccessDenied", PROTECTED))
        # Refused as PutObject's headers are: a bad field, a bucket without Object Lock, a signer without the right.
        status, text = self.form_upload(self.s3, bucket, "bad", {"x-amz-object-lock-mode": "FOREVER",
                                                               "x-amz-object-lock-retain-until-date": "2099-01-01T00:00:00Z"})
        self.assertEqual(status, 400)
        self.assertIn("<Code>InvalidArgument</Code>", text)
        plain = random_bucket("nolock")
        self.s3.create_bucket(Bucket=plain)
        status, text = self.form_upload(self.s3, plain, "x", {"x-amz-object-lock-legal-hold": "ON"})
        self.assertEqual(status, 400)
        self.assertIn("Bucket is missing Object Lock Configuration", text)
        writer = self.user("s3:PutObject", "s3:GetObject")
        status, text = self.form_upload(writer, bucket, "denied", {"x-amz-object-lock-legal-hold": "ON"})
        self.assertEqual(status, 403)
        self.assertIn("<Code>AccessDenied</Code>", text)
        self.assertEqual(self.form_upload(writer, bucket, "allowed", {})[0], 204)
        self.assertEqual(self.s3.head_object(Bucket=bucket, Key="allowed")["ObjectLockMode"], "GOVERNANCE")

    def test_lock_headers_only_for_callers_who_may_read_them(self):
        bucket = self.locked_bucket()
        until = in_days(2)
        self.s3.put_object(Bucket=bucket, Key="locked", Body=b"x", ObjectLockMode="GOVERNANCE",
                           ObjectLockRetainUntilDate=until, ObjectLockLegalHoldStatus="ON")
        lock_fields = ("ObjectLockMode", "ObjectLockRetainUntilDate", "ObjectLockLegalHoldStatus")

        def seen(client):
            head = client.head_object(Bucket=bucket, Key="locked")
            got = client.get_object(Bucket=bucket, Key="locked")
            self.assertEqual(got["Body"].read(), b"x", "the read itself is never refused")
            self.assertEqual({k: got[k] for k in lock_fields if k in got},
                             {k: head[k] for k in lock_fields if k in head}, "GET and HEAD agree")
            return {k: head[k] for k in lock_fields if k in head}

        self.assertEqual(seen(self.s3), {"ObjectLockMode": "GOVERNANCE", "ObjectLockRetainUntilDate": until,
                                         "ObjectLockLegalHoldStatus": "ON"}, "the account root sees everything")
        self.assertEqual(seen(self.user("s3:GetObject")), {})
        self.assertEqual(seen(self.user("s3:GetObject", "s3:GetObjectRetention")),
                         {"ObjectLockMode": "GOVERNANCE", "ObjectLockRetainUntilDate": until})
        self.assertEqual(seen(self.user("s3:GetObject", "s3:GetObjectLegalHold")), {"ObjectLockLegalHoldStatus": "ON"})
        self.assertEqual(len(seen(self.user("s3:GetObject", "s3:GetObjectRetention", "s3:GetObjectLegalHold"))), 3)

    def test_integrity_check_is_required(self):
        """Content-MD5 or a checksum on the lock operations, DeleteObjects, CORS and lifecycle, and on PutObject
        with lock headers: refused without, in S3's words; boto3 sends one by itself (the calls above)."""
        import base64
        import hashlib
        import zlib
        bucket = self.locked_bucket()
        self.s3.put_object(Bucket=bucket, Key="k", Body=b"x")
        until = in_days(1).strftime("%Y-%m-%dT%H:%M:%SZ")

        def md5(body):
            return {"Content-MD5": md5_b64(body.encode())}

        def crc32(body):
            return {"x-amz-checksum-crc32": base64.b64encode(zlib.crc32(body.encode()).to_bytes(4, "big")).decode()}

        def send(method, path, query, body, headers=None):
            status, _, text = self.daemon.signed(method, path, query=query, body=body, headers=headers or {})
            return status, harness.error_code(text) if status >= 300 else "", text.decode()

        requests = [
            ("PUT", f"/{bucket}", {"object-lock": ""},
             "<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled></ObjectLockConfiguration>"),
            ("PUT", f"/{bucket}/k", {"retention": ""},
             f"<Retention><Mode>GOVERNANCE</Mode><RetainUntilDate>{until}</RetainUntilDate></Retention>"),
            ("PUT", f"/{bucket}/k", {"legal-hold": ""}, "<LegalHold><Status>OFF</Status></LegalHold>"),
            ("POST", f"/{bucket}", {"delete": ""}, "<Delete><Object><Key>gone</Key></Object></Delete>"),
            ("PUT", f"/{bucket}", {"cors": ""}, "<CORSConfiguration><CORSRule><AllowedMethod>GET</AllowedMethod>"
                                                "<AllowedOrigin>*</AllowedOrigin></CORSRule></CORSConfiguration>"),
            ("PUT", f"/{bucket}", {"lifecycle": ""}, "<LifecycleConfiguration><Rule><ID>r</ID><Filter/>"
                                                     "<Status>Enabled</Status><Expiration><Days>30</Days></Expiration>"
                                                     "</Rule></LifecycleConfiguration>"),
        ]
        for method, path, query, body in requests:
            with self.subTest(query=query):
                status, code, text = send(method, path, query, body)
                self.assertEqual((status, code), (400, "InvalidRequest"), text)
                self.assertIn("Missing required header for this request: Content-MD5", text)
                self.assertEqual(send(method, path, query, body, {"Content-MD5": md5("other")["Content-MD5"]})[:2],
                                 (400, "BadDigest"))
                self.assertEqual(send(method, path, query, body, md5(body))[0], 200)
                self.assertEqual(send(method, path, query, body, crc32(body))[0], 200)

        locked = {"x-amz-object-lock-mode": "GOVERNANCE", "x-amz-object-lock-retain-until-date": until}
        status, code, text = send("PUT", f"/{bucket}/put", None, "data", locked)
        self.assertEqual((status, code), (400, "InvalidRequest"))
        self.assertIn("Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with Object Lock "
                      "parameters", text)
        self.assertEqual(send("PUT", f"/{bucket}/put", None, "data", {**locked, **md5("data")})[0], 200)
        self.assertEqual(send("PUT", f"/{bucket}/put", None, "data", {**locked, **crc32("data")})[0], 200)
        self.assertEqual(send("PUT", f"/{bucket}/put", None, "data")[0], 200, "without lock headers none is needed")

    def test_awscli(self):
        if not have(AWS_CLI):
            self.skipTest("awscli (/usr/bin/aws) is not installed")
        env = self.daemon.client_env()

        def aws(*args, ok=True):
            out = subprocess.run([AWS_CLI, "--endpoint-url", self.daemon.endpoint, "s3api", *args], env=env,
                                 capture_output=True, text=True, timeout=60)
            if ok:
                self.assertEqual(out.returncode, 0, out.stderr)
                return json.loads(out.stdout) if out.stdout.strip() else {}
            self.assertNotEqual(out.returncode, 0)
            return out.stderr

        bucket = random_bucket("lockcli")
        aws("create-bucket", "--bucket", bucket, "--object-lock-enabled-for-bucket")
        aws("put-object-lock-configuration", "--bucket", bucket, "--object-lock-configuration",
            '{"ObjectLockEnabled":"Enabled","Rule":{"DefaultRetention":{"Mode":"GOVERNANCE","Days":1}}}')
        cfg = aws("get-object-lock-configuration", "--bucket", bucket)["ObjectLockConfiguration"]
        self.assertEqual(cfg["Rule"]["DefaultRetention"], {"Mode": "GOVERNANCE", "Days": 1})
        vid = aws("put-object", "--bucket", bucket, "--key", "f")["VersionId"]
        self.assertEqual(aws("get-object-retention", "--bucket", bucket, "--key", "f")["Retention"]["Mode"],
                         "GOVERNANCE")
        aws("put-object-legal-hold", "--bucket", bucket, "--key", "f", "--legal-hold", "Status=ON")
        self.assertIn("AccessDenied", aws("delete-object", "--bucket", bucket, "--key", "f", "--version-id", vid,
                                          "--bypass-governance-retention", ok=False))
        aws("put-object-legal-hold", "--bucket", bucket, "--key", "f", "--legal-hold", "Status=OFF")
        self.assertIn("AccessDenied", aws("delete-object", "--bucket", bucket, "--key", "f", "--version-id", vid,
                                          ok=False))
        aws("delete-object", "--bucket", bucket, "--key", "f", "--version-id", vid, "--bypass-governance-retention")


class ObjectLockClockTest(LifecycleClock, LockCase):
    """annexd's clock is moved on by days: retention runs out, lifecycle passes leave locked versions alone."""

    def test_retention_expires_then_the_delete_succeeds(self):
        bucket = self.locked_bucket()
        vid = self.s3.put_object(Bucket=bucket, Key="k", Body=b"x", ObjectLockMode="COMPLIANCE",
                                 ObjectLockRetainUntilDate=in_days(2))["VersionId"]
        code, _ = self.error(self.s3.delete_object, Bucket=bucket, Key="k", VersionId=vid)
        self.assertEqual(code, "AccessDenied")
        path, query = f"/{bucket}/k", {"versionId": vid}
        self.shift(DAY)
        try:
            status, _, body = self.daemon.signed("DELETE", path, query=query, when=utcnow() + datetime.timedelta(days=1))
            self.assertEqual(status, 403, body)  # a day on, still retained
            self.shift(3 * DAY)
            status, _, body = self.daemon.signed("DELETE", path, query=query, when=utcnow() + datetime.timedelta(days=3))
            self.assertEqual(status, 204, body)
        finally:
            self.shift(0)
        self.assertNotIn("Versions", self.s3.list_object_versions(Bucket=bucket))

    def test_lifecycle_leaves_locked_versions(self):
        bucket = self.locked_bucket()
        self.s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [
            {"ID": "old", "Status": "Enabled", "Filter": {"Prefix": ""},
             "NoncurrentVersionExpiration": {"NoncurrentDays": 1}}]})
        kept = self.s3.put_object(Bucket=bucket, Key="kept", Body=b"1", ObjectLockMode="GOVERNANCE",
                                  ObjectLockRetainUntilDate=in_days(30))["VersionId"]
        held = self.s3.put_object(Bucket=bucket, Key="held", Body=b"1", ObjectLockLegalHoldStatus="ON")["VersionId"]
        free = self.s3.put_object(Bucket=bucket, Key="free", Body=b"1")["VersionId"]
        for key in ("kept", "held", "free"):
            self.s3.put_object(Bucket=bucket, Key=key, Body=b"2")  # the first versions become noncurrent
        self.pass_at(3)
        ids = [v["VersionId"] for v in self.s3.list_object_versions(Bucket=bucket)["Versions"]]
        self.assertNotIn(free, ids, "the pass ran")
        self.assertIn(kept, ids)
        self.assertIn(held, ids)


if __name__ == "__main__":
    harness.main()
