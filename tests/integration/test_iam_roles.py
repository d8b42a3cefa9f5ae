#!/usr/bin/python3
"""Groups, permissions boundaries, roles and STS against a real annexd.

A role assumed with `aws sts assume-role` does exactly what its policies
allow, its trust policy decides who may assume it (ExternalId, session tags,
other accounts), session policies narrow it, and its credentials stop
working when they expire (annexd and the client run with their wall clock
moved past the expiry by tests/integration/clockshift.cc). Groups give their members their policies;
a permissions boundary caps a user whatever its policies say.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import AWS_CLI, REGION, AnnexTestCase, Daemon, have  # noqa: E402
from test_iam_policies import client, new_user, unique  # noqa: E402

try:
    import boto3
    from botocore.config import Config
    from botocore.exceptions import ClientError
    HAVE_BOTO3 = True
except ImportError:  # pragma: no cover - reported as a skip
    HAVE_BOTO3 = False

S3_READ = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
S3_FULL = "arn:aws:iam::aws:policy/AmazonS3FullAccess"
CLOCKSHIFT = os.environ.get("ANNEX_CLOCKSHIFT", "")


def trust(principal, condition=None, actions=("sts:AssumeRole",)):
    statement = {"Effect": "Allow", "Principal": principal, "Action": list(actions)}
    if condition:
        statement["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def allow(actions, resources="*"):
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": resources}]}


def session_client(daemon, service, creds):
    return boto3.session.Session().client(
        service, endpoint_url=daemon.endpoint, region_name=REGION,
        aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"], config=Config(retries={"max_attempts": 1, "mode": "standard"}))


def unchecked(daemon, service, access_key=None, secret_key=None):
    """A client that sends what it is given: the appliance must do the validating."""
    return boto3.session.Session().client(
        service, endpoint_url=daemon.endpoint, region_name=REGION,
        aws_access_key_id=access_key or daemon.access_key, aws_secret_access_key=secret_key or daemon.secret_key,
        config=Config(retries={"max_attempts": 1, "mode": "standard"}, parameter_validation=False))


class RolesBase(AnnexTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.iam = unchecked(cls.daemon, "iam")
        cls.s3 = client(cls.daemon, "s3")
        cls.account = client(cls.daemon, "sts").get_caller_identity()["Account"]
        cls.bucket = unique("roles-")
        cls.s3.create_bucket(Bucket=cls.bucket)
        cls.s3.put_object(Bucket=cls.bucket, Key="public/a.txt", Body=b"a")
        cls.s3.put_object(Bucket=cls.bucket, Key="private/b.txt", Body=b"b")

    def code(self, call, **kw):
        with self.assertRaises(ClientError) as e:
            call(**kw)
        return e.exception.response["Error"]["Code"]

    def role(self, trust_doc, policies=(), inline=None, **kw):
        name = unique("role-")
        arn = self.iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust_doc, **kw)["Role"]["Arn"]
        for p in policies:
            self.iam.attach_role_policy(RoleName=name, PolicyArn=p)
        if inline:
            self.iam.put_role_policy(RoleName=name, PolicyName="inline", PolicyDocument=json.dumps(inline))
        return name, arn

    def user_sts(self, *policies, inline=None):
        name, key, secret = new_user(self.iam, "caller", managed=policies, inline=inline)
        return name, unchecked(self.daemon, "sts", key, secret), (key, secret)


@unittest.skipUnless(HAVE_BOTO3, "boto3 is not installed for this Python")
class RolesTest(RolesBase):
    def test_role_lifecycle_and_validation(self):
        name, arn = self.role(trust({"Service": "ecs-tasks.amazonaws.com"}), Description="tasks",
                              MaxSessionDuration=7200, Path="/app/")
        self.assertEqual(arn, f"arn:aws:iam::{self.account}:role/app/{name}")
        got = self.iam.get_role(RoleName=name)["Role"]
        self.assertTrue(got["RoleId"].startswith("AROA"))
        self.assertEqual(got["MaxSessionDuration"], 7200)
        self.assertEqual(got["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"],
                         "ecs-tasks.amazonaws.com")
        self.assertIn(name, [r["RoleName"] for r in self.iam.list_roles()["Roles"]])
        self.iam.update_role(RoleName=name, MaxSessionDuration=3600)
        self.assertEqual(self.iam.get_role(RoleName=name)["Role"]["MaxSessionDuration"], 3600)
        self.assertEqual(self.code(self.iam.create_role, RoleName=name, AssumeRolePolicyDocument=trust("*")),
                         "EntityAlreadyExists")
        # A trust policy is a resource policy: it needs a Principal, and has no Resource.
        no_principal = json.dumps({"Version": "2012-10-17",
                                   "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole"}]})
        self.assertEqual(self.code(self.iam.create_role, RoleName=unique("bad-"), AssumeRolePolicyDocument=no_principal),
                         "MalformedPolicyDocument")
        self.assertEqual(self.code(self.iam.update_assume_role_policy, RoleName=name, PolicyDocument="{"),
                         "MalformedPolicyDocument")
        self.assertEqual(self.code(self.iam.create_role, RoleName=unique("bad-"), AssumeRolePolicyDocument=trust("*"),
                                   MaxSessionDuration=100), "ValidationError")
        self.iam.attach_role_policy(RoleName=name, PolicyArn=S3_READ)
        self.assertEqual(self.code(self.iam.delete_role, RoleName=name), "DeleteConflict")
        self.iam.detach_role_policy(RoleName=name, PolicyArn=S3_READ)
        self.iam.delete_role(RoleName=name)
        self.assertEqual(self.code(self.iam.get_role, RoleName=name), "NoSuchEntity")

    def test_assumed_role_does_exactly_what_its_policy_allows(self):
        user, sts, _ = self.user_sts(inline=allow("sts:AssumeRole"))
        _, arn = self.role(trust({"AWS": f"arn:aws:iam::{self.account}:root"}), policies=[S3_READ])
        out = sts.assume_role(RoleArn=arn, RoleSessionName="reader")
        creds = out["Credentials"]
        self.assertTrue(creds["AccessKeyId"].startswith("ASIA"))
        self.assertEqual(out["AssumedRoleUser"]["Arn"],
                         f"arn:aws:sts::{self.account}:assumed-role/{arn.split('/')[-1]}/reader")
        s3 = session_client(self.daemon, "s3", creds)
        self.assertEqual(s3.get_object(Bucket=self.bucket, Key="public/a.txt")["Body"].read(), b"a")
        self.assertEqual(self.code(s3.put_object, Bucket=self.bucket, Key="x", Body=b"x"), "AccessDenied")
        me = session_client(self.daemon, "sts", creds).get_caller_identity()
        self.assertEqual(me["Arn"], out["AssumedRoleUser"]["Arn"])
        self.assertEqual(me["UserId"], out["AssumedRoleUser"]["AssumedRoleId"])
        # Role sessions reach IAM only as far as the role's policies go.
        self.assertEqual(self.code(session_client(self.daemon, "iam", creds).list_users), "AccessDenied")

    def test_trust_policy_decides_who_may_assume(self):
        user, sts, _ = self.user_sts(inline=allow("sts:AssumeRole"))
        other, _, _ = self.user_sts()
        # Naming another user: refused even though the caller's own policy allows sts:AssumeRole.
        _, arn = self.role(trust({"AWS": f"arn:aws:iam::{self.account}:user/{other}"}), policies=[S3_READ])
        self.assertEqual(self.code(sts.assume_role, RoleArn=arn, RoleSessionName="s1"), "AccessDenied")
        # Naming the caller itself: allowed without any identity policy.
        _, plain_sts, _ = self.user_sts()
        name, arn = self.role(trust({"AWS": f"arn:aws:iam::{self.account}:user/{user}"}))
        sts.assume_role(RoleArn=arn, RoleSessionName="s1")
        # Naming the account delegates to identity policies: a user without one is refused.
        _, arn = self.role(trust({"AWS": self.account}))
        self.assertEqual(self.code(plain_sts.assume_role, RoleArn=arn, RoleSessionName="s1"), "AccessDenied")
        sts.assume_role(RoleArn=arn, RoleSessionName="s1")
        # Unknown roles are refused like forbidden ones.
        self.assertEqual(self.code(sts.assume_role, RoleArn=f"arn:aws:iam::{self.account}:role/nope",
                                   RoleSessionName="s1"), "AccessDenied")
        # The root may not assume roles.
        self.assertEqual(self.code(client(self.daemon, "sts").assume_role, RoleArn=arn, RoleSessionName="s1"),
                         "AccessDenied")

    def test_external_id_and_session_tags(self):
        user, sts, _ = self.user_sts(inline=allow(["sts:AssumeRole", "sts:TagSession"]))
        _, arn = self.role(trust({"AWS": self.account}, {"StringEquals": {"sts:ExternalId": "secret-42"}},
                                 actions=("sts:AssumeRole", "sts:TagSession")),
                           inline=allow("s3:GetObject", f"arn:aws:s3:::{self.bucket}/${{aws:PrincipalTag/team}}/*"))
        self.assertEqual(self.code(sts.assume_role, RoleArn=arn, RoleSessionName="s1"), "AccessDenied")
        self.assertEqual(self.code(sts.assume_role, RoleArn=arn, RoleSessionName="s1", ExternalId="wrong-1"),
                         "AccessDenied")
        creds = sts.assume_role(RoleArn=arn, RoleSessionName="s1", ExternalId="secret-42",
                                Tags=[{"Key": "team", "Value": "public"}])["Credentials"]
        s3 = session_client(self.daemon, "s3", creds)
        s3.get_object(Bucket=self.bucket, Key="public/a.txt")
        self.assertEqual(self.code(s3.get_object, Bucket=self.bucket, Key="private/b.txt"), "AccessDenied")
        # Tags need sts:TagSession in the trust policy.
        _, untagged = self.role(trust({"AWS": self.account}))
        self.assertEqual(self.code(sts.assume_role, RoleArn=untagged, RoleSessionName="s1",
                                   Tags=[{"Key": "team", "Value": "x"}]), "AccessDenied")

    def test_session_policies_narrow(self):
        _, sts, _ = self.user_sts(inline=allow("sts:AssumeRole"))
        _, arn = self.role(trust({"AWS": self.account}), policies=[S3_FULL])
        narrow = allow("s3:GetObject", f"arn:aws:s3:::{self.bucket}/public/*")
        out = sts.assume_role(RoleArn=arn, RoleSessionName="narrow", Policy=json.dumps(narrow))
        self.assertIn("PackedPolicySize", out)
        s3 = session_client(self.daemon, "s3", out["Credentials"])
        s3.get_object(Bucket=self.bucket, Key="public/a.txt")
        self.assertEqual(self.code(s3.get_object, Bucket=self.bucket, Key="private/b.txt"), "AccessDenied")
        self.assertEqual(self.code(s3.put_object, Bucket=self.bucket, Key="public/n", Body=b"n"), "AccessDenied")
        # A managed session policy narrows the same way; it cannot widen.
        creds = sts.assume_role(RoleArn=arn, RoleSessionName="m1", PolicyArns=[{"arn": S3_READ}])["Credentials"]
        s3 = session_client(self.daemon, "s3", creds)
        s3.get_object(Bucket=self.bucket, Key="private/b.txt")
        self.assertEqual(self.code(s3.put_object, Bucket=self.bucket, Key="m", Body=b"m"), "AccessDenied")
        self.assertEqual(self.code(sts.assume_role, RoleArn=arn, RoleSessionName="bad", Policy='{"Statement": 1}'),
                         "MalformedPolicyDocument")

    def test_durations(self):
        _, sts, _ = self.user_sts(inline=allow("sts:AssumeRole"))
        _, arn = self.role(trust({"AWS": self.account}), policies=[S3_READ], MaxSessionDuration=7200)
        out = sts.assume_role(RoleArn=arn, RoleSessionName="long", DurationSeconds=7200)
        left = out["Credentials"]["Expiration"].timestamp() - time.time()
        self.assertTrue(7000 < left <= 7260, left)
        self.assertEqual(self.code(sts.assume_role, RoleArn=arn, RoleSessionName="s1", DurationSeconds=7201),
                         "ValidationError")
        self.assertEqual(self.code(sts.assume_role, RoleArn=arn, RoleSessionName="s1", DurationSeconds=100),
                         "ValidationError")
        # Role chaining: at most an hour.
        _, chained_arn = self.role(trust({"AWS": self.account}), policies=[S3_READ], MaxSessionDuration=7200)
        _, first = self.role(trust({"AWS": self.account}), inline=allow("sts:AssumeRole"))
        creds = sts.assume_role(RoleArn=first, RoleSessionName="first")["Credentials"]
        chained = session_client(self.daemon, "sts", creds)
        self.assertEqual(self.code(chained.assume_role, RoleArn=chained_arn, RoleSessionName="c1",
                                   DurationSeconds=7200), "ValidationError")
        chained.assume_role(RoleArn=chained_arn, RoleSessionName="c1", DurationSeconds=3600)

    def test_tampered_or_missing_session_token(self):
        _, sts, _ = self.user_sts(inline=allow("sts:AssumeRole"))
        _, arn = self.role(trust({"AWS": self.account}), policies=[S3_READ])
        creds = sts.assume_role(RoleArn=arn, RoleSessionName="t1")["Credentials"]
        bad = dict(creds, SessionToken=creds["SessionToken"][:-4] + "AAAA")
        self.assertEqual(self.code(session_client(self.daemon, "s3", bad).list_objects_v2, Bucket=self.bucket),
                         "InvalidToken")
        self.assertEqual(self.code(session_client(self.daemon, "sts", bad).get_caller_identity),
                         "InvalidClientTokenId")
        missing = boto3.session.Session().client(
            "s3", endpoint_url=self.daemon.endpoint, region_name=REGION, aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"])
        self.assertEqual(self.code(missing.list_objects_v2, Bucket=self.bucket), "InvalidToken")
        # A presigned URL carries the token, and works with it.
        url = session_client(self.daemon, "s3", creds).generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": "public/a.txt"}, ExpiresIn=60)
        import urllib.request
        self.assertEqual(urllib.request.urlopen(url).read(), b"a")

    def test_get_session_token(self):
        _, _, (key, secret) = self.user_sts(S3_READ)
        sts = client(self.daemon, "sts", key, secret)
        creds = sts.get_session_token(DurationSeconds=900)["Credentials"]
        s3 = session_client(self.daemon, "s3", creds)
        s3.get_object(Bucket=self.bucket, Key="public/a.txt")
        self.assertEqual(self.code(s3.put_object, Bucket=self.bucket, Key="y", Body=b"y"), "AccessDenied")
        me = session_client(self.daemon, "sts", creds).get_caller_identity()
        self.assertIn(":user/caller-", me["Arn"])
        # Without MFA, a user's session may not call IAM, nor mint another session.
        self.assertEqual(self.code(session_client(self.daemon, "iam", creds).get_user), "AccessDenied")
        self.assertEqual(self.code(session_client(self.daemon, "sts", creds).get_session_token), "AccessDenied")

    def test_cross_account_assume_role(self):
        other = self.daemon.create_account(unique("other"))
        other_iam = client(self.daemon, "iam", other["AccessKeyId"], other["SecretAccessKey"])
        name, key, secret = new_user(other_iam, "xacct")
        xsts = client(self.daemon, "sts", key, secret)
        _, arn = self.role(trust({"AWS": f"arn:aws:iam::{other['AccountId']}:root"}), policies=[S3_READ])
        # The role trusts the other account, but that account's user also needs its own allow.
        self.assertEqual(self.code(xsts.assume_role, RoleArn=arn, RoleSessionName="x1"), "AccessDenied")
        other_iam.put_user_policy(UserName=name, PolicyName="assume", PolicyDocument=json.dumps(allow("sts:AssumeRole", arn)))
        creds = xsts.assume_role(RoleArn=arn, RoleSessionName="x1")["Credentials"]
        s3 = session_client(self.daemon, "s3", creds)
        s3.get_object(Bucket=self.bucket, Key="public/a.txt")
        me = session_client(self.daemon, "sts", creds).get_caller_identity()
        self.assertEqual(me["Account"], self.account)

    def test_awscli_assume_role_and_caller_identity(self):
        if not have(AWS_CLI):
            self.skipTest("awscli is not installed")
        _, _, (key, secret) = self.user_sts(inline=allow("sts:AssumeRole"))
        role_name, arn = self.role(trust({"AWS": self.account}), policies=[S3_READ])
        env = self.daemon.client_env(key, secret)
        p = subprocess.run([AWS_CLI, "--endpoint-url", self.daemon.endpoint, "sts", "assume-role", "--role-arn", arn,
                            "--role-session-name", "cli", "--output", "json"], env=env, capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        creds = json.loads(p.stdout)["Credentials"]
        env.update(AWS_ACCESS_KEY_ID=creds["AccessKeyId"], AWS_SECRET_ACCESS_KEY=creds["SecretAccessKey"],
                   AWS_SESSION_TOKEN=creds["SessionToken"])
        p = subprocess.run([AWS_CLI, "--endpoint-url", self.daemon.endpoint, "sts", "get-caller-identity",
                            "--query", "Arn", "--output", "text"], env=env, capture_output=True, text=True, timeout=60)
        self.assertEqual(p.stdout.strip(), f"arn:aws:sts::{self.account}:assumed-role/{role_name}/cli", p.stderr)
        p = subprocess.run([AWS_CLI, "--endpoint-url", self.daemon.endpoint, "s3", "cp", "-",
                            f"s3://{self.bucket}/cli.txt"], input="x", env=env, capture_output=True, text=True,
                           timeout=60)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("AccessDenied", p.stderr)


@unittest.skipUnless(HAVE_BOTO3, "boto3 is not installed for this Python")
class GroupsAndBoundariesTest(RolesBase):
    def test_group_members_get_the_groups_policies(self):
        group = unique("readers-")
        g = self.iam.create_group(GroupName=group, Path="/teams/")["Group"]
        self.assertTrue(g["GroupId"].startswith("AGPA"))
        self.assertEqual(g["Arn"], f"arn:aws:iam::{self.account}:group/teams/{group}")
        self.iam.attach_group_policy(GroupName=group, PolicyArn=S3_READ)
        self.iam.put_group_policy(GroupName=group, PolicyName="deny-private", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:GetObject",
                                                     "Resource": f"arn:aws:s3:::{self.bucket}/private/*"}]}))
        name, key, secret = new_user(self.iam, "member")
        s3 = client(self.daemon, "s3", key, secret)
        self.assertEqual(self.code(s3.get_object, Bucket=self.bucket, Key="public/a.txt"), "AccessDenied")
        self.iam.add_user_to_group(GroupName=group, UserName=name)
        s3.get_object(Bucket=self.bucket, Key="public/a.txt")
        self.assertEqual(self.code(s3.get_object, Bucket=self.bucket, Key="private/b.txt"), "AccessDenied")
        self.assertEqual([x["GroupName"] for x in self.iam.list_groups_for_user(UserName=name)["Groups"]], [group])
        self.assertEqual([u["UserName"] for u in self.iam.get_group(GroupName=group)["Users"]], [name])
        self.assertEqual(self.code(self.iam.delete_group, GroupName=group), "DeleteConflict")
        self.assertEqual(self.code(self.iam.delete_user, UserName=name), "DeleteConflict")
        self.iam.remove_user_from_group(GroupName=group, UserName=name)
        self.assertEqual(self.code(s3.get_object, Bucket=self.bucket, Key="public/a.txt"), "AccessDenied")
        self.iam.detach_group_policy(GroupName=group, PolicyArn=S3_READ)
        self.iam.delete_group_policy(GroupName=group, PolicyName="deny-private")
        self.iam.delete_group(GroupName=group)
        self.assertEqual(self.code(self.iam.get_group, GroupName=group), "NoSuchEntity")

    def test_permissions_boundary_caps_a_user(self):
        name, key, secret = new_user(self.iam, "bounded", managed=[S3_FULL])
        s3 = client(self.daemon, "s3", key, secret)
        s3.put_object(Bucket=self.bucket, Key="bounded/1", Body=b"1")
        self.iam.put_user_permissions_boundary(UserName=name, PermissionsBoundary=S3_READ)
        self.assertEqual(self.iam.get_user(UserName=name)["User"]["PermissionsBoundary"]["PermissionsBoundaryArn"],
                         S3_READ)
        self.assertEqual(self.code(s3.put_object, Bucket=self.bucket, Key="bounded/2", Body=b"2"), "AccessDenied")
        s3.get_object(Bucket=self.bucket, Key="bounded/1")
        self.assertEqual(self.iam.get_policy(PolicyArn=S3_READ)["Policy"]["PermissionsBoundaryUsageCount"], 1)
        self.iam.delete_user_permissions_boundary(UserName=name)
        s3.put_object(Bucket=self.bucket, Key="bounded/2", Body=b"2")
        self.assertEqual(self.code(self.iam.put_user_permissions_boundary, UserName=name,
                                   PermissionsBoundary=f"arn:aws:iam::{self.account}:policy/none"), "InvalidInput")

    def test_permissions_boundary_caps_a_role(self):
        _, sts, _ = self.user_sts(inline=allow("sts:AssumeRole"))
        name, arn = self.role(trust({"AWS": self.account}), policies=[S3_FULL], PermissionsBoundary=S3_READ)
        self.assertEqual(self.iam.get_role(RoleName=name)["Role"]["PermissionsBoundary"]["PermissionsBoundaryArn"],
                         S3_READ)
        s3 = session_client(self.daemon, "s3", sts.assume_role(RoleArn=arn, RoleSessionName="b1")["Credentials"])
        s3.get_object(Bucket=self.bucket, Key="public/a.txt")
        self.assertEqual(self.code(s3.put_object, Bucket=self.bucket, Key="r", Body=b"r"), "AccessDenied")
        self.iam.delete_role_permissions_boundary(RoleName=name)
        s3.put_object(Bucket=self.bucket, Key="r", Body=b"r")  # the same session: the change applies at once

    def test_list_paging(self):
        prefix = unique("page")
        for i in range(5):
            self.iam.create_group(GroupName=f"{prefix}-{i}", Path=f"/{prefix}/")
        seen, marker = [], None
        while True:
            kw = {"PathPrefix": f"/{prefix}/", "MaxItems": 2}
            if marker:
                kw["Marker"] = marker
            page = self.iam.list_groups(**kw)
            seen += [g["GroupName"] for g in page["Groups"]]
            self.assertLessEqual(len(page["Groups"]), 2)
            if not page["IsTruncated"]:
                break
            marker = page["Marker"]
        self.assertEqual(seen, [f"{prefix}-{i}" for i in range(5)])
        names = [g["GroupName"] for p in self.iam.get_paginator("list_groups").paginate(
            PathPrefix=f"/{prefix}/", PaginationConfig={"PageSize": 3}) for g in p["Groups"]]
        self.assertEqual(names, seen)


@unittest.skipUnless(HAVE_BOTO3, "boto3 is not installed for this Python")
@unittest.skipUnless(os.path.exists(CLOCKSHIFT), "ANNEX_CLOCKSHIFT does not name the clockshift library (run under ctest)")
class ExpiredTokenTest(RolesBase):
    """annexd and the clients read their wall clock's offset from a file the test changes."""

    clock_file = None

    @classmethod
    def setUpClass(cls):
        cls.clock_file = Path(tempfile.mkdtemp(prefix="annex-clock-")) / "offset"
        cls.clock_file.write_text("0\n")
        cls.daemon_kwargs = {"extra_env": cls.clockshift_env()}
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(cls.clock_file.parent, ignore_errors=True)

    @classmethod
    def clockshift_env(cls):
        return {"LD_PRELOAD": CLOCKSHIFT, "ANNEX_CLOCKSHIFT_FILE": str(cls.clock_file)}

    def test_expired_session_token(self):
        if not have(AWS_CLI):
            self.skipTest("awscli is not installed")
        _, _, (key, secret) = self.user_sts(inline=allow("sts:AssumeRole"))
        _, arn = self.role(trust({"AWS": self.account}), policies=[S3_READ])
        creds = client(self.daemon, "sts", key, secret).assume_role(
            RoleArn=arn, RoleSessionName="short", DurationSeconds=900)["Credentials"]
        env = self.daemon.client_env(creds["AccessKeyId"], creds["SecretAccessKey"])
        env.update(self.clockshift_env(), AWS_SESSION_TOKEN=creds["SessionToken"])

        def caller_identity():
            return subprocess.run([AWS_CLI, "--endpoint-url", self.daemon.endpoint, "sts", "get-caller-identity",
                                   "--output", "json"], env=env, capture_output=True, text=True, timeout=60)

        p = caller_identity()
        self.assertEqual(p.returncode, 0, p.stderr)
        self.clock_file.write_text("960\n")  # past the 15 minutes, for annexd and the client alike
        time.sleep(0.2)  # the offset is re-read every 50 ms
        try:
            p = caller_identity()
            self.assertNotEqual(p.returncode, 0)
            self.assertIn("ExpiredToken", p.stderr)
            s3 = subprocess.run([AWS_CLI, "--endpoint-url", self.daemon.endpoint, "s3api", "get-object", "--bucket",
                                 self.bucket, "--key", "public/a.txt", "/dev/null"], env=env, capture_output=True,
                                text=True, timeout=60)
            self.assertIn("ExpiredToken", s3.stderr)
        finally:
            self.clock_file.write_text("0\n")


if __name__ == "__main__":
    from harness import main
    main()
