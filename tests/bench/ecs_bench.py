#!/usr/bin/env python3
"""The measuring half of tests/bench/ecs_bench.sh (which builds the image, starts
annexd and cleans up): RunTask -> RUNNING as a client sees it against `crun run -d`
of an equivalent bundle by hand, interleaved, and annexd's memory per idle task.

ECS calls go out as raw SigV4-signed JSON over one keep-alive connection (boto3
or awscli would add their own milliseconds to every poll).

  ecs_bench.py --endpoint 127.0.0.1:PORT --data-dir DATA --work WORK --rootfs ROOTFS
               --annexd-pid PID [--rounds 20] [--tasks 100]
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from signed_client import SignedClient, read_credentials  # noqa: E402

CLUSTER = "ecs-bench"
CONTAINER = "idle"
SCRIPT = 'trap "exit 0" TERM; while :; do sleep 1; done'
POLL = 0.01  # DescribeTasks every 10 ms while waiting for a status
PEER_NETNS = "ecs-bench-peer-"


class Ecs:
    """ECS JSON calls, SigV4-signed (signing key cached per day), one keep-alive connection."""

    def __init__(self, endpoint, access_key, secret_key):
        self.client = SignedClient(endpoint, access_key, secret_key, "ecs")
        self.note = None  # a file every started task's id is appended to

    def call(self, op, body):
        status, data = self.client.post(json.dumps(body).encode(), {
            "content-type": "application/x-amz-json-1.1", "x-amz-target": "AmazonEC2ContainerServiceV20141113." + op})
        answer = json.loads(data or b"{}")
        if status != 200:
            raise RuntimeError(f"{op}: HTTP {status} {answer}")
        return answer

    def run_task(self, definition, count=1):
        r = self.call("RunTask", {"cluster": CLUSTER, "taskDefinition": definition, "launchType": "EC2",
                                  "count": count, "networkConfiguration": {
                                      "awsvpcConfiguration": {"subnets": ["subnet-1"]}}})
        if r.get("failures") or len(r.get("tasks", [])) != count:
            raise RuntimeError(f"RunTask: {r}")
        arns = [t["taskArn"] for t in r["tasks"]]
        if self.note:
            with open(self.note, "a") as f:
                f.write("".join(task_id(a) + "\n" for a in arns))
        return arns

    def describe(self, arns):
        tasks = []
        for i in range(0, len(arns), 100):
            tasks += self.call("DescribeTasks", {"cluster": CLUSTER, "tasks": arns[i:i + 100]})["tasks"]
        return tasks

    def wait(self, arns, status, timeout=120, interval=POLL):
        """Polls until every task's lastStatus is `status`; fails early if one stops instead."""
        deadline = time.monotonic() + timeout
        while True:
            tasks = self.describe(arns)
            if len(tasks) == len(arns) and all(t["lastStatus"] == status for t in tasks):
                return tasks
            for t in tasks:
                if status != "STOPPED" and t["lastStatus"] == "STOPPED":
                    raise RuntimeError(f"task stopped before {status}: {t.get('stoppedReason')} "
                                       f"{[c.get('reason') for c in t.get('containers', [])]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"tasks not {status} after {timeout} s: "
                                   f"{sorted(set(t['lastStatus'] for t in tasks))}")
            time.sleep(interval)

    def stop(self, arns):
        for arn in arns:
            self.call("StopTask", {"cluster": CLUSTER, "task": arn, "reason": "ecs bench"})
        return self.wait(arns, "STOPPED", timeout=180, interval=0.05)


def task_id(arn):
    return arn.rsplit("/", 1)[1]


def percentile(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(p / 100 * (len(s) - 1))))]


# ---------------------------------------------------------------------------
# The peer: the same bundle as annexd writes it, on a plain rootfs copy, by hand.

class Peer:
    def __init__(self, work, rootfs, template_bundle, task_root):
        self.state = os.path.join(work, "peer-runtime")
        self.bundle = os.path.join(work, "peer-bundle")
        os.makedirs(self.state, exist_ok=True)
        shutil.copytree(rootfs, os.path.join(self.bundle, "rootfs"), symlinks=True)
        config = json.load(open(os.path.join(template_bundle, "config.json")))
        config["root"] = {"path": "rootfs", "readonly": bool(config.get("root", {}).get("readonly"))}
        # Files annexd bind-mounts from the task's own directory (hosts, resolv.conf...) are copied beside it.
        for m in config.get("mounts", []):
            src = m.get("source", "")
            if src.startswith(task_root + "/"):
                local = os.path.join(self.bundle, "files", os.path.relpath(src, task_root))
                if os.path.isdir(src):
                    os.makedirs(local, exist_ok=True)
                else:
                    os.makedirs(os.path.dirname(local), exist_ok=True)
                    shutil.copy(src, local)
                m["source"] = local
        # annexd's task netns is provisioned (bridge, veth, address) and goes with the task; the peer's
        # crun makes a fresh network namespace of its own instead (loopback only).
        for ns in config.get("linux", {}).get("namespaces", []):
            if ns.get("type") == "network":
                ns.pop("path", None)
        json.dump(config, open(os.path.join(self.bundle, "config.json"), "w"), indent=1)
        self.config = config
        self.n = 0

    def crun(self, *args, check=True):
        return subprocess.run(["crun", "--root", self.state, "--cgroup-manager=disabled", *args],
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, check=check)

    def start(self, network=False):
        """Seconds from `crun run -d` to `crun state` saying running. With `network`, a namespace with a
        veth and an address is made first by hand (the six `ip` runs annexd's awsvpc attachment makes,
        without the bridge) and joined, as annexd's bundle joins its task's namespace."""
        self.n += 1
        cid = f"ecs-bench-peer-{self.n}"
        config = "config.json"
        t0 = time.monotonic()
        if network:
            ns = f"{PEER_NETNS}{self.n}"
            for argv in (["netns", "add", ns],
                         ["link", "add", "name", f"ebp{self.n}h", "up", "type", "veth", "peer", "name", "eth0",
                          "netns", ns],
                         ["-n", ns, "link", "set", "dev", "lo", "up"],
                         ["-n", ns, "addr", "replace", "192.0.2.2/24", "dev", "eth0"],
                         ["-n", ns, "link", "set", "dev", "eth0", "up"],
                         ["-n", ns, "route", "replace", "default", "via", "192.0.2.1", "dev", "eth0"]):
                subprocess.run(["ip", *argv], stdin=subprocess.DEVNULL, capture_output=True, check=True)
            c = json.loads(json.dumps(self.config))
            for n in c["linux"]["namespaces"]:
                if n["type"] == "network":
                    n["path"] = "/run/netns/" + ns
            config = "config-net.json"
            with open(os.path.join(self.bundle, config), "w") as f:
                json.dump(c, f)
        subprocess.run(["crun", "--root", self.state, "--cgroup-manager=disabled", "run", "-d", "--config",
                        os.path.join(self.bundle, config), "--bundle", self.bundle, cid],
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=True)  # no pipe: the container would hold it open
        while json.loads(self.crun("state", cid).stdout)["status"] != "running":
            time.sleep(0.001)
        elapsed = time.monotonic() - t0
        self.crun("kill", cid, "TERM", check=False)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            p = self.crun("state", cid, check=False)
            if p.returncode != 0 or json.loads(p.stdout)["status"] == "stopped":
                break
            time.sleep(0.01)
        self.crun("delete", "-f", cid, check=False)
        if network:
            subprocess.run(["ip", "netns", "del", f"{PEER_NETNS}{self.n}"], capture_output=True)
        return elapsed

    def cleanup(self):
        p = self.crun("list", "-q", check=False)
        for cid in p.stdout.split():
            self.crun("delete", "-f", cid, check=False)
        for line in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith(PEER_NETNS):
                subprocess.run(["ip", "netns", "del", line.split()[0]], capture_output=True)


def container_running(runtime_root, cid, timeout=10):
    """time.monotonic() once `crun state` says annexd's container is running (RUNNING is reported
    once the supervisor has started `crun run`, which may still be setting the container up)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        p = subprocess.run(["crun", "--root", runtime_root, "state", cid], capture_output=True, text=True)
        if p.returncode == 0 and json.loads(p.stdout)["status"] == "running":
            return time.monotonic()
        time.sleep(0.002)
    raise RuntimeError(f"container {cid} not running after {timeout} s")


def task_phases(task, sent, seen):
    """Where one RunTask's time went, from the task's own timestamps (annexd's clock, ms resolution):
    request in to the task written, provisioning (netns, veth, address), pull (image root prepared,
    bundle written, workload started), and RUNNING written until the client's poll saw it."""
    created, pull0, pull1 = task["createdAt"], task["pullStartedAt"], task["pullStoppedAt"]
    started = task["startedAt"]
    return {"request": created - sent, "provision": pull0 - created, "start containers": pull1 - pull0,
            "to RUNNING": started - pull1, "poll sees it": sent + seen - started}


# ---------------------------------------------------------------------------
# Memory: /proc figures.

def status_kib(pid, field):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def pss_kib(pid):
    try:
        for line in open(f"/proc/{pid}/smaps_rollup"):
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def task_processes(runtime_root):
    """(shims, cruns): pids of annex-shim processes and of the `crun ... run` processes under annexd's runtime root."""
    shims, cruns = [], []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            argv = open(f"/proc/{d}/cmdline", "rb").read().split(b"\0")
        except OSError:
            continue
        name = os.path.basename(argv[0]).decode(errors="replace")
        if name == "annex-shim":
            shims.append(int(d))
        elif name == "crun" and runtime_root.encode() in argv and b"run" in argv:
            cruns.append(int(d))
    return shims, cruns


def settle_rss(pid):
    """annexd's VmRSS once it stops moving (the reconciler and the collector settle for a moment)."""
    last = status_kib(pid, "VmRSS")
    for _ in range(20):
        time.sleep(0.25)
        now = status_kib(pid, "VmRSS")
        if abs(now - last) < 64:
            return now
        last = now
    return last


# ---------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--rootfs", required=True)
    ap.add_argument("--annexd-pid", type=int, required=True)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--tasks", type=int, default=100)
    ap.add_argument("--task-ids", help="file to note every task's id in (for the caller's cleanup)")
    ap.add_argument("--results", help="file to append a JSON line of the figures to")
    args = ap.parse_args()

    ecs = Ecs(args.endpoint, *read_credentials(os.path.join(args.data_dir, "credentials")))
    ecs.note = args.task_ids
    tasks_dir = os.path.join(args.data_dir, "containers", "tasks")
    runtime_root = os.path.join(args.data_dir, "containers", "runtime")
    ecs.call("CreateCluster", {"clusterName": CLUSTER})
    definition = ecs.call("RegisterTaskDefinition", {
        "family": "ecs-bench", "networkMode": "awsvpc", "requiresCompatibilities": ["EC2"],
        "containerDefinitions": [{"name": CONTAINER, "image": "busybox:latest", "memory": 64, "essential": True,
                                  "command": ["sh", "-c", SCRIPT], "stopTimeout": 2}]})
    definition = definition["taskDefinition"]["taskDefinitionArn"]

    # First task: the image is unpacked for the first time; its bundle is the peer's template.
    t0 = time.monotonic()
    [arn] = ecs.run_task(definition)
    ecs.wait([arn], "RUNNING")
    first = time.monotonic() - t0
    task_root = os.path.join(tasks_dir, task_id(arn))
    peer = Peer(args.work, args.rootfs, os.path.join(task_root, "bundles", CONTAINER), task_root)
    ecs.stop([arn])

    annex, byhand, withnet, stops, live, phases = [], [], [], [], [], []
    try:
        peer.start()  # warm-up: crun's, ip's and busybox's pages in the cache
        peer.start(network=True)
        for r in range(args.rounds):
            for side in (("annex", "peer") if r % 2 == 0 else ("peer", "annex")):
                if side == "peer":
                    byhand.append(peer.start())
                    withnet.append(peer.start(network=True))
                    continue
                sent, t0 = time.time(), time.monotonic()
                [arn] = ecs.run_task(definition)
                [task] = ecs.wait([arn], "RUNNING")
                annex.append(time.monotonic() - t0)
                live.append(container_running(runtime_root, task["containers"][0]["runtimeId"]) - t0)
                phases.append(task_phases(task, sent, annex[-1]))
                t1 = time.monotonic()
                ecs.stop([arn])
                stops.append(time.monotonic() - t1)
    finally:
        peer.cleanup()

    a50, a95 = percentile(annex, 50), percentile(annex, 95)
    p50, p95 = percentile(byhand, 50), percentile(byhand, 95)
    ratio = a50 / p50
    print(f"first task, image unpacked on the way      {first * 1000:7.1f} ms")
    print(f"RunTask -> RUNNING (DescribeTasks)   p50 {a50 * 1000:7.1f} ms  p95 {a95 * 1000:7.1f} ms  "
          f"min {min(annex) * 1000:6.1f} ms")
    print(f"crun run -d -> running, by hand      p50 {p50 * 1000:7.1f} ms  p95 {p95 * 1000:7.1f} ms  "
          f"min {min(byhand) * 1000:6.1f} ms")
    n50 = percentile(withnet, 50)
    print(f"  the same with a netns + veth by hand p50 {n50 * 1000:7.1f} ms  p95 {percentile(withnet, 95) * 1000:7.1f} ms"
          f"  (6 `ip` runs as annexd's awsvpc attach; RunTask at {a50 / n50:.2f}x of it)")
    print("%-58s %10s   goal %-9s %s" % (f"RunTask -> RUNNING vs crun by hand (p50, {args.rounds} rounds)",
                                         f"{ratio:.2f}x", "<= 1.5x", "ok" if ratio <= 1.5 else "MISSED"))
    print("%-58s %10s   goal %-9s %s" % ("RunTask -> RUNNING p50", f"{a50:.3f} s", "<= 0.5 s",
                                         "ok" if a50 <= 0.5 else "MISSED"))
    l50 = percentile(live, 50)
    print(f"  RunTask -> `crun state` running       p50 {l50 * 1000:7.1f} ms  p95 {percentile(live, 95) * 1000:7.1f} ms"
          f"  (the container itself, ratio {l50 / p50:.2f}x)")
    print("  where RunTask's time goes (medians, from the task's timestamps): " + ", ".join(
        f"{k} {statistics.median(ph[k] for ph in phases) * 1000:.0f} ms" for k in phases[0]))
    print(f"  StopTask -> STOPPED p50 {statistics.median(stops) * 1000:.0f} ms (stopTimeout 2, the shell exits on TERM)")

    # Memory: TASKS idle tasks at once.
    rss0 = settle_rss(args.annexd_pid)
    t0 = time.monotonic()
    arns = []
    while len(arns) < args.tasks:
        arns += ecs.run_task(definition, count=min(10, args.tasks - len(arns)))
    ecs.wait(arns, "RUNNING", timeout=600, interval=0.1)
    all_running = time.monotonic() - t0
    rss1 = settle_rss(args.annexd_pid)
    shims, cruns = task_processes(runtime_root)
    per_task = (rss1 - rss0) / args.tasks
    print(f"{args.tasks} idle tasks RUNNING {all_running:.1f} s after the first RunTask "
          f"({all_running / args.tasks * 1000:.0f} ms per task)")
    print("%-58s %10s   %s" % (f"annexd RSS growth per idle task ({args.tasks} running)", f"{per_task:.1f} KiB",
                               f"(VmRSS {rss0 / 1024:.1f} -> {rss1 / 1024:.1f} MiB)"))
    if shims and cruns:
        rs = sum(status_kib(p, "VmRSS") for p in shims) / len(shims)
        ps = sum(pss_kib(p) for p in shims) / len(shims)
        rc = sum(status_kib(p, "VmRSS") for p in cruns) / len(cruns)
        pc = sum(pss_kib(p) for p in cruns) / len(cruns)
        print(f"  per task: annex-shim RSS {rs:.0f} KiB (PSS {ps:.0f}), crun RSS {rc:.0f} KiB (PSS {pc:.0f}); "
              f"{len(shims)} shims, {len(cruns)} crun processes")
    t0 = time.monotonic()
    ecs.stop(arns)
    print(f"  {args.tasks} tasks STOPPED {time.monotonic() - t0:.1f} s after the first StopTask")
    if args.results:
        figures = {"bench": "ecs", "rounds": args.rounds, "annex_p50_ms": a50 * 1000, "annex_p95_ms": a95 * 1000,
                   "peer_p50_ms": p50 * 1000, "peer_p95_ms": p95 * 1000, "peer_netns_p50_ms": n50 * 1000,
                   "ratio_p50": ratio, "crun_state_p50_ms": l50 * 1000, "first_task_ms": first * 1000,
                   "tasks": args.tasks, "rss_kib_per_task": per_task}
        with open(args.results, "a") as out:
            print(json.dumps(figures), file=out)


if __name__ == "__main__":
    main()
