#!/usr/bin/python3
"""awscli v2 (Debian's /usr/bin/aws) against a real annexd: `aws s3`, `aws s3api`, presign, IAM."""

import hashlib
import json
import os
import subprocess
import sys
import time
import unittest
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import AWS_CLI, CURL, AnnexTestCase, have, random_bucket  # noqa: E402

MiB = 1024 * 1024


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class AwsCliBase(AnnexTestCase):
    """Helpers; the tests are in the two classes below (ctest runs them as two tests, in parallel)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.daemon.client_env()
        cls.tmp = cls.daemon.workdir / "files"
        cls.tmp.mkdir()

    def aws(self, *args, check=True, env=None, json_out=False):
        cmd = [AWS_CLI, "--endpoint-url", self.daemon.endpoint, *args]
        if json_out:
            cmd += ["--output", "json"]
        p = subprocess.run(cmd, env=env or self.env, capture_output=True, text=True, timeout=300)
        if check and p.returncode != 0:
            self.fail(f"`aws {' '.join(args)}` exited {p.returncode}\nstdout: {p.stdout}\nstderr: {p.stderr}")
        if json_out and p.returncode == 0:
            return json.loads(p.stdout) if p.stdout.strip() else {}
        return p

    def s3api(self, *args, **kw):
        return self.aws("s3api", *args, json_out=True, **kw)

    def write(self, name, data):
        path = self.tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path

    def put_raw(self, bucket, key, data):
        status, _, body = self.daemon.signed("PUT", f"/{bucket}/{key}", body=data)
        self.assertEqual(status, 200, body)


@unittest.skipUnless(have(AWS_CLI), f"awscli not installed at {AWS_CLI} (apt-get install awscli)")
class AwsCliS3Test(AwsCliBase):
    """aws s3 (high-level commands) and presign."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # High-level transfers switch to multipart at 8 MiB, in 8 MiB parts (written to AWS_CONFIG_FILE).
        for k, v in (("default.s3.multipart_chunksize", "8MB"), ("default.s3.multipart_threshold", "8MB")):
            subprocess.run([AWS_CLI, "configure", "set", k, v], env=cls.env, check=True, capture_output=True)

    # -- aws s3 ---------------------------------------------------------------

    def test_s3_mb_ls_cp_rm(self):
        bucket = random_bucket("cli")
        out = self.aws("s3", "mb", f"s3://{bucket}").stdout
        self.assertIn(f"make_bucket: {bucket}", out)
        self.assertIn(bucket, self.aws("s3", "ls").stdout.split())

        src = self.write("hello.txt", b"hello, annex\n" * 100)
        self.aws("s3", "cp", str(src), f"s3://{bucket}/dir/hello.txt")
        listing = self.aws("s3", "ls", f"s3://{bucket}/").stdout
        self.assertIn("PRE dir/", listing)
        listing = self.aws("s3", "ls", f"s3://{bucket}/dir/").stdout
        self.assertRegex(listing, r"\s1300 hello.txt")

        dst = self.tmp / "hello.back"
        self.aws("s3", "cp", f"s3://{bucket}/dir/hello.txt", str(dst))
        self.assertEqual(dst.read_bytes(), src.read_bytes())

        # Streaming from stdin and to stdout.
        p = subprocess.run([AWS_CLI, "--endpoint-url", self.daemon.endpoint, "s3", "cp", "-", f"s3://{bucket}/stdin"],
                           input=b"from stdin", env=self.env, capture_output=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        p = subprocess.run([AWS_CLI, "--endpoint-url", self.daemon.endpoint, "s3", "cp", f"s3://{bucket}/stdin", "-"],
                           env=self.env, capture_output=True, timeout=60)
        self.assertEqual(p.stdout, b"from stdin")

        self.aws("s3", "rm", f"s3://{bucket}/dir/hello.txt")
        self.assertNotIn("hello.txt", self.aws("s3", "ls", "--recursive", f"s3://{bucket}/").stdout)
        p = self.aws("s3", "rb", f"s3://{bucket}", check=False)
        self.assertNotEqual(p.returncode, 0, "rb of a non-empty bucket must fail")
        self.assertIn("BucketNotEmpty", p.stderr)
        self.aws("s3", "rb", "--force", f"s3://{bucket}")
        self.assertNotIn(bucket, self.aws("s3", "ls").stdout.split())

    def test_s3_sync_both_ways(self):
        bucket = random_bucket("sync")
        self.aws("s3", "mb", f"s3://{bucket}")
        tree = {
            "a.txt": b"alpha",
            "sub/b.bin": os.urandom(70 * 1024),
            "sub/deeper/c.txt": b"gamma" * 1000,
            "empty": b"",
            "spaces and ünïcode/d.txt": b"delta",
        }
        src = self.tmp / "sync-src"
        for name, data in tree.items():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            (src / name).write_bytes(data)
        out = self.aws("s3", "sync", str(src), f"s3://{bucket}/tree").stdout
        self.assertEqual(out.count("upload:"), len(tree), out)
        listed = self.aws("s3", "ls", "--recursive", f"s3://{bucket}/tree/").stdout
        for name in tree:
            self.assertIn(f"tree/{name}", listed)

        # A second sync with nothing changed uploads nothing; a changed file is uploaded alone.
        self.assertNotIn("upload:", self.aws("s3", "sync", str(src), f"s3://{bucket}/tree").stdout)
        (src / "a.txt").write_bytes(b"alpha, changed and longer")
        out = self.aws("s3", "sync", str(src), f"s3://{bucket}/tree").stdout
        self.assertEqual(out.count("upload:"), 1, out)
        self.assertIn("a.txt", out)

        # --delete removes what is gone locally.
        (src / "empty").unlink()
        out = self.aws("s3", "sync", "--delete", str(src), f"s3://{bucket}/tree").stdout
        self.assertIn("delete:", out)
        del tree["empty"]
        tree["a.txt"] = b"alpha, changed and longer"

        dst = self.tmp / "sync-dst"
        self.aws("s3", "sync", f"s3://{bucket}/tree", str(dst))
        got = {str(p.relative_to(dst)): p.read_bytes() for p in dst.rglob("*") if p.is_file()}
        self.assertEqual(got, tree)

    def test_s3_cp_40mib_multipart_byte_exact(self):
        bucket = random_bucket("big")
        self.aws("s3", "mb", f"s3://{bucket}")
        src = self.write("big.bin", os.urandom(40 * MiB))
        self.aws("s3", "cp", str(src), f"s3://{bucket}/big.bin")
        head = self.s3api("head-object", "--bucket", bucket, "--key", "big.bin")
        self.assertEqual(head["ContentLength"], 40 * MiB)
        # 40 MiB in 8 MiB parts: a five-part upload with S3's composite ETag.
        self.assertRegex(head["ETag"], r'^"[0-9a-f]{32}-5"$')
        dst = self.tmp / "big.back"
        self.aws("s3", "cp", f"s3://{bucket}/big.bin", str(dst))
        self.assertEqual(dst.stat().st_size, 40 * MiB)
        self.assertEqual(sha256_file(dst), sha256_file(src))
        # partNumber reads back one part.
        part2 = self.tmp / "part2"
        r = self.s3api("get-object", "--bucket", bucket, "--key", "big.bin", "--part-number", "2", str(part2))
        self.assertEqual(r.get("PartsCount"), 5)
        self.assertEqual(part2.read_bytes(), src.read_bytes()[8 * MiB:16 * MiB])

    def test_s3_cp_and_mv_between_s3_locations(self):
        bucket = random_bucket("s2s")
        self.aws("s3", "mb", f"s3://{bucket}")
        src = self.write("s2s.bin", os.urandom(20 * MiB))
        small = self.write("s2s-small.txt", b"small object")
        self.aws("s3", "cp", str(src), f"s3://{bucket}/orig/big.bin")
        self.aws("s3", "cp", str(small), f"s3://{bucket}/orig/small.txt")
        # Below the multipart threshold the CLI uses CopyObject...
        self.aws("s3", "cp", f"s3://{bucket}/orig/small.txt", f"s3://{bucket}/copy/small.txt")
        # ...above it, a multipart copy (UploadPartCopy with ranges; it also copies the source's tags).
        self.aws("s3", "cp", f"s3://{bucket}/orig/big.bin", f"s3://{bucket}/copy/big.bin")
        head = self.s3api("head-object", "--bucket", bucket, "--key", "copy/big.bin")
        self.assertEqual(head["ContentLength"], 20 * MiB)
        self.assertRegex(head["ETag"], r'^"[0-9a-f]{32}-3"$')
        back = self.tmp / "s2s.back"
        self.aws("s3", "cp", f"s3://{bucket}/copy/big.bin", str(back))
        self.assertEqual(sha256_file(back), sha256_file(src))
        self.aws("s3", "mv", "--recursive", f"s3://{bucket}/copy/", f"s3://{bucket}/moved/")
        listed = self.aws("s3", "ls", "--recursive", f"s3://{bucket}/").stdout
        self.assertNotIn("copy/", listed)
        self.assertIn("moved/big.bin", listed)
        self.assertIn("moved/small.txt", listed)

    @unittest.skipUnless(have(CURL), f"curl not installed at {CURL}")
    def test_presign_with_curl(self):
        bucket = random_bucket("pre")
        self.s3api("create-bucket", "--bucket", bucket)
        self.put_raw(bucket, "shared file.txt", b"presigned content")
        url = self.aws("s3", "presign", f"s3://{bucket}/shared file.txt", "--expires-in", "300").stdout.strip()
        self.assertIn("X-Amz-Signature=", url)
        out = self.tmp / "presigned.out"
        code = subprocess.run([CURL, "-s", "-o", str(out), "-w", "%{http_code}", url], capture_output=True,
                              text=True, timeout=60).stdout
        self.assertEqual(code, "200")
        self.assertEqual(out.read_bytes(), b"presigned content")

        # Tampering with the URL breaks the signature.
        bad = url.replace("shared%20file.txt", "other.txt")
        code = subprocess.run([CURL, "-s", "-o", str(out), "-w", "%{http_code}", bad], capture_output=True,
                              text=True, timeout=60).stdout
        self.assertEqual(code, "403")
        self.assertEqual(harness.error_code(out.read_bytes()), "SignatureDoesNotMatch")

        url = self.aws("s3", "presign", f"s3://{bucket}/shared file.txt", "--expires-in", "1").stdout.strip()
        time.sleep(2.1)
        code = subprocess.run([CURL, "-s", "-o", str(out), "-w", "%{http_code}", url], capture_output=True,
                              text=True, timeout=60).stdout
        self.assertEqual(code, "403")
        self.assertEqual(harness.error_code(out.read_bytes()), "AccessDenied")


@unittest.skipUnless(have(AWS_CLI), f"awscli not installed at {AWS_CLI} (apt-get install awscli)")
class AwsCliApiTest(AwsCliBase):
    """aws s3api and aws iam."""

    # -- aws s3api ------------------------------------------------------------

    def test_s3api_put_get_ranges_head_copy_delete(self):
        bucket = random_bucket("api")
        self.s3api("create-bucket", "--bucket", bucket)
        data = os.urandom(100 * 1024)
        src = self.write("obj.bin", data)
        put = self.s3api("put-object", "--bucket", bucket, "--key", "k/obj.bin", "--body", str(src),
                         "--content-type", "application/x-test", "--metadata", "color=blue,size=large")
        self.assertEqual(put["ETag"], '"%s"' % hashlib.md5(data).hexdigest())

        for rng, want in (("bytes=100-199", data[100:200]), ("bytes=-10", data[-10:]),
                          ("bytes=102000-", data[102000:]), ("bytes=0-0", data[:1])):
            out = self.tmp / "range.out"
            r = self.s3api("get-object", "--bucket", bucket, "--key", "k/obj.bin", "--range", rng, str(out))
            self.assertEqual(out.read_bytes(), want, rng)
            self.assertEqual(r["ContentLength"], len(want), rng)
            self.assertTrue(r["ContentRange"].startswith("bytes "), r)
            self.assertTrue(r["ContentRange"].endswith(f"/{len(data)}"), r)
        p = self.aws("s3api", "get-object", "--bucket", bucket, "--key", "k/obj.bin", "--range",
                     f"bytes={len(data)}-", str(self.tmp / "x"), check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("InvalidRange", p.stderr)

        head = self.s3api("head-object", "--bucket", bucket, "--key", "k/obj.bin")
        self.assertEqual(head["ContentLength"], len(data))
        self.assertEqual(head["ContentType"], "application/x-test")
        self.assertEqual(head["Metadata"], {"color": "blue", "size": "large"})
        self.assertEqual(head["ETag"], put["ETag"])

        cp = self.s3api("copy-object", "--bucket", bucket, "--key", "copy.bin", "--copy-source", f"{bucket}/k/obj.bin")
        self.assertEqual(cp["CopyObjectResult"]["ETag"], put["ETag"])
        head2 = self.s3api("head-object", "--bucket", bucket, "--key", "copy.bin")
        self.assertEqual(head2["Metadata"], {"color": "blue", "size": "large"})
        # REPLACE directive changes metadata; copying onto itself is allowed that way.
        self.s3api("copy-object", "--bucket", bucket, "--key", "copy.bin", "--copy-source", f"{bucket}/copy.bin",
                   "--metadata-directive", "REPLACE", "--metadata", "color=red", "--content-type", "text/plain")
        head3 = self.s3api("head-object", "--bucket", bucket, "--key", "copy.bin")
        self.assertEqual(head3["Metadata"], {"color": "red"})
        self.assertEqual(head3["ContentType"], "text/plain")
        out = self.tmp / "copy.out"
        self.s3api("get-object", "--bucket", bucket, "--key", "copy.bin", str(out))
        self.assertEqual(out.read_bytes(), data)

        p = self.aws("s3api", "head-object", "--bucket", bucket, "--key", "nope", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("404", p.stderr)

        deleted = self.s3api("delete-objects", "--bucket", bucket, "--delete", json.dumps(
            {"Objects": [{"Key": "k/obj.bin"}, {"Key": "copy.bin"}, {"Key": "never-existed"}]}))
        self.assertEqual(sorted(d["Key"] for d in deleted["Deleted"]), ["copy.bin", "k/obj.bin", "never-existed"])
        self.assertFalse(deleted.get("Errors"))
        listing = self.s3api("list-objects-v2", "--bucket", bucket)
        self.assertFalse(listing.get("Contents"), listing)

    def test_list_objects_v2_delimiter_and_pages(self):
        bucket = random_bucket("list")
        self.s3api("create-bucket", "--bucket", bucket)
        keys = sorted([f"dir{i}/file{j}" for i in range(4) for j in range(3)] +
                      [f"top{i:02d}" for i in range(9)] + ["dir1/sub/x"])
        for k in keys:
            self.put_raw(bucket, k, k.encode())

        # Delimiter across small pages: the CLI follows continuation tokens.
        r = self.s3api("list-objects-v2", "--bucket", bucket, "--delimiter", "/", "--page-size", "2")
        self.assertEqual([c["Prefix"] for c in r["CommonPrefixes"]], ["dir0/", "dir1/", "dir2/", "dir3/"])
        self.assertEqual([c["Key"] for c in r["Contents"]], [f"top{i:02d}" for i in range(9)])

        r = self.s3api("list-objects-v2", "--bucket", bucket, "--prefix", "dir1/", "--delimiter", "/",
                       "--page-size", "1")
        self.assertEqual([c["Key"] for c in r["Contents"]], ["dir1/file0", "dir1/file1", "dir1/file2"])
        self.assertEqual([c["Prefix"] for c in r["CommonPrefixes"]], ["dir1/sub/"])

        # --max-items with --starting-token walks everything exactly once, in order.
        seen, token = [], None
        for _ in range(20):
            args = ["list-objects-v2", "--bucket", bucket, "--max-items", "5", "--page-size", "3"]
            if token:
                args += ["--starting-token", token]
            r = self.s3api(*args)
            page = [c["Key"] for c in r.get("Contents", [])]
            self.assertLessEqual(len(page), 5)
            seen += page
            token = r.get("NextToken")
            if not token:
                break
        self.assertEqual(seen, keys)

        full = self.s3api("list-objects-v2", "--bucket", bucket, "--no-paginate")
        self.assertEqual([c["Key"] for c in full["Contents"]], keys)
        self.assertEqual(full["KeyCount"], len(keys))
        for c in full["Contents"]:
            self.assertEqual(c["Size"], len(c["Key"]))

    def test_multipart_api(self):
        bucket = random_bucket("mpu")
        self.s3api("create-bucket", "--bucket", bucket)
        up = self.s3api("create-multipart-upload", "--bucket", bucket, "--key", "mp.bin", "--content-type",
                        "application/octet-stream")
        upload_id = up["UploadId"]
        uploads = self.s3api("list-multipart-uploads", "--bucket", bucket)
        self.assertIn(upload_id, [u["UploadId"] for u in uploads.get("Uploads", [])])

        parts = [os.urandom(5 * MiB), os.urandom(1 * MiB + 17)]
        etags = []
        for n, data in enumerate(parts, 1):
            path = self.write(f"part{n}", data)
            r = self.s3api("upload-part", "--bucket", bucket, "--key", "mp.bin", "--upload-id", upload_id,
                           "--part-number", str(n), "--body", str(path))
            self.assertEqual(r["ETag"], '"%s"' % hashlib.md5(data).hexdigest())
            etags.append(r["ETag"])

        listed = self.s3api("list-parts", "--bucket", bucket, "--key", "mp.bin", "--upload-id", upload_id)
        self.assertEqual([(p["PartNumber"], p["Size"], p["ETag"]) for p in listed["Parts"]],
                         [(1, len(parts[0]), etags[0]), (2, len(parts[1]), etags[1])])

        done = self.s3api("complete-multipart-upload", "--bucket", bucket, "--key", "mp.bin", "--upload-id", upload_id,
                          "--multipart-upload", json.dumps(
                              {"Parts": [{"PartNumber": n, "ETag": e} for n, e in enumerate(etags, 1)]}))
        want_etag = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest() + "-2"
        self.assertEqual(done["ETag"], f'"{want_etag}"')
        out = self.tmp / "mp.out"
        self.s3api("get-object", "--bucket", bucket, "--key", "mp.bin", str(out))
        self.assertEqual(out.read_bytes(), b"".join(parts))
        self.assertNotIn(upload_id, [u["UploadId"] for u in
                                     self.s3api("list-multipart-uploads", "--bucket", bucket).get("Uploads", [])])

        # Abort: the upload disappears and its parts are gone.
        up2 = self.s3api("create-multipart-upload", "--bucket", bucket, "--key", "aborted")["UploadId"]
        self.s3api("upload-part", "--bucket", bucket, "--key", "aborted", "--upload-id", up2, "--part-number", "1",
                   "--body", str(self.write("p", b"x" * 1000)))
        self.aws("s3api", "abort-multipart-upload", "--bucket", bucket, "--key", "aborted", "--upload-id", up2)
        p = self.aws("s3api", "list-parts", "--bucket", bucket, "--key", "aborted", "--upload-id", up2, check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("NoSuchUpload", p.stderr)
        p = self.aws("s3api", "head-object", "--bucket", bucket, "--key", "aborted", check=False)
        self.assertNotEqual(p.returncode, 0)

    def test_bucket_acl_public_read(self):
        bucket = random_bucket("acl")
        # ACLs count only with ownership controls other than BucketOwnerEnforced (S3's default since 2023).
        self.s3api("create-bucket", "--bucket", bucket, "--object-ownership", "ObjectWriter")
        self.put_raw(bucket, "pub.txt", b"public bytes")
        acl = self.s3api("get-bucket-acl", "--bucket", bucket)
        self.assertEqual([g["Permission"] for g in acl["Grants"]], ["FULL_CONTROL"])
        self.assertEqual(acl["Grants"][0]["Grantee"]["ID"], acl["Owner"]["ID"])
        url = f"{self.daemon.endpoint}/{bucket}/pub.txt"
        self.assertEqual(harness.http_request("GET", url)[0], 403)

        listing = f"{self.daemon.endpoint}/{bucket}?list-type=2"
        self.assertEqual(harness.http_request("GET", listing)[0], 403)

        # public-read on a bucket lets anyone list it (S3's bucket READ grant); its
        # objects stay as private as their own ACLs.
        self.aws("s3api", "put-bucket-acl", "--bucket", bucket, "--acl", "public-read")
        acl = self.s3api("get-bucket-acl", "--bucket", bucket)
        grants = {(g["Grantee"].get("URI") or g["Grantee"].get("ID"), g["Permission"]) for g in acl["Grants"]}
        self.assertIn(("http://acs.amazonaws.com/groups/global/AllUsers", "READ"), grants)
        self.assertIn((acl["Owner"]["ID"], "FULL_CONTROL"), grants)
        status, _, body = harness.http_request("GET", listing)
        self.assertEqual(status, 200)
        self.assertEqual(harness.xml_findall_text(body, "Key"), ["pub.txt"])
        status, _, body = harness.http_request("GET", url)
        self.assertEqual((status, harness.error_code(body)), (403, "AccessDenied"))

        self.aws("s3api", "put-bucket-acl", "--bucket", bucket, "--acl", "private")
        status, _, body = harness.http_request("GET", listing)
        self.assertEqual(status, 403)
        self.assertEqual(harness.error_code(body), "AccessDenied")

    def test_bucket_cors(self):
        bucket = random_bucket("cors")
        self.s3api("create-bucket", "--bucket", bucket, "--object-ownership", "ObjectWriter")
        p = self.aws("s3api", "get-bucket-cors", "--bucket", bucket, check=False)
        self.assertIn("NoSuchCORSConfiguration", p.stderr)
        rules = {"CORSRules": [{
            "AllowedOrigins": ["https://app.example.com"],
            "AllowedMethods": ["GET", "PUT"],
            "AllowedHeaders": ["*"],
            "ExposeHeaders": ["ETag"],
            "MaxAgeSeconds": 600,
        }]}
        self.aws("s3api", "put-bucket-cors", "--bucket", bucket, "--cors-configuration", json.dumps(rules))
        got = self.s3api("get-bucket-cors", "--bucket", bucket)
        self.assertEqual(got["CORSRules"], rules["CORSRules"])

        # A browser's preflight for an allowed origin/method is answered; others are refused.
        status, headers, _ = harness.http_request("OPTIONS", f"{self.daemon.endpoint}/{bucket}/some/key", headers={
            "Origin": "https://app.example.com", "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "content-type"})
        self.assertEqual(status, 200)
        self.assertEqual(headers.get("access-control-allow-origin"), "https://app.example.com")
        self.assertIn("PUT", headers.get("access-control-allow-methods", ""))
        status, _, _ = harness.http_request("OPTIONS", f"{self.daemon.endpoint}/{bucket}/some/key", headers={
            "Origin": "https://evil.example.com", "Access-Control-Request-Method": "PUT"})
        self.assertEqual(status, 403)

        # The actual request from an allowed origin carries the CORS headers.
        self.put_raw(bucket, "some/key", b"cors body")
        self.aws("s3api", "put-object-acl", "--bucket", bucket, "--key", "some/key", "--acl",
                              "public-read")
        status, headers, body = harness.http_request("GET", f"{self.daemon.endpoint}/{bucket}/some/key",
                                                     headers={"Origin": "https://app.example.com"})
        self.assertEqual((status, body), (200, b"cors body"))
        self.assertEqual(headers.get("access-control-allow-origin"), "https://app.example.com")
        self.assertIn("etag", headers.get("access-control-expose-headers", "").lower())

        self.aws("s3api", "delete-bucket-cors", "--bucket", bucket)
        p = self.aws("s3api", "get-bucket-cors", "--bucket", bucket, check=False)
        self.assertIn("NoSuchCORSConfiguration", p.stderr)

    # -- IAM ------------------------------------------------------------------

    def test_iam_users_and_access_keys(self):
        account = self.daemon.create_account("cli-team-" + os.urandom(3).hex())
        acct_env = self.daemon.client_env(account["AccessKeyId"], account["SecretAccessKey"])
        own_bucket = random_bucket("team")
        root_bucket = random_bucket("rootonly")
        self.aws("s3", "mb", f"s3://{own_bucket}", env=acct_env)
        self.aws("s3", "mb", f"s3://{root_bucket}")

        user = self.aws("iam", "create-user", "--user-name", "alice", env=acct_env, json_out=True)["User"]
        self.assertEqual(user["UserName"], "alice")
        p = self.aws("iam", "create-user", "--user-name", "alice", env=acct_env, check=False)
        self.assertIn("EntityAlreadyExists", p.stderr)

        key = self.aws("iam", "create-access-key", "--user-name", "alice", env=acct_env, json_out=True)["AccessKey"]
        self.assertEqual(key["UserName"], "alice")
        self.assertEqual(key["Status"], "Active")
        listed = self.aws("iam", "list-access-keys", "--user-name", "alice", env=acct_env, json_out=True)
        self.assertEqual([k["AccessKeyId"] for k in listed["AccessKeyMetadata"]], [key["AccessKeyId"]])

        # A user may do nothing until a policy allows it; then it acts within its account.
        user_env = self.daemon.client_env(key["AccessKeyId"], key["SecretAccessKey"])
        p = self.aws("s3", "ls", env=user_env, check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("AccessDenied", p.stderr)
        self.aws("iam", "attach-user-policy", "--user-name", "alice", "--policy-arn",
                 "arn:aws:iam::aws:policy/AmazonS3FullAccess", env=acct_env)
        buckets = self.aws("s3", "ls", env=user_env).stdout.split()
        self.assertIn(own_bucket, buckets)
        self.assertNotIn(root_bucket, buckets)
        p = self.aws("s3", "ls", f"s3://{root_bucket}", env=user_env, check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("AccessDenied", p.stderr)

        self.aws("iam", "delete-access-key", "--user-name", "alice", "--access-key-id", key["AccessKeyId"],
                 env=acct_env)
        listed = self.aws("iam", "list-access-keys", "--user-name", "alice", env=acct_env, json_out=True)
        self.assertEqual(listed["AccessKeyMetadata"], [])
        p = self.aws("s3", "ls", env=user_env, check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("InvalidAccessKeyId", p.stderr)


if __name__ == "__main__":
    harness.main()
