#!/usr/bin/python3
"""Bad input against a real annexd: every request gets its S3 error and leaves the store unchanged.

Raw HTTP (http.client / sockets) with SigV4 signing from the harness, so each
request is exactly what the test says, byte for byte.
"""

import base64
import datetime
import hashlib
import hmac
import json
import os
import socket
import sys
import time
import unittest
import urllib.parse
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import AnnexTestCase, error_code, md5_b64, random_bucket, uri_encode  # noqa: E402

UNSIGNED = "UNSIGNED-PAYLOAD"


def sha256_hex(b):
    return hashlib.sha256(b).hexdigest()


def crc32_b64(b):
    return base64.b64encode(zlib.crc32(b).to_bytes(4, "big")).decode()


class BadInputTest(AnnexTestCase):

    def setUp(self):
        super().setUp()
        self.bucket = random_bucket("bad")
        self.ok("PUT", f"/{self.bucket}")
        self.ok("PUT", f"/{self.bucket}/keep", body=b"original content")
        self.baseline = self.snapshot()

    # -- helpers ------------------------------------------------------------------

    def req(self, method, path, **kw):
        return self.daemon.signed(method, path, **kw)

    def ok(self, method, path, **kw):
        status, headers, body = self.req(method, path, **kw)
        self.assertIn(status, (200, 204), f"{method} {path}: {status} {body[:500]!r}")
        return headers, body

    def assertS3Error(self, response, status, *codes):
        got_status, headers, body = response
        code = error_code(body)
        self.assertEqual(got_status, status, f"want {status} {codes}, got {got_status}: {body[:500]!r}")
        self.assertIn(code, codes, f"want one of {codes}, got {code}: {body[:500]!r}")
        self.assertTrue(headers.get("content-type", "").startswith(("application/xml", "text/xml")), headers)
        self.assertTrue(headers.get("x-amz-request-id"), "errors carry x-amz-request-id")

    def list_keys(self, bucket=None):
        """[(key, etag, size)] of the bucket, through ListObjectsV2 with url encoding (any key survives)."""
        bucket = bucket or self.bucket
        out, token = [], None
        while True:
            q = {"list-type": "2", "encoding-type": "url"}
            if token:
                q["continuation-token"] = token
            status, _, body = self.req("GET", f"/{bucket}", query=q)
            self.assertEqual(status, 200, body)
            import xml.etree.ElementTree as ET
            root = ET.fromstring(body)
            ns = root.tag.split("}")[0] + "}" if root.tag.startswith("{") else ""
            for c in root.findall(f"{ns}Contents"):
                out.append((urllib.parse.unquote_plus(c.find(f"{ns}Key").text), c.find(f"{ns}ETag").text,
                            int(c.find(f"{ns}Size").text)))
            if root.findtext(f"{ns}IsTruncated") != "true":
                return out
            token = root.findtext(f"{ns}NextContinuationToken")

    def list_buckets(self):
        status, _, body = self.req("GET", "/")
        self.assertEqual(status, 200, body)
        return sorted(harness.xml_findall_text(body, "Name"))

    def snapshot(self):
        status, _, keep = self.req("GET", f"/{self.bucket}/keep")
        return {"keys": self.list_keys(), "keep": (status, keep), "buckets": self.list_buckets(),
                "uploads": self.list_uploads()}

    def list_uploads(self):
        status, _, body = self.req("GET", f"/{self.bucket}", query={"uploads": ""})
        self.assertEqual(status, 200, body)
        return harness.xml_findall_text(body, "UploadId")

    def assertUnchanged(self):
        self.assertTrue(self.healthy(), "annexd no longer healthy")
        self.assertEqual(self.snapshot(), self.baseline, "the store changed")

    def healthy(self):
        try:
            return harness.http_request("GET", self.daemon.endpoint + "/_annex/health", timeout=5)[0] == 200
        except OSError:
            return False

    def tmp_files(self):
        tmp = self.daemon.data_dir / "objectstore" / "tmp"
        return sorted(os.listdir(tmp)) if tmp.is_dir() else []

    def assertNoTempFilesEventually(self, timeout=10):
        deadline = time.monotonic() + timeout
        while self.tmp_files() and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertEqual(self.tmp_files(), [], "temporary files left behind")

    def raw_socket_request(self, head, body=b"", read=True, timeout=10):
        """Sends bytes on a fresh connection; returns (status, body) or None if the server closed it."""
        s = socket.create_connection(("127.0.0.1", self.daemon.port), timeout=timeout)
        try:
            s.sendall(head + body)
            if not read:
                return None
            data = b""
            while True:
                try:
                    chunk = s.recv(65536)
                except (ConnectionResetError, socket.timeout):
                    break
                if not chunk:
                    break
                data += chunk
                if b"\r\n\r\n" in data:
                    head_part, _, rest = data.partition(b"\r\n\r\n")
                    length = None
                    for line in head_part.split(b"\r\n")[1:]:
                        k, _, v = line.partition(b":")
                        if k.strip().lower() == b"content-length":
                            length = int(v.strip())
                    if length is not None and len(rest) >= length:
                        break
            if not data:
                return None
            status = int(data.split(b" ", 2)[1])
            return status, data.partition(b"\r\n\r\n")[2]
        finally:
            s.close()

    def signed_head(self, method, path, headers, payload_hash, query=None, when=None, creds=None):
        creds = creds or self.daemon.creds()
        host = f"127.0.0.1:{self.daemon.port}"
        h = harness.sign_headers(method, host, path, query, headers, payload_hash, creds[0], creds[1], when=when)
        target = uri_encode(path) + ("?" + harness.canonical_query(query) if query else "")
        lines = [f"{method} {target} HTTP/1.1"] + [f"{k}: {v}" for k, v in h.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    # -- malformed XML ----------------------------------------------------------------

    def test_unknown_services_are_refused_in_the_callers_protocol(self):
        # A JSON-protocol client (X-Amz-Target) gets a JSON error it can parse.
        status, headers, body = self.daemon.signed(
            "POST", "/", body=b"{}", service="events",
            headers={"X-Amz-Target": "AWSEvents.PutRule", "Content-Type": "application/x-amz-json-1.1"})
        self.assertEqual(status, 400, body)
        self.assertEqual(json.loads(body)["__type"], "UnknownOperationException")
        self.assertEqual(headers.get("x-amzn-errortype"), "UnknownOperationException")
        # A Query client gets <ErrorResponse>, naming the service it asked for.
        status, _, body = self.daemon.signed(
            "POST", "/", body=b"Action=ListMetrics&Version=2010-08-01", service="monitoring",
            headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
        self.assertEqual(status, 501, body)
        self.assertIn(b"<ErrorResponse>", body)
        self.assertIn(b"<Code>NotImplemented</Code>", body)
        self.assertIn(b"'monitoring'", body)
        # A REST client gets S3-style XML.
        status, _, body = self.daemon.signed("GET", "/2015-03-31/functions", service="lambda")
        self.assertEqual(status, 501, body)
        self.assertIn(b"<Error><Code>NotImplemented</Code>", body)

    def test_large_signed_query_bodies_are_verified_while_they_stream(self):
        # Query and JSON clients sign sha256(body) without sending it: bodies over
        # 1 MiB are spooled and hashed as they stream, then the signature checked.
        form = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
        body = b"Action=ListUsers&Version=2010-05-08&Marker=" + b"m" * (3 << 20)
        status, _, answer = self.daemon.signed("POST", "/", body=body, service="iam", headers=form)
        self.assertNotIn(b"SignatureDoesNotMatch", answer)
        self.assertNotEqual(status, 403, answer[:300])
        # The same body altered after signing is refused.
        tampered = body[:-1] + b"n"
        status, _, answer = self.daemon.signed("POST", "/", body=tampered, service="iam", headers=form,
                                               payload_hash=hashlib.sha256(body).hexdigest())
        self.assertEqual(status, 403, answer[:300])
        self.assertIn(b"SignatureDoesNotMatch", answer)

    def test_signed_bodies_past_the_bound_are_refused_unread(self):
        # The edge reads a signed Query body before the service runs; one
        # declared larger than the bound (80 MiB) is refused from its
        # Content-Length, in the caller's protocol, without being read.
        url = urllib.parse.urlparse(self.daemon.endpoint)
        headers = {"Host": url.netloc, "Content-Type": "application/x-www-form-urlencoded",
                   "Content-Length": str(100 << 20), "X-Amz-Date": "20260101T000000Z",
                   "Authorization": "AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20260101/us-east-1/iam/aws4_request, "
                                    "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64}
        started = time.monotonic()
        status, _, body = harness.raw_request(url.hostname, url.port, "POST", "/", None, headers,
                                              body=b"Action=ListUsers", timeout=20)
        self.assertEqual(status, 413, body)
        self.assertEqual(error_code(body), "RequestEntityTooLarge")
        self.assertLess(time.monotonic() - started, 10, "answered without waiting for the body")

    def test_malformed_xml_complete_multipart_upload(self):
        status, _, body = self.req("POST", f"/{self.bucket}/mp", query={"uploads": ""})
        self.assertEqual(status, 200, body)
        upload_id = harness.xml_findall_text(body, "UploadId")[0]
        status, headers, _ = self.req("PUT", f"/{self.bucket}/mp", query={"partNumber": "1", "uploadId": upload_id},
                                      body=b"part one")
        self.assertEqual(status, 200)
        self.baseline = self.snapshot()
        etag = headers["etag"]
        bodies = (b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>",
                  b"not xml at all",
                  b"<CompleteMultipartUpload><Part><PartNumber>one</PartNumber><ETag>" + etag.encode()
                  + b"</ETag></Part></CompleteMultipartUpload>",
                  b"",
                  # Well-formed XML has one root element: trailing content makes it malformed.
                  b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>" + etag.encode()
                  + b"</ETag></Part></CompleteMultipartUpload><trailing/>")
        for bad in bodies:
            with self.subTest(body=bad):
                self.assertS3Error(self.req("POST", f"/{self.bucket}/mp", query={"uploadId": upload_id}, body=bad),
                                   400, "MalformedXML")
        self.assertUnchanged()
        # The upload is still there and completes normally afterwards.
        good = (f"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{etag}</ETag></Part>"
                "</CompleteMultipartUpload>").encode()
        status, _, body = self.req("POST", f"/{self.bucket}/mp", query={"uploadId": upload_id}, body=good)
        self.assertEqual(status, 200, body)
        self.assertEqual(self.req("GET", f"/{self.bucket}/mp")[2], b"part one")

    def test_malformed_xml_delete_objects(self):
        for bad in (b"<Delete><Object><Key>keep</Key></Object>",
                    b"{\"Objects\": [\"keep\"]}",
                    b"<Delete><Object><Key>keep</Key></Object></Delete" + b"\x00",
                    b"<Delete><Object><Key>keep</Key></Object></Delete><Delete/>"):
            with self.subTest(body=bad):
                self.assertS3Error(self.req("POST", f"/{self.bucket}", query={"delete": ""}, body=bad,
                                            headers={"Content-MD5": md5_b64(bad)}), 400, "MalformedXML")
        self.assertUnchanged()

    def test_xml_entity_expansion_is_harmless(self):
        bomb = (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "keep"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
                b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY e "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>'
                b"<Delete><Object><Key>&a;</Key></Object><Object><Key>&e;</Key></Object></Delete>")
        status, _, body = self.req("POST", f"/{self.bucket}", query={"delete": ""}, body=bomb,
                                   headers={"Content-MD5": md5_b64(bomb)})
        self.assertLess(status, 500, body)
        self.assertTrue(self.healthy())
        # An entity must not have been expanded into the key "keep".
        self.assertUnchanged()

    def test_malformed_xml_put_bucket_cors(self):
        for bad in (b"<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin>",
                    b"<CORSConfiguration><CORSRule></CORSConfiguration></CORSRule>",
                    b"garbage",
                    b"<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>"
                    b"</CORSRule></CORSConfiguration><CORSConfiguration/>"):
            with self.subTest(body=bad):
                self.assertS3Error(self.req("PUT", f"/{self.bucket}", query={"cors": ""}, body=bad,
                                            headers={"Content-MD5": md5_b64(bad)}), 400, "MalformedXML")
        self.assertS3Error(self.req("GET", f"/{self.bucket}", query={"cors": ""}), 404, "NoSuchCORSConfiguration")
        self.assertUnchanged()

    # -- names and keys -------------------------------------------------------------------

    def test_invalid_bucket_names(self):
        for bad in ("ab", "UPPER", "under_score", "a..b", "-dash", "dash-", "192.168.1.1", "a" * 64, "sp%20ace"):
            path = "/" + urllib.parse.unquote(bad)
            self.assertS3Error(self.req("PUT", path), 400, "InvalidBucketName")
        self.assertUnchanged()

    def test_dot_dot_keys_are_plain_keys(self):
        keys = ["../escape", "../../../../etc/passwd", "a/../b", "a/./b", "a//b", "./x", "..", ".", "/lead",
                "..\\..\\win"]
        for k in keys:
            status, _, body = self.req("PUT", f"/{self.bucket}/{k}", body=k.encode())
            self.assertEqual(status, 200, f"{k!r}: {body!r}")
        for k in keys:
            status, _, body = self.req("GET", f"/{self.bucket}/{k}")
            self.assertEqual((status, body), (200, k.encode()), k)
        listed = [k for k, _, _ in self.list_keys()]
        self.assertEqual(listed, sorted(keys + ["keep"], key=lambda s: s.encode()))
        # Nothing resolved the dots: "b" and "etc/passwd" do not exist.
        for k in ("b", "etc/passwd", "x", "escape"):
            self.assertS3Error(self.req("GET", f"/{self.bucket}/{k}"), 404, "NoSuchKey")
        # And nothing was written outside the data directory.
        self.assertFalse((self.daemon.data_dir.parent / "escape").exists())
        self.assertFalse((self.daemon.data_dir / "escape").exists())
        for k in keys:
            self.ok("DELETE", f"/{self.bucket}/{k}")
        self.assertUnchanged()

    def test_key_with_nul_byte(self):
        status, _, body = self.req("PUT", f"/{self.bucket}/nul\x00byte", body=b"nul")
        if status == 200:
            # Accepted: it must be that exact key, not a truncated one.
            status, _, got = self.req("GET", f"/{self.bucket}/nul\x00byte")
            self.assertEqual((status, got), (200, b"nul"))
            self.assertIn("nul\x00byte", [k for k, _, _ in self.list_keys()])
            self.assertS3Error(self.req("GET", f"/{self.bucket}/nul"), 404, "NoSuchKey")
        else:
            self.assertS3Error((status, _, body), 400, "InvalidArgument", "InvalidObjectName", "InvalidURI")
            self.assertUnchanged()

    def test_key_length_limit(self):
        self.assertS3Error(self.req("PUT", f"/{self.bucket}/" + "k" * 1025, body=b"x"), 400, "KeyTooLongError")
        self.assertS3Error(self.req("PUT", f"/{self.bucket}/" + "é" * 513, body=b"x"), 400, "KeyTooLongError")
        self.assertUnchanged()
        # 1024 bytes is fine, including long keys that share a long prefix; they list in byte order.
        long_keys = ["k" * 1024, "k" * 500 + "b" + "k" * 523, "k" * 500 + "a" + "z" * 523, "k" * 500 + "c",
                     "日" * 341 + "a", "k" * 400 + "/" + "x" * 623]
        for k in long_keys:
            self.assertLessEqual(len(k.encode()), 1024)
            status, _, body = self.req("PUT", f"/{self.bucket}/{k}", body=k.encode()[:16])
            self.assertEqual(status, 200, body)
        for k in long_keys:
            self.assertEqual(self.req("GET", f"/{self.bucket}/{k}")[2], k.encode()[:16])
        listed = [k for k, _, _ in self.list_keys()]
        self.assertEqual(listed, sorted(long_keys + ["keep"], key=lambda s: s.encode()))
        status, _, body = self.req("GET", f"/{self.bucket}", query={"list-type": "2", "delimiter": "/",
                                                                     "prefix": "k" * 400})
        self.assertEqual(harness.xml_findall_text(body, "Prefix")[-1], "k" * 400 + "/")
        for k in long_keys:
            self.ok("DELETE", f"/{self.bucket}/{k}")
        self.assertUnchanged()

    def test_invalid_utf8_key(self):
        response = self.req("PUT", b"/" + self.bucket.encode() + b"/bad\xff\xfeutf8",
                            body=b"x")
        self.assertS3Error(response, 400, "InvalidArgument", "InvalidURI", "InvalidObjectName")
        self.assertUnchanged()

    # -- bodies ----------------------------------------------------------------------

    def test_truncated_body_creates_nothing(self):
        full = os.urandom(300 * 1024)
        for key, payload_hash in (("trunc-signed", sha256_hex(full)), ("trunc-unsigned", UNSIGNED),
                                  ("keep", UNSIGNED)):
            head = self.signed_head("PUT", f"/{self.bucket}/{key}", {"content-length": str(len(full))}, payload_hash)
            for sent in (0, 1000, 200 * 1024, len(full) - 1):
                self.raw_socket_request(head, full[:sent], read=False)
        time.sleep(0.5)
        self.assertUnchanged()
        self.assertNoTempFilesEventually()

    def test_truncated_aws_chunked_body_creates_nothing(self):
        data = os.urandom(200 * 1024)
        chunked = (f"{len(data):x}\r\n".encode() + data + b"\r\n0\r\n"
                   + f"x-amz-checksum-crc32:{crc32_b64(data)}\r\n\r\n".encode())
        headers = {"content-encoding": "aws-chunked", "x-amz-decoded-content-length": str(len(data)),
                   "x-amz-trailer": "x-amz-checksum-crc32", "content-length": str(len(chunked))}
        head = self.signed_head("PUT", f"/{self.bucket}/chunked", headers, "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
        for cut in (10, 100 * 1024, len(chunked) - 20, len(chunked) - 3):
            self.raw_socket_request(head, chunked[:cut], read=False)
        time.sleep(0.5)
        self.assertUnchanged()
        # The complete body is accepted: the framing above was right.
        status, body = self.raw_socket_request(head, chunked)
        self.assertEqual(status, 200, body)
        self.assertEqual(self.req("GET", f"/{self.bucket}/chunked")[2], data)
        self.ok("DELETE", f"/{self.bucket}/chunked")
        self.assertUnchanged()
        self.assertNoTempFilesEventually()

    def test_aws_chunked_wrong_trailer_checksum(self):
        data = os.urandom(100 * 1024)
        chunked = (f"{len(data):x}\r\n".encode() + data + b"\r\n0\r\n"
                   + f"x-amz-checksum-crc32:{crc32_b64(b'other')}\r\n\r\n".encode())
        headers = {"content-encoding": "aws-chunked", "x-amz-decoded-content-length": str(len(data)),
                   "x-amz-trailer": "x-amz-checksum-crc32", "content-length": str(len(chunked))}
        for key in ("chunked-bad", "keep"):
            head = self.signed_head("PUT", f"/{self.bucket}/{key}", headers, "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
            status, body = self.raw_socket_request(head, chunked)
            self.assertEqual(status, 400, body)
            self.assertIn(error_code(body), ("BadDigest", "InvalidRequest"), body)
        self.assertUnchanged()

    def test_signed_streaming_payload(self):
        """STREAMING-AWS4-HMAC-SHA256-PAYLOAD: per-chunk signatures; a tampered chunk is refused."""
        data = os.urandom(150 * 1024)
        good = self.streaming_upload("streamed", data)
        self.assertEqual(good[0], 200, good[1])
        self.assertEqual(self.req("GET", f"/{self.bucket}/streamed")[2], data)
        self.ok("DELETE", f"/{self.bucket}/streamed")
        for key in ("streamed-bad", "keep"):
            status, body = self.streaming_upload(key, data, tamper=True)
            self.assertEqual(status, 403, body)
            self.assertEqual(error_code(body), "SignatureDoesNotMatch")
        self.assertUnchanged()

    def streaming_upload(self, key, data, tamper=False, chunk=64 * 1024):
        when = datetime.datetime.now(datetime.timezone.utc)
        amz_date = when.strftime("%Y%m%dT%H%M%SZ")
        scope = f"{when.strftime('%Y%m%d')}/us-east-1/s3/aws4_request"
        pieces = [data[i:i + chunk] for i in range(0, len(data), chunk)] + [b""]

        def chunk_len(n):
            return len(f"{n:x};chunk-signature=".encode()) + 64 + 2 + n + 2

        total = sum(chunk_len(len(p)) for p in pieces)
        headers = {"content-encoding": "aws-chunked", "x-amz-decoded-content-length": str(len(data)),
                   "content-length": str(total)}
        ak, sk = self.daemon.creds()
        h = harness.sign_headers("PUT", f"127.0.0.1:{self.daemon.port}", f"/{self.bucket}/{key}", None, headers,
                                 "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", ak, sk, when=when)
        prev = h["Authorization"].rsplit("Signature=", 1)[1]
        key_bytes = harness.signing_key(sk, when.strftime("%Y%m%d"))
        body = b""
        for i, p in enumerate(pieces):
            sts = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", amz_date, scope, prev, sha256_hex(b""), sha256_hex(p)])
            sig = hmac.new(key_bytes, sts.encode(), hashlib.sha256).hexdigest()
            prev = sig
            if tamper and i == 1:
                p = bytes([p[0] ^ 1]) + p[1:]
            body += f"{len(p):x};chunk-signature={sig}\r\n".encode() + p + b"\r\n"
        lines = [f"PUT {uri_encode(f'/{self.bucket}/{key}')} HTTP/1.1"] + [f"{k}: {v}" for k, v in h.items()]
        return self.raw_socket_request(("\r\n".join(lines) + "\r\n\r\n").encode(), body)

    def test_content_length_beyond_sent_then_close(self):
        head = self.signed_head("PUT", f"/{self.bucket}/short", {"content-length": "1000000"}, UNSIGNED)
        s = socket.create_connection(("127.0.0.1", self.daemon.port), timeout=10)
        s.sendall(head + b"only a few bytes")
        s.shutdown(socket.SHUT_WR)  # the client says it is done: the body is short
        try:
            s.recv(65536)  # whatever the server answers (or a close)
        except OSError:
            pass
        s.close()
        time.sleep(0.3)
        self.assertUnchanged()
        self.assertNoTempFilesEventually()

    def test_oversize_headers(self):
        big = "v" * (70 * 1024)
        h = self.signed_head("PUT", f"/{self.bucket}/hdr", {"x-amz-meta-big": big, "content-length": "1"},
                             UNSIGNED)
        result = self.raw_socket_request(h, b"x")
        self.assertIsNotNone(result, "the server closed the connection without an answer")
        status, body = result
        self.assertEqual(status, 400, body)
        self.assertEqual(error_code(body), "RequestHeaderSectionTooLarge")
        # Many headers adding up past the limit.
        many = {f"x-amz-meta-h{i}": "y" * 200 for i in range(400)}
        many["content-length"] = "1"
        result = self.raw_socket_request(self.signed_head("PUT", f"/{self.bucket}/hdr2", many, UNSIGNED), b"x")
        self.assertIsNotNone(result, "the server closed the connection without an answer")
        self.assertEqual(result[0], 400, result[1])
        self.assertUnchanged()

    def test_object_and_part_limits(self):
        # Over 5 GiB in one PUT is refused from the head alone, with or without Expect: 100-continue.
        for expect in (True, False):
            headers = {"content-length": str(5 * 1024 ** 3 + 1)}
            if expect:
                headers["expect"] = "100-continue"
            head = self.signed_head("PUT", f"/{self.bucket}/huge", headers, UNSIGNED)
            result = self.raw_socket_request(head, b"" if expect else b"x" * 1000)
            self.assertIsNotNone(result, "no answer to an oversize PUT")
            self.assertEqual((result[0], error_code(result[1])), (400, "EntityTooLarge"), result[1][:300])
        status, _, body = self.req("POST", f"/{self.bucket}/mp", query={"uploads": ""})
        upload_id = harness.xml_findall_text(body, "UploadId")[0]
        for part in ("0", "10001", "-1", "abc"):
            self.assertS3Error(self.req("PUT", f"/{self.bucket}/mp", query={"partNumber": part, "uploadId": upload_id},
                                        body=b"x"), 400, "InvalidArgument")
        self.assertEqual(self.req("DELETE", f"/{self.bucket}/mp", query={"uploadId": upload_id})[0], 204)
        self.assertUnchanged()

    def test_user_metadata_too_large(self):
        # S3 caps user metadata at 2 KB.
        self.assertS3Error(self.req("PUT", f"/{self.bucket}/meta", body=b"x", headers={"x-amz-meta-a": "z" * 2100}),
                           400, "MetadataTooLarge")
        self.assertUnchanged()

    # -- integrity ---------------------------------------------------------------------

    def test_wrong_content_md5(self):
        for key in ("md5", "keep"):
            self.assertS3Error(self.req("PUT", f"/{self.bucket}/{key}", body=b"payload",
                                        headers={"Content-MD5": md5_b64(b"other")}), 400, "BadDigest")
            self.assertS3Error(self.req("PUT", f"/{self.bucket}/{key}", body=b"payload",
                                        headers={"Content-MD5": "not-base64!"}), 400, "InvalidDigest")
        self.assertUnchanged()
        self.ok("PUT", f"/{self.bucket}/md5", body=b"payload", headers={"Content-MD5": md5_b64(b"payload")})

    def test_wrong_checksum_crc32(self):
        for key in ("crc", "keep"):
            self.assertS3Error(self.req("PUT", f"/{self.bucket}/{key}", body=b"payload",
                                        headers={"x-amz-checksum-crc32": crc32_b64(b"other")}), 400,
                               "BadDigest", "InvalidRequest")
        self.assertS3Error(self.req("PUT", f"/{self.bucket}/crc", body=b"payload",
                                    headers={"x-amz-checksum-sha256": base64.b64encode(b"\x00" * 32).decode()}),
                           400, "BadDigest", "InvalidRequest")
        self.assertUnchanged()

    def test_wrong_content_sha256(self):
        for key in ("sha", "keep"):
            self.assertS3Error(self.req("PUT", f"/{self.bucket}/{key}", body=b"payload",
                                        payload_hash=sha256_hex(b"something else")), 400,
                               "XAmzContentSHA256Mismatch")
        self.assertUnchanged()

    # -- authentication ----------------------------------------------------------------------

    def test_unsigned_requests_to_private_bucket(self):
        base = self.daemon.endpoint
        for method, path, body in (("GET", f"/{self.bucket}/keep", b""), ("PUT", f"/{self.bucket}/anon", b"x"),
                                   ("DELETE", f"/{self.bucket}/keep", b""), ("GET", f"/{self.bucket}", b""),
                                   ("DELETE", f"/{self.bucket}", b""), ("PUT", f"/{self.bucket}?acl", b""),
                                   ("GET", "/", b"")):
            status, headers, resp = harness.http_request(method, base + path, body=body)
            self.assertEqual(status, 403, f"{method} {path}")
            self.assertEqual(error_code(resp), "AccessDenied", f"{method} {path}: {resp!r}")
        self.assertUnchanged()

    def test_wrong_secret(self):
        ak, _ = self.daemon.creds()
        creds = (ak, harness.random_secret())
        self.assertS3Error(self.req("PUT", f"/{self.bucket}/keep", body=b"overwrite", creds=creds), 403,
                           "SignatureDoesNotMatch")
        self.assertS3Error(self.req("GET", f"/{self.bucket}/keep", creds=creds), 403, "SignatureDoesNotMatch")
        # A signature over different content than what is sent.
        h = harness.sign_headers("PUT", f"127.0.0.1:{self.daemon.port}", f"/{self.bucket}/other", None, {},
                                 sha256_hex(b"x"), *self.daemon.creds())
        status, headers, body = harness.raw_request("127.0.0.1", self.daemon.port, "PUT",
                                                    f"/{self.bucket}/keep", None, h, b"x")
        self.assertS3Error((status, headers, body), 403, "SignatureDoesNotMatch")
        self.assertUnchanged()

    def test_unknown_access_key(self):
        creds = (harness.random_access_key_id(), harness.random_secret())
        self.assertS3Error(self.req("PUT", f"/{self.bucket}/keep", body=b"overwrite", creds=creds), 403,
                           "InvalidAccessKeyId")
        self.assertS3Error(self.req("GET", "/", creds=creds), 403, "InvalidAccessKeyId")
        self.assertUnchanged()

    def test_clock_skew(self):
        now = datetime.datetime.now(datetime.timezone.utc)
        for off in (datetime.timedelta(minutes=20), datetime.timedelta(minutes=-20), datetime.timedelta(days=2)):
            self.assertS3Error(self.req("PUT", f"/{self.bucket}/keep", body=b"late", when=now + off), 403,
                               "RequestTimeTooSkewed")
        # 10 minutes is inside the 15-minute window.
        status, _, body = self.req("GET", f"/{self.bucket}/keep", when=now - datetime.timedelta(minutes=10))
        self.assertEqual(status, 200, body)
        self.assertUnchanged()

    def test_malformed_authorization(self):
        for auth in ("AWS4-HMAC-SHA256 garbage", "AWS4-HMAC-SHA256 Credential=x, SignedHeaders=host, Signature=0",
                     "Bearer token", "AWS4-HMAC-SHA256 Credential=AKIA/20200101/us-east-1/s3/aws4_request, "
                     "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64):
            status, headers, body = harness.http_request("PUT", f"{self.daemon.endpoint}/{self.bucket}/keep",
                                                         headers={"Authorization": auth}, body=b"x")
            self.assertIn(status, (400, 403), f"{auth}: {status} {body!r}")
            self.assertIsNotNone(error_code(body), body)
        self.assertUnchanged()

    def test_presigned_url_expired_and_tampered(self):
        ak, sk = self.daemon.creds()
        now = datetime.datetime.now(datetime.timezone.utc)
        url = harness.presign_url(self.daemon.endpoint, "GET", f"/{self.bucket}/keep", ak, sk, expires=60)
        self.assertEqual(harness.http_request("GET", url)[2], b"original content")
        expired = harness.presign_url(self.daemon.endpoint, "GET", f"/{self.bucket}/keep", ak, sk, expires=60,
                                      when=now - datetime.timedelta(hours=2))
        status, headers, body = harness.http_request("GET", expired)
        self.assertEqual((status, error_code(body)), (403, "AccessDenied"), body)
        self.assertIn(b"expired", body.lower())
        put = harness.presign_url(self.daemon.endpoint, "PUT", f"/{self.bucket}/keep", ak, sk, expires=1,
                                  when=now - datetime.timedelta(seconds=30))
        status, _, body = harness.http_request("PUT", put, body=b"overwrite")
        self.assertEqual((status, error_code(body)), (403, "AccessDenied"), body)
        too_long = harness.presign_url(self.daemon.endpoint, "GET", f"/{self.bucket}/keep", ak, sk,
                                       expires=604801)
        status, _, body = harness.http_request("GET", too_long)
        self.assertEqual((status, error_code(body)), (400, "AuthorizationQueryParametersError"), body)
        tampered = url.replace("X-Amz-Expires=60", "X-Amz-Expires=600")
        status, _, body = harness.http_request("GET", tampered)
        self.assertEqual((status, error_code(body)), (403, "SignatureDoesNotMatch"), body)
        self.assertUnchanged()

    def test_still_serving_after_garbage(self):
        for junk in (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + os.urandom(64),  # a TLS hello
                     b"GET / HTTP/9.9\r\n\r\n", b"NOT A REQUEST\r\n\r\n", b"\r\n\r\n\r\n",
                     b"PUT /x HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
                     b"PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"):
            result = self.raw_socket_request(junk, timeout=5)
            if result is not None:
                self.assertGreaterEqual(result[0], 400, junk)
                self.assertLess(result[0], 500, junk)
        self.assertUnchanged()


if __name__ == "__main__":
    harness.main()
