#!/usr/bin/python3
"""ECS tasks that really run, against a real annexd as root: a busybox image built offline (umoci, skopeo) and
imported with `annexctl images import`, run by RunTask under crun. What a user sees through boto3 and awscli: exit
codes and the lifecycle in DescribeTasks, a host volume's file, published bridge ports and awsvpc addresses that
answer HTTP, the out-of-memory kill, awslogs output in CloudWatch Logs, tasks that outlive a kill -9 of annexd,
namespaces that isolate two tasks, and a missing image."""

import glob
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from ecs_fixture import EcsTestCase, SUBNETS, client, skip_reason, unique  # noqa: E402
from harness import AWS_CLI, REGION, have, wait_for  # noqa: E402

# ECS's task lifecycle, in order.
LIFECYCLE = ["PROVISIONING", "PENDING", "ACTIVATING", "RUNNING", "DEACTIVATING", "STOPPING", "DEPROVISIONING",
             "STOPPED"]
# A web server that serves /www/index.html and ends on SIGTERM (busybox sh as PID 1 ignores it otherwise).
WEB = "mkdir -p /www && echo \"$PAGE\" > /www/index.html && trap 'exit 0' TERM; httpd -f -p 80 -h /www & wait"
TIMEOUT = 30


def http_get(host, port, timeout=3):
    """(status, body) of GET / at host:port."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", "/")
        r = conn.getresponse()
        return r.status, r.read().decode(errors="replace")
    finally:
        conn.close()


def answers(host, port):
    """Whether anything accepts a TCP connection at host:port (within a second)."""
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


# A skip of the class (not of setUpClass) counts each test as skipped: ctest then reports "Not Run" (exit 77).
@unittest.skipIf(skip_reason(), skip_reason())
class EcsTasksTest(EcsTestCase):
    task_ids = []
    cluster = "tasks"

    @classmethod
    def setUpClass(cls):
        if skip_reason():
            raise unittest.SkipTest(skip_reason())
        cls.task_ids = []
        super().setUpClass()
        try:
            cls.prepare("annex-ecst-")
            cls.volume_root = cls.daemon.data_dir / "containers" / "volumes"
        except BaseException:
            cls.tearDownClass()
            raise

    # -- helpers -----------------------------------------------------------

    @classmethod
    def client(cls, service):
        return client(cls.daemon, service)

    def aws_logs(self, *args):
        p = subprocess.run([AWS_CLI, "--endpoint-url", self.daemon.endpoint, "--output", "json", "logs", *args],
                           env=self.daemon.client_env(), capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, f"aws logs {' '.join(args)}: {p.stderr}")
        return json.loads(p.stdout)

    def register(self, containers, network_mode="bridge", volumes=None, **kw):
        d = {"family": unique("it-"), "networkMode": network_mode, "containerDefinitions": containers, **kw}
        if volumes:
            d["volumes"] = volumes
        return self.ecs().register_task_definition(**d)["taskDefinition"]["taskDefinitionArn"]

    def container(self, name="c", script="true", memory=64, **kw):
        return {"name": name, "image": "busybox:latest", "memory": memory, "essential": True,
                "command": ["sh", "-c", script], **kw}

    def awslogs(self, group, prefix="app"):
        return {"logDriver": "awslogs", "options": {"awslogs-group": group, "awslogs-region": REGION,
                                                    "awslogs-stream-prefix": prefix}}

    def run_task(self, definition, network_mode="bridge", **kw):
        if network_mode == "awsvpc":
            kw["networkConfiguration"] = SUBNETS
        r = self.ecs().run_task(cluster=self.cluster, taskDefinition=definition, launchType="EC2", **kw)
        self.assertEqual(r.get("failures"), [], r)
        self.assertEqual(len(r["tasks"]), 1, r)
        arn = r["tasks"][0]["taskArn"]
        self.task_ids.append(self.task_id(arn))
        return arn

    def describe(self, arn):
        tasks = self.ecs().describe_tasks(cluster=self.cluster, tasks=[arn])["tasks"]
        self.assertEqual(len(tasks), 1, arn)
        return tasks[0]

    def wait_status(self, arn, want, seen=None, timeout=TIMEOUT):
        """Polls DescribeTasks until lastStatus is `want` (or later); appends each new status to `seen`."""
        deadline = time.monotonic() + timeout
        while True:
            task = self.describe(arn)
            status = task["lastStatus"]
            if seen is not None and (not seen or seen[-1] != status):
                seen.append(status)
            if status == want or (status in LIFECYCLE and LIFECYCLE.index(status) > LIFECYCLE.index(want)):
                return task
            if time.monotonic() >= deadline:
                self.fail(f"task {arn} not {want} within {timeout} s: {json.dumps(task, default=str)}\n"
                          + self.daemon.log_tail(30))
            time.sleep(0.05)

    def stop(self, arn):
        self.ecs().stop_task(cluster=self.cluster, task=arn, reason="")
        return self.wait_status(arn, "STOPPED")

    def log_messages(self, group, stream):
        events = self.aws_logs("get-log-events", "--log-group-name", group, "--log-stream-name", stream,
                               "--start-from-head")["events"]
        return [e["message"] for e in events]

    def wait_log(self, group, stream, marker):
        """The stream's messages (boto3) once one contains `marker`."""
        logs = self.client("logs")

        def found():
            try:
                events = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)["events"]
            except logs.exceptions.ResourceNotFoundException:
                return None
            messages = [e["message"] for e in events]
            return messages if any(marker in m for m in messages) else None
        return wait_for(f"{marker!r} in {group} {stream}", found, TIMEOUT)

    def task_id(self, arn):
        return arn.rsplit("/", 1)[1]

    # -- tests -------------------------------------------------------------

    def test_exit_code_volume_and_lifecycle(self):
        name = unique("v-")
        host_dir = self.volume_root / name
        host_dir.mkdir(parents=True)
        definition = self.register(
            [self.container(script="echo written-by-task > /data/out.txt; exit 7",
                            mountPoints=[{"sourceVolume": "data", "containerPath": "/data"}])],
            volumes=[{"name": "data", "host": {"sourcePath": str(host_dir)}}])
        r = self.ecs().run_task(cluster=self.cluster, taskDefinition=definition, launchType="EC2")
        arn = r["tasks"][0]["taskArn"]
        self.task_ids.append(self.task_id(arn))
        seen = [r["tasks"][0]["lastStatus"]]
        self.assertEqual(seen, ["PROVISIONING"], r)
        task = self.wait_status(arn, "STOPPED", seen)
        self.assertEqual(task["stopCode"], "EssentialContainerExited", task)
        self.assertEqual(task["containers"][0]["exitCode"], 7, task)
        self.assertEqual(task["containers"][0]["lastStatus"], "STOPPED", task)
        self.assertEqual(task["desiredStatus"], "STOPPED", task)
        self.assertEqual((host_dir / "out.txt").read_text(), "written-by-task\n")
        self.assertTrue(set(seen) <= set(LIFECYCLE), seen)
        order = [LIFECYCLE.index(s) for s in seen]
        self.assertEqual(order, sorted(order), f"lastStatus went backwards: {seen}")
        self.assertEqual(len(set(order)), len(order), f"lastStatus repeated: {seen}")
        self.assertEqual(seen[-1], "STOPPED")

    def test_bridge_port_mapping_and_stop(self):
        page = unique("bridge-page-")
        definition = self.register([self.container(
            script=WEB, environment=[{"name": "PAGE", "value": page}], stopTimeout=2, memoryReservation=24,
            portMappings=[{"containerPort": 80, "hostPort": 0, "protocol": "tcp"}])])
        arn = self.run_task(definition)
        task = self.wait_status(arn, "RUNNING")
        self.assertEqual(task["lastStatus"], "RUNNING", task)
        # memory is the hard limit, memoryReservation the soft one the kernel reclaims from last.
        workload = f"ecs-{self.task_id(arn)}-0"
        limits = {}
        for pattern, key in ((f"/sys/fs/cgroup/memory/annex-workloads-*/{workload}/memory.%s", "v1"),
                             (f"/sys/fs/cgroup/annex-workloads-*/{workload}/memory.%s", "v2")):
            hard = glob.glob(pattern % ("limit_in_bytes" if key == "v1" else "max"))
            soft = glob.glob(pattern % ("soft_limit_in_bytes" if key == "v1" else "low"))
            if hard and soft:
                limits = {"hard": open(hard[0]).read().strip(), "soft": open(soft[0]).read().strip()}
        self.assertEqual(limits, {"hard": str(64 << 20), "soft": str(24 << 20)}, workload)
        bindings = task["containers"][0]["networkBindings"]
        self.assertEqual(len(bindings), 1, task)
        self.assertEqual(bindings[0]["containerPort"], 80)
        self.assertEqual(bindings[0]["protocol"], "tcp")
        port = bindings[0]["hostPort"]
        self.assertGreater(port, 0)
        status, body = wait_for(f"the page at 127.0.0.1:{port}", lambda: http_get("127.0.0.1", port), TIMEOUT)
        self.assertEqual((status, body.strip()), (200, page))
        task = self.stop(arn)
        self.assertEqual(task["stopCode"], "UserInitiated", task)
        self.assertEqual(task["lastStatus"], "STOPPED", task)
        self.assertFalse(answers("127.0.0.1", port), f"port {port} still answers after StopTask")

    def test_awsvpc_address_answers(self):
        page = unique("vpc-page-")
        definition = self.register([self.container(
            script=WEB, environment=[{"name": "PAGE", "value": page}], stopTimeout=2,
            portMappings=[{"containerPort": 80, "protocol": "tcp"}])], network_mode="awsvpc")
        arn = self.run_task(definition, network_mode="awsvpc")
        task = self.wait_status(arn, "RUNNING")
        ip = task["containers"][0]["networkInterfaces"][0]["privateIpv4Address"]
        self.assertRegex(ip, r"^\d+\.\d+\.\d+\.\d+$")
        status, body = wait_for(f"the page at {ip}:80", lambda: http_get(ip, 80), TIMEOUT)
        self.assertEqual((status, body.strip()), (200, page))
        details = {d["name"]: d["value"] for d in task["attachments"][0]["details"]}
        self.assertEqual(details["privateIPv4Address"], ip)
        task = self.stop(arn)
        self.assertEqual(task["stopCode"], "UserInitiated", task)

    def test_out_of_memory(self):
        # tail keeps the last line whole, and /dev/zero has no newline: it grows until the kernel kills it.
        definition = self.register([self.container(
            memory=32, script="head -c 300000000 /dev/zero | tail -n 1 > /dev/null; echo survived")])
        arn = self.run_task(definition)
        task = self.wait_status(arn, "STOPPED")
        container = task["containers"][0]
        want = "OutOfMemoryError: Container killed due to memory usage"
        self.assertEqual(container.get("exitCode"), 137, task)
        self.assertTrue(container.get("reason", "").startswith(want), task)
        self.assertTrue(task.get("stoppedReason", "").startswith(want), task)
        self.assertEqual(task["stopCode"], "EssentialContainerExited", task)

    @unittest.skipUnless(have(AWS_CLI), "awscli is not installed")
    def test_awslogs_output(self):
        group = "/ecs/" + unique("logs-")
        marker = unique("m-")
        definition = self.register([self.container(
            name="web", script=f"echo first-{marker}; echo second-{marker}; echo to-stderr-{marker} >&2",
            logConfiguration=self.awslogs(group, "app"))])
        arn = self.run_task(definition)
        task = self.wait_status(arn, "STOPPED")
        self.assertEqual(task["containers"][0]["exitCode"], 0, task)
        stream = f"app/web/{self.task_id(arn)}"
        self.wait_log(group, stream, f"to-stderr-{marker}")
        messages = self.log_messages(group, stream)
        self.assertIn(f"first-{marker}", messages)
        self.assertIn(f"second-{marker}", messages)
        self.assertIn(f"to-stderr-{marker}", messages)
        self.assertLess(messages.index(f"first-{marker}"), messages.index(f"second-{marker}"), messages)
        streams = self.aws_logs("describe-log-streams", "--log-group-name", group)["logStreams"]
        self.assertEqual([s["logStreamName"] for s in streams], [stream])
        found = self.aws_logs("filter-log-events", "--log-group-name", group, "--filter-pattern", f'"second-{marker}"')
        self.assertEqual([e["message"] for e in found["events"]], [f"second-{marker}"])
        self.assertEqual({e["logStreamName"] for e in found["events"]}, {stream})

    def test_task_survives_annexd_kill(self):
        page = unique("survivor-")
        definition = self.register([self.container(
            script=WEB, environment=[{"name": "PAGE", "value": page}], stopTimeout=2)], network_mode="awsvpc")
        arn = self.run_task(definition, network_mode="awsvpc")
        task = self.wait_status(arn, "RUNNING")
        ip = task["containers"][0]["networkInterfaces"][0]["privateIpv4Address"]
        wait_for(f"the page at {ip}:80", lambda: http_get(ip, 80), TIMEOUT)
        self.daemon.kill()
        try:
            # annexd is gone; the container is not.
            for _ in range(3):
                self.assertEqual(http_get(ip, 80), (200, page + "\n"))
                time.sleep(0.3)
        finally:
            self.daemon.start()
        after = self.describe(arn)
        self.assertEqual(after["lastStatus"], "RUNNING", after)
        self.assertEqual(after["containers"][0]["networkInterfaces"][0]["privateIpv4Address"], ip)
        self.assertEqual(after["startedAt"], task["startedAt"])
        self.assertEqual(after["containers"][0]["runtimeId"], task["containers"][0]["runtimeId"])
        self.assertEqual(http_get(ip, 80), (200, page + "\n"))
        task = self.stop(arn)
        self.assertEqual(task["stopCode"], "UserInitiated", task)
        self.assertFalse(answers(ip, 80), f"{ip}:80 still answers after StopTask")

    def test_two_awsvpc_tasks_are_isolated(self):
        group = "/ecs/" + unique("iso-")
        shared = self.volume_root / unique("iso-")
        shared.mkdir(parents=True)
        # B waits for the test's go-ahead (a file in a host volume), then lists its /tmp.
        b_def = self.register([self.container(
            name="b", stopTimeout=2, logConfiguration=self.awslogs(group, "b"),
            mountPoints=[{"sourceVolume": "shared", "containerPath": "/shared"}],
            script="echo b-started; until [ -e /shared/go ]; do sleep 0.1; done; echo tmp-begin; ls -a /tmp; "
                   "echo tmp-end; trap 'exit 0' TERM; while true; do sleep 1; done")],
            network_mode="awsvpc", volumes=[{"name": "shared", "host": {"sourcePath": str(shared)}}])
        a_def = self.register([self.container(
            name="a", stopTimeout=2, logConfiguration=self.awslogs(group, "a"),
            script="echo a-wrote > /tmp/a-secret; cat /tmp/a-secret; ip -o link; ip -o addr; echo a-done; "
                   "trap 'exit 0' TERM; while true; do sleep 1; done")], network_mode="awsvpc")
        b = self.run_task(b_def, network_mode="awsvpc")
        b_ip = self.wait_status(b, "RUNNING")["containers"][0]["networkInterfaces"][0]["privateIpv4Address"]
        a = self.run_task(a_def, network_mode="awsvpc")
        a_ip = self.wait_status(a, "RUNNING")["containers"][0]["networkInterfaces"][0]["privateIpv4Address"]
        self.assertNotEqual(a_ip, b_ip)
        a_out = self.wait_log(group, f"a/a/{self.task_id(a)}", "a-done")
        self.assertEqual(a_out[0], "a-wrote", a_out)
        links = [m.split(":")[1].strip().split("@")[0] for m in a_out if re.match(r"^\d+: ", m) and "link/" in m]
        self.assertEqual(sorted(links), ["eth0", "lo"], a_out)
        addresses = [m for m in a_out if " inet " in m]
        self.assertTrue(any(f"inet {a_ip}/" in m and " eth0 " in m for m in addresses), a_out)
        self.assertTrue(any("inet 127.0.0.1/8" in m and " lo " in m for m in addresses), a_out)
        self.assertEqual(len(addresses), 2, a_out)
        self.assertFalse(any(b_ip in m for m in a_out), a_out)
        # A's file is there while A runs; B does not see it.
        (shared / "go").write_text("")
        b_out = self.wait_log(group, f"b/b/{self.task_id(b)}", "tmp-end")
        listing = b_out[b_out.index("tmp-begin") + 1:b_out.index("tmp-end")]
        self.assertNotIn("a-secret", listing, b_out)
        self.assertEqual(sorted(listing), [".", ".."], b_out)
        for arn in (a, b):
            self.assertEqual(self.stop(arn)["stopCode"], "UserInitiated")

    def test_missing_image(self):
        definition = self.register([{"name": "c", "image": "nosuchrepo:latest", "memory": 64, "essential": True}])
        arn = self.run_task(definition)
        task = self.wait_status(arn, "STOPPED")
        self.assertEqual(task["stopCode"], "TaskFailedToStart", task)
        self.assertIn("CannotPullContainerError", task.get("stoppedReason", ""), task)


if __name__ == "__main__":
    harness.main()
