#!/usr/bin/python3
"""Supervisor crash test: workloads outlive a kill -9 of the process supervising them.

supervisor-host (tests/chaos/supervisor_host.cc) stands in for annexd: it
opens a Supervisor and keeps 20 counter workloads, each appending 0, 1, 2, …
to its stdout every ~50 ms. Every cycle:

  * the host is SIGKILLed; all 20 workloads still run, and keep writing;
  * one workload is SIGKILLed while nobody supervises it;
  * the host is started again on the same data dir and must have adopted the
    other 19 (same PID, same run, nothing restarted), reported the victim's
    end (killed by signal 9, as its shim recorded it) and restarted it per
    its on-failure policy;
  * every workload's output is continuous: within a run, no counter is
    missing or repeated — the kill of the host left no gap;
  * meanwhile the host keeps starting and removing one more workload
    ("churn-*", a new id each time), so a kill may land between a spawn and
    its record: whatever of them was running at the kill is either adopted
    or killed by the restarted host, never left running untracked.

Needs root and cgroups (the workloads get cgroups of their own under a
unique root, removed afterwards). CYCLES (default 3) sets the number of kills.
"""

import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import unittest_main  # noqa: E402

CYCLES = int(os.environ.get("CYCLES", "3"))
CHILDREN = 20
HOST = os.environ.get("SUPERVISOR_HOST", "")
SHIM = os.environ.get("ANNEX_SHIM", "")


def alive(pid):
    """True while `pid` runs (a zombie no longer counts)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def runs_of(path):
    """The counter output split into runs (a new run starts again at 0)."""
    runs = []
    with open(path) as f:
        for line in f:
            if not line.endswith("\n"):
                break  # a line being written right now
            value = int(line)
            if value == 0 or not runs:
                runs.append([])
            runs[-1].append(value)
    return runs


class SupervisorCrashTest(unittest.TestCase):

    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("needs root: workloads get cgroups of their own")
        if not os.path.isdir("/sys/fs/cgroup"):
            self.skipTest("needs a cgroup hierarchy at /sys/fs/cgroup")
        if not HOST or not SHIM:
            self.skipTest("SUPERVISOR_HOST and ANNEX_SHIM must name the built binaries (ctest sets them)")
        self.work = Path(tempfile.mkdtemp(prefix="annex-supervisor-crash-"))
        self.root = f"annex-chaos-{os.getpid()}"
        self.host = None
        self.addCleanup(self.cleanup)

    def cleanup(self):
        self.kill_host()
        done = subprocess.run(self.host_argv() + ["--cleanup"], capture_output=True, text=True, timeout=60)
        leftovers = [str(p) for p in Path("/sys/fs/cgroup").glob(f"*/{self.root}")]
        self.force_remove_root()  # even when the host's cleanup failed, leave nothing running
        subprocess.run(["rm", "-rf", str(self.work)])
        self.assertEqual(done.returncode, 0, f"cleanup failed: {done.stdout} {done.stderr}")
        self.assertEqual(leftovers, [], "the test's cgroup root was not removed")

    def force_remove_root(self):
        for pid in self.cgroup_procs("*"):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for root in Path("/sys/fs/cgroup").glob(f"*/{self.root}"):
            for _ in range(100):
                children = [d for d in root.iterdir() if d.is_dir()]
                for d in children:
                    try:
                        d.rmdir()
                    except OSError:
                        pass
                try:
                    root.rmdir()
                    break
                except OSError:
                    time.sleep(0.02)

    def host_argv(self):
        return [HOST, "--data-dir", str(self.work), "--shim", SHIM, "--cgroup-root", self.root,
                "--children", str(CHILDREN), "--churn"]

    def start_host(self):
        (self.work / "status.json").unlink(missing_ok=True)
        log = open(self.work / "host.log", "ab")
        self.host = subprocess.Popen(self.host_argv(), stdout=log, stderr=log)
        log.close()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            status = self.status()
            if status and status["host_pid"] == self.host.pid and len(self.counters(status)) == CHILDREN:
                return status
            self.assertIsNone(self.host.poll(), "the host exited: " + self.host_log())
            time.sleep(0.05)
        self.fail("the host did not report 20 workloads within 20 s: " + self.host_log())

    def kill_host(self):
        if self.host and self.host.poll() is None:
            self.host.kill()
            self.host.wait(10)

    def host_log(self):
        path = self.work / "host.log"
        return path.read_text()[-2000:] if path.exists() else ""

    def status(self):
        try:
            return json.loads((self.work / "status.json").read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    def wait_status(self, predicate, what, timeout=10):
        deadline = time.monotonic() + timeout
        status = None
        while time.monotonic() < deadline:
            status = self.status()
            if status and status["host_pid"] == self.host.pid and predicate(status):
                return status
            time.sleep(0.05)
        self.fail(f"{what} not reported within {timeout} s; last status: {json.dumps(status)[:3000]}")

    @staticmethod
    def counters(status):
        return {w["id"]: w for w in status["workloads"] if w["id"].startswith("counter-")}

    def cgroup_procs(self, pattern):
        """PIDs in the cgroups of the workloads matching `pattern`, in whichever hierarchies hold them."""
        pids = set()
        for procs in list(Path("/sys/fs/cgroup").glob(f"*/{self.root}/{pattern}/cgroup.procs")) + \
                list(Path("/sys/fs/cgroup").glob(f"{self.root}/{pattern}/cgroup.procs")):
            try:
                pids.update(int(p) for p in procs.read_text().split())
            except FileNotFoundError:
                pass
        return pids

    def check_no_untracked(self, churn_pids, cycle):
        """What ran in the churn workloads at the kill ends up adopted or dead."""
        deadline = time.monotonic() + 3
        while True:
            status = self.status()
            recorded = set()
            for w in status["workloads"] if status else []:
                if w["id"].startswith("churn-") and w["phase"] in ("running", "stopping"):
                    recorded |= {w["pid"], w["shim_pid"]}
            untracked = [p for p in churn_pids if alive(p) and p not in recorded]
            if not untracked:
                return
            if time.monotonic() > deadline:
                self.fail(f"cycle {cycle}: processes {untracked} of an unrecorded start still run")
            time.sleep(0.05)

    def check_continuous(self, workload, when):
        # A run just restarted may not have written its first line yet on a
        # loaded machine: wait for it, a few seconds at most.
        deadline = time.monotonic() + 5
        runs = runs_of(workload["stdout"])
        while len(runs) < workload["run"] and time.monotonic() < deadline:
            time.sleep(0.05)
            runs = runs_of(workload["stdout"])
        self.assertTrue(runs, f"{when}: {workload['id']} wrote nothing")
        for n, run in enumerate(runs):
            self.assertEqual(run, list(range(len(run))),
                             f"{when}: {workload['id']} run {n + 1} has a gap or repeat in its counter")
        self.assertEqual(len(runs), workload["run"], f"{when}: {workload['id']}: one counter sequence per run")

    def test_kill9_host_loop(self):
        rng = random.Random(os.environ.get("CRASH_SEED", str(time.time())))
        started = time.monotonic()
        status = self.start_host()
        status = self.wait_status(lambda s: all(w["phase"] == "running" for w in self.counters(s).values()),
                                  "20 running")
        for cycle in range(1, CYCLES + 1):
            before = self.counters(status)
            time.sleep(rng.uniform(0.2, 0.6))
            self.kill_host()
            churn_pids = self.cgroup_procs("churn-*")
            for w in before.values():
                self.assertTrue(alive(w["pid"]), f"cycle {cycle}: {w['id']} died with the host")
            sizes = {i: os.path.getsize(w["stdout"]) for i, w in before.items()}
            victim = before[rng.choice(sorted(before))]
            os.kill(victim["pid"], signal.SIGKILL)
            deadline = time.monotonic() + 5
            while alive(victim["shim_pid"]) and time.monotonic() < deadline:
                time.sleep(0.02)
            self.assertFalse(alive(victim["shim_pid"]), "the victim's shim did not record its end")
            time.sleep(0.3)
            for i, w in before.items():
                if i != victim["id"]:
                    self.assertGreater(os.path.getsize(w["stdout"]), sizes[i],
                                       f"cycle {cycle}: {i} stopped writing while the host was down")

            status = self.start_host()
            # Churn workloads recorded at the kill count too.
            self.assertGreaterEqual(status["adopted"], CHILDREN - 1, f"cycle {cycle}: {json.dumps(status)[:2000]}")
            self.assertGreaterEqual(status["ended_while_down"], 1)
            self.check_no_untracked(churn_pids, cycle)
            status = self.wait_status(
                lambda s: all(w["phase"] == "running" for w in self.counters(s).values()) and
                self.counters(s)[victim["id"]]["run"] == victim["run"] + 1,
                f"cycle {cycle}: the victim restarted")
            now = self.counters(status)
            for i, w in before.items():
                if i == victim["id"]:
                    continue
                self.assertEqual((now[i]["pid"], now[i]["run"], now[i]["restarts"]),
                                 (w["pid"], w["run"], w["restarts"]), f"cycle {cycle}: {i} was not adopted as it was")
            v = now[victim["id"]]
            self.assertEqual(v["last_exit"], {"known": True, "exited": False, "code": 0, "signal": 9,
                                              "oom_killed": False}, f"cycle {cycle}: victim's exit")
            self.assertEqual(v["restarts"], victim["restarts"] + 1)
            self.assertNotEqual(v["pid"], victim["pid"])
            time.sleep(0.2)
            for w in now.values():
                self.check_continuous(w, f"cycle {cycle}")
            print(f"cycle {cycle}: host killed, {status['adopted']} adopted, {victim['id']} killed while down "
                  f"and restarted, {status['orphans_killed']} unrecorded processes killed", file=sys.stderr)
        self.kill_host()
        print(f"supervisor crash test: {CYCLES} cycles in {time.monotonic() - started:.1f}s", file=sys.stderr)


if __name__ == "__main__":
    unittest_main.run()
