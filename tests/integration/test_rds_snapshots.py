#!/usr/bin/python3
"""RDS backups and snapshots on a real annexd, with real pgBackRest into the appliance's own S3 (over its loopback TLS
listener): an instance with automated backups goes creating → backing-up → available and its backups are objects in
the appliance's backup bucket; a manual snapshot is taken while psql writes; restoring it makes a new instance holding
exactly the rows written before it; a point-in-time restore between two writes holds exactly the first; the daily
automated backup runs when the backup window opens and is listed as an automated snapshot; snapshots are listed,
refused in the wrong state, deleted; DeleteDBInstance with a final snapshot, restored again; another account sees none
of them. Needs root (postgres under its own user,
loop-mounted volumes) and pgBackRest."""

import datetime
import os
import shutil
import sys
import time
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
    # LatestRestorableTime moves every 2 s instead of RDS's 5 minutes.
    daemon_env = {"ANNEX_RESTORE_POINT_INTERVAL_MS": "2000"}

    def create(self, identifier, retention=1):
        self.rds().create_db_instance(DBInstanceIdentifier=identifier, DBInstanceClass="db.t3.micro",
                                      Engine="postgres", MasterUsername="keeper", MasterUserPassword=PASSWORD,
                                      AllocatedStorage=20, DBName="books", BackupRetentionPeriod=retention)

    def snapshot(self, identifier):
        return self.rds().describe_db_snapshots(DBSnapshotIdentifier=identifier)["DBSnapshots"][0]

    def wait_snapshot(self, identifier, status="available"):
        # A backup waits for its last WAL segment to be archived; a failed archive-push is retried by
        # postgres a minute later: room for one such retry.
        return wait_for(f"snapshot {identifier} {status}",
                        lambda: (s := self.snapshot(identifier))["Status"] == status and s, TIMEOUT + 90, interval=0.2)

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
        self.assertWalBesideTheVolume(copy)
        self.assertEqual(psql(copy["Endpoint"], "SELECT string_agg(what, ',' ORDER BY id) FROM entries",
                              password=PASSWORD, user="keeper", db="books"), "before",
                         "the copy holds what was written before the snapshot, and only that")
        # The source goes on untouched.
        self.assertEqual(psql(endpoint, "SELECT count(*) FROM entries", password=PASSWORD, user="keeper", db="books"),
                         "2")
        rds.delete_db_instance(DBInstanceIdentifier="ledger-copy", SkipFinalSnapshot=True)

    def test_2b_point_in_time(self):
        rds = self.rds()
        endpoint = self.describe()["Endpoint"]
        psql(endpoint, "INSERT INTO entries VALUES (10, 'early')", password=PASSWORD, user="keeper", db="books")
        time.sleep(1.0)
        target = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        time.sleep(1.5)
        psql(endpoint, "INSERT INTO entries VALUES (11, 'late')", password=PASSWORD, user="keeper", db="books")
        latest = wait_for("LatestRestorableTime past both writes",
                          lambda: (t := self.describe().get("LatestRestorableTime")) and
                          t > target + datetime.timedelta(seconds=2) and t, TIMEOUT, interval=0.5)
        # Outside the window, both ways at once, neither, an unknown source: RDS's refusals.
        self.assertRefused(rds.restore_db_instance_to_point_in_time, "InvalidRestoreFault",
                           SourceDBInstanceIdentifier=self.instance, TargetDBInstanceIdentifier="ledger-future",
                           RestoreTime=latest + datetime.timedelta(hours=1))
        self.assertRefused(rds.restore_db_instance_to_point_in_time, "InvalidParameterCombination",
                           SourceDBInstanceIdentifier=self.instance, TargetDBInstanceIdentifier="ledger-both",
                           RestoreTime=target, UseLatestRestorableTime=True)
        self.assertRefused(rds.restore_db_instance_to_point_in_time, "InvalidParameterCombination",
                           SourceDBInstanceIdentifier=self.instance, TargetDBInstanceIdentifier="ledger-neither")
        self.assertRefused(rds.restore_db_instance_to_point_in_time, "DBInstanceNotFound",
                           SourceDBInstanceIdentifier="nope", TargetDBInstanceIdentifier="ledger-nope",
                           UseLatestRestorableTime=True)
        self.assertRefused(rds.restore_db_instance_to_point_in_time, "DBInstanceAlreadyExists",
                           SourceDBInstanceIdentifier=self.instance, TargetDBInstanceIdentifier=self.instance,
                           RestoreTime=target)
        made = rds.restore_db_instance_to_point_in_time(SourceDBInstanceIdentifier=self.instance,
                                                        TargetDBInstanceIdentifier="ledger-pitr",
                                                        RestoreTime=target)["DBInstance"]
        self.assertEqual(made["DBInstanceStatus"], "creating")
        pitr = self.wait_status("available", identifier="ledger-pitr", timeout=TIMEOUT)
        self.assertWalBesideTheVolume(pitr)
        self.assertEqual(psql(pitr["Endpoint"], "SELECT string_agg(what, ',' ORDER BY id) FROM entries WHERE id >= 10",
                              password=PASSWORD, user="keeper", db="books"), "early",
                         "the copy holds what was committed before the restore time, and nothing after it")
        # The copy is an instance of its own: it takes writes, and its own backups and restore points follow.
        psql(pitr["Endpoint"], "INSERT INTO entries VALUES (12, 'copy')", password=PASSWORD, user="keeper", db="books")
        wait_for("the copy's own LatestRestorableTime", lambda: self.describe("ledger-pitr").get("LatestRestorableTime"),
                 TIMEOUT, interval=0.5)
        rds.delete_db_instance(DBInstanceIdentifier="ledger-pitr", SkipFinalSnapshot=True)

    def test_2c_daily_backup_when_the_window_opens(self):
        rds = self.rds()
        automated = rds.describe_db_snapshots(DBInstanceIdentifier=self.instance,
                                              SnapshotType="automated")["DBSnapshots"]
        self.assertEqual(len(automated), 1, "the backup taken at creation is listed as an automated snapshot")
        self.assertTrue(automated[0]["DBSnapshotIdentifier"].startswith(f"rds:{self.instance}-"), automated)
        self.assertRefused(rds.delete_db_snapshot, "InvalidDBSnapshotState",
                           DBSnapshotIdentifier=automated[0]["DBSnapshotIdentifier"])
        # A backup window opening at the next whole minute (two if that is too close).
        now = datetime.datetime.now(datetime.timezone.utc)
        start = (now + datetime.timedelta(minutes=1 if now.second < 45 else 2)).replace(second=0, microsecond=0)
        end = start + datetime.timedelta(minutes=30)
        window = f"{start:%H:%M}-{end:%H:%M}"
        rds.modify_db_instance(DBInstanceIdentifier=self.instance, PreferredBackupWindow=window,
                               PreferredMaintenanceWindow=f"{end + datetime.timedelta(hours=2):%a:%H:%M}-"
                                                          f"{end + datetime.timedelta(hours=3):%a:%H:%M}".lower(),
                               ApplyImmediately=True)
        self.assertEqual(self.describe()["PreferredBackupWindow"], window)
        wait_for("a second automated snapshot", lambda: len(rds.describe_db_snapshots(
            DBInstanceIdentifier=self.instance, SnapshotType="automated")["DBSnapshots"]) == 2,
            (start - now).total_seconds() + TIMEOUT, interval=1)
        self.wait_status("available")

    def test_3_snapshots_listed_refused_deleted(self):
        rds = self.rds()
        listed = rds.describe_db_snapshots(DBInstanceIdentifier=self.instance, SnapshotType="manual")["DBSnapshots"]
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
        wait_for("the snapshot gone", lambda: not rds.describe_db_snapshots(SnapshotType="manual")["DBSnapshots"],
                 TIMEOUT)

    def test_4_delete_with_a_final_snapshot(self):
        rds = self.rds()
        resource_id = self.describe()["DbiResourceId"]
        rds.delete_db_instance(DBInstanceIdentifier=self.instance, FinalDBSnapshotIdentifier="ledger-final")
        wait_for("the instance gone", lambda: not [d for d in rds.describe_db_instances()["DBInstances"]
                                                   if d["DBInstanceIdentifier"] == self.instance], TIMEOUT)
        # Its automated backups and WAL go with it, as RDS deletes them; the final snapshot stays.
        self.assertEqual(rds.describe_db_snapshots(DBInstanceIdentifier=self.instance,
                                                   SnapshotType="automated")["DBSnapshots"], [])
        s3 = self.daemon.boto3_client()
        [bucket] = [b["Name"] for b in s3.list_buckets()["Buckets"] if b["Name"].startswith("annex-rds-backups-")]
        self.assertEqual(s3.list_objects_v2(Bucket=bucket, Prefix=resource_id + "/")["KeyCount"], 0)
        final = self.wait_snapshot("ledger-final")
        self.assertEqual(final["DBInstanceIdentifier"], self.instance)
        rds.restore_db_instance_from_db_snapshot(DBInstanceIdentifier="ledger-again",
                                                 DBSnapshotIdentifier="ledger-final")
        again = self.wait_status("available", identifier="ledger-again", timeout=TIMEOUT)
        # Rows 1 and 2, and the two of the point-in-time test.
        self.assertEqual(psql(again["Endpoint"], "SELECT count(*) FROM entries", password=PASSWORD, user="keeper",
                              db="books"), "4")


if __name__ == "__main__":
    harness.main()
