#!/usr/bin/python3
"""The ECR JSON API against a real annexd: boto3 and awscli create, describe and delete repositories, push images
through the layer-upload operations and PutImage, read them back, delete them; lifecycle and repository policies,
tags, authorization tokens, another account's repositories, hostile bodies, and a lifecycle policy applied by the
appliance's scheduler (annexd's clock moved forward with the clockshift library)."""

import base64
import hashlib
import json
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import AWS_CLI, AnnexTestCase, REGION, ShiftedClock, have, wait_for  # noqa: E402

try:
    import boto3  # noqa: F401
    from botocore.config import Config
    from botocore.exceptions import ClientError
    HAVE_BOTO3 = True
except ImportError:  # pragma: no cover - reported as a skip
    HAVE_BOTO3 = False

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def unique(prefix):
    return prefix + os.urandom(4).hex()


def ecr_client(daemon, access_key=None, secret_key=None):
    import boto3 as b3
    return b3.session.Session().client(
        "ecr", endpoint_url=daemon.endpoint, region_name=REGION,
        aws_access_key_id=access_key or daemon.access_key, aws_secret_access_key=secret_key or daemon.secret_key,
        config=Config(retries={"max_attempts": 1, "mode": "standard"}))


def digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def keep_newest(n):
    return json.dumps({"rules": [{"rulePriority": 1, "description": f"keep the {n} newest images",
                                  "selection": {"tagStatus": "any", "countType": "imageCountMoreThan",
                                                "countNumber": n},
                                  "action": {"type": "expire"}}]})


def upload_layer(ecr, repo, data, part=7):
    """InitiateLayerUpload, UploadLayerPart in parts of `part` bytes, CompleteLayerUpload."""
    upload = ecr.initiate_layer_upload(repositoryName=repo)["uploadId"]
    for first in range(0, len(data), part):
        chunk = data[first:first + part]
        r = ecr.upload_layer_part(repositoryName=repo, uploadId=upload, partFirstByte=first,
                                  partLastByte=first + len(chunk) - 1, layerPartBlob=chunk)
        assert r["lastByteReceived"] == first + len(chunk) - 1, r
    r = ecr.complete_layer_upload(repositoryName=repo, uploadId=upload, layerDigests=[digest(data)])
    assert r["layerDigest"] == digest(data), r
    return digest(data)


def push_image(ecr, repo, tag, seed):
    """A small OCI image whose layer and config are uploaded through the ECR API; returns (digest, manifest)."""
    layer = ("layer " + seed).encode() * 3
    config = json.dumps({"architecture": "amd64", "os": "linux", "seed": seed}).encode()
    upload_layer(ecr, repo, layer)
    upload_layer(ecr, repo, config)
    manifest = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                      "digest": digest(config), "size": len(config)},
                           "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                                       "digest": digest(layer), "size": len(layer)}]})
    kw = {"imageTag": tag} if tag else {}
    r = ecr.put_image(repositoryName=repo, imageManifest=manifest, **kw)
    return r["image"]["imageId"]["imageDigest"], manifest


@unittest.skipUnless(HAVE_BOTO3, "boto3 is not installed for this Python")
class EcrBoto3Test(AnnexTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ecr = ecr_client(cls.daemon)
        cls.account = cls.ecr.describe_registry()["registryId"]

    def code(self, ctx):
        return ctx.exception.response["Error"]["Code"]

    def repo(self, **kw):
        name = unique("team/app-")
        self.ecr.create_repository(repositoryName=name, **kw)
        return name

    def test_create_describe_delete_repository(self):
        name = unique("svc/web-")
        r = self.ecr.create_repository(repositoryName=name, imageTagMutability="IMMUTABLE",
                                       imageScanningConfiguration={"scanOnPush": True},
                                       tags=[{"Key": "team", "Value": "web"}])["repository"]
        self.assertEqual(r["repositoryName"], name)
        self.assertEqual(r["registryId"], self.account)
        self.assertEqual(r["repositoryArn"], f"arn:aws:ecr:{REGION}:{self.account}:repository/{name}")
        self.assertTrue(r["repositoryUri"].startswith(f"{self.account}.dkr.ecr.{REGION}."), r["repositoryUri"])
        self.assertTrue(r["repositoryUri"].endswith("/" + name))
        self.assertEqual(r["imageTagMutability"], "IMMUTABLE")
        self.assertTrue(r["imageScanningConfiguration"]["scanOnPush"])
        self.assertEqual(r["encryptionConfiguration"]["encryptionType"], "AES256")
        self.assertLess(abs(r["createdAt"].timestamp() - time.time()), 300)
        with self.assertRaises(ClientError) as e:
            self.ecr.create_repository(repositoryName=name)
        self.assertEqual(self.code(e), "RepositoryAlreadyExistsException")
        got = self.ecr.describe_repositories(repositoryNames=[name])["repositories"]
        self.assertEqual([x["repositoryName"] for x in got], [name])
        tags = self.ecr.list_tags_for_resource(resourceArn=r["repositoryArn"])["tags"]
        self.assertEqual(tags, [{"Key": "team", "Value": "web"}])
        self.assertEqual(self.ecr.delete_repository(repositoryName=name)["repository"]["repositoryName"], name)
        with self.assertRaises(ClientError) as e:
            self.ecr.describe_repositories(repositoryNames=[name])
        self.assertEqual(self.code(e), "RepositoryNotFoundException")
        self.assertIn(name, e.exception.response["Error"]["Message"])

    def test_name_rules_and_refusals(self):
        for bad in ["Upper", "a..b", "-lead", "trail/", "a b", "x" * 257]:
            with self.assertRaises(ClientError, msg=bad) as e:
                self.ecr.create_repository(repositoryName=bad)
            self.assertEqual(self.code(e), "InvalidParameterException", bad)
        with self.assertRaises(ClientError) as e:
            self.ecr.create_repository(repositoryName=unique("k-"), encryptionConfiguration={"encryptionType": "KMS"})
        self.assertEqual(self.code(e), "InvalidParameterException")
        self.assertIn("KMS", e.exception.response["Error"]["Message"])
        with self.assertRaises(ClientError) as e:
            self.ecr.create_repository(repositoryName=unique("t-"), tags=[{"Key": "aws:x", "Value": "1"}])
        self.assertEqual(self.code(e), "InvalidTagParameterException")

    def test_describe_repositories_pages(self):
        prefix = unique("page")
        names = sorted(f"{prefix}/r{i}" for i in range(5))
        for n in names:
            self.ecr.create_repository(repositoryName=n)
        seen = [r["repositoryName"] for page in self.ecr.get_paginator("describe_repositories").paginate(
            PaginationConfig={"PageSize": 2}) for r in page["repositories"]]
        self.assertEqual([s for s in seen if s.startswith(prefix)], names)
        self.assertEqual(len(seen), len(set(seen)))
        with self.assertRaises(ClientError) as e:
            self.ecr.describe_repositories(nextToken="garbage")
        self.assertEqual(self.code(e), "InvalidParameterException")

    def test_push_list_describe_get_delete_images(self):
        repo = self.repo()
        d1, m1 = push_image(self.ecr, repo, "v1", "one")
        d2, _ = push_image(self.ecr, repo, None, "two")
        ids = self.ecr.list_images(repositoryName=repo)["imageIds"]
        self.assertIn({"imageDigest": d1, "imageTag": "v1"}, ids)
        self.assertIn({"imageDigest": d2}, ids)
        untagged = self.ecr.list_images(repositoryName=repo, filter={"tagStatus": "UNTAGGED"})["imageIds"]
        self.assertEqual(untagged, [{"imageDigest": d2}])
        details = self.ecr.describe_images(repositoryName=repo, imageIds=[{"imageTag": "v1"}])["imageDetails"]
        self.assertEqual(details[0]["imageDigest"], d1)
        self.assertEqual(details[0]["imageTags"], ["v1"])
        self.assertEqual(details[0]["imageManifestMediaType"], OCI_MANIFEST)
        self.assertGreater(details[0]["imageSizeInBytes"], 0)
        self.assertLess(abs(details[0]["imagePushedAt"].timestamp() - time.time()), 300)
        with self.assertRaises(ClientError) as e:
            self.ecr.describe_images(repositoryName=repo, imageIds=[{"imageTag": "nope"}])
        self.assertEqual(self.code(e), "ImageNotFoundException")
        got = self.ecr.batch_get_image(repositoryName=repo, imageIds=[
            {"imageTag": "v1"}, {"imageTag": "missing"}, {"imageTag": "v1", "imageDigest": d2}, {}])
        self.assertEqual(got["images"][0]["imageManifest"], m1)
        self.assertEqual(got["images"][0]["imageId"], {"imageDigest": d1, "imageTag": "v1"})
        self.assertEqual(sorted(f["failureCode"] for f in got["failures"]),
                         ["ImageNotFound", "ImageTagDoesNotMatchDigest", "MissingDigestAndTag"])
        pulled = self.ecr.describe_images(repositoryName=repo, imageIds=[{"imageDigest": d1}])["imageDetails"][0]
        self.assertIn("lastRecordedPullTime", pulled)
        deleted = self.ecr.batch_delete_image(repositoryName=repo, imageIds=[{"imageTag": "v1"}, {"imageTag": "gone"}])
        self.assertEqual(deleted["imageIds"], [{"imageDigest": d1, "imageTag": "v1"}])
        self.assertEqual([f["failureCode"] for f in deleted["failures"]], ["ImageNotFound"])
        self.assertEqual(self.ecr.list_images(repositoryName=repo)["imageIds"], [{"imageDigest": d2}])

    def test_put_image_refusals(self):
        repo = self.repo(imageTagMutability="IMMUTABLE")
        d1, m1 = push_image(self.ecr, repo, "v1", "immutable")
        with self.assertRaises(ClientError) as e:
            self.ecr.put_image(repositoryName=repo, imageManifest=m1, imageTag="v1")
        self.assertEqual(self.code(e), "ImageAlreadyExistsException")
        with self.assertRaises(ClientError) as e:
            push_image(self.ecr, repo, "v1", "other")
        self.assertEqual(self.code(e), "ImageTagAlreadyExistsException")
        missing = json.loads(m1)
        missing["layers"][0]["digest"] = "sha256:" + "0" * 64
        with self.assertRaises(ClientError) as e:
            self.ecr.put_image(repositoryName=repo, imageManifest=json.dumps(missing), imageTag="v2")
        self.assertEqual(self.code(e), "LayersNotFoundException")
        with self.assertRaises(ClientError) as e:
            self.ecr.put_image(repositoryName=repo, imageManifest="{not json", imageTag="v3")
        self.assertEqual(self.code(e), "InvalidParameterException")
        with self.assertRaises(ClientError) as e:
            self.ecr.put_image(repositoryName=repo, imageManifest=m1, imageTag="v4", imageDigest="sha256:" + "1" * 64)
        self.assertEqual(self.code(e), "ImageDigestDoesNotMatchException")
        self.ecr.put_image_tag_mutability(repositoryName=repo, imageTagMutability="MUTABLE")
        d3, _ = push_image(self.ecr, repo, "v1", "moved")
        self.assertNotEqual(d3, d1)
        with self.assertRaises(ClientError) as e:
            self.ecr.delete_repository(repositoryName=repo)
        self.assertEqual(self.code(e), "RepositoryNotEmptyException")
        self.ecr.delete_repository(repositoryName=repo, force=True)

    def test_layers(self):
        repo = self.repo()
        layer = b"a layer of bytes"
        d = upload_layer(self.ecr, repo, layer, part=5)
        r = self.ecr.batch_check_layer_availability(repositoryName=repo, layerDigests=[d, "sha256:" + "2" * 64, "bad"])
        self.assertEqual(r["layers"], [{"layerDigest": d, "layerAvailability": "AVAILABLE", "layerSize": len(layer)}])
        self.assertEqual(sorted(f["failureCode"] for f in r["failures"]), ["InvalidLayerDigest", "MissingLayerDigest"])
        url = self.ecr.get_download_url_for_layer(repositoryName=repo, layerDigest=d)["downloadUrl"]
        self.assertEqual(url, f"{self.daemon.endpoint}/v2/{repo}/blobs/{d}")
        upload = self.ecr.initiate_layer_upload(repositoryName=repo)["uploadId"]
        with self.assertRaises(ClientError) as e:
            self.ecr.upload_layer_part(repositoryName=repo, uploadId=upload, partFirstByte=5, partLastByte=9,
                                       layerPartBlob=b"12345")
        self.assertEqual(self.code(e), "InvalidLayerPartException")
        self.ecr.upload_layer_part(repositoryName=repo, uploadId=upload, partFirstByte=0, partLastByte=2,
                                   layerPartBlob=b"abc")
        with self.assertRaises(ClientError) as e:
            self.ecr.complete_layer_upload(repositoryName=repo, uploadId=upload, layerDigests=[digest(b"abd")])
        self.assertEqual(self.code(e), "InvalidLayerException")
        with self.assertRaises(ClientError) as e:
            self.ecr.upload_layer_part(repositoryName=repo, uploadId="00000000-0000-0000-0000-000000000000",
                                       partFirstByte=0, partLastByte=0, layerPartBlob=b"x")
        self.assertEqual(self.code(e), "UploadNotFoundException")

    def test_lifecycle_policy_api(self):
        repo = self.repo()
        with self.assertRaises(ClientError) as e:
            self.ecr.get_lifecycle_policy(repositoryName=repo)
        self.assertEqual(self.code(e), "LifecyclePolicyNotFoundException")
        bad = json.loads(keep_newest(1))
        bad["rules"][0]["selection"]["tagStatus"] = "sometimes"
        with self.assertRaises(ClientError) as e:
            self.ecr.put_lifecycle_policy(repositoryName=repo, lifecyclePolicyText=json.dumps(bad))
        self.assertEqual(self.code(e), "InvalidParameterException")
        self.ecr.put_lifecycle_policy(repositoryName=repo, lifecyclePolicyText=keep_newest(1))
        self.assertEqual(json.loads(self.ecr.get_lifecycle_policy(repositoryName=repo)["lifecyclePolicyText"]),
                         json.loads(keep_newest(1)))
        old, _ = push_image(self.ecr, repo, "old", "p1")
        time.sleep(0.01)
        push_image(self.ecr, repo, "new", "p2")
        self.assertEqual(self.ecr.start_lifecycle_policy_preview(repositoryName=repo)["status"], "COMPLETE")
        preview = self.ecr.get_lifecycle_policy_preview(repositoryName=repo)
        self.assertEqual([(p["imageDigest"], p["imageTags"], p["appliedRulePriority"])
                          for p in preview["previewResults"]], [(old, ["old"], 1)])
        self.assertEqual(preview["summary"]["expiringImageTotalCount"], 1)
        self.ecr.delete_lifecycle_policy(repositoryName=repo)
        with self.assertRaises(ClientError) as e:
            self.ecr.delete_lifecycle_policy(repositoryName=repo)
        self.assertEqual(self.code(e), "LifecyclePolicyNotFoundException")

    def test_repository_policy_and_tags(self):
        repo = self.repo()
        arn = f"arn:aws:ecr:{REGION}:{self.account}:repository/{repo}"
        with self.assertRaises(ClientError) as e:
            self.ecr.get_repository_policy(repositoryName=repo)
        self.assertEqual(self.code(e), "RepositoryPolicyNotFoundException")
        with self.assertRaises(ClientError) as e:
            self.ecr.set_repository_policy(repositoryName=repo, policyText="{not a policy")
        self.assertEqual(self.code(e), "InvalidParameterException")
        policy = json.dumps({"Version": "2012-10-17", "Statement": [{
            "Sid": "pull", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{self.account}:root"},
            "Action": ["ecr:BatchGetImage"]}]})
        self.ecr.set_repository_policy(repositoryName=repo, policyText=policy)
        self.assertEqual(self.ecr.get_repository_policy(repositoryName=repo)["policyText"], policy)
        self.ecr.delete_repository_policy(repositoryName=repo)
        self.ecr.tag_resource(resourceArn=arn, tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
        self.ecr.untag_resource(resourceArn=arn, tagKeys=["a"])
        self.assertEqual(self.ecr.list_tags_for_resource(resourceArn=arn)["tags"], [{"Key": "b", "Value": "2"}])
        with self.assertRaises(ClientError) as e:
            self.ecr.tag_resource(resourceArn=arn, tags=[{"Key": f"k{i}", "Value": "v"} for i in range(50)])
        self.assertEqual(self.code(e), "TooManyTagsException")
        with self.assertRaises(ClientError) as e:
            self.ecr.list_tags_for_resource(resourceArn=arn + "-missing")
        self.assertEqual(self.code(e), "RepositoryNotFoundException")
        with self.assertRaises(ClientError) as e:
            self.ecr.list_tags_for_resource(resourceArn="arn:aws:s3:::bucket")
        self.assertEqual(self.code(e), "InvalidParameterException")

    def test_authorization_token(self):
        data = self.ecr.get_authorization_token()["authorizationData"][0]
        user, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
        self.assertEqual(user, "AWS")
        self.assertTrue(password)
        self.assertEqual(data["proxyEndpoint"], self.daemon.endpoint)
        hours = (data["expiresAt"].timestamp() - time.time()) / 3600
        self.assertTrue(11.5 < hours <= 12.01, hours)

    def test_another_accounts_repository(self):
        repo = self.repo()
        other = self.daemon.create_account(unique("acct-"))
        theirs = ecr_client(self.daemon, other["AccessKeyId"], other["SecretAccessKey"])
        with self.assertRaises(ClientError) as e:
            theirs.describe_repositories(repositoryNames=[repo])
        self.assertEqual(self.code(e), "RepositoryNotFoundException")  # looked up in their own registry
        with self.assertRaises(ClientError) as e:
            theirs.list_images(repositoryName=repo, registryId=self.account)
        self.assertEqual(self.code(e), "AccessDeniedException")
        policy = json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{other['AccountId']}:root"},
            "Action": ["ecr:ListImages", "ecr:DescribeImages"]}]})
        self.ecr.set_repository_policy(repositoryName=repo, policyText=policy)
        self.assertEqual(theirs.list_images(repositoryName=repo, registryId=self.account)["imageIds"], [])
        with self.assertRaises(ClientError) as e:
            theirs.delete_repository(repositoryName=repo, registryId=self.account)
        self.assertEqual(self.code(e), "AccessDeniedException")

    def test_describe_images_without_image_ids_lists_and_pages(self):
        repo = self.repo()
        tagged = {push_image(self.ecr, repo, f"t{i}", f"desc{repo}{i}")[0] for i in range(3)}
        untagged = push_image(self.ecr, repo, None, f"desc{repo}u")[0]
        everything = self.ecr.describe_images(repositoryName=repo)["imageDetails"]
        self.assertEqual({d["imageDigest"] for d in everything}, tagged | {untagged})
        only_tagged = self.ecr.describe_images(repositoryName=repo, filter={"tagStatus": "TAGGED"})["imageDetails"]
        self.assertEqual({d["imageDigest"] for d in only_tagged}, tagged)
        pages = self.ecr.get_paginator("describe_images").paginate(
            repositoryName=repo, PaginationConfig={"PageSize": 1})
        paged = [d["imageDigest"] for page in pages for d in page["imageDetails"]]
        self.assertEqual(sorted(paged), sorted(tagged | {untagged}))
        with self.assertRaises(ClientError) as e:
            self.ecr.describe_images(repositoryName=repo, imageIds=[{"imageTag": "t0"}], maxResults=5)
        self.assertEqual(self.code(e), "InvalidParameterException")

    def test_tags_follow_the_distribution_rule(self):
        repo = self.repo()
        _, manifest = push_image(self.ecr, repo, "ok_tag-1.0", f"tagrule{repo}")
        for bad in ("has space", ".dot-first", "x" * 129, "a/b"):
            with self.assertRaises(ClientError) as e:
                self.ecr.put_image(repositoryName=repo, imageManifest=manifest, imageTag=bad)
            self.assertEqual(self.code(e), "InvalidParameterException", bad)
        self.assertEqual([i.get("imageTag") for i in self.ecr.list_images(repositoryName=repo)["imageIds"]],
                         ["ok_tag-1.0"])

    def index_of(self, repo, tag, children):
        index = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                            "manifests": [{"mediaType": OCI_MANIFEST, "digest": digest(m.encode()), "size": len(m),
                                           "platform": {"os": "linux", "architecture": "amd64"}}
                                          for m in children]})
        return self.ecr.put_image(repositoryName=repo, imageManifest=index, imageTag=tag)["image"]["imageId"]

    def test_delete_of_an_image_an_index_lists(self):
        repo = self.repo()
        child, manifest = push_image(self.ecr, repo, "child", f"idx{repo}")
        self.index_of(repo, "multi", [manifest])
        for image_id in ({"imageTag": "child"}, {"imageDigest": child}):
            r = self.ecr.batch_delete_image(repositoryName=repo, imageIds=[image_id])
            self.assertEqual(r["imageIds"], [])
            self.assertEqual(r["failures"][0]["failureCode"], "ImageReferencedByManifestList", r)
        # Refused, so the tag stays.
        self.assertEqual(self.ecr.batch_get_image(repositoryName=repo, imageIds=[{"imageTag": "child"}])
                         ["images"][0]["imageId"]["imageDigest"], child)
        self.ecr.batch_delete_image(repositoryName=repo, imageIds=[{"imageTag": "multi"}])
        r = self.ecr.batch_delete_image(repositoryName=repo, imageIds=[{"imageTag": "child"}])
        self.assertEqual(r["failures"], [])

    def test_describe_repositories_pages_by_100_by_default(self):
        other = self.daemon.create_account(unique("many-"))
        theirs = ecr_client(self.daemon, other["AccessKeyId"], other["SecretAccessKey"])
        for i in range(101):
            theirs.create_repository(repositoryName=f"r{i:03d}")
        first = theirs.describe_repositories()
        self.assertEqual(len(first["repositories"]), 100)
        self.assertIn("nextToken", first)
        rest = theirs.describe_repositories(nextToken=first["nextToken"])
        self.assertEqual([r["repositoryName"] for r in rest["repositories"]], ["r100"])

    def test_root_is_bound_only_by_the_policys_denies(self):
        repo = self.repo()
        push_image(self.ecr, repo, "v1", f"root{repo}")
        deny_all = json.dumps({"Version": "2012-10-17", "Statement": [{
            "Sid": "nothing", "Effect": "Deny", "Principal": "*", "Action": "ecr:*"}]})
        self.ecr.set_repository_policy(repositoryName=repo, policyText=deny_all)
        for call in (lambda: self.ecr.describe_images(repositoryName=repo),
                     lambda: self.ecr.batch_get_image(repositoryName=repo, imageIds=[{"imageTag": "v1"}])):
            with self.assertRaises(ClientError) as e:
                call()
            self.assertEqual(self.code(e), "AccessDeniedException")
        # The policy itself stays the root's to manage: it cannot lock itself out.
        self.assertEqual(self.ecr.get_repository_policy(repositoryName=repo)["policyText"], deny_all)
        self.ecr.set_repository_policy(repositoryName=repo, policyText=deny_all)
        self.ecr.delete_repository_policy(repositoryName=repo)
        self.assertEqual(len(self.ecr.describe_images(repositoryName=repo)["imageDetails"]), 1)

    def test_describe_registry_is_authorized_on_star(self):
        iam = boto3.session.Session().client(
            "iam", endpoint_url=self.daemon.endpoint, region_name=REGION,
            aws_access_key_id=self.daemon.access_key, aws_secret_access_key=self.daemon.secret_key)
        name = unique("reg-")
        iam.create_user(UserName=name)
        # Repositories denied, the registry allowed: only a check on "*" passes.
        iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "ecr:DescribeRegistry", "Resource": "*"},
                {"Effect": "Deny", "Action": "ecr:DescribeRegistry",
                 "Resource": f"arn:aws:ecr:*:*:repository/*"}]}))
        key = iam.create_access_key(UserName=name)["AccessKey"]
        user = ecr_client(self.daemon, key["AccessKeyId"], key["SecretAccessKey"])
        wait_for("the new key", lambda: _succeeds(user.describe_registry), timeout=10)
        self.assertEqual(user.describe_registry()["registryId"], self.account)


def _succeeds(fn):
    try:
        fn()
        return True
    except ClientError:
        return False


def raw_ecr(daemon, operation, body):
    headers = {"X-Amz-Target": "AmazonEC2ContainerRegistry_V20150921." + operation,
               "Content-Type": "application/x-amz-json-1.1"}
    status, _, data = daemon.signed("POST", "/", headers=headers, body=body, service="ecr")
    try:
        parsed = json.loads(data) if data else {}
    except ValueError:
        parsed = {"unparsed": data}
    return status, parsed


class EcrHostileInputTest(AnnexTestCase):
    def expect(self, operation, body, code):
        status, parsed = raw_ecr(self.daemon, operation, body)
        self.assertEqual(status, 400, (operation, body, parsed))
        self.assertTrue(parsed.get("__type", "").endswith(code), (operation, body, parsed))

    def test_bodies(self):
        self.expect("CreateRepository", b"", "InvalidParameterException")
        self.expect("CreateRepository", b"{", "SerializationException")
        self.expect("CreateRepository", b"[1,2]", "SerializationException")
        self.expect("CreateRepository", b'{"repositoryName": 7}', "SerializationException")
        self.expect("CreateRepository", json.dumps({"repositoryName": "a" * 100000}), "InvalidParameterException")
        self.expect("CreateRepository", b'{"repositoryName": "ok-name", "tags": "x"}', "SerializationException")
        self.expect("DescribeRepositories", b'{"registryId": "12"}', "InvalidParameterException")
        self.expect("DescribeRepositories", b'{"maxResults": 5000}', "InvalidParameterException")
        self.expect("DescribeRepositories", b'{"maxResults": 99999999999999999999999}', "SerializationException")
        self.expect("ListImages", b'{"repositoryName": "nope-' + os.urandom(3).hex().encode() + b'"}',
                    "RepositoryNotFoundException")
        self.expect("BatchGetImage", b'{"repositoryName": "x1", "imageIds": [5]}', "SerializationException")
        self.expect("NoSuchOperation", b"{}", "UnknownOperationException")
        status, _ = raw_ecr(self.daemon, "DescribeRepositories", b"{}")
        self.assertEqual(status, 200)


@unittest.skipUnless(have(AWS_CLI), "awscli is not installed")
class EcrAwsCliTest(AnnexTestCase):
    def aws(self, *args, check=True):
        p = subprocess.run([AWS_CLI, "--endpoint-url", self.daemon.endpoint, "--output", "json", "ecr", *args],
                           env=self.daemon.client_env(), capture_output=True, text=True, timeout=60)
        if check:
            self.assertEqual(p.returncode, 0, p.stderr)
        return p

    def test_cli_round_trip(self):
        name = unique("cli/repo-")
        created = json.loads(self.aws("create-repository", "--repository-name", name,
                                      "--image-tag-mutability", "IMMUTABLE").stdout)["repository"]
        self.assertEqual(created["imageTagMutability"], "IMMUTABLE")
        described = json.loads(self.aws("describe-repositories", "--repository-names", name).stdout)
        self.assertEqual(described["repositories"][0]["repositoryUri"], created["repositoryUri"])
        self.assertEqual(json.loads(self.aws("list-images", "--repository-name", name).stdout)["imageIds"], [])
        self.aws("put-lifecycle-policy", "--repository-name", name, "--lifecycle-policy-text", keep_newest(3))
        got = json.loads(self.aws("get-lifecycle-policy", "--repository-name", name).stdout)
        self.assertEqual(json.loads(got["lifecyclePolicyText"]), json.loads(keep_newest(3)))
        password = self.aws("get-login-password").stdout.strip()
        self.assertGreater(len(password), 20)
        images = json.loads(self.aws("describe-images", "--repository-name", name).stdout)
        self.assertEqual(images["imageDetails"], [])
        missing = self.aws("describe-repositories", "--repository-names", name + "-x", check=False)
        self.assertNotEqual(missing.returncode, 0)
        self.assertIn("RepositoryNotFoundException", missing.stderr)
        self.aws("delete-repository", "--repository-name", name, "--force")


@unittest.skipUnless(HAVE_BOTO3, "boto3 is not installed for this Python")
class EcrLifecycleScheduleTest(ShiftedClock, AnnexTestCase):
    """annexd's wall clock is moved two hours on: its hourly lifecycle pass expires the oldest images."""

    def test_policy_applied_by_the_scheduler(self):
        ecr = ecr_client(self.daemon)
        repo = unique("life/app-")
        ecr.create_repository(repositoryName=repo)
        digests = []
        for i in range(4):
            digests.append(push_image(ecr, repo, f"v{i}", f"life{i}")[0])
            time.sleep(0.01)
        ecr.put_lifecycle_policy(repositoryName=repo, lifecyclePolicyText=keep_newest(2))
        log = self.daemon.log_path
        self.shift(2 * 3600)
        try:
            wait_for("the lifecycle pass", lambda: log.read_text(errors="replace").count(
                "lifecycle policy expired an image") >= 2, timeout=30)
        finally:
            self.shift(0)  # back to real time before signing requests with the real clock
        left = {i["imageDigest"] for i in ecr.list_images(repositoryName=repo)["imageIds"]}
        self.assertEqual(left, set(digests[2:]))
        self.assertIn("lastEvaluatedAt", ecr.get_lifecycle_policy(repositoryName=repo))


if __name__ == "__main__":
    harness.main()
