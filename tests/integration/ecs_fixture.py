"""What the ECS integration tests that really run tasks share: the tools they need, a busybox image built offline
(umoci, skopeo) for `annexctl images import`, boto3 clients, and the cleanup of whatever a failed test left on the
host (containers, network namespaces, the workload bridge, its nft table and cgroups)."""

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import REGION, AnnexTestCase  # noqa: E402

try:
    import boto3  # noqa: F401
    from botocore.config import Config
    HAVE_BOTO3 = True
except ImportError:  # pragma: no cover - reported as a skip
    HAVE_BOTO3 = False

TOOLS = {name: shutil.which(name) for name in ("crun", "umoci", "skopeo", "busybox")}
APPLETS = ["sh", "echo", "cat", "sleep", "ls", "id", "hostname", "ip", "ifconfig", "httpd", "nc", "wc", "head", "dd",
           "tail", "mkdir", "tr", "true"]
SUBNETS = {"awsvpcConfiguration": {"subnets": ["subnet-0123456789abcdef0"]}}


def unique(prefix):
    return prefix + os.urandom(4).hex()


def run(*args, check=True, timeout=120, **kw):
    p = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=timeout, **kw)
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, args))} failed ({p.returncode}): {p.stdout}{p.stderr}")
    return p


def skip_reason():
    """Why this machine cannot run tasks, or None."""
    if os.geteuid() != 0:
        return "running ECS tasks needs root (cgroups, namespaces, crun)"
    missing = [n for n, p in TOOLS.items() if not p]
    if missing:
        return f"{', '.join(missing)} not installed (needed to build the image and run it)"
    if not HAVE_BOTO3:
        return "boto3 is not installed"
    return None


def build_busybox_image(work):
    """busybox:latest, built offline under `work`: a rootfs with a static busybox and its applets, /bin/sh as
    command. Returns the docker-archive to import."""
    work = Path(work)
    layout, bundle, archive = work / "L", work / "b", work / "bb.tar"
    run("umoci", "init", "--layout", layout)
    run("umoci", "new", "--image", f"{layout}:latest")
    run("umoci", "unpack", "--rootless", "--image", f"{layout}:latest", bundle)
    rootfs = bundle / "rootfs"
    for d in ("bin", "etc", "tmp"):
        (rootfs / d).mkdir(parents=True, exist_ok=True)
    shutil.copy(os.path.realpath(TOOLS["busybox"]), rootfs / "bin" / "busybox")
    for applet in APPLETS:
        (rootfs / "bin" / applet).symlink_to("busybox")
    (rootfs / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n")
    (rootfs / "etc" / "group").write_text("root:x:0:\nnogroup:x:65534:\n")
    run("umoci", "repack", "--image", f"{layout}:latest", bundle)
    run("umoci", "config", "--image", f"{layout}:latest", "--config.cmd", "/bin/sh", "--config.env", "PATH=/bin")
    run("skopeo", "copy", f"oci:{layout}:latest", f"docker-archive:{archive}:busybox:latest")
    return archive


def runtime_root(daemon):
    """crun's state directory for annexd's containers."""
    return daemon.data_dir / "containers" / "runtime"


def kill_leftovers(daemon, task_ids):
    """Whatever a failed test left on the host: containers, the namespaces of `task_ids`, the bridge and its nft
    table, the cgroup subtree. Kills annexd first."""
    daemon.kill()
    state = runtime_root(daemon)
    if state.is_dir():
        p = run("crun", "--root", state, "list", "-q", check=False)
        for cid in p.stdout.split():
            run("crun", "--root", state, "delete", "-f", cid, check=False)
    for tid in task_ids:  # task namespaces taken from no spare
        run("ip", "netns", "del", f"annex-ecs-{tid}", check=False)
    harness.remove_host_network(daemon.data_dir)
    tag = hashlib.sha256(os.path.realpath(daemon.data_dir).encode()).hexdigest()
    for root in Path("/sys/fs/cgroup").glob(f"*/annex-workloads-{tag[:12]}"):
        for d in sorted((p for p in root.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)) + [root]:
            try:
                d.rmdir()
            except OSError:
                pass


def client(daemon, service):
    """A boto3 client of annexd's root account that does not retry (a test sees each error)."""
    import boto3 as b3
    return b3.session.Session().client(
        service, endpoint_url=daemon.endpoint, region_name=REGION,
        aws_access_key_id=daemon.access_key, aws_secret_access_key=daemon.secret_key,
        config=Config(retries={"max_attempts": 1, "mode": "standard"}))


class EcsTestCase(AnnexTestCase):
    """A class of tests whose annexd runs tasks: the offline busybox image imported, a cluster of the class's own,
    and at the end every task stopped while annexd can (tasks outlive it by design), then whatever is left killed.
    Subclasses set `cluster`, call `prepare()` in setUpClass and record what they start in `task_ids`."""
    cluster = "default"
    task_ids = ()
    stop_timeout = 30

    @classmethod
    def prepare(cls, work_prefix):
        """The busybox image built into a fresh work dir and imported as busybox:latest; `cluster` created."""
        cls.work = Path(tempfile.mkdtemp(prefix=work_prefix))
        archive = build_busybox_image(cls.work)
        cls.daemon.annexctl("images", "import", str(archive), "--repository", "busybox:latest")
        cls.ecs().create_cluster(clusterName=cls.cluster)

    @classmethod
    def ecs(cls):
        return client(cls.daemon, "ecs")

    @classmethod
    def stop_everything(cls):
        """Stops every task in `task_ids` and waits for each to be STOPPED; classes that start more override it."""
        ecs = cls.ecs()
        for tid in cls.task_ids:
            ecs.stop_task(cluster=cls.cluster, task=tid, reason="test cleanup")
        deadline = time.monotonic() + cls.stop_timeout
        for tid in cls.task_ids:
            while time.monotonic() < deadline:
                t = ecs.describe_tasks(cluster=cls.cluster, tasks=[tid])["tasks"]
                if not t or t[0]["lastStatus"] == "STOPPED":
                    break
                time.sleep(0.2)

    @classmethod
    def tearDownClass(cls):
        daemon = cls.daemon
        try:
            if daemon is not None and daemon.proc is not None and daemon.proc.poll() is None:
                try:
                    cls.stop_everything()
                except Exception as e:  # noqa: BLE001 - leftovers are killed below
                    print(f"stopping tasks: {e}", file=sys.stderr)
            super().tearDownClass()
        finally:
            if daemon is not None:
                kill_leftovers(daemon, cls.task_ids)
            shutil.rmtree(getattr(cls, "work", "/nonexistent"), ignore_errors=True)
