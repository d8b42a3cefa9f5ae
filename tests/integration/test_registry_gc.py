#!/usr/bin/env python3
"""Registry garbage collection as an operator sees it: deleted images free their disk space.

Images are pushed through the ECR API (boto3), one deleted, and annexd's wall clock moved on with the
clockshift library so its collector's schedule comes due. Within the grace period a push needs between its
blobs and its manifest, nothing goes; past it, the deleted image's own blobs and a blob no manifest ever
named are removed, and blobs another image still uses stay, readable as before."""

import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
import time
import unittest
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import AnnexTestCase, REGION, http_request, wait_for  # noqa: E402

try:
    import boto3
    from botocore.config import Config
    HAVE_BOTO3 = True
except ImportError:  # pragma: no cover - reported as a skip
    HAVE_BOTO3 = False

CLOCKSHIFT = os.environ.get("ANNEX_CLOCKSHIFT", "")
HOUR = 3600


def digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


@unittest.skipUnless(HAVE_BOTO3, "boto3 is not installed for this Python")
@unittest.skipUnless(os.path.exists(CLOCKSHIFT), "ANNEX_CLOCKSHIFT does not name the clockshift library (run under ctest)")
class RegistryGarbageCollectionTest(AnnexTestCase):
    clock_file = None

    @classmethod
    def setUpClass(cls):
        cls.clock_file = Path(tempfile.mkdtemp(prefix="annex-clock-")) / "offset"
        cls.clock_file.write_text("0\n")
        cls.daemon_kwargs = {"extra_env": {"LD_PRELOAD": CLOCKSHIFT, "ANNEX_CLOCKSHIFT_FILE": str(cls.clock_file)}}
        super().setUpClass()
        cls.ecr = boto3.session.Session().client(
            "ecr", endpoint_url=cls.daemon.endpoint, region_name=REGION, aws_access_key_id=cls.daemon.access_key,
            aws_secret_access_key=cls.daemon.secret_key, config=Config(retries={"max_attempts": 1}))

    @classmethod
    def tearDownClass(cls):
        cls.clock_file.write_text("0\n")
        super().tearDownClass()
        shutil.rmtree(cls.clock_file.parent, ignore_errors=True)

    def upload(self, repo, data):
        upload = self.ecr.initiate_layer_upload(repositoryName=repo)["uploadId"]
        self.ecr.upload_layer_part(repositoryName=repo, uploadId=upload, partFirstByte=0,
                                   partLastByte=len(data) - 1, layerPartBlob=data)
        self.ecr.complete_layer_upload(repositoryName=repo, uploadId=upload, layerDigests=[digest(data)])
        return digest(data)

    def push(self, repo, tag, layers):
        config = json.dumps({"architecture": "amd64", "os": "linux", "image": repo + ":" + tag}).encode()
        for blob in layers + [config]:
            self.upload(repo, blob)
        manifest = json.dumps({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest(config),
                       "size": len(config)},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digest(blob),
                        "size": len(blob)} for blob in layers]})
        return self.ecr.put_image(repositoryName=repo, imageManifest=manifest, imageTag=tag)["image"]["imageId"]

    def gauge(self, name):
        text = self.daemon.metrics()
        m = re.search(r"^%s (\d+)$" % re.escape(name), text, re.M)
        self.assertIsNotNone(m, f"{name} is not in /_annex/metrics")
        return int(m.group(1))

    def collector_passes(self):
        return self.daemon.log_path.read_text(errors="replace").count("registry: garbage collected")

    def shift_clock(self, seconds):
        self.clock_file.write_text(f"{seconds}\n")
        time.sleep(0.2)  # annexd re-reads the offset at most every 50 ms

    def test_deleted_images_free_their_blobs_after_the_grace_period(self):
        shared = os.urandom(200_000)
        only_old = os.urandom(300_000)
        for repo in ("gc/old", "gc/keep"):
            self.ecr.create_repository(repositoryName=repo)
        old = self.push("gc/old", "v1", [shared, only_old])
        self.push("gc/keep", "v1", [shared])
        dangling = self.upload("gc/old", os.urandom(50_000))  # a push whose manifest never came
        self.assertEqual(self.gauge("annex_registry_blobs"), 5)  # shared once, two configs, only_old, dangling
        stored = self.gauge("annex_registry_stored_bytes")

        deleted = self.ecr.batch_delete_image(repositoryName="gc/old", imageIds=[{"imageDigest": old["imageDigest"]}])
        self.assertEqual(deleted["failures"], [])

        # Two hours on: the collector runs, but every blob is within its grace period.
        self.shift_clock(2 * HOUR)
        try:
            time.sleep(3)  # the scheduler looks at the clock every second
        finally:
            self.shift_clock(0)
        self.assertEqual(self.gauge("annex_registry_blobs"), 5)

        # A day and more on: the deleted image's own blobs and the dangling one go.
        passes = self.collector_passes()
        self.shift_clock(25 * HOUR)
        try:
            wait_for("a collector pass that removes blobs", lambda: self.collector_passes() > passes, timeout=30)
        finally:
            self.shift_clock(0)
        self.assertEqual(self.gauge("annex_registry_blobs"), 2)  # shared and gc/keep's config
        freed = stored - self.gauge("annex_registry_stored_bytes")
        self.assertGreaterEqual(freed, len(only_old) + 50_000)

        # What another image uses is still there, byte for byte.
        url = self.ecr.get_download_url_for_layer(repositoryName="gc/keep", layerDigest=digest(shared))["downloadUrl"]
        token = self.ecr.get_authorization_token()["authorizationData"][0]["authorizationToken"]
        status, _, body = http_request("GET", url, headers={"Authorization": "Basic " + token})
        self.assertEqual(status, 200)
        self.assertEqual(body, shared)
        layers = self.ecr.batch_check_layer_availability(repositoryName="gc/old",
                                                         layerDigests=[digest(only_old), dangling])
        self.assertEqual({f["failureCode"] for f in layers["failures"]}, {"MissingLayerDigest"})
        self.assertEqual(len(layers["failures"]), 2)


if __name__ == "__main__":
    harness.main()
