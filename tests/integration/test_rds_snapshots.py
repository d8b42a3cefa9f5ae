#!/usr/bin/python3
"""RDS backups and snapshots on a real annexd, with real pgBackRest into the appliance's own S3 (over its loopback TLS
listener): an instance with automated backups goes creating → backing-up → available and its backups are objects in
the appliance's backup bucket; a manual snapshot is taken while psql writes; restoring it makes a new instance holding
exactly the rows written before it; snapshots are listed, refused in the wrong state, deleted; DeleteDBInstance with a
final snapshot, restored again; another account sees none of them. Needs root (postgres under its own user,
loop-mounted volumes) and pgBackRest."""

import os
import shutil
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import wait_for  # noqa: E402
from test_rds_instances import RdsInstancesBase, psql, skip_reason  # noqa: E402

PASSWORD = "snap-Secret_1"
TIMEOUT = 120


def backup_skip_reason():
    return skip_reason() or (None if shutil.which("pgbackrest") else "pgBackRest is not installed")


@unittest.skipIf(backup_skip_reason(), backup_skip_reason() or "")
class RdsSnapshotsTest(RdsInstancesBase):
    instance = "ledger"

    def create(self, identifier, retention=1):
        self.rds().create_db_instance(DBInstanceIdentifier=identifier, DBInstanceClass="db.t3.micro",
                                      Engine="postgres", MasterUsername="keeper", MasterUserPassword=PASSWORD,
                                      AllocatedStorage=20, DBName="books", BackupRetentionPeriod=retention)

    def snapshot(self, identifier):
        return self.rds().describe_db_snapshots(DBSnapshotIdentifier=identifier)["DBSnapshots"][0]

    def wait_snapshot(self, identifier, status="available"):
        return wait_for(f"snapshot {identifier} {status}",
                        lambda: (s := self.snapshot(identifier))["Status"] == status and s, TIMEOUT, interval=0.2)

    def test_1_backed_up_into_the_appliances_own_s3(self):
        self.create(self.instance)
        seen = []
        db = self.wait_status("available", seen=seen, timeout=TIMEOUT)
        self.assertTrue(set(seen) <= {"creating", "backing-up", "available"}, seen)
        self.assertIn("backing-up", seen, "RDS backs a new instance up before it is available")
        # The backups are objects of the appliance's backup bucket, in the instance's own prefix.
        s3 = self.daemon.boto3_client()
        buckets = [b["Name"] for b in s3.list_buckets()["Buckets"] if b["Name"].startswith("annex-rds-backups-")]
        self.assertEqual(len(buckets), 1, buckets)
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=buckets[0], Prefix=db["DbiResourceId"] + "/")
                .get("Contents", [])]
        self.assertTrue(any("/backup/db/" in k for k in keys), keys[:20])
        self.assertTrue(any("/archive/db/" in k for k in keys), keys[:20])
        psql(db["Endpoint"], "CREATE TABLE entries (id int, what text)", password=PASSWORD, user="keeper", db="books")
        psql(db["Endpoint"], "INSERT INTO entries VALUES (1, 'before')", password=PASSWORD, user="keeper", db="books")

    def test_2_snapshot_and_restore(self):
        rds = self.rds()
        endpoint = self.describe()["Endpoint"]
        made = rds.create_db_snapshot(DBSnapshotIdentifier="ledger-snap-1", DBInstanceIdentifier=self.instance,
                                      Tags=[{"Key": "kind", "Value": "test"}])["DBSnapshot"]
        self.assertEqual((made["Status"], made["SnapshotType"], made["DBInstanceIdentifier"]),
                         ("creating", "manual", self.instance))
        self.assertRefused(rds.create_db_snapshot, "DBSnapshotAlreadyExists", DBSnapshotIdentifier="ledger-snap-1",
                           DBInstanceIdentifier=self.instance)
        snap = self.wait_snapshot("ledger-snap-1")
        self.assertEqual(snap["PercentProgress"], 100)
        self.assertEqual(snap["TagList"], [{"Key": "kind", "Value": "test"}])
        self.assertEqual(snap["DBSnapshotArn"].split(":")[5], "snapshot")
        self.wait_status("available")
        psql(endpoint, "INSERT INTO entries VALUES (2, 'after')", password=PASSWORD, user="keeper", db="books")
        restored = rds.restore_db_instance_from_db_snapshot(DBInstanceIdentifier="ledger-copy",
                                                            DBSnapshotIdentifier="ledger-snap-1")["DBInstance"]
        self.assertEqual(restored["DBInstanceStatus"], "creating")
        copy = self.wait_status("available", identifier="ledger-copy", timeout=TIMEOUT)
        self.assertNotEqual(copy["Endpoint"]["Port"], endpoint["Port"])
        self.assertEqual(psql(copy["Endpoint"], "SELECT string_agg(what, ',' ORDER BY id) FROM entries",
                              password=PASSWORD, user="keeper", db="books"), "before",
                         "the copy holds what was written before the snapshot, and only that")
        # The source goes on untouched.
        self.assertEqual(psql(endpoint, "SELECT count(*) FROM entries", password=PASSWORD, user="keeper", db="books"),
                         "2")
        rds.delete_db_instance(DBInstanceIdentifier="ledger-copy", SkipFinalSnapshot=True)

    def test_3_snapshots_listed_refused_deleted(self):
        rds = self.rds()
        listed = rds.describe_db_snapshots(DBInstanceIdentifier=self.instance)["DBSnapshots"]
        self.assertEqual([s["DBSnapshotIdentifier"] for s in listed], ["ledger-snap-1"])
        self.assertRefused(rds.describe_db_snapshots, "DBSnapshotNotFound", DBSnapshotIdentifier="nope")
        self.assertRefused(rds.create_db_snapshot, "DBInstanceNotFound", DBSnapshotIdentifier="x",
                           DBInstanceIdentifier="nope")
        other = self.daemon.create_account(f"other-{os.urandom(3).hex()}")
        theirs = self.rds(other["AccessKeyId"], other["SecretAccessKey"])
        self.assertEqual(theirs.describe_db_snapshots()["DBSnapshots"], [])
        self.assertRefused(theirs.restore_db_instance_from_db_snapshot, "DBSnapshotNotFound",
                           DBInstanceIdentifier="stolen", DBSnapshotIdentifier="ledger-snap-1")
        self.assertEqual(rds.delete_db_snapshot(DBSnapshotIdentifier="ledger-snap-1")["DBSnapshot"]["Status"],
                         "deleted")
        wait_for("the snapshot gone", lambda: not rds.describe_db_snapshots()["DBSnapshots"], TIMEOUT)

    def test_4_delete_with_a_final_snapshot(self):
        rds = self.rds()
        rds.delete_db_instance(DBInstanceIdentifier=self.instance, FinalDBSnapshotIdentifier="ledger-final")
        wait_for("the instance gone", lambda: not [d for d in rds.describe_db_instances()["DBInstances"]
                                                   if d["DBInstanceIdentifier"] == self.instance], TIMEOUT)
        final = self.wait_snapshot("ledger-final")
        self.assertEqual(final["DBInstanceIdentifier"], self.instance)
        rds.restore_db_instance_from_db_snapshot(DBInstanceIdentifier="ledger-again",
                                                 DBSnapshotIdentifier="ledger-final")
        again = self.wait_status("available", identifier="ledger-again", timeout=TIMEOUT)
        self.assertEqual(psql(again["Endpoint"], "SELECT count(*) FROM entries", password=PASSWORD, user="keeper",
                              db="books"), "2")


if __name__ == "__main__":
    harness.main()
