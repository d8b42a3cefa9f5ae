#!/usr/bin/python3
"""Sync crash test: kill -9 of the appliance (annexd) and of the control plane (annex-control) at random
moments, over CYCLES cycles (default 20), while the appliance keeps creating and deleting buckets.

After every cycle both are running again; at the end the control plane must hold exactly the appliance's
buckets (nothing lost), and must have applied exactly as many records as the appliance's outbox handed out
(nothing applied twice, nothing skipped). A command queued on the control plane before the crashes is applied
once. SYNC_CRASH_SEED makes a run repeatable.
"""

import json
import os
import random
import signal
import sys
import time
import unittest
import warnings

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from harness import Daemon, wait_applied_exactly_once, wait_for  # noqa: E402
from test_control_plane import ControlPlane, zone_of  # noqa: E402

CYCLES = int(os.environ.get("CYCLES", "20"))
SEED = int(os.environ.get("SYNC_CRASH_SEED", str(int(time.time()))))
ZONE = zone_of("chaos")


class SyncCrashTest(unittest.TestCase):
    def test_kill9_on_both_sides_loses_and_duplicates_nothing(self):
        rng = random.Random(SEED)
        print(f"SYNC_CRASH_SEED={SEED} CYCLES={CYCLES}", file=sys.stderr)
        cp = ControlPlane().start()
        token = cp.create_site("chaos")
        appliance = Daemon(extra_args=["--control-plane", f"127.0.0.1:{cp.sync_port}", "--enrollment-token", token,
                                       "--sync-heartbeat-ms", "150"]).start()
        self.addCleanup(lambda: appliance.proc and appliance.proc.poll() is None and appliance.proc.kill())
        self.addCleanup(lambda: cp.proc and cp.proc.poll() is None and cp.proc.kill())
        warnings.simplefilter("ignore", ResourceWarning)  # boto3's pooled sockets outlive its clients

        def status():
            return json.loads(appliance.annexctl("sync", "status").stdout)
        wait_for("enrolled", lambda: status()["connected"])
        st, _, cmd = cp.api("POST", f"/v1/zones/{ZONE}/commands",
                            {"kind": "CreateBucket", "args": {"bucket": "commanded"}, "id": "cmd-chaos-1"})
        self.assertEqual(st, 201, cmd)

        expected = set()
        n = 0
        for cycle in range(CYCLES):
            s3 = appliance.boto3_client()
            for _ in range(rng.randint(1, 4)):
                name = f"b-{cycle}-{n}"
                n += 1
                s3.create_bucket(Bucket=name)
                expected.add(name)
            if expected and rng.random() < 0.3:
                victim = rng.choice(sorted(expected))
                s3.delete_bucket(Bucket=victim)
                expected.discard(victim)
            time.sleep(rng.uniform(0, 0.4))  # let some records be in flight
            if rng.random() < 0.5:
                appliance.proc.send_signal(signal.SIGKILL)
                appliance.proc.wait()
                appliance.start()
            else:
                cp.proc.send_signal(signal.SIGKILL)
                cp.proc.wait()
                cp.start()

        wait_for("outbox drained", lambda: status()["connected"] and status()["outbox_depth"] == 0, timeout=60)
        s3 = appliance.boto3_client()
        local = {b["Name"] for b in s3.list_buckets()["Buckets"]}
        self.assertEqual(local, expected | {"commanded"})

        def reported():
            st, _, body = cp.api("GET", f"/v1/zones/{ZONE}/resources")
            return {r["id"] for r in body["resources"]} if st == 200 else None
        wait_for("control plane agrees", lambda: reported() == local, timeout=30)
        wait_applied_exactly_once(status, lambda: cp.api("GET", f"/v1/zones/{ZONE}")[2]["last_applied_seq"])
        st, _, c = cp.api("GET", f"/v1/zones/{ZONE}/commands/cmd-chaos-1")
        self.assertEqual((c.get("state") or c.get("command", {}).get("state")), "succeeded")
        appliance.stop()
        cp.stop()


if __name__ == "__main__":
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    import unittest_main
    unittest_main.run()
