#!/usr/bin/env python3
"""S3 static website hosting: Put/Get/DeleteBucketWebsite with boto3 and awscli, and the website endpoint
(<bucket>.s3-website.<domain>, <bucket>.s3-website-<region>.<domain>) with raw anonymous requests: index and
error documents, routing rules, RedirectAllRequestsTo, x-amz-website-redirect-location, HTML errors, and only
what the public may read."""

import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import s3_fixture  # noqa: E402
from harness import random_bucket  # noqa: E402
from s3_fixture import S3TestCase  # noqa: E402

s3_fixture.require_boto3()

DOMAIN = "localhost"  # annexd's default --domain

PUBLIC_READ_POLICY = ('{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*",'
                      '"Action":"s3:GetObject","Resource":"arn:aws:s3:::%s/*"}]}')


class WebsiteTest(S3TestCase):
    def web(self, bucket, path, method="GET", host=None, headers=None, signed=False):
        """A request to the bucket's website endpoint: (status, headers, body)."""
        h = {"Host": host or f"{bucket}.s3-website.{DOMAIN}:{self.daemon.port}"}
        h.update(headers or {})
        if signed:
            return harness.signed_request(self.daemon.endpoint, method, path, headers=h,
                                          access_key=self.daemon.access_key, secret_key=self.daemon.secret_key)
        return harness.raw_request("127.0.0.1", self.daemon.port, method, path, None, h)

    def site(self, **config):
        """A bucket whose objects the public may read (a bucket policy), with a website configuration."""
        bucket = random_bucket("site")
        self.s3.create_bucket(Bucket=bucket)
        self.s3.put_bucket_policy(Bucket=bucket, Policy=PUBLIC_READ_POLICY % bucket)
        if config:
            self.s3.put_bucket_website(Bucket=bucket, WebsiteConfiguration=config)
        return bucket

    def put(self, bucket, key, body, **kw):
        self.s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="text/html", **kw)

    # -- configuration -----------------------------------------------------------------

    def test_configuration_round_trip_and_errors(self):
        bucket = random_bucket("cfg")
        self.s3.create_bucket(Bucket=bucket)
        self.assertError("NoSuchWebsiteConfiguration", self.s3.get_bucket_website, Bucket=bucket, status=404)
        config = {
            "IndexDocument": {"Suffix": "index.html"},
            "ErrorDocument": {"Key": "error.html"},
            "RoutingRules": [
                {"Condition": {"KeyPrefixEquals": "docs/"}, "Redirect": {"ReplaceKeyPrefixWith": "documents/"}},
                {"Condition": {"HttpErrorCodeReturnedEquals": "404"},
                 "Redirect": {"HostName": "example.com", "Protocol": "https", "HttpRedirectCode": "302"}},
            ],
        }
        self.s3.put_bucket_website(Bucket=bucket, WebsiteConfiguration=config)
        got = self.s3.get_bucket_website(Bucket=bucket)
        self.assertEqual(got["IndexDocument"], config["IndexDocument"])
        self.assertEqual(got["ErrorDocument"], config["ErrorDocument"])
        self.assertEqual(got["RoutingRules"], config["RoutingRules"])
        self.assertError("InvalidArgument", self.s3.put_bucket_website, Bucket=bucket,
                         WebsiteConfiguration={"ErrorDocument": {"Key": "e.html"}}, status=400)
        self.assertError("InvalidArgument", self.s3.put_bucket_website, Bucket=bucket,
                         WebsiteConfiguration={"IndexDocument": {"Suffix": "a/index.html"}}, status=400)
        self.assertError("InvalidArgument", self.s3.put_bucket_website, Bucket=bucket, WebsiteConfiguration={
            "IndexDocument": {"Suffix": "i.html"},
            "RoutingRules": [{"Redirect": {"ReplaceKeyWith": "a", "ReplaceKeyPrefixWith": "b"}}]}, status=400)
        self.assertEqual(self.s3.get_bucket_website(Bucket=bucket)["RoutingRules"], config["RoutingRules"])
        other = self.daemon.create_account("web-other-" + os.urandom(3).hex())
        theirs = self.daemon.boto3_client(other["AccessKeyId"], other["SecretAccessKey"])
        self.assertError("AccessDenied", theirs.get_bucket_website, Bucket=bucket, status=403)
        self.assertError("AccessDenied", theirs.delete_bucket_website, Bucket=bucket, status=403)
        self.s3.delete_bucket_website(Bucket=bucket)
        self.assertError("NoSuchWebsiteConfiguration", self.s3.get_bucket_website, Bucket=bucket, status=404)

    def test_awscli_website_commands(self):
        if not harness.have(harness.AWS_CLI):
            self.skipTest("awscli not installed")
        bucket = self.site()
        env = self.daemon.client_env()
        run = lambda *a: subprocess.run([harness.AWS_CLI, "--endpoint-url", self.daemon.endpoint, *a], env=env,
                                        capture_output=True, text=True, timeout=120)
        p = run("s3", "website", f"s3://{bucket}", "--index-document", "index.html", "--error-document", "err.html")
        self.assertEqual(p.returncode, 0, p.stderr)
        p = run("s3api", "get-bucket-website", "--bucket", bucket)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout)["ErrorDocument"], {"Key": "err.html"})
        self.put(bucket, "index.html", b"<h1>cli</h1>")
        self.assertEqual(self.web(bucket, "/")[2], b"<h1>cli</h1>")
        p = run("s3api", "delete-bucket-website", "--bucket", bucket)
        self.assertEqual(p.returncode, 0, p.stderr)
        status, headers, body = self.web(bucket, "/")
        self.assertEqual(status, 404)
        self.assertIn(b"NoSuchWebsiteConfiguration", body)

    # -- the endpoint ------------------------------------------------------------------

    def test_index_documents_and_hosts(self):
        bucket = self.site(IndexDocument={"Suffix": "index.html"})
        self.put(bucket, "index.html", b"<h1>home</h1>")
        self.put(bucket, "blog/index.html", b"<h1>blog</h1>")
        self.put(bucket, "page.html", b"<p>page</p>")
        for host in (f"{bucket}.s3-website.{DOMAIN}", f"{bucket}.s3-website-{harness.REGION}.{DOMAIN}",
                     f"{bucket}.s3-website.{harness.REGION}.{DOMAIN}:{self.daemon.port}"):
            status, headers, body = self.web(bucket, "/", host=host)
            self.assertEqual((status, body), (200, b"<h1>home</h1>"), host)
            self.assertEqual(headers["content-type"], "text/html")
        self.assertEqual(self.web(bucket, "/blog/")[2], b"<h1>blog</h1>")
        self.assertEqual(self.web(bucket, "/page.html")[2], b"<p>page</p>")
        status, headers, _ = self.web(bucket, "/blog")
        self.assertEqual((status, headers.get("location")), (302, "/blog/"))
        status, headers, body = self.web(bucket, "/page.html", method="HEAD")
        self.assertEqual((status, headers["content-length"], body), (200, "11", b""))
        self.assertEqual(self.web(bucket, "/page.html", headers={"Range": "bytes=0-2"})[2], b"<p>")
        # Only GET and HEAD.
        status, headers, body = self.web(bucket, "/new.html", method="PUT")
        self.assertEqual(status, 405)
        self.assertTrue(body.startswith(b"<html>"), body)
        self.assertEqual(self.s3.list_objects_v2(Bucket=bucket)["KeyCount"], 3)

    def test_errors_are_html_and_use_the_error_document(self):
        bucket = self.site(IndexDocument={"Suffix": "index.html"})
        status, headers, body = self.web(bucket, "/missing.html")
        self.assertEqual(status, 404)
        self.assertTrue(headers["content-type"].startswith("text/html"), headers)
        self.assertIn(b"<h1>404 Not Found</h1>", body)
        self.assertIn(b"<li>Code: NoSuchKey</li>", body)
        self.assertIn(b"<li>Key: missing.html</li>", body)
        status, _, body = self.web("no-such-bucket-" + os.urandom(3).hex(), "/")
        self.assertEqual(status, 404)
        self.assertIn(b"NoSuchBucket", body)

        self.s3.put_bucket_website(Bucket=bucket, WebsiteConfiguration={
            "IndexDocument": {"Suffix": "index.html"}, "ErrorDocument": {"Key": "error.html"}})
        self.put(bucket, "error.html", b"<h1>oops</h1>")
        status, headers, body = self.web(bucket, "/missing.html")
        self.assertEqual((status, body), (404, b"<h1>oops</h1>"))
        self.assertEqual(headers["content-type"], "text/html")
        status, _, body = self.web(bucket, "/missing.html", method="HEAD")
        self.assertEqual((status, body), (404, b""))

    def test_only_public_objects_are_served(self):
        bucket = random_bucket("priv")
        self.s3.create_bucket(Bucket=bucket, ObjectOwnership="ObjectWriter")
        self.s3.put_bucket_website(Bucket=bucket, WebsiteConfiguration={"IndexDocument": {"Suffix": "index.html"}})
        self.put(bucket, "index.html", b"secret home")
        self.put(bucket, "public.html", b"public page", ACL="public-read")
        status, _, body = self.web(bucket, "/")
        self.assertEqual(status, 403)
        self.assertIn(b"AccessDenied", body)
        self.assertNotIn(b"secret", body)
        self.assertEqual(self.web(bucket, "/public.html")[2], b"public page")
        # Signing the request changes nothing: the website endpoint reads as anyone.
        status, _, body = self.web(bucket, "/index.html", signed=True)
        self.assertEqual(status, 403)
        self.assertNotIn(b"secret", body)
        # Nor do query parameters reach other versions or sub-resources.
        status, _, body = self.web(bucket, "/index.html?acl")
        self.assertEqual(status, 403)
        # A private error document is not served either.
        self.s3.put_bucket_website(Bucket=bucket, WebsiteConfiguration={
            "IndexDocument": {"Suffix": "index.html"}, "ErrorDocument": {"Key": "index.html"}})
        status, _, body = self.web(bucket, "/nope")
        self.assertEqual(status, 403)
        self.assertNotIn(b"secret", body)

    def test_redirects(self):
        bucket = self.site(IndexDocument={"Suffix": "index.html"}, RoutingRules=[
            {"Condition": {"KeyPrefixEquals": "docs/"}, "Redirect": {"ReplaceKeyPrefixWith": "documents/"}},
            {"Condition": {"KeyPrefixEquals": "moved"},
             "Redirect": {"HostName": "example.com", "Protocol": "https", "ReplaceKeyWith": "new.html",
                          "HttpRedirectCode": "307"}},
            {"Condition": {"HttpErrorCodeReturnedEquals": "404", "KeyPrefixEquals": "gone/"},
             "Redirect": {"HostName": "archive.example.com"}},
        ])
        host = f"{bucket}.s3-website.{DOMAIN}"
        status, headers, _ = self.web(bucket, "/docs/a/b.html", host=host)
        self.assertEqual((status, headers["location"]), (301, f"http://{host}/documents/a/b.html"))
        status, headers, _ = self.web(bucket, "/moved/x")
        self.assertEqual((status, headers["location"]), (307, "https://example.com/new.html"))
        status, headers, _ = self.web(bucket, "/gone/page.html")
        self.assertEqual((status, headers["location"]), (301, "http://archive.example.com/gone/page.html"))
        self.put(bucket, "gone/here.html", b"still here")
        self.assertEqual(self.web(bucket, "/gone/here.html")[:3:2], (200, b"still here"))

        self.s3.put_object(Bucket=bucket, Key="old.html", Body=b"", WebsiteRedirectLocation="/new.html")
        self.assertEqual(self.s3.head_object(Bucket=bucket, Key="old.html")["WebsiteRedirectLocation"], "/new.html")
        status, headers, _ = self.web(bucket, "/old.html")
        self.assertEqual((status, headers["location"]), (301, "/new.html"))
        self.assertError("InvalidRedirectLocation", self.s3.put_object, Bucket=bucket, Key="bad", Body=b"",
                         WebsiteRedirectLocation="elsewhere", status=400)

        self.s3.put_bucket_website(Bucket=bucket, WebsiteConfiguration={
            "RedirectAllRequestsTo": {"HostName": "www.example.com", "Protocol": "https"}})
        status, headers, _ = self.web(bucket, "/any/path.html")
        self.assertEqual((status, headers["location"]), (301, "https://www.example.com/any/path.html"))


    def test_redirect_location_from_copies_multipart_and_forms(self):
        bucket = self.site(IndexDocument={"Suffix": "index.html"})
        self.put(bucket, "page.html", b"<p>page</p>", WebsiteRedirectLocation="/first.html")

        def redirect_of(key):
            return self.s3.head_object(Bucket=bucket, Key=key).get("WebsiteRedirectLocation")

        # CopyObject: the copy's own header, never the source's, whatever the metadata directive.
        self.s3.copy_object(Bucket=bucket, Key="copied.html", CopySource={"Bucket": bucket, "Key": "page.html"})
        self.assertIsNone(redirect_of("copied.html"))
        self.assertEqual(self.web(bucket, "/copied.html")[:3:2], (200, b"<p>page</p>"))
        self.s3.copy_object(Bucket=bucket, Key="copied.html", CopySource={"Bucket": bucket, "Key": "page.html"},
                            WebsiteRedirectLocation="https://example.com/copied")
        self.assertEqual(redirect_of("copied.html"), "https://example.com/copied")
        status, headers, _ = self.web(bucket, "/copied.html")
        self.assertEqual((status, headers["location"]), (301, "https://example.com/copied"))
        self.s3.copy_object(Bucket=bucket, Key="replaced.html", CopySource={"Bucket": bucket, "Key": "page.html"},
                            MetadataDirective="REPLACE", ContentType="text/html", WebsiteRedirectLocation="/r.html")
        self.assertEqual(redirect_of("replaced.html"), "/r.html")
        # A copy onto itself that only changes the redirect is a change S3 accepts.
        self.s3.copy_object(Bucket=bucket, Key="page.html", CopySource={"Bucket": bucket, "Key": "page.html"},
                            WebsiteRedirectLocation="/second.html")
        self.assertEqual(redirect_of("page.html"), "/second.html")
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key="page.html")["Body"].read(), b"<p>page</p>")
        self.assertError("InvalidRedirectLocation", self.s3.copy_object, Bucket=bucket, Key="bad.html",
                         CopySource={"Bucket": bucket, "Key": "page.html"}, WebsiteRedirectLocation="nowhere",
                         status=400)

        # CreateMultipartUpload: kept with the upload, given to the object at completion.
        up = self.s3.create_multipart_upload(Bucket=bucket, Key="big.html", WebsiteRedirectLocation="/small.html")
        part = self.s3.upload_part(Bucket=bucket, Key="big.html", UploadId=up["UploadId"], PartNumber=1, Body=b"b")
        self.s3.complete_multipart_upload(Bucket=bucket, Key="big.html", UploadId=up["UploadId"], MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
        self.assertEqual(redirect_of("big.html"), "/small.html")
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key="big.html")["WebsiteRedirectLocation"], "/small.html")
        status, headers, _ = self.web(bucket, "/big.html")
        self.assertEqual((status, headers["location"]), (301, "/small.html"))
        self.assertError("InvalidRedirectLocation", self.s3.create_multipart_upload, Bucket=bucket, Key="x",
                         WebsiteRedirectLocation="ftp://example.com/", status=400)

        # A POST form's x-amz-website-redirect-location field.
        import requests
        post = self.s3.generate_presigned_post(bucket, "form.html",
                                               Fields={"x-amz-website-redirect-location": "/from-form.html"},
                                               Conditions=[{"x-amz-website-redirect-location": "/from-form.html"}])
        r = requests.post(post["url"], data=post["fields"], files={"file": ("f.html", b"form")}, timeout=30)
        self.assertEqual(r.status_code, 204, r.text)
        self.assertEqual(redirect_of("form.html"), "/from-form.html")
        status, headers, _ = self.web(bucket, "/form.html")
        self.assertEqual((status, headers["location"]), (301, "/from-form.html"))


if __name__ == "__main__":
    harness.main()
