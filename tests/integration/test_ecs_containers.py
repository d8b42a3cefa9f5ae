#!/usr/bin/python3
"""ECS container dependencies and health checks on tasks that really run (root, crun, the busybox image of
ecs_fixture.py), as a user sees them through boto3: dependsOn START/COMPLETE/SUCCESS/HEALTHY holds a container in
PENDING until its condition holds, in the order a task-scoped volume records; a SUCCESS that can no longer be met
fails the task before the waiting container starts; healthCheck commands run inside the container make it and its
task HEALTHY or UNHEALTHY (retries, startPeriod); a standalone task stays up UNHEALTHY, a service's is replaced."""

import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from ecs_fixture import EcsTestCase, client, skip_reason, unique  # noqa: E402
from harness import REGION, wait_for  # noqa: E402

# Runs until SIGTERM (busybox sh as PID 1 ignores it otherwise); stopTimeout 2 bounds the rest.
LOOP = "trap 'exit 0' TERM; while :; do sleep 1; done"
# Appends "<name> <uptime>" to /shared/order: one clock for every container of the host.
STAMP = "read up _ < /proc/uptime; echo \"{name} $up\" >> /shared/order"
TIMEOUT = 30


# A skip of the class (not of setUpClass) counts each test as skipped: ctest then reports "Not Run" (exit 77).
@unittest.skipIf(skip_reason(), skip_reason())
class EcsContainersTest(EcsTestCase):
    task_ids = set()
    cluster = "containers"
    services = []

    @classmethod
    def setUpClass(cls):
        cls.task_ids, cls.services = set(), []
        super().setUpClass()
        try:
            cls.prepare("annex-ecsc-")
            cls.volume_root = cls.daemon.data_dir / "containers" / "volumes"
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def stop_everything(cls):
        """Deletes (--force) every service a test created, then stops every task still running."""
        ecs = cls.ecs()
        for name in cls.services:
            try:
                ecs.delete_service(cluster=cls.cluster, service=name, force=True)
            except ecs.exceptions.ClientError:
                pass  # deleted already
        deadline = time.monotonic() + TIMEOUT
        for name in cls.services:
            while time.monotonic() < deadline:
                s = ecs.describe_services(cluster=cls.cluster, services=[name])["services"]
                if not s or s[0]["status"] == "INACTIVE":
                    break
                time.sleep(0.2)
        running = cls.all_tasks("RUNNING")
        for arn in running:
            ecs.stop_task(cluster=cls.cluster, task=arn, reason="test cleanup")
        arns = sorted(set(running) | set(cls.all_tasks("STOPPED")))
        while arns and time.monotonic() < deadline:
            tasks = []
            for i in range(0, len(arns), 100):
                tasks += ecs.describe_tasks(cluster=cls.cluster, tasks=arns[i:i + 100])["tasks"]
            if all(t["lastStatus"] == "STOPPED" for t in tasks):
                break
            time.sleep(0.2)

    @classmethod
    def all_tasks(cls, desired, service=None):
        """The ARNs of the cluster's tasks (of `service`) with that desiredStatus; remembers their ids."""
        kw = {"cluster": cls.cluster, "desiredStatus": desired}
        if service:
            kw["serviceName"] = service
        arns = []
        for page in cls.ecs().get_paginator("list_tasks").paginate(**kw):
            arns += page["taskArns"]
        cls.task_ids.update(a.rsplit("/", 1)[1] for a in arns)
        return arns

    # -- helpers -----------------------------------------------------------

    def register(self, containers, volumes=None):
        d = {"family": unique("ct-"), "networkMode": "bridge", "containerDefinitions": containers}
        if volumes:
            d["volumes"] = volumes
        return self.ecs().register_task_definition(**d)["taskDefinition"]["taskDefinitionArn"]

    def container(self, name, script=LOOP, essential=True, **kw):
        return {"name": name, "image": "busybox:latest", "memory": 32, "essential": essential, "stopTimeout": 2,
                "command": ["sh", "-c", script], **kw}

    @staticmethod
    def health(command, interval=5, retries=3, timeout=2, **kw):
        return {"healthCheck": {"command": command, "interval": interval, "timeout": timeout, "retries": retries,
                                **kw}}

    @staticmethod
    def shared(path="/shared", volume="shared"):
        return {"mountPoints": [{"sourceVolume": volume, "containerPath": path}]}

    def run_task(self, definition):
        r = self.ecs().run_task(cluster=self.cluster, taskDefinition=definition, launchType="EC2")
        self.assertEqual(r.get("failures"), [], r)
        self.assertEqual(len(r["tasks"]), 1, r)
        arn = r["tasks"][0]["taskArn"]
        self.task_ids.add(self.task_id(arn))
        return arn

    def describe(self, arn):
        tasks = self.ecs().describe_tasks(cluster=self.cluster, tasks=[arn])["tasks"]
        self.assertEqual(len(tasks), 1, arn)
        return tasks[0]

    @staticmethod
    def by_name(task):
        return {c["name"]: c for c in task["containers"]}

    def watch(self, arn, until, timeout=TIMEOUT, samples=None, what=None):
        """Polls DescribeTasks until `until(task)` holds; appends every answer to `samples`; returns the task."""
        deadline = time.monotonic() + timeout
        while True:
            task = self.describe(arn)
            if samples is not None:
                samples.append((time.monotonic(), task))
            if until(task):
                return task
            if time.monotonic() >= deadline:
                self.fail(f"task {arn}: {what or 'condition'} not within {timeout} s: "
                          f"{json.dumps(task, default=str)}\n" + self.daemon.log_tail(30))
            time.sleep(0.1)

    def stopped(self, arn, timeout=TIMEOUT):
        return self.watch(arn, lambda t: t["lastStatus"] == "STOPPED", timeout, what="STOPPED")

    def stop(self, arn):
        self.ecs().stop_task(cluster=self.cluster, task=arn, reason="done")
        return self.stopped(arn)

    def wait_log(self, group, stream, marker):
        """The stream's messages once one contains `marker`."""
        logs = client(self.daemon, "logs")

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

    # -- dependsOn ---------------------------------------------------------

    def test_depends_on_order(self):
        """A (non-essential) exits 0; B waits for A's SUCCESS, C for B's START: the shared file says A, B, C."""
        group = "/ecs/" + unique("order-")
        marker = unique("end-")
        definition = self.register([
            self.container("a", essential=False, script="sleep 2; " + STAMP.format(name="a"), **self.shared()),
            self.container("b", script=STAMP.format(name="b") + "; " + LOOP,
                           dependsOn=[{"containerName": "a", "condition": "SUCCESS"}], **self.shared()),
            # START means B's process began, not that its first line ran: C waits for B's stamp.
            self.container("c", script="until grep -q '^b ' /shared/order; do sleep 0.1; done; " +
                           STAMP.format(name="c") + f"; cat /shared/order; echo {marker}; " + LOOP,
                           dependsOn=[{"containerName": "b", "condition": "START"}], **self.shared(),
                           logConfiguration={"logDriver": "awslogs", "options": {
                               "awslogs-group": group, "awslogs-region": REGION, "awslogs-stream-prefix": "ct"}}),
        ], volumes=[{"name": "shared"}])  # task-scoped: no host sourcePath
        arn = self.run_task(definition)
        samples = []

        def all_up(task):
            c = self.by_name(task)
            return c["a"]["lastStatus"] == "STOPPED" and c["b"]["lastStatus"] == c["c"]["lastStatus"] == "RUNNING"
        task = self.watch(arn, all_up, samples=samples, what="a STOPPED, b and c RUNNING")
        a = self.by_name(task)["a"]
        self.assertEqual(a.get("exitCode"), 0, task)
        self.assertEqual(task["lastStatus"], "RUNNING", task)
        # While A ran, B and C waited; while B waited, so did C; C never ran before B.
        states = [tuple(self.by_name(t)[n]["lastStatus"] for n in "abc") for _, t in samples]
        self.assertIn(("RUNNING", "PENDING", "PENDING"), states, states)
        for a_status, b_status, c_status in states:
            if b_status == "PENDING":
                self.assertEqual(c_status, "PENDING", states)
            if a_status != "STOPPED":
                self.assertEqual(b_status, "PENDING", states)
        messages = self.wait_log(group, f"ct/c/{self.task_id(arn)}", marker)
        lines = [m.split() for m in messages if m != marker]
        self.assertEqual([l[0] for l in lines], ["a", "b", "c"], messages)
        stamps = [float(l[1]) for l in lines]
        self.assertEqual(stamps, sorted(stamps), messages)
        task = self.stop(arn)
        self.assertEqual(task["stopCode"], "UserInitiated", task)

    def test_success_dependency_that_failed(self):
        """SUCCESS of a container that exits 1 can no longer be met: the task fails, the waiter never ran."""
        definition = self.register([
            self.container("setup", essential=False, script="sleep 1; exit 1"),
            self.container("app", dependsOn=[{"containerName": "setup", "condition": "SUCCESS"}]),
        ])
        arn = self.run_task(definition)
        samples = []
        task = self.watch(arn, lambda t: t["lastStatus"] == "STOPPED", samples=samples, what="STOPPED")
        self.assertEqual(task["stopCode"], "TaskFailedToStart", task)
        self.assertIn("setup", task.get("stoppedReason", ""), task)
        containers = self.by_name(task)
        self.assertEqual(containers["setup"].get("exitCode"), 1, task)
        self.assertNotIn("exitCode", containers["app"], task)
        self.assertEqual(containers["app"]["lastStatus"], "STOPPED", task)
        self.assertFalse(any(self.by_name(t)["app"]["lastStatus"] == "RUNNING" for _, t in samples),
                         [self.by_name(t)["app"]["lastStatus"] for _, t in samples])
        self.assertTrue(any(self.by_name(t)["setup"]["lastStatus"] == "RUNNING" for _, t in samples),
                        [self.by_name(t)["setup"]["lastStatus"] for _, t in samples])

    def test_complete_dependency_after_failure(self):
        """COMPLETE holds however the dependency ended: the waiter runs after an exit 3 (and exits 5 itself)."""
        definition = self.register([
            self.container("setup", essential=False, script="sleep 1; exit 3"),
            self.container("app", script="exit 5", dependsOn=[{"containerName": "setup", "condition": "COMPLETE"}]),
        ])
        arn = self.run_task(definition)
        samples = []
        task = self.watch(arn, lambda t: t["lastStatus"] == "STOPPED", samples=samples, what="STOPPED")
        containers = self.by_name(task)
        self.assertEqual(containers["setup"].get("exitCode"), 3, task)
        self.assertEqual(containers["app"].get("exitCode"), 5, task)
        self.assertEqual(task["stopCode"], "EssentialContainerExited", task)
        for _, t in samples:
            c = self.by_name(t)
            if c["setup"]["lastStatus"] != "STOPPED":
                self.assertEqual(c["app"]["lastStatus"], "PENDING", t)

    def test_healthy_dependency(self):
        """B waits for A's HEALTHY: A's check fails until A creates /tmp/up (after ~3 s), B starts after a pass."""
        host_dir = self.volume_root / unique("healthy-")
        host_dir.mkdir(parents=True)
        passed = "read up _ < /proc/uptime; echo $up >> /shared/passed"
        definition = self.register([
            self.container("a", script="sleep 3; touch /tmp/up; " + LOOP, **self.shared(),
                           **self.health(["CMD-SHELL", f"test -f /tmp/up && {{ {passed}; }}"])),
            self.container("b", script="read up _ < /proc/uptime; echo $up > /shared/b; " + LOOP, **self.shared(),
                           dependsOn=[{"containerName": "a", "condition": "HEALTHY"}]),
        ], volumes=[{"name": "shared", "host": {"sourcePath": str(host_dir)}}])
        arn = self.run_task(definition)
        samples = []
        task = self.watch(arn, lambda t: self.by_name(t)["b"]["lastStatus"] == "RUNNING", samples=samples,
                          what="b RUNNING")
        self.assertEqual(self.by_name(task)["a"].get("healthStatus"), "HEALTHY", task)
        states = [(self.by_name(t)["a"]["lastStatus"], self.by_name(t)["a"].get("healthStatus"),
                   self.by_name(t)["b"]["lastStatus"]) for _, t in samples]
        self.assertIn(("RUNNING", "UNKNOWN", "PENDING"), states, states)
        for _, a_health, b_status in states:
            if b_status == "RUNNING":
                self.assertEqual(a_health, "HEALTHY", states)
        wait_for("b's stamp", lambda: (host_dir / "b").exists() and (host_dir / "b").read_text().strip(), TIMEOUT)
        first_pass = float((host_dir / "passed").read_text().split()[0])
        self.assertGreater(float((host_dir / "b").read_text()), first_pass)
        self.assertEqual(self.stop(arn)["stopCode"], "UserInitiated")

    # -- health checks -----------------------------------------------------

    def test_health_status(self):
        """Passing, failing and starting checks, in three standalone tasks at once."""
        passing = self.run_task(self.register([self.container("app", **self.health(["CMD", "/bin/true"]))]))
        failing = self.run_task(self.register([self.container(
            "app", **self.health(["CMD-SHELL", "exit 1"], interval=5, retries=2))]))
        # retries 1 would be UNHEALTHY at the first failure; the first 8 s do not count.
        starting = self.run_task(self.register([self.container(
            "app", **self.health(["CMD-SHELL", "exit 1"], interval=5, retries=1, startPeriod=8))]))

        def up(arn):
            return self.watch(arn, lambda t: t["lastStatus"] == "RUNNING", what="RUNNING")
        up(passing)
        failing_up = time.monotonic()
        up(failing)
        up(starting)
        starting_up = time.monotonic()

        task = self.watch(passing, lambda t: t.get("healthStatus") == "HEALTHY", timeout=10, what="HEALTHY")
        self.assertEqual(task["containers"][0].get("healthStatus"), "HEALTHY", task)

        # startPeriod: still UNKNOWN ~7 s in, though the check failed at least once (at ~0 s and ~5 s).
        samples = []
        while time.monotonic() - starting_up < 7:
            t = self.describe(starting)
            samples.append((t["containers"][0].get("healthStatus"), t.get("healthStatus"), t["lastStatus"]))
            time.sleep(0.25)
        self.assertEqual(set(samples), {("UNKNOWN", "UNKNOWN", "RUNNING")}, samples)

        task = self.watch(failing, lambda t: t.get("healthStatus") == "UNHEALTHY",
                          timeout=max(1.0, 15 - (time.monotonic() - failing_up)), what="UNHEALTHY within 15 s")
        # Two failures in a row: the second check runs one interval after the first.
        self.assertGreater(time.monotonic() - failing_up, 4)
        self.assertEqual(task["containers"][0].get("healthStatus"), "UNHEALTHY", task)

        task = self.watch(starting, lambda t: t["containers"][0].get("healthStatus") == "UNHEALTHY",
                          timeout=max(1.0, 16 - (time.monotonic() - starting_up)), what="UNHEALTHY after startPeriod")
        self.assertEqual(task.get("healthStatus"), "UNHEALTHY", task)

        # A standalone task is not replaced: it keeps running UNHEALTHY (ECS replaces only a service's tasks).
        for _ in range(3):
            for arn in (failing, starting):
                t = self.describe(arn)
                self.assertEqual((t["lastStatus"], t["desiredStatus"], t["healthStatus"]),
                                 ("RUNNING", "RUNNING", "UNHEALTHY"), t)
            time.sleep(1)
        self.assertEqual(self.describe(passing)["healthStatus"], "HEALTHY")
        for arn in (passing, failing, starting):
            self.assertEqual(self.stop(arn)["stopCode"], "UserInitiated")

    def test_service_replaces_unhealthy_task(self):
        """A service's task that turns UNHEALTHY is stopped and replaced; the replacement (whose check a host file
        lets pass) stays."""
        host_dir = self.volume_root / unique("svc-health-")
        host_dir.mkdir(parents=True)
        # retries 2: annexd runs a container's first check as soon as it sees it started, and that check can fail
        # without its command running at all; the second, one interval later, is the one that counts here.
        definition = self.register(
            [self.container("app", **self.shared("/v"), **self.health(["CMD-SHELL", "test -f /v/ok"], retries=2))],
            volumes=[{"name": "shared", "host": {"sourcePath": str(host_dir)}}])
        name = unique("svc-")
        self.services.append(name)
        self.ecs().create_service(cluster=self.cluster, serviceName=name, taskDefinition=definition, desiredCount=1,
                                  launchType="EC2")

        def first_task():
            arns = self.all_tasks("RUNNING", name)
            return arns[0] if arns else None
        first = wait_for(f"{name}'s first task", first_task, TIMEOUT, interval=0.1)
        task = self.watch(first, lambda t: t["desiredStatus"] == "STOPPED", what="stopped by the service")
        # Its replacement's check passes (launched after the back-off).
        (host_dir / "ok").write_text("")
        task = self.stopped(first)
        self.assertEqual(task["stoppedReason"], "Task failed container health checks", task)
        self.assertEqual(task["stopCode"], "ServiceSchedulerInitiated", task)
        self.assertEqual(task["containers"][0].get("healthStatus"), "UNHEALTHY", task)

        def replacement():
            arns = [a for a in self.all_tasks("RUNNING", name) if a != first]
            return arns[0] if arns else None
        second = wait_for(f"{name}'s replacement", replacement, TIMEOUT, interval=0.1)
        task = self.watch(second, lambda t: t.get("healthStatus") == "HEALTHY", what="replacement HEALTHY")
        self.assertEqual(task["lastStatus"], "RUNNING", task)
        service = self.ecs().describe_services(cluster=self.cluster, services=[name])["services"][0]
        messages = [e["message"] for e in service["events"]]
        self.assertIn(f"(service {name}) (task {self.task_id(first)}) failed container health checks.", messages)
        self.assertEqual(service["desiredCount"], 1)
        wait_for(f"{name} running 1", lambda: self.ecs().describe_services(
            cluster=self.cluster, services=[name])["services"][0]["runningCount"] == 1, TIMEOUT)
        self.assertEqual(self.all_tasks("RUNNING", name), [second])
        self.ecs().delete_service(cluster=self.cluster, service=name, force=True)
        self.assertEqual(self.stopped(second)["stopCode"], "ServiceSchedulerInitiated")


if __name__ == "__main__":
    harness.main()
