#!/usr/bin/python3
"""annexd and annex-control together, as real processes on loopback: an appliance enrolls with its token,
shows up as an available zone (awscli ec2 describe-availability-zones), reports its buckets, applies a bucket
command from the control plane, keeps serving S3 while the control plane is down (kill -9), and delivers
what changed meanwhile after it comes back, exactly once. A restarted annexd keeps its identity. Its S3 traffic
shows up as usage on the control plane (GET /v1/zones/{zone}/usage), and its agent's events (/events).
"""

import json
import tarfile
import io
import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import AWS_CLI, REGION, Daemon, wait_applied_exactly_once, wait_for  # noqa: E402
from test_control_plane import ControlPlane, zone_of  # noqa: E402

SITE = "lisbon-1"
ZONE = zone_of(SITE)
USAGE_INTERVAL_MS = 300


def docker_archive(repo_tag, content):
    """A minimal `docker save` archive of one image with one layer holding `content`."""
    def tar_of(files):
        out = io.BytesIO()
        with tarfile.open(fileobj=out, mode="w") as t:
            for name, data in files:
                info = tarfile.TarInfo(name)
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
        return out.getvalue()
    layer = tar_of([("app/hello.txt", content)])
    layer_hex = hashlib.sha256(layer).hexdigest()
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                         "rootfs": {"type": "layers", "diff_ids": ["sha256:" + layer_hex]}}).encode()
    config_name = hashlib.sha256(config).hexdigest() + ".json"
    manifest = json.dumps([{"Config": config_name, "RepoTags": [repo_tag],
                            "Layers": [layer_hex + "/layer.tar"]}]).encode()
    return tar_of([("manifest.json", manifest), (config_name, config), (layer_hex + "/layer.tar", layer)])


class SyncTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cp = ControlPlane().start()
        token = cls.cp.create_site(SITE)
        cls.appliance = Daemon(extra_args=["--control-plane", f"127.0.0.1:{cls.cp.sync_port}", "--enrollment-token",
                                           token, "--sync-heartbeat-ms", "200",
                                           "--sync-usage-interval-ms", str(USAGE_INTERVAL_MS)])
        os.chmod(cls.appliance.workdir, 0o711)  # a DB instance's postgres reaches its data dir by path
        cls.appliance.start()
        cls.s3 = cls.appliance.boto3_client()

    @classmethod
    def tearDownClass(cls):
        cls.appliance.stop()
        if cls.cp.proc and cls.cp.proc.poll() is None:
            cls.cp.stop()

    # -- views from both sides --------------------------------------------

    def zones(self):
        env = self.cp.client_env()
        p = subprocess.run([AWS_CLI, "--endpoint-url", self.cp.endpoint, "--region", REGION,
                            "--output", "json", "ec2", "describe-availability-zones"],
                           env=env, capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        return {z["ZoneName"]: z for z in json.loads(p.stdout)["AvailabilityZones"]}

    def reported(self):
        status, _, body = self.cp.api("GET", f"/v1/zones/{ZONE}/resources")
        self.assertEqual(status, 200, body)
        return {r["id"] for r in body["resources"] if r["type"] == "bucket"}

    def usage(self, **query):
        status, _, body = self.cp.api("GET", f"/v1/zones/{ZONE}/usage", query=query or None)
        self.assertEqual(status, 200, body)
        self.assertFalse(body["truncated"], "more usage periods than one listing holds")
        return body

    def events(self):
        status, _, body = self.cp.api("GET", f"/v1/zones/{ZONE}/events")
        self.assertEqual(status, 200, body)
        return body["events"]

    def sync_status(self):
        return json.loads(self.appliance.annexctl("sync", "status").stdout)

    def buckets(self):
        return {b["Name"] for b in self.s3.list_buckets()["Buckets"]}

    # -- the story, in order ----------------------------------------------

    def test_1_enrolls_and_is_an_available_zone(self):
        wait_for("zone available", lambda: self.zones().get(ZONE, {}).get("State") == "available")
        status = self.sync_status()
        self.assertTrue(status["enrolled"])
        self.assertEqual(status["zone"], ZONE)
        self.assertTrue(status["connected"])
        self.assertTrue(status["certificate_expires"])
        import urllib.request
        text = urllib.request.urlopen(self.appliance.endpoint + "/_annex/metrics", timeout=10).read().decode()
        self.assertIn("annex_sync_connected 1", text)

    def test_2_local_buckets_are_reported(self):
        self.s3.create_bucket(Bucket="made-locally")
        wait_for("made-locally reported", lambda: "made-locally" in self.reported())

    def test_3_control_plane_commands_create_buckets(self):
        status, _, cmd = self.cp.api("POST", f"/v1/zones/{ZONE}/commands",
                                     {"kind": "CreateBucket", "args": {"bucket": "from-control"}})
        self.assertEqual(status, 201, cmd)
        wait_for("from-control on the appliance", lambda: "from-control" in self.buckets())
        cmd_id = cmd.get("id") or cmd.get("command", {}).get("id")

        def finished():
            st, _, body = self.cp.api("GET", f"/v1/zones/{ZONE}/commands/{cmd_id}")
            return st == 200 and (body.get("state") or body.get("command", {}).get("state")) == "succeeded"
        wait_for("command succeeded", finished)
        wait_for("from-control reported back", lambda: "from-control" in self.reported())

    def test_3b_commands_are_checked_against_what_the_zone_advertises(self):
        # The appliance advertises its services' commands; annex-control knows none itself.
        status, _, z = self.cp.api("GET", f"/v1/zones/{ZONE}")
        self.assertEqual(status, 200, z)
        kinds = {(c["kind"], c["service"]) for c in z["capacity"]["commands"]}
        self.assertEqual(kinds, {("CreateBucket", "s3"), ("DeleteBucket", "s3"), ("ImportImage", "ecr"),
                                 ("SetServiceDesiredCount", "ecs"), ("CreateDBInstance", "rds")})
        status, _, err = self.cp.api("POST", f"/v1/zones/{ZONE}/commands",
                                     body={"kind": "LaunchRocket", "args": {"bucket": "photos"}})
        self.assertEqual((status, err["__type"]), (400, "ValidationError"), err)
        self.assertIn("does not accept command kind 'LaunchRocket'", err["message"])
        self.assertIn("CreateBucket (s3)", err["message"])
        for args in ({"bucket": "No_Such..Name"}, {"bucket": "ok-name", "extra": "x"}, {}):
            status, _, err = self.cp.api("POST", f"/v1/zones/{ZONE}/commands",
                                         body={"kind": "CreateBucket", "args": args})
            self.assertEqual((status, err["__type"]), (400, "ValidationError"), (args, err))

    def test_3c_control_plane_imports_an_image_archive_already_on_the_appliance(self):
        # An operator carried a `docker save` archive to the appliance; the control plane imports it.
        imports = self.appliance.data_dir / "registry" / "imports"
        imports.mkdir(parents=True, exist_ok=True)
        (imports / "web.tar").write_bytes(docker_archive("mirror/web:1.0", b"hello from the archive"))
        status, _, cmd = self.cp.api("POST", f"/v1/zones/{ZONE}/commands",
                                     {"kind": "ImportImage", "args": {"path": "web.tar"}})
        self.assertEqual(status, 201, cmd)
        cmd_id = cmd.get("id") or cmd.get("command", {}).get("id")

        def state():
            st, _, body = self.cp.api("GET", f"/v1/zones/{ZONE}/commands/{cmd_id}")
            return body.get("state") or body.get("command", {}).get("state")
        wait_for("the import command done", lambda: state() in ("succeeded", "failed"))
        self.assertEqual(state(), "succeeded")

        def images():
            st, _, body = self.cp.api("GET", f"/v1/zones/{ZONE}/resources")
            return {r["id"] for r in body["resources"] if r["type"] == "image"}
        wait_for("the imported image reported", lambda: any("/mirror/web@sha256:" in i for i in images()))
        import boto3
        ecr = boto3.session.Session().client(
            "ecr", endpoint_url=self.appliance.endpoint, region_name=REGION,
            aws_access_key_id=self.appliance.access_key, aws_secret_access_key=self.appliance.secret_key)
        tags = [i.get("imageTag") for i in ecr.list_images(repositoryName="mirror/web")["imageIds"]]
        self.assertEqual(tags, ["1.0"])
        # The optional repository is checked by the pattern the appliance advertised.
        status, _, err = self.cp.api("POST", f"/v1/zones/{ZONE}/commands",
                                     {"kind": "ImportImage", "args": {"path": "web.tar", "repository": "Bad Name"}})
        self.assertEqual((status, err["__type"]), (400, "ValidationError"), err)
        # A path outside the imports directory never reaches a file.
        status, _, cmd = self.cp.api("POST", f"/v1/zones/{ZONE}/commands",
                                     {"kind": "ImportImage", "args": {"path": "../credentials"}})
        if status == 201:
            cmd_id = cmd.get("id") or cmd.get("command", {}).get("id")
            wait_for("the escaping import refused", lambda: state() == "failed")

    def test_3d_control_plane_sets_a_services_desired_count(self):
        import boto3
        ecs = boto3.session.Session().client(
            "ecs", endpoint_url=self.appliance.endpoint, region_name=REGION,
            aws_access_key_id=self.appliance.access_key, aws_secret_access_key=self.appliance.secret_key)
        ecs.create_cluster(clusterName="edge")
        ecs.register_task_definition(family="web", containerDefinitions=[
            {"name": "app", "image": "web:1", "memory": 32}])
        ecs.create_service(cluster="edge", serviceName="web", taskDefinition="web", desiredCount=0)

        def resources(kind):
            st, _, body = self.cp.api("GET", f"/v1/zones/{ZONE}/resources")
            return {r["id"] for r in body["resources"] if r["type"] == kind}
        wait_for("the service reported", lambda: any(i.endswith("/edge/web") for i in resources("service")))
        self.assertTrue(any(i.endswith("/edge") for i in resources("cluster")))

        def run(args):
            status, _, cmd = self.cp.api("POST", f"/v1/zones/{ZONE}/commands",
                                         {"kind": "SetServiceDesiredCount", "args": args})
            self.assertEqual(status, 201, cmd)
            cmd_id = cmd.get("id") or cmd.get("command", {}).get("id")

            def state():
                _, _, body = self.cp.api("GET", f"/v1/zones/{ZONE}/commands/{cmd_id}")
                return body.get("state") or body.get("command", {}).get("state")
            wait_for("the command done", lambda: state() in ("succeeded", "failed"))
            return state()
        self.assertEqual(run({"cluster": "edge", "service": "web", "desiredCount": "3"}), "succeeded")
        service = ecs.describe_services(cluster="edge", services=["web"])["services"][0]
        self.assertEqual(service["desiredCount"], 3)
        self.assertTrue(any("desired count set to 3 by the control plane" in e["message"]
                            for e in service["events"]), service["events"])
        # Applying it again is a no-op that still succeeds; a missing service fails.
        self.assertEqual(run({"cluster": "edge", "service": "web", "desiredCount": "3"}), "succeeded")
        self.assertEqual(run({"cluster": "edge", "service": "nope", "desiredCount": "1"}), "failed")
        status, _, err = self.cp.api("POST", f"/v1/zones/{ZONE}/commands",
                                     {"kind": "SetServiceDesiredCount",
                                      "args": {"cluster": "edge", "service": "web", "desiredCount": "many"}})
        self.assertEqual((status, err["__type"]), (400, "ValidationError"), err)
        ecs.update_service(cluster="edge", service="web", desiredCount=0)
        ecs.delete_service(cluster="edge", service="web")

    def run_command(self, kind, args):
        """Posts a command and waits for it to finish; its final state."""
        status, _, cmd = self.cp.api("POST", f"/v1/zones/{ZONE}/commands", {"kind": kind, "args": args})
        self.assertEqual(status, 201, cmd)
        cmd_id = cmd.get("id") or cmd.get("command", {}).get("id")

        def state():
            _, _, body = self.cp.api("GET", f"/v1/zones/{ZONE}/commands/{cmd_id}")
            return body.get("state") or body.get("command", {}).get("state")
        wait_for(f"the {kind} command done", lambda: state() in ("succeeded", "failed"), 60)
        return state()

    @unittest.skipUnless(os.geteuid() == 0 and os.path.isdir("/usr/lib/postgresql/15/bin"),
                         "DB instances need root and PostgreSQL 15")
    def test_3e_control_plane_creates_a_db_instance(self):
        import boto3
        rds = boto3.session.Session().client(
            "rds", endpoint_url=self.appliance.endpoint, region_name=REGION,
            aws_access_key_id=self.appliance.access_key, aws_secret_access_key=self.appliance.secret_key)
        args = {"identifier": "edge-db", "instanceClass": "db.t3.micro", "allocatedStorage": "20",
                "masterUsername": "edge", "masterUserPassword": "edge-Secret-1"}
        try:
            self.assertEqual(self.run_command("CreateDBInstance", args), "succeeded")

            def reported():
                _, _, body = self.cp.api("GET", f"/v1/zones/{ZONE}/resources")
                for r in body["resources"]:
                    if r["type"] == "db-instance" and r["id"].endswith("/edge-db"):
                        return r
                return None
            wait_for("the instance reported available",
                     lambda: json.dumps(reported() or {}).count('"available"'), 60)
            db = rds.describe_db_instances(DBInstanceIdentifier="edge-db")["DBInstances"][0]
            self.assertEqual((db["DBInstanceStatus"], db["MasterUsername"]), ("available", "edge"))
            # Again: nothing left to do, still a success. A password the pattern refuses never reaches it.
            self.assertEqual(self.run_command("CreateDBInstance", args), "succeeded")
            status, _, err = self.cp.api("POST", f"/v1/zones/{ZONE}/commands",
                                         {"kind": "CreateDBInstance", "args": {**args, "masterUserPassword": "a b"}})
            self.assertEqual((status, err["__type"]), (400, "ValidationError"), err)
        finally:
            rds.delete_db_instance(DBInstanceIdentifier="edge-db", SkipFinalSnapshot=True)
            wait_for("the instance deleted", lambda: not rds.describe_db_instances()["DBInstances"], 60)

    def test_4_offline_changes_arrive_once_after_the_control_plane_returns(self):
        self.cp.proc.send_signal(signal.SIGKILL)  # the control plane dies mid-session
        self.cp.proc.wait()
        wait_for("disconnected", lambda: not self.sync_status()["connected"])
        # The appliance keeps serving, and keeps changing.
        self.s3.create_bucket(Bucket="offline-one")
        self.s3.create_bucket(Bucket="offline-two")
        self.s3.delete_bucket(Bucket="made-locally")
        self.s3.put_object(Bucket="offline-one", Key="k", Body=b"still serving")
        self.assertEqual(self.s3.get_object(Bucket="offline-one", Key="k")["Body"].read(), b"still serving")
        wait_for("changes queued", lambda: self.sync_status()["outbox_depth"] >= 3)

        self.cp.start()
        wait_for("outbox drained", lambda: self.sync_status()["outbox_depth"] == 0 and self.sync_status()["connected"])
        reported = self.reported()
        self.assertIn("offline-one", reported)
        self.assertIn("offline-two", reported)
        self.assertNotIn("made-locally", reported)
        wait_applied_exactly_once(self.sync_status,
                                  lambda: self.cp.api("GET", f"/v1/zones/{ZONE}")[2]["last_applied_seq"])

    def test_5_a_restarted_appliance_keeps_its_identity(self):
        self.appliance.stop()
        self.appliance.start()
        wait_for("reconnected", lambda: self.sync_status()["connected"])
        self.assertEqual(self.sync_status()["zone"], ZONE)
        wait_for("zone available", lambda: self.zones().get(ZONE, {}).get("State") == "available")

    def test_6_s3_traffic_is_reported_as_usage(self):
        before = self.usage()["totals"]
        data = os.urandom(300_000)
        self.s3.create_bucket(Bucket="metered")
        self.s3.put_object(Bucket="metered", Key="k", Body=data)
        self.assertEqual(self.s3.get_object(Bucket="metered", Key="k")["Body"].read(), data)

        def reported():
            body = self.usage()
            t, last = body["totals"], body["usage"][-1]
            if (t["requests"] >= before["requests"] + 3 and t["bytes_in"] >= before["bytes_in"] + len(data)
                    and t["bytes_out"] >= before["bytes_out"] + len(data) and last["bytes_stored"] >= len(data)):
                return body
            return None
        body = wait_for("the PUT and GET in the zone's usage", reported)
        rows = body["usage"]
        self.assertEqual(body["zone"], ZONE)
        self.assertGreater(body["totals"]["requests"], 0)
        self.assertGreaterEqual(rows[-1]["objects_stored"], 1)
        # The same, as the object store's own named gauges.
        gauges = rows[-1]["services"]["s3"]["gauges"]
        self.assertGreaterEqual(gauges["objects_stored"], 1)
        self.assertGreaterEqual(gauges["bytes_stored"], len(data))
        self.assertEqual(body["totals"]["requests"], sum(r["requests"] for r in rows))
        s3 = sum(r["services"].get("s3", {}).get("bytes_in", 0) for r in rows)
        self.assertGreaterEqual(s3, len(data))
        for earlier, later in zip(rows, rows[1:]):
            self.assertLessEqual(earlier["period_start"], earlier["period_end"])
            self.assertLessEqual(earlier["period_end"], later["period_end"])
            self.assertLess(earlier["seq"], later["seq"])

        # ?since= takes a time as the API writes them (or unix milliseconds): only periods that ended later.
        since = rows[-2]["period_end"]
        later = self.usage(since=since)["usage"]
        self.assertTrue(later)
        self.assertTrue(all(r["period_end"] > since for r in later), later)
        status, _, err = self.cp.api("GET", f"/v1/zones/{ZONE}/usage", query={"since": "last tuesday"})
        self.assertEqual((status, err["__type"]), (400, "ValidationError"))

    def test_7_agent_events_reach_the_control_plane(self):
        # annexd started twice (test_5 restarted it).
        events = wait_for("both agent-started events",
                          lambda: (ev := self.events()) and [e["kind"] for e in ev].count("agent-started") == 2 and ev)
        kinds = [e["kind"] for e in events]
        self.assertIn("enrolled", kinds)
        started = next(e for e in events if e["kind"] == "agent-started")
        self.assertEqual(started["severity"], "info")
        self.assertIn("started", started["message"])
        self.assertRegex(started["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        self.assertEqual([e["seq"] for e in events], sorted(e["seq"] for e in events))


    def test_8_stops_cleanly_under_sync_and_s3_load(self):
        # Shutdown order: the sync link stops before the services it reads and
        # writes through. SIGTERM while PUTs, bucket creation (inventory) and
        # control-plane commands run must exit 0, and keep every acknowledged object.
        acknowledged = []
        for cycle in range(3):
            s3 = self.appliance.boto3_client()
            bucket = f"load-{cycle}"
            s3.create_bucket(Bucket=bucket)
            stop = threading.Event()

            def put_loop(worker):
                i = 0
                while not stop.is_set():
                    key = f"w{worker}-{i}"
                    try:
                        s3.put_object(Bucket=bucket, Key=key, Body=os.urandom(2048 if i % 3 else 200_000))
                    except Exception:  # the daemon went away mid-request: not acknowledged
                        return
                    acknowledged.append((bucket, key))
                    i += 1

            def inventory_loop():
                i = 0
                while not stop.is_set():
                    try:
                        s3.create_bucket(Bucket=f"inv-{cycle}-{i}")
                        self.cp.api("POST", f"/v1/zones/{ZONE}/commands",
                                    body={"kind": "CreateBucket", "args": {"bucket": f"cmd-{cycle}-{i}"}})
                    except Exception:
                        return
                    i += 1

            threads = [threading.Thread(target=put_loop, args=(w,)) for w in range(3)]
            threads.append(threading.Thread(target=inventory_loop))
            for t in threads:
                t.start()
            time.sleep(1.5)
            self.appliance.stop()  # asserts exit code 0 within its timeout
            stop.set()
            for t in threads:
                t.join(60)
            self.appliance.start()
        s3 = self.appliance.boto3_client()
        self.assertGreater(len(acknowledged), 30)
        for bucket, key in acknowledged:
            s3.head_object(Bucket=bucket, Key=key)


if __name__ == "__main__":
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    import unittest_main
    unittest_main.run()
