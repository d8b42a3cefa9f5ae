#!/usr/bin/python3
"""IAM privilege boundaries against a real annexd.

The regression for a reported account takeover: an IAM user sent
`Action=CreateAccessKey&UserName=` (present but empty), which the identity
store read as "the account root", and got a new root access key; with it the
admin API created accounts. Also the same trick on DeleteAccessKey and
ListAccessKeys, a user reaching another user's keys, and the admin API
refusing everything but the appliance root itself.

IAM Query requests are signed with botocore (SigV4Auth + AWSRequest) and sent
raw, because awscli refuses an empty --user-name.
"""

import json
import os
import subprocess
import sys
import unittest
import urllib.parse
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import REGION, AnnexTestCase, annexctl_path, have, http_request  # noqa: E402

try:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
except ImportError:  # pragma: no cover - the test is skipped without botocore
    SigV4Auth = None


def texts(body, tag):
    root = ET.fromstring(body)
    return [e.text or "" for e in root.iter() if e.tag == tag or e.tag.endswith("}" + tag)]


def error_code(body):
    codes = texts(body, "Code")
    return codes[0] if codes else None


class IamPrivilegeTest(AnnexTestCase):

    @classmethod
    def setUpClass(cls):
        if SigV4Auth is None:
            raise unittest.SkipTest("botocore is not installed")
        super().setUpClass()
        root = cls.daemon.creds()
        cls.root = root
        cls.account_id = cls.iam_ok(root, "GetUser")["Arn"][0].split(":")[4]
        # AWS's example policy for users who manage their own keys, and nothing else.
        self_management = json.dumps({"Version": "2012-10-17", "Statement": {
            "Effect": "Allow", "Resource": "arn:aws:iam::*:user/${aws:username}",
            "Action": ["iam:GetUser", "iam:CreateAccessKey", "iam:ListAccessKeys", "iam:UpdateAccessKey",
                       "iam:DeleteAccessKey"]}})
        for name in ("mallory", "bob"):
            cls.iam_ok(root, "CreateUser", UserName=name)
            cls.iam_ok(root, "PutUserPolicy", UserName=name, PolicyName="self", PolicyDocument=self_management)
        cls.mallory = cls.new_key(root, "mallory")
        cls.bob = cls.new_key(root, "bob")

    # -- helpers --------------------------------------------------------------

    @classmethod
    def iam(cls, creds, action, params=None, **kw):
        """One signed IAM Query request; `params` (a list of pairs) keeps order and duplicates."""
        pairs = [("Action", action), ("Version", "2010-05-08")] + list(params or []) + list(kw.items())
        body = urllib.parse.urlencode(pairs).encode()
        url = cls.daemon.endpoint + "/"
        req = AWSRequest(method="POST", url=url, data=body,
                         headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
        SigV4Auth(Credentials(creds[0], creds[1]), "iam", REGION).add_auth(req)
        return http_request("POST", url, headers=dict(req.headers.items()), body=body)

    @classmethod
    def iam_ok(cls, creds, action, params=None, **kw):
        status, _, body = cls.iam(creds, action, params, **kw)
        assert status == 200, f"{action}: {status} {body[:400]!r}"
        root = ET.fromstring(body)
        out = {}
        for e in root.iter():
            out.setdefault(e.tag.split("}")[-1], []).append(e.text or "")
        return out

    @classmethod
    def new_key(cls, creds, user):
        got = cls.iam_ok(creds, "CreateAccessKey", UserName=user)
        return got["AccessKeyId"][0], got["SecretAccessKey"][0]

    def root_keys(self):
        return sorted(self.iam_ok(self.root, "ListAccessKeys")["AccessKeyId"])

    def assertIamError(self, response, status, code):
        got_status, headers, body = response
        self.assertEqual(got_status, status, body[:500])
        self.assertEqual(error_code(body), code, body[:500])
        self.assertTrue(headers.get("content-type", "").startswith("text/xml"), headers)
        self.assertIn(b"<ErrorResponse", body)
        self.assertNotIn(b"SecretAccessKey", body)

    def annexctl_as(self, creds, *args):
        if not have(annexctl_path()):
            raise unittest.SkipTest(f"annexctl binary not found at {annexctl_path()}")
        env = {k: v for k, v in os.environ.items() if not k.startswith("ANNEX_")}
        env["ANNEX_ROOT_ACCESS_KEY_ID"], env["ANNEX_ROOT_SECRET_ACCESS_KEY"] = creds
        return subprocess.run([annexctl_path(), "--endpoint", self.daemon.endpoint,
                               "--data-dir", str(self.daemon.workdir / "no-such-dir"), *args],
                              env=env, capture_output=True, text=True, timeout=60)

    def account_names(self):
        return [a["AccountName"] for a in json.loads(self.daemon.annexctl("accounts", "list").stdout)["Accounts"]]

    # -- the reported attack ----------------------------------------------------

    def test_empty_user_name_does_not_reach_the_root(self):
        before = self.root_keys()
        # Step 2: a root key for the asking.
        self.assertIamError(self.iam(self.mallory, "CreateAccessKey", UserName=""), 400, "ValidationError")
        self.assertEqual(self.root_keys(), before)
        # Step 4: the root's keys listed, and deleted.
        listed = self.iam(self.mallory, "ListAccessKeys", UserName="")
        self.assertIamError(listed, 400, "ValidationError")
        for key in before:
            self.assertNotIn(key.encode(), listed[2])
        self.assertIamError(self.iam(self.mallory, "DeleteAccessKey", UserName="", AccessKeyId=self.root[0]),
                            400, "ValidationError")
        self.assertIamError(self.iam(self.mallory, "UpdateAccessKey", UserName="", AccessKeyId=self.root[0],
                                     Status="Inactive"), 400, "ValidationError")
        # Without UserName the request is about mallory: the root's key id is not hers.
        self.assertIamError(self.iam(self.mallory, "DeleteAccessKey", AccessKeyId=self.root[0]), 404, "NoSuchEntity")
        self.assertEqual(self.root_keys(), before)
        self.assertIn(self.root[0], before)
        # A duplicate UserName cannot smuggle the empty one past a valid first copy.
        self.assertIamError(self.iam(self.mallory, "CreateAccessKey", [("UserName", "mallory"), ("UserName", "")]),
                            400, "ValidationError")
        # The root itself gets the same answer: an empty name never means "me".
        self.assertIamError(self.iam(self.root, "CreateAccessKey", UserName=""), 400, "ValidationError")
        self.assertEqual(self.root_keys(), before)

    def test_user_cannot_reach_other_users(self):
        bob_keys = self.iam_ok(self.root, "ListAccessKeys", UserName="bob")["AccessKeyId"]
        arn = f"arn:aws:iam::{self.account_id}:user/mallory"
        for action, extra in (("CreateAccessKey", {}), ("ListAccessKeys", {}),
                              ("DeleteAccessKey", {"AccessKeyId": self.bob[0]}),
                              ("UpdateAccessKey", {"AccessKeyId": self.bob[0], "Status": "Inactive"}),
                              ("GetUser", {}), ("DeleteUser", {})):
            response = self.iam(self.mallory, action, UserName="bob", **extra)
            self.assertIamError(response, 403, "AccessDenied")
            self.assertIn(f"User: {arn} is not authorized to perform: iam:{action} on resource: "
                          f"arn:aws:iam::{self.account_id}:user/bob".encode(), response[2])
        self.assertIamError(self.iam(self.mallory, "CreateUser", UserName="eve"), 403, "AccessDenied")
        self.assertIamError(self.iam(self.mallory, "ListUsers"), 403, "AccessDenied")
        self.assertEqual(self.iam_ok(self.root, "ListAccessKeys", UserName="bob")["AccessKeyId"], bob_keys)
        # Every refusal is in the log: who, what, on what, from where.
        log = self.daemon.log_path.read_text(errors="replace")
        lines = [l for l in log.splitlines() if "privileged request refused" in l and "iam:UpdateAccessKey" in l
                 and "user/bob" in l]
        self.assertTrue(lines, "no refusal line in the log")
        self.assertIn(f"principal={arn}", lines[-1])
        self.assertIn(f"access_key_id={self.mallory[0]}", lines[-1])
        self.assertIn("remote=127.0.0.1:", lines[-1])

    def test_user_manages_its_own_keys(self):
        made = self.iam_ok(self.mallory, "CreateAccessKey")
        key = made["AccessKeyId"][0]
        self.assertEqual(made["UserName"], ["mallory"])
        self.assertIn(key, self.iam_ok(self.mallory, "ListAccessKeys", UserName="mallory")["AccessKeyId"])
        self.iam_ok(self.mallory, "UpdateAccessKey", AccessKeyId=key, Status="Inactive")
        self.iam_ok(self.mallory, "DeleteAccessKey", UserName="mallory", AccessKeyId=key)
        self.assertEqual(self.iam_ok(self.mallory, "GetUser")["UserName"], ["mallory"])

    # -- the admin API ------------------------------------------------------------

    def test_admin_api_refuses_everyone_but_the_root(self):
        tenant = self.daemon.create_account("tenant-" + os.urandom(3).hex())
        tenant_root = (tenant["AccessKeyId"], tenant["SecretAccessKey"])
        before = self.account_names()
        # Step 3 with the keys mallory can actually hold, and with another account's root key.
        for what, creds in (("a user of the root account", self.mallory),
                            ("another account's root", tenant_root)):
            p = self.annexctl_as(creds, "accounts", "create", "stolen")
            self.assertNotEqual(p.returncode, 0, f"{what}: {p.stdout}")
            self.assertIn("AccessDenied", p.stdout + p.stderr, what)
            p = self.annexctl_as(creds, "accounts", "list")
            self.assertNotEqual(p.returncode, 0, what)
        self.assertEqual(self.account_names(), before)
        self.assertNotIn("stolen", before)

    def test_admin_api_refuses_empty_names(self):
        before = self.account_names()
        for body in (b"{}", b'{"name": ""}', b'{"name": null}', b"", b'{"Name": "x"}'):
            status, _, reply = self.daemon.signed("POST", "/_annex/api/accounts", body=body,
                                                  headers={"content-type": "application/json"}, service="annex")
            self.assertEqual(status, 400, reply)
            self.assertEqual(json.loads(reply)["__type"], "ValidationError", reply)
        self.assertEqual(self.account_names(), before)


if __name__ == "__main__":
    harness.main()
