#!/usr/bin/python3
"""ECS chaos test: services come back after an appliance reboot, and survive kill -9 of annexd under task churn.

Runs a real annexd as root with tasks under crun (the offline busybox image of tests/integration/ecs_fixture.py):

  * test_reboot: a service (desiredCount 2, awsvpc, busybox httpd) and a standalone task run; then the machine
    "loses power": annexd is SIGKILLed, every process of its workload cgroup subtree (shims, crun, containers) is
    stopped and killed at once (no shim gets to write an exit file), crun's containers are deleted, the cgroups,
    the tasks' network namespaces, the bridge and the nft table are removed and the tasks' overlay mounts
    unmounted — what a reboot loses. annexd is started again: the standalone task ends STOPPED ("ended while the
    appliance was down"), the service's old tasks STOPPED and new ones RUNNING until runningCount is 2 again
    within ~30 s, and the new tasks answer HTTP on their private IPs (the bridge and network came back).
  * test_kill_under_churn: a service at desiredCount 3; CYCLES times (default 5) its desiredCount changes between
    1 and 3 and random tasks get StopTask while annexd is SIGKILLed 0-300 ms after a request and restarted. At
    desiredCount 2 at the end: exactly 2 tasks RUNNING, every other STOPPED, no container running that no RUNNING
    task owns, and no network namespace of this daemon beyond the RUNNING tasks' and at most 2 spares.

Needs root, cgroups, crun, umoci, skopeo, busybox, ip and boto3 (skipped with the reason otherwise).
ECS_REBOOT_SEED makes the churn repeatable.
"""

import hashlib
import json
import os
import random
import re
import shutil
import signal
import sys
import tempfile
import time
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
import harness  # noqa: E402
from ecs_fixture import (SUBNETS, build_busybox_image, client, kill_leftovers, run, runtime_root,  # noqa: E402
                         skip_reason, unique)
from harness import wait_for  # noqa: E402

CYCLES = int(os.environ.get("CYCLES", "5"))
SEED = int(os.environ.get("ECS_REBOOT_SEED", str(int(time.time()))))
PORT = 8080
MARKER = "annex-reboot-ok"
# busybox httpd (it daemonizes) serving MARKER, then a loop that ends on SIGTERM (sh as PID 1 ignores it otherwise).
SERVE = (f"mkdir -p /tmp/www && echo {MARKER} > /tmp/www/index.html && httpd -p {PORT} -h /tmp/www; "
         "trap 'exit 0' TERM; while :; do sleep 1; done")
ENDED_WHILE_DOWN = "The container's process ended while the appliance was down"
TIMEOUT = 30


def _skip():
    reason = skip_reason()
    if reason:
        return reason
    if not shutil.which("ip"):
        return "ip (iproute2) not installed (needed to see and remove network namespaces)"
    if not os.path.isdir("/sys/fs/cgroup"):
        return "needs a cgroup hierarchy at /sys/fs/cgroup"
    return None


def tag_of(daemon):
    return hashlib.sha256(os.path.realpath(daemon.data_dir).encode()).hexdigest()


def workload_cgroups(daemon):
    """The roots of annexd's workload cgroup subtree, one per hierarchy."""
    name = f"annex-workloads-{tag_of(daemon)[:12]}"
    return sorted({p for pattern in (name, f"*/{name}") for p in Path("/sys/fs/cgroup").glob(pattern) if p.is_dir()})


def cgroup_pids(daemon):
    pids = set()
    for root in workload_cgroups(daemon):
        for procs in root.rglob("cgroup.procs"):
            try:
                pids |= {int(x) for x in procs.read_text().split()}
            except OSError:
                pass
    return pids


def kill_workload_processes(daemon):
    """Every process of the workload subtree dies at once, as at a power cut: all are SIGSTOPped first (so no shim
    sees its container end and writes an exit file), then SIGKILLed."""
    stopped = set()
    for _ in range(20):  # until nothing new appears (a fork racing the stop)
        fresh = cgroup_pids(daemon) - stopped
        if not fresh:
            break
        for pid in fresh:
            try:
                os.kill(pid, signal.SIGSTOP)
            except ProcessLookupError:
                pass
        stopped |= fresh
    deadline = time.monotonic() + 10
    while True:
        left = cgroup_pids(daemon)
        if not left:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"processes of the workload cgroups do not die: {sorted(left)}")
        for pid in left | stopped:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.05)


def remove_workload_cgroups(daemon):
    for root in workload_cgroups(daemon):
        for d in sorted((p for p in root.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)) + [root]:
            for _ in range(50):
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)


def delete_containers(daemon):
    state = runtime_root(daemon)
    if state.is_dir():
        for cid in run("crun", "--root", state, "list", "-q", check=False).stdout.split():
            run("crun", "--root", state, "delete", "-f", cid, check=False)


def task_mounts(daemon):
    """Mount points under <data>/containers/tasks (the tasks' overlays), deepest first."""
    base = os.path.realpath(daemon.data_dir / "containers" / "tasks") + "/"
    points = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), line.split()[4])
            if point.startswith(base):
                points.append(point)
    return sorted(set(points), key=lambda p: -p.count("/"))


def unmount_tasks(daemon):
    for point in task_mounts(daemon):
        run("umount", "-l", point, check=False)


def power_cut(daemon):
    """What a power cut and a reboot do to annexd and its workloads (its data dir survives)."""
    daemon.kill()
    kill_workload_processes(daemon)
    delete_containers(daemon)
    remove_workload_cgroups(daemon)
    harness.remove_host_network(daemon.data_dir)  # task namespaces, the bridge annex<tag8>, the table annex_<tag8>
    unmount_tasks(daemon)


def netns_list():
    out = run("ip", "netns", "list", check=False).stdout
    return {line.split()[0] for line in out.splitlines() if line.split()}


def netns_ipv4(name):
    out = run("ip", "-n", name, "-o", "-4", "addr", "show", check=False).stdout
    return {m for m in re.findall(r"inet (\d+\.\d+\.\d+\.\d+)/", out) if not m.startswith("127.")}


def serves(ip):
    """What busybox httpd answers on the task's private IP (None when nothing answers yet)."""
    try:
        status, _, body = harness.http_request("GET", f"http://{ip}:{PORT}/", timeout=2)
    except OSError:
        return None
    return body.decode(errors="replace").strip() if status == 200 else None


@unittest.skipIf(_skip(), _skip())
class EcsRebootTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.work = Path(tempfile.mkdtemp(prefix="annex-ecs-reboot-"))
        try:
            cls.archive = build_busybox_image(cls.work)
        except BaseException:
            shutil.rmtree(cls.work, ignore_errors=True)
            raise

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.work, ignore_errors=True)

    def setUp(self):
        self.task_ids = set()
        self.services = []
        self.daemon = harness.Daemon()
        self.addCleanup(self.cleanup)
        self.daemon.start()
        self.daemon.annexctl("images", "import", str(self.archive), "--repository", "busybox:latest")
        self.cluster = "reboot"
        self.ecs().create_cluster(clusterName=self.cluster)
        container = {"name": "app", "image": "busybox:latest", "memory": 32, "essential": True, "stopTimeout": 2,
                     "command": ["sh", "-c", SERVE]}
        d = self.ecs().register_task_definition(family=unique("reboot-"), networkMode="awsvpc",
                                                containerDefinitions=[container])
        self.definition = d["taskDefinition"]["taskDefinitionArn"]

    def cleanup(self):
        daemon = self.daemon
        try:
            if daemon.proc is not None and daemon.proc.poll() is None:
                try:
                    self.drain()
                    daemon.stop()
                except Exception as e:  # noqa: BLE001 - whatever is left is killed below
                    print(f"draining: {e}", file=sys.stderr)
        finally:
            daemon.kill()
            kill_workload_processes(daemon)
            kill_leftovers(daemon, self.task_ids)
            unmount_tasks(daemon)
            remove_workload_cgroups(daemon)
            # harness.main() removes the work dir (kept with ANNEX_KEEP_FAILED=1 after a failure).

    def drain(self):
        ecs = self.ecs()
        for name in self.services:
            try:
                ecs.delete_service(cluster=self.cluster, service=name, force=True)
            except ecs.exceptions.ClientError:
                pass
        for arn in self.arns("RUNNING"):
            ecs.stop_task(cluster=self.cluster, task=arn, reason="test cleanup")
        wait_for("every task STOPPED", lambda: not self.arns("RUNNING") and all(
            t["lastStatus"] == "STOPPED" for t in self.described("STOPPED")), TIMEOUT)

    # -- helpers -----------------------------------------------------------

    def ecs(self):
        return client(self.daemon, "ecs")

    def arns(self, desired, service=None):
        kw = {"cluster": self.cluster, "desiredStatus": desired}
        if service:
            kw["serviceName"] = service
        arns = []
        for page in self.ecs().get_paginator("list_tasks").paginate(**kw):
            arns += page["taskArns"]
        self.task_ids.update(a.rsplit("/", 1)[1] for a in arns)
        return arns

    def described(self, desired, service=None):
        arns = self.arns(desired, service)
        out = []
        for i in range(0, len(arns), 100):
            out += self.ecs().describe_tasks(cluster=self.cluster, tasks=arns[i:i + 100])["tasks"]
        return out

    def describe(self, arn):
        return self.ecs().describe_tasks(cluster=self.cluster, tasks=[arn])["tasks"][0]

    def service(self, name):
        return self.ecs().describe_services(cluster=self.cluster, services=[name])["services"][0]

    def create_service(self, desired):
        name = unique("svc-")
        self.services.append(name)
        self.ecs().create_service(cluster=self.cluster, serviceName=name, taskDefinition=self.definition,
                                  desiredCount=desired, launchType="EC2", networkConfiguration=SUBNETS)
        return name

    def wait_steady(self, name, count, timeout=TIMEOUT):
        """Exactly `count` tasks of the service RUNNING (desired and last), runningCount == count, none pending."""
        def steady():
            s = self.service(name)
            if (s["runningCount"], s["pendingCount"]) != (count, 0):
                return None
            tasks = self.described("RUNNING", name)
            if len(tasks) != count or any(t["lastStatus"] != "RUNNING" for t in tasks):
                return None
            return s, tasks
        try:
            return wait_for(f"{name} steady at {count}", steady, timeout, interval=0.2)
        except AssertionError as e:
            raise AssertionError(f"{e}\n{json.dumps(self.service(name), default=str)[:3000]}\n"
                                 + self.daemon.log_tail(40)) from None

    @staticmethod
    def ip_of(task):
        return task["containers"][0]["networkInterfaces"][0]["privateIpv4Address"]

    def our_namespaces(self):
        """This daemon's network namespaces on the host: those its network state names, those of its tasks, and
        those with an address in its subnet."""
        names = set()
        for f in (self.daemon.data_dir / "network").glob("*"):
            try:
                names |= {m.decode() for m in re.findall(rb"annex[-_][A-Za-z0-9_-]{1,60}", f.read_bytes())}
            except OSError:
                pass
        names |= {f"annex-ecs-{tid}" for tid in self.task_ids}
        subnet = self.subnet_prefix()
        out = {}
        for ns in netns_list():
            if not ns.startswith("annex"):
                continue
            addrs = netns_ipv4(ns)
            if ns in names or (subnet and any(a.startswith(subnet) for a in addrs)):
                out[ns] = addrs
        return out

    def subnet_prefix(self):
        """The first three octets of the bridge's subnet ("10.x.y."), from the bridge's own address."""
        out = run("ip", "-o", "-4", "addr", "show", "dev", f"annex{tag_of(self.daemon)[:8]}", check=False).stdout
        m = re.search(r"inet (\d+\.\d+\.\d+)\.\d+/", out)
        return m.group(1) + "." if m else None

    # -- tests -------------------------------------------------------------

    def test_reboot(self):
        name = self.create_service(2)
        standalone = self.ecs().run_task(cluster=self.cluster, taskDefinition=self.definition, launchType="EC2",
                                         networkConfiguration=SUBNETS)["tasks"][0]["taskArn"]
        _, before = self.wait_steady(name, 2)
        wait_for("the standalone task RUNNING", lambda: self.describe(standalone)["lastStatus"] == "RUNNING", TIMEOUT)
        for t in before + [self.describe(standalone)]:
            self.assertEqual(wait_for(f"httpd of {t['taskArn']}", lambda: serves(self.ip_of(t)), 10), MARKER)

        # The simulation must have something to cut: workload processes, overlay mounts, task namespaces.
        self.assertTrue(cgroup_pids(self.daemon), "no process in the workload cgroups")
        self.assertGreaterEqual(len(task_mounts(self.daemon)), 3, "the tasks' overlays are not mounted")
        namespaces = self.our_namespaces()
        self.assertTrue({self.ip_of(t) for t in before} <= set().union(*namespaces.values()), namespaces)
        power_cut(self.daemon)
        self.assertEqual(cgroup_pids(self.daemon), set())
        self.assertEqual(workload_cgroups(self.daemon), [])
        self.assertEqual(set(namespaces) & netns_list(), set())
        self.assertEqual(task_mounts(self.daemon), [])
        rebooted = time.monotonic()
        self.daemon.start()

        stopped = wait_for("the standalone task STOPPED", lambda: (lambda t: t if t["lastStatus"] == "STOPPED"
                                                                  else None)(self.describe(standalone)), TIMEOUT)
        self.assertEqual(stopped["desiredStatus"], "STOPPED", stopped)
        self.assertEqual(stopped["stopCode"], "EssentialContainerExited", stopped)
        self.assertEqual(stopped["stoppedReason"], "Essential container in task exited", stopped)
        self.assertEqual(stopped["containers"][0]["lastStatus"], "STOPPED", stopped)
        self.assertEqual(stopped["containers"][0].get("reason"), ENDED_WHILE_DOWN, stopped)

        service, after = self.wait_steady(name, 2, timeout=TIMEOUT)
        took = time.monotonic() - rebooted
        self.assertLessEqual(took, TIMEOUT + 1)
        old = {t["taskArn"] for t in before}
        self.assertEqual({t["taskArn"] for t in after} & old, set(), "an old task counted as running again")
        for arn in old:
            t = wait_for(f"old task {arn} STOPPED", lambda: (lambda t: t if t["lastStatus"] == "STOPPED"
                                                             else None)(self.describe(arn)), TIMEOUT)
            self.assertEqual(t["containers"][0].get("reason"), ENDED_WHILE_DOWN, t)
        self.assertEqual(service["runningCount"], 2, service)
        # The bridge and the tasks' network came back: each new task answers on its private IP.
        for t in after:
            got = wait_for(f"httpd of {t['taskArn']} at {self.ip_of(t)}", lambda: serves(self.ip_of(t)), 15)
            self.assertEqual(got, MARKER)
        print(f"[back at 2 running {took:.1f} s after the restart] ", end="", file=sys.stderr, flush=True)

    def test_kill_under_churn(self):
        rng = random.Random(SEED)
        print(f"[ECS_REBOOT_SEED={SEED}] ", end="", file=sys.stderr, flush=True)
        name = self.create_service(3)
        self.wait_steady(name, 3)
        ecs = self.ecs
        history = []
        for cycle in range(CYCLES):
            for _ in range(rng.randint(1, 3)):
                if rng.random() < 0.5:
                    desired = rng.randint(1, 3)
                    ecs().update_service(cluster=self.cluster, service=name, desiredCount=desired)
                    history.append(f"{cycle}: desiredCount {desired}")
                else:
                    running = self.arns("RUNNING", name)
                    if not running:
                        continue
                    victim = rng.choice(running)
                    ecs().stop_task(cluster=self.cluster, task=victim, reason="churn")
                    history.append(f"{cycle}: StopTask {victim.rsplit('/', 1)[1]}")
            pause = rng.uniform(0, 0.3)
            time.sleep(pause)
            self.daemon.kill()
            history.append(f"{cycle}: kill -9 after {pause * 1000:.0f} ms")
            self.daemon.start()
            time.sleep(rng.uniform(0, 1.5))  # lets the restarted annexd get some way before the next requests

        ecs().update_service(cluster=self.cluster, service=name, desiredCount=2)
        try:
            # Tasks that exited on their own within 10 s back the scheduler off: allow for it.
            _, running = self.wait_steady(name, 2, timeout=60)
        except AssertionError as e:
            raise AssertionError(f"{e}\nchurn: {history}") from None
        running_arns = {t["taskArn"] for t in running}

        # Every other task of the cluster ends STOPPED; exactly the 2 RUNNING tasks are desired RUNNING.
        self.assertEqual(set(self.arns("RUNNING")), running_arns)
        wait_for("every other task STOPPED", lambda: all(t["lastStatus"] == "STOPPED"
                                                         for t in self.described("STOPPED")), TIMEOUT)
        others = self.described("STOPPED")
        self.assertEqual({t["taskArn"] for t in others} & running_arns, set())

        # No container runs that no RUNNING task owns.
        owned = {t["containers"][0]["runtimeId"] for t in running}
        seen = {}

        def only_owned_containers():
            listed = json.loads(run("crun", "--root", runtime_root(self.daemon), "list", "-f", "json").stdout
                                or "[]")
            seen["live"] = {c["id"] for c in listed if c.get("status") != "stopped"}
            return seen["live"] == owned
        try:
            wait_for("only the RUNNING tasks' containers", only_owned_containers, 15)
        except AssertionError:
            self.fail(f"containers running: {sorted(seen['live'])}; RUNNING tasks own {sorted(owned)}\n"
                      f"churn: {history}\n{self.daemon.log_tail(40)}")

        # Each RUNNING task has a network of its own (a restart must not hand a taken spare to a new task), and
        # no namespace of this daemon is left beyond theirs and at most 2 spares.
        task_ips = {self.ip_of(t) for t in running}
        self.assertEqual(len(task_ips), len(running), f"RUNNING tasks share an address: {running}")

        def no_leaked_namespace():
            seen["ours"] = ours = self.our_namespaces()
            rest = {ns for ns, addrs in ours.items() if not addrs & task_ips}
            return all(ns.startswith("annex-ecs-spare-") for ns in rest) and len(rest) <= 2
        try:
            wait_for("only the RUNNING tasks' namespaces and <= 2 spares", no_leaked_namespace, 15)
        except AssertionError:
            self.fail(f"namespaces of this daemon: {seen['ours']}; RUNNING tasks' IPs {sorted(task_ips)}\n"
                      f"churn: {history}\n{self.daemon.log_tail(40)}")


if __name__ == "__main__":
    harness.main()
