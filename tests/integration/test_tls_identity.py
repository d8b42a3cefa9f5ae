#!/usr/bin/python3
"""annexd's TLS identity and log as an operator sees them: several HTTPS
listeners, certificate names from --tls-name (a new certificate from the same
CA when they change), the CA at /_annex/ca.pem, `annexctl status` showing its
fingerprint as openssl does, and the rotated log read by `annexctl logs`.
Without --tls-listen too, annexd has its TLS identity and an HTTPS listener
on the loopback address for its own clients (appliance_endpoints.h)."""

import os
import re
import socket
import ssl
import subprocess
import sys
import unittest
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Daemon, free_port, have  # noqa: E402

OPENSSL = "/usr/bin/openssl"


def peer_names(port, cafile, server_hostname):
    ctx = ssl.create_default_context(cafile=str(cafile))
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        with ctx.wrap_socket(sock, server_hostname=server_hostname) as tls:
            return tls.getpeercert()["subjectAltName"]


def own_tls_port(d):
    """The port of the loopback HTTPS listener the last start of `d` logged, or None."""
    found = re.findall(r'"https for the appliance\'s own clients" address=127\.0\.0\.1 port=(\d+)',
                       d.log_path.read_text(errors="replace"))
    return int(found[-1]) if found else None


def own_address():
    """An IPv4 address of this machine other than loopback (the one a default route leaves by), or None."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # UDP: nothing is sent
            address = s.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


class TlsIdentityAndLogsTest(unittest.TestCase):
    def daemon(self, names, second_port):
        d = Daemon(tls=True, extra_args=[])
        self.addCleanup(d.cleanup)
        d.extra_args = ["--tls-listen", f"127.0.0.1:{second_port}", "--tls-name", names,
                        "--log-file", str(d.data_dir / "log" / "annexd.log"),
                        "--log-max-bytes", "8192", "--log-files", "2"]
        return d

    def test_status_fingerprint_names_and_logs(self):
        second = free_port()
        d = self.daemon("annex-it.example.net, 10.99.0.7", second)
        d.start()
        ca = d.data_dir / "tls" / "ca.pem"

        # `annexctl status`: ready, and the CA's fingerprint exactly as openssl prints it.
        out = d.annexctl("status").stdout
        self.assertIn(": ready", out)
        m = re.search(r"^CA SHA-256 fingerprint: ([0-9A-F:]+) ", out, re.M)
        self.assertTrue(m, out)
        if have(OPENSSL):
            p = subprocess.run([OPENSSL, "x509", "-noout", "-fingerprint", "-sha256", "-in", str(ca)],
                               capture_output=True, text=True, check=True)
            self.assertEqual(m.group(1), p.stdout.strip().split("=", 1)[1])
        # The same CA is served to anyone over plain HTTP.
        status, headers, body = harness.http_request("GET", d.endpoint + "/_annex/ca.pem")
        self.assertEqual(status, 200)
        self.assertEqual(body, ca.read_bytes())

        # Both HTTPS listeners, the configured names and the service names.
        for port in (d.tls_port, second):
            names = peer_names(port, ca, "annex-it.example.net")
            for want in (("DNS", "annex-it.example.net"), ("IP Address", "10.99.0.7"), ("DNS", "*.s3.localhost"),
                         ("DNS", "localhost"), ("IP Address", "127.0.0.1")):
                self.assertIn(want, names, port)
        server_pem = (d.data_dir / "tls" / "server.pem").read_bytes()

        # New names: a new server certificate, from the CA clients already trust.
        ca_pem = ca.read_bytes()
        d.stop()
        d.extra_args[d.extra_args.index("--tls-name") + 1] = "annex-renamed.example.net"
        d.start()
        self.assertEqual(ca.read_bytes(), ca_pem)
        self.assertNotEqual((d.data_dir / "tls" / "server.pem").read_bytes(), server_pem)
        names = peer_names(d.tls_port, ca, "annex-renamed.example.net")
        self.assertIn(("DNS", "annex-renamed.example.net"), names)
        self.assertNotIn(("DNS", "annex-it.example.net"), names)
        with self.assertRaises(ssl.SSLCertVerificationError):
            peer_names(d.tls_port, ca, "annex-it.example.net")

        # `annexctl logs -n 5`: the last five lines of annexd's log.
        marker = "/_annex/marker-" + uuid.uuid4().hex
        self.assertEqual(harness.http_request("GET", d.endpoint + marker)[0], 404)
        lines = d.annexctl("logs", "-n", "5").stdout.splitlines()
        self.assertEqual(len(lines), 5, lines)
        for line in lines:
            self.assertRegex(line, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (debug|info|warn|error) ")
        self.assertTrue(any(marker in line for line in lines), lines)

        # Rotation: never more than the current file and two rotated ones, each under its cap;
        # `annexctl logs` reads across them.
        for _ in range(150):
            harness.http_request("GET", d.endpoint + "/_annex/health")
        logdir = d.data_dir / "log"
        self.assertEqual(sorted(os.listdir(logdir)), ["annexd.log", "annexd.log.1", "annexd.log.2"])
        for f in os.listdir(logdir):
            self.assertLessEqual(os.path.getsize(logdir / f), 8192, f)
        many = d.annexctl("logs", "-n", "60").stdout.splitlines()
        self.assertEqual(len(many), 60)
        missing = subprocess.run([harness.annexctl_path(), "--data-dir", str(d.workdir / "nowhere"), "logs"],
                                 capture_output=True, text=True, timeout=30)
        self.assertNotEqual(missing.returncode, 0)
        self.assertIn("no log at", missing.stderr)
        d.stop()

    def test_own_clients_listener_without_tls_listen(self):
        d = Daemon(tls=False)
        self.addCleanup(d.cleanup)
        d.start()
        ca = d.data_dir / "tls" / "ca.pem"
        self.assertTrue(ca.exists(), "the TLS identity is made without --tls-listen too")
        status, _, body = harness.http_request("GET", d.endpoint + "/_annex/ca.pem")
        self.assertEqual((status, body), (200, ca.read_bytes()))
        port = own_tls_port(d)
        self.assertTrue(port, d.log_tail())
        self.assertNotEqual(port, d.port)
        # Over https://localhost:PORT, the certificate checked against the appliance CA by name.
        status, _, body = harness.http_request("GET", f"https://localhost:{port}/_annex/health",
                                               context=harness.tls_context(ca))
        self.assertEqual(status, 200, body)
        self.assertIn(("DNS", "localhost"), peer_names(port, ca, "localhost"))
        # Only on the loopback address.
        if own_address():
            with self.assertRaises(OSError):
                with socket.create_connection((own_address(), port), timeout=2):
                    pass
        # Each start picks its port anew; the CA stays.
        ca_pem = ca.read_bytes()
        d.restart()
        self.assertEqual(ca.read_bytes(), ca_pem)
        port = own_tls_port(d)
        status, _, _ = harness.http_request("GET", f"https://localhost:{port}/_annex/health",
                                            context=harness.tls_context(ca))
        self.assertEqual(status, 200)
        d.stop()  # the drain covers that listener too: a clean exit


if __name__ == "__main__":
    harness.main()
