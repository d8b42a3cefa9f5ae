#!/usr/bin/python3
"""S3 bucket policies and Block Public Access against a real annexd, through awscli and boto3.

Put/Get/DeleteBucketPolicy and GetBucketPolicyStatus with S3's documents and
errors; who may do what as S3 decides it — the owner's users by their
identity policies or the bucket policy, other accounts by both, anonymous
callers by a policy for "*", an explicit Deny over every Allow — and the
Block Public Access settings; a public-read bucket ACL lists, it does not
make objects readable.
"""

import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import AWS_CLI, REGION, AnnexTestCase, have, random_bucket  # noqa: E402

try:
    import boto3
    from botocore.config import Config
    from botocore.exceptions import ClientError
    HAVE_BOTO3 = True
except ImportError:  # pragma: no cover - reported as a skip
    HAVE_BOTO3 = False


def document(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(principal, action, resource, effect="Allow", condition=None):
    s = {"Effect": effect, "Principal": principal, "Action": action, "Resource": resource}
    if condition:
        s["Condition"] = condition
    return s


def unique(prefix):
    return prefix + os.urandom(3).hex()


class Account:
    """A fresh account: its id, and boto3 clients as its root or as one of its users."""

    def __init__(self, daemon, name):
        created = daemon.create_account(unique(name + "-"))
        self.daemon = daemon
        self.id = created["AccountId"]
        self.key, self.secret = created["AccessKeyId"], created["SecretAccessKey"]
        self.s3 = daemon.boto3_client(self.key, self.secret)
        self.iam = self.client("iam", self.key, self.secret)

    def client(self, service, key, secret):
        return boto3.session.Session().client(
            service, endpoint_url=self.daemon.endpoint, region_name=REGION, aws_access_key_id=key,
            aws_secret_access_key=secret, config=Config(retries={"max_attempts": 1, "mode": "standard"}))

    def user(self, name, inline=None):
        """A new user of the account (with an inline identity policy when given): its ARN and S3 client."""
        name = unique(name + "-")
        self.iam.create_user(UserName=name)
        if inline:
            self.iam.put_user_policy(UserName=name, PolicyName="inline", PolicyDocument=document(*inline))
        key = self.iam.create_access_key(UserName=name)["AccessKey"]
        return f"arn:aws:iam::{self.id}:user/{name}", self.daemon.boto3_client(key["AccessKeyId"],
                                                                              key["SecretAccessKey"])


class PolicyTestCase(AnnexTestCase):
    def error(self, call, **kw):
        with self.assertRaises(ClientError) as e:
            call(**kw)
        return e.exception.response["Error"]["Code"]

    def denied(self, call, **kw):
        self.assertEqual(self.error(call, **kw), "AccessDenied")


@unittest.skipUnless(have(AWS_CLI), f"awscli not installed at {AWS_CLI}")
class BucketPolicyAwsCliTest(PolicyTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.daemon.client_env()

    def aws(self, *args, check=True):
        p = subprocess.run([AWS_CLI, "--endpoint-url", self.daemon.endpoint, "--output", "json", "s3api", *args],
                           env=self.env, capture_output=True, text=True, timeout=120)
        if check and p.returncode != 0:
            self.fail(f"`aws s3api {' '.join(args)}` exited {p.returncode}\n{p.stdout}{p.stderr}")
        return p

    def json(self, *args):
        out = self.aws(*args).stdout
        return json.loads(out) if out.strip() else {}

    def test_put_get_delete_round_trip(self):
        bucket = random_bucket("cli-pol")
        self.aws("create-bucket", "--bucket", bucket)
        self.assertIn("NoSuchBucketPolicy", self.aws("get-bucket-policy", "--bucket", bucket, check=False).stderr)
        policy = json.dumps({"Version": "2012-10-17", "Statement": [
            allow({"AWS": "arn:aws:iam::210987654321:root"}, "s3:GetObject", f"arn:aws:s3:::{bucket}/*")]}, indent=2)
        path = self.daemon.workdir / f"{bucket}.json"
        path.write_text(policy)
        self.aws("put-bucket-policy", "--bucket", bucket, "--policy", f"file://{path}")
        self.assertEqual(self.json("get-bucket-policy", "--bucket", bucket)["Policy"], policy)
        self.assertEqual(self.json("get-bucket-policy-status", "--bucket", bucket), {"PolicyStatus": {"IsPublic": False}})

        public = document(allow("*", "s3:GetObject", f"arn:aws:s3:::{bucket}/*"))
        self.aws("put-bucket-policy", "--bucket", bucket, "--policy", public)
        self.assertEqual(self.json("get-bucket-policy-status", "--bucket", bucket), {"PolicyStatus": {"IsPublic": True}})
        self.aws("delete-bucket-policy", "--bucket", bucket)
        self.assertIn("NoSuchBucketPolicy", self.aws("get-bucket-policy", "--bucket", bucket, check=False).stderr)
        self.assertIn("NoSuchBucketPolicy",
                      self.aws("get-bucket-policy-status", "--bucket", bucket, check=False).stderr)

    def test_malformed_policies_store_nothing(self):
        bucket = random_bucket("cli-bad")
        self.aws("create-bucket", "--bucket", bucket)
        refused = {
            "not json": "first byte must be '{'",
            "{\"Version\": ": "invalid Json",
            document({"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}):
                "Missing required field Principal",
            document(allow("*", "s3:GetObject", "arn:aws:s3:::someone-elses-bucket/*")): "Policy has invalid resource",
            document(allow("*", "iam:CreateUser", f"arn:aws:s3:::{bucket}/*")): "Policy has invalid action",
            document(allow("*", "s3:GetObject", f"arn:aws:s3:::{bucket}/*", effect="Perhaps")): "Invalid effect",
        }
        for policy, message in refused.items():
            p = self.aws("put-bucket-policy", "--bucket", bucket, "--policy", policy, check=False)
            self.assertNotEqual(p.returncode, 0, policy)
            self.assertIn("MalformedPolicy", p.stderr, policy)
            self.assertIn(message, p.stderr, policy)
        huge = document(*[allow("*", "s3:GetObject", f"arn:aws:s3:::{bucket}/prefix-{i:04}/*") for i in range(300)])
        self.assertIn("PolicyTooLarge", self.aws("put-bucket-policy", "--bucket", bucket, "--policy", huge,
                                                 check=False).stderr)
        self.assertIn("NoSuchBucketPolicy", self.aws("get-bucket-policy", "--bucket", bucket, check=False).stderr)


@unittest.skipUnless(HAVE_BOTO3, "boto3 is not installed for this Python")
class BucketPolicyBoto3Test(PolicyTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.owner = Account(cls.daemon, "owner")
        cls.other = Account(cls.daemon, "other")
        cls.anon = cls.daemon.boto3_client(anonymous=True)

    def new_bucket(self, prefix, objects=("a.txt",)):
        bucket = random_bucket(prefix)
        # ACLs enabled (ObjectWriter): these tests set public ACLs.
        self.owner.s3.create_bucket(Bucket=bucket, ObjectOwnership="ObjectWriter")
        for key in objects:
            self.owner.s3.put_object(Bucket=bucket, Key=key, Body=b"data of " + key.encode())
        return bucket

    def put_policy(self, bucket, *statements):
        self.owner.s3.put_bucket_policy(Bucket=bucket, Policy=document(*statements))

    def read(self, s3, bucket, key="a.txt"):
        return s3.get_object(Bucket=bucket, Key=key)["Body"].read()

    def test_anonymous_reads_by_a_policy_for_everyone(self):
        bucket = self.new_bucket("anon")
        self.denied(self.anon.get_object, Bucket=bucket, Key="a.txt")
        self.put_policy(bucket, allow("*", "s3:GetObject", f"arn:aws:s3:::{bucket}/*"))
        self.assertEqual(self.read(self.anon, bucket), b"data of a.txt")
        status, _, body = harness.http_request("GET", f"{self.daemon.endpoint}/{bucket}/a.txt")
        self.assertEqual((status, body), (200, b"data of a.txt"))
        self.denied(self.anon.put_object, Bucket=bucket, Key="graffiti", Body=b"x")
        self.denied(self.anon.list_objects_v2, Bucket=bucket)
        self.denied(self.anon.get_bucket_policy, Bucket=bucket)
        self.owner.s3.delete_bucket_policy(Bucket=bucket)
        self.denied(self.anon.get_object, Bucket=bucket, Key="a.txt")
        status, _, body = harness.http_request("GET", f"{self.daemon.endpoint}/{bucket}/a.txt")
        self.assertEqual((status, harness.error_code(body)), (403, "AccessDenied"))
        self.assertIn(b"<Message>Access Denied</Message>", body)

    def test_cross_account_needs_the_users_own_allow_and_the_buckets(self):
        bucket = self.new_bucket("xacct")
        get_any = [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]
        with_identity, s3_with = self.other.user("reader", inline=get_any)
        without_identity, s3_without = self.other.user("bare")
        # Neither side alone.
        self.denied(s3_with.get_object, Bucket=bucket, Key="a.txt")
        self.put_policy(bucket, allow({"AWS": [with_identity, without_identity]}, "s3:GetObject",
                                      f"arn:aws:s3:::{bucket}/*"))
        self.denied(s3_without.get_object, Bucket=bucket, Key="a.txt")
        # Both.
        self.assertEqual(self.read(s3_with, bucket), b"data of a.txt")
        self.denied(s3_with.put_object, Bucket=bucket, Key="b.txt", Body=b"x")
        self.denied(s3_with.list_objects_v2, Bucket=bucket)
        # A grant to the whole account reaches its root, which no identity policy binds.
        self.put_policy(bucket, allow({"AWS": self.other.id}, ["s3:GetObject", "s3:ListBucket"],
                                      [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]))
        self.assertEqual(self.read(self.other.s3, bucket), b"data of a.txt")
        self.assertEqual([o["Key"] for o in self.other.s3.list_objects_v2(Bucket=bucket)["Contents"]], ["a.txt"])
        self.assertEqual(self.read(s3_with, bucket), b"data of a.txt")
        self.denied(s3_without.get_object, Bucket=bucket, Key="a.txt")
        # Only the owner's account manages the policy, whatever it grants.
        self.put_policy(bucket, allow({"AWS": self.other.id}, "s3:*", f"arn:aws:s3:::{bucket}"))
        self.assertEqual(self.error(self.other.s3.get_bucket_policy, Bucket=bucket), "MethodNotAllowed")

    def test_within_the_account_either_policy_suffices_and_a_deny_wins(self):
        bucket = self.new_bucket("same", objects=("a.txt", "secret/b.txt"))
        bare_arn, bare = self.owner.user("bare")
        self.denied(bare.get_object, Bucket=bucket, Key="a.txt")
        self.put_policy(bucket, allow({"AWS": bare_arn}, "s3:GetObject", f"arn:aws:s3:::{bucket}/*"))
        self.assertEqual(self.read(bare, bucket), b"data of a.txt")  # the bucket policy alone

        full = [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]
        full_arn, full_s3 = self.owner.user("full", inline=full)
        self.assertEqual(self.read(full_s3, bucket, "secret/b.txt"), b"data of secret/b.txt")
        self.put_policy(bucket, allow({"AWS": full_arn}, "s3:*", f"arn:aws:s3:::{bucket}/secret/*", effect="Deny"))
        self.denied(full_s3.get_object, Bucket=bucket, Key="secret/b.txt")
        self.denied(full_s3.put_object, Bucket=bucket, Key="secret/c.txt", Body=b"x")
        self.assertEqual(self.read(full_s3, bucket), b"data of a.txt")

    def test_the_owners_root_obeys_a_deny_but_is_never_locked_out(self):
        bucket = self.new_bucket("lockout")
        self.put_policy(bucket, allow("*", "s3:*", [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
                                      effect="Deny"))
        self.denied(self.owner.s3.get_object, Bucket=bucket, Key="a.txt")
        self.denied(self.owner.s3.list_objects_v2, Bucket=bucket)
        self.assertIn("Deny", self.owner.s3.get_bucket_policy(Bucket=bucket)["Policy"])
        self.owner.s3.delete_bucket_policy(Bucket=bucket)
        self.assertEqual(self.read(self.owner.s3, bucket), b"data of a.txt")

    def test_policy_status(self):
        bucket = self.new_bucket("status", objects=())
        self.assertEqual(self.error(self.owner.s3.get_bucket_policy_status, Bucket=bucket), "NoSuchBucketPolicy")
        cases = [
            (allow("*", "s3:GetObject", f"arn:aws:s3:::{bucket}/*"), True),
            (allow({"AWS": "*"}, "s3:ListBucket", f"arn:aws:s3:::{bucket}"), True),
            (allow({"AWS": self.other.id}, "s3:GetObject", f"arn:aws:s3:::{bucket}/*"), False),
            (allow("*", "s3:GetObject", f"arn:aws:s3:::{bucket}/*",
                   condition={"IpAddress": {"aws:SourceIp": "192.0.2.0/24"}}), False),
            (allow("*", "s3:GetObject", f"arn:aws:s3:::{bucket}/*",
                   condition={"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}), True),
            (allow("*", "s3:GetObject", f"arn:aws:s3:::{bucket}/*",
                   condition={"StringEquals": {"aws:PrincipalAccount": self.other.id}}), False),
            (allow("*", "s3:GetObject", f"arn:aws:s3:::{bucket}/*", effect="Deny"), False),
        ]
        for statement, public in cases:
            self.put_policy(bucket, statement)
            self.assertEqual(self.owner.s3.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"],
                             {"IsPublic": public}, statement)

    def test_block_public_access_documents(self):
        bucket = self.new_bucket("pab", objects=())
        self.assertEqual(self.error(self.owner.s3.get_public_access_block, Bucket=bucket),
                         "NoSuchPublicAccessBlockConfiguration")
        config = {"BlockPublicAcls": True, "IgnorePublicAcls": False, "BlockPublicPolicy": True,
                  "RestrictPublicBuckets": False}
        self.owner.s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=config)
        got = self.owner.s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
        self.assertEqual(got, config)
        self.owner.s3.delete_public_access_block(Bucket=bucket)
        self.assertEqual(self.error(self.owner.s3.get_public_access_block, Bucket=bucket),
                         "NoSuchPublicAccessBlockConfiguration")

    def test_block_public_policy_and_acls(self):
        bucket = self.new_bucket("block")
        self.owner.s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
            "BlockPublicPolicy": True, "BlockPublicAcls": True})
        self.denied(self.owner.s3.put_bucket_policy, Bucket=bucket,
                    Policy=document(allow("*", "s3:GetObject", f"arn:aws:s3:::{bucket}/*")))
        self.assertEqual(self.error(self.owner.s3.get_bucket_policy, Bucket=bucket), "NoSuchBucketPolicy")
        self.put_policy(bucket, allow({"AWS": self.other.id}, "s3:GetObject", f"arn:aws:s3:::{bucket}/*"))
        self.denied(self.owner.s3.put_bucket_acl, Bucket=bucket, ACL="public-read")
        self.denied(self.owner.s3.put_object, Bucket=bucket, Key="p.txt", Body=b"x", ACL="public-read")
        self.denied(self.owner.s3.put_object_acl, Bucket=bucket, Key="a.txt", ACL="public-read")
        self.owner.s3.put_object(Bucket=bucket, Key="p.txt", Body=b"x", ACL="private")

    def test_restrict_public_buckets_and_ignore_public_acls(self):
        bucket = self.new_bucket("restrict", objects=("a.txt", "pub.txt"))
        self.owner.s3.put_object_acl(Bucket=bucket, Key="pub.txt", ACL="public-read")
        self.put_policy(bucket, allow("*", "s3:GetObject", f"arn:aws:s3:::{bucket}/a.txt"))
        _, same_account_user = self.owner.user("insider")
        self.assertEqual(self.read(self.anon, bucket), b"data of a.txt")
        self.assertEqual(self.read(self.other.s3, bucket), b"data of a.txt")
        self.assertEqual(self.read(self.anon, bucket, "pub.txt"), b"data of pub.txt")

        self.owner.s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
            "RestrictPublicBuckets": True})
        self.denied(self.anon.get_object, Bucket=bucket, Key="a.txt")
        self.denied(self.other.s3.get_object, Bucket=bucket, Key="a.txt")
        self.assertEqual(self.read(same_account_user, bucket), b"data of a.txt")  # the owner's account still
        self.assertEqual(self.read(self.anon, bucket, "pub.txt"), b"data of pub.txt")  # ACLs are not policies

        self.owner.s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
            "RestrictPublicBuckets": True, "IgnorePublicAcls": True})
        self.denied(self.anon.get_object, Bucket=bucket, Key="pub.txt")
        self.owner.s3.delete_public_access_block(Bucket=bucket)
        self.assertEqual(self.read(self.anon, bucket), b"data of a.txt")

    def test_public_read_bucket_acl_lists_but_does_not_read(self):
        bucket = self.new_bucket("pubacl", objects=("a.txt", "b.txt"))
        self.denied(self.anon.list_objects_v2, Bucket=bucket)
        self.owner.s3.put_bucket_acl(Bucket=bucket, ACL="public-read")
        self.assertEqual([o["Key"] for o in self.anon.list_objects_v2(Bucket=bucket)["Contents"]], ["a.txt", "b.txt"])
        self.anon.head_bucket(Bucket=bucket)
        self.denied(self.anon.get_object, Bucket=bucket, Key="a.txt")
        self.assertEqual(self.error(self.anon.head_object, Bucket=bucket, Key="a.txt"), "403")
        # Objects are read through their own ACL or a bucket policy.
        self.owner.s3.put_object_acl(Bucket=bucket, Key="b.txt", ACL="public-read")
        self.assertEqual(self.read(self.anon, bucket, "b.txt"), b"data of b.txt")
        self.put_policy(bucket, allow("*", "s3:GetObject", f"arn:aws:s3:::{bucket}/a.txt"))
        self.assertEqual(self.read(self.anon, bucket), b"data of a.txt")


if __name__ == "__main__":
    harness.main()
