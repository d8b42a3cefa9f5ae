#!/usr/bin/python3
"""annexd as a process: health, metrics, credentials, restarts, shutdown, locking, TLS."""

import concurrent.futures
import hashlib
import http.client
import os
import re
import socket
import ssl
import stat
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import AWS_CLI, AnnexTestCase, Daemon, have, random_bucket  # noqa: E402


def parse_metrics(text):
    """{(name, frozenset(labels.items())): value} from Prometheus text."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)$', line)
        if not m:
            raise AssertionError(f"not a Prometheus sample line: {line!r}")
        labels = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        out[(m.group(1), frozenset(labels.items()))] = float(m.group(4))
    return out


def gauges(text):
    """{name: value} of the unlabelled gauges (e.g. objects and bytes stored)."""
    names = set(re.findall(r"^# TYPE (\S+) gauge$", text, re.M))
    return {n: v for (n, ls), v in parse_metrics(text).items() if n in names and not ls}


def stored(text):
    """(objects gauge, bytes gauge) of what the object store holds."""
    g = {n: v for n, v in gauges(text).items() if n.startswith("annex_objectstore_")}
    objects = [v for n, v in g.items() if "object" in n and "byte" not in n]
    nbytes = [v for n, v in g.items() if "byte" in n]
    if len(objects) != 1 or len(nbytes) != 1:
        raise AssertionError(f"want one gauge of stored objects and one of stored bytes, got {g}")
    return objects[0], nbytes[0]


def samples(metrics, name, **labels):
    return [v for (n, ls), v in metrics.items() if n == name and set(labels.items()) <= set(ls)]


class DaemonTest(AnnexTestCase):

    def test_health(self):
        status, headers, body = harness.http_request("GET", self.daemon.endpoint + "/_annex/health")
        self.assertEqual(status, 200)
        lines = body.decode().splitlines()
        self.assertEqual(lines[0], "ok")
        # "<name> ready[ <detail>]": a detail says what a ready service cannot do here (rds: run instances when the
        # postgres user cannot reach this test's private work dir).
        services = sorted(" ".join(line.split(" ")[:2]) for line in lines[1:] if not line.startswith("cgroups "))
        self.assertEqual(services, ["annex ready", "ecr ready", "ecs ready", "iam ready", "logs ready", "rds ready",
                                    "s3 ready", "sts ready"])
        cgroups = [line for line in lines if line.startswith("cgroups ")]
        self.assertEqual(len(cgroups), 1, lines)
        self.assertRegex(cgroups[0], r"^cgroups (none|v1|hybrid|v2)")
        status = self.daemon.annexctl("status")
        self.assertIn("  s3 ready", status.stdout)
        self.assertIn("  cgroups ", status.stdout)

    def test_request_ids(self):
        ids = set()
        for path in ("/", f"/{random_bucket('nope')}"):
            status, headers, body = self.daemon.signed("GET", path)
            rid = headers.get("x-amz-request-id")
            self.assertTrue(rid, headers)
            ids.add(rid)
            if status >= 400:
                self.assertIn(f"<RequestId>{rid}</RequestId>".encode(), body)
        self.assertEqual(len(ids), 2, "request ids must differ")

    def test_metrics(self):
        # Other tests share this daemon: compare against counts taken now.
        m0 = parse_metrics(self.daemon.metrics())
        puts0 = sum(samples(m0, "annex_requests_total", service="s3", operation="PutObject", status="200"))
        stored0 = stored(self.daemon.metrics())
        bucket = random_bucket("metrics")
        self.assertEqual(self.daemon.signed("PUT", f"/{bucket}")[0], 200)
        sizes = [0, 1000, 100 * 1024]
        for i, n in enumerate(sizes):
            self.assertEqual(self.daemon.signed("PUT", f"/{bucket}/o{i}", body=os.urandom(n))[0], 200)
        self.assertEqual(self.daemon.signed("GET", f"/{bucket}/o2")[0], 200)
        self.assertEqual(self.daemon.signed("GET", f"/{bucket}/missing")[0], 404)

        text = self.daemon.metrics()
        m = parse_metrics(text)
        puts = samples(m, "annex_requests_total", service="s3", operation="PutObject", status="200")
        self.assertEqual(sum(puts) - puts0, 3, text)
        self.assertGreaterEqual(sum(samples(m, "annex_requests_total", service="s3", operation="GetObject",
                                            status="404")), 1, text)
        self.assertGreaterEqual(sum(samples(m, "annex_requests_total", service="s3", operation="CreateBucket",
                                            status="200")), 1, text)
        self.assertTrue(samples(m, "annex_request_duration_seconds_bucket", service="s3", operation="PutObject"),
                        "latency histogram by operation")
        self.assertGreaterEqual(sum(samples(m, "annex_bytes_received_total", service="s3")), sum(sizes))
        self.assertGreaterEqual(sum(samples(m, "annex_bytes_sent_total", service="s3")), 100 * 1024)
        # Gauges of what is stored follow the PUTs and DELETEs.
        objects0, bytes0 = stored0
        objects1, bytes1 = stored(text)
        self.assertEqual((objects1 - objects0, bytes1 - bytes0), (3, sum(sizes)), text)
        self.assertEqual(self.daemon.signed("DELETE", f"/{bucket}/o2")[0], 204)
        objects2, bytes2 = stored(self.daemon.metrics())
        self.assertEqual((objects2 - objects0, bytes2 - bytes0), (2, sum(sizes) - sizes[2]))

    def test_memory_stays_bounded_for_large_objects(self):
        """A 256 MiB PUT and GET stream through annexd: its peak RSS grows far less than the object."""
        def peak_rss_mib():
            with open(f"/proc/{self.daemon.proc.pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) / 1024
            self.skipTest("no VmHWM in /proc")

        with open(f"/proc/{self.daemon.proc.pid}/maps") as f:
            if "libasan" in f.read():
                self.skipTest("annexd is built with AddressSanitizer: its RSS says nothing about annexd's own")
        bucket = random_bucket("mem")
        self.assertEqual(self.daemon.signed("PUT", f"/{bucket}")[0], 200)
        before = peak_rss_mib()
        size, chunk = 256 * 1024 * 1024, os.urandom(1024 * 1024)
        path = f"/{bucket}/big"
        h = harness.sign_headers("PUT", f"127.0.0.1:{self.daemon.port}", path, None,
                                 {"content-length": str(size)}, "UNSIGNED-PAYLOAD", *self.daemon.creds())
        conn = http.client.HTTPConnection("127.0.0.1", self.daemon.port, timeout=120)
        conn.putrequest("PUT", path, skip_host=True, skip_accept_encoding=True)
        for k, v in h.items():
            conn.putheader(k, v)
        conn.endheaders()
        md5 = hashlib.md5()
        for i in range(size // len(chunk)):
            piece = bytes([i & 0xFF]) + chunk[1:]
            md5.update(piece)
            conn.send(piece)
        r = conn.getresponse()
        self.assertEqual(r.status, 200, r.read())
        self.assertEqual(r.getheader("ETag"), f'"{md5.hexdigest()}"')
        r.read()
        h = harness.sign_headers("GET", f"127.0.0.1:{self.daemon.port}", path, None, {},
                                 hashlib.sha256(b"").hexdigest(), *self.daemon.creds())
        conn.request("GET", path, headers=h)
        r = conn.getresponse()
        got = hashlib.md5()
        n = 0
        while True:
            piece = r.read(1 << 20)
            if not piece:
                break
            got.update(piece)
            n += len(piece)
            if n % (64 << 20) == 0:
                time.sleep(0.05)  # a slowish reader now and then
        conn.close()
        self.assertEqual((n, got.hexdigest()), (size, md5.hexdigest()))
        grown = peak_rss_mib() - before
        print(f"\n  annexd peak RSS {before:.0f} MiB -> {before + grown:.0f} MiB", file=sys.stderr)
        self.assertLess(before, 64, "an idle annexd should stay under 64 MiB")
        self.assertLess(grown, 64, f"peak RSS grew by {grown:.0f} MiB for a 256 MiB object")
        self.assertEqual(self.daemon.signed("DELETE", path)[0], 204)

    def test_pipelined_requests(self):
        bucket = random_bucket("pipe")
        self.daemon.signed("PUT", f"/{bucket}")
        for k in ("one", "two"):
            self.daemon.signed("PUT", f"/{bucket}/{k}", body=k.encode() * 3)
        host = f"127.0.0.1:{self.daemon.port}"
        wire = b""
        for k in ("one", "two", "missing", "one"):
            h = harness.sign_headers("GET", host, f"/{bucket}/{k}", None, {}, harness.hashlib.sha256(b"").hexdigest(),
                                     *self.daemon.creds())
            wire += (f"GET /{bucket}/{k} HTTP/1.1\r\n" + "".join(f"{a}: {b}\r\n" for a, b in h.items())
                     + "\r\n").encode()
        s = socket.create_connection(("127.0.0.1", self.daemon.port), timeout=10)
        s.sendall(wire)
        f = s.makefile("rb")
        got = []
        for _ in range(4):
            status = int(f.readline().split()[1])
            length = 0
            while True:
                line = f.readline().strip()
                if not line:
                    break
                k, _, v = line.partition(b":")
                if k.lower() == b"content-length":
                    length = int(v)
            got.append((status, f.read(length)))
        s.close()
        self.assertEqual([g[0] for g in got], [200, 200, 404, 200])
        self.assertEqual(got[0][1], b"oneoneone")
        self.assertEqual(got[1][1], b"twotwotwo")
        self.assertEqual(got[3][1], b"oneoneone")


class CredentialsAndRestartTest(unittest.TestCase):

    def tearDown(self):
        for d in getattr(self, "daemons", []):
            d.kill()

    def daemon(self, **kw):
        d = Daemon(**kw)
        self.daemons = getattr(self, "daemons", []) + [d]
        return d

    def test_generated_credentials_file_and_restart(self):
        d = self.daemon(root_env=False)
        d.start()
        cred = d.data_dir / "credentials"
        self.assertTrue(cred.is_file())
        self.assertEqual(stat.S_IMODE(cred.stat().st_mode), 0o600, "credentials must be private (0600)")
        text = cred.read_text()
        self.assertIn("[annex]", text)
        ak, sk = harness.read_credentials_file(cred, "annex")
        self.assertGreaterEqual(len(sk), 30)
        bucket = random_bucket("persist")
        self.assertEqual(d.signed("PUT", f"/{bucket}", creds=(ak, sk))[0], 200)
        data = os.urandom(200 * 1024)
        self.assertEqual(d.signed("PUT", f"/{bucket}/obj", body=data, creds=(ak, sk))[0], 200)
        self.assertEqual(d.signed("PUT", f"/{bucket}/small", body=b"tiny", creds=(ak, sk))[0], 200)

        before = stored(d.metrics())
        d.stop()
        d.start()
        self.assertEqual(cred.read_text(), text, "a restart must keep the root credentials")
        self.assertEqual(stored(d.metrics()), before, "the stored objects/bytes gauges survive a restart")
        status, _, body = d.signed("GET", f"/{bucket}/obj", creds=(ak, sk))
        self.assertEqual((status, body == data), (200, True))
        self.assertEqual(d.signed("GET", f"/{bucket}/small", creds=(ak, sk))[2], b"tiny")
        d.stop()

        # A fresh data dir gets different random credentials: there is no default secret.
        d2 = self.daemon(root_env=False)
        d2.start()
        ak2, sk2 = harness.read_credentials_file(d2.data_dir / "credentials", "annex")
        self.assertNotEqual(sk2, sk)
        self.assertEqual(d2.signed("GET", "/", creds=(ak, sk))[0], 403)
        d2.stop()

    def test_credentials_file_works_with_annexctl_and_awscli(self):
        d = self.daemon(root_env=False)
        d.start()
        p = subprocess.run([harness.annexctl_path(), "--endpoint", d.endpoint, "--data-dir", str(d.data_dir),
                            "accounts", "create", "from-file"], capture_output=True, text=True, timeout=60,
                           env={k: v for k, v in os.environ.items() if not k.startswith("ANNEX_")})
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("AccessKeyId", p.stdout)
        if have(AWS_CLI):
            env = d.client_env()
            del env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]
            env["AWS_SHARED_CREDENTIALS_FILE"] = str(d.data_dir / "credentials")
            env["AWS_PROFILE"] = "annex"
            p = subprocess.run([AWS_CLI, "--endpoint-url", d.endpoint, "s3", "mb", "s3://from-profile"], env=env,
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(p.returncode, 0, p.stderr)
        d.stop()

    def test_sigterm_exits_promptly_with_idle_connections(self):
        d = self.daemon()
        d.start()
        idle = [socket.create_connection(("127.0.0.1", d.port)) for _ in range(3)]
        # One keep-alive connection that has served a request.
        idle[0].sendall(b"GET /_annex/health HTTP/1.1\r\nHost: x\r\n\r\n")
        idle[0].recv(4096)
        took = d.stop(timeout=10)
        self.assertLess(took, 5.0, "SIGTERM with idle connections must exit promptly")
        for s in idle:
            s.close()

    def test_sigterm_drains_a_slow_upload(self):
        d = self.daemon()
        d.start()
        bucket = random_bucket("drain")
        self.assertEqual(d.signed("PUT", f"/{bucket}")[0], 200)
        data = os.urandom(64 * 1024)
        head = harness.sign_headers("PUT", f"127.0.0.1:{d.port}", f"/{bucket}/slow", None,
                                    {"content-length": str(len(data))}, "UNSIGNED-PAYLOAD", *d.creds())
        s = socket.create_connection(("127.0.0.1", d.port), timeout=20)
        s.sendall((f"PUT /{bucket}/slow HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in head.items())
                   + "\r\n").encode())
        result = {}

        def upload():
            for i in range(0, len(data), 4096):
                s.sendall(data[i:i + 4096])
                time.sleep(0.1)  # ~1.6 s in all
            result["response"] = s.recv(4096)

        t = threading.Thread(target=upload)
        t.start()
        time.sleep(0.4)
        t0 = time.monotonic()
        d.proc.send_signal(harness.signal.SIGTERM)
        t.join(30)
        code = d.proc.wait(30)
        took = time.monotonic() - t0
        s.close()
        self.assertEqual(code, 0, d.log_tail())
        self.assertLess(took, 10)
        self.assertTrue(result.get("response", b"").startswith(b"HTTP/1.1 200"),
                        f"the in-flight upload was not completed: {result.get('response')!r}")
        d.start()
        self.assertEqual(d.signed("GET", f"/{bucket}/slow")[2], data)
        d.stop()

    def test_second_instance_on_same_data_dir_refuses(self):
        d = self.daemon()
        d.start()
        other = self.daemon(data_dir=d.data_dir)
        other.port = harness.free_port()
        with open(other.log_path, "ab") as log:
            p = subprocess.run(other.command(), env=other.daemon_env(), stdout=log, stderr=subprocess.STDOUT,
                               timeout=20)
        self.assertNotEqual(p.returncode, 0, "a second annexd on the same data dir must refuse to start")
        self.assertIn("another annexd", other.log_path.read_text())
        status, _, _ = harness.http_request("GET", d.endpoint + "/_annex/health")
        self.assertEqual(status, 200)
        d.stop()

    def test_bad_flags_fail_fast(self):
        d = self.daemon()
        d.port = harness.free_port()
        p = subprocess.run([harness.annexd_path(), "--data-dir", str(d.data_dir), "--listen", "127.0.0.1:notaport"],
                           capture_output=True, text=True, timeout=20, env=d.daemon_env())
        self.assertNotEqual(p.returncode, 0)
        p = subprocess.run([harness.annexd_path(), "--no-such-flag"], capture_output=True, text=True, timeout=20)
        self.assertNotEqual(p.returncode, 0)
        # A port already taken is reported, not ignored.
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen(1)
            port = taken.getsockname()[1]
            p = subprocess.run([harness.annexd_path(), "--data-dir", str(d.data_dir), "--listen",
                                f"127.0.0.1:{port}"], capture_output=True, text=True, timeout=20,
                               env=d.daemon_env())
            self.assertNotEqual(p.returncode, 0)

    def small_disk(self, size):
        """A tmpfs of `size` (e.g. "40m") to fill, unmounted at cleanup; skips unless root."""
        mnt = Path(tempfile.mkdtemp(prefix="annex-full-"))
        p = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mnt)], capture_output=True,
                           text=True)
        if p.returncode != 0:
            os.rmdir(mnt)
            self.skipTest(f"cannot mount a small tmpfs to fill (needs root): {p.stderr.strip()}")
        self.addCleanup(lambda: (subprocess.run(["umount", "-l", str(mnt)]), os.rmdir(mnt)))
        return mnt

    def test_disk_full(self):
        """On a full disk a PUT gets an S3 error, nothing half-written stays, and space comes back."""
        mnt = self.small_disk("40m")
        d = self.daemon(data_dir=mnt / "data")
        d.start()
        self.addCleanup(d.kill)
        bucket = random_bucket("full")
        self.assertEqual(d.signed("PUT", f"/{bucket}")[0], 200)
        first = os.urandom(12 * 1024 * 1024)
        status, _, body = d.signed("PUT", f"/{bucket}/first", body=first)
        self.assertEqual(status, 200, body)
        big = os.urandom(40 * 1024 * 1024)
        for attempt in ("signed", "unsigned"):
            status, headers, body = d.signed("PUT", f"/{bucket}/too-big", body=big,
                                             payload_hash=None if attempt == "signed" else "UNSIGNED-PAYLOAD")
            self.assertGreaterEqual(status, 400, f"{attempt}: a PUT that cannot fit must fail")
            self.assertIsNotNone(harness.error_code(body), f"{attempt}: S3 error body expected, got {body[:300]!r}")
        self.assertEqual(d.signed("HEAD", f"/{bucket}/too-big")[0], 404)
        self.assertEqual(d.signed("GET", f"/{bucket}/first")[2], first)
        status, _, body = d.signed("GET", f"/{bucket}", query={"list-type": "2"})
        self.assertEqual(harness.xml_findall_text(body, "Key"), ["first"])
        tmp = d.data_dir / "objectstore" / "tmp"
        deadline = time.monotonic() + 10
        while os.listdir(tmp) and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertEqual(os.listdir(tmp), [], "partial temp files left on the full disk")
        # Deleting frees the space again.
        self.assertEqual(d.signed("DELETE", f"/{bucket}/first")[0], 204)
        second = os.urandom(20 * 1024 * 1024)
        status, _, body = d.signed("PUT", f"/{bucket}/second", body=second)
        self.assertEqual(status, 200, body)
        self.assertEqual(d.signed("GET", f"/{bucket}/second")[2], second)
        d.stop()

    def test_disk_full_small_and_large_objects(self):
        """A full disk answers 507 InsufficientStorage for small objects (kept in LMDB, whose short
        writes fail as EIO) just as for large ones (data files), never 500; deleting frees it again."""
        mnt = self.small_disk("8m")
        d = self.daemon(data_dir=mnt / "data")
        d.start()
        self.addCleanup(d.kill)
        bucket = random_bucket("full")
        self.assertEqual(d.signed("PUT", f"/{bucket}")[0], 200)
        fillers = []
        while True:
            status, _, body = d.signed("PUT", f"/{bucket}/filler{len(fillers)}", body=os.urandom(1024 * 1024))
            if status != 200:
                self.assertEqual((status, harness.error_code(body)), (507, "InsufficientStorage"), body[:300])
                break
            fillers.append(f"filler{len(fillers)}")
            self.assertLess(len(fillers), 16, "an 8 MiB disk never filled up")
        # Small objects of assorted sizes, concurrently so that commits batch several pages: the disk
        # runs out part-way through LMDB's page writes, which LMDB reports as EIO.
        def put_small(i):
            status, _, body = d.signed("PUT", f"/{bucket}/small{i}", body=os.urandom(100 + (i * 37) % 900))
            return i, status, harness.error_code(body)
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            results = list(pool.map(put_small, range(3000)))
        outcomes = {(status, code) for _, status, code in results}
        self.assertLessEqual(outcomes, {(200, None), (507, "InsufficientStorage")})
        self.assertIn((507, "InsufficientStorage"), outcomes, "the small objects never filled the disk")
        stored = {f"small{i}" for i, status, _ in results if status == 200}
        # What succeeded is there; what failed is not.
        for i, status, _ in results[::50]:
            self.assertEqual(d.signed("HEAD", f"/{bucket}/small{i}")[0], 200 if status == 200 else 404)
        self.assertEqual(d.signed("PUT", f"/{bucket}/big", body=os.urandom(2 * 1024 * 1024))[0], 507)
        # Deleting frees the space for both kinds again.
        for key in fillers:
            self.assertEqual(d.signed("DELETE", f"/{bucket}/{key}")[0], 204)
        self.assertEqual(d.signed("PUT", f"/{bucket}/small-after", body=b"s" * 500)[0], 200)
        big = os.urandom(2 * 1024 * 1024)
        self.assertEqual(d.signed("PUT", f"/{bucket}/big", body=big)[0], 200)
        self.assertEqual(d.signed("GET", f"/{bucket}/big")[2], big)
        keys, token = set(), None
        while True:
            query = {"list-type": "2", **({"continuation-token": token} if token else {})}
            status, _, body = d.signed("GET", f"/{bucket}", query=query)
            self.assertEqual(status, 200, body[:300])
            keys.update(harness.xml_findall_text(body, "Key"))
            token = (harness.xml_findall_text(body, "NextContinuationToken") or [None])[0]
            if not token:
                break
        self.assertEqual(keys, stored | {"small-after", "big"})
        d.stop()

    def test_tls_listener(self):
        d = self.daemon(tls=True)
        d.start()
        ca = d.data_dir / "tls" / "ca.pem"
        self.assertTrue(ca.is_file(), "the appliance CA is written to DIR/tls/ca.pem")
        ctx = ssl.create_default_context(cafile=str(ca))
        for host in ("localhost", "127.0.0.1"):
            status, _, _ = harness.http_request("GET", f"https://{host}:{d.tls_port}/_annex/health", context=ctx)
            self.assertEqual(status, 200, host)
        # Without the appliance CA the certificate is not trusted.
        with self.assertRaises(ssl.SSLError):
            harness.http_request("GET", f"https://localhost:{d.tls_port}/_annex/health",
                                 context=ssl.create_default_context())
        bucket = random_bucket("tls")
        # Bodies of several TLS records (a record holds at most 16 KiB), both ways.
        https = f"https://localhost:{d.tls_port}"
        self.assertEqual(d.signed("PUT", f"/{bucket}")[0], 200)
        for size in (100, 16 * 1024 + 1, 1024 * 1024):
            data = os.urandom(size)
            put = harness.presign_url(https, "PUT", f"/{bucket}/o{size}", d.access_key, d.secret_key)
            status, _, body = harness.http_request("PUT", put, body=data, context=ctx, timeout=10)
            self.assertEqual(status, 200, f"TLS PUT of {size} bytes: {body[:200]!r}")
            get = harness.presign_url(https, "GET", f"/{bucket}/o{size}", d.access_key, d.secret_key)
            try:
                status, _, body = harness.http_request("GET", get, context=ctx, timeout=10)
            except TimeoutError:
                self.fail(f"TLS GET of a {size}-byte object: the body never arrived (timed out)")
            self.assertEqual((status, len(body), body == data), (200, size, True), f"TLS GET of {size} bytes")
        bucket = random_bucket("tls")
        if have(AWS_CLI):
            env = d.client_env()
            for args in (["s3", "mb", f"s3://{bucket}"], ["s3", "ls"]):
                p = subprocess.run([AWS_CLI, "--endpoint-url", d.tls_endpoint, "--ca-bundle", str(ca), *args],
                                   env=env, capture_output=True, text=True, timeout=60)
                self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn(bucket, p.stdout)
        try:
            import boto3
        except ImportError:
            boto3 = None
        if boto3 is not None:
            s3 = boto3.session.Session().client(
                "s3", endpoint_url=d.tls_endpoint, region_name="us-east-1", aws_access_key_id=d.access_key,
                aws_secret_access_key=d.secret_key, verify=str(ca),
                config=__import__("botocore.config").config.Config(read_timeout=15, retries={"max_attempts": 1}))
            s3.create_bucket(Bucket=bucket + "-b")
            data = os.urandom(300 * 1024)
            s3.put_object(Bucket=bucket + "-b", Key="k", Body=data)
            self.assertEqual(s3.get_object(Bucket=bucket + "-b", Key="k")["Body"].read(), data)
        # The CA survives restarts (clients keep trusting it).
        pem = ca.read_bytes()
        d.stop()
        d.start()
        self.assertEqual(ca.read_bytes(), pem)
        status, _, _ = harness.http_request("GET", f"https://localhost:{d.tls_port}/_annex/health", context=ctx)
        self.assertEqual(status, 200)
        d.stop()


if __name__ == "__main__":
    harness.main()
