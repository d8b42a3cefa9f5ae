#!/usr/bin/python3
"""ECS services against a real annexd as root, with tasks that really run under crun (the busybox image of
ecs_fixture.py): what a user sees through boto3 and awscli when the service scheduler keeps a service at its
desired count. Creation, a steady state and ECS's events; a task killed behind annexd's back or stopped by StopTask
is replaced; a rolling update that keeps minimumHealthyPercent running; scaling out and in; delete with and without
--force, DRAINING then INACTIVE; the back-off of a service whose tasks fail at once; a service whose tasks outlive a
kill -9 of annexd and are adopted again, not replaced."""

import json
import os
import re
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from ecs_fixture import EcsTestCase, SUBNETS, run, runtime_root, skip_reason, unique  # noqa: E402
from harness import AWS_CLI, have, wait_for  # noqa: E402

# Runs until SIGTERM (busybox sh as PID 1 ignores it otherwise); stopTimeout 2 bounds the rest.
LOOP = "trap 'exit 0' TERM; while :; do sleep 1; done"
SUBNET_CLI = "awsvpcConfiguration={subnets=[subnet-0123456789abcdef0]}"
TIMEOUT = 30


def awscli_error(stderr):
    """(code, message) of an awscli error."""
    m = re.search(r"An error occurred \((\w+)\) when calling the \w+ operation: (.*)", stderr)
    return (m.group(1), m.group(2).strip()) if m else (None, stderr)


# A skip of the class (not of setUpClass) counts each test as skipped: ctest then reports "Not Run" (exit 77).
@unittest.skipIf(skip_reason() or not have(AWS_CLI), skip_reason() or "awscli is not installed")
class EcsServicesTest(EcsTestCase):
    task_ids = set()
    cluster = "services"
    services = []

    @classmethod
    def setUpClass(cls):
        cls.task_ids, cls.services = set(), []
        super().setUpClass()
        try:
            cls.clusters = [cls.cluster]
            cls.prepare("annex-ecss-")
            cls.family = unique("svc-")
            cls.loop_def = cls.register_loop(cls.family)
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def stop_everything(cls):
        """Deletes (--force) every service a test created, then stops whatever task is left."""
        ecs = cls.ecs()
        for cluster, name in cls.services:
            try:
                ecs.delete_service(cluster=cluster, service=name, force=True)
            except ecs.exceptions.ClientError:
                pass  # deleted already, or its cluster is gone
        deadline = time.monotonic() + TIMEOUT
        for cluster, name in cls.services:
            while time.monotonic() < deadline:
                try:
                    s = ecs.describe_services(cluster=cluster, services=[name])["services"]
                except ecs.exceptions.ClientError:
                    break
                if not s or s[0]["status"] == "INACTIVE":
                    break
                time.sleep(0.2)
        for cluster in cls.clusters:
            try:
                running = cls.all_tasks(cluster, "RUNNING")
                for arn in running:
                    ecs.stop_task(cluster=cluster, task=arn, reason="test cleanup")
                cls.all_tasks(cluster, "STOPPED")
                while running and time.monotonic() < deadline:
                    tasks = ecs.describe_tasks(cluster=cluster, tasks=running[:100])["tasks"]
                    if all(t["lastStatus"] == "STOPPED" for t in tasks):
                        break
                    time.sleep(0.2)
            except ecs.exceptions.ClientError:
                pass  # a cluster a test deleted

    @classmethod
    def all_tasks(cls, cluster, desired, service=None):
        """The ARNs of a cluster's tasks (of `service`) with that desiredStatus; remembers their ids for cleanup."""
        kw = {"cluster": cluster, "desiredStatus": desired}
        if service:
            kw["serviceName"] = service
        arns = []
        for page in cls.ecs().get_paginator("list_tasks").paginate(**kw):
            arns += page["taskArns"]
        cls.task_ids.update(a.rsplit("/", 1)[1] for a in arns)
        return arns

    # -- helpers -----------------------------------------------------------

    @classmethod
    def register_loop(cls, family, network_mode="awsvpc", script=LOOP, **kw):
        """A revision of `family`: one busybox container running `script`, stopTimeout 2."""
        container = {"name": "app", "image": "busybox:latest", "memory": 32, "essential": True, "stopTimeout": 2,
                     "command": ["sh", "-c", script], **kw}
        d = cls.ecs().register_task_definition(family=family, networkMode=network_mode,
                                               containerDefinitions=[container])
        return d["taskDefinition"]["taskDefinitionArn"]

    def aws(self, *args):
        """awscli's parsed answer to `aws ecs ARGS`."""
        p = subprocess.run([AWS_CLI, "--endpoint-url", self.daemon.endpoint, "--output", "json", "ecs", *args],
                           env=self.daemon.client_env(), capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, f"aws ecs {' '.join(args)}: {p.stderr}")
        return json.loads(p.stdout) if p.stdout.strip() else {}

    def aws_fails(self, *args):
        """(code, message) of `aws ecs ARGS`, which must fail."""
        p = subprocess.run([AWS_CLI, "--endpoint-url", self.daemon.endpoint, "--output", "json", "ecs", *args],
                           env=self.daemon.client_env(), capture_output=True, text=True, timeout=60)
        self.assertNotEqual(p.returncode, 0, f"aws ecs {' '.join(args)} succeeded: {p.stdout}")
        return awscli_error(p.stderr)

    def create(self, definition, desired, cluster=None, awsvpc=True, **kw):
        """A new service (boto3), deleted (--force) when the test ends; returns its name."""
        cluster = cluster or self.cluster
        name = unique("svc-")
        if awsvpc:
            kw["networkConfiguration"] = SUBNETS
        self.services.append((cluster, name))
        r = self.ecs().create_service(cluster=cluster, serviceName=name, taskDefinition=definition,
                                      desiredCount=desired, launchType="EC2", **kw)
        self.assertEqual(r["service"]["status"], "ACTIVE", r)
        self.addCleanup(self.drain, name, cluster)
        return name

    def drain(self, name, cluster=None):
        """Deletes the service (--force) and waits for it to be INACTIVE with every task STOPPED."""
        cluster = cluster or self.cluster
        ecs = self.ecs()
        try:
            ecs.delete_service(cluster=cluster, service=name, force=True)
        except ecs.exceptions.ServiceNotFoundException:
            pass
        except ecs.exceptions.ClusterNotFoundException:
            return  # the test deleted the service and its cluster
        wait_for(f"{name} INACTIVE", lambda: self.service(name, cluster)["status"] == "INACTIVE", TIMEOUT)
        wait_for(f"{name}'s tasks STOPPED", lambda: not self.all_tasks(cluster, "RUNNING", name)
                 and all(t["lastStatus"] == "STOPPED" for t in self.tasks(name, "STOPPED", cluster)), TIMEOUT)

    def service(self, name, cluster=None):
        r = self.ecs().describe_services(cluster=cluster or self.cluster, services=[name])
        self.assertEqual(len(r["services"]), 1, r)
        return r["services"][0]

    def tasks(self, name, desired="RUNNING", cluster=None):
        """The service's tasks with that desiredStatus, described."""
        cluster = cluster or self.cluster
        arns = self.all_tasks(cluster, desired, name)
        out = []
        for i in range(0, len(arns), 100):
            out += self.ecs().describe_tasks(cluster=cluster, tasks=arns[i:i + 100])["tasks"]
        return out

    def running(self, name, cluster=None):
        """The service's tasks that should run and do."""
        return [t for t in self.tasks(name, "RUNNING", cluster) if t["lastStatus"] == "RUNNING"]

    def wait_steady(self, name, count, timeout=TIMEOUT, cluster=None):
        """Waits for exactly `count` tasks RUNNING, none pending, the counts in DescribeServices agreeing and one
        COMPLETED deployment; returns (service, running tasks)."""
        def steady():
            s = self.service(name, cluster)
            if (s["runningCount"], s["pendingCount"], len(s["deployments"])) != (count, 0, 1):
                return None
            if s["deployments"][0]["rolloutState"] != "COMPLETED":
                return None
            tasks = self.tasks(name, "RUNNING", cluster)
            if len(tasks) != count or any(t["lastStatus"] != "RUNNING" for t in tasks):
                return None
            return s, tasks
        try:
            return wait_for(f"{name} steady at {count}", steady, timeout, interval=0.1)
        except AssertionError as e:
            raise AssertionError(f"{e}\n{json.dumps(self.service(name, cluster), default=str)[:3000]}\n"
                                 + self.daemon.log_tail(30)) from None

    def messages(self, service):
        return [e["message"] for e in service["events"]]

    def task_id(self, arn):
        return arn.rsplit("/", 1)[1]

    def wait_task_stopped(self, arn, cluster=None):
        def stopped():
            t = self.ecs().describe_tasks(cluster=cluster or self.cluster, tasks=[arn])["tasks"][0]
            return t if t["lastStatus"] == "STOPPED" else None
        return wait_for(f"task {arn} STOPPED", stopped, TIMEOUT, interval=0.1)

    # -- tests -------------------------------------------------------------

    def test_create_describe_list(self):
        name = unique("svc-")
        self.services.append((self.cluster, name))
        self.addCleanup(self.drain, name)
        created = self.aws("create-service", "--cluster", self.cluster, "--service-name", name,
                           "--task-definition", f"{self.family}:1", "--desired-count", "2", "--launch-type", "EC2",
                           "--network-configuration", SUBNET_CLI)["service"]
        self.assertEqual((created["serviceName"], created["status"], created["desiredCount"]), (name, "ACTIVE", 2))
        self.assertEqual(created["taskDefinition"], self.loop_def)
        self.assertEqual(created["deployments"][0]["status"], "PRIMARY", created)
        self.assertEqual(created["deployments"][0]["rolloutState"], "IN_PROGRESS", created)

        service, tasks = self.wait_steady(name, 2)
        messages = self.messages(service)
        self.assertTrue(any(m.startswith(f"(service {name}) has started 2 tasks:") for m in messages), messages)
        self.assertIn(f"(service {name}) has reached a steady state.", messages)
        # Newest first, as ECS lists them.
        self.assertLess(messages.index(f"(service {name}) has reached a steady state."),
                        next(i for i, m in enumerate(messages) if "has started 2 tasks" in m), messages)
        started = next(m for m in messages if "has started 2 tasks" in m)
        for t in tasks:
            self.assertIn(f"(task {self.task_id(t['taskArn'])})", started)
        deployment = service["deployments"][0]
        self.assertEqual((deployment["status"], deployment["rolloutState"]), ("PRIMARY", "COMPLETED"), service)
        self.assertEqual((deployment["runningCount"], deployment["desiredCount"]), (2, 2), service)
        for t in tasks:
            self.assertEqual(t["group"], f"service:{name}", t)
            self.assertEqual(t["startedBy"], deployment["id"], t)
            self.assertEqual(t["taskDefinitionArn"], self.loop_def, t)
            self.assertRegex(t["containers"][0]["networkInterfaces"][0]["privateIpv4Address"], r"^\d+\.\d+\.\d+\.\d+$")

        listed = self.aws("list-services", "--cluster", self.cluster)["serviceArns"]
        self.assertIn(service["serviceArn"], listed)
        described = self.aws("describe-services", "--cluster", self.cluster, "--services", name)["services"]
        self.assertEqual([s["serviceArn"] for s in described], [service["serviceArn"]])

        missing = unique("nosuch-")
        r = self.ecs().describe_services(cluster=self.cluster, services=[missing, name])
        self.assertEqual([s["serviceName"] for s in r["services"]], [name])
        self.assertEqual(len(r["failures"]), 1, r)
        self.assertEqual(r["failures"][0]["reason"], "MISSING", r)
        self.assertTrue(r["failures"][0]["arn"].endswith(f":service/{self.cluster}/{missing}"), r)

        ecs = self.ecs()
        with self.assertRaises(ecs.exceptions.InvalidParameterException) as cm:
            ecs.create_service(cluster=self.cluster, serviceName=name, taskDefinition=self.loop_def, desiredCount=1,
                               launchType="EC2", networkConfiguration=SUBNETS)
        self.assertEqual(cm.exception.response["Error"]["Message"], "Creation of service was not idempotent.")
        # The failed creation changed nothing.
        self.assertEqual(self.service(name)["desiredCount"], 2)

    def test_replaces_killed_and_stopped_tasks(self):
        name = self.create(self.loop_def, 2)
        _, tasks = self.wait_steady(name, 2)
        victim = tasks[0]
        runtime_id = victim["containers"][0]["runtimeId"]
        killed_at = time.monotonic()
        run("crun", "--root", runtime_root(self.daemon), "kill", runtime_id, "KILL")
        stopped = self.wait_task_stopped(victim["taskArn"])
        self.assertEqual(stopped["stopCode"], "EssentialContainerExited", stopped)
        self.assertEqual(stopped["containers"][0].get("exitCode"), 137, stopped)
        service, now = self.wait_steady(name, 2, timeout=15)
        self.assertLess(time.monotonic() - killed_at, 15)
        arns = {t["taskArn"] for t in now}
        self.assertNotIn(victim["taskArn"], arns)
        self.assertIn(tasks[1]["taskArn"], arns)
        self.assertTrue(any(m.startswith(f"(service {name}) task {self.task_id(victim['taskArn'])} stopped")
                            for m in self.messages(service)), self.messages(service))

        # A user's StopTask: ECS replaces that task too.
        target = tasks[1]["taskArn"]
        stopped_at = time.monotonic()
        self.ecs().stop_task(cluster=self.cluster, task=target, reason="by the test")
        stopped = self.wait_task_stopped(target)
        self.assertEqual(stopped["stopCode"], "UserInitiated", stopped)
        service, after = self.wait_steady(name, 2, timeout=15)
        self.assertLess(time.monotonic() - stopped_at, 15)
        self.assertNotIn(target, {t["taskArn"] for t in after})
        self.assertEqual(len(arns & {t["taskArn"] for t in after}), 1, (arns, after))
        self.assertEqual(len(self.all_tasks(self.cluster, "STOPPED", name)), 2)

    def test_rolling_update(self):
        family = unique("roll-")
        rev1 = self.register_loop(family)
        name = self.create(rev1, 2)
        _, old = self.wait_steady(name, 2)
        rev2 = self.register_loop(family, environment=[{"name": "REVISION", "value": "2"}])
        self.assertTrue(rev2.endswith(f"{family}:2"), rev2)
        updated = self.aws("update-service", "--cluster", self.cluster, "--service", name,
                           "--task-definition", f"{family}:2", "--deployment-configuration",
                           "maximumPercent=100,minimumHealthyPercent=50")["service"]
        self.assertEqual(updated["taskDefinition"], rev2)
        self.assertEqual(updated["deploymentConfiguration"]["maximumPercent"], 100, updated)
        self.assertEqual(updated["deploymentConfiguration"]["minimumHealthyPercent"], 50, updated)
        self.assertEqual([(d["status"], d["taskDefinition"]) for d in updated["deployments"]],
                         [("PRIMARY", rev2), ("ACTIVE", rev1)], updated)
        self.assertEqual(updated["deployments"][0]["rolloutState"], "IN_PROGRESS", updated)

        # desiredCount 2 at 50 %: one task at least runs throughout, two at most are running or pending.
        samples = []
        deadline = time.monotonic() + 40
        while True:
            s = self.service(name)
            samples.append((s["runningCount"], s["pendingCount"], len(s["deployments"])))
            d = s["deployments"]
            if len(d) == 1 and d[0]["rolloutState"] == "COMPLETED" and s["runningCount"] == 2:
                break
            if time.monotonic() >= deadline:
                self.fail(f"rollout not done: {samples[-20:]}\n{json.dumps(s, default=str)[:3000]}")
            time.sleep(0.15)
        self.assertGreaterEqual(min(r for r, _, _ in samples), 1, samples)
        self.assertLessEqual(max(r + p for r, p, _ in samples), 2, samples)

        service, new = self.wait_steady(name, 2)
        self.assertEqual([(d["status"], d["taskDefinition"], d["rolloutState"]) for d in service["deployments"]],
                         [("PRIMARY", rev2, "COMPLETED")], service)
        self.assertEqual({t["taskDefinitionArn"] for t in new}, {rev2})
        self.assertEqual({t["startedBy"] for t in new}, {service["deployments"][0]["id"]})
        for t in old:
            stopped = self.wait_task_stopped(t["taskArn"])
            self.assertEqual(stopped["stopCode"], "ServiceSchedulerInitiated", stopped)
            self.assertEqual(stopped["desiredStatus"], "STOPPED", stopped)
        messages = self.messages(service)
        self.assertTrue(any(m.endswith("deployment completed.") and service["deployments"][0]["id"] in m
                            for m in messages), messages)
        self.assertTrue(any("has stopped 1 running tasks" in m for m in messages), messages)

    def test_scale_out_and_in(self):
        name = self.create(self.loop_def, 1)
        _, first = self.wait_steady(name, 1)
        self.ecs().update_service(cluster=self.cluster, service=name, desiredCount=3)
        service, three = self.wait_steady(name, 3)
        self.assertEqual(service["desiredCount"], 3)
        self.assertIn(first[0]["taskArn"], {t["taskArn"] for t in three})
        # Scaling changes no task definition: still the one deployment.
        self.assertEqual(len(service["deployments"]), 1, service)

        self.aws("update-service", "--cluster", self.cluster, "--service", name, "--desired-count", "1")
        service, one = self.wait_steady(name, 1)
        self.assertEqual(service["desiredCount"], 1)
        self.assertIn(one[0]["taskArn"], {t["taskArn"] for t in three})
        for t in three:
            if t["taskArn"] != one[0]["taskArn"]:
                stopped = self.wait_task_stopped(t["taskArn"])
                self.assertEqual(stopped["stopCode"], "ServiceSchedulerInitiated", stopped)
        self.assertTrue(any("has stopped 2 running tasks" in m for m in self.messages(service)),
                        self.messages(service))

    def test_delete_service(self):
        cluster = unique("svcdel-")
        self.ecs().create_cluster(clusterName=cluster)
        self.clusters.append(cluster)
        name = self.create(self.loop_def, 1, cluster=cluster)
        _, tasks = self.wait_steady(name, 1, cluster=cluster)

        code, message = self.aws_fails("delete-service", "--cluster", cluster, "--service", name)
        self.assertEqual((code, message),
                         ("InvalidParameterException", "The service cannot be stopped while it is scaled above 0."))
        ecs = self.ecs()
        with self.assertRaises(ecs.exceptions.ClusterContainsServicesException):
            ecs.delete_cluster(cluster=cluster)
        self.assertEqual(self.service(name, cluster)["status"], "ACTIVE")

        deleted = self.aws("delete-service", "--cluster", cluster, "--service", name, "--force")["service"]
        self.assertEqual((deleted["status"], deleted["desiredCount"]), ("DRAINING", 0), deleted)
        # A DRAINING service is no longer listed, as ECS documents.
        self.assertNotIn(deleted["serviceArn"], self.ecs().list_services(cluster=cluster)["serviceArns"])
        service = wait_for(f"{name} INACTIVE", lambda: (lambda s: s if s["status"] == "INACTIVE" else None)(
            self.service(name, cluster)), TIMEOUT, interval=0.1)
        self.assertEqual(service["desiredCount"], 0)
        self.assertEqual(self.all_tasks(cluster, "RUNNING", name), [])
        stopped = self.wait_task_stopped(tasks[0]["taskArn"], cluster)
        self.assertEqual(stopped["stopCode"], "ServiceSchedulerInitiated", stopped)
        self.assertEqual(len(self.all_tasks(cluster, "STOPPED", name)), 1)
        self.assertNotIn(service["serviceArn"], self.aws("list-services", "--cluster", cluster)["serviceArns"])
        code, _ = self.aws_fails("delete-service", "--cluster", cluster, "--service", name, "--force")
        self.assertEqual(code, "ServiceNotFoundException")
        # Nothing left in the cluster: it can go now.
        self.assertEqual(ecs.delete_cluster(cluster=cluster)["cluster"]["status"], "INACTIVE")

    def test_failing_tasks_back_off(self):
        definition = self.register_loop(unique("fail-"), network_mode="bridge", script="exit 1")
        name = self.create(definition, 1, awsvpc=False)
        failed = []

        def four_started():
            tasks = {t["taskArn"]: t for t in self.tasks(name, "STOPPED") + self.tasks(name, "RUNNING")}
            failed.append(self.service(name)["deployments"][0]["failedTasks"])
            return list(tasks.values()) if len(tasks) >= 4 else None
        tasks = wait_for(f"{name}'s fourth task", four_started, 25, interval=0.2)
        created = sorted(t["createdAt"].timestamp() for t in tasks)
        gaps = [b - a for a, b in zip(created, created[1:])]
        self.assertGreaterEqual(gaps[0], 2, gaps)
        for earlier, later in zip(gaps, gaps[1:]):
            self.assertGreaterEqual(later, earlier, gaps)
        self.assertGreaterEqual(max(gaps), 4, gaps)
        self.assertEqual(failed, sorted(failed), failed)
        self.assertGreaterEqual(failed[-1], 3, failed)
        for t in tasks:
            if t["lastStatus"] == "STOPPED":
                self.assertEqual(t["stopCode"], "EssentialContainerExited", t)
                self.assertEqual(t["containers"][0].get("exitCode"), 1, t)

    def test_service_survives_annexd_kill(self):
        name = self.create(self.loop_def, 2)
        _, before = self.wait_steady(name, 2)
        self.daemon.kill()
        try:
            state = runtime_root(self.daemon)
            for t in before:
                p = run("crun", "--root", state, "state", t["containers"][0]["runtimeId"])
                self.assertEqual(json.loads(p.stdout)["status"], "running", p.stdout)
        finally:
            self.daemon.start()
        # Adopted again: the same tasks, nothing replaced, for a few of the scheduler's passes.
        for _ in range(3):
            service, after = self.wait_steady(name, 2)
            self.assertEqual({t["taskArn"] for t in after}, {t["taskArn"] for t in before})
            time.sleep(1)
        by_arn = {t["taskArn"]: t for t in after}
        for t in before:
            self.assertEqual(by_arn[t["taskArn"]]["startedAt"], t["startedAt"])
            self.assertEqual(by_arn[t["taskArn"]]["containers"][0]["runtimeId"], t["containers"][0]["runtimeId"])
        self.assertEqual(self.all_tasks(self.cluster, "STOPPED", name), [])
        self.assertEqual(service["runningCount"], 2)


if __name__ == "__main__":
    harness.main()
