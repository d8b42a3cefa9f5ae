#!/usr/bin/python3
"""RDS PostgreSQL instances on a real annexd, as a user drives them: awscli creates one, boto3 polls it to
`available` as terraform does, psql connects to its endpoint with the master credentials and writes; then a kill -9 of
postgres (the instance reports `rebooting`, then `available`, data intact), a reboot, stop and start, a new master
password and a larger class applied at once, a kill -9 of annexd (postgres keeps serving, annexd re-adopts it), the
volume sized as AllocatedStorage, another account's and an unprivileged user's view, delete; and RDS's error codes for
invalid identifiers, classes, passwords, duplicates, missing instances and wrong states. Needs root (postgres runs as a
supervised workload under the `postgres` user, on a loop-mounted volume)."""

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import unittest
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import AWS_CLI, REGION, AnnexTestCase, Daemon, have, wait_for  # noqa: E402

try:
    import boto3  # noqa: F401
    from botocore.config import Config
    from botocore.exceptions import ClientError
    HAVE_BOTO3 = True
except ImportError:  # pragma: no cover - reported as a skip
    HAVE_BOTO3 = False

PSQL = "/usr/bin/psql"
PASSWORD = "first-Secret_1"
TIMEOUT = 60


def skip_reason():
    if os.geteuid() != 0:
        return "database instances need root (supervised postgres under its own user, loop-mounted volumes)"
    if not os.path.isdir("/usr/lib/postgresql/15/bin") or not have(PSQL):
        return "PostgreSQL 15 and psql are not installed (make test-deps installs them)"
    if not HAVE_BOTO3:
        return "boto3 is not installed"
    return None


def rds_client(daemon, access_key=None, secret_key=None):
    import boto3 as b3
    return b3.session.Session().client(
        "rds", endpoint_url=daemon.endpoint, region_name=REGION,
        aws_access_key_id=access_key or daemon.access_key, aws_secret_access_key=secret_key or daemon.secret_key,
        config=Config(retries={"max_attempts": 1, "mode": "standard"}))


def psql(endpoint, sql, password=PASSWORD, user="master", db="app", check=True):
    """Runs `sql` through psql against the instance's endpoint; returns stdout (unaligned, tuples only)."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PGPASSWORD": password, "PGCONNECT_TIMEOUT": "5",
           "HOME": "/nonexistent"}
    p = subprocess.run([PSQL, "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", endpoint["Address"],
                        "-p", str(endpoint["Port"]), "-U", user, "-d", db, "-c", sql],
                       capture_output=True, text=True, env=env, timeout=30)
    if check and p.returncode != 0:
        raise AssertionError(f"psql {sql!r} failed ({p.returncode}): {p.stderr}")
    return p.stdout.strip() if p.returncode == 0 else p.stderr


def kill_workloads(data_dir):
    """SIGKILL to every process in the data dir's cgroup subtree (its postgres servers). Returns the subtree's tag."""
    tag = hashlib.sha256(os.path.realpath(data_dir).encode()).hexdigest()[:12]
    for procs in Path("/sys/fs/cgroup").glob(f"*/annex-workloads-{tag}/*/cgroup.procs"):
        for pid in procs.read_text().split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except OSError:
                pass
    return tag


def kill_leftovers(daemon):
    """What a failed test may leave: postgres processes in the data dir's cgroup subtree, mounted volumes and their
    loop devices. Kills annexd first."""
    daemon.kill()
    tag = kill_workloads(daemon.data_dir)
    time.sleep(0.5)
    instances = Path(daemon.data_dir) / "database" / "instances"
    for volume in sorted(instances.glob("*/volume")):
        subprocess.run(["umount", "-l", str(volume)], capture_output=True)
    for image in instances.glob("*/volume.img"):
        out = subprocess.run(["losetup", "-j", str(image), "-O", "NAME", "-n"], capture_output=True, text=True)
        for dev in out.stdout.split():
            subprocess.run(["losetup", "-d", dev], capture_output=True)
    for root in Path("/sys/fs/cgroup").glob(f"*/annex-workloads-{tag}"):
        for d in sorted((p for p in root.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)) + [root]:
            try:
                d.rmdir()
            except OSError:
                pass


class RdsInstancesBase(AnnexTestCase):
    """A class of tests whose annexd runs DB instances: its work dir open to the postgres user, and at the end every
    instance deleted while annexd can (instances outlive it by design), then whatever is left killed."""
    instance = None
    daemon_env = {}  # annexd's environment beyond the harness's

    @classmethod
    def setUpClass(cls):
        unittest.TestCase.setUpClass()
        cls.daemon = Daemon(extra_env=cls.daemon_env)
        # postgres runs as its own user and opens its data directory by path: the work dir must let it through.
        os.chmod(cls.daemon.workdir, 0o711)
        try:
            cls.daemon.start()
        except BaseException:
            cls.daemon.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        daemon = cls.daemon
        try:
            if daemon is not None and daemon.proc is not None and daemon.proc.poll() is None:
                rds = rds_client(daemon)
                try:
                    for db in rds.describe_db_instances()["DBInstances"]:
                        if db["DBInstanceStatus"] != "deleting":
                            rds.delete_db_instance(DBInstanceIdentifier=db["DBInstanceIdentifier"],
                                                   SkipFinalSnapshot=True)
                    wait_for("every instance deleted", lambda: not rds.describe_db_instances()["DBInstances"], 60)
                except Exception as e:  # noqa: BLE001 - leftovers are killed below
                    print(f"deleting instances: {e}", file=sys.stderr)
            super().tearDownClass()
        finally:
            if daemon is not None:
                kill_leftovers(daemon)

    def rds(self, *creds):
        return rds_client(self.daemon, *creds)

    def describe(self, identifier=None):
        return self.rds().describe_db_instances(DBInstanceIdentifier=identifier or self.instance)["DBInstances"][0]

    def wait_status(self, status, identifier=None, seen=None, timeout=TIMEOUT):
        """Polls DescribeDBInstances every 100 ms until `status`; `seen` collects every status on the way."""
        def reached():
            db = self.describe(identifier)
            if seen is not None and (not seen or seen[-1] != db["DBInstanceStatus"]):
                seen.append(db["DBInstanceStatus"])
            return db if db["DBInstanceStatus"] == status else None
        return wait_for(f"{identifier or self.instance} {status}", reached, timeout, interval=0.1)

    def assertRefused(self, call, want_code, want_message=None, **kw):
        with self.assertRaises(ClientError, msg=f"{want_code}: {kw}") as e:
            call(**kw)
        self.assertEqual(e.exception.response["Error"]["Code"], want_code, e.exception.response)
        if want_message:
            self.assertIn(want_message, e.exception.response["Error"]["Message"])

    def postmaster_pid(self):
        db = self.describe()
        pidfile = (Path(self.daemon.data_dir) / "database" / "instances" / db["DbiResourceId"] / "volume" / "pgdata" /
                   "postmaster.pid")
        return int(pidfile.read_text().split()[0])

    def assertWalBesideTheVolume(self, db):
        """The instance's WAL is in its own directory beside its volume, not on it (a commit's flush would also
        flush the volume's image file)."""
        instance = Path(self.daemon.data_dir) / "database" / "instances" / db["DbiResourceId"]
        pg_wal = instance / "volume" / "pgdata" / "pg_wal"
        self.assertTrue(pg_wal.is_symlink(), f"{pg_wal} is a link")
        self.assertEqual(Path(os.readlink(pg_wal)), instance / "wal")
        self.assertTrue(any((instance / "wal").iterdir()), "the WAL is there")



@unittest.skipIf(skip_reason(), skip_reason() or "")
class RdsInstancesTest(RdsInstancesBase):
    instance = "orders-db"

    # -- tests, in order: each builds on the instance the first one made -----------------------------------------

    @unittest.skipUnless(have(AWS_CLI), "awscli is not installed")
    def test_1_create_with_awscli_and_write_with_psql(self):
        t0 = time.monotonic()
        p = subprocess.run([AWS_CLI, "--endpoint-url", self.daemon.endpoint, "rds", "create-db-instance",
                            "--db-instance-identifier", "Orders-DB", "--db-instance-class", "db.t3.micro",
                            "--engine", "postgres", "--master-username", "master",
                            "--master-user-password", PASSWORD, "--allocated-storage", "20", "--db-name", "app",
                            "--tags", "Key=team,Value=shop", "--output", "json"],
                           env=self.daemon.client_env(), capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        created = json.loads(p.stdout)["DBInstance"]
        self.assertEqual(created["DBInstanceIdentifier"], self.instance, "identifiers are stored lowercased")
        self.assertEqual(created["DBInstanceStatus"], "creating")
        self.assertNotIn("Endpoint", created, "RDS shows no endpoint while creating")
        seen = []
        db = self.wait_status("available", seen=seen)
        took = time.monotonic() - t0
        print(f"[create -> available {took:.1f}s, statuses {seen}] ", end="", file=sys.stderr)
        self.assertEqual(seen[-1], "available")
        self.assertTrue(set(seen) <= {"creating", "backing-up", "available"}, seen)
        self.assertEqual(db["Engine"], "postgres")
        self.assertRegex(db["EngineVersion"], r"^15\.\d+$")
        self.assertEqual(db["DBInstanceArn"], f"arn:aws:rds:{REGION}:{self.daemon_account()}:db:{self.instance}")
        self.assertRegex(db["DbiResourceId"], r"^db-[A-Z0-9]{26}$")
        self.assertEqual(db["AllocatedStorage"], 20)
        self.assertEqual(db["TagList"], [{"Key": "team", "Value": "shop"}])
        self.assertEqual(db["Endpoint"]["Address"], "127.0.0.1")
        self.assertNotEqual(db["Endpoint"]["Port"], 5432, "never the machine's default cluster's port")
        endpoint = db["Endpoint"]
        self.assertWalBesideTheVolume(db)
        psql(endpoint, "CREATE TABLE orders (id int primary key, item text)")
        psql(endpoint, "INSERT INTO orders VALUES (1, 'apple'), (2, 'pear')")
        self.assertEqual(psql(endpoint, "SELECT count(*) FROM orders"), "2")
        # The class's memory settings, as RDS's default parameter group computes them.
        self.assertEqual(psql(endpoint, "SHOW shared_buffers"), "192MB")
        self.assertEqual(psql(endpoint, "SHOW max_connections"), "84")
        self.assertIn("password authentication failed",
                      psql(endpoint, "SELECT 1", password="wrong-password", check=False))
        # Its volume is a file system of AllocatedStorage GiB of its own.
        volume = Path(self.daemon.data_dir) / "database" / "instances" / db["DbiResourceId"] / "volume"
        st = os.statvfs(volume)
        self.assertAlmostEqual(st.f_blocks * st.f_frsize / 2**30, 20, delta=1.0)
        self.assertTrue(os.path.ismount(volume))

    def daemon_account(self):
        import boto3 as b3
        sts = b3.session.Session().client("sts", endpoint_url=self.daemon.endpoint, region_name=REGION,
                                          aws_access_key_id=self.daemon.access_key,
                                          aws_secret_access_key=self.daemon.secret_key)
        return sts.get_caller_identity()["Account"]

    def test_2_refusals_in_rds_words(self):
        rds = self.rds()
        base = {"DBInstanceClass": "db.t3.micro", "Engine": "postgres", "MasterUsername": "master",
                "MasterUserPassword": PASSWORD, "AllocatedStorage": 20}
        self.assertRefused(rds.create_db_instance, "InvalidParameterValue", "Identifiers must begin with a letter",
                           DBInstanceIdentifier="1-bad", **base)
        self.assertRefused(rds.create_db_instance, "InvalidParameterValue", DBInstanceIdentifier="bad--name", **base)
        self.assertRefused(rds.create_db_instance, "InvalidParameterValue", "db.x9.huge",
                           DBInstanceIdentifier="ok-name", **{**base, "DBInstanceClass": "db.x9.huge"})
        self.assertRefused(rds.create_db_instance, "InvalidParameterValue", "shorter than 8 characters",
                           DBInstanceIdentifier="ok-name", **{**base, "MasterUserPassword": "short"})
        self.assertRefused(rds.create_db_instance, "InvalidParameterValue", "Invalid DB engine",
                           DBInstanceIdentifier="ok-name", **{**base, "Engine": "mysql"})
        self.assertRefused(rds.create_db_instance, "InvalidParameterCombination", "Invalid storage size",
                           DBInstanceIdentifier="ok-name", **{**base, "AllocatedStorage": 5})
        self.assertRefused(rds.create_db_instance, "DBInstanceAlreadyExists", DBInstanceIdentifier="ORDERS-db", **base)
        self.assertRefused(rds.describe_db_instances, "DBInstanceNotFound", "DBInstance nope not found",
                           DBInstanceIdentifier="nope")
        self.assertRefused(rds.start_db_instance, "InvalidDBInstanceState", DBInstanceIdentifier=self.instance)
        self.assertRefused(rds.delete_db_instance, "InvalidParameterCombination", "FinalDBSnapshotIdentifier",
                           DBInstanceIdentifier=self.instance)
        self.assertRefused(rds.reboot_db_instance, "DBInstanceNotFound", DBInstanceIdentifier="nope")
        # Nothing was made by any of them.
        self.assertEqual([d["DBInstanceIdentifier"] for d in rds.describe_db_instances()["DBInstances"]],
                         [self.instance])
        self.assertEqual(rds.describe_db_engine_versions(Engine="postgres")["DBEngineVersions"][0]["Engine"],
                         "postgres")

    def test_3_killed_postgres_comes_back(self):
        endpoint = self.describe()["Endpoint"]
        before = self.postmaster_pid()
        os.kill(before, signal.SIGKILL)
        down = wait_for("the instance reported down", lambda: self.describe()["DBInstanceStatus"] != "available" and
                        self.describe()["DBInstanceStatus"], 10, interval=0.05)
        self.assertEqual(down, "rebooting", "the instance says it is down while postgres recovers")
        self.wait_status("available")
        self.assertNotEqual(self.postmaster_pid(), before)
        self.assertEqual(psql(endpoint, "SELECT string_agg(item, ',' ORDER BY id) FROM orders"), "apple,pear")

    def test_4_reboot_stop_start(self):
        rds = self.rds()
        endpoint = self.describe()["Endpoint"]
        before = self.postmaster_pid()
        self.assertEqual(rds.reboot_db_instance(DBInstanceIdentifier=self.instance)["DBInstance"]["DBInstanceStatus"],
                         "rebooting")
        self.wait_status("available")
        self.assertNotEqual(self.postmaster_pid(), before, "a reboot restarts postgres")
        self.assertEqual(rds.stop_db_instance(DBInstanceIdentifier=self.instance)["DBInstance"]["DBInstanceStatus"],
                         "stopping")
        self.wait_status("stopped")
        self.assertIn("Connection refused", psql(endpoint, "SELECT 1", check=False))
        self.assertRefused(rds.reboot_db_instance, "InvalidDBInstanceState", DBInstanceIdentifier=self.instance)
        rds.start_db_instance(DBInstanceIdentifier=self.instance)
        self.wait_status("available")
        self.assertEqual(psql(endpoint, "SELECT count(*) FROM orders"), "2")

    def test_5_new_password_and_class_at_once(self):
        rds = self.rds()
        endpoint = self.describe()["Endpoint"]
        modified = rds.modify_db_instance(DBInstanceIdentifier=self.instance, MasterUserPassword="second-Secret_2",
                                          ApplyImmediately=True)["DBInstance"]
        self.assertEqual(modified["PendingModifiedValues"].get("MasterUserPassword"), "****")
        wait_for("the new password", lambda: psql(endpoint, "SELECT 1", password="second-Secret_2", check=False) == "1",
                 TIMEOUT)
        self.assertIn("password authentication failed", psql(endpoint, "SELECT 1", check=False))
        rds.modify_db_instance(DBInstanceIdentifier=self.instance, DBInstanceClass="db.t3.small",
                               MasterUserPassword=PASSWORD, ApplyImmediately=True)
        seen = []
        db = self.wait_status("available", seen=seen)
        self.assertEqual(db["DBInstanceClass"], "db.t3.small")
        self.assertEqual(db["PendingModifiedValues"], {})
        self.assertEqual(psql(endpoint, "SHOW max_connections"), "197", "the larger class's settings")
        # Not applied immediately: waits for the maintenance window, and says so.
        pending = rds.modify_db_instance(DBInstanceIdentifier=self.instance, DBInstanceClass="db.t3.medium",
                                         ApplyImmediately=False)["DBInstance"]
        self.assertEqual(pending["PendingModifiedValues"], {"DBInstanceClass": "db.t3.medium"})
        self.assertEqual(self.describe()["DBInstanceClass"], "db.t3.small")

    def test_6_annexd_kill9_leaves_postgres_serving(self):
        endpoint = self.describe()["Endpoint"]
        pid = self.postmaster_pid()
        self.daemon.kill()
        self.assertEqual(psql(endpoint, "SELECT count(*) FROM orders"), "2", "postgres serves without annexd")
        self.daemon.start()
        self.assertEqual(self.describe()["DBInstanceStatus"], "available")
        self.assertEqual(self.postmaster_pid(), pid, "re-adopted, not restarted")
        psql(endpoint, "INSERT INTO orders VALUES (3, 'plum')")
        # Archiving goes on into the new annexd's S3 (its TLS listener has a new port). An archive-push
        # that ran before the reconciler rewrote pgBackRest's configuration failed; postgres's archiver
        # tries again a minute later, hence the longer wait.
        segment = psql(endpoint, "SELECT pg_walfile_name(pg_switch_wal())")
        wait_for(f"WAL segment {segment} archived after the restart",
                 lambda: psql(endpoint, "SELECT last_archived_wal FROM pg_stat_archiver") >= segment, 150)

    def test_6b_simulated_reboot_brings_the_instance_back(self):
        """A reboot, as far as one machine can show it: annexd and postgres killed, the volume unmounted and its loop
        device gone; annexd started again brings the instance back to available with its data."""
        db = self.describe()
        self.daemon.kill()
        kill_workloads(self.daemon.data_dir)
        volume = Path(self.daemon.data_dir) / "database" / "instances" / db["DbiResourceId"] / "volume"
        wait_for("postgres gone", lambda: subprocess.run(["umount", str(volume)], capture_output=True).returncode == 0,
                 10)
        image = volume.parent / "volume.img"
        for dev in subprocess.run(["losetup", "-j", str(image), "-O", "NAME", "-n"], capture_output=True,
                                  text=True).stdout.split():
            subprocess.run(["losetup", "-d", dev], check=True)
        self.assertFalse(os.path.ismount(volume))
        self.daemon.start()
        self.wait_status("available")
        self.assertTrue(os.path.ismount(volume))
        self.assertEqual(psql(db["Endpoint"], "SELECT count(*) FROM orders"), "3")

    def test_7_other_account_and_unprivileged_user(self):
        other = self.daemon.create_account(f"other-{os.urandom(3).hex()}")
        theirs = self.rds(other["AccessKeyId"], other["SecretAccessKey"])
        self.assertEqual(theirs.describe_db_instances()["DBInstances"], [])
        self.assertRefused(theirs.describe_db_instances, "DBInstanceNotFound", DBInstanceIdentifier=self.instance)
        self.assertRefused(theirs.delete_db_instance, "DBInstanceNotFound", DBInstanceIdentifier=self.instance,
                           SkipFinalSnapshot=True)
        import boto3 as b3
        iam = b3.session.Session().client("iam", endpoint_url=self.daemon.endpoint, region_name=REGION,
                                          aws_access_key_id=self.daemon.access_key,
                                          aws_secret_access_key=self.daemon.secret_key)
        iam.create_user(UserName="reader")
        iam.put_user_policy(UserName="reader", PolicyName="describe", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "rds:DescribeDBInstances", "Resource": "*"}]}))
        key = iam.create_access_key(UserName="reader")["AccessKey"]
        reader = self.rds(key["AccessKeyId"], key["SecretAccessKey"])
        wait_for("the reader's key", lambda: reader.describe_db_instances()["DBInstances"], 10)
        self.assertRefused(reader.delete_db_instance, "AccessDenied", DBInstanceIdentifier=self.instance,
                           SkipFinalSnapshot=True)
        self.assertEqual(self.describe()["DBInstanceStatus"], "available")

    def test_8_delete(self):
        rds = self.rds()
        db = self.describe()
        deleted = rds.delete_db_instance(DBInstanceIdentifier=self.instance, SkipFinalSnapshot=True)["DBInstance"]
        self.assertEqual(deleted["DBInstanceStatus"], "deleting")
        self.assertRefused(rds.delete_db_instance, "InvalidDBInstanceState", DBInstanceIdentifier=self.instance,
                           SkipFinalSnapshot=True)
        wait_for("the instance gone", lambda: not rds.describe_db_instances()["DBInstances"], 2 * TIMEOUT)
        self.assertIn("Connection refused", psql(db["Endpoint"], "SELECT 1", check=False))
        self.assertFalse((Path(self.daemon.data_dir) / "database" / "instances" / db["DbiResourceId"]).exists())


if __name__ == "__main__":
    harness.main()
