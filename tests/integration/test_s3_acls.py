#!/usr/bin/env python3
"""S3 ACLs as S3 has them: every canned ACL and what it grants, explicit grants (x-amz-grant-* headers and
AccessControlPolicy bodies), bucket ownership controls (new buckets are BucketOwnerEnforced: ACLs disabled),
and Block Public Access over ACLs — with boto3, awscli and raw anonymous requests."""

import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import s3_fixture  # noqa: E402
from harness import random_bucket  # noqa: E402
from s3_fixture import S3TestCase  # noqa: E402

s3_fixture.require_boto3()

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTHENTICATED = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
LOG_DELIVERY = "http://acs.amazonaws.com/groups/s3/LogDelivery"


def grants_of(acl):
    """{(grantee id or URI, permission)} of a Get*Acl answer."""
    return {(g["Grantee"].get("ID") or g["Grantee"].get("URI"), g["Permission"]) for g in acl["Grants"]}


class AclTest(S3TestCase):
    bucket_prefix = "acl"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        acct = cls.daemon.create_account("acl-other-" + os.urandom(3).hex())
        cls.other = cls.daemon.boto3_client(acct["AccessKeyId"], acct["SecretAccessKey"])
        cls.other_creds = (acct["AccessKeyId"], acct["SecretAccessKey"])
        probe = random_bucket("probe")
        cls.other.create_bucket(Bucket=probe)
        cls.other_id = cls.other.get_bucket_acl(Bucket=probe)["Owner"]["ID"]
        cls.anon = cls.daemon.boto3_client(anonymous=True)

    @classmethod
    def new_bucket(cls, ownership="ObjectWriter", **kw):
        if ownership:
            kw["ObjectOwnership"] = ownership
        return super().new_bucket(**kw)

    def owner_id(self, bucket):
        return self.s3.get_bucket_acl(Bucket=bucket)["Owner"]["ID"]

    def anonymous(self, method, bucket, key="", body=b""):
        return harness.http_request(method, f"{self.daemon.endpoint}/{bucket}/{key}", body=body)

    # -- canned ACLs -------------------------------------------------------------------

    def test_every_canned_acl_renders_its_grants(self):
        bucket = self.new_bucket()
        owner = self.owner_id(bucket)
        expected = {
            "private": set(),
            "public-read": {(ALL_USERS, "READ")},
            "public-read-write": {(ALL_USERS, "READ"), (ALL_USERS, "WRITE")},
            "authenticated-read": {(AUTHENTICATED, "READ")},
            "log-delivery-write": {(LOG_DELIVERY, "WRITE"), (LOG_DELIVERY, "READ_ACP")},
            "aws-exec-read": {("6aa5a366c34c1cbe25dc49211496e913e0351eb0e8c37aa3477e40942ec6b97c", "READ")},
        }
        for canned, extra in expected.items():
            with self.subTest(canned=canned):
                self.s3.put_bucket_acl(Bucket=bucket, ACL=canned)
                self.assertEqual(grants_of(self.s3.get_bucket_acl(Bucket=bucket)), {(owner, "FULL_CONTROL")} | extra)
        for canned in ("private", "public-read", "public-read-write", "authenticated-read", "aws-exec-read",
                       "bucket-owner-read", "bucket-owner-full-control"):
            with self.subTest(object_acl=canned):
                self.s3.put_object(Bucket=bucket, Key="o", Body=b"x", ACL=canned)
                got = grants_of(self.s3.get_object_acl(Bucket=bucket, Key="o"))
                self.assertEqual(got, {(owner, "FULL_CONTROL")} | expected.get(canned, set()))
        self.assertError("InvalidArgument", self.s3.put_bucket_acl, Bucket=bucket, ACL="everyone", status=400)

    def test_public_read_write_lets_anyone_write_objects(self):
        bucket = self.new_bucket(ACL="public-read-write")
        status, _, body = self.anonymous("PUT", bucket, "drop.txt", b"anonymous data")
        self.assertEqual(status, 200, body)
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key="drop.txt")["Body"].read(), b"anonymous data")
        self.assertEqual([c["Key"] for c in self.anon.list_objects_v2(Bucket=bucket)["Contents"]], ["drop.txt"])
        # Writing the bucket reads no object, and the objects' ACLs are private.
        self.assertEqual(self.anonymous("GET", bucket, "drop.txt")[0], 403)
        self.assertEqual(self.anonymous("DELETE", bucket, "drop.txt")[0], 204)
        self.assertError("AccessDenied", self.anon.get_bucket_acl, Bucket=bucket, status=403)
        self.assertError("AccessDenied", self.anon.put_bucket_acl, Bucket=bucket, ACL="private", status=403)
        self.s3.put_bucket_acl(Bucket=bucket, ACL="private")
        self.assertEqual(self.anonymous("PUT", bucket, "again.txt", b"x")[0], 403)

    def test_authenticated_read_is_for_any_signed_caller(self):
        bucket = self.new_bucket(ACL="authenticated-read")
        self.s3.put_object(Bucket=bucket, Key="doc", Body=b"for members", ACL="authenticated-read")
        self.assertEqual(self.other.get_object(Bucket=bucket, Key="doc")["Body"].read(), b"for members")
        self.assertEqual(self.other.list_objects_v2(Bucket=bucket)["KeyCount"], 1)
        self.assertError("AccessDenied", self.anon.get_object, Bucket=bucket, Key="doc", status=403)
        self.assertError("AccessDenied", self.anon.list_objects_v2, Bucket=bucket, status=403)
        self.assertError("AccessDenied", self.other.put_object, Bucket=bucket, Key="x", Body=b"x", status=403)

    # -- explicit grants ---------------------------------------------------------------

    def test_grant_headers_for_another_account(self):
        bucket = self.new_bucket()
        self.s3.put_object(Bucket=bucket, Key="shared", Body=b"for you", GrantRead=f'id="{self.other_id}"')
        self.assertEqual(self.other.get_object(Bucket=bucket, Key="shared")["Body"].read(), b"for you")
        self.assertError("AccessDenied", self.other.get_object_acl, Bucket=bucket, Key="shared", status=403)
        self.s3.put_object_acl(Bucket=bucket, Key="shared", GrantReadACP=f'id="{self.other_id}"',
                               GrantRead=f'id="{self.other_id}", uri="{ALL_USERS}"')
        self.assertIn((self.other_id, "READ_ACP"), grants_of(self.other.get_object_acl(Bucket=bucket, Key="shared")))
        self.assertEqual(self.anonymous("GET", bucket, "shared")[2], b"for you")

        self.s3.put_bucket_acl(Bucket=bucket, GrantWrite=f'id="{self.other_id}"',
                               GrantFullControl=f'id="{self.owner_id(bucket)}"')
        self.other.put_object(Bucket=bucket, Key="from-other", Body=b"hi")
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key="from-other")["Body"].read(), b"hi")
        self.assertError("AccessDenied", self.other.list_objects_v2, Bucket=bucket, status=403)
        self.assertError("UnresolvableGrantByEmailAddress", self.s3.put_bucket_acl, Bucket=bucket,
                         GrantRead='emailAddress="someone@example.com"', status=400)
        self.assertError("InvalidArgument", self.s3.put_bucket_acl, Bucket=bucket, GrantRead='uri="http://x/y"',
                         status=400)
        self.assertError("InvalidRequest", self.s3.put_object, Bucket=bucket, Key="both", Body=b"x",
                         ACL="public-read", GrantRead=f'id="{self.other_id}"', status=400)

    def test_access_control_policy_bodies(self):
        bucket = self.new_bucket()
        self.s3.put_object(Bucket=bucket, Key="o", Body=b"data")
        acl = self.s3.get_object_acl(Bucket=bucket, Key="o")
        owner = acl["Owner"]
        owner_full = {"Grantee": {"Type": "CanonicalUser", "ID": owner["ID"]}, "Permission": "FULL_CONTROL"}
        grants = [owner_full,
                  {"Grantee": {"Type": "CanonicalUser", "ID": self.other_id}, "Permission": "READ"},
                  {"Grantee": {"Type": "Group", "URI": AUTHENTICATED}, "Permission": "READ_ACP"}]
        self.s3.put_object_acl(Bucket=bucket, Key="o", AccessControlPolicy={"Owner": owner, "Grants": grants})
        self.assertEqual(grants_of(self.s3.get_object_acl(Bucket=bucket, Key="o")),
                         {(owner["ID"], "FULL_CONTROL"), (self.other_id, "READ"), (AUTHENTICATED, "READ_ACP")})
        self.assertEqual(self.other.get_object(Bucket=bucket, Key="o")["Body"].read(), b"data")
        email = {"Grantee": {"Type": "AmazonCustomerByEmail", "EmailAddress": "bob@example.com"},
                 "Permission": "READ"}
        self.assertError("UnresolvableGrantByEmailAddress", self.s3.put_bucket_acl, Bucket=bucket,
                         AccessControlPolicy={"Owner": owner, "Grants": [owner_full, email]}, status=400)
        bucket_grants = [owner_full, {"Grantee": {"Type": "Group", "URI": ALL_USERS}, "Permission": "READ"}]
        self.s3.put_bucket_acl(Bucket=bucket, AccessControlPolicy={"Owner": owner, "Grants": bucket_grants})
        self.assertEqual(self.anon.list_objects_v2(Bucket=bucket)["KeyCount"], 1)

    # -- ownership controls ------------------------------------------------------------

    def test_new_buckets_disable_acls(self):
        bucket = self.new_bucket(ownership=None)
        rules = self.s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"]
        self.assertEqual(rules, [{"ObjectOwnership": "BucketOwnerEnforced"}])
        err = self.assertError("AccessControlListNotSupported", self.s3.put_bucket_acl, Bucket=bucket,
                               ACL="public-read", status=400)
        self.assertEqual(err["Error"]["Message"], "The bucket does not allow ACLs")
        self.assertError("AccessControlListNotSupported", self.s3.put_object, Bucket=bucket, Key="o", Body=b"x",
                         ACL="public-read", status=400)
        self.assertError("AccessControlListNotSupported", self.s3.put_object, Bucket=bucket, Key="o", Body=b"x",
                         GrantRead=f'id="{self.other_id}"', status=400)
        self.s3.put_object(Bucket=bucket, Key="o", Body=b"x", ACL="bucket-owner-full-control")
        self.s3.put_object(Bucket=bucket, Key="p", Body=b"x")
        self.assertError("AccessControlListNotSupported", self.s3.put_object_acl, Bucket=bucket, Key="o",
                         ACL="public-read", status=400)
        owner = self.owner_id(bucket)
        self.assertEqual(grants_of(self.s3.get_bucket_acl(Bucket=bucket)), {(owner, "FULL_CONTROL")})
        self.assertEqual(grants_of(self.s3.get_object_acl(Bucket=bucket, Key="o")), {(owner, "FULL_CONTROL")})
        # A public ACL at CreateBucket needs ACLs enabled, as on S3.
        self.assertError("InvalidBucketAclWithObjectOwnership", self.s3.create_bucket, Bucket=random_bucket("pub"),
                         ACL="public-read", status=400)
        self.assertError("InvalidBucketAclWithObjectOwnership", self.s3.create_bucket, Bucket=random_bucket("pub"),
                         ACL="public-read", ObjectOwnership="BucketOwnerEnforced", status=400)

    def test_ownership_controls_round_trip(self):
        bucket = self.new_bucket(ownership="BucketOwnerPreferred")
        get = self.s3.get_bucket_ownership_controls
        self.assertEqual(get(Bucket=bucket)["OwnershipControls"]["Rules"],
                         [{"ObjectOwnership": "BucketOwnerPreferred"}])
        self.s3.put_bucket_acl(Bucket=bucket, ACL="public-read")
        self.assertEqual(self.anon.list_objects_v2(Bucket=bucket)["KeyCount"], 0)
        enforced = {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
        self.assertError("InvalidBucketAclWithObjectOwnership", self.s3.put_bucket_ownership_controls, Bucket=bucket,
                         OwnershipControls=enforced, status=400)
        self.s3.put_bucket_acl(Bucket=bucket, ACL="private")
        self.s3.put_object(Bucket=bucket, Key="pub", Body=b"x", ACL="public-read")
        self.s3.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls=enforced)
        # ACLs disabled: the object's public-read grants nothing any more.
        self.assertEqual(self.anonymous("GET", bucket, "pub")[0], 403)
        self.s3.delete_bucket_ownership_controls(Bucket=bucket)
        self.assertError("OwnershipControlsNotFoundError", get, Bucket=bucket, status=404)
        self.assertEqual(self.anonymous("GET", bucket, "pub")[0], 200)  # no controls: ObjectWriter
        self.assertError("AccessDenied", self.other.get_bucket_ownership_controls, Bucket=bucket, status=403)

    # -- Block Public Access -----------------------------------------------------------

    def test_block_public_access_over_every_public_grant(self):
        bucket = self.new_bucket()
        self.s3.put_object(Bucket=bucket, Key="pub", Body=b"x", ACL="public-read")
        self.s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={"BlockPublicAcls": True})
        for canned in ("public-read", "public-read-write", "authenticated-read"):
            self.assertError("AccessDenied", self.s3.put_bucket_acl, Bucket=bucket, ACL=canned, status=403)
            self.assertError("AccessDenied", self.s3.put_object, Bucket=bucket, Key="o", Body=b"x", ACL=canned)
        self.assertError("AccessDenied", self.s3.put_object_acl, Bucket=bucket, Key="pub",
                         GrantRead=f'uri="{AUTHENTICATED}"', status=403)
        self.s3.put_object_acl(Bucket=bucket, Key="pub", GrantRead=f'id="{self.other_id}"')  # not public
        self.s3.put_bucket_acl(Bucket=bucket, ACL="aws-exec-read")
        self.s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={"BlockPublicAcls": False})
        self.s3.put_object(Bucket=bucket, Key="pub2", Body=b"x", ACL="public-read")
        self.assertEqual(self.anonymous("GET", bucket, "pub2")[0], 200)
        self.s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={"IgnorePublicAcls": True})
        self.assertEqual(self.anonymous("GET", bucket, "pub2")[0], 403)
        self.s3.delete_public_access_block(Bucket=bucket)
        self.assertEqual(self.anonymous("GET", bucket, "pub2")[0], 200)

    # -- awscli ------------------------------------------------------------------------

    def aws(self, *args):
        p = subprocess.run([harness.AWS_CLI, "--endpoint-url", self.daemon.endpoint, *args],
                           env=self.daemon.client_env(), capture_output=True, text=True, timeout=120)
        return p

    def test_awscli(self):
        if not harness.have(harness.AWS_CLI):
            self.skipTest("awscli not installed")
        bucket = random_bucket("cli")
        p = self.aws("s3api", "create-bucket", "--bucket", bucket, "--acl", "public-read")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("InvalidBucketAclWithObjectOwnership", p.stderr)
        p = self.aws("s3api", "create-bucket", "--bucket", bucket, "--object-ownership", "ObjectWriter",
                     "--acl", "public-read-write")
        self.assertEqual(p.returncode, 0, p.stderr)
        p = self.aws("s3api", "get-bucket-acl", "--bucket", bucket)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(("http://acs.amazonaws.com/groups/global/AllUsers", "WRITE"),
                      grants_of(json.loads(p.stdout)))
        p = self.aws("s3api", "put-object", "--bucket", bucket, "--key", "k", "--grant-read",
                     f"id={self.other_id}")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.other.get_object(Bucket=bucket, Key="k")["Body"].read(), b"")
        p = self.aws("s3api", "get-bucket-ownership-controls", "--bucket", bucket)
        self.assertEqual(json.loads(p.stdout)["OwnershipControls"]["Rules"], [{"ObjectOwnership": "ObjectWriter"}])


if __name__ == "__main__":
    harness.main()
