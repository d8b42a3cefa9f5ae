"""What the S3 integration tests share: botocore's ClientError (a file that cannot run without Debian's
python3-boto3 calls require_boto3()), S3TestCase with its boto3 client, new_bucket and assertError, and
LifecycleClock, which moves annexd's wall clock on by days until a lifecycle pass has run."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import AnnexTestCase, ShiftedClock, random_bucket, wait_for  # noqa: E402

try:
    import boto3  # noqa: F401 - what Daemon.boto3_client makes clients with
    from botocore.exceptions import ClientError
    HAVE_BOTO3 = True
except ImportError:  # pragma: no cover - reported as a skip
    ClientError = None
    HAVE_BOTO3 = False

DAY = 86400


def require_boto3():
    """Exits 77 (ctest: skipped) when Debian's python3-boto3 is missing."""
    if not HAVE_BOTO3:
        print("skipped: Debian's python3-boto3 is not installed", file=sys.stderr)
        sys.exit(77)


class S3TestCase(AnnexTestCase):
    """One annexd and one boto3 client (s3) per test class."""

    bucket_prefix = "b"  # of the names new_bucket makes
    client_config = {}  # botocore Config arguments of the client
    s3 = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s3 = cls.daemon.boto3_client(**cls.client_config)

    @classmethod
    def new_bucket(cls, prefix=None, versioned=False, acls=False, **create):
        """A new bucket with a random name (CreateBucket's other arguments as `create`), versioned if asked;
        with `acls`, one whose ACLs count (ObjectWriter), as S3 needs for ACLs since 2023."""
        name = random_bucket(prefix or cls.bucket_prefix)
        if acls:
            create["ObjectOwnership"] = "ObjectWriter"
        cls.s3.create_bucket(Bucket=name, **create)
        if versioned:
            cls.s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        return name

    def assertError(self, code, fn, *args, status=None, **kw):
        """Calls fn(*args, **kw), which must fail with S3 error `code` (and HTTP `status` when given); returns
        the error response."""
        with self.assertRaises(ClientError) as cm:
            fn(*args, **kw)
        err = cm.exception.response
        self.assertEqual(err["Error"]["Code"], code, err)
        if status is not None:
            self.assertEqual(err["ResponseMetadata"]["HTTPStatusCode"], status, err)
        return err


class LifecycleClock(ShiftedClock):
    """ShiftedClock for the S3 lifecycle rules, which the scheduler applies at midnight UTC."""

    def pass_at(self, days):
        """Moves annexd's clock `days` on and waits for one more lifecycle pass; then back to real time."""
        log = self.daemon.log_path
        before = log.read_text(errors="replace").count("lifecycle rules applied")
        self.shift(days * DAY)
        try:
            wait_for("a lifecycle pass", lambda: log.read_text(errors="replace").count(
                "lifecycle rules applied") > before, timeout=30)
        finally:
            self.shift(0)
