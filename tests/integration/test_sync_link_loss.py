#!/usr/bin/python3
"""Link loss between a real annexd and a real annex-control, through a TCP proxy the test controls
(tcp_proxy.py). The appliance enrolls through the proxy and syncs through it; then the link is

  1. dropped (every connection reset, new ones reset on accept),
  2. stalled (connections stay open, no byte moves: only gRPC keepalive can notice), and
  3. flapped (down 0.5 s, up 1.5 s, eight times) while buckets are created in a loop.

Each time S3 keeps serving, the appliance's sync status (GET /_annex/api/sync, `annexctl sync status`) shows
what a user should see, and once the link is back every bucket made meanwhile reaches the control plane
exactly once and in order: the control plane's last applied sequence number equals the agent's last one,
which equals the number of buckets created (one record each) plus the agent's own event records, and every
resource is at version 1. (No usage record falls inside the test: its usage interval is an hour.)
"""

import json
import os
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Daemon  # noqa: E402
from tcp_proxy import TcpProxy  # noqa: E402
from test_control_plane import ControlPlane, zone_of  # noqa: E402

SITE = "faro-1"
ZONE = zone_of(SITE)
HEARTBEAT_MS = 200
# The agent's gRPC keepalive pings every 10 s and gives up 5 s after an unanswered ping (agent.cc); the control
# plane's is the same (sync_server.cc). Either side should notice a stalled link well within this.
KEEPALIVE_DETECTION_LIMIT = 30
SESSION_RE = re.compile(r"^session (\d+)")


def wait_for(what, cond, timeout=30, interval=0.1):
    return harness.wait_for(what, cond, timeout, interval)


class SyncLinkLossTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cp = ControlPlane().start()
        cls.proxy = None
        cls.appliance = None
        try:
            token = cls.cp.create_site(SITE)
            cls.proxy = TcpProxy("127.0.0.1", cls.cp.sync_port)
            cls.appliance = Daemon(extra_args=["--control-plane", cls.proxy.address, "--enrollment-token", token,
                                               "--sync-heartbeat-ms", str(HEARTBEAT_MS),
                                               "--sync-usage-interval-ms", "3600000"]).start()
            cls.s3 = cls.appliance.boto3_client()
            cls.created = []  # every bucket created on the appliance, in order
        except BaseException:
            cls._stop_all()
            raise

    @classmethod
    def tearDownClass(cls):
        cls._stop_all()

    @classmethod
    def _stop_all(cls):
        try:
            if cls.appliance is not None:
                cls.appliance.stop()
        finally:
            if cls.proxy is not None:
                cls.proxy.close()
            if cls.cp.proc and cls.cp.proc.poll() is None:
                cls.cp.stop()

    def setUp(self):
        self.proxy.forward()
        self.settled()

    # -- views from both sides ----------------------------------------------------------------------------

    def sync_status(self):
        """GET /_annex/api/sync with the root credentials (what `annexctl sync status` prints)."""
        status, _, body = self.appliance.signed("GET", "/_annex/api/sync", service="annex", timeout=10)
        self.assertEqual(status, 200, body)
        return json.loads(body)

    def annexctl_sync_status(self):
        return json.loads(self.appliance.annexctl("sync", "status").stdout)

    def zone(self):
        status, _, body = self.cp.api("GET", f"/v1/zones/{ZONE}")
        self.assertEqual(status, 200, body)
        return body

    def resources(self):
        """The control plane's bucket resources, as a list (duplicates would show)."""
        status, _, body = self.cp.api("GET", f"/v1/zones/{ZONE}/resources")
        self.assertEqual(status, 200, body)
        return [r for r in body["resources"] if r["type"] == "bucket"]

    def history(self):
        status, _, body = self.cp.api("GET", f"/v1/zones/{ZONE}/history", query={"max": "1000"})
        self.assertEqual(status, 200, body)
        return body["events"]

    def other_records(self):
        """Records besides the buckets' the control plane applied: the agent's events and usage periods."""
        status, _, events = self.cp.api("GET", f"/v1/zones/{ZONE}/events", query={"max": "1000"})
        self.assertEqual(status, 200, events)
        status, _, usage = self.cp.api("GET", f"/v1/zones/{ZONE}/usage")
        self.assertEqual(status, 200, usage)
        return len(events["events"]) + len(usage["usage"])

    def sessions(self, event, events=None):
        """Session numbers of the history's `event` ("connected" or "disconnected") events, oldest first."""
        out = []
        for e in events if events is not None else self.history():
            m = SESSION_RE.match(e["detail"])
            if e["event"] == event and m:
                out.append(int(m.group(1)))
        return out

    def current_session(self):
        connected = self.sessions("connected")
        self.assertTrue(connected, "no session in the zone's history")
        return connected[-1]

    def create_bucket(self, name):
        self.s3.create_bucket(Bucket=name)
        self.created.append(name)

    # -- shared checks ------------------------------------------------------------------------------------

    def settled(self, timeout=60):
        """Connected, every bucket created so far recorded (the agent looks at the inventory once per
        heartbeat) and acknowledged, and the control plane connected too."""
        def ok():
            s = self.sync_status()
            if not (s["connected"] and s["outbox_depth"] == 0
                    and s["last_sequence"] - self.other_records() >= len(self.created)):
                raise AssertionError(f"{len(self.created)} buckets created; agent: {s}")
            zone = self.zone()
            if not zone["connected"]:
                raise AssertionError(f"control plane: {zone}")
            return s
        return wait_for("link up, every bucket recorded, outbox drained, control plane connected", ok,
                        timeout=timeout)

    def assert_s3_serves(self, bucket):
        key = f"k-{time.monotonic_ns()}"
        self.s3.put_object(Bucket=bucket, Key=key, Body=b"served while the link is down")
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key=key)["Body"].read(), b"served while the link is down")
        listed = [o["Key"] for o in self.s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
        self.assertIn(key, listed)
        self.assertIn(bucket, {b["Name"] for b in self.s3.list_buckets()["Buckets"]})

    def assert_exactly_once_and_in_order(self):
        status = self.sync_status()
        zone = self.zone()
        # One record per bucket created (no deletes, no changes), besides its events (agent-started,
        # enrolled): the agent produced exactly that many...
        others = self.other_records()
        self.assertEqual(status["last_sequence"] - others, len(self.created),
                         f"the agent produced {status['last_sequence']} records, {others} of them events or usage, "
                         f"for {len(self.created)} buckets")
        # ...all of them acknowledged...
        self.assertEqual((status["outbox_depth"], status["last_acknowledged"]), (0, status["last_sequence"]))
        # ...and the control plane applied each exactly once (it applies only last_applied + 1).
        self.assertEqual(zone["last_applied_seq"], status["last_sequence"],
                         "the control plane's last applied sequence number differs from the agent's")
        resources = self.resources()
        ids = [r["id"] for r in resources]
        self.assertEqual(len(ids), len(set(ids)), f"a bucket is listed twice: {sorted(ids)}")
        self.assertEqual(set(ids), set(self.created),
                         f"missing on the control plane: {sorted(set(self.created) - set(ids))}; "
                         f"unknown to the appliance: {sorted(set(ids) - set(self.created))}")
        self.assertEqual({r["id"]: r["version"] for r in resources}, {name: 1 for name in self.created},
                         "each bucket was reported once, at version 1")
        # Records are applied in sequence order, and a bucket created earlier has the lower sequence number
        # (names sort in creation order, which is also the agent's order within one inventory pass): the
        # control plane's apply times follow the order of creation.
        updated = {r["id"]: r["updated"] for r in resources}
        in_creation_order = [updated[name] for name in self.created]
        self.assertEqual(in_creation_order, sorted(in_creation_order),
                         "buckets reached the control plane out of order: "
                         + ", ".join(f"{n}@{updated[n]}" for n in self.created))
        return status

    def assert_reconnected_after(self, session):
        """The session that was live when the link went down has ended, a later one is live now."""
        events = self.history()
        self.assertIn(session, self.sessions("disconnected", events), f"session {session} never ended: {events}")
        later = [s for s in self.sessions("connected", events) if s > session]
        self.assertTrue(later, f"no session after {session}: {events}")
        zone = self.zone()
        self.assertTrue(zone["connected"], zone)
        self.assertEqual(zone["state"], "available", zone)
        return later

    # -- the scenarios ------------------------------------------------------------------------------------

    def test_1_enrolled_through_the_proxy(self):
        status = self.annexctl_sync_status()
        self.assertTrue(status["enrolled"])
        self.assertEqual(status["zone"], ZONE)
        self.assertEqual(status["control_plane"], self.proxy.address)
        self.assertTrue(status["connected"])
        self.assertGreaterEqual(self.proxy.stats["accepted"], 2, "enrollment and the session went through the proxy")
        self.assertEqual(self.zone()["state"], "available")
        self.create_bucket("base-0")
        wait_for("base-0 reported", lambda: "base-0" in {r["id"] for r in self.resources()})
        self.settled()
        self.assert_exactly_once_and_in_order()

    def test_2_drop(self):
        session = self.current_session()
        refused_before = self.proxy.stats["refused"]
        self.proxy.drop()
        wait_for("the agent notices the reset", lambda: not self.sync_status()["connected"], timeout=10)
        wait_for("the control plane notices the reset", lambda: not self.zone()["connected"], timeout=10)

        # S3 keeps serving, and changes keep being recorded: one more record per bucket.
        depth = self.sync_status()["outbox_depth"]
        self.assertEqual(depth, 0)
        for i in range(3):
            self.create_bucket(f"drop-{i}")
            want = depth + i + 1
            wait_for(f"outbox depth {want}", lambda: self.sync_status()["outbox_depth"] == want, timeout=10)
        self.assert_s3_serves("drop-0")
        # The agent keeps trying (and the proxy keeps refusing).
        wait_for("a reconnect attempt", lambda: self.proxy.stats["refused"] > refused_before, timeout=15)

        status = self.annexctl_sync_status()
        self.assertFalse(status["connected"], status)
        self.assertEqual(status["connected_since"], "")
        self.assertEqual(status["outbox_depth"], 3)
        self.assertNotEqual(status["last_error"], "", "a disconnected agent says why")
        metrics = self.appliance.metrics()
        self.assertRegex(metrics, r"(?m)^annex_sync_connected 0(\.0*)?$")
        self.assertRegex(metrics, r"(?m)^annex_sync_outbox_depth 3(\.0*)?$")
        zone = self.zone()
        self.assertFalse(zone["connected"], zone)
        # Heartbeats stopped only seconds ago: the zone is still available (impaired after 50 s of silence).
        self.assertEqual(zone["state"], "available", zone)
        self.assertFalse({"drop-0", "drop-1", "drop-2"} & {r["id"] for r in self.resources()})

        self.proxy.forward()
        self.settled(timeout=30)
        self.assert_exactly_once_and_in_order()
        self.assert_reconnected_after(session)
        self.assertEqual(self.annexctl_sync_status()["last_error"], "")

    def test_3_stall(self):
        session = self.current_session()
        t0 = time.monotonic()
        self.proxy.stall()
        # S3 keeps serving; records go out into the blackhole and stay unacknowledged.
        self.create_bucket("stall-0")
        self.create_bucket("stall-1")
        self.assert_s3_serves("stall-1")
        wait_for("both records unacknowledged", lambda: self.sync_status()["outbox_depth"] == 2, timeout=10)

        remaining = lambda: max(1.0, KEEPALIVE_DETECTION_LIMIT - (time.monotonic() - t0))  # noqa: E731
        wait_for("the agent notices the stalled link (gRPC keepalive)",
                 lambda: not self.sync_status()["connected"], timeout=remaining(), interval=0.2)
        agent_noticed = time.monotonic() - t0
        status = self.annexctl_sync_status()
        self.assertFalse(status["connected"], status)
        self.assertGreaterEqual(status["outbox_depth"], 2, status)
        # The control plane runs the same keepalive; nothing reaches it either.
        wait_for("the control plane notices the stalled link (gRPC keepalive)",
                 lambda: not self.zone()["connected"], timeout=remaining(), interval=0.2)
        cp_noticed = time.monotonic() - t0
        print(f"\n  stall noticed by the agent after {agent_noticed:.1f} s, by the control plane after "
              f"{cp_noticed:.1f} s", file=sys.stderr)

        self.proxy.forward()
        self.settled(timeout=30)
        self.assert_exactly_once_and_in_order()
        self.assert_reconnected_after(session)

    def test_4_flap(self):
        session = self.current_session()
        stats_before = dict(self.proxy.stats)
        # Down 0.5 s, up 1.5 s: the agent's first retry after a lost session comes 0.8-1.2 s later (1 s ± 20 %),
        # so it lands while the link is up, and every outage kills a session that is sending records.
        flapper = self.proxy.start_flap(cycles=8, down=0.5, up=1.5)
        made = 0
        try:
            while flapper.is_alive():
                self.create_bucket(f"flap-{made:03d}")  # raises if S3 fails to answer
                made += 1
                time.sleep(0.1)
        finally:
            flapper.join()
        self.assertEqual(self.proxy.mode, "forward")
        self.assertGreaterEqual(made, 20)
        disrupted = (self.proxy.stats["reset"] - stats_before.get("reset", 0)
                     + self.proxy.stats["refused"] - stats_before.get("refused", 0))
        self.assertGreater(disrupted, 0, "the flapping link reset or refused no connection")

        self.settled(timeout=60)
        self.assert_exactly_once_and_in_order()
        later = self.assert_reconnected_after(session)
        # A session that worked resets the backoff, so the agent is back within about a second of each outage.
        self.assertGreaterEqual(len(later), 4, f"sessions after {session} during 8 short outages: {later}")
        print(f"\n  {made} buckets during the flap; {len(later)} sessions after {session}; "
              f"{disrupted} connections reset or refused", file=sys.stderr)


if __name__ == "__main__":
    harness.main()
