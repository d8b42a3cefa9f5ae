#!/usr/bin/python3
"""Crash test: a PUT/DELETE loop under load, `kill -9` at random moments, restart, verify.

Every cycle: several writer threads PUT objects of mixed sizes (0 B - 2 MiB, on
both sides of the inline threshold) and sometimes DELETE them; annexd is
SIGKILLed at a random instant; it is restarted on the same data directory and
every key is checked:

  * an acknowledged write reads back byte-exact (size, SHA-256, ETag = MD5),
    unless a later write of the same key was in flight at the crash, in which
    case either version is fine (never a mix);
  * a write that was never acknowledged is either absent or complete;
  * an acknowledged DELETE stays deleted (or the in-flight later PUT is there);
  * the listing agrees with the GETs (same keys, same sizes);
  * nothing is left in objectstore/tmp and no data file outlives its object.

Keys are partitioned between writers, so each key's history is sequential.
One more writer does multipart uploads (5 MiB + a small part), and every
fourth cycle annexd is also killed while it starts up.
CYCLES (default 20) sets the number of crashes; CRASH_SEED makes a run repeatable.

With CRASH_VERSIONED=1 the bucket has versioning enabled (DELETEs leave
delete markers) and, besides the above, every acknowledged version reads back
byte-exact by its id, every listed version is complete (its ETag is the MD5
of its bytes), and no data file outlives the versions that use it.
"""

import hashlib
import http.client
import os
import random
import sys
import threading
import time
import unittest
import xml.etree.ElementTree as ET
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
import harness  # noqa: E402

CYCLES = int(os.environ.get("CYCLES", "20"))
WRITERS = int(os.environ.get("CRASH_WRITERS", "4"))
KEYS_PER_WRITER = int(os.environ.get("CRASH_KEYS_PER_WRITER", "24"))
SEED = int(os.environ.get("CRASH_SEED", str(int(time.time()))))
VERSIONED = os.environ.get("CRASH_VERSIONED") == "1"
KiB = 1024
MiB = 1024 * KiB
ABSENT = None
S3NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


def pick_size(rng):
    r = rng.random()
    if r < 0.10:
        return 0
    if r < 0.45:
        return rng.randint(1, 8 * KiB)
    if r < 0.65:
        return rng.choice([64 * KiB - 1, 64 * KiB, 64 * KiB + 1, rng.randint(32 * KiB, 96 * KiB)])
    if r < 0.92:
        return rng.randint(100 * KiB, 512 * KiB)
    return rng.randint(512 * KiB, 2 * MiB)


class Version:
    """What one write left behind: content digest and size (ABSENT for a delete)."""
    __slots__ = ("sha256", "md5", "size", "label", "etag")

    def __init__(self, data, label):
        self.sha256 = hashlib.sha256(data).hexdigest()
        self.md5 = hashlib.md5(data).hexdigest()
        self.size = len(data)
        self.label = label

    def __repr__(self):
        return f"<{self.label} {self.size}B {self.sha256[:12]}>"


class KeyState:
    __slots__ = ("acked", "pending")

    def __init__(self):
        self.acked = ABSENT      # last acknowledged state: Version or ABSENT
        self.pending = []        # states a write in flight at the crash may have left (Version or ABSENT)


class Writer(threading.Thread):

    def __init__(self, index, daemon, bucket, keys, states, stop, rng, stats, multipart=False, versions=None):
        super().__init__(daemon=True)
        self.versions = versions  # (key, version id) -> Version of every acknowledged write, when versioned
        self.last_headers = {}
        self.index, self.d, self.bucket, self.keys, self.states = index, daemon, bucket, keys, states
        self.multipart = multipart
        self.stop_flag, self.rng, self.stats = stop, rng, stats
        self.unexpected = []
        self.version = 0

    def run(self):
        conn = None
        while not self.stop_flag.is_set():
            key = self.rng.choice(self.keys)
            st = self.states[key]
            delete = not self.multipart and self.rng.random() < 0.08
            if self.multipart:
                self.version += 1
                stamp = f"{key}#{self.version}#".encode()
                parts = [stamp + self.rng.randbytes(5 * MiB - len(stamp)),
                         self.rng.randbytes(self.rng.randint(1, 300 * KiB))]
                new_state = Version(b"".join(parts), f"{key}#{self.version}(mp)")
            elif delete:
                body, new_state = b"", ABSENT
            else:
                self.version += 1
                size = pick_size(self.rng)
                stamp = f"{key}#{self.version}#".encode()
                body = (stamp + self.rng.randbytes(max(0, size - len(stamp))))[:size]
                new_state = Version(body, f"{key}#{self.version}")
            # Recorded as in flight before the first byte is sent.
            st.pending = [new_state]
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.d.port, timeout=30)
                if self.multipart:
                    status, resp = self.multipart_upload(conn, key, parts)
                    body = b"".join(parts)
                else:
                    status, resp = self.send(conn, "DELETE" if delete else "PUT", key, body)
            except (OSError, http.client.HTTPException):
                # The daemon died under us: this write stays "in flight".
                self.stats["interrupted"] += 1
                if conn is not None:
                    conn.close()
                return
            if (delete and status == 204) or (not delete and status == 200):
                if self.versions is not None and not delete:
                    self.versions[(key, self.last_headers.get("x-amz-version-id"))] = new_state
                st.acked = new_state
                st.pending = []
                self.stats["acked_deletes" if delete else "acked_multipart" if self.multipart else "acked_puts"] += 1
                self.stats["acked_bytes"] += len(body)
            else:
                st.pending = []  # refused, so it must not have happened
                self.unexpected.append(f"{'DELETE' if delete else 'PUT'} {key} -> {status}: {resp[:300]!r}")
                self.stop_flag.set()
                return

    def multipart_upload(self, conn, key, parts):
        """Create, two parts, complete: (status of the first failing step or of Complete, body)."""
        status, body = self.send(conn, "POST", key, b"", query={"uploads": ""})
        if status != 200:
            return status, body
        upload_id = harness.xml_findall_text(body, "UploadId")[0]
        etags = []
        for n, part in enumerate(parts, 1):
            status, body, headers = self.send(conn, "PUT", key, part,
                                              query={"partNumber": str(n), "uploadId": upload_id}, with_headers=True)
            if status != 200:
                return status, body
            etags.append(headers["etag"])
        xml = "<CompleteMultipartUpload>" + "".join(
            f"<Part><PartNumber>{n}</PartNumber><ETag>{e}</ETag></Part>" for n, e in enumerate(etags, 1)) + \
            "</CompleteMultipartUpload>"
        return self.send(conn, "POST", key, xml.encode(), query={"uploadId": upload_id})

    def send(self, conn, method, key, body, query=None, with_headers=False):
        path = f"/{self.bucket}/{key}"
        headers = {}
        mode = self.rng.random()
        if method == "DELETE" or mode < 0.4:
            payload_hash = hashlib.sha256(body).hexdigest()
        else:
            payload_hash = "UNSIGNED-PAYLOAD"
            if mode < 0.7:
                import base64
                headers["content-md5"] = base64.b64encode(hashlib.md5(body).digest()).decode()
        if method in ("PUT", "POST"):
            headers["content-length"] = str(len(body))
        h = harness.sign_headers(method, f"127.0.0.1:{self.d.port}", path, query, headers, payload_hash,
                                 *self.d.creds())
        target = harness.uri_encode(path) + ("?" + harness.canonical_query(query) if query else "")
        conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        for k, v in h.items():
            conn.putheader(k, v)
        conn.endheaders()
        if body:
            # In pieces, so a kill can land mid-body.
            for i in range(0, len(body), 256 * KiB):
                conn.send(body[i:i + 256 * KiB])
        r = conn.getresponse()
        data = r.read()
        self.last_headers = {k.lower(): v for k, v in r.getheaders()}
        if with_headers:
            return r.status, data, self.last_headers
        return r.status, data


class CrashTest(unittest.TestCase):

    def test_kill9_loop(self):
        self.resolved = {"in-flight write visible": 0, "in-flight write lost": 0}
        rng = random.Random(SEED)
        print(f"crash test: CYCLES={CYCLES} WRITERS={WRITERS} SEED={SEED} VERSIONED={VERSIONED}", file=sys.stderr)
        d = harness.Daemon()
        self.addCleanup(d.kill)
        d.start()
        bucket = "crash-" + format(SEED % 10 ** 8, "08d")
        self.assertEqual(d.signed("PUT", f"/{bucket}")[0], 200)
        versions = None
        if VERSIONED:
            versions = {}
            body = b"<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>"
            self.assertEqual(d.signed("PUT", f"/{bucket}", query={"versioning": ""}, body=body)[0], 200)
        all_keys = [f"w{w}/k{k:03d}" + ("-" + "x" * rng.randint(0, 40) if k % 5 == 0 else "")
                    for w in range(WRITERS) for k in range(KEYS_PER_WRITER)]
        mp_keys = [f"mp/k{k}" for k in range(6)]  # one writer does multipart uploads (5 MiB + small part)
        all_keys += mp_keys
        states = {k: KeyState() for k in all_keys}
        totals = {"acked_puts": 0, "acked_multipart": 0, "acked_deletes": 0, "acked_bytes": 0, "interrupted": 0}
        t_start = time.monotonic()

        for cycle in range(1, CYCLES + 1):
            stop = threading.Event()
            stats = {"acked_puts": 0, "acked_multipart": 0, "acked_deletes": 0, "acked_bytes": 0, "interrupted": 0}
            writers = [Writer(w, d, bucket, [k for k in all_keys if k.startswith(f"w{w}/")], states, stop,
                              random.Random(rng.random()), stats, versions=versions) for w in range(WRITERS)]
            writers.append(Writer(WRITERS, d, bucket, mp_keys, states, stop, random.Random(rng.random()), stats,
                                  multipart=True, versions=versions))
            for w in writers:
                w.start()
            time.sleep(rng.uniform(0.1, 1.2))
            d.kill()
            stop.set()
            for w in writers:
                w.join(60)
                self.assertFalse(w.is_alive(), "a writer hung after the kill")
            for w in writers:
                self.assertEqual(w.unexpected, [], f"cycle {cycle}: unexpected answers before the crash")
            for k, v in stats.items():
                totals[k] += v

            if cycle % 4 == 0:
                # Crash again while it starts up (orphan cleanup, LMDB recovery), then start for real.
                d.start(wait=False)
                time.sleep(rng.uniform(0.0, 0.08))
                d.kill()
            d.start()
            self.assertEqual(self.tmp_files(d), [], f"cycle {cycle}: objectstore/tmp not emptied at startup")
            self.verify(d, bucket, states, f"cycle {cycle}", versions)
            print(f"cycle {cycle}: {stats['acked_puts']} PUTs, {stats['acked_multipart']} multipart uploads, "
                  f"{stats['acked_deletes']} DELETEs acknowledged, "
                  f"{stats['interrupted']} in flight at the kill", file=sys.stderr)

        self.assertGreater(totals["acked_puts"], CYCLES * 5, "the load loop hardly wrote anything")
        # Finally a clean restart: same content, still no orphans.
        d.stop()
        d.start()
        self.verify(d, bucket, states, "after clean restart", versions)
        d.stop()
        print(f"crash test done in {time.monotonic() - t_start:.1f}s: {totals} {self.resolved}", file=sys.stderr)

    # -- verification ---------------------------------------------------------------

    @staticmethod
    def tmp_files(d):
        tmp = d.data_dir / "objectstore" / "tmp"
        return sorted(os.listdir(tmp)) if tmp.is_dir() else []

    @staticmethod
    def data_files(d):
        root = d.data_dir / "objectstore" / "data"
        return [p for p in root.rglob("*") if p.is_file()] if root.is_dir() else []

    def verify(self, d, bucket, states, when, versions=None):
        listed = self.list_all(d, bucket)
        seen = {}
        failures = []
        conn = http.client.HTTPConnection("127.0.0.1", d.port, timeout=60)
        for key, st in states.items():
            status, etag, data = self.get(conn, d, bucket, key)
            if status == 404:
                got = ABSENT
            elif status == 200:
                got = Version(data, "read")
                got.etag = etag
                if "-" not in etag and etag != f'"{got.md5}"':
                    failures.append(f"{key}: ETag {etag} is not the MD5 of the bytes read ({got.md5})")
            else:
                failures.append(f"{key}: GET answered {status}: {data[:200]!r}")
                continue
            allowed = [st.acked] + st.pending
            match = next((a for a in allowed if self.same(a, got)), "none")
            if match == "none":
                failures.append(f"{key}: read {got!r}, allowed {allowed!r}")
                continue
            if st.pending:
                self.resolved["in-flight write visible" if match is not st.acked else "in-flight write lost"] += 1
            # The crash resolved the in-flight write one way or the other.
            st.acked, st.pending = match, []
            seen[key] = got
        conn.close()
        listed_keys = {k for k in listed}
        present = {k for k, v in seen.items() if v is not ABSENT}
        if listed_keys != present:
            failures.append(f"listing disagrees with GET: only listed {sorted(listed_keys - present)[:10]}, "
                            f"only readable {sorted(present - listed_keys)[:10]}")
        for k in present & listed_keys:
            if listed[k] != seen[k].size:
                failures.append(f"{k}: listed size {listed[k]} != {seen[k].size}")
        # Every data file must belong to an object (one per part for multipart ones) or an open upload's part.
        referenced = sum(int(v.etag.strip('"').split("-")[1]) if "-" in v.etag else 1
                         for v in seen.values() if v is not ABSENT)
        if versions is not None:
            referenced = self.verify_versions(d, bucket, versions, failures)
        open_parts, uploads = self.open_upload_parts(d, bucket)
        n_files = len(self.data_files(d))
        if n_files > referenced + open_parts:
            failures.append(f"{n_files} data files for {len(present)} objects and {open_parts} open parts "
                            f"(at most {referenced + open_parts} referenced): orphans were not removed")
        for key, upload_id in uploads:
            status, _, body = d.signed("DELETE", f"/{bucket}/{key}", query={"uploadId": upload_id})
            if status != 204:
                failures.append(f"abort of the upload interrupted by the crash: {status} {body[:200]!r}")
        if failures:
            self.fail(f"{when}: {len(failures)} problems:\n  " + "\n  ".join(failures[:30]) + "\n" + d.log_tail(30))

    def verify_versions(self, d, bucket, versions, failures):
        """Checks every version; returns how many data files they may use (an upper bound)."""
        listed = self.list_versions(d, bucket)
        conn = http.client.HTTPConnection("127.0.0.1", d.port, timeout=60)
        files = 0
        for (key, vid), etag in listed.items():
            files += int(etag.strip('"').split("-")[1]) if "-" in etag else 1
            if (key, vid) in versions:
                continue  # checked below
            # Not acknowledged (in flight at a kill): complete, or it would not be listed.
            status, got_etag, data = self.get(conn, d, bucket, key, vid)
            if status != 200 or ("-" not in got_etag and got_etag != f'"{hashlib.md5(data).hexdigest()}"'):
                failures.append(f"{key}@{vid}: unacknowledged version is partial: {status} {got_etag}")
        for (key, vid), want in versions.items():
            if (key, vid) not in listed:
                failures.append(f"{key}@{vid}: acknowledged version {want!r} is not listed")
                continue
            status, _, data = self.get(conn, d, bucket, key, vid)
            if status != 200 or not self.same(want, Version(data, "read")):
                failures.append(f"{key}@{vid}: acknowledged version {want!r} reads back as {status} {len(data)}B")
        conn.close()
        return files

    def list_versions(self, d, bucket):
        """(key, version id) -> ETag of every version (delete markers left out)."""
        out, q = {}, {"versions": "", "max-keys": "500"}
        while True:
            status, _, body = d.signed("GET", f"/{bucket}", query=q)
            self.assertEqual(status, 200, body)
            root = ET.fromstring(body)
            for v in root.findall(f"{S3NS}Version"):
                out[(v.findtext(f"{S3NS}Key"), v.findtext(f"{S3NS}VersionId"))] = v.findtext(f"{S3NS}ETag")
            if root.findtext(f"{S3NS}IsTruncated") != "true":
                return out
            q = {"versions": "", "max-keys": "500", "key-marker": root.findtext(f"{S3NS}NextKeyMarker")}
            if root.findtext(f"{S3NS}NextVersionIdMarker") is not None:
                q["version-id-marker"] = root.findtext(f"{S3NS}NextVersionIdMarker")

    @staticmethod
    def same(a, b):
        if a is ABSENT or b is ABSENT:
            return a is b
        return a.size == b.size and a.sha256 == b.sha256

    @staticmethod
    def get(conn, d, bucket, key, version_id=None):
        path = f"/{bucket}/{key}"
        query = {"versionId": version_id} if version_id else None
        h = harness.sign_headers("GET", f"127.0.0.1:{d.port}", path, query, {}, hashlib.sha256(b"").hexdigest(),
                                 *d.creds())
        target = harness.uri_encode(path) + ("?" + harness.canonical_query(query) if query else "")
        conn.putrequest("GET", target, skip_host=True, skip_accept_encoding=True)
        for k, v in h.items():
            conn.putheader(k, v)
        conn.endheaders()
        r = conn.getresponse()
        return r.status, r.getheader("ETag"), r.read()

    def open_upload_parts(self, d, bucket):
        status, _, body = d.signed("GET", f"/{bucket}", query={"uploads": ""})
        self.assertEqual(status, 200, body)
        keys = harness.xml_findall_text(body, "Key")
        ids = harness.xml_findall_text(body, "UploadId")
        parts = 0
        for key, upload_id in zip(keys, ids):
            status, _, body = d.signed("GET", f"/{bucket}/{key}", query={"uploadId": upload_id})
            self.assertEqual(status, 200, body)
            parts += len(harness.xml_findall_text(body, "PartNumber"))
        return parts, list(zip(keys, ids))

    def list_all(self, d, bucket):
        out, token = {}, None
        while True:
            q = {"list-type": "2", "max-keys": "1000"}
            if token:
                q["continuation-token"] = token
            status, _, body = d.signed("GET", f"/{bucket}", query=q)
            self.assertEqual(status, 200, body)
            keys = harness.xml_findall_text(body, "Key")
            sizes = harness.xml_findall_text(body, "Size")
            out.update(zip(keys, (int(s) for s in sizes)))
            if b"<IsTruncated>true</IsTruncated>" not in body:
                return out
            token = harness.xml_findall_text(body, "NextContinuationToken")[0]


if __name__ == "__main__":
    harness.main()
