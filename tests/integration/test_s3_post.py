#!/usr/bin/python3
"""S3 POST Object: uploads from HTML forms, as browsers and boto3's generate_presigned_post make them.

A form carries a base64 policy signed with the uploader's key (SigV4 form fields, or SigV2 as boto3 1.29 still
makes them), the key (with ${filename}), representation fields and metadata, and the file last. Checked here:
what is stored and answered (204, 200, 201 with PostResponse, 303 to success_action_redirect), every refusal in
S3's words (a wrong signature, an expired policy, a failed condition, a file too large or too small, no key, a
field no condition covers, a body that is not multipart/form-data), anonymous forms (refused on a private bucket,
stored where the bucket policy lets anyone put), virtual-hosted buckets, a file streamed in many pieces, and a
real browser (headless Chromium) submitting a form built from generate_presigned_post.

Also the small differences from S3 found by trying clients: presigned URLs with X-Amz-Expires 0 or over a
week, a CORS preflight without Origin, POST on an object URL.
"""

import base64
import datetime
import hashlib
import hmac
import http.client
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import unittest
import urllib.parse
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (REGION, AnnexTestCase, error_code, http_request, presign_url, random_bucket,  # noqa: E402
                     md5_b64, raw_request, signing_key)
from s3_fixture import HAVE_BOTO3, S3TestCase  # noqa: E402

try:
    import requests
    HAVE_REQUESTS = True
except ImportError:
    HAVE_REQUESTS = False

CHROMIUM = "/usr/bin/chromium"
BOUNDARY = "----annexFormBoundary7MA4YWxkTrZu0gW"


def multipart(fields, file_content=b"", filename="upload.txt", file_type="text/plain", after=None, close=True):
    """A multipart/form-data body: `fields` in order (a list of pairs or a dict), then the file, then `after`."""
    items = list(fields.items()) if isinstance(fields, dict) else list(fields)
    out = b""
    for name, value in items:
        out += (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n").encode()
        out += value.encode() if isinstance(value, str) else value
        out += b"\r\n"
    if file_content is not None:
        out += (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n"
                f"Content-Type: {file_type}\r\n\r\n").encode()
        out += file_content + b"\r\n"
    for name, value in (after or {}).items():
        out += (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").encode()
    if close:
        out += f"--{BOUNDARY}--\r\n".encode()
    return out


def error_message(body):
    root = ET.fromstring(body)
    node = root.find(".//{*}Message")
    return node.text if node is not None else ""


def signed_form(access_key, secret_key, bucket, fields, conditions=None, expires_in=300, region=REGION,
                when=None):
    """A SigV4 form (fields + policy + signature), every field covered by a condition unless `conditions` given."""
    when = when or datetime.datetime.now(datetime.timezone.utc)
    date = when.strftime("%Y%m%d")
    form = dict(fields)
    form["x-amz-algorithm"] = "AWS4-HMAC-SHA256"
    form["x-amz-credential"] = f"{access_key}/{date}/{region}/s3/aws4_request"
    form["x-amz-date"] = when.strftime("%Y%m%dT%H%M%SZ")
    if conditions is None:
        conditions = [{"bucket": bucket}] + [{k: v} for k, v in form.items()]
    expiration = (when + datetime.timedelta(seconds=expires_in)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    policy = base64.b64encode(json.dumps({"expiration": expiration, "conditions": conditions}).encode()).decode()
    form["policy"] = policy
    form["x-amz-signature"] = hmac.new(signing_key(secret_key, date, region), policy.encode(),
                                       hashlib.sha256).hexdigest()
    return form


@unittest.skipUnless(HAVE_BOTO3, "boto3 is not installed for /usr/bin/python3")
class PostObjectTest(S3TestCase):
    client_config = {"signature_version": "s3v4"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.bucket = cls.new_bucket(prefix="post")

    def post(self, body, path=None, headers=None):
        u = urllib.parse.urlsplit(self.daemon.endpoint)
        h = {"Host": u.netloc, "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
        h.update(headers or {})
        return raw_request(u.hostname, u.port, "POST", path or f"/{self.bucket}", None, h, body)

    def form(self, fields, **kw):
        return signed_form(self.daemon.access_key, self.daemon.secret_key, self.bucket, fields, **kw)

    def assertRefused(self, response, status, code, message=None):
        got_status, _, body = response
        self.assertEqual((got_status, error_code(body)), (status, code), body[:600])
        if message is not None:
            self.assertEqual(error_message(body), message)

    def assertAbsent(self, key):
        with self.assertRaises(self.s3.exceptions.ClientError):
            self.s3.head_object(Bucket=self.bucket, Key=key)

    # -- what a form stores and answers ------------------------------------------

    @unittest.skipUnless(HAVE_REQUESTS, "python3-requests is not installed for /usr/bin/python3")
    def test_presigned_post_v4_with_requests(self):
        post = self.s3.generate_presigned_post(
            self.bucket, "docs/${filename}",
            Fields={"success_action_status": "201", "Content-Type": "text/markdown", "x-amz-meta-owner": "ada"},
            Conditions=[{"success_action_status": "201"}, ["starts-with", "$Content-Type", "text/"],
                        {"x-amz-meta-owner": "ada"}, ["content-length-range", 1, 1024]])
        self.assertIn("x-amz-signature", post["fields"])
        r = requests.post(post["url"], data=post["fields"], files={"file": ("notes.md", b"# hello\n")}, timeout=30)
        self.assertEqual(r.status_code, 201, r.text)
        etag = '"' + hashlib.md5(b"# hello\n").hexdigest() + '"'
        doc = ET.fromstring(r.content)
        self.assertEqual(doc.tag, "PostResponse")
        self.assertEqual(doc.findtext("Bucket"), self.bucket)
        self.assertEqual(doc.findtext("Key"), "docs/notes.md")
        self.assertEqual(doc.findtext("ETag"), etag)
        self.assertEqual(doc.findtext("Location"), f"{self.daemon.endpoint}/{self.bucket}/docs%2Fnotes.md")
        self.assertEqual(r.headers["ETag"], etag)
        got = self.s3.get_object(Bucket=self.bucket, Key="docs/notes.md")
        self.assertEqual(got["Body"].read(), b"# hello\n")
        self.assertEqual(got["ContentType"], "text/markdown")
        self.assertEqual(got["Metadata"], {"owner": "ada"})

    @unittest.skipUnless(HAVE_REQUESTS, "python3-requests is not installed for /usr/bin/python3")
    def test_presigned_post_v2_as_boto3_makes_it_by_default(self):
        s3v2 = self.daemon.boto3_client()  # botocore 1.29 signs POST policies with SigV2 unless told otherwise
        post = s3v2.generate_presigned_post(self.bucket, "v2/object.bin")
        self.assertIn("AWSAccessKeyId", post["fields"])
        r = requests.post(post["url"], data=post["fields"], files={"file": ("x", b"\x00\x01v2")}, timeout=30)
        self.assertEqual((r.status_code, r.text), (204, ""))
        self.assertEqual(self.s3.get_object(Bucket=self.bucket, Key="v2/object.bin")["Body"].read(), b"\x00\x01v2")
        post["fields"]["signature"] = base64.b64encode(b"0" * 20).decode()
        r = requests.post(post["url"], data=post["fields"], files={"file": ("x", b"other")}, timeout=30)
        self.assertEqual((r.status_code, error_code(r.content)), (403, "SignatureDoesNotMatch"))

    def test_success_statuses_and_redirect(self):
        for status, expected in (("200", 200), ("204", 204), ("404", 204)):
            key = f"status/{status}"
            status_code, headers, body = self.post(multipart(
                self.form({"key": key, "success_action_status": status}), b"abc"))
            self.assertEqual((status_code, body), (expected, b""))
            self.assertEqual(headers["etag"], '"' + hashlib.md5(b"abc").hexdigest() + '"')
            self.assertEqual(headers["location"], f"{self.daemon.endpoint}/{self.bucket}/status%2F{status}")
        redirect = "https://app.example.com/done?step=2"
        status_code, headers, _ = self.post(multipart(
            self.form({"key": "redirected", "success_action_redirect": redirect}), b"abc"))
        self.assertEqual(status_code, 303)
        etag = urllib.parse.quote('"' + hashlib.md5(b"abc").hexdigest() + '"', safe="")
        self.assertEqual(headers["location"], f"{redirect}&bucket={self.bucket}&key=redirected&etag={etag}")

    def test_virtual_hosted_bucket(self):
        host = f"{self.bucket}.s3.localhost:{self.daemon.port}"
        status, headers, body = self.post(multipart(
            self.form({"key": "a b/c", "success_action_status": "201"}), b"vh"), path="/", headers={"Host": host})
        self.assertEqual(status, 201, body)
        self.assertEqual(headers["location"], f"http://{host}/a%20b%2Fc")
        self.assertEqual(self.s3.get_object(Bucket=self.bucket, Key="a b/c")["Body"].read(), b"vh")

    def test_large_file_streams(self):
        data = os.urandom(1 << 20) * 24  # 24 MiB in one form
        status, headers, body = self.post(multipart(self.form({"key": "big.bin"}), data))
        self.assertEqual(status, 204, body)
        self.assertEqual(headers["etag"], '"' + hashlib.md5(data).hexdigest() + '"')
        head = self.s3.head_object(Bucket=self.bucket, Key="big.bin")
        self.assertEqual(head["ContentLength"], len(data))

    def test_file_is_streamed_not_buffered(self):
        def peak_rss_kib():
            with open(f"/proc/{self.daemon.proc.pid}/status") as f:
                return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
        before = peak_rss_kib()
        head = multipart(self.form({"key": "streamed.bin"}), None, close=False)
        head += (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"s.bin\"\r\n"
                 "Content-Type: application/octet-stream\r\n\r\n").encode()
        tail = f"\r\n--{BOUNDARY}--\r\n".encode()
        chunk, chunks = os.urandom(1 << 20), 96
        md5 = hashlib.md5()
        u = urllib.parse.urlsplit(self.daemon.endpoint)
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=120)
        try:
            conn.putrequest("POST", f"/{self.bucket}")
            conn.putheader("Content-Type", f"multipart/form-data; boundary={BOUNDARY}")
            conn.putheader("Content-Length", str(len(head) + len(chunk) * chunks + len(tail)))
            conn.endheaders()
            conn.send(head)
            for _ in range(chunks):
                conn.send(chunk)
                md5.update(chunk)
            conn.send(tail)
            r = conn.getresponse()
            self.assertEqual(r.status, 204, r.read())
            self.assertEqual(r.getheader("ETag"), '"' + md5.hexdigest() + '"')
        finally:
            conn.close()
        grown_mib = (peak_rss_kib() - before) / 1024
        self.assertLess(grown_mib, 48, f"annexd's peak memory grew by {grown_mib:.0f} MiB for a 96 MiB upload")

    def test_header_signed_form(self):
        body = multipart({"key": "header-signed"}, b"signed in the headers")
        headers = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
        status, _, answer = self.daemon.signed("POST", f"/{self.bucket}", body=body, headers=headers)
        self.assertEqual(status, 204, answer)
        self.assertEqual(self.s3.get_object(Bucket=self.bucket, Key="header-signed")["Body"].read(),
                         b"signed in the headers")
        # A body other than the one signed is refused when it ends, and nothing is stored.
        tampered = multipart({"key": "tampered"}, b"not what was signed")
        status, _, answer = self.daemon.signed("POST", f"/{self.bucket}", body=tampered, headers=headers,
                                               payload_hash=hashlib.sha256(body).hexdigest())
        self.assertEqual((status, error_code(answer)), (400, "XAmzContentSHA256Mismatch"), answer)
        self.assertAbsent("tampered")

    def test_integrity_fields(self):
        data = b"checked on arrival"
        sha256 = base64.b64encode(hashlib.sha256(data).digest()).decode()
        status, headers, body = self.post(multipart(self.form({"key": "sum", "x-amz-checksum-sha256": sha256}), data))
        self.assertEqual(status, 204, body)
        self.assertEqual(headers["x-amz-checksum-sha256"], sha256)
        head = self.s3.head_object(Bucket=self.bucket, Key="sum", ChecksumMode="ENABLED")
        self.assertEqual(head["ChecksumSHA256"], sha256)
        wrong_md5 = md5_b64(b"other")
        self.assertRefused(self.post(multipart(self.form({"key": "md5", "Content-MD5": wrong_md5}), data)), 400,
                           "BadDigest")
        self.assertAbsent("md5")

    def test_fields_after_the_file_are_ignored(self):
        body = multipart(self.form({"key": "first"}), b"kept", after={"key": "second", "acl": "bogus"})
        self.assertEqual(self.post(body)[0], 204)
        self.assertEqual(self.s3.get_object(Bucket=self.bucket, Key="first")["Body"].read(), b"kept")
        self.assertAbsent("second")

    # -- refusals, in S3's words ----------------------------------------------------

    def test_wrong_signature(self):
        form = self.form({"key": "bad-sig"})
        form["x-amz-signature"] = "0" * 64
        self.assertRefused(self.post(multipart(form, b"x")), 403, "SignatureDoesNotMatch")
        wrong_secret = signed_form(self.daemon.access_key, "not-the-secret", self.bucket, {"key": "bad-sig"})
        self.assertRefused(self.post(multipart(wrong_secret, b"x")), 403, "SignatureDoesNotMatch")
        unknown = signed_form("AKIAUNKNOWNKEY000000", "x", self.bucket, {"key": "bad-sig"})
        self.assertRefused(self.post(multipart(unknown, b"x")), 403, "InvalidAccessKeyId")
        self.assertAbsent("bad-sig")

    def test_expired_policy(self):
        form = self.form({"key": "expired"}, expires_in=-60)
        self.assertRefused(self.post(multipart(form, b"x")), 403, "AccessDenied",
                           "Invalid according to Policy: Policy expired.")
        self.assertAbsent("expired")

    def test_condition_failed(self):
        form = self.form({"key": "outside/x"}, conditions=[
            {"bucket": self.bucket}, ["starts-with", "$key", "inside/"], {"x-amz-algorithm": "AWS4-HMAC-SHA256"},
            ["starts-with", "$x-amz-credential", ""], ["starts-with", "$x-amz-date", ""]])
        self.assertRefused(self.post(multipart(form, b"x")), 403, "AccessDenied",
                           'Invalid according to Policy: Policy Condition failed: ["starts-with", "$key", "inside/"]')
        form = self.form({"key": "k", "Content-Type": "text/html"})
        form["Content-Type"] = "image/png"  # changed after signing
        self.assertRefused(self.post(multipart(form, b"x")), 403, "AccessDenied",
                           'Invalid according to Policy: Policy Condition failed: ["eq", "$Content-Type", "text/html"]')
        form = self.form({"key": "extra"})
        form["x-amz-meta-sneaky"] = "1"  # a field no condition names
        self.assertRefused(self.post(multipart(form, b"x")), 403, "AccessDenied",
                           "Invalid according to Policy: Extra input fields: x-amz-meta-sneaky")
        self.assertAbsent("outside/x")
        self.assertAbsent("extra")

    def test_content_length_range(self):
        def form(key):
            fields = {"key": key}
            conditions = [{"bucket": self.bucket}, {"key": key}, ["content-length-range", 5, 10],
                          ["starts-with", "$x-amz-algorithm", ""], ["starts-with", "$x-amz-credential", ""],
                          ["starts-with", "$x-amz-date", ""]]
            return self.form(fields, conditions=conditions)
        self.assertRefused(self.post(multipart(form("large"), b"x" * 11)), 400, "EntityTooLarge",
                           "Your proposed upload exceeds the maximum allowed size")
        self.assertRefused(self.post(multipart(form("large"), b"x" * (3 << 20))), 400, "EntityTooLarge")
        self.assertRefused(self.post(multipart(form("small"), b"x" * 4)), 400, "EntityTooSmall",
                           "Your proposed upload is smaller than the minimum allowed size")
        self.assertEqual(self.post(multipart(form("fits"), b"x" * 10))[0], 204)
        self.assertAbsent("large")
        self.assertAbsent("small")

    def test_missing_key(self):
        form = self.form({"acl": "private"})
        self.assertRefused(self.post(multipart(form, b"x")), 400, "InvalidArgument",
                           "Bucket POST must contain a field named 'key'.  If it is specified, please check the "
                           "order of the fields.")
        # A key after the file is not read.
        body = multipart(self.form({"acl": "private"}), b"x", after={"key": "late"})
        self.assertRefused(self.post(body), 400, "InvalidArgument")

    def test_bad_policy_document(self):
        form = self.form({"key": "p"})
        form["policy"] = base64.b64encode(b"{not json").decode()
        date = form["x-amz-credential"].split("/")[1]
        form["x-amz-signature"] = hmac.new(signing_key(self.daemon.secret_key, date), form["policy"].encode(),
                                           hashlib.sha256).hexdigest()
        self.assertRefused(self.post(multipart(form, b"x")), 400, "InvalidPolicyDocument",
                           "Invalid Policy: Invalid JSON.")

    def test_bodies_that_are_not_forms(self):
        form = self.form({"key": "nf"})
        self.assertRefused(self.post(b"key=nf", headers={"Content-Type": "application/x-www-form-urlencoded"}),
                           412, "PreconditionFailed")
        self.assertRefused(self.post(multipart(form, b"x"), headers={"Content-Type": "multipart/form-data"}),
                           400, "MalformedPOSTRequest",
                           "The body of your POST request is not well-formed multipart/form-data.")
        self.assertRefused(self.post(multipart(form, b"x", close=False)), 400, "MalformedPOSTRequest")
        self.assertRefused(self.post(b"key=nf&file=x"), 400, "MalformedPOSTRequest")
        self.assertRefused(self.post(multipart(form, None)), 400, "InvalidArgument",
                           "POST requires exactly one file upload per request.")
        self.assertRefused(self.post(multipart({"x-ignore-pad": "p" * 21000, **form}, b"x")), 400,
                           "MaxPostPreDataLengthExceededError")
        self.assertRefused(self.post(multipart(form, b"x"), path="/no-such-bucket-here"), 404, "NoSuchBucket")
        self.assertAbsent("nf")

    def test_anonymous_forms(self):
        body = multipart({"key": "anon.txt"}, b"hi")
        self.assertRefused(self.post(body), 403, "AccessDenied")
        drop = self.new_bucket(prefix="drop", ObjectOwnership="ObjectWriter")  # public-read below is an ACL
        self.s3.put_bucket_policy(Bucket=drop, Policy=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:PutObject",
                           "Resource": f"arn:aws:s3:::{drop}/inbox/*"}]}))
        self.assertEqual(self.post(multipart({"key": "inbox/anon.txt"}, b"hi"), path=f"/{drop}")[0], 204)
        self.assertEqual(self.s3.get_object(Bucket=drop, Key="inbox/anon.txt")["Body"].read(), b"hi")
        self.assertRefused(self.post(multipart({"key": "elsewhere.txt"}, b"hi"), path=f"/{drop}"), 403,
                           "AccessDenied")
        # The form's acl field is the request's s3:x-amz-acl.
        self.s3.put_bucket_policy(Bucket=drop, Policy=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:PutObject",
                           "Resource": f"arn:aws:s3:::{drop}/public/*",
                           "Condition": {"StringEquals": {"s3:x-amz-acl": "public-read"}}}]}))
        self.assertRefused(self.post(multipart({"key": "public/a"}, b"hi"), path=f"/{drop}"), 403, "AccessDenied")
        body = multipart({"key": "public/a", "acl": "public-read"}, b"hi")
        self.assertEqual(self.post(body, path=f"/{drop}")[0], 204)
        self.assertEqual(http_request("GET", f"{self.daemon.endpoint}/{drop}/public/a")[:3:2], (200, b"hi"))
        # Signature fields without a policy name the missing policy.
        form = self.form({"key": "inbox/x"})
        del form["policy"]
        self.assertRefused(self.post(multipart(form, b"x"), path=f"/{drop}"), 400, "InvalidArgument",
                           "Bucket POST must contain a field named 'policy'.  If it is specified, please check the "
                           "order of the fields.")

    def test_signer_needs_put_permission(self):
        alice = "alice-" + random_bucket("u")[-6:]
        import boto3
        client = boto3.session.Session().client(
            "iam", endpoint_url=self.daemon.endpoint, region_name=REGION, aws_access_key_id=self.daemon.access_key,
            aws_secret_access_key=self.daemon.secret_key)
        client.create_user(UserName=alice)
        key = client.create_access_key(UserName=alice)["AccessKey"]
        form = signed_form(key["AccessKeyId"], key["SecretAccessKey"], self.bucket, {"key": "by-alice"})
        self.assertRefused(self.post(multipart(form, b"x")), 403, "AccessDenied", "Access Denied")
        client.put_user_policy(UserName=alice, PolicyName="put", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:PutObject",
                           "Resource": f"arn:aws:s3:::{self.bucket}/by-alice"}]}))
        form = signed_form(key["AccessKeyId"], key["SecretAccessKey"], self.bucket, {"key": "by-alice"})
        self.assertEqual(self.post(multipart(form, b"alice"))[0], 204)


class SmallDifferencesTest(AnnexTestCase):
    """Answers that differed from S3's, each checked with raw HTTP."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.bucket = random_bucket("diff")
        status, _, body = cls.daemon.signed("PUT", f"/{cls.bucket}")
        assert status == 200, body
        cls.daemon.signed("PUT", f"/{cls.bucket}/k", body=b"x")

    def test_presigned_expires_out_of_range(self):
        d = self.daemon
        status, _, body = http_request("GET", presign_url(d.endpoint, "GET", f"/{self.bucket}/k", *d.creds(),
                                                          expires=0))
        self.assertEqual((status, error_code(body), error_message(body)), (403, "AccessDenied", "Request has expired"))
        status, _, body = http_request("GET", presign_url(d.endpoint, "GET", f"/{self.bucket}/k", *d.creds(),
                                                          expires=604801))
        self.assertEqual((status, error_code(body)), (400, "AuthorizationQueryParametersError"))
        self.assertEqual(error_message(body), "X-Amz-Expires must be less than a week (in seconds); that is, the "
                                              "given X-Amz-Expires must be less than 604800 seconds")
        status, _, body = http_request("GET", presign_url(d.endpoint, "GET", f"/{self.bucket}/k", *d.creds(),
                                                          expires=604800))
        self.assertEqual((status, body), (200, b"x"))

    def test_preflight_without_origin(self):
        for path in (f"/{self.bucket}/k", f"/{self.bucket}", "/", "/no-such-bucket-x/k", "/ab/k"):
            status, _, body = http_request("OPTIONS", self.daemon.endpoint + path,
                                           headers={"Access-Control-Request-Method": "GET"})
            self.assertEqual((status, error_code(body), error_message(body)),
                             (400, "BadRequest", "Insufficient information. Origin request header needed."), path)
        status, _, body = http_request("OPTIONS", self.daemon.endpoint + f"/{self.bucket}/k",
                                       headers={"Origin": "https://app.example.com"})
        self.assertEqual((status, error_code(body), error_message(body)),
                         (400, "BadRequest", "Invalid Access-Control-Request-Method: null"))

    def test_post_to_an_object_url(self):
        status, _, body = self.daemon.signed("POST", f"/{self.bucket}/k", body=b"")
        self.assertEqual((status, error_code(body)), (405, "MethodNotAllowed"))
        status, _, body = self.daemon.signed("POST", "/", body=b"")
        self.assertEqual((status, error_code(body)), (405, "MethodNotAllowed"))


class _Pages(http.server.BaseHTTPRequestHandler):
    """Serves the upload page, and the page the upload redirects to (which shows its query)."""
    page = b""

    def do_GET(self):  # noqa: N802 - the http.server interface
        if self.path.startswith("/done"):
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
            body = ("<html><body><pre id=result>" + json.dumps({k: v[0] for k, v in query.items()}) +
                    "</pre></body></html>").encode()
        else:
            body = self.page
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@unittest.skipUnless(HAVE_BOTO3, "boto3 is not installed for /usr/bin/python3")
@unittest.skipUnless(os.path.exists(CHROMIUM), f"{CHROMIUM} is not installed (scripts/install-deps.sh --test adds it)")
class BrowserFormTest(S3TestCase):
    """Headless Chromium submits an HTML form built from generate_presigned_post, with a file it attaches itself."""

    client_config = {"signature_version": "s3v4"}

    def test_browser_form_upload(self):
        s3 = self.s3
        bucket = self.new_bucket(prefix="browser")
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Pages)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.addCleanup(server.shutdown)
        done = f"http://127.0.0.1:{server.server_address[1]}/done"
        post = s3.generate_presigned_post(
            bucket, "from-browser/${filename}",
            Fields={"success_action_redirect": done, "Content-Type": "text/plain", "x-amz-meta-source": "chromium"},
            Conditions=[{"success_action_redirect": done}, ["starts-with", "$Content-Type", "text/"],
                        {"x-amz-meta-source": "chromium"}, ["content-length-range", 1, 4096]])
        content = "Grüße from a real browser form\n"
        inputs = "".join(f'<input type="hidden" name="{k}" value="{v}">' for k, v in post["fields"].items())
        # The page attaches a file to the form's file input itself (a user would pick one), then submits.
        _Pages.page = f"""<!doctype html><html><body>
<form id="f" action="{post['url']}" method="post" enctype="multipart/form-data">{inputs}
<input type="file" name="file" id="file"></form>
<script>
const dt = new DataTransfer();
dt.items.add(new File([{json.dumps(content)}], "hello.txt", {{type: "text/plain"}}));
document.getElementById("file").files = dt.files;
document.getElementById("f").submit();
</script></body></html>""".encode()
        profile = tempfile.mkdtemp(prefix="annex-chromium-")
        self.addCleanup(shutil.rmtree, profile, True)
        page = f"http://127.0.0.1:{server.server_address[1]}/upload"
        p = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                            f"--user-data-dir={profile}", "--virtual-time-budget=20000", "--dump-dom", page],
                           capture_output=True, text=True, timeout=120)
        self.assertIn("id=\"result\"", p.stdout, p.stderr[-2000:])
        result = json.loads(p.stdout.split('<pre id="result">', 1)[1].split("</pre>", 1)[0].replace("&quot;", '"'))
        data = content.encode()
        self.assertEqual(result, {"bucket": bucket, "key": "from-browser/hello.txt",
                                  "etag": '"' + hashlib.md5(data).hexdigest() + '"'})
        got = s3.get_object(Bucket=bucket, Key="from-browser/hello.txt")
        self.assertEqual(got["Body"].read(), data)
        self.assertEqual(got["ContentType"], "text/plain")
        self.assertEqual(got["Metadata"], {"source": "chromium"})


if __name__ == "__main__":
    harness.main()
