#!/usr/bin/python3
"""IAM managed and inline policies against a real annexd, through boto3 and awscli.

Creating, versioning and deleting customer managed policies; the AWS managed
ones by their real ARNs; attaching and inlining policies on users; IAM's
errors for malformed documents, quotas and conflicts.
"""

import json
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import AWS_CLI, REGION, AnnexTestCase, have  # noqa: E402

try:
    import boto3
    from botocore.config import Config
    from botocore.exceptions import ClientError
    HAVE_BOTO3 = True
except ImportError:  # pragma: no cover - reported as a skip
    HAVE_BOTO3 = False

READ_PHOTOS = {"Version": "2012-10-17",
               "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::photos/*"}]}
WRITE_PHOTOS = {"Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::photos/*"}]}


def unique(prefix):
    return prefix + os.urandom(3).hex()


def client(daemon, service, access_key=None, secret_key=None):
    """A boto3 client for `service` on the appliance, as the root unless given a key."""
    return boto3.session.Session().client(
        service, endpoint_url=daemon.endpoint, region_name=REGION,
        aws_access_key_id=access_key or daemon.access_key, aws_secret_access_key=secret_key or daemon.secret_key,
        config=Config(retries={"max_attempts": 1, "mode": "standard"}))


def new_user(iam, prefix, managed=(), inline=None):
    """A new user with the given policies; returns its name and access key."""
    name = unique(prefix + "-")
    iam.create_user(UserName=name)
    for arn in managed:
        iam.attach_user_policy(UserName=name, PolicyArn=arn)
    if inline:
        iam.put_user_policy(UserName=name, PolicyName="inline", PolicyDocument=json.dumps(inline))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return name, key["AccessKeyId"], key["SecretAccessKey"]


@unittest.skipUnless(HAVE_BOTO3, "boto3 is not installed for this Python")
class IamPoliciesBoto3Test(AnnexTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.iam = client(cls.daemon, "iam")

    def code(self, call, **kw):
        with self.assertRaises(ClientError) as e:
            call(**kw)
        return e.exception.response["Error"]["Code"]

    def test_managed_policy_lifecycle(self):
        name = unique("ReadPhotos")
        p = self.iam.create_policy(PolicyName=name, Path="/team/", Description="read photos",
                                   PolicyDocument=json.dumps(READ_PHOTOS))["Policy"]
        self.assertTrue(p["Arn"].endswith(":policy/team/" + name), p)
        self.assertEqual(p["DefaultVersionId"], "v1")
        self.assertTrue(p["PolicyId"].startswith("ANPA"))
        got = self.iam.get_policy(PolicyArn=p["Arn"])["Policy"]
        self.assertEqual(got["Description"], "read photos")
        self.assertEqual(self.code(self.iam.create_policy, PolicyName=name, PolicyDocument=json.dumps(READ_PHOTOS)),
                         "EntityAlreadyExists")

        v2 = self.iam.create_policy_version(PolicyArn=p["Arn"], PolicyDocument=json.dumps(WRITE_PHOTOS),
                                            SetAsDefault=True)["PolicyVersion"]
        self.assertEqual(v2["VersionId"], "v2")
        self.assertTrue(v2["IsDefaultVersion"])
        doc = self.iam.get_policy_version(PolicyArn=p["Arn"], VersionId="v2")["PolicyVersion"]["Document"]
        self.assertEqual(doc, WRITE_PHOTOS)  # botocore decodes the URL-encoded document
        versions = self.iam.list_policy_versions(PolicyArn=p["Arn"])["Versions"]
        self.assertEqual(sorted(v["VersionId"] for v in versions), ["v1", "v2"])
        self.assertEqual(self.code(self.iam.delete_policy_version, PolicyArn=p["Arn"], VersionId="v2"),
                         "DeleteConflict")
        self.assertEqual(self.code(self.iam.delete_policy, PolicyArn=p["Arn"]), "DeleteConflict")
        self.iam.delete_policy_version(PolicyArn=p["Arn"], VersionId="v1")
        local = [x["PolicyName"] for x in self.iam.list_policies(Scope="Local")["Policies"]]
        self.assertIn(name, local)
        self.iam.delete_policy(PolicyArn=p["Arn"])
        self.assertEqual(self.code(self.iam.get_policy, PolicyArn=p["Arn"]), "NoSuchEntity")

    def test_aws_managed_policies_by_their_real_arns(self):
        names = {x["PolicyName"]: x["Arn"] for x in self.iam.list_policies(Scope="AWS")["Policies"]}
        for expected in ("AdministratorAccess", "ReadOnlyAccess", "AmazonS3FullAccess", "AmazonS3ReadOnlyAccess",
                         "AWSLambdaBasicExecutionRole", "AmazonECSTaskExecutionRolePolicy",
                         "AmazonEC2ContainerRegistryReadOnly", "CloudWatchLogsFullAccess"):
            self.assertIn(expected, names)
        self.assertEqual(names["AWSLambdaBasicExecutionRole"],
                         "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole")
        doc = self.iam.get_policy_version(PolicyArn="arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess",
                                          VersionId="v1")["PolicyVersion"]["Document"]
        self.assertEqual(doc["Statement"][0]["Effect"], "Allow")
        self.assertEqual(self.code(self.iam.delete_policy, PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess"),
                         "InvalidInput")

    def test_user_policies_attached_and_inline(self):
        user = unique("carol")
        self.iam.create_user(UserName=user)
        ro = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
        self.iam.attach_user_policy(UserName=user, PolicyArn=ro)
        attached = self.iam.list_attached_user_policies(UserName=user)["AttachedPolicies"]
        self.assertEqual(attached, [{"PolicyName": "AmazonS3ReadOnlyAccess", "PolicyArn": ro}])
        users = self.iam.list_entities_for_policy(PolicyArn=ro)["PolicyUsers"]
        self.assertIn(user, [u["UserName"] for u in users])
        self.assertEqual(self.iam.get_policy(PolicyArn=ro)["Policy"]["AttachmentCount"], 1)

        self.iam.put_user_policy(UserName=user, PolicyName="write", PolicyDocument=json.dumps(WRITE_PHOTOS))
        self.assertEqual(self.iam.list_user_policies(UserName=user)["PolicyNames"], ["write"])
        got = self.iam.get_user_policy(UserName=user, PolicyName="write")
        self.assertEqual(got["PolicyDocument"], WRITE_PHOTOS)

        self.assertEqual(self.code(self.iam.delete_user, UserName=user), "DeleteConflict")
        self.assertEqual(self.code(self.iam.attach_user_policy, UserName="nobody-" + user, PolicyArn=ro),
                         "NoSuchEntity")
        self.iam.detach_user_policy(UserName=user, PolicyArn=ro)
        self.iam.delete_user_policy(UserName=user, PolicyName="write")
        self.assertEqual(self.code(self.iam.get_user_policy, UserName=user, PolicyName="write"), "NoSuchEntity")
        self.iam.delete_user(UserName=user)

    def test_malformed_and_oversized_documents_store_nothing(self):
        name = unique("Bad")
        bad_documents = [
            "not json",
            json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": "*"}]}),
            json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Maybe", "Action": "s3:*", "Resource": "*"}]}),
            json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*",
                                                                "Resource": "photos"}]}),
            json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*",
                                                                "Action": "s3:*", "Resource": "*"}]}),
        ]
        for doc in bad_documents:
            self.assertEqual(self.code(self.iam.create_policy, PolicyName=name, PolicyDocument=doc),
                             "MalformedPolicyDocument", doc)
        statement = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bucket/key-padding-x"}
        huge = {"Version": "2012-10-17", "Statement": [statement] * 100}
        self.assertEqual(self.code(self.iam.create_policy, PolicyName=name, PolicyDocument=json.dumps(huge)),
                         "LimitExceeded")
        local = [x["PolicyName"] for x in self.iam.list_policies(Scope="Local")["Policies"]]
        self.assertNotIn(name, local)

    def test_users_may_not_manage_policies(self):
        user, key, secret = new_user(self.iam, "dave")
        as_user = client(self.daemon, "iam", key, secret)
        self.assertEqual(self.code(as_user.attach_user_policy, UserName=user,
                                   PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess"), "AccessDenied")
        self.assertEqual(self.code(as_user.create_policy, PolicyName=unique("Mine"),
                                   PolicyDocument=json.dumps(READ_PHOTOS)), "AccessDenied")


@unittest.skipUnless(HAVE_BOTO3, "boto3 is not installed for this Python")
class S3PolicyEnforcementTest(AnnexTestCase):
    """Every S3 request of a user is authorized by its policies, as AWS decides."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.iam = client(cls.daemon, "iam")
        cls.root_s3 = cls.daemon.boto3_client()
        cls.bucket = unique("pol-")
        cls.root_s3.create_bucket(Bucket=cls.bucket)
        for key in ("public/a.txt", "secret/b.txt", "home/alice/notes.txt", "home/bob/notes.txt", "keep/c.txt"):
            cls.root_s3.put_object(Bucket=cls.bucket, Key=key, Body=b"x")

    def user(self, name, managed=(), inline=None):
        """A new user with the given policies and its S3 client."""
        name, key, secret = new_user(self.iam, name, managed, inline)
        return name, self.daemon.boto3_client(key, secret)

    def denied(self, call, **kw):
        with self.assertRaises(ClientError) as e:
            call(**kw)
        self.assertEqual(e.exception.response["Error"]["Code"], "AccessDenied")

    def test_a_user_without_policies_may_do_nothing(self):
        _, s3 = self.user("nobody")
        self.denied(s3.list_buckets)
        self.denied(s3.get_object, Bucket=self.bucket, Key="public/a.txt")

    def test_read_only_lists_and_reads_but_never_writes(self):
        _, s3 = self.user("reader", managed=["arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"])
        self.assertIn(self.bucket, [b["Name"] for b in s3.list_buckets()["Buckets"]])
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=self.bucket)["Contents"]]
        self.assertIn("public/a.txt", keys)
        self.assertEqual(s3.get_object(Bucket=self.bucket, Key="public/a.txt")["Body"].read(), b"x")
        s3.head_object(Bucket=self.bucket, Key="public/a.txt")
        self.denied(s3.put_object, Bucket=self.bucket, Key="public/new.txt", Body=b"y")
        self.denied(s3.delete_object, Bucket=self.bucket, Key="public/a.txt")
        self.denied(s3.create_bucket, Bucket=unique("ro-"))
        self.denied(s3.copy_object, Bucket=self.bucket, Key="public/copy.txt",
                    CopySource={"Bucket": self.bucket, "Key": "public/a.txt"})
        self.assertEqual(self.root_s3.get_object(Bucket=self.bucket, Key="public/a.txt")["Body"].read(), b"x")

    def test_an_explicit_deny_on_a_prefix_beats_an_allow_on_the_bucket(self):
        deny = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Deny", "Action": "s3:*", "Resource": f"arn:aws:s3:::{self.bucket}/secret/*"}]}
        _, s3 = self.user("full", managed=["arn:aws:iam::aws:policy/AmazonS3FullAccess"], inline=deny)
        self.assertEqual(s3.get_object(Bucket=self.bucket, Key="public/a.txt")["Body"].read(), b"x")
        self.denied(s3.get_object, Bucket=self.bucket, Key="secret/b.txt")
        self.denied(s3.put_object, Bucket=self.bucket, Key="secret/new.txt", Body=b"y")
        s3.put_object(Bucket=self.bucket, Key="public/by-full.txt", Body=b"y")

    def test_conditions_on_prefix_and_source_address(self):
        listing = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{self.bucket}",
             "Condition": {"StringLike": {"s3:prefix": ["public/*"]}}}]}
        _, s3 = self.user("lister", inline=listing)
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=self.bucket, Prefix="public/")["Contents"]]
        self.assertTrue(all(k.startswith("public/") for k in keys), keys)
        self.denied(s3.list_objects_v2, Bucket=self.bucket)
        self.denied(s3.list_objects_v2, Bucket=self.bucket, Prefix="secret/")

        office = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
             "Condition": {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}}]}
        _, remote = self.user("office", inline=office)
        self.denied(remote.get_object, Bucket=self.bucket, Key="public/a.txt")  # this client is 127.0.0.1
        local = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
             "Condition": {"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}}}]}
        _, here = self.user("local", inline=local)
        here.get_object(Bucket=self.bucket, Key="public/a.txt")

    def test_home_folders_by_user_name(self):
        home = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
             "Resource": f"arn:aws:s3:::{self.bucket}/home/${{aws:username}}/*"}]}
        name, s3 = self.user("homer", inline=home)
        s3.put_object(Bucket=self.bucket, Key=f"home/{name}/diary.txt", Body=b"mine")
        self.assertEqual(s3.get_object(Bucket=self.bucket, Key=f"home/{name}/diary.txt")["Body"].read(), b"mine")
        self.denied(s3.get_object, Bucket=self.bucket, Key="home/alice/notes.txt")
        self.denied(s3.put_object, Bucket=self.bucket, Key="home/bob/notes.txt", Body=b"not mine")

    def test_delete_objects_authorizes_each_key(self):
        policy = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:DeleteObject", "Resource": f"arn:aws:s3:::{self.bucket}/tmp/*"}]}
        _, s3 = self.user("cleaner", inline=policy)
        self.root_s3.put_object(Bucket=self.bucket, Key="tmp/x.txt", Body=b"x")
        result = s3.delete_objects(Bucket=self.bucket, Delete={"Objects": [{"Key": "tmp/x.txt"},
                                                                           {"Key": "keep/c.txt"}]})
        self.assertEqual([d["Key"] for d in result.get("Deleted", [])], ["tmp/x.txt"])
        self.assertEqual([(e["Key"], e["Code"]) for e in result.get("Errors", [])], [("keep/c.txt", "AccessDenied")])
        self.root_s3.head_object(Bucket=self.bucket, Key="keep/c.txt")

    def test_policy_changes_apply_to_the_next_request(self):
        name, s3 = self.user("changing")
        self.denied(s3.get_object, Bucket=self.bucket, Key="public/a.txt")
        self.iam.attach_user_policy(UserName=name, PolicyArn="arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
        s3.get_object(Bucket=self.bucket, Key="public/a.txt")
        self.iam.detach_user_policy(UserName=name, PolicyArn="arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
        self.denied(s3.get_object, Bucket=self.bucket, Key="public/a.txt")


@unittest.skipUnless(HAVE_BOTO3, "boto3 is not installed for this Python")
class LogsPolicyEnforcementTest(AnnexTestCase):
    """CloudWatch Logs requests of a user are authorized by its policies (logs:<Operation> on the group or stream)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.iam = client(cls.daemon, "iam")
        cls.root_logs = client(cls.daemon, "logs")
        for group in ("/app/web", "/app/db"):
            cls.root_logs.create_log_group(logGroupName=group)
            cls.root_logs.create_log_stream(logGroupName=group, logStreamName="s")

    def logs_as(self, inline=None, managed=()):
        _, key, secret = new_user(self.iam, "logger", managed, inline)
        return client(self.daemon, "logs", key, secret)

    def denied(self, call, **kw):
        with self.assertRaises(ClientError) as e:
            call(**kw)
        self.assertEqual(e.exception.response["Error"]["Code"], "AccessDeniedException")
        return e.exception.response["Error"]["Message"]

    def test_without_policies_nothing(self):
        logs = self.logs_as()
        message = self.denied(logs.describe_log_groups)
        self.assertIn("is not authorized to perform: logs:DescribeLogGroups", message)

    def test_full_access_and_a_stream_scoped_writer(self):
        admin = self.logs_as(managed=["arn:aws:iam::aws:policy/CloudWatchLogsFullAccess"])
        admin.create_log_group(logGroupName=unique("/admin/"))
        writer = self.logs_as(inline={"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": ["logs:PutLogEvents", "logs:GetLogEvents"],
            "Resource": f"arn:aws:logs:{REGION}:*:log-group:/app/web:*"}]})
        event = [{"timestamp": int(time.time() * 1000), "message": "hello"}]
        writer.put_log_events(logGroupName="/app/web", logStreamName="s", logEvents=event)
        self.assertEqual(writer.get_log_events(logGroupName="/app/web", logStreamName="s")["events"][-1]["message"],
                         "hello")
        self.denied(writer.put_log_events, logGroupName="/app/db", logStreamName="s", logEvents=event)
        self.denied(writer.create_log_group, logGroupName="/app/new")
        self.denied(writer.delete_log_group, logGroupName="/app/web")


class IamPoliciesAwsCliTest(AnnexTestCase):
    @classmethod
    def setUpClass(cls):
        if not have(AWS_CLI):
            raise unittest.SkipTest(f"awscli not installed at {AWS_CLI}")
        super().setUpClass()
        cls.env = cls.daemon.client_env()

    def aws(self, *args):
        p = subprocess.run([AWS_CLI, "--endpoint-url", self.daemon.endpoint, "--output", "json", "iam", *args],
                           env=self.env, capture_output=True, text=True, timeout=120)
        if p.returncode != 0:
            self.fail(f"`aws iam {' '.join(args)}` exited {p.returncode}\n{p.stdout}{p.stderr}")
        return json.loads(p.stdout) if p.stdout.strip() else {}

    def test_create_attach_and_read_back(self):
        path = self.daemon.workdir / "read-photos.json"
        path.write_text(json.dumps(READ_PHOTOS, indent=2))
        name = unique("ReadPhotos")
        arn = self.aws("create-policy", "--policy-name", name, "--policy-document", f"file://{path}")["Policy"]["Arn"]
        self.aws("create-user", "--user-name", "erin-" + name)
        self.aws("attach-user-policy", "--user-name", "erin-" + name, "--policy-arn", arn)
        attached = self.aws("list-attached-user-policies", "--user-name", "erin-" + name)["AttachedPolicies"]
        self.assertEqual(attached, [{"PolicyName": name, "PolicyArn": arn}])
        version = self.aws("get-policy-version", "--policy-arn", arn, "--version-id", "v1")["PolicyVersion"]
        self.assertEqual(version["Document"], READ_PHOTOS)


if __name__ == "__main__":
    unittest.main(verbosity=2)
