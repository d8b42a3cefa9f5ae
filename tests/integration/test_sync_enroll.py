#!/usr/bin/python3
"""`annexctl sync enroll` with real annexd and annex-control processes on loopback.

An appliance started without any control-plane flag enrolls at run time and shows up as a zone; a restarted
annexd, still without flags, reconnects (the address is kept under its data dir). Wrong, reused and malformed
tokens, and a second enrollment without --force, fail with a non-zero exit and a message that says why. A token
from `annex-control sites token` plus --force re-enrolls the appliance: a new certificate for the same zone, and a
bucket created while the appliance was cut off arrives exactly once.
"""

import json
import os
import signal
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Daemon  # noqa: E402
from test_control_plane import ControlPlane, zone_of  # noqa: E402

SITE = "evora-2"
ZONE = zone_of(SITE)


def wait_for(what, cond, timeout=60):
    return harness.wait_for(what, cond, timeout)


def wrong_secret(token):
    prefix, site, secret, ca = token.split(".")
    return ".".join([prefix, site, ("B" if secret[0] == "A" else "A") + secret[1:], ca])


class SyncEnrollTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cp = ControlPlane().start()
        cls.token = cls.cp.create_site(SITE)
        cls.appliance = Daemon(extra_args=["--sync-heartbeat-ms", "200"]).start()
        cls.s3 = cls.appliance.boto3_client()

    @classmethod
    def tearDownClass(cls):
        cls.appliance.stop()
        if cls.cp.proc and cls.cp.proc.poll() is None:
            cls.cp.stop()

    @property
    def address(self):
        return f"127.0.0.1:{self.cp.sync_port}"

    def enroll(self, token, *extra, control_plane=None):
        return self.appliance.annexctl("sync", "enroll", "--control-plane", control_plane or self.address,
                                       "--token", token, *extra, check=False)

    def assert_fails(self, p, *phrases):
        self.assertNotEqual(p.returncode, 0, f"expected a failure, got: {p.stdout}")
        for phrase in phrases:
            self.assertIn(phrase, p.stderr)

    def sync_status(self):
        return json.loads(self.appliance.annexctl("sync", "status").stdout)

    def zone(self):
        status, _, body = self.cp.api("GET", f"/v1/zones/{ZONE}")
        self.assertEqual(status, 200, body)
        return body.get("zone", body)

    def reported(self):
        status, _, body = self.cp.api("GET", f"/v1/zones/{ZONE}/resources")
        self.assertEqual(status, 200, body)
        return {r["id"]: r for r in body["resources"] if r["type"] == "bucket"}

    def enrollments(self):
        status, _, body = self.cp.api("GET", f"/v1/zones/{ZONE}/history", query={"max": "100"})
        self.assertEqual(status, 200, body)
        return [e["detail"] for e in body["events"] if e["event"] == "enrolled"]

    def assert_exactly_once(self):
        harness.wait_applied_exactly_once(self.sync_status, lambda: self.zone()["last_applied_seq"])

    # -- the story, in order ----------------------------------------------

    def test_1_starts_unenrolled_and_serving(self):
        status = self.sync_status()
        self.assertFalse(status["enrolled"])
        self.assertEqual(status["control_plane"], "")
        self.s3.create_bucket(Bucket="before-enrolling")
        # Zero-touch provisioning: a command for the site waits for the appliance's first session.
        status, _, body = self.cp.api("POST", f"/v1/zones/{ZONE}/commands",
                                      body={"kind": "CreateBucket", "args": {"bucket": "provisioned"},
                                            "id": "cmd-provision-1"})
        self.assertEqual((status, body["state"]), (201, "pending"), body)

    def test_2_malformed_requests_are_refused_with_400(self):
        self.assert_fails(self.enroll(self.token, control_plane="no-port"), "HTTP 400", "ValidationError",
                          "control_plane must be HOST:PORT")
        self.assert_fails(self.enroll("not-a-token"), "HTTP 400", "not an enrollment token")
        status, _, body = self.appliance.signed("POST", "/_annex/api/sync/enroll", service="annex",
                                                headers={"content-type": "application/json"},
                                                body=json.dumps({"control_plane": self.address}))
        self.assertEqual(status, 400, body)
        self.assertEqual(json.loads(body)["__type"], "ValidationError")
        self.assertIn("token is required", json.loads(body)["message"])
        self.assertFalse(self.sync_status()["enrolled"])

    def test_3_a_wrong_token_fails_with_the_control_planes_reason(self):
        p = self.enroll(wrong_secret(self.token))
        self.assert_fails(p, "enrollment failed",
                          "the enrollment token is not valid (unknown, wrong or already used)")
        status = self.sync_status()
        self.assertFalse(status["enrolled"])
        self.assertFalse(status["enrolling"])

    def test_4_enrolls_without_a_restart(self):
        p = self.enroll(self.token)
        self.assertEqual(p.returncode, 0, p.stderr)
        status = json.loads(p.stdout)
        self.assertTrue(status["enrolled"])
        self.assertFalse(status["enrolling"])
        self.assertEqual(status["zone"], ZONE)
        self.assertEqual(status["control_plane"], self.address)
        self.assertTrue(status["connected"], status)
        wait_for("zone available", lambda: self.zone()["state"] == "available")
        wait_for("before-enrolling reported", lambda: "before-enrolling" in self.reported())
        # The command queued before enrollment was delivered and applied once.
        wait_for("queued command applied",
                 lambda: self.cp.api("GET", f"/v1/zones/{ZONE}/commands/cmd-provision-1")[2]["state"] == "succeeded")
        self.assertIn("provisioned", [b["Name"] for b in self.s3.list_buckets()["Buckets"]])
        identity = json.loads((self.appliance.data_dir / "sync" / "identity" / "identity.json").read_text())
        self.assertEqual(identity["control_plane"], self.address)

    def test_5_a_second_enrollment_needs_force_and_a_fresh_token(self):
        self.assert_fails(self.enroll(self.token), "HTTP 409", "AlreadyEnrolled", ZONE, "--force")
        self.assert_fails(self.enroll(self.token, "--force"), "enrollment failed",
                          "the enrollment token is not valid (unknown, wrong or already used)")
        # The refused token changed nothing: same zone, same certificate, still in session.
        wait_for("connected again", lambda: self.sync_status()["connected"])
        self.assertEqual(self.sync_status()["zone"], ZONE)
        self.assertEqual(len(self.enrollments()), 1)

    def test_6_a_restart_without_flags_reconnects(self):
        self.appliance.stop()
        self.appliance.start()
        status = wait_for("reconnected", lambda: (s := self.sync_status())["connected"] and s)
        self.assertEqual(status["zone"], ZONE)
        self.assertEqual(status["control_plane"], self.address)
        self.s3.create_bucket(Bucket="after-restart")
        wait_for("after-restart reported", lambda: "after-restart" in self.reported())

    def test_7_reenrolls_with_a_new_token_and_delivers_what_waited(self):
        # Cut off: the control plane is gone while the appliance changes things.
        self.cp.proc.send_signal(signal.SIGKILL)
        self.cp.proc.wait()
        wait_for("disconnected", lambda: not self.sync_status()["connected"])
        self.s3.create_bucket(Bucket="while-cut-off")
        wait_for("change queued", lambda: self.sync_status()["outbox_depth"] >= 1)

        # The operator re-issues the site's token (the control plane need not run for that) and re-enrolls;
        # while the control plane is unreachable the command gives up waiting, the agent keeps trying.
        p = self.cp.cli("sites", "token", SITE)
        self.assertIn("may re-enroll", p.stdout)
        token = p.stdout.strip().splitlines()[-1]
        p = self.enroll(token, "--force", "--wait", "2")
        self.assert_fails(p, "not enrolled within 2 s", "keeps trying")
        self.assertTrue(self.sync_status()["enrolling"])

        self.cp.start()
        status = wait_for("re-enrolled and drained",
                          lambda: (s := self.sync_status())["connected"] and s["outbox_depth"] == 0 and s)
        self.assertFalse(status["enrolling"])
        self.assertEqual(status["enrollment_error"], "")
        self.assertEqual(status["zone"], ZONE)
        enrollments = self.enrollments()
        self.assertEqual(len(enrollments), 2, enrollments)
        self.assertTrue(any(d.startswith("re-enrolled") for d in enrollments), enrollments)
        reported = self.reported()
        self.assertIn("while-cut-off", reported)
        self.assertEqual(reported["while-cut-off"]["version"], 1)
        self.assert_exactly_once()

    def test_8_reenrolls_while_connected_with_force(self):
        token = self.cp.cli("sites", "token", SITE).stdout.strip().splitlines()[-1]
        p = self.enroll(token, "--force")
        self.assertEqual(p.returncode, 0, p.stderr)
        status = json.loads(p.stdout)
        self.assertEqual(status["zone"], ZONE)
        self.assertTrue(status["connected"], status)
        self.assertEqual(len(self.enrollments()), 3)
        self.s3.create_bucket(Bucket="after-reenrolling")
        wait_for("after-reenrolling reported", lambda: "after-reenrolling" in self.reported())
        wait_for("drained", lambda: self.sync_status()["outbox_depth"] == 0)
        self.assert_exactly_once()


if __name__ == "__main__":
    harness.main()
