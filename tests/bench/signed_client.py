"""What the benches' API clients share: the root key from annexd's credentials file, and SigV4-signed POSTs over one
keep-alive connection (signing key cached per day), without an SDK's own costs in the figures."""

import datetime
import hashlib
import hmac
import http.client

REGION = "us-east-1"


def read_credentials(path, profile="annex"):
    """(access key id, secret) of `profile` in an AWS credentials file (annexd writes its root key as `annex`)."""
    section, values = None, {}
    for line in open(path):
        line = line.strip()
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
        elif "=" in line and section == profile:
            k, v = line.split("=", 1)
            values[k.strip()] = v.strip()
    return values["aws_access_key_id"], values["aws_secret_access_key"]


class SignedClient:
    """POST / to annexd, signed for `service`; one retry on a connection the server closed."""

    def __init__(self, endpoint, access_key, secret_key, service):
        self.host, port = endpoint.rsplit(":", 1)
        self.port = int(port)
        self.endpoint = endpoint
        self.access_key, self.secret_key = access_key, secret_key
        self.service = service
        self.conn = None
        self.keys = {}

    def _key(self, day):
        if day not in self.keys:
            k = ("AWS4" + self.secret_key).encode()
            for part in (day, REGION, self.service, "aws4_request"):
                k = hmac.new(k, part.encode(), hashlib.sha256).digest()
            self.keys[day] = k
        return self.keys[day]

    def post(self, payload, headers):
        """(HTTP status, body) of POST / with `payload` and `headers` (lower-case names), signed."""
        now = datetime.datetime.now(datetime.timezone.utc)
        amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
        headers = dict(headers, host=self.endpoint, **{"x-amz-date": amz_date})
        signed = ";".join(sorted(headers))
        canonical = "\n".join(["POST", "/", "", "".join(f"{k}:{headers[k]}\n" for k in sorted(headers)), signed,
                               hashlib.sha256(payload).hexdigest()])
        scope = f"{day}/{REGION}/{self.service}/aws4_request"
        to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
        sig = hmac.new(self._key(day), to_sign.encode(), hashlib.sha256).hexdigest()
        headers["authorization"] = (f"AWS4-HMAC-SHA256 Credential={self.access_key}/{scope}, "
                                    f"SignedHeaders={signed}, Signature={sig}")
        for attempt in range(2):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
                self.conn.request("POST", "/", body=payload, headers=headers)
                r = self.conn.getresponse()
                return r.status, r.read()
            except (ConnectionError, http.client.HTTPException, OSError):
                self.conn = None
                if attempt:
                    raise
