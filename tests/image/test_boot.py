"""Boot tests: images built from the freshly compiled binaries run in qemu.

DirectKernelBootTest  boots the kernel and initramfs straight from qemu (the
                      fast path) with a static address from kernel
                      parameters, on a disk larger than the image, and uses
                      the appliance with boto3 through a forwarded port, over
                      plain HTTP and over HTTPS with the CA it generated
                      (checked against the fingerprint on the console).
                      The ECS task runtime is there: health has no
                      workload notes, and from the maintenance console
                      crun, runc, ip and nft run, a network namespace is
                      made and removed, and crun runs a container.
                      The RDS database service can run instances: a
                      db.t3.micro made with the RDS API gets to available,
                      pg_isready reaches it through a forwarded port, and
                      psql in the guest logs in and writes.
UefiUpdateTest        boots through OVMF and systemd-boot (the real firmware
                      path with boot counting): A runs 1.0.0; the running
                      system installs 1.1.0 (a second disk) into B from its
                      maintenance console, reboots into it and blesses it;
                      a broken 1.2.0 installed offline (its
                      annexd never gets healthy) goes into A, fails three
                      boots, and the machine comes back on B by itself. An
                      object written before the updates survives all of it.
"""

import hashlib
import os
import re
import socket
import ssl
import urllib.request
import warnings
from pathlib import Path
import stat
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from image_fixture import ROOT_KEY, ROOT_SECRET, Qemu, Workspace, qemu_missing  # noqa: E402

try:
    import boto3
    from botocore.config import Config
except ImportError:  # pragma: no cover
    boto3 = None


def s3(endpoint, verify=None):
    return boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=ROOT_KEY, aws_secret_access_key=ROOT_SECRET,
                        region_name="us-east-1", verify=verify,
                        config=Config(retries={"max_attempts": 2}, connect_timeout=10, read_timeout=60))


# Typed into the maintenance shell: the tools annexd runs for ECS tasks, a
# network namespace, a container run by crun from a busybox bundle, annexd's
# nft table, and what annexd logged about its OCI runtime. Paths are absolute: busybox sh runs its
# own ip applet before anything on PATH.
GUEST_CONTAINERS_CHECK = r"""for t in /usr/bin/crun /usr/sbin/runc /usr/sbin/ip /usr/sbin/nft; do
  case $t in *ip) v=-V ;; *) v=--version ;; esac
  echo "TOOL-$((6 * 7)) $t: $($t $v 2>&1 | tr '\n' ' ')"
done
/usr/sbin/ip netns add annex-boot-check && /usr/sbin/ip netns del annex-boot-check && echo "NETNS-$((6 * 7)) created and deleted"
mkdir -p /tmp/ct/rootfs/bin && cp /bin/busybox /tmp/ct/rootfs/bin/
(cd /tmp/ct && /usr/bin/crun spec && sed -i -e 's/"terminal": true/"terminal": false/' -e 's|^\([[:space:]]*\)"sh"$|\1"/bin/busybox", "sh", "-c", "echo CONTAINER-$((6 * 7)) ran in $(cat /proc/self/cgroup)"|' config.json)
/usr/bin/crun run --bundle /tmp/ct annex-boot-check 2>&1
echo "NFT-$((6 * 7)) $(/usr/sbin/nft list tables 2>&1 | tr '\n' ' ')"
echo "LOG-$((6 * 7)) $(grep -c 'tasks unavailable' /data/annex/log/annexd.log) $(grep -o 'OCI runtime.*' /data/annex/log/annexd.log | head -1)"
echo "CONTAINERS-CHECKED-$((6 * 7))"
"""


# The RDS instance the direct boot makes: on PostgreSQL's own port, which
# qemu forwards, so the host reaches it as a client on the network would.
DB_PORT = 5432
DB_PASSWORD = "boot-Secret_42"

# Typed into the maintenance shell once the instance is available: psql logs
# in over TCP with the master password and writes; the volume is an ext4 on
# a loop device; postgres runs as its own user; the server's time zone and
# collation come from the image's tzdata and glibc's C.UTF-8.
GUEST_DATABASE_CHECK = r"""P=/usr/lib/postgresql/15/bin
export PGPASSWORD='""" + DB_PASSWORD + r"""' PGCONNECT_TIMEOUT=10
echo "PSQL-$((6 * 7)) $($P/psql -X -q -A -t -v ON_ERROR_STOP=1 -h 127.0.0.1 -p """ + str(DB_PORT) + r""" -U master -d app \
  -c "CREATE TABLE boot (n int)" -c "INSERT INTO boot VALUES (40), (2)" \
  -c "SELECT current_user, current_database(), sum(n), current_setting('server_version'), datcollate,
             (now() AT TIME ZONE 'Europe/Berlin') IS NOT NULL FROM boot, pg_database WHERE datname = 'app' GROUP BY datcollate" 2>&1 | tr '\n' ' ')"
pgdata=$(ls -d /data/annex/database/instances/*/volume/pgdata)
echo "VOLUME-$((6 * 7)) $(awk -v d="${pgdata%/pgdata}" '$2 == d { print $1, $3 }' /proc/mounts)"
echo "OWNER-$((6 * 7)) $(stat -c %U "/proc/$(head -1 "$pgdata/postmaster.pid")")"
echo "DATABASE-CHECKED-$((6 * 7))"
"""


def wait_ready(vm, timeout):
    """annexd answers its health check through the forwarded port."""
    import urllib.request
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(vm.endpoint + "/_annex/health", timeout=3) as r:
                if r.status == 200:
                    return time.time()
        except OSError:
            pass
        if vm.proc.poll() is not None:
            raise AssertionError("qemu exited; console:\n" + vm.tail())
        time.sleep(0.5)
    raise AssertionError(f"annexd not ready within {timeout} s; console:\n{vm.tail()}")


class BootTestCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # boto3's connection pool outlives the test's clients; not a leak of ours.
        warnings.simplefilter("ignore", ResourceWarning)
        missing = qemu_missing() or (None if boto3 else "python3-boto3 is not installed")
        if missing:
            raise unittest.SkipTest(missing)
        cls.ws = Workspace()
        cls.config = cls.ws.write_config()

    @classmethod
    def tearDownClass(cls):
        if os.environ.get("ANNEX_KEEP_TEST_DIR"):
            print("kept", cls.ws.dir)
        else:
            cls.ws.cleanup()

    def boot(self, disk, name, **kw):
        vm = Qemu(disk, self.ws.dir / f"{name}.console", **kw)
        self.addCleanup(vm.stop)
        return vm


class DirectKernelBootTest(BootTestCase):
    def test_boots_grows_data_and_serves_s3(self):
        image = self.ws.build("direct.img", "1.0.0", config=self.config)
        disk = self.ws.copy_image(image, "direct-disk.img")
        # A server's disk is bigger than the image: first boot grows annex-data,
        # to more than the 20 GiB an RDS instance promises (sparse: the host
        # stores only what the guest writes).
        os.truncate(disk, 24 << 30)
        boot = self.ws.extract_boot_files(image)
        started = time.time()
        # Kernel parameters override the first-boot file: a static address
        # (the one qemu forwards to) instead of DHCP, and another site name.
        cmdline = ("annex.slot=a annex.network=static annex.address=10.0.2.15/24 annex.gateway=10.0.2.2 "
                   "annex.site=lab-2")
        vm = self.boot(disk, "direct", kernel=boot["vmlinuz"], initrd=boot["initrd.img"], cmdline=cmdline,
                       forward=(DB_PORT,))
        ready = wait_ready(vm, 240)
        print(f"direct kernel boot to ready: {ready - started:.1f} s", file=sys.stderr)
        vm.wait_for(r"annex-init: data partition: grown to (\d+) MiB", 30)
        vm.wait_for(r"Annex 1\.0\.0 on slot a serves HTTPS on ports 443 and 4567, HTTP on port 4566", 30)
        self.assertIn("site lab-2", vm.console())
        self.assertIn("eth0 10.0.2.15/24 (static)", vm.console())
        # init mounted cgroup v2 for workloads, and annexd found it.
        with urllib.request.urlopen(vm.endpoint + "/_annex/health", timeout=10) as r:
            health = r.read().decode()
        self.assertRegex(health, r"(?m)^cgroups v2: v2 at /sys/fs/cgroup \(.*memory.*\)$", health)
        self.assertNotIn("by DHCP", vm.console())

        client = s3(vm.endpoint)
        client.create_bucket(Bucket="boot-test")
        body = os.urandom(300_000)
        client.put_object(Bucket="boot-test", Key="dir/object.bin", Body=body)
        self.assertEqual(client.get_object(Bucket="boot-test", Key="dir/object.bin")["Body"].read(), body)
        listed = client.list_objects_v2(Bucket="boot-test")["Contents"]
        self.assertEqual([o["Key"] for o in listed], ["dir/object.bin"])
        # Credentials come from the first-boot config: others are refused.
        bad = boto3.client("s3", endpoint_url=vm.endpoint, aws_access_key_id="AKIAWRONGWRONGWRONG1",
                           aws_secret_access_key="x" * 40, region_name="us-east-1")
        with self.assertRaises(Exception) as ctx:
            bad.list_buckets()
        self.assertIn("InvalidAccessKeyId", str(ctx.exception))
        self.check_https(vm, body)
        # The data filesystem spans the grown partition, not the image's.
        size = int(vm.wait_for(r"grown to (\d+) MiB", 1).group(1))
        self.assertGreater(size, 1000)
        self.check_containers(vm, health)
        self.check_database(vm, health)

    def check_containers(self, vm, health):
        """ECS tasks can run here: the workload supervisor and network came
        up (health), annexd chose crun, and in the guest the runtimes and
        iproute2/nftables run, a network namespace comes and goes, and crun
        runs a container (busybox, in a cgroup of its own)."""
        self.assertRegex(health, r"(?m)^ecs ready$", health)
        for note in ("workloads unavailable", "workload network unavailable", "cannot run tasks"):
            self.assertNotIn(note, health)
        started = time.time()
        vm.wait_for(r"maintenance shell on the console", 60)
        # Markers are computed by the guest's shell ($((6 * 7))), so the
        # console's echo of what is typed never matches them.
        vm.type("\ncat > /tmp/containers-check.sh <<'ANNEX_EOF'\n" + GUEST_CONTAINERS_CHECK + "ANNEX_EOF\n")
        vm.type("sh /tmp/containers-check.sh\n")
        done = vm.wait_for(r"CONTAINERS-CHECKED-42", 60)
        console = vm.console()[:done.start()]
        out = console[console.rfind("sh /tmp/containers-check.sh"):]  # what the script printed
        tools = dict(re.findall(r"TOOL-42 (\S+): (.*)", out))
        print(f"containers check in the guest: {time.time() - started:.1f} s; "
              + "; ".join(f"{t}: {v.strip()[:60]}" for t, v in sorted(tools.items())), file=sys.stderr)
        self.assertRegex(tools.get("/usr/bin/crun", ""), r"crun version \d", out)
        self.assertRegex(tools.get("/usr/sbin/runc", ""), r"runc version \d", out)
        self.assertRegex(tools.get("/usr/sbin/ip", ""), r"iproute2-\d", out)
        self.assertRegex(tools.get("/usr/sbin/nft", ""), r"nftables v\d", out)
        self.assertRegex(out, r"NETNS-42 created and deleted")
        # cgroup v2, in a cgroup namespace of its own.
        self.assertRegex(out, r"CONTAINER-42 ran in 0::/\s")
        # annexd's workload network wrote its NAT table (nat chains, fib, ct, masquerade).
        self.assertRegex(out, r"NFT-42 .*table ip annex_[0-9a-f]{8}")
        # annexd picked crun and never said tasks were unavailable.
        self.assertRegex(out, r"LOG-42 0 .*runtime=/usr/bin/crun")

    def check_database(self, vm, health):
        """RDS instances can run here: annexd found PostgreSQL 15, its user
        and setpriv (health says nothing of instances being unavailable); a
        db.t3.micro made with the RDS API gets to `available` (its 20 GiB
        volume made and loop-mounted, initdb, postgres supervised under its
        own user); pg_isready on the host reaches it through the forwarded
        port, and in the guest psql logs in with the master password and
        writes; the first backup is in the appliance's own S3."""
        self.assertRegex(health, r"(?m)^rds ready$", health)
        self.assertNotIn("cannot run DB instances", health)
        rds = boto3.client("rds", endpoint_url=vm.endpoint, aws_access_key_id=ROOT_KEY,
                           aws_secret_access_key=ROOT_SECRET, region_name="us-east-1",
                           config=Config(retries={"max_attempts": 2}, connect_timeout=10, read_timeout=60))
        started = time.time()
        created = rds.create_db_instance(DBInstanceIdentifier="boot-db", DBInstanceClass="db.t3.micro",
                                         Engine="postgres", MasterUsername="master", MasterUserPassword=DB_PASSWORD,
                                         AllocatedStorage=20, DBName="app", Port=DB_PORT)["DBInstance"]
        self.assertEqual(created["DBInstanceStatus"], "creating")
        seen, deadline = [], time.time() + 150
        while True:
            db = rds.describe_db_instances(DBInstanceIdentifier="boot-db")["DBInstances"][0]
            if not seen or seen[-1] != db["DBInstanceStatus"]:
                seen.append(db["DBInstanceStatus"])
            if db["DBInstanceStatus"] == "available":
                break
            if db["DBInstanceStatus"] == "failed" or time.time() > deadline:
                mark = len(vm.console())
                vm.type("\ngrep -i 'database\\|postgres' /data/annex/log/annexd.log | tail -15\n")
                time.sleep(3)
                self.fail(f"instance {db['DBInstanceStatus']} after {time.time() - started:.0f} s (statuses {seen});"
                          f" annexd's log:\n{vm.console()[mark:]}")
            time.sleep(1)
        available = time.time() - started
        # Backups are on by default (retention 1 day): the instance is backed up before it is available, by the
        # image's pgBackRest into the appliance's own S3 over its loopback TLS listener.
        self.assertEqual(seen, ["creating", "backing-up", "available"])
        s3 = boto3.client("s3", endpoint_url=vm.endpoint, aws_access_key_id=ROOT_KEY,
                          aws_secret_access_key=ROOT_SECRET, region_name="us-east-1")
        buckets = [b["Name"] for b in s3.list_buckets()["Buckets"] if b["Name"].startswith("annex-rds-backups-")]
        self.assertEqual(len(buckets), 1, buckets)
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=buckets[0], Prefix=db["DbiResourceId"] + "/backup/")
                .get("Contents", [])]
        self.assertTrue(keys, "the first backup's objects are in the bucket")
        self.assertEqual(db["Engine"], "postgres")
        self.assertRegex(db["EngineVersion"], r"^15\.\d+$")
        self.assertEqual(db["Endpoint"]["Port"], DB_PORT)
        self.assertEqual(db["AllocatedStorage"], 20)
        # From the host, through qemu's forward, as a client on the network.
        pg_isready = "/usr/lib/postgresql/15/bin/pg_isready"
        if os.path.exists(pg_isready):
            p = subprocess.run([pg_isready, "-h", "127.0.0.1", "-p", str(vm.forwarded[DB_PORT]), "-t", "20"],
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            self.assertIn("accepting connections", p.stdout)
        vm.type("\ncat > /tmp/database-check.sh <<'ANNEX_EOF'\n" + GUEST_DATABASE_CHECK + "ANNEX_EOF\n")
        vm.type("sh /tmp/database-check.sh\n")
        done = vm.wait_for(r"DATABASE-CHECKED-42", 60)
        console = vm.console()[:done.start()]
        out = console[console.rfind("sh /tmp/database-check.sh"):]
        print(f"RDS db.t3.micro created to available in {available:.1f} s, checked in {time.time() - started:.1f} s:"
              f" {re.search(r'PSQL-42 (.*)', out).group(1).strip()}", file=sys.stderr)
        # master in app, what was written, PostgreSQL 15, clusters in C.UTF-8, time zones known.
        self.assertRegex(out, r"PSQL-42 master\|app\|42\|15\.\d+ \(Debian [^)]*\)\|C\.UTF-8\|t\s", out)
        self.assertRegex(out, r"VOLUME-42 /dev/loop\d+ ext4", out)
        self.assertRegex(out, r"OWNER-42 postgres\s", out)

    def check_https(self, vm, body):
        """The CA, fetched over plain HTTP, is trusted only because its
        fingerprint matches the console's; then S3 over HTTPS with it."""
        fingerprint = vm.wait_for(r"CA certificate SHA-256 fingerprint: ([0-9A-F]{2}(?::[0-9A-F]{2}){31})", 30).group(1)
        with urllib.request.urlopen(vm.endpoint + "/_annex/ca.pem", timeout=10) as r:
            pem = r.read().decode()
        der = ssl.PEM_cert_to_DER_cert(pem)
        self.assertEqual(":".join(f"{b:02X}" for b in hashlib.sha256(der).digest()), fingerprint)
        ca = self.ws.dir / "direct-ca.pem"
        ca.write_text(pem)
        https = s3(f"https://localhost:{vm.tls_port}", verify=str(ca))
        self.assertEqual(https.get_object(Bucket="boot-test", Key="dir/object.bin")["Body"].read(), body)
        https.put_object(Bucket="boot-test", Key="over-https", Body=b"tls")
        self.assertEqual(s3(vm.endpoint).get_object(Bucket="boot-test", Key="over-https")["Body"].read(), b"tls")
        # The certificate names the appliance as the first-boot config and the
        # network describe it: hostname, static address, the S3 names.
        ctx = ssl.create_default_context(cafile=str(ca))
        with socket.create_connection(("127.0.0.1", vm.tls_port), timeout=10) as sock:
            with ctx.wrap_socket(sock, server_hostname="annex-test") as tls:
                names = tls.getpeercert()["subjectAltName"]
        for want in (("DNS", "annex-test"), ("IP Address", "10.0.2.15"), ("DNS", "*.s3.localhost")):
            self.assertIn(want, names)
        # Without the appliance CA, HTTPS is refused.
        with self.assertRaises(ssl.SSLError):
            with socket.create_connection(("127.0.0.1", vm.tls_port), timeout=10) as sock:
                ssl.create_default_context().wrap_socket(sock, server_hostname="localhost").close()


class UefiUpdateTest(BootTestCase):
    def test_update_then_rollback_from_a_broken_slot(self):
        v1 = self.ws.build("v1.0.0.img", "1.0.0", config=self.config)
        v11 = self.ws.build("v1.1.0.img", "1.1.0")
        broken_annexd = self.ws.dir / "broken-annexd"
        broken_annexd.write_text("#!/bin/sh\n# never becomes healthy\nexec sleep 100000\n")
        broken_annexd.chmod(broken_annexd.stat().st_mode | stat.S_IEXEC)
        v12 = self.ws.build("v1.2.0-broken.img", "1.2.0", annexd=broken_annexd)

        disk = self.ws.dir / "server-disk.img"
        self.ws.run("flash", str(v1), str(disk), "--pubkey", str(self.ws.keys / "signing.pub"))

        # 1.0.0 on slot A, through OVMF and systemd-boot; the 1.1.0 bundle
        # rides along as a second disk.
        started = time.time()
        vm = self.boot(disk, "uefi-1", uefi=True, extra_disk=v11)
        ready = wait_ready(vm, 300)
        print(f"UEFI boot to ready: {ready - started:.1f} s", file=sys.stderr)
        vm.wait_for(r"Annex 1\.0\.0 on slot a serves", 30)
        client = s3(vm.endpoint)
        client.create_bucket(Bucket="survivor")
        client.put_object(Bucket="survivor", Key="k", Body=b"written on 1.0.0")

        # Update the running system from its console: into B, 3 tries.
        vm.wait_for(r"maintenance shell on the console", 60)
        manifest = Path(f"{v11}.manifest").read_text()
        signature = Path(f"{v11}.manifest.sig").read_text().strip()
        vm.type("\ncat > /tmp/b.manifest <<'ANNEX_EOF'\n" + manifest + "ANNEX_EOF\n")
        vm.type(f"echo '{signature}' > /tmp/b.manifest.sig\n")
        vm.type("annex-image update /dev/vdb --manifest /tmp/b.manifest --target running -q"
                " && echo UPDATE-DONE-$((6 * 7))\n")
        vm.wait_for(r"into slot b as annex-2-b\+3\.conf", 180)
        mark = vm.wait_for(r"UPDATE-DONE-42", 30)
        vm.type("sync; reboot -f\n")
        vm.wait_for(r"Annex 1\.1\.0 on slot b serves", 300, start=mark.end())
        vm.wait_for(r"blessed annex-2-b\.conf after 1 tries", 30, start=mark.end())
        wait_ready(vm, 60)
        self.assertEqual(s3(vm.endpoint).get_object(Bucket="survivor", Key="k")["Body"].read(), b"written on 1.0.0")
        vm.stop()
        self.assertIn("annex-2-b.conf  slot b  good  <- boots next", self.ws.status(disk))

        # A broken 1.2.0 goes into A (the slot not running); it never gets
        # healthy, reboots, and after 3 tries systemd-boot picks B again.
        out = self.ws.run("update", str(v12), "--target", str(disk)).stdout
        self.assertIn("into slot a as annex-3-a+3.conf", out)
        vm = self.boot(disk, "uefi-3", uefi=True)
        for attempt in range(3):
            vm.wait_for(r"Annex 1\.2\.0, slot a", 300, start=0 if attempt == 0 else last.end())
            last = vm.wait_for(r"annexd not healthy after \d+ s on slot a", 300,
                               start=0 if attempt == 0 else last.end())
        back = vm.wait_for(r"Annex 1\.1\.0 on slot b serves", 300, start=last.end())
        self.assertEqual(vm.console().count("Annex 1.2.0, slot a"), 3, "the broken slot is tried exactly 3 times")
        vm.wait_for(r"rolled back: annex-3-a\+0-3\.conf failed 3 boots", 30, start=back.start())
        wait_ready(vm, 60)
        self.assertEqual(s3(vm.endpoint).get_object(Bucket="survivor", Key="k")["Body"].read(), b"written on 1.0.0")
        vm.stop()
        status = self.ws.status(disk)
        self.assertIn("annex-3-a+0-3.conf  slot a  failed", status)
        self.assertIn("annex-2-b.conf  slot b  good  <- boots next", status)


if __name__ == "__main__":
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    import unittest_main
    unittest_main.run()
