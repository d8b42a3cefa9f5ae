"""Test harness for Annex integration tests (Python 3 standard library only).

Starts a real annexd on a free loopback port with a temporary data directory,
waits for /_annex/health, and gives tests what a user of the appliance has:
the endpoint, the root credentials, an environment for AWS clients, SigV4
signing for raw requests, and `annexctl` for accounts.

    from harness import Daemon, AnnexTestCase, main

The daemon binary comes from --annexd PATH on the command line, the ANNEXD
environment variable, or <repo>/build/bin/annexd (annexctl likewise from
--annexctl, ANNEXCTL, or build/bin/annexctl).

Clients are always taken from Debian's paths (/usr/bin/python3 has
python3-boto3, /usr/bin/aws is awscli v2): PATH on developer machines may put
other versions first, so nothing here relies on PATH for a client.
"""

import atexit
import base64
import datetime
import hashlib
import hmac
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import socket
import ssl
import string
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import unittest_main  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
AWS_CLI = "/usr/bin/aws"
S3CMD = "/usr/bin/s3cmd"
RCLONE = "/usr/bin/rclone"
NODE = "/usr/bin/node"
CURL = "/usr/bin/curl"
PYTHON = "/usr/bin/python3"

_binaries = {}


def _take_arg(flag):
    """Removes `flag VALUE` (or flag=VALUE) from sys.argv so unittest ignores it."""
    argv = sys.argv
    for i, a in enumerate(argv):
        if a == flag and i + 1 < len(argv):
            value = argv[i + 1]
            del argv[i:i + 2]
            return value
        if a.startswith(flag + "="):
            del argv[i]
            return a.split("=", 1)[1]
    return None


_binaries["annexd"] = _take_arg("--annexd")
_binaries["annexctl"] = _take_arg("--annexctl")


def annexd_path():
    return _binaries["annexd"] or os.environ.get("ANNEXD") or str(REPO / "build" / "bin" / "annexd")


def annexctl_path():
    return _binaries["annexctl"] or os.environ.get("ANNEXCTL") or str(REPO / "build" / "bin" / "annexctl")


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def random_access_key_id():
    return "AKIA" + "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(16))


def random_secret():
    alphabet = string.ascii_letters + string.digits + "+/"
    return "".join(secrets.choice(alphabet) for _ in range(40))


def random_bucket(prefix="b"):
    return prefix + "-" + secrets.token_hex(6)


def have(path):
    return os.path.isfile(path) and os.access(path, os.X_OK)


def wait_for(what, cond, timeout=30, interval=0.2):
    """Polls `cond` until it returns something truthy (returned) or `timeout` passes (AssertionError)."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            last = cond()
            if last:
                return last
        except Exception as e:  # noqa: BLE001 - retried until the deadline
            last = e
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what}: not within {timeout:.1f} s (last: {last!r})")
        time.sleep(interval)


def wait_applied_exactly_once(agent_status, applied_seq, timeout=30):
    """Checks that the control plane applied exactly the records the sync agent made: no gap, nothing beyond.
    `agent_status()` is annexd's sync status, `applied_seq()` the zone's last_applied_seq. Usage records arrive
    on their own schedule, so the comparison waits for a quiet moment: the agent's last record acknowledged and
    nothing new appended while the control plane was asked."""
    def settled():
        before = agent_status()
        applied = applied_seq()
        after = agent_status()
        if applied > after["last_sequence"]:
            raise AssertionError(f"the control plane applied {applied} records; the agent made "
                                 f"{after['last_sequence']}")
        quiet = before["last_sequence"] == after["last_sequence"] == after["last_acknowledged"]
        return quiet and applied == after["last_sequence"]
    wait_for("each record applied exactly once", settled, timeout)


# ---------------------------------------------------------------------------
# The daemon


_all_daemons = []


@atexit.register
def _kill_leftovers():
    for d in _all_daemons:
        if d.proc is not None and d.proc.poll() is None:
            d.proc.kill()
            d.proc.wait()
    # Every annexd as root made a bridge and an nft table of its own; none may outlive the test.
    for data_dir in {str(d.data_dir) for d in _all_daemons}:
        remove_host_network(data_dir)


class DaemonError(AssertionError):
    pass


class Daemon:
    """One annexd process on a temp data dir (kept across restarts)."""

    def __init__(self, data_dir=None, root_env=True, tls=False, log_level="info", extra_args=(), extra_env=None):
        self.workdir = Path(tempfile.mkdtemp(prefix="annex-it-"))
        self.data_dir = Path(data_dir) if data_dir else self.workdir / "data"
        self.log_path = self.workdir / "annexd.log"
        self.root_env = root_env
        self.tls = tls
        self.log_level = log_level
        self.extra_args = list(extra_args)
        self.extra_env = dict(extra_env or {})
        self.access_key = random_access_key_id() if root_env else None
        self.secret_key = random_secret() if root_env else None
        self.port = None
        self.tls_port = None
        self.proc = None
        self.starts = 0
        _all_daemons.append(self)

    # -- lifecycle ---------------------------------------------------------

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def tls_endpoint(self):
        return f"https://localhost:{self.tls_port}"

    def command(self):
        cmd = [annexd_path(), "--data-dir", str(self.data_dir), "--listen", f"127.0.0.1:{self.port}",
               "--log-level", self.log_level]
        if self.tls:
            cmd += ["--tls-listen", f"127.0.0.1:{self.tls_port}"]
        return cmd + self.extra_args

    def daemon_env(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("ANNEX_")}
        if self.root_env:
            env["ANNEX_ROOT_ACCESS_KEY_ID"] = self.access_key
            env["ANNEX_ROOT_SECRET_ACCESS_KEY"] = self.secret_key
        env.update(self.extra_env)
        if env.get("LD_PRELOAD"):
            # A sanitized annexd needs its sanitizer runtime loaded before any
            # preloaded library (the clockshift library), or it refuses to start.
            runtime = _sanitizer_runtime(annexd_path())
            if runtime:
                env["LD_PRELOAD"] = runtime + ":" + env["LD_PRELOAD"]
        return env

    def start(self, wait=True, timeout=20.0):
        """Starts annexd (the same port and data dir on a restart)."""
        if not have(annexd_path()):
            if self.starts == 0:
                raise unittest.SkipTest(f"annexd binary not found at {annexd_path()} (build it first)")
            # A restart: the binary may be being relinked right now (a developer's build); wait for it.
            deadline = time.monotonic() + 60
            while not have(annexd_path()) and time.monotonic() < deadline:
                time.sleep(0.5)
            if not have(annexd_path()):
                raise DaemonError(f"annexd binary disappeared from {annexd_path()} between restarts")
        assert self.proc is None or self.proc.poll() is not None, "annexd already running"
        for attempt in range(3):
            if self.port is None or attempt > 0:
                self.port = free_port()
                if self.tls:
                    self.tls_port = free_port()
            self.data_dir.parent.mkdir(parents=True, exist_ok=True)
            with open(self.log_path, "ab") as log:
                log.write(f"\n===== start #{self.starts + 1}: {' '.join(self.command())}\n".encode())
                log.flush()
                self.proc = subprocess.Popen(self.command(), env=self.daemon_env(), stdout=log,
                                             stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            self.starts += 1
            if not wait:
                return self
            try:
                self.wait_ready(timeout)
                if not self.root_env:
                    self._load_credentials_file()
                return self
            except DaemonError:
                # A port taken between free_port() and bind: try another one.
                if self.proc.poll() is not None and "in use" in self.log_tail(5).lower() and attempt < 2:
                    continue
                raise
        return self

    # What wait_ready polls, and the process's name in errors (subclasses for other servers override these).
    health_path = "/_annex/health"
    name = "annexd"

    def wait_ready(self, timeout=20.0):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise DaemonError(f"{self.name} exited with {self.proc.returncode} before it was ready\n"
                                  + self.log_tail())
            try:
                status, _, _ = http_request("GET", self.endpoint + self.health_path, timeout=2)
                if status == 200:
                    return
                last = f"health answered {status}"
            except OSError as e:
                last = str(e)
            time.sleep(0.05)
        raise DaemonError(f"{self.name} not healthy after {timeout}s ({last})\n" + self.log_tail())

    def stop(self, timeout=30.0, expect_code=0):
        """SIGTERM; asserts a clean exit (code 0) within `timeout`. Returns seconds taken."""
        if self.proc is None or self.proc.poll() is not None:
            code = None if self.proc is None else self.proc.returncode
            if code not in (None, expect_code):
                raise DaemonError(f"annexd had already exited with {code}\n" + self.log_tail())
            return 0.0
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise DaemonError(f"annexd did not exit within {timeout}s of SIGTERM\n" + self.log_tail())
        took = time.monotonic() - t0
        if expect_code is not None and code != expect_code:
            raise DaemonError(f"annexd exited with {code} after SIGTERM (want {expect_code})\n" + self.log_tail())
        return took

    SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")

    def sanitizer_report(self):
        """The log from the first ASan/LSan/UBSan report on, or "" when there is none."""
        if not self.log_path.exists():
            return ""
        text = self.log_path.read_text(errors="replace")
        found = [text.find(m) for m in self.SANITIZER_MARKERS if m in text]
        return text[min(found):][:8000] if found else ""

    def kill(self):
        """SIGKILL (a crash): no chance to clean up."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def restart(self, **kw):
        self.stop()
        return self.start(**kw)

    def cleanup(self):
        self.kill()
        remove_host_network(self.data_dir)
        shutil.rmtree(self.workdir, ignore_errors=True)

    def log_tail(self, lines=60):
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return "(no annexd log)"
        return f"--- annexd log tail ({self.log_path}) ---\n" + "\n".join(text[-lines:]) + "\n--- end of log ---"

    def _load_credentials_file(self):
        ak, sk = read_credentials_file(self.data_dir / "credentials", "annex")
        self.access_key, self.secret_key = ak, sk

    # -- clients -----------------------------------------------------------

    def creds(self):
        return (self.access_key, self.secret_key)

    def client_env(self, access_key=None, secret_key=None, config_text=None):
        """An environment for AWS CLI/SDK processes: only our credentials, no IMDS, no user config."""
        awsdir = self.workdir / "aws"
        awsdir.mkdir(exist_ok=True)
        config = awsdir / "config"
        if config_text is not None or not config.exists():
            config.write_text(config_text if config_text is not None else f"[default]\nregion = {REGION}\n")
        credentials = awsdir / "credentials"
        if not credentials.exists():
            credentials.write_text("")
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("AWS_", "ANNEX_", "PYTHON", "BOTO", "S3CMD", "RCLONE_"))}
        env.update({
            "AWS_ACCESS_KEY_ID": access_key or self.access_key,
            "AWS_SECRET_ACCESS_KEY": secret_key or self.secret_key,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": str(config),
            "AWS_SHARED_CREDENTIALS_FILE": str(credentials),
            "AWS_PAGER": "",
            "HOME": str(self.workdir),
        })
        return env

    def boto3_client(self, access_key=None, secret_key=None, anonymous=False, endpoint=None, **config_kw):
        import boto3
        import botocore
        from botocore.config import Config
        kw = {"retries": {"max_attempts": 1, "mode": "standard"}, "connect_timeout": 10, "read_timeout": 60}
        if anonymous:
            kw["signature_version"] = botocore.UNSIGNED
        kw.update(config_kw)
        session = boto3.session.Session()
        return session.client("s3", endpoint_url=endpoint or self.endpoint, region_name=REGION,
                              aws_access_key_id=None if anonymous else (access_key or self.access_key),
                              aws_secret_access_key=None if anonymous else (secret_key or self.secret_key),
                              config=Config(**kw))

    def annexctl(self, *args, check=True):
        if not have(annexctl_path()):
            raise unittest.SkipTest(f"annexctl binary not found at {annexctl_path()}")
        env = {k: v for k, v in os.environ.items() if not k.startswith("ANNEX_")}
        if self.root_env:
            env["ANNEX_ROOT_ACCESS_KEY_ID"] = self.access_key
            env["ANNEX_ROOT_SECRET_ACCESS_KEY"] = self.secret_key
        p = subprocess.run([annexctl_path(), "--endpoint", self.endpoint, "--data-dir", str(self.data_dir), *args],
                           env=env, capture_output=True, text=True, timeout=60)
        if check and p.returncode != 0:
            raise AssertionError(f"annexctl {' '.join(args)} failed ({p.returncode}): {p.stdout}{p.stderr}")
        return p

    def create_account(self, name):
        """annexctl accounts create NAME -> dict with AccountId, AccessKeyId, SecretAccessKey."""
        p = self.annexctl("accounts", "create", name)
        return json.loads(p.stdout)

    # -- raw requests ------------------------------------------------------

    def signed(self, method, path, query=None, headers=None, body=b"", creds=None, **kw):
        """A SigV4-signed raw request; returns (status, headers, body)."""
        creds = creds or self.creds()
        return signed_request(self.endpoint, method, path, query=query, headers=headers, body=body,
                              access_key=creds[0], secret_key=creds[1], **kw)

    def metrics(self):
        status, _, body = http_request("GET", self.endpoint + "/_annex/metrics")
        assert status == 200, f"/_annex/metrics answered {status}"
        return body.decode()


_runtimes = {}


def remove_host_network(data_dir):
    """What annexd (as root) made on the host for its workloads and left behind on purpose, since workloads outlive
    it: the bridge and nft table named after the data dir's hash (appliance/daemon/daemon.cc) and the network
    namespaces its network state names. Containers must be gone first."""
    ip = shutil.which("ip") or "/usr/sbin/ip"
    if os.geteuid() != 0 or not os.path.exists(ip):
        return
    names = set()
    state = Path(data_dir) / "network"
    for f in (state.iterdir() if state.is_dir() else []):
        try:
            names |= {m.decode() for m in re.findall(rb"annex[-_][A-Za-z0-9_-]{1,60}", f.read_bytes())}
        except OSError:
            pass
    listed = subprocess.run([ip, "netns", "list"], capture_output=True, text=True).stdout
    for line in listed.splitlines():
        if line.split() and line.split()[0] in names:
            subprocess.run([ip, "netns", "del", line.split()[0]], capture_output=True)
    tag = hashlib.sha256(os.path.realpath(str(data_dir)).encode()).hexdigest()
    subprocess.run([ip, "link", "del", f"annex{tag[:8]}"], capture_output=True)
    nft = shutil.which("nft") or "/usr/sbin/nft"
    if os.path.exists(nft):
        subprocess.run([nft, "delete", "table", "ip", f"annex_{tag[:8]}"], capture_output=True)


def _sanitizer_runtime(binary):
    """The path of the ASan runtime `binary` links, or None (resolved once, with ldd)."""
    if binary not in _runtimes:
        found = None
        try:
            out = subprocess.run(["ldd", binary], capture_output=True, text=True, timeout=30).stdout
            for line in out.splitlines():
                if "libasan.so" in line and "=>" in line:
                    found = line.split("=>")[1].split("(")[0].strip()
        except (OSError, subprocess.SubprocessError):
            pass
        _runtimes[binary] = found
    return _runtimes[binary]


def read_credentials_file(path, profile):
    section = None
    values = {}
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
        elif "=" in line and section == profile:
            k, v = line.split("=", 1)
            values[k.strip()] = v.strip()
    return values["aws_access_key_id"], values["aws_secret_access_key"]


# ---------------------------------------------------------------------------
# HTTP and SigV4 (stdlib only)


def http_request(method, url, headers=None, body=b"", timeout=30, context=None):
    """Plain request; returns (status, headers-dict-lowercase, body). Never raises on HTTP status."""
    u = urllib.parse.urlsplit(url)
    if u.scheme == "https":
        conn = http.client.HTTPSConnection(u.hostname, u.port, timeout=timeout, context=context)
    else:
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    path = u.path or "/"
    if u.query:
        path += "?" + u.query
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        data = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data
    finally:
        conn.close()


def md5_b64(data):
    """base64 of the MD5 of `data`: a Content-MD5 or SSE-C key-MD5 header value."""
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def uri_encode(s, slash=True):
    """SigV4 URI encoding: everything but unreserved characters, '/' kept when `slash`."""
    if isinstance(s, str):
        s = s.encode("utf-8")
    return urllib.parse.quote(s, safe="/~" if slash else "~")


def _hmac(key, msg):
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def signing_key(secret, datestamp, region=REGION, service="s3"):
    k = _hmac(("AWS4" + secret).encode("utf-8"), datestamp)
    k = _hmac(k, region)
    k = _hmac(k, service)
    return _hmac(k, "aws4_request")


def canonical_query(query):
    items = []
    for k, v in (query or {}).items() if isinstance(query, dict) else (query or []):
        items.append((uri_encode(k, slash=False), uri_encode("" if v is None else str(v), slash=False)))
    return "&".join(f"{k}={v}" for k, v in sorted(items))


def sign_headers(method, host, path, query, headers, payload_hash, access_key, secret_key, when=None,
                 region=REGION, service="s3"):
    """Returns headers (a new dict) with x-amz-date, x-amz-content-sha256 and Authorization added.
    `path` is the raw (unencoded) path; it is URI-encoded here once."""
    when = when or datetime.datetime.now(datetime.timezone.utc)
    amz_date = when.strftime("%Y%m%dT%H%M%SZ")
    datestamp = when.strftime("%Y%m%d")
    h = {k: v for k, v in (headers or {}).items()}
    h["host"] = host
    h["x-amz-date"] = amz_date
    if service == "s3" and not any(k.lower() == "x-amz-content-sha256" for k in h):
        h["x-amz-content-sha256"] = payload_hash
    canon = {}
    for k, v in h.items():
        canon[k.lower()] = " ".join(str(v).strip().split())
    signed = ";".join(sorted(canon))
    canonical_headers = "".join(f"{k}:{canon[k]}\n" for k in sorted(canon))
    creq = "\n".join([method, uri_encode(path), canonical_query(query), canonical_headers, signed, payload_hash])
    scope = f"{datestamp}/{region}/{service}/aws4_request"
    sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(creq.encode()).hexdigest()])
    sig = hmac.new(signing_key(secret_key, datestamp, region, service), sts.encode(), hashlib.sha256).hexdigest()
    h["Authorization"] = f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, SignedHeaders={signed}, Signature={sig}"
    return h


def presign_url(endpoint, method, path, access_key, secret_key, expires=300, when=None, query=None,
                region=REGION, service="s3"):
    """A presigned query-string URL (UNSIGNED-PAYLOAD, host signed)."""
    when = when or datetime.datetime.now(datetime.timezone.utc)
    u = urllib.parse.urlsplit(endpoint)
    host = u.netloc
    amz_date = when.strftime("%Y%m%dT%H%M%SZ")
    datestamp = when.strftime("%Y%m%d")
    scope = f"{datestamp}/{region}/{service}/aws4_request"
    q = dict(query or {})
    q.update({
        "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
        "X-Amz-Credential": f"{access_key}/{scope}",
        "X-Amz-Date": amz_date,
        "X-Amz-Expires": str(expires),
        "X-Amz-SignedHeaders": "host",
    })
    creq = "\n".join([method, uri_encode(path), canonical_query(q), f"host:{host}\n", "host", "UNSIGNED-PAYLOAD"])
    sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(creq.encode()).hexdigest()])
    sig = hmac.new(signing_key(secret_key, datestamp, region, service), sts.encode(), hashlib.sha256).hexdigest()
    return f"{endpoint}{uri_encode(path)}?{canonical_query(q)}&X-Amz-Signature={sig}"


def signed_request(endpoint, method, path, query=None, headers=None, body=b"", access_key=None, secret_key=None,
                   payload_hash=None, when=None, host=None, service="s3", timeout=60):
    """Signs (SigV4, header form) and sends one request. `path` is unencoded ("/bucket/key").
    Returns (status, headers-dict-lowercase, body)."""
    u = urllib.parse.urlsplit(endpoint)
    host = host or u.netloc
    if isinstance(body, str):
        body = body.encode()
    if payload_hash is None:
        payload_hash = hashlib.sha256(body).hexdigest()
    h = sign_headers(method, host, path, query, headers, payload_hash, access_key, secret_key, when=when,
                     service=service)
    return raw_request(u.hostname, u.port, method, uri_encode(path), query, h, body, timeout=timeout)


def raw_request(hostname, port, method, encoded_path, query, headers, body=b"", timeout=60):
    conn = http.client.HTTPConnection(hostname, port, timeout=timeout)
    target = encoded_path
    if query:
        target += "?" + canonical_query(query)
    try:
        conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        has_len = False
        for k, v in headers.items():
            conn.putheader(k, v)
            has_len |= k.lower() == "content-length"
        if not has_len and (body or method in ("PUT", "POST")):
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders()
        if body:
            try:
                conn.send(body)
            except (BrokenPipeError, ConnectionResetError):
                # The server may answer (an error) before reading the whole body and close:
                # the answer is what a client shows, so read it if it arrived.
                pass
        r = conn.getresponse()
        data = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data
    finally:
        conn.close()


def error_code(body):
    """The <Code> of an S3 XML error body (None if the body is not one)."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return None
    if root.tag != "Error" and not root.tag.endswith("}Error"):
        err = root.find(".//{*}Error")
        if err is None:
            return None
        root = err
    code = root.find("{*}Code")
    if code is None:
        code = root.find("Code")
    return code.text if code is not None else None


def xml_findall_text(body, tag):
    root = ET.fromstring(body)
    return [e.text or "" for e in root.iter() if e.tag == tag or e.tag.endswith("}" + tag)]


def tls_context(cafile):
    return ssl.create_default_context(cafile=str(cafile))


# ---------------------------------------------------------------------------
# unittest glue


class AnnexTestCase(unittest.TestCase):
    """One annexd per test class, started in setUpClass, stopped (asserting exit 0) in tearDownClass."""

    daemon_kwargs = {}
    daemon = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.daemon = Daemon(**cls.daemon_kwargs)
        try:
            cls.daemon.start()
        except BaseException:
            cls.daemon.cleanup()
            raise

    def setUp(self):
        super().setUp()
        self._t0 = time.monotonic()

    def tearDown(self):
        took = time.monotonic() - getattr(self, "_t0", time.monotonic())
        if took > 5:
            print(f"[{took:.1f}s] ", end="", file=sys.stderr, flush=True)
        super().tearDown()

    @classmethod
    def tearDownClass(cls):
        try:
            if cls.daemon is not None:
                cls.daemon.stop()
        finally:
            if cls.daemon is not None and not _keep_logs[0]:
                cls.daemon.cleanup()
            super().tearDownClass()


CLOCKSHIFT = os.environ.get("ANNEX_CLOCKSHIFT", "")


@unittest.skipUnless(os.path.exists(CLOCKSHIFT), "ANNEX_CLOCKSHIFT does not name the clockshift library (run under ctest)")
class ShiftedClock:
    """Mixed into an AnnexTestCase: its annexd runs under the clockshift library (clockshift.cc), which moves its
    wall clock on by the seconds written to clock_file. Requests are signed with the real clock: a test moves the
    clock back before it sends one."""

    clock_file = None

    @classmethod
    def setUpClass(cls):
        cls.clock_file = Path(tempfile.mkdtemp(prefix="annex-clock-")) / "offset"
        cls.clock_file.write_text("0\n")
        cls.daemon_kwargs = {**cls.daemon_kwargs,
                             "extra_env": {"LD_PRELOAD": CLOCKSHIFT, "ANNEX_CLOCKSHIFT_FILE": str(cls.clock_file)}}
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        cls.clock_file.write_text("0\n")
        super().tearDownClass()
        shutil.rmtree(cls.clock_file.parent, ignore_errors=True)

    def shift(self, seconds):
        """Moves annexd's clock `seconds` on from real time (0: back to it)."""
        self.clock_file.write_text(f"{int(seconds)}\n")
        time.sleep(0.2)  # clockshift re-reads the file every 50 ms


_keep_logs = [False]


def main():
    """Runs the tests by tests/unittest_main.py's policy; prints the daemons' log tails when anything failed."""
    _keep_logs[0] = True  # keep work dirs until we know the outcome

    def after(ok):
        for d in _all_daemons:
            d.kill()
        # A sanitized annexd that hit a memory error or undefined behaviour
        # aborts; a test that killed or restarted it on purpose may not notice.
        reports = [d for d in _all_daemons if d.sanitizer_report()]
        for d in reports:
            print(f"sanitizer report in {d.log_path}:\n{d.sanitizer_report()}", file=sys.stderr)
        ok = ok and not reports
        if not ok:
            for d in _all_daemons:
                if d.log_path.exists() and d not in reports:
                    print(d.log_tail(40), file=sys.stderr)
        for d in _all_daemons:
            remove_host_network(d.data_dir)  # while its state still names its namespaces
            if ok or not os.environ.get("ANNEX_KEEP_FAILED"):
                shutil.rmtree(d.workdir, ignore_errors=True)
        return ok

    unittest_main.run(after)


SKIP_EXIT_CODE = unittest_main.SKIP_EXIT_CODE
