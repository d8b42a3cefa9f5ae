#!/usr/bin/python3
"""Concurrent clients against a real annexd: overwrites, reads, deletes and bucket races.

What a user would notice: a GET that returns a torn or stale-but-mixed body, an
ETag that does not match the bytes, an object that survives in a deleted
bucket, two owners of one bucket name, disk space that never comes back.
"""

import hashlib
import http.client
import os
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import AnnexTestCase, random_bucket  # noqa: E402

KiB = 1024


class Client:
    """A keep-alive connection doing signed requests."""

    def __init__(self, d):
        self.d = d
        self.conn = http.client.HTTPConnection("127.0.0.1", d.port, timeout=60)

    def request(self, method, path, body=b"", query=None):
        h = harness.sign_headers(method, f"127.0.0.1:{self.d.port}", path, query,
                                 {"content-length": str(len(body))} if method in ("PUT", "POST") else {},
                                 hashlib.sha256(body).hexdigest(), *self.d.creds())
        target = harness.uri_encode(path) + ("?" + harness.canonical_query(query) if query else "")
        self.conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        for k, v in h.items():
            self.conn.putheader(k, v)
        self.conn.endheaders()
        if body:
            self.conn.send(body)
        r = self.conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()

    def close(self):
        self.conn.close()


class ConcurrencyTest(AnnexTestCase):

    def run_threads(self, targets):
        errors = []

        def wrap(fn):
            def run():
                try:
                    fn()
                except BaseException as e:  # reported below
                    errors.append(f"{type(e).__name__}: {e}")
            return run

        threads = [threading.Thread(target=wrap(t)) for t in targets]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
            self.assertFalse(t.is_alive(), "a client thread hung")
        self.assertEqual(errors, [])

    def test_overwrites_reads_and_deletes_of_one_key(self):
        bucket = random_bucket("hot")
        self.assertEqual(self.daemon.signed("PUT", f"/{bucket}")[0], 200)
        path = f"/{bucket}/hot/key"
        written = {}  # md5 -> sha256 of every body ever sent
        lock = threading.Lock()
        done = threading.Event()
        problems = []

        def body_for(i, j):
            size = [0, 700, 64 * KiB + 1, 300 * KiB, 1024 * KiB][(i + j) % 5]
            stamp = f"writer {i} version {j} ".encode()
            data = (stamp * (size // len(stamp) + 1))[:size]
            with lock:
                written[hashlib.md5(data).hexdigest()] = hashlib.sha256(data).hexdigest()
            return data

        self.daemon.signed("PUT", path, body=body_for(99, 0))

        def writer(i):
            def run():
                c = Client(self.daemon)
                for j in range(30):
                    status, _, body = c.request("PUT", path, body_for(i, j))
                    if status != 200:
                        problems.append(f"PUT {status}: {body[:200]!r}")
                    if i == 0 and j % 4 == 3:
                        status, _, body = c.request("DELETE", path)
                        if status != 204:
                            problems.append(f"DELETE {status}: {body[:200]!r}")
                c.close()
            return run

        def reader():
            c = Client(self.daemon)
            n = 0
            while not done.is_set() or n < 5:
                n += 1
                status, headers, body = c.request("GET", path)
                if status == 404:
                    continue
                if status != 200:
                    problems.append(f"GET {status}: {body[:200]!r}")
                    continue
                md5 = hashlib.md5(body).hexdigest()
                if headers.get("etag") != f'"{md5}"':
                    problems.append(f"GET body ({len(body)} B) does not match its ETag {headers.get('etag')}")
                elif written.get(md5) != hashlib.sha256(body).hexdigest():
                    problems.append(f"GET returned bytes no one wrote ({len(body)} B)")
                if int(headers.get("content-length", -1)) != len(body):
                    problems.append("Content-Length differs from the body")
            c.close()

        def lister():
            c = Client(self.daemon)
            while not done.is_set():
                status, _, body = c.request("GET", f"/{bucket}", query={"list-type": "2", "prefix": "hot/"})
                if status != 200:
                    problems.append(f"LIST {status}")
                    continue
                etags = harness.xml_findall_text(body, "ETag")
                for e in etags:
                    if e.strip('"') not in written:
                        problems.append(f"listed ETag {e} of no written version")
            c.close()

        writers = [writer(i) for i in range(5)]

        def writers_then_done():
            self.run_threads(writers)
            done.set()

        self.run_threads([writers_then_done, reader, reader, reader, lister])
        self.assertEqual(problems, [])

        # Quiet now: one consistent version everywhere.
        status, headers, body = self.daemon.signed("GET", path)
        if status == 200:
            self.assertEqual(headers["etag"], '"%s"' % hashlib.md5(body).hexdigest())
            self.assertIn(hashlib.md5(body).hexdigest(), written)
            status, lh, listing = self.daemon.signed("GET", f"/{bucket}", query={"list-type": "2"})
            self.assertEqual(harness.xml_findall_text(listing, "Size"), [str(len(body))])
        else:
            self.assertEqual(status, 404)
        self.daemon.signed("DELETE", path)

    def test_concurrent_create_of_one_bucket_name(self):
        name = random_bucket("race")
        results = []
        other = self.daemon.create_account("racer-" + os.urandom(3).hex())

        def create(creds):
            def run():
                results.append((creds[0], self.daemon.signed("PUT", f"/{name}", creds=creds)))
            return run

        creds = [self.daemon.creds(), (other["AccessKeyId"], other["SecretAccessKey"])]
        self.run_threads([create(creds[i % 2]) for i in range(8)])
        winners = [(who, r) for who, r in results if r[0] == 200]
        self.assertEqual(len(winners), 1, [(who, r[0], harness.error_code(r[2])) for who, r in results])
        winner = winners[0][0]
        for who, (status, _, body) in results:
            if status == 200:
                continue
            want = "BucketAlreadyOwnedByYou" if who == winner else "BucketAlreadyExists"
            self.assertEqual((status, harness.error_code(body)), (409, want))

    def test_delete_bucket_racing_puts(self):
        """A PUT that succeeds must be in a bucket that exists: no objects outlive their bucket."""
        for round_ in range(10):
            bucket = random_bucket("gone")
            self.assertEqual(self.daemon.signed("PUT", f"/{bucket}")[0], 200)
            outcomes = []
            start = threading.Barrier(5)

            def putter(i):
                def run():
                    c = Client(self.daemon)
                    start.wait()
                    for j in range(3):
                        status, _, body = c.request("PUT", f"/{bucket}/k{i}-{j}", os.urandom(2 * KiB))
                        outcomes.append(("put", status, harness.error_code(body)))
                    c.close()
                return run

            def deleter():
                c = Client(self.daemon)
                start.wait()
                for _ in range(6):
                    status, _, body = c.request("DELETE", f"/{bucket}")
                    outcomes.append(("delete", status, harness.error_code(body)))
                    if status == 204:
                        break
                c.close()

            self.run_threads([putter(i) for i in range(4)] + [deleter])
            deleted = any(o[0] == "delete" and o[1] == 204 for o in outcomes)
            for kind, status, code in outcomes:
                self.assertIn((kind, status, code), {("put", 200, None), ("put", 404, "NoSuchBucket"),
                                                     ("delete", 204, None), ("delete", 409, "BucketNotEmpty")})
            if deleted:
                self.assertNotIn(("put", 200, None), outcomes,
                                 "a PUT was acknowledged into a bucket that was then deleted while not empty")
                # Re-created, the bucket is empty: nothing came back from the dead.
                self.assertEqual(self.daemon.signed("PUT", f"/{bucket}")[0], 200)
                status, _, body = self.daemon.signed("GET", f"/{bucket}", query={"list-type": "2"})
                self.assertEqual(harness.xml_findall_text(body, "Key"), [], f"round {round_}")
            else:
                status, _, body = self.daemon.signed("GET", f"/{bucket}", query={"list-type": "2"})
                puts_ok = sum(1 for o in outcomes if o[:2] == ("put", 200))
                self.assertEqual(len(harness.xml_findall_text(body, "Key")), puts_ok)

    def test_space_is_reclaimed(self):
        """After overwrites and deletes, no data file outlives its object."""
        bucket = random_bucket("reclaim")
        self.assertEqual(self.daemon.signed("PUT", f"/{bucket}")[0], 200)

        def churn(i):
            def run():
                c = Client(self.daemon)
                for j in range(10):
                    c.request("PUT", f"/{bucket}/k{j % 3}", os.urandom(200 * KiB))
                c.close()
            return run

        self.run_threads([churn(i) for i in range(4)])
        # Multipart uploads, completed and aborted, too.
        s = self.daemon.signed
        for outcome in ("complete", "abort"):
            status, _, body = s("POST", f"/{bucket}/mp-{outcome}", query={"uploads": ""})
            upload_id = harness.xml_findall_text(body, "UploadId")[0]
            status, h, _ = s("PUT", f"/{bucket}/mp-{outcome}", query={"partNumber": "1", "uploadId": upload_id},
                             body=os.urandom(100 * KiB))
            if outcome == "complete":
                xml = (f"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{h['etag']}</ETag></Part>"
                       "</CompleteMultipartUpload>")
                self.assertEqual(s("POST", f"/{bucket}/mp-{outcome}", query={"uploadId": upload_id},
                                   body=xml.encode())[0], 200)
            else:
                self.assertEqual(s("DELETE", f"/{bucket}/mp-{outcome}", query={"uploadId": upload_id})[0], 204)
        status, _, body = s("GET", f"/{bucket}", query={"list-type": "2"})
        for key in harness.xml_findall_text(body, "Key"):
            self.assertEqual(s("DELETE", f"/{bucket}/{key}")[0], 204)
        self.assertEqual(s("DELETE", f"/{bucket}")[0], 204)
        data = self.daemon.data_dir / "objectstore" / "data"
        deadline = time.monotonic() + 10
        leftovers = None
        while time.monotonic() < deadline:
            leftovers = [p for p in data.rglob("*") if p.is_file()] if data.is_dir() else []
            if not leftovers:
                break
            time.sleep(0.2)
        # Other tests in this class may still hold objects: only this bucket's files must be gone.
        self.assertLessEqual(len(leftovers), self.other_objects(), f"data files left behind: {leftovers[:5]}")

    def other_objects(self):
        status, _, body = self.daemon.signed("GET", "/")
        n = 0
        for b in harness.xml_findall_text(body, "Name"):
            status, _, listing = self.daemon.signed("GET", f"/{b}", query={"list-type": "2"})
            n += len(harness.xml_findall_text(listing, "Key"))
        return n


if __name__ == "__main__":
    harness.main()
