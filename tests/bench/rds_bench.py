#!/usr/bin/env python3
"""The measuring half of tests/bench/rds_bench.sh (which starts annexd and cleans up): CreateDBInstance ->
`available` as a client sees it against the same steps by hand (a sparse image, mkfs.ext4, a direct-I/O loop,
initdb, postgres, CREATE DATABASE), interleaved; then pgbench select-only and tpcb-like against a managed instance
and against postgres started by hand with the instance's own settings: on a plain directory (the peer), the same
cluster moved into cgroups with the instance's limits (peer-cgroup), and one on a loop-mounted ext4 image of its
own (peer-loop); interleaved.

RDS calls go out as raw SigV4-signed Query requests over one keep-alive connection (boto3 or awscli would add their
own milliseconds to every poll).

  rds_bench.py --endpoint 127.0.0.1:PORT --data-dir DATA --work WORK [--rounds 5] [--duration 10]
               [--pgbench-rounds 4] [--scale 10] [--clients 4] [--threads 2] [--results FILE]
"""
import argparse
import glob
import hashlib
import json
import os
import pwd
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import time
import urllib.parse
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from signed_client import SignedClient, read_credentials  # noqa: E402

VERSION = "2014-10-31"
POLL = 0.05  # DescribeDBInstances every 50 ms while waiting for a status
FS_POLL = 0.005  # the instance's files, between two polls (where the time goes)
PG_BIN = "/usr/lib/postgresql/15/bin"
MASTER = "master"
PASSWORD = "bench-Secret_1"
DBNAME = "bench"
LATENCY_CLASS = "db.t3.micro"
PGBENCH_CLASS = "db.m5.large"
STORAGE_GIB = 20
# What annexd passes initdb (services/database/postgres_binaries.cc) and the workload (instance_reconciler.cc).
INITDB_FLAGS = ["--encoding=UTF8", "--locale=C.UTF-8", "--auth-host=scram-sha-256", "--auth-local=trust",
                "--data-checksums", "--no-instructions"]
PG_ENV = {"LC_ALL": "C.UTF-8", "PGTZ": "UTC", "PATH": "/usr/bin:/bin"}
PREFIX = "rds-bench-"


class RdsError(RuntimeError):
    def __init__(self, op, status, code, message):
        super().__init__(f"{op}: HTTP {status} {code}: {message}")
        self.code = code


def strip_ns(tag):
    return tag.rsplit("}", 1)[-1]


def element_dict(e):
    """An XML element as a dict (leaves as text; repeated children as the last one, enough here)."""
    out = {}
    for c in e:
        out[strip_ns(c.tag)] = element_dict(c) if len(c) else (c.text or "")
    return out


class Rds:
    """RDS Query calls, SigV4-signed (signing key cached per day), one keep-alive connection."""

    def __init__(self, endpoint, access_key, secret_key):
        self.client = SignedClient(endpoint, access_key, secret_key, "rds")

    def call(self, action, params):
        payload = urllib.parse.urlencode({"Action": action, "Version": VERSION, **params}).encode()
        status, data = self.client.post(payload, {"content-type": "application/x-www-form-urlencoded; charset=utf-8"})
        root = ET.fromstring(data) if data else ET.Element("empty")
        if status != 200:
            err = {strip_ns(e.tag): e.text for e in root.iter()}
            raise RdsError(action, status, err.get("Code"), err.get("Message"))
        return root

    def instances(self, root):
        return [element_dict(e) for e in root.iter() if strip_ns(e.tag) == "DBInstance"]

    def create(self, identifier, instance_class, retention_days=1):
        [db] = self.instances(self.call("CreateDBInstance", {
            "DBInstanceIdentifier": identifier, "DBInstanceClass": instance_class, "Engine": "postgres",
            "MasterUsername": MASTER, "MasterUserPassword": PASSWORD, "AllocatedStorage": str(STORAGE_GIB),
            "DBName": DBNAME, "BackupRetentionPeriod": str(retention_days)}))
        return db

    def describe(self, identifier=None):
        """One instance (None once it is gone), or every instance."""
        try:
            dbs = self.instances(self.call("DescribeDBInstances",
                                           {"DBInstanceIdentifier": identifier} if identifier else {}))
        except RdsError as e:
            if identifier and e.code == "DBInstanceNotFound":
                return None
            raise
        return dbs[0] if identifier else dbs

    def delete(self, identifier):
        self.call("DeleteDBInstance", {"DBInstanceIdentifier": identifier, "SkipFinalSnapshot": "true"})

    def wait(self, identifier, status, timeout=180, on_poll=None):
        """Polls every POLL s until the instance's status is `status` (None: gone); on_poll() runs between polls."""
        deadline = time.monotonic() + timeout
        while True:
            db = self.describe(identifier)
            now = db["DBInstanceStatus"] if db else None
            if now == status:
                return db
            if now == "failed":
                raise RuntimeError(f"instance {identifier} failed")
            if time.monotonic() > deadline:
                raise RuntimeError(f"instance {identifier} not {status} after {timeout} s: {now}")
            next_poll = time.monotonic() + POLL
            while time.monotonic() < next_poll:
                if on_poll:
                    on_poll()
                time.sleep(FS_POLL if on_poll else POLL)

    def delete_all(self, timeout=180):
        """Deletes every instance this bench made and waits until they are gone."""
        mine = [d["DBInstanceIdentifier"] for d in self.describe() if d["DBInstanceIdentifier"].startswith(PREFIX)]
        for i in mine:
            try:
                self.delete(i)
            except RdsError as e:
                if e.code not in ("InvalidDBInstanceState", "DBInstanceNotFound"):
                    raise
        for i in mine:
            self.wait(i, None, timeout)
        return mine


def percentile(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(p / 100 * (len(s) - 1))))]


def loadavg():
    return float(open("/proc/loadavg").read().split()[0])


def machine_cpu_s():
    """(busy, steal) CPU seconds of the whole machine so far, from /proc/stat."""
    f = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = f[:8]
    tick = os.sysconf("SC_CLK_TCK")
    return (user + nice + system + irq + softirq) / tick, steal / tick


def children_cpu_s():
    """CPU seconds of this process's reaped children (pgbench, psql)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def client_env():
    return {"PATH": "/usr/bin:/bin", "PGPASSWORD": PASSWORD, "PGSSLMODE": "disable", "PGCONNECT_TIMEOUT": "5",
            "HOME": "/nonexistent"}


def psql_tcp(port, sql, db=DBNAME, check=True):
    p = subprocess.run(["/usr/bin/psql", "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(port),
                        "-U", MASTER, "-d", db, "-c", sql], capture_output=True, text=True, env=client_env(),
                       stdin=subprocess.DEVNULL, timeout=600)
    if check and p.returncode != 0:
        raise RuntimeError(f"psql on port {port} {sql!r}: {p.stderr.strip()}")
    return p.returncode == 0, p.stdout.strip()


def wait_psql(port, timeout=60):
    """Polls a TCP password login (SELECT 1) every POLL s until it works."""
    deadline = time.monotonic() + timeout
    while True:
        ok, _ = psql_tcp(port, "SELECT 1", check=False)
        if ok:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"no psql login on port {port} after {timeout} s")
        time.sleep(POLL)


def run(argv, **kw):
    p = subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL, **kw)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: exit {p.returncode}: {p.stderr.strip()[-2000:]}")
    return p.stdout


# ---------------------------------------------------------------------------
# Clusters by hand: what annexd does for an instance, without annexd (no supervisor, no cgroup).

class Cluster:
    """PostgreSQL by hand under the postgres user (setpriv, as annexd runs initdb): annexd's initdb options, its
    annex.conf with another port and socket directory, in `root` (a plain directory) or, with `loop`, on an ext4
    image of STORAGE_GIB made and attached as annexd makes an instance's volume (sparse file, mkfs.ext4 -m 0,
    losetup --direct-io=on, mount -o noatime)."""

    def __init__(self, root, loop=False):
        self.root = root
        self.loop = loop
        self.port = free_port()
        self.run_dir = os.path.join(root, "run")
        self.image = os.path.join(root, "volume.img")
        self.volume = os.path.join(root, "volume")
        self.pgdata = os.path.join(self.volume if loop else root, "pgdata")
        self.proc = None
        self.log = None
        pw = pwd.getpwnam("postgres")
        self.uid, self.gid = pw.pw_uid, pw.pw_gid
        self.device = None
        self.steps = {}

    def as_user(self, argv):
        return ["/usr/bin/setpriv", f"--reuid={self.uid}", f"--regid={self.gid}", "--init-groups", "--", *argv]

    def owned_dir(self, path):
        os.makedirs(path, exist_ok=True)
        os.chown(path, self.uid, self.gid)
        os.chmod(path, 0o700)

    def _step(self, name, t0):
        self.steps[name] = time.monotonic() - t0
        return time.monotonic()

    def make(self, annex_conf):
        """The volume (with `loop`), initdb, annex.conf; timed step by step in self.steps."""
        t = time.monotonic()
        os.makedirs(self.root, exist_ok=True)
        os.chmod(self.root, 0o711)
        if self.loop:
            os.makedirs(self.volume, exist_ok=True)
            run(["/usr/bin/truncate", "-s", f"{STORAGE_GIB}G", self.image])
            run(["/usr/sbin/mkfs.ext4", "-q", "-F", "-m", "0", "-L", "annex-db", self.image])
            t = self._step("mkfs", t)
            self.device = run(["/usr/sbin/losetup", "-f", "--show", "--direct-io=on", self.image]).strip()
            run(["/usr/bin/mount", "-t", "ext4", "-o", "noatime", self.device, self.volume])
            t = self._step("attach+mount", t)
        self.owned_dir(self.run_dir)
        staging = self.pgdata + ".init"
        self.owned_dir(staging)
        pwfile = os.path.join(self.root, "password")
        with open(pwfile, "w") as f:
            f.write(PASSWORD)
        os.chown(pwfile, self.uid, self.gid)
        os.chmod(pwfile, 0o600)
        run(self.as_user([f"{PG_BIN}/initdb", f"--pgdata={staging}", f"--username={MASTER}", f"--pwfile={pwfile}",
                          *INITDB_FLAGS]))
        with open(os.path.join(staging, "postgresql.conf"), "a") as f:
            f.write("include 'annex.conf'\n")
        conf = os.path.join(staging, "annex.conf")
        with open(conf, "w") as f:
            f.write(self.settings(annex_conf))
        os.chown(conf, self.uid, self.gid)
        os.chmod(conf, 0o600)
        os.rename(staging, self.pgdata)
        os.unlink(pwfile)
        self._step("initdb", t)

    def settings(self, annex_conf):
        """annexd's annex.conf for this cluster: its port and socket directory; no archiving."""
        conf = re.sub(r"(?m)^port = .*$", f"port = {self.port}", annex_conf)
        conf = re.sub(r"(?m)^unix_socket_directories = .*$", f"unix_socket_directories = '{self.run_dir}'", conf)
        conf = re.sub(r"(?m)^archive_command = .*\n", "", conf)
        return re.sub(r"(?m)^archive_mode = .*$", "archive_mode = off", conf)

    def start(self):
        """postgres -D pgdata under the postgres user, as annexd's workload spec has it; until pg_isready says yes.
        In a session of its own, as `pg_ctl start` and service managers start it: with the kernel's autogroup
        scheduling (sched_autogroup_enabled), a postgres in pgbench's session would share one scheduling group with
        its client, which favours it (select-only: ~15 % more tps) over any postgres a client does not start."""
        t = time.monotonic()
        self.log = open(os.path.join(self.root, "postgres.log"), "ab")
        self.proc = subprocess.Popen(self.as_user([f"{PG_BIN}/postgres", "-D", self.pgdata]), env=PG_ENV,
                                     stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log,
                                     start_new_session=True)
        deadline = time.monotonic() + 120
        while subprocess.run([f"{PG_BIN}/pg_isready", "-q", "-h", self.run_dir, "-p", str(self.port), "-t", "1"],
                             stdin=subprocess.DEVNULL).returncode != 0:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"postgres by hand in {self.root} did not start; see its postgres.log")
            time.sleep(POLL)
        t = self._step("start->ready", t)
        # The database, as annexd makes DBName: over the socket, as the master user.
        run(self.as_user(["/usr/bin/psql", "-X", "-q", "-w", "-v", "ON_ERROR_STOP=1", "-h", self.run_dir, "-p",
                          str(self.port), "-U", MASTER, "-d", "postgres", "-c", f'CREATE DATABASE "{DBNAME}"']))
        self._step("create database", t)

    def stop(self):
        """Fast shutdown (SIGINT, as annexd stops an instance), SIGKILL after 60 s."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if self.log:
            self.log.close()
            self.log = None

    def destroy(self):
        self.stop()
        if self.loop:
            if os.path.ismount(self.volume):
                subprocess.run(["/usr/bin/umount", self.volume], capture_output=True)
            out = subprocess.run(["/usr/sbin/losetup", "-j", self.image, "-O", "NAME", "-n"], capture_output=True,
                                 text=True).stdout
            for dev in out.split():
                subprocess.run(["/usr/sbin/losetup", "-d", dev], capture_output=True)
        shutil.rmtree(self.root, ignore_errors=True)


# ---------------------------------------------------------------------------
# 1. CreateDBInstance -> available.

def instance_dir(data_dir, db):
    return os.path.join(data_dir, "database", "instances", db["DbiResourceId"])


class Milestones:
    """When the instance's files show each step done, seen every FS_POLL s between the client's polls."""
    def __init__(self, directory, t0):
        self.dir, self.t0, self.seen = directory, t0, {}
        pgdata = os.path.join(directory, "volume", "pgdata")
        self.checks = [("volume mounted", lambda: os.path.ismount(os.path.join(directory, "volume"))),
                       ("initdb done", lambda: os.path.exists(os.path.join(pgdata, "PG_VERSION"))),
                       ("postgres started", lambda: os.path.exists(os.path.join(pgdata, "postmaster.pid")))]

    def __call__(self):
        for name, check in self.checks:
            if name not in self.seen and check():
                self.seen[name] = time.monotonic() - self.t0


def create_latency(rds, data_dir, work, rounds):
    annex, annex_psql, deletes, phases = [], [], [], []
    byhand, byhand_psql, hand_steps = [], [], []
    annex_conf = None
    for r in range(rounds):
        for side in (("annex", "peer") if r % 2 == 0 else ("peer", "annex")):
            if side == "peer":
                if annex_conf is None:
                    continue  # the peer needs annexd's annex.conf of this class: after annexd's first round
                c = Cluster(os.path.join(work, f"byhand-{r}"), loop=True)
                try:
                    t0 = time.monotonic()
                    c.make(annex_conf)
                    c.start()
                    byhand.append(time.monotonic() - t0)
                    wait_psql(c.port)
                    byhand_psql.append(time.monotonic() - t0)
                    hand_steps.append(dict(c.steps))
                finally:
                    c.destroy()
                continue
            identifier = f"{PREFIX}lat-{r}"
            t0 = time.monotonic()
            db = rds.create(identifier, LATENCY_CLASS)
            marks = Milestones(instance_dir(data_dir, db), t0)
            db = rds.wait(identifier, "available", on_poll=marks)
            annex.append(time.monotonic() - t0)
            port = int(db["Endpoint"]["Port"])
            wait_psql(port)
            annex_psql.append(time.monotonic() - t0)
            phases.append(marks.seen)
            if annex_conf is None:
                annex_conf = open(os.path.join(instance_dir(data_dir, db), "volume/pgdata/annex.conf")).read()
            t1 = time.monotonic()
            rds.delete(identifier)
            rds.wait(identifier, None)
            deletes.append(time.monotonic() - t1)
    return {"annex": annex, "annex_psql": annex_psql, "deletes": deletes, "phases": phases,
            "byhand": byhand, "byhand_psql": byhand_psql, "hand_steps": hand_steps}


# ---------------------------------------------------------------------------
# 2. pgbench.

class Side:
    def __init__(self, name, port, cluster=None):
        self.name, self.port, self.cluster = name, port, cluster
        self.tps = {}
        self.cpu_us = {}  # server CPU per transaction
        self.other = {}  # share of the machine's CPU that neither this side's postgres nor pgbench used
        self.pid = None


def pgbench(port, extra, args):
    argv = [f"{PG_BIN}/pgbench", "-h", "127.0.0.1", "-p", str(port), "-U", MASTER, *extra, DBNAME]
    p = subprocess.run(argv, capture_output=True, text=True, env=client_env(), stdin=subprocess.DEVNULL,
                       timeout=args.duration * 10 + 600)
    if p.returncode != 0:
        raise RuntimeError(f"pgbench {' '.join(extra)} on port {port}: exit {p.returncode}: {p.stderr.strip()[-2000:]}")
    return p.stdout + p.stderr


def tps_of(out):
    m = re.search(r"^tps = ([0-9.]+) \(without initial connection time\)", out, re.M)
    n = re.search(r"^number of transactions actually processed: ([0-9]+)", out, re.M)
    if not m or not n:
        raise RuntimeError(f"no tps in pgbench output: {out[-1000:]}")
    return float(m.group(1)), int(n.group(1))


def children(pid):
    """{pid: cmdline} of the processes whose parent is `pid`."""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            if int(open(f"/proc/{d}/stat").read().rsplit(")", 1)[1].split()[1]) == pid:
                out[int(d)] = open(f"/proc/{d}/cmdline", "rb").read().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, IndexError, ValueError):
            pass
    return out


def server_cpu_s(pid, timeout=30):
    """CPU seconds of the postmaster and every child it reaped: utime + stime + cutime + cstime. Waits until
    no session of MASTER is left (a session's exit, unmapping gigabytes of shared buffers, takes a while), so
    that every session's CPU is in it; the auxiliary processes' own CPU is not. An exiting process shows an empty
    command line once its memory is gone, until its parent reaps it."""
    deadline = time.monotonic() + timeout
    while any(c == "" or c.startswith(f"postgres: {MASTER} ") for c in children(pid).values()) and \
            time.monotonic() < deadline:
        time.sleep(0.02)
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def cgroup_dirs(data_dir, db):
    tag = hashlib.sha256(os.path.realpath(data_dir).encode()).hexdigest()[:12]
    wid = "rds-" + db["DbiResourceId"]
    return glob.glob(f"/sys/fs/cgroup/*/annex-workloads-{tag}/{wid}") + \
        glob.glob(f"/sys/fs/cgroup/annex-workloads-{tag}/{wid}")


def cgroup_figures(dirs):
    """CPU throttling and memory-limit hits of the instance's cgroups (v1 or v2 files, whichever exist)."""
    f = {}
    for d in dirs:
        def read(name):
            try:
                return open(os.path.join(d, name)).read()
            except OSError:
                return None
        stat = read("cpu.stat")
        if stat and "nr_throttled" in stat:
            kv = dict(line.split() for line in stat.splitlines() if len(line.split()) == 2)
            f["nr_periods"] = int(kv.get("nr_periods", 0))
            f["nr_throttled"] = int(kv.get("nr_throttled", 0))
            f["throttled_ms"] = int(kv.get("throttled_time", 0)) / 1e6 if "throttled_time" in kv else \
                int(kv.get("throttled_usec", 0)) / 1e3
        for name, key in (("cpu.cfs_quota_us", "cfs_quota_us"), ("cpu.shares", "cpu_shares"),
                          ("cpu.weight", "cpu_weight"), ("memory.failcnt", "memory_failcnt"),
                          ("memory.limit_in_bytes", "memory_limit"), ("memory.max", "memory_limit"),
                          ("memory.max_usage_in_bytes", "memory_peak"), ("memory.peak", "memory_peak")):
            v = read(name)
            if v is not None and v.strip().lstrip("-").isdigit():
                f[key] = int(v)
        ev = read("memory.events")
        if ev:
            kv = dict(line.split() for line in ev.splitlines())
            f["memory_events_max"] = int(kv.get("max", 0))
            f["memory_events_high"] = int(kv.get("high", 0))
    return f


class PeerCgroups:
    """Cgroups like the managed instance's, for the plain-directory peer: in every hierarchy the instance's
    cgroup is in, <mount>/<name>/peer (two levels, as annex-workloads-<tag>/rds-<id>), with the limits copied
    from the instance's leaf. The peer's postgres moves in for its `peer-cgroup` runs and back out after, so the
    same cluster (files, cache, shared memory) runs both ways."""
    FILES = ["memory.memsw.limit_in_bytes", "memory.limit_in_bytes", "memory.soft_limit_in_bytes",
             "memory.memsw.limit_in_bytes", "memory.max", "memory.low", "memory.swap.max", "cpu.shares",
             "cpu.cfs_period_us", "cpu.cfs_quota_us", "cpu.weight", "cpu.max", "pids.max"]

    def __init__(self, instance_dirs, name):
        self.pairs = []  # (the instance's leaf, the peer's leaf)
        for leaf in instance_dirs:
            mount = os.path.dirname(os.path.dirname(leaf))
            top = os.path.join(mount, name)
            peer = os.path.join(top, "peer")
            os.makedirs(top, exist_ok=True)
            if os.path.exists(os.path.join(top, "cgroup.subtree_control")):  # v2: pass the controllers down
                for c in ("cpu", "memory", "pids"):
                    try:
                        with open(os.path.join(top, "cgroup.subtree_control"), "w") as f:
                            f.write("+" + c)
                    except OSError:
                        pass
            os.makedirs(peer, exist_ok=True)
            for f in self.FILES:
                src, dst = os.path.join(leaf, f), os.path.join(peer, f)
                if os.path.exists(src) and os.path.exists(dst):
                    try:
                        with open(dst, "w") as out:
                            out.write(open(src).read().split("\n")[0])
                    except OSError:
                        pass  # memsw before memory: the second write of it, after the limit, takes
            self.pairs.append((leaf, peer))
        self.home = {}

    def enter(self, pid):
        """Moves the postmaster and its children in (remembering where they were)."""
        pids = [pid, *children(pid)]
        for _, peer in self.pairs:
            mount = os.path.dirname(os.path.dirname(peer))
            for p in pids:
                self.home.setdefault((mount, p), self._where(p, mount))
                self._move(p, peer)

    def leave(self, pid):
        for _, peer in self.pairs:
            mount = os.path.dirname(os.path.dirname(peer))
            for p in [pid, *children(pid)]:
                self._move(p, os.path.join(mount, self.home.get((mount, p), "/").lstrip("/")))

    @staticmethod
    def _where(pid, mount):
        """The pid's cgroup path in the hierarchy mounted at `mount`."""
        options = set(os.path.basename(mount).split(","))
        for line in open(f"/proc/{pid}/cgroup"):
            _, controllers, path = line.rstrip("\n").split(":", 2)
            if options & set(controllers.split(",")) or (controllers == "" and (mount.endswith("unified") or
                                                                                mount == "/sys/fs/cgroup")):
                return path
        return "/"

    @staticmethod
    def _move(pid, directory):
        try:
            with open(os.path.join(directory, "cgroup.procs"), "w") as f:
                f.write(str(pid))
        except OSError:
            pass  # gone meanwhile

    def figures(self):
        return cgroup_figures([peer for _, peer in self.pairs])

    def remove(self):
        for _, peer in self.pairs:
            for d in (peer, os.path.dirname(peer)):
                try:
                    os.rmdir(d)
                except OSError:
                    pass


def fdatasync_us(directory, seconds=1.0):
    """Mean microseconds of one 8 kB overwrite + fdatasync in `directory` (what a WAL flush costs the disk under
    it: PostgreSQL's wal_sync_method is fdatasync on Linux)."""
    path = os.path.join(directory, "rds-bench-fdatasync")
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        block = os.urandom(8192)
        os.pwrite(fd, block, 0)
        os.fsync(fd)
        n, t0 = 0, time.monotonic()
        while time.monotonic() - t0 < seconds:
            os.pwrite(fd, block, 0)
            os.fdatasync(fd)
            n += 1
        return (time.monotonic() - t0) / n * 1e6
    finally:
        os.close(fd)
        os.unlink(path)


def settings_of(port):
    names = ["shared_buffers", "effective_cache_size", "maintenance_work_mem", "work_mem", "max_connections",
             "autovacuum_max_workers", "wal_level", "synchronous_commit", "fsync", "full_page_writes",
             "data_checksums", "max_wal_size", "checkpoint_timeout", "huge_pages", "ssl"]
    _, out = psql_tcp(port, "SELECT string_agg(name || '=' || setting || coalesce(unit, ''), ' ' ORDER BY name) "
                            "FROM pg_settings WHERE name IN (" + ",".join(f"'{n}'" for n in names) + ")")
    return out


def postmaster_pid(pgdata):
    return int(open(os.path.join(pgdata, "postmaster.pid")).readline())


def process_info(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    nice = int(fields[16])
    oom = open(f"/proc/{pid}/oom_score_adj").read().strip()
    cg = ";".join(line.split(":", 2)[2].strip() for line in open(f"/proc/{pid}/cgroup")
                  if line.split(":")[1] in ("cpu", "memory", ""))
    return f"nice {nice}, oom_score_adj {oom}, cgroups {cg}"


def snapshot_rows(rds, identifier):
    return [element_dict(e) for e in rds.call("DescribeDBSnapshots", {"DBSnapshotIdentifier": identifier}).iter()
            if strip_ns(e.tag) == "DBSnapshot"]


def wait_for_path(path, timeout=300):
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise RuntimeError(f"{path} did not appear in {timeout} s")
        time.sleep(FS_POLL)


def snapshot_throughput(rds, data_dir, work, args):
    """CreateDBSnapshot -> available and RestoreDBInstanceFromDBSnapshot -> files restored / -> available, of an
    instance holding pgbench -i -s SCALE, against pgBackRest by hand with the same options (zstd, bundles, two
    processes) into a repository on the local disk (the peer: what going through annexd's S3 costs), interleaved.
    MB/s are of the cluster's size on disk (du of its data directory)."""
    source = f"{PREFIX}snap"
    rds.create(source, PGBENCH_CLASS, retention_days=1)
    db = rds.wait(source, "available")
    port = int(db["Endpoint"]["Port"])
    idir = instance_dir(data_dir, db)
    pgdata = os.path.join(idir, "volume/pgdata")
    pgbench(port, ["-i", "-q", "-s", str(args.scale)], args)
    psql_tcp(port, "CHECKPOINT")
    size = int(run(["du", "-sb", pgdata]).split()[0])
    mb = size / 1e6
    peer = Cluster(os.path.join(work, "posix-peer"))  # for its user and owned_dir only: no cluster is made
    peer.owned_dir(peer.root)
    conf = os.path.join(peer.root, "pgbackrest.conf")
    with open(conf, "w") as f:
        f.write(f"""[global]
repo1-path={peer.root}/repo
repo1-bundle=y
repo1-retention-full=100
compress-type=zst
process-max=2
log-path={peer.root}
lock-path={peer.root}
log-level-console=warn
start-fast=y
archive-check=n

[db]
pg1-path={pgdata}
pg1-port={port}
pg1-socket-path={os.path.join(idir, "run")}
pg1-user={MASTER}
""")
    os.chown(conf, peer.uid, peer.gid)
    backrest = ["/usr/bin/pgbackrest", f"--config={conf}", "--stanza=db"]
    run(peer.as_user([*backrest, "stanza-create"]), timeout=300)
    times = {"snapshot": [], "restore files": [], "restore -> available": [], "peer backup": [], "peer restore": []}
    made = []
    try:
        for r in range(args.snapshot_rounds):
            snap = f"{PREFIX}snap-{r}"
            t0 = time.monotonic()
            rds.call("CreateDBSnapshot", {"DBSnapshotIdentifier": snap, "DBInstanceIdentifier": source})
            made.append(snap)
            while snapshot_rows(rds, snap)[0]["Status"] != "available":
                time.sleep(POLL)
            times["snapshot"].append(time.monotonic() - t0)
            rds.wait(source, "available")
            copy = f"{PREFIX}snap-copy-{r}"
            t0 = time.monotonic()
            [restored] = rds.instances(rds.call("RestoreDBInstanceFromDBSnapshot", {
                "DBInstanceIdentifier": copy, "DBSnapshotIdentifier": snap}))
            wait_for_path(os.path.join(instance_dir(data_dir, restored), "volume/restored"))
            times["restore files"].append(time.monotonic() - t0)
            rds.wait(copy, "available", timeout=600)
            times["restore -> available"].append(time.monotonic() - t0)
            rds.delete(copy)
            rds.wait(copy, None)
            t0 = time.monotonic()
            run(peer.as_user([*backrest, "backup", "--type=full"]), timeout=600)
            times["peer backup"].append(time.monotonic() - t0)
            target = os.path.join(peer.root, f"restore-{r}")
            peer.owned_dir(target)
            t0 = time.monotonic()
            run(peer.as_user([*backrest, "restore", f"--pg1-path={target}", "--type=none"]), timeout=600)
            times["peer restore"].append(time.monotonic() - t0)
            shutil.rmtree(target)
            print(f"  snapshot round {r + 1}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in times.items()),
                  flush=True)
    finally:
        for snap in made:
            try:
                rds.call("DeleteDBSnapshot", {"DBSnapshotIdentifier": snap})
            except RdsError:
                pass
        try:
            rds.delete(source)
            rds.wait(source, None)
        except Exception as e:  # noqa: BLE001 - the caller's cleanup deletes what is left
            print(f"rds_bench: deleting {source}: {e}", file=sys.stderr)
        shutil.rmtree(peer.root, ignore_errors=True)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"snapshots and restores of a {mb:.0f} MB cluster (pgbench -s {args.scale}), {args.snapshot_rounds} rounds, "
          "medians:")
    for k in times:
        print(f"  {k:24s} {med[k]:6.2f} s  {mb / med[k]:7.1f} MB/s")
    snap_ratio = med["peer backup"] / med["snapshot"]
    restore_ratio = med["peer restore"] / med["restore files"]
    print("%-58s %10s" % ("  CreateDBSnapshot -> available vs pgBackRest to local disk", f"{snap_ratio:.2f}x"))
    print("%-58s %10s" % ("  restore (files) vs pgBackRest restore from local disk", f"{restore_ratio:.2f}x"))
    return {"snapshot_cluster_mb": mb, "snapshot_s": med["snapshot"], "snapshot_mb_s": mb / med["snapshot"],
            "restore_files_s": med["restore files"], "restore_mb_s": mb / med["restore files"],
            "restore_available_s": med["restore -> available"], "snapshot_peer_ratio": snap_ratio,
            "restore_peer_ratio": restore_ratio}


def pgbench_compare(rds, data_dir, work, args):
    """pgbench against the managed instance and three peers by hand, interleaved: `peer` (a plain directory),
    `peer-cgroup` (the same cluster, moved into cgroups with the instance's limits for its runs) and `peer-loop`
    (a cluster of its own on a loop-mounted ext4 image made as annexd makes a volume)."""
    identifier = f"{PREFIX}pgbench"
    # With backups (the default) the managed side also archives its WAL into S3, which the peers do not.
    rds.create(identifier, PGBENCH_CLASS, retention_days=args.pgbench_backup_retention)
    db = rds.wait(identifier, "available")
    idir = instance_dir(data_dir, db)
    annex_conf = open(os.path.join(idir, "volume/pgdata/annex.conf")).read()
    managed = Side("managed", int(db["Endpoint"]["Port"]))
    plain = Side("peer", 0, Cluster(os.path.join(work, "peer-dir")))
    loop = Side("peer-loop", 0, Cluster(os.path.join(work, "peer-loop"), loop=True))
    in_cgroup = Side("peer-cgroup", 0, plain.cluster)
    dirs = cgroup_dirs(data_dir, db)
    cgroups = None
    sides = [managed]
    try:
        for p in (plain, loop):
            p.cluster.make(annex_conf)
            p.cluster.start()
            p.port = p.cluster.port
            sides.append(p)
        in_cgroup.port = plain.port
        if dirs:
            cgroups = PeerCgroups(dirs, os.path.basename(work))
            sides.insert(2, in_cgroup)
        print(f"pgbench: {PGBENCH_CLASS} ({STORAGE_GIB} GiB), scale {args.scale}, -c {args.clients} -j {args.threads} "
              f"-T {args.duration}, {args.pgbench_rounds} interleaved rounds per workload; over TCP 127.0.0.1, "
              f"SCRAM password; managed BackupRetentionPeriod {args.pgbench_backup_retention} "
              f"({'WAL archived into S3' if args.pgbench_backup_retention else 'no archiving'})")
        wait_psql(managed.port)
        reference = None
        for s in (managed, plain, loop):
            got = settings_of(s.port)
            reference = reference or got
            if got != reference:
                print(f"  settings differ on {s.name}: {got}\n  managed: {reference}", file=sys.stderr)
        print(f"  settings (all sides): {reference}")
        for s in sides:
            pgdata = os.path.join(idir, "volume/pgdata") if s is managed else s.cluster.pgdata
            s.pid = postmaster_pid(pgdata)
            if s is in_cgroup:
                cgroups.enter(s.pid)
            print(f"  {s.name:11s} port {s.port:5d}, postmaster {process_info(s.pid)}")
            if s is in_cgroup:
                cgroups.leave(s.pid)
        for s in (managed, plain, loop):
            t0 = time.monotonic()
            pgbench(s.port, ["-i", "-q", "-s", str(args.scale)], args)
            print(f"  pgbench -i -s {args.scale} on {s.name:11s} {time.monotonic() - t0:6.1f} s")
        # Where each side's WAL is flushed: the managed instance's is beside its volume (<instance dir>/wal).
        flush = {"managed WAL directory": [], "managed volume": [], "peer directory": [], "peer-loop volume": []}
        for r in range(3):
            for where, d in (("managed WAL directory", os.path.join(idir, "wal")),
                             ("managed volume", os.path.join(idir, "volume")), ("peer directory", plain.cluster.root),
                             ("peer-loop volume", loop.cluster.volume)):
                flush[where].append(fdatasync_us(d))
        flush = {k: statistics.median(v) for k, v in flush.items()}
        print("  8 kB overwrite + fdatasync (a WAL flush), median of 3 x 1 s: " +
              ", ".join(f"{k} {v:.0f} us" for k, v in flush.items()))
        cg0 = cgroup_figures(dirs)
        workloads = [("select-only", ["-S"]), ("tpcb-like", [])]
        for name, flags in workloads:
            for s in sides:
                s.tps[name], s.cpu_us[name], s.other[name] = [], [], []
            for r in range(args.pgbench_rounds):
                for s in (sides if r % 2 == 0 else sides[::-1]):
                    psql_tcp(s.port, "CHECKPOINT")  # every run starts from a clean checkpoint
                    cpu0 = server_cpu_s(s.pid)
                    if s is in_cgroup:
                        cgroups.enter(s.pid)
                    try:
                        (busy0, steal0), client0, t0 = machine_cpu_s(), children_cpu_s(), time.monotonic()
                        out = pgbench(s.port, ["-c", str(args.clients), "-j", str(args.threads),
                                               "-T", str(args.duration), *flags], args)
                        tps, transactions = tps_of(out)
                        cpu1 = server_cpu_s(s.pid)
                        (busy1, steal1), client1, t1 = machine_cpu_s(), children_cpu_s(), time.monotonic()
                    finally:
                        if s is in_cgroup:
                            cgroups.leave(s.pid)
                    capacity = (t1 - t0) * os.cpu_count()
                    other = (busy1 - busy0 - (cpu1 - cpu0) - (client1 - client0)) / capacity
                    steal = (steal1 - steal0) / capacity
                    s.tps[name].append(tps)
                    s.cpu_us[name].append((cpu1 - cpu0) / transactions * 1e6)
                    s.other[name].append(other)
                    print(f"  {name:11s} round {r + 1} {s.name:11s} {tps:10.1f} tps  server CPU "
                          f"{s.cpu_us[name][-1]:6.1f} us/tx, pgbench {(client1 - client0) / capacity:4.0%}, "
                          f"everything else {other:4.0%}, steal {steal:4.0%} of the machine", flush=True)
        cg1 = cgroup_figures(dirs)
        peer_cg = cgroups.figures() if cgroups else {}
    finally:
        if cgroups and plain.pid:
            cgroups.leave(plain.pid)
        for p in (plain, loop):
            p.cluster.destroy()
        if cgroups:
            cgroups.remove()
        try:
            rds.delete(identifier)
            rds.wait(identifier, None)
        except Exception as e:  # noqa: BLE001 - the caller's cleanup deletes what is left
            print(f"rds_bench: deleting {identifier}: {e}", file=sys.stderr)
    return {s.name: s for s in sides}, cg0, cg1, peer_cg, flush


# ---------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--pgbench-rounds", type=int, default=4)
    ap.add_argument("--scale", type=int, default=10)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--pgbench-backup-retention", type=int, default=1,
                    help="BackupRetentionPeriod of the pgbench instance (0: no WAL archiving, as the peers)")
    ap.add_argument("--snapshot-rounds", type=int, default=3, help="snapshot and restore rounds (0: none)")
    ap.add_argument("--results", help="file to append a JSON line of the figures to")
    ap.add_argument("--delete-all", action="store_true", help="only delete every instance this bench made (cleanup)")
    args = ap.parse_args()

    rds = Rds(args.endpoint, *read_credentials(os.path.join(args.data_dir, "credentials")))
    if args.delete_all:
        gone = rds.delete_all()
        if gone:
            print(f"rds_bench cleanup: deleted {', '.join(gone)}", file=sys.stderr)
        return

    # 1. CreateDBInstance -> available, against the same steps by hand.
    lat = create_latency(rds, args.data_dir, args.work, args.rounds)
    a50, a95 = percentile(lat["annex"], 50), percentile(lat["annex"], 95)
    q50, q95 = percentile(lat["annex_psql"], 50), percentile(lat["annex_psql"], 95)
    h50, h95 = percentile(lat["byhand"], 50), percentile(lat["byhand"], 95)
    hq50 = percentile(lat["byhand_psql"], 50)
    print(f"CreateDBInstance -> available ({LATENCY_CLASS}, {STORAGE_GIB} GiB, DBName; DescribeDBInstances every "
          f"{POLL * 1000:.0f} ms), {len(lat['annex'])} instances:")
    print(f"  -> available                   p50 {a50:6.2f} s  p95 {a95:6.2f} s  min {min(lat['annex']):5.2f} s  "
          f"max {max(lat['annex']):5.2f} s")
    print(f"  -> first psql login (TCP)      p50 {q50:6.2f} s  p95 {q95:6.2f} s")
    print(f"  the same by hand (truncate, mkfs.ext4, losetup --direct-io, mount, initdb, postgres, pg_isready every "
          f"{POLL * 1000:.0f} ms, CREATE DATABASE), {len(lat['byhand'])} rounds:")
    print(f"  -> ready + database            p50 {h50:6.2f} s  p95 {h95:6.2f} s  (first psql login p50 {hq50:.2f} s)")
    steps = lat["hand_steps"]
    print("  by hand, medians: " + ", ".join(f"{k} {statistics.median(s[k] for s in steps):.2f} s" for k in steps[0]))
    names = sorted({k for ph in lat["phases"] for k in ph}, key=lambda k: statistics.median(
        ph[k] for ph in lat["phases"] if k in ph))
    print("  annexd, from the instance's files (medians since CreateDBInstance): " + ", ".join(
        f"{k} {statistics.median(ph[k] for ph in lat['phases'] if k in ph):.2f} s" for k in names) +
        f", available {a50:.2f} s")
    print(f"  DeleteDBInstance -> gone       p50 {statistics.median(lat['deletes']):6.2f} s")
    ratio_create = a50 / h50
    print("%-58s %10s   goal %-9s %s" % ("CreateDBInstance -> available p50", f"{a50:.2f} s", "<= 5 s",
                                         "ok" if a50 <= 5 else "MISSED"))
    print("%-58s %10s" % ("  vs the same steps by hand (p50)", f"{ratio_create:.2f}x"))

    # 2. pgbench.
    sides, cg0, cg1, peer_cg, flush = pgbench_compare(rds, args.data_dir, args.work, args)
    figures = {"bench": "rds", "rounds": len(lat["annex"]), "create_p50_s": a50, "create_p95_s": a95,
               "create_psql_p50_s": q50, "create_psql_p95_s": q95, "byhand_p50_s": h50, "byhand_p95_s": h95,
               "create_ratio_p50": ratio_create, "pgbench_class": PGBENCH_CLASS, "scale": args.scale,
               "clients": args.clients, "threads": args.threads, "duration_s": args.duration,
               "pgbench_rounds": args.pgbench_rounds, "load_avg": loadavg(),
               "fdatasync_us": {k.replace(" ", "_"): v for k, v in flush.items()}}
    names = [n for n in ("managed", "peer", "peer-cgroup", "peer-loop") if n in sides]
    print("%-22s" % "pgbench, median tps" + "".join("%13s" % n for n in names) +
          "   managed/peer   goal        peer-cgroup/peer  peer-loop/peer")
    managed, peer = sides["managed"], sides["peer"]
    for name in managed.tps:
        med = {n: statistics.median(sides[n].tps[name]) for n in names}
        ratio = med["managed"] / med["peer"]
        cg_ratio = med.get("peer-cgroup", 0) / med["peer"]
        loop_ratio = med["peer-loop"] / med["peer"]
        print("%-22s" % name + "".join("%13.1f" % med[n] for n in names) +
              "   %9.3fx     >= 0.95x %-6s %11.3fx %14.3fx" % (ratio, "ok" if ratio >= 0.95 else "MISSED", cg_ratio,
                                                             loop_ratio))
        cpu = {n: statistics.median(sides[n].cpu_us[name]) for n in names}
        print("  server CPU per transaction (postgres and its sessions, median): " +
              ", ".join(f"{n} {cpu[n]:.1f} us" for n in names))
        paired = [m / p for m, p in zip(managed.tps[name], peer.tps[name])]
        print("  managed/peer round by round: " + " ".join(f"{x:.2f}" for x in paired) +
              f" (median {statistics.median(paired):.3f}x)")
        print("  every round: " + "; ".join(f"{n} " + " ".join(f"{t:.0f}" for t in sides[n].tps[name]) for n in names)
              + "; everything else's CPU at most " + f"{max(x for n in names for x in sides[n].other[name]):.0%}")
        key = name.replace("-", "_")
        figures.update({f"{key}_tps": med, f"{key}_ratio": ratio, f"{key}_ratio_by_round": paired,
                        f"{key}_cgroup_ratio": cg_ratio,
                        f"{key}_loop_ratio": loop_ratio, f"{key}_cpu_us_per_tx": cpu,
                        f"{key}_other_cpu_max": max(x for n in names for x in sides[n].other[name])})
    if cg1:
        throttled = cg1.get("nr_throttled", 0) - cg0.get("nr_throttled", 0)
        periods = cg1.get("nr_periods", 0) - cg0.get("nr_periods", 0)
        t_ms = cg1.get("throttled_ms", 0) - cg0.get("throttled_ms", 0)
        fails = cg1.get("memory_failcnt", 0) - cg0.get("memory_failcnt", 0) + \
            cg1.get("memory_events_max", 0) - cg0.get("memory_events_max", 0)
        print(f"  the managed instance's cgroups during the runs: CPU quota {cg1.get('cfs_quota_us', '?')} us per "
              f"period ({os.cpu_count()} cores here), throttled {throttled} of {periods} periods ({t_ms:.0f} ms); "
              f"cpu.shares {cg1.get('cpu_shares', cg1.get('cpu_weight', '?'))}; memory limit "
              f"{cg1.get('memory_limit', 0) / 2**30:.1f} GiB, peak {cg1.get('memory_peak', 0) / 2**30:.2f} GiB, "
              f"hit {fails} times")
        if peer_cg:
            print(f"  the peer's cgroups (peer-cgroup runs): throttled {peer_cg.get('nr_throttled', 0)} of "
                  f"{peer_cg.get('nr_periods', 0)} periods; memory limit {peer_cg.get('memory_limit', 0) / 2**30:.1f} "
                  f"GiB, hit {peer_cg.get('memory_failcnt', 0) + peer_cg.get('memory_events_max', 0)} times")
        figures.update({"cgroup_throttled_periods": throttled, "cgroup_throttled_ms": t_ms,
                        "cgroup_memory_limit_hits": fails})
    else:
        print("  the managed instance's cgroups were not found (no cgroup figures, no peer-cgroup runs)")
    # 3. Snapshots and restores.
    if args.snapshot_rounds:
        figures.update(snapshot_throughput(rds, args.data_dir, args.work, args))
    if args.results:
        with open(args.results, "a") as out:
            print(json.dumps(figures), file=out)


if __name__ == "__main__":
    main()
