#!/usr/bin/python3
"""Replayed header-signed requests with x-amz-* headers added after signing.

A request signed by botocore (as boto3 and awscli sign it) is sent again
within its 15 minutes with a header that is not in SignedHeaders: a public
ACL, a copy source, injected metadata, an unsigned x-amz-content-sha256.
Each must be refused (403 AccessDenied, as S3 answers "There were headers
present in the request which were not signed") and leave the store as it
was. Also: a scope naming another region, and an upper-case hex signature.
"""

import hashlib
import os
import sys
import unittest
import urllib.parse
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import REGION, AnnexTestCase, error_code, random_bucket  # noqa: E402

try:
    from botocore.auth import S3SigV4Auth, SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    HAVE_BOTOCORE = True
except ImportError:
    HAVE_BOTOCORE = False

NOT_SIGNED = "There were headers present in the request which were not signed"


def error_message(body):
    root = ET.fromstring(body)
    node = root.find(".//{*}Message")
    if node is None:
        node = root.find(".//Message")
    return node.text if node is not None else ""


@unittest.skipUnless(HAVE_BOTOCORE, "botocore is not installed for /usr/bin/python3")
class UnsignedHeadersTest(AnnexTestCase):

    def setUp(self):
        super().setUp()
        self.bucket = random_bucket("unsigned")
        self.ok(self.daemon.signed("PUT", f"/{self.bucket}"))
        self.ok(self.daemon.signed("PUT", f"/{self.bucket}/secret.txt", body=b"top secret"))
        self.ok(self.daemon.signed("PUT", f"/{self.bucket}/target", body=b"original"))

    # -- helpers ------------------------------------------------------------------

    def ok(self, response):
        status, _, body = response
        self.assertIn(status, (200, 204), body[:500])
        return response

    def sign(self, method, path, body=b"", headers=None, region=REGION, service="s3", auth=None):
        """A request signed by botocore: (method, path, headers) ready to send unchanged or amended."""
        url = self.daemon.endpoint + urllib.parse.quote(path)
        request = AWSRequest(method=method, url=url, data=body, headers=dict(headers or {}))
        credentials = Credentials(self.daemon.access_key, self.daemon.secret_key)
        (auth or S3SigV4Auth)(credentials, service, region).add_auth(request)
        return method, urllib.parse.quote(path), dict(request.headers.items()), body

    def send(self, signed, **added):
        """Sends `signed` with `added` headers (x_amz_acl= becomes x-amz-acl) appended after signing."""
        method, path, headers, body = signed
        headers = dict(headers)
        for name, value in added.items():
            headers[name.replace("_", "-")] = value
        u = urllib.parse.urlsplit(self.daemon.endpoint)
        headers["Host"] = u.netloc
        return harness.raw_request(u.hostname, u.port, method, path, None, headers, body)

    def assertRefused(self, response, status=403, code="AccessDenied", message=NOT_SIGNED):
        got, _, body = response
        self.assertEqual(got, status, body[:500])
        self.assertEqual(error_code(body), code, body[:500])
        self.assertIn(message, error_message(body))

    def get(self, key, anonymous=False):
        if anonymous:
            return harness.http_request("GET", f"{self.daemon.endpoint}/{self.bucket}/{key}")
        return self.daemon.signed("GET", f"/{self.bucket}/{key}")

    # -- the replays ----------------------------------------------------------------

    def test_added_acl_does_not_make_the_object_public(self):
        signed = self.sign("PUT", f"/{self.bucket}/target", body=b"replayed")
        self.assertRefused(self.send(signed, x_amz_acl="public-read"))
        self.assertEqual(self.get("target", anonymous=True)[0], 403)
        self.assertEqual(self.get("target")[2], b"original")
        # The request as signed is accepted: the refusal was the added header.
        self.ok(self.send(signed))
        self.assertEqual(self.get("target")[2], b"replayed")
        self.assertEqual(self.get("target", anonymous=True)[0], 403)

    def test_added_copy_source_does_not_copy(self):
        signed = self.sign("PUT", f"/{self.bucket}/copy")
        response = self.send(signed, x_amz_copy_source=f"/{self.bucket}/secret.txt")
        self.assertRefused(response)
        self.assertNotIn(b"top secret", response[2])
        self.assertEqual(self.get("copy")[0], 404)

    def test_added_metadata_is_not_stored(self):
        signed = self.sign("PUT", f"/{self.bucket}/target", body=b"replayed",
                           headers={"x-amz-meta-signed": "yes"})
        self.assertRefused(self.send(signed, x_amz_meta_injected="yes"))
        status, headers, body = self.get("target")
        self.assertEqual((status, body), (200, b"original"))
        self.assertNotIn("x-amz-meta-injected", headers)
        self.assertNotIn("x-amz-meta-signed", headers)

    def test_every_unsigned_header_is_named(self):
        signed = self.sign("PUT", f"/{self.bucket}/target", body=b"replayed")
        response = self.send(signed, x_amz_acl="public-read", x_amz_meta_a="1")
        self.assertRefused(response, message=f"{NOT_SIGNED}: x-amz-acl, x-amz-meta-a")
        self.assertEqual(self.get("target")[2], b"original")

    def test_unsigned_content_sha256_is_refused(self):
        # Generic SigV4 signs the payload without sending x-amz-content-sha256;
        # the header added afterwards is present but not signed.
        body = b"replayed"
        signed = self.sign("PUT", f"/{self.bucket}/target", body=body, auth=SigV4Auth)
        self.assertNotIn("x-amz-content-sha256", signed[2]["Authorization"])
        response = self.send(signed, x_amz_content_sha256=hashlib.sha256(body).hexdigest())
        self.assertRefused(response, message=f"{NOT_SIGNED}: x-amz-content-sha256")
        self.assertEqual(self.get("target")[2], b"original")

    def test_unsigned_header_refused_for_iam_too(self):
        body = b"Action=ListUsers&Version=2010-05-08"
        signed = self.sign("POST", "/", body=body, service="iam", auth=SigV4Auth,
                           headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
        self.ok(self.send(signed))
        self.assertRefused(self.send(signed, x_amz_security_token="forged"))

    def test_other_region_names_the_expected_one(self):
        signed = self.sign("PUT", f"/{self.bucket}/target", body=b"replayed", region="eu-west-1")
        self.assertRefused(self.send(signed), status=400, code="AuthorizationHeaderMalformed",
                           message=f"the region 'eu-west-1' is wrong; expecting '{REGION}'")
        self.assertEqual(self.get("target")[2], b"original")

    def test_upper_case_hex_signature_does_not_match(self):
        method, path, headers, body = self.sign("PUT", f"/{self.bucket}/target", body=b"replayed")
        authorization, signature = headers["Authorization"].rsplit("Signature=", 1)
        headers["Authorization"] = authorization + "Signature=" + signature.upper()
        self.assertRefused(self.send((method, path, headers, body)), code="SignatureDoesNotMatch",
                           message="signature")
        self.assertEqual(self.get("target")[2], b"original")


if __name__ == "__main__":
    harness.main()
