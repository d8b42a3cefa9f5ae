#!/usr/bin/python3
"""SimulatePrincipalPolicy agrees with the live answer, against a real annexd.

A table of (principal, action, resource, context) cases after AWS's policy
evaluation examples — managed and inline policies, an explicit Deny beating
an Allow, NotAction and NotResource, `?` wildcards, the ${aws:username} home
folder with s3:prefix, aws:SourceIp both ways, a permissions boundary, group
policies, an assumed role. For each case the test performs the real request
with the principal's own credentials and asks the simulator the same
question; both must give the documented answer.
"""

import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import REGION, AnnexTestCase  # noqa: E402
from test_iam_policies import client, unique  # noqa: E402

try:
    import boto3
    from botocore.config import Config
    from botocore.exceptions import ClientError
    HAVE_BOTO3 = True
except ImportError:  # pragma: no cover - reported as a skip
    HAVE_BOTO3 = False

S3_READ = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
S3_FULL = "arn:aws:iam::aws:policy/AmazonS3FullAccess"


def doc(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def stmt(effect, actions, resources="*", condition=None, negate_action=False, negate_resource=False):
    s = {"Effect": effect, ("NotAction" if negate_action else "Action"): actions,
         ("NotResource" if negate_resource else "Resource"): resources}
    if condition:
        s["Condition"] = condition
    return s


# The requests each principal makes, in the order of the expectation strings below.
REQUESTS = ["get-public", "get-secret", "put-home", "put-public", "list-home", "list-secret", "delete-public",
            "iam-get-self"]

# principal -> (how it is set up, expected answers: 1 allowed, 0 denied, one per request)
def principals(bucket):
    b = f"arn:aws:s3:::{bucket}"
    return {
        "s3-read": ({"managed": [S3_READ]}, "11001100"),
        "full-but-secret": ({"managed": [S3_FULL], "inline": doc(stmt("Deny", "s3:*", f"{b}/secret/*"))},
                            "10111110"),
        "home-folder": ({"inline": doc(
            stmt("Allow", "s3:ListBucket", b, {"StringLike": {"s3:prefix": ["home/${aws:username}/*"]}}),
            stmt("Allow", ["s3:GetObject", "s3:PutObject"], f"{b}/home/${{aws:username}}/*"))}, "00101000"),
        "not-resource": ({"inline": doc(stmt("Allow", "s3:*", f"{b}/secret/*", negate_resource=True))}, "10111110"),
        "office-ip-only": ({"inline": doc(stmt("Allow", ["s3:Get*", "s3:List*"], "*",
                                               {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}))}, "00000000"),
        "not-office-ip": ({"inline": doc(stmt("Allow", "s3:GetObject", "*",
                                              {"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}))}, "11000000"),
        "bounded": ({"managed": [S3_FULL], "boundary": S3_READ}, "11001100"),
        "group-member": ({"group": S3_READ, "inline": doc(stmt("Deny", "s3:GetObject", f"{b}/public/*"))},
                         "01001100"),
        "not-action": ({"inline": doc(stmt("Allow", ["s3:Delete*", "s3:Put*"], "*", negate_action=True))},
                       "11001101"),
        "nothing": ({}, "00000000"),
        "question-mark": ({"inline": doc(stmt("Allow", "s3:Get?bject", f"{b}/public/*"))}, "10000000"),
        "mfa-required": ({"inline": doc(stmt("Allow", "s3:*", "*",
                                             {"Bool": {"aws:MultiFactorAuthPresent": "true"}}))}, "00000000"),
        "role": ({"role": [S3_READ]}, "11001100"),
    }


@unittest.skipUnless(HAVE_BOTO3, "boto3 is not installed for this Python")
class SimulatorAgreesWithLiveTest(AnnexTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.iam = client(cls.daemon, "iam")
        cls.s3 = client(cls.daemon, "s3")
        cls.account = client(cls.daemon, "sts").get_caller_identity()["Account"]
        cls.bucket = unique("sim-")
        cls.s3.create_bucket(Bucket=cls.bucket)
        for key in ("public/p.txt", "secret/s.txt"):
            cls.s3.put_object(Bucket=cls.bucket, Key=key, Body=b"x")

    def set_up(self, name, setup):
        """Creates the principal; returns (its ARN for the simulator, boto3 session kwargs, user name or None)."""
        prefix = unique(name + "-")
        if "role" in setup:
            trust = doc({"Effect": "Allow", "Principal": {"AWS": self.account}, "Action": "sts:AssumeRole"})
            arn = self.iam.create_role(RoleName=prefix, AssumeRolePolicyDocument=trust)["Role"]["Arn"]
            for p in setup["role"]:
                self.iam.attach_role_policy(RoleName=prefix, PolicyArn=p)
            assumer = unique("assumer-")
            self.iam.create_user(UserName=assumer)
            self.iam.put_user_policy(UserName=assumer, PolicyName="a", PolicyDocument=doc(stmt("Allow", "sts:AssumeRole")))
            k = self.iam.create_access_key(UserName=assumer)["AccessKey"]
            creds = client(self.daemon, "sts", k["AccessKeyId"], k["SecretAccessKey"]).assume_role(
                RoleArn=arn, RoleSessionName="sim")["Credentials"]
            return arn, {"aws_access_key_id": creds["AccessKeyId"], "aws_secret_access_key": creds["SecretAccessKey"],
                         "aws_session_token": creds["SessionToken"]}, None
        user = self.iam.create_user(UserName=prefix)["User"]
        for p in setup.get("managed", []):
            self.iam.attach_user_policy(UserName=prefix, PolicyArn=p)
        if "inline" in setup:
            self.iam.put_user_policy(UserName=prefix, PolicyName="inline", PolicyDocument=setup["inline"])
        if "boundary" in setup:
            self.iam.put_user_permissions_boundary(UserName=prefix, PermissionsBoundary=setup["boundary"])
        if "group" in setup:
            self.iam.create_group(GroupName=prefix)
            self.iam.attach_group_policy(GroupName=prefix, PolicyArn=setup["group"])
            self.iam.add_user_to_group(GroupName=prefix, UserName=prefix)
        k = self.iam.create_access_key(UserName=prefix)["AccessKey"]
        return user["Arn"], {"aws_access_key_id": k["AccessKeyId"], "aws_secret_access_key": k["SecretAccessKey"]}, prefix

    def live(self, request, session, user):
        """Performs the request; True when allowed, False on AccessDenied."""
        def c(service):
            return boto3.session.Session(**session).client(
                service, endpoint_url=self.daemon.endpoint, region_name=REGION,
                config=Config(retries={"max_attempts": 1, "mode": "standard"}))
        home = f"home/{user or 'role'}/"
        calls = {
            "get-public": lambda: c("s3").get_object(Bucket=self.bucket, Key="public/p.txt"),
            "get-secret": lambda: c("s3").get_object(Bucket=self.bucket, Key="secret/s.txt"),
            "put-home": lambda: c("s3").put_object(Bucket=self.bucket, Key=home + "n.txt", Body=b"n"),
            "put-public": lambda: c("s3").put_object(Bucket=self.bucket, Key="public/n.txt", Body=b"n"),
            "list-home": lambda: c("s3").list_objects_v2(Bucket=self.bucket, Prefix=home),
            "list-secret": lambda: c("s3").list_objects_v2(Bucket=self.bucket, Prefix="secret/"),
            "delete-public": lambda: c("s3").delete_object(Bucket=self.bucket, Key="public/none.txt"),
            "iam-get-self": lambda: c("iam").get_user(),
        }
        try:
            calls[request]()
            return True
        except ClientError as e:
            code = e.response["Error"]["Code"]
            self.assertIn(code, ("AccessDenied", "AccessDeniedException"), f"{request}: {e}")
            return False

    def simulate(self, arn, request, user):
        b = f"arn:aws:s3:::{self.bucket}"
        home = f"home/{user or 'role'}/"
        action, resource, context = {
            "get-public": ("s3:GetObject", f"{b}/public/p.txt", {}),
            "get-secret": ("s3:GetObject", f"{b}/secret/s.txt", {}),
            "put-home": ("s3:PutObject", f"{b}/{home}n.txt", {}),
            "put-public": ("s3:PutObject", f"{b}/public/n.txt", {}),
            "list-home": ("s3:ListBucket", b, {"s3:prefix": home}),
            "list-secret": ("s3:ListBucket", b, {"s3:prefix": "secret/"}),
            "delete-public": ("s3:DeleteObject", f"{b}/public/none.txt", {}),
            "iam-get-self": ("iam:GetUser", arn if user else f"arn:aws:iam::{self.account}:user/", {}),
        }[request]
        context["aws:SourceIp"] = "127.0.0.1"
        entries = [{"ContextKeyName": k, "ContextKeyValues": [v],
                    "ContextKeyType": "ip" if k == "aws:SourceIp" else "string"} for k, v in context.items()]
        out = self.iam.simulate_principal_policy(PolicySourceArn=arn, ActionNames=[action], ResourceArns=[resource],
                                                 ContextEntries=entries)
        [result] = out["EvaluationResults"]
        self.assertEqual(result["EvalActionName"], action)
        return result["EvalDecision"]

    def test_simulator_agrees_with_live_requests(self):
        cases = 0
        for name, (setup, expected) in principals(self.bucket).items():
            arn, session, user = self.set_up(name, setup)
            for request, want in zip(REQUESTS, expected):
                with self.subTest(principal=name, request=request):
                    live = self.live(request, session, user)
                    decision = self.simulate(arn, request, user)
                    self.assertEqual(live, want == "1", f"live answer for {name} {request}")
                    self.assertEqual(decision == "allowed", want == "1", f"simulated {decision} for {name} {request}")
                    cases += 1
        self.assertGreaterEqual(cases, 50)

    def test_explicit_deny_and_custom_policies(self):
        allow_all = doc(stmt("Allow", "s3:*"))
        deny_secret = doc(stmt("Deny", "s3:GetObject", f"arn:aws:s3:::{self.bucket}/secret/*"))
        out = self.iam.simulate_custom_policy(
            PolicyInputList=[allow_all, deny_secret], ActionNames=["s3:GetObject", "s3:PutObject"],
            ResourceArns=[f"arn:aws:s3:::{self.bucket}/secret/a", f"arn:aws:s3:::{self.bucket}/public/a"])
        decisions = [(r["EvalActionName"], r["EvalResourceName"].split("/")[-2], r["EvalDecision"])
                     for r in out["EvaluationResults"]]
        self.assertEqual(decisions, [("s3:GetObject", "secret", "explicitDeny"), ("s3:GetObject", "public", "allowed"),
                                     ("s3:PutObject", "secret", "allowed"), ("s3:PutObject", "public", "allowed")])
        # A resource policy naming another account's user, for a caller of this account: no identity allow needed.
        policy = json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{self.account}:user/reader"},
            "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{self.bucket}/*"}]})
        out = self.iam.simulate_custom_policy(
            PolicyInputList=[doc(stmt("Allow", "logs:*"))], ActionNames=["s3:GetObject"],
            ResourceArns=[f"arn:aws:s3:::{self.bucket}/k"], ResourcePolicy=policy,
            CallerArn=f"arn:aws:iam::{self.account}:user/reader")
        self.assertEqual(out["EvaluationResults"][0]["EvalDecision"], "allowed")
        with self.assertRaises(ClientError) as e:
            self.iam.simulate_custom_policy(PolicyInputList=["{"], ActionNames=["s3:GetObject"])
        self.assertEqual(e.exception.response["Error"]["Code"], "MalformedPolicyDocument")
        with self.assertRaises(ClientError) as e:
            self.iam.simulate_principal_policy(PolicySourceArn=f"arn:aws:iam::{self.account}:user/nobody-here",
                                               ActionNames=["s3:GetObject"])
        self.assertEqual(e.exception.response["Error"]["Code"], "NoSuchEntity")

    def test_paging(self):
        out = self.iam.simulate_custom_policy(PolicyInputList=[doc(stmt("Allow", "s3:*"))],
                                              ActionNames=[f"s3:Get{i}" for i in range(5)], MaxItems=2)
        self.assertEqual(len(out["EvaluationResults"]), 2)
        self.assertTrue(out["IsTruncated"])
        names = [r["EvalActionName"] for page in self.iam.get_paginator("simulate_custom_policy").paginate(
            PolicyInputList=[doc(stmt("Allow", "s3:*"))], ActionNames=[f"s3:Get{i}" for i in range(5)],
            PaginationConfig={"PageSize": 2}) for r in page["EvaluationResults"]]
        self.assertEqual(names, [f"s3:Get{i}" for i in range(5)])


if __name__ == "__main__":
    from harness import main
    main()
