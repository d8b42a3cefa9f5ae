#!/usr/bin/python3
"""annexd under connection floods, slow clients and too many uploads.

Regressions: with the open-file limit at 1024, 2,000 idle connections made
the accept loop spin on EMFILE (63 % of a core, 793 MiB of "accept failed"
in 75 s) and even health checks timed out; a head trickled in byte by byte
held a connection for the keep-alive timeout; a body stalling short of its
Content-Length was dropped without an answer. Now connections past the cap
are answered 503 SlowDown and closed, health checks are answered anyway,
the head has its own timeout from its first byte, a stalled body is
answered 400 RequestTimeout, and a repeated warning is logged a few times
with a count instead of millions of times.
"""

import hashlib
import os
import resource
import socket
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import AnnexTestCase, Daemon, random_bucket  # noqa: E402

PRLIMIT = "/usr/bin/prlimit"
FLOOD = 2000


class LimitedDaemon(Daemon):
    """annexd started with RLIMIT_NOFILE 1024/1024 (ulimit -n 1024)."""

    def command(self):
        return [PRLIMIT, "--nofile=1024:1024", "--"] + super().command()


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def log_lines(d):
    return d.log_path.read_text(errors="replace").splitlines()


def health_ms(d):
    t0 = time.monotonic()
    status, _, _ = harness.http_request("GET", d.endpoint + "/_annex/health", timeout=1)
    took = (time.monotonic() - t0) * 1000
    return status, took


def kept_alive_connection(port):
    """A connection that has been served one request and now waits, idle
    between requests (75 s keep-alive), holding its connection slot."""
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(10)
    s.sendall(b"GET /_annex/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    got = b""
    while b"\r\n\r\n" not in got:
        got += s.recv(4096)
    head, body = got.split(b"\r\n\r\n", 1)
    length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))
    while len(body) < length:
        body += s.recv(4096)
    assert head.startswith(b"HTTP/1.1 200"), head
    return s


def read_until_closed(sock, timeout):
    sock.settimeout(timeout)
    got = b""
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            got += chunk
    except (ConnectionResetError, socket.timeout):
        pass
    return got


class FloodTest(unittest.TestCase):
    """2,000 idle connections against annexd limited to 1,024 descriptors."""

    @classmethod
    def setUpClass(cls):
        if not harness.have(PRLIMIT):
            raise unittest.SkipTest("prlimit (util-linux) not installed")
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard != resource.RLIM_INFINITY and hard < FLOOD + 200:
            raise unittest.SkipTest(f"the test needs {FLOOD + 200} descriptors; the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, FLOOD + 200), hard))

    def flood(self, extra_args):
        d = LimitedDaemon(extra_args=extra_args)
        self.addCleanup(d.cleanup)
        d.start()
        lines_before = len(log_lines(d))
        cpu_before = cpu_seconds(d.proc.pid)
        t0 = time.monotonic()
        socks = []
        self.addCleanup(lambda: [s.close() for s in socks])
        for _ in range(FLOOD):
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", d.port))
            socks.append(s)
        time.sleep(0.2)  # the accept loop works through the queue
        return d, socks, lines_before, cpu_before, t0

    def test_health_answers_and_the_log_stays_quiet_under_an_idle_flood(self):
        d, socks, lines_before, cpu_before, t0 = self.flood([])
        slowest = 0
        for _ in range(8):
            status, ms = health_ms(d)
            self.assertEqual(status, 200)
            slowest = max(slowest, ms)
            time.sleep(0.25)
        self.assertLess(slowest, 1000)
        # A client past the cap is told to slow down, not left hanging.
        with socket.create_connection(("127.0.0.1", d.port), timeout=5) as s:
            s.sendall(b"GET /nobucket/x HTTP/1.1\r\nHost: localhost\r\n\r\n")
            got = read_until_closed(s, 5)
        self.assertTrue(got.startswith(b"HTTP/1.1 503"), got[:300])
        self.assertIn(b"<Code>SlowDown</Code><Message>Please reduce your request rate.</Message>", got)
        cpu = cpu_seconds(d.proc.pid) - cpu_before
        wall = time.monotonic() - t0
        new_lines = log_lines(d)[lines_before:]
        print(f"\n[idle flood: {len(new_lines)} log lines, {cpu:.2f} s CPU in {wall:.1f} s]", file=sys.stderr)
        self.assertLess(cpu / wall, 0.3, "annexd kept a core busy during the flood")
        self.assertLess(len(new_lines), 40, "\n".join(new_lines[:50]))

    def test_running_out_of_descriptors_does_not_spin(self):
        # A cap above the descriptor limit: accept fails with EMFILE.
        d, socks, lines_before, cpu_before, t0 = self.flood(["--max-connections", "5000"])
        time.sleep(2)
        cpu = cpu_seconds(d.proc.pid) - cpu_before
        wall = time.monotonic() - t0
        new_lines = log_lines(d)[lines_before:]
        print(f"\n[EMFILE flood: {len(new_lines)} log lines, {cpu:.2f} s CPU in {wall:.1f} s]", file=sys.stderr)
        self.assertLess(cpu / wall, 0.3, "the accept loop spun on EMFILE")
        self.assertLess(len(new_lines), 40, "\n".join(new_lines[:50]))
        self.assertTrue(any("out of descriptors" in line for line in new_lines), "\n".join(new_lines[-20:]))
        for s in socks:
            s.close()
        socks.clear()
        harness.wait_for("health after the flood", lambda: health_ms(d)[0] == 200, timeout=10)


class SlowClientTest(AnnexTestCase):
    daemon_kwargs = {"extra_args": ["--max-connections", "8", "--max-concurrent-uploads", "1"],
                     "extra_env": {"ANNEX_HEAD_TIMEOUT_MS": "1000", "ANNEX_IO_TIMEOUT_MS": "1000"}}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.bucket = random_bucket("slow")
        status, _, body = cls.daemon.signed("PUT", f"/{cls.bucket}")
        assert status == 200, body

    def start_put(self, key, length, first_bytes):
        """A signed PUT (unsigned payload) of `length` bytes of which only `first_bytes` are sent."""
        d = self.daemon
        path = f"/{self.bucket}/{key}"
        headers = harness.sign_headers("PUT", f"127.0.0.1:{d.port}", path, None, {"content-length": str(length)},
                                       "UNSIGNED-PAYLOAD", *d.creds())
        s = socket.create_connection(("127.0.0.1", d.port), timeout=10)
        head = f"PUT {harness.uri_encode(path)} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        s.sendall(head.encode() + b"\r\n" + b"x" * first_bytes)
        return s

    def test_a_trickled_head_is_cut_off_at_the_head_timeout(self):
        s = socket.create_connection(("127.0.0.1", self.daemon.port), timeout=10)
        s.sendall(b"GET /_annex/health HTTP/1.1\r\n")
        t0 = time.monotonic()
        closed_after = None
        for _ in range(40):  # a byte every 100 ms for up to 4 s
            try:
                s.sendall(b"X")
                s.settimeout(0.1)
                if s.recv(1024) == b"":
                    closed_after = time.monotonic() - t0
                    break
            except socket.timeout:
                continue
            except (BrokenPipeError, ConnectionResetError):
                closed_after = time.monotonic() - t0
                break
        s.close()
        self.assertIsNotNone(closed_after, "the connection stayed open while the head trickled in")
        self.assertLess(closed_after, 2.5)

    def test_a_stalled_body_is_answered_request_timeout(self):
        s = self.start_put("stalled", 100_000, 1000)
        t0 = time.monotonic()
        got = read_until_closed(s, 10)
        s.close()
        self.assertTrue(got.startswith(b"HTTP/1.1 400"), got[:400])
        self.assertEqual(harness.error_code(got.split(b"\r\n\r\n", 1)[1]), "RequestTimeout")
        self.assertIn(b"Your socket connection to the server was not read from or written to within the timeout "
                      b"period. Idle connections will be closed.", got)
        self.assertLess(time.monotonic() - t0, 5)

    def test_uploads_past_the_cap_get_slow_down(self):
        slow = self.start_put("slow", 2000, 10)
        time.sleep(0.2)
        status, _, body = self.daemon.signed("PUT", f"/{self.bucket}/second", body=b"hello")
        self.assertEqual(status, 503, body)
        self.assertEqual(harness.error_code(body), "SlowDown")
        slow.sendall(b"x" * 1990)
        got = slow.recv(4096)
        slow.close()
        self.assertTrue(got.startswith(b"HTTP/1.1 200"), got[:300])
        status, _, body = self.daemon.signed("PUT", f"/{self.bucket}/second", body=b"hello")
        self.assertEqual(status, 200, body)

    def test_connections_past_the_cap_get_slow_down_and_health_still_answers(self):
        # Eight connections between requests hold every slot (--max-connections 8)
        # however slowly this test runs: keep-alive lasts 75 s, a fresh
        # connection's wait for its head only a second here.
        idle = [kept_alive_connection(self.daemon.port) for _ in range(8)]
        try:
            status, _, body = self.daemon.signed("GET", f"/{self.bucket}")
            self.assertEqual(status, 503, body)
            self.assertEqual(harness.error_code(body), "SlowDown")
            self.assertEqual(health_ms(self.daemon)[0], 200)
        finally:
            for s in idle:
                s.close()
        harness.wait_for("a request once the idle connections are gone",
                         lambda: self.daemon.signed("GET", f"/{self.bucket}")[0] == 200, timeout=5)


if __name__ == "__main__":
    harness.main()
