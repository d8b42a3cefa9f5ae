#!/usr/bin/python3
"""annex-control as a process: sites and enrollment tokens, the operator API (EC2 DescribeAvailabilityZones
through awscli, JSON through curl --aws-sigv4), commands, credentials, locking and shutdown.

No annexd takes part: where a test needs an enrolled zone, it enrolls one itself with a raw gRPC call
(HTTP/2 through curl, a hand-encoded EnrollRequest and a CSR from openssl), as the appliance's agent would.
"""

import json
import os
import re
import shutil
import signal
import ssl
import stat
import subprocess
import sys
import tempfile
import time
import unittest
import xml.etree.ElementTree as ET
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import AWS_CLI, CURL, REGION, Daemon, DaemonError, free_port, have  # noqa: E402

OPENSSL = "/usr/bin/openssl"
TOKEN_RE = re.compile(r"^AXT1\.(?P<site>[a-z0-9-]+)\.[A-Za-z0-9_-]{43}\.(?P<ca>[0-9a-f]{64})$")

_control_arg = harness._take_arg("--annex-control")


def control_path():
    return _control_arg or os.environ.get("ANNEX_CONTROL") or str(harness.REPO / "build" / "bin" / "annex-control")


def zone_of(site):
    return f"{REGION}-annex-{site}"


class ControlPlane(Daemon):
    """One annex-control on free loopback ports and a temp data dir. Reuses the harness's Daemon for the
    process lifecycle, logs, credentials and client environments; only the command line and readiness differ."""

    health_path = "/health"
    name = "annex-control"

    def __init__(self, data_dir=None, root_env=True):
        super().__init__(data_dir=data_dir, root_env=root_env)
        self.log_path = self.workdir / "annex-control.log"
        self.sync_port = None

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.port}"

    def command(self):
        return [control_path(), "--data-dir", str(self.data_dir), "--listen", f"127.0.0.1:{self.sync_port}",
                "--api-listen", f"127.0.0.1:{self.port}", "--region", REGION]

    def start(self, wait=True, timeout=20.0):
        if not have(control_path()):
            raise unittest.SkipTest(f"annex-control binary not found at {control_path()} (build it first)")
        # A restart keeps its ports: appliances know the control plane by address.
        if self.port is None:
            self.port, self.sync_port = free_port(), free_port()
        with open(self.log_path, "ab") as log:
            log.write(f"\n===== start: {' '.join(self.command())}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(self.command(), env=self.daemon_env(), stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL)
        self.starts += 1
        if wait:
            self.wait_ready(timeout)
            if not self.root_env:
                self.access_key, self.secret_key = harness.read_credentials_file(self.data_dir / "credentials",
                                                                                 "annex-control")
        return self

    def cli(self, *args, check=True):
        """`annex-control ARGS --data-dir DIR` (the sites commands)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("ANNEX_")}
        p = subprocess.run([control_path(), *args, "--data-dir", str(self.data_dir)], env=env, capture_output=True,
                           text=True, timeout=60)
        if check and p.returncode != 0:
            raise AssertionError(f"annex-control {' '.join(args)} exited {p.returncode}: {p.stdout}{p.stderr}")
        return p

    def create_site(self, name):
        """The token: the last line of `sites create`."""
        return self.cli("sites", "create", name).stdout.strip().splitlines()[-1]

    def api(self, method, path, body=None, creds=None, service="annex", query=None):
        """A SigV4-signed operator API request (sha256(body), no x-amz-content-sha256, as curl and awscli sign).
        Returns (status, headers, parsed JSON or raw bytes)."""
        data = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        headers = {"content-type": "application/json"} if body is not None else {}
        status, h, raw = harness.signed_request(self.endpoint, method, path, query=query, headers=headers, body=data,
                                                access_key=(creds or self.creds())[0],
                                                secret_key=(creds or self.creds())[1], service=service)
        if h.get("content-type", "").startswith("application/json"):
            return status, h, json.loads(raw)
        return status, h, raw

    def curl(self, path, *extra, secret=None):
        """curl --aws-sigv4 aws:amz:REGION:annex; returns (HTTP status, body)."""
        p = subprocess.run([CURL, "-s", "-w", "\n%{http_code}", "--aws-sigv4", f"aws:amz:{REGION}:annex", "--user",
                            f"{self.access_key}:{secret or self.secret_key}", *extra, self.endpoint + path],
                           capture_output=True, text=True, timeout=60)
        body, _, code = p.stdout.rpartition("\n")
        return int(code), body

    def enroll(self, token, workdir):
        """Enroll like an appliance: a raw gRPC Enroll call over HTTP/2 + TLS (trusting tls/ca.pem for the name
        annex-control). Returns the zone the control plane assigned."""
        key, csr = workdir / "agent.key", workdir / "agent.csr"
        subprocess.run([OPENSSL, "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-keyout", str(key), "-subj", "/CN=agent", "-out", str(csr)], check=True,
                       capture_output=True, timeout=60)
        message = (proto_string(1, token.encode()) + proto_string(2, csr.read_bytes())
                   + proto_string(3, b"integration-test"))
        request, response = workdir / "enroll.req", workdir / "enroll.resp"
        request.write_bytes(b"\x00" + len(message).to_bytes(4, "big") + message)
        p = subprocess.run([CURL, "-s", "--http2", "--cacert", str(self.data_dir / "tls" / "ca.pem"),
                            "--resolve", f"annex-control:{self.sync_port}:127.0.0.1",
                            "-H", "content-type: application/grpc", "-H", "te: trailers",
                            "--data-binary", f"@{request}", "-o", str(response), "-D", "-",
                            f"https://annex-control:{self.sync_port}/annex.sync.v1.Sync/Enroll"],
                           capture_output=True, text=True, timeout=60)
        if p.returncode != 0:
            raise AssertionError(f"gRPC Enroll through curl failed ({p.returncode}): {p.stderr}")
        data = response.read_bytes()
        if len(data) < 5:
            raise AssertionError(f"gRPC Enroll failed: {p.stdout}")
        fields = proto_fields(data[5:5 + int.from_bytes(data[1:5], "big")])
        return fields[1].decode()


def proto_varint(n):
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def proto_string(field, value):
    return proto_varint(field << 3 | 2) + proto_varint(len(value)) + value


def proto_fields(data):
    """{field number: bytes} of a message made of length-delimited fields."""
    fields, i = {}, 0
    while i < len(data):
        tag, i = read_varint(data, i)
        length, i = read_varint(data, i)
        fields[tag >> 3] = data[i:i + length]
        i += length
    return fields


def read_varint(data, i):
    n, shift = 0, 0
    while True:
        n |= (data[i] & 0x7F) << shift
        shift += 7
        i += 1
        if not data[i - 1] & 0x80:
            return n, i


class ControlPlaneTest(unittest.TestCase):
    """One annex-control (admin key from ANNEX_ROOT_*) shared by the tests; the site lisbon-1 is created while
    it runs."""

    cp = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.cp = ControlPlane()
        try:
            cls.cp.start()
            cls.token = cls.cp.create_site("lisbon-1")
        except BaseException:
            cls.cp.cleanup()
            raise
        cls.env = cls.cp.client_env()
        cls.tmp = Path(tempfile.mkdtemp(prefix="annex-control-it-"))

    @classmethod
    def tearDownClass(cls):
        try:
            if cls.cp is not None:
                cls.cp.stop()  # asserts exit 0 after SIGTERM
        finally:
            shutil.rmtree(cls.tmp, ignore_errors=True)
            super().tearDownClass()

    def aws(self, *args, env=None):
        return subprocess.run([AWS_CLI, "--endpoint-url", self.cp.endpoint, "--region", REGION, "--output", "json",
                               *args], env=env or self.env, capture_output=True, text=True, timeout=120)

    def describe(self, *args):
        p = self.aws("ec2", "describe-availability-zones", *args)
        self.assertEqual(p.returncode, 0, p.stderr)
        return {z["ZoneName"]: z for z in json.loads(p.stdout)["AvailabilityZones"]}

    # -- sites --------------------------------------------------------------------------------------------

    def test_token_is_the_last_line_and_pins_the_ca(self):
        m = TOKEN_RE.match(self.token)
        self.assertIsNotNone(m, self.token)
        self.assertEqual(m["site"], "lisbon-1")
        der = ssl.PEM_cert_to_DER_cert((self.cp.data_dir / "tls" / "ca.pem").read_text())
        import hashlib
        self.assertEqual(m["ca"], hashlib.sha256(der).hexdigest())

    def test_sites_create_rejects_bad_and_duplicate_names(self):
        p = self.cp.cli("sites", "create", "Bad_Name", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("not a valid site name", p.stderr)
        p = self.cp.cli("sites", "create", "lisbon-1", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("exists", p.stderr)

    def test_sites_list(self):
        out = self.cp.cli("sites", "list").stdout
        self.assertRegex(out, r"lisbon-1\s+us-east-1-annex-lisbon-1\s+no\s")

    # -- EC2 Query ----------------------------------------------------------------------------------------

    @unittest.skipUnless(have(AWS_CLI), f"awscli not installed at {AWS_CLI}")
    def test_awscli_describe_availability_zones(self):
        zones = self.describe()
        z = zones.get(zone_of("lisbon-1"))
        self.assertIsNotNone(z, zones)
        self.assertEqual(z["State"], "unavailable")
        self.assertEqual(z["RegionName"], REGION)
        self.assertEqual(z["ZoneId"], "use1-annex-lisbon-1")
        self.assertEqual(z["ZoneType"], "local-zone")
        self.assertEqual(z["OptInStatus"], "opted-in")
        self.assertIn("waiting for its appliance to enroll", z["Messages"][0]["Message"])

        self.assertIn(zone_of("lisbon-1"), self.describe("--zone-names", zone_of("lisbon-1")))
        self.assertIn(zone_of("lisbon-1"), self.describe("--filters", "Name=zone-name,Values=*-lisbon-?"))
        self.assertNotIn(zone_of("lisbon-1"), self.describe("--filters", "Name=state,Values=available"))
        p = self.aws("ec2", "describe-availability-zones", "--zone-names", zone_of("nowhere"))
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("InvalidParameterValue", p.stderr)

    @unittest.skipUnless(have(AWS_CLI), f"awscli not installed at {AWS_CLI}")
    def test_awscli_wrong_keys_fail(self):
        p = self.aws("ec2", "describe-availability-zones",
                     env=self.cp.client_env(secret_key=harness.random_secret()))
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("SignatureDoesNotMatch", p.stderr)
        p = self.aws("ec2", "describe-availability-zones",
                     env=self.cp.client_env(access_key=harness.random_access_key_id()))
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("AuthFailure", p.stderr)

    def test_ec2_unknown_action(self):
        status, headers, body = self.cp.api("POST", "/", body=b"Action=RunInstances&Version=2016-11-15",
                                            service="ec2")
        self.assertEqual(status, 400)
        root = ET.fromstring(body)
        self.assertEqual(root.tag, "Response")
        self.assertEqual(root.findtext("Errors/Error/Code"), "InvalidAction")
        self.assertEqual(root.findtext("RequestID"), headers["x-amz-request-id"])

    def test_ec2_get_form(self):
        status, _, body = self.cp.api("GET", "/", service="ec2",
                                      query={"Action": "DescribeAvailabilityZones", "Version": "2016-11-15"})
        self.assertEqual(status, 200, body)
        self.assertIn(zone_of("lisbon-1"), harness.xml_findall_text(body, "zoneName"))

    # -- JSON ---------------------------------------------------------------------------------------------

    @unittest.skipUnless(have(CURL), f"curl not installed at {CURL}")
    def test_curl_lists_zones(self):
        code, body = self.cp.curl("/v1/zones")
        self.assertEqual(code, 200, body)
        zones = {z["name"]: z for z in json.loads(body)["zones"]}
        z = zones[zone_of("lisbon-1")]
        self.assertEqual((z["site"], z["state"], z["enrolled"], z["last_heartbeat"]),
                         ("lisbon-1", "unavailable", False, None))
        code, body = self.cp.curl(f"/v1/zones/{zone_of('lisbon-1')}/resources")
        self.assertEqual((code, json.loads(body)["resources"]), (200, []))
        code, body = self.cp.curl(f"/v1/zones/{zone_of('lisbon-1')}/usage")
        self.assertEqual((code, json.loads(body)["usage"]), (200, []))
        code, body = self.cp.curl(f"/v1/zones/{zone_of('lisbon-1')}/events")
        self.assertEqual((code, json.loads(body)["events"]), (200, []))

    @unittest.skipUnless(have(CURL), f"curl not installed at {CURL}")
    def test_curl_wrong_secret_is_403(self):
        code, body = self.cp.curl("/v1/zones", secret=harness.random_secret())
        self.assertEqual(code, 403, body)
        self.assertEqual(json.loads(body)["__type"], "SignatureDoesNotMatch")

    def test_unsigned_requests(self):
        status, _, _ = harness.http_request("GET", self.cp.endpoint + "/v1/zones")
        self.assertEqual(status, 403)
        status, _, body = harness.http_request("GET", self.cp.endpoint + "/health")
        self.assertEqual((status, body), (200, b"ok\n"))

    def test_unknown_zone_and_path(self):
        status, _, body = self.cp.api("GET", f"/v1/zones/{zone_of('nowhere')}")
        self.assertEqual((status, body["__type"]), (404, "NotFound"))
        for what in ("usage", "events"):
            status, _, body = self.cp.api("GET", f"/v1/zones/{zone_of('nowhere')}/{what}")
            self.assertEqual((status, body["__type"]), (404, "NotFound"), what)
        status, _, body = self.cp.api("GET", "/v1/nothing-here")
        self.assertEqual(status, 404)

    def test_sites_through_the_api(self):
        status, _, body = self.cp.api("POST", "/v1/sites", body={"name": "madeira"})
        self.assertEqual(status, 201, body)
        self.assertEqual(body["zone"], zone_of("madeira"))
        self.assertRegex(body["token"], TOKEN_RE)
        status, _, body = self.cp.api("POST", "/v1/sites", body={"name": "madeira"})
        self.assertEqual((status, body["__type"]), (409, "Conflict"))
        status, _, body = self.cp.api("POST", "/v1/sites", body={"name": "-bad"})
        self.assertEqual((status, body["__type"]), (400, "ValidationError"))
        status, _, body = self.cp.api("GET", "/v1/sites")
        self.assertIn("madeira", [s["name"] for s in body["sites"]])

    @unittest.skipUnless(have(CURL) and have(OPENSSL), "curl and openssl are needed to enroll")
    def test_commands(self):
        # A site that has not enrolled takes commands; they wait for its first session. No site, no zone.
        command = {"kind": "CreateBucket", "args": {"bucket": "photos"}}
        status, _, body = self.cp.api("POST", f"/v1/zones/{zone_of('lisbon-1')}/commands", body=command)
        self.assertEqual((status, body["state"]), (201, "pending"), body)
        status, _, body = self.cp.api("GET", f"/v1/zones/{zone_of('lisbon-1')}/commands")
        self.assertEqual([c["args"] for c in body["commands"]], [{"bucket": "photos"}])
        status, _, body = self.cp.api("POST", f"/v1/zones/{zone_of('nowhere-9')}/commands", body=command)
        self.assertEqual((status, body["__type"]), (404, "NotFound"), body)

        zone = self.cp.enroll(self.cp.create_site("porto"), self.tmp)
        self.assertEqual(zone, zone_of("porto"))
        status, _, body = self.cp.api("GET", f"/v1/zones/{zone}")
        self.assertEqual((status, body["enrolled"], body["state"]), (200, True, "unavailable"))
        status, _, body = self.cp.api("GET", f"/v1/zones/{zone}/history")
        self.assertEqual([e["event"] for e in body["events"]], ["enrolled"])

        code, text = self.cp.curl(f"/v1/zones/{zone}/commands", "-H", "content-type: application/json",
                                  "-d", json.dumps(command))
        self.assertEqual(code, 201, text)
        created = json.loads(text)
        self.assertEqual((created["kind"], created["args"], created["state"], created["zone"]),
                         ("CreateBucket", {"bucket": "photos"}, "pending", zone))
        status, _, body = self.cp.api("GET", f"/v1/zones/{zone}/commands")
        self.assertEqual(status, 200)
        self.assertEqual([(c["id"], c["state"]) for c in body["commands"]], [(created["id"], "pending")])
        status, _, body = self.cp.api("GET", f"/v1/zones/{zone}/commands/{created['id']}")
        self.assertEqual((status, body["id"]), (200, created["id"]))

        # A client-chosen id makes a retried create idempotent.
        again = {"kind": "DeleteBucket", "args": {"bucket": "old-logs"}, "id": "op-1"}
        first = self.cp.api("POST", f"/v1/zones/{zone}/commands", body=again)
        second = self.cp.api("POST", f"/v1/zones/{zone}/commands", body=again)
        self.assertEqual((first[0], second[0], first[2], second[2]["id"]), (201, 201, second[2], "op-1"))

        # This zone has never connected, so it has not advertised its commands:
        # any kind is queued and the appliance checks it on arrival.
        status, _, body = self.cp.api("POST", f"/v1/zones/{zone}/commands",
                                      body={"kind": "LaunchRocket", "args": {"to": "mars"}})
        self.assertEqual((status, body["state"]), (201, "pending"), body)
        for bad in ({"kind": "CreateBucket"},
                    {"kind": "", "args": {}},
                    {"kind": "CreateBucket", "args": ["photos"]},
                    # present but empty: an error, never "generate one" (a retry would duplicate it)
                    {"kind": "CreateBucket", "args": {"bucket": "photos"}, "id": ""}):
            status, _, body = self.cp.api("POST", f"/v1/zones/{zone}/commands", body=bad)
            self.assertEqual((status, body["__type"]), (400, "ValidationError"), bad)

    # -- process ------------------------------------------------------------------------------------------

    def test_second_instance_on_the_same_data_dir_is_refused(self):
        other = ControlPlane(data_dir=self.cp.data_dir)
        try:
            other.start(wait=False)
            code = other.proc.wait(20)
            self.assertNotEqual(code, 0)
            self.assertIn("another annex-control is serving", other.log_path.read_text())
        finally:
            other.cleanup()


class GeneratedCredentialsTest(unittest.TestCase):
    """Without ANNEX_ROOT_*, the admin key is generated into <data-dir>/credentials and kept across restarts,
    as are the CA and the server certificate; SIGTERM ends the process with 0."""

    def test_generated_credentials_and_restart(self):
        cp = ControlPlane(root_env=False)
        try:
            cp.start()
            creds = cp.data_dir / "credentials"
            for path in (creds, cp.data_dir / "tls" / "ca.key", cp.data_dir / "tls" / "server.key"):
                self.assertEqual(stat.S_IMODE(path.stat().st_mode), 0o600, path)
            self.assertIn("[annex-control]", creds.read_text())
            status, _, body = cp.api("GET", "/v1/zones")
            self.assertEqual((status, body), (200, {"zones": []}))
            status, _, _ = cp.api("GET", "/v1/zones", creds=(cp.access_key, harness.random_secret()))
            self.assertEqual(status, 403)

            ca, server, key = ((cp.data_dir / "tls" / n).read_bytes() for n in ("ca.pem", "server.pem", "ca.key"))
            self.assertLess(cp.stop(), 10)
            cp.start()
            self.assertEqual(harness.read_credentials_file(creds, "annex-control"), cp.creds())
            self.assertEqual([(cp.data_dir / "tls" / n).read_bytes() for n in ("ca.pem", "server.pem", "ca.key")],
                             [ca, server, key])
            self.assertEqual(cp.api("GET", "/v1/zones")[0], 200)

            cp.proc.send_signal(signal.SIGINT)
            self.assertEqual(cp.proc.wait(20), 0)
        finally:
            cp.cleanup()


if __name__ == "__main__":
    harness.main()
