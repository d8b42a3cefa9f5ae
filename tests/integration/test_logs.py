#!/usr/bin/python3
"""CloudWatch Logs against a real annexd: awscli v2 (including `aws logs tail --follow`), boto3, the
validation CloudWatch applies to PutLogEvents, hostile bodies, and events surviving a restart."""

import json
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import AWS_CLI, AnnexTestCase, REGION, have, wait_for  # noqa: E402

try:
    import boto3  # noqa: F401
    from botocore.config import Config
    from botocore.exceptions import ClientError
    HAVE_BOTO3 = True
except ImportError:  # pragma: no cover - reported as a skip
    HAVE_BOTO3 = False

DAY_MS = 24 * 3600 * 1000


def now_ms():
    return int(time.time() * 1000)


def unique(prefix):
    return prefix + os.urandom(4).hex()


def logs_client(daemon, access_key=None, secret_key=None):
    import boto3 as b3
    session = b3.session.Session()
    return session.client("logs", endpoint_url=daemon.endpoint, region_name=REGION,
                          aws_access_key_id=access_key or daemon.access_key,
                          aws_secret_access_key=secret_key or daemon.secret_key,
                          config=Config(retries={"max_attempts": 1, "mode": "standard"}))


def raw_logs(daemon, operation, body, creds=None):
    """A signed JSON 1.1 request as any SDK sends it; `body` is sent as given (bytes or str)."""
    headers = {"X-Amz-Target": "Logs_20140328." + operation, "Content-Type": "application/x-amz-json-1.1"}
    status, _, data = daemon.signed("POST", "/", headers=headers, body=body, creds=creds, service="logs")
    try:
        parsed = json.loads(data) if data else {}
    except ValueError:
        parsed = {"unparsed": data}
    return status, parsed


@unittest.skipUnless(HAVE_BOTO3, "boto3 is not installed for this Python")
class LogsBoto3Test(AnnexTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.logs = logs_client(cls.daemon)

    def code(self, ctx):
        return ctx.exception.response["Error"]["Code"]

    def group_with_stream(self):
        group, stream = unique("/test/g-"), unique("s-")
        self.logs.create_log_group(logGroupName=group)
        self.logs.create_log_stream(logGroupName=group, logStreamName=stream)
        return group, stream

    def test_put_then_get_and_filter(self):
        group, stream = self.group_with_stream()
        t = now_ms()
        events = [{"timestamp": t + i, "message": json.dumps({"level": lvl, "latency": lat})}
                  for i, (lvl, lat) in enumerate([("info", 20), ("error", 150), ("error", 50), ("warn", 300)])]
        r = self.logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events,
                                     sequenceToken="ignored-like-cloudwatch")
        self.assertIn("nextSequenceToken", r)
        self.assertNotIn("rejectedLogEventsInfo", r)

        got = self.logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)
        self.assertEqual([e["message"] for e in got["events"]], [e["message"] for e in events])
        self.assertEqual([e["timestamp"] for e in got["events"]], [e["timestamp"] for e in events])
        self.assertTrue(all(abs(e["ingestionTime"] - t) < 60000 for e in got["events"]))

        errors = self.logs.filter_log_events(logGroupName=group, filterPattern='{ $.level = "error" }')
        self.assertEqual(len(errors["events"]), 2)
        self.assertEqual(errors["events"][0]["logStreamName"], stream)
        slow_errors = self.logs.filter_log_events(logGroupName=group,
                                                  filterPattern='{ $.level = "error" && $.latency > 100 }')
        self.assertEqual([json.loads(e["message"])["latency"] for e in slow_errors["events"]], [150])
        self.assertEqual(slow_errors["searchedLogStreams"], [{"logStreamName": stream, "searchedCompletely": True}])
        terms = self.logs.filter_log_events(logGroupName=group, filterPattern='?warn ?info')
        self.assertEqual(len(terms["events"]), 2)

    def test_get_log_events_tokens_page_and_stop_at_the_end(self):
        group, stream = self.group_with_stream()
        t = now_ms()
        self.logs.put_log_events(logGroupName=group, logStreamName=stream,
                                 logEvents=[{"timestamp": t + i, "message": f"line {i}"} for i in range(25)])
        page = self.logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True, limit=10)
        seen = [e["message"] for e in page["events"]]
        while True:
            token = page["nextForwardToken"]
            page = self.logs.get_log_events(logGroupName=group, logStreamName=stream, nextToken=token, limit=10)
            if not page["events"]:
                self.assertEqual(page["nextForwardToken"], token)  # the same token at the end, as AWS
                break
            seen += [e["message"] for e in page["events"]]
        self.assertEqual(seen, [f"line {i}" for i in range(25)])

        newest = self.logs.get_log_events(logGroupName=group, logStreamName=stream, limit=5)
        self.assertEqual([e["message"] for e in newest["events"]], [f"line {i}" for i in range(20, 25)])
        older = self.logs.get_log_events(logGroupName=group, logStreamName=stream, limit=5,
                                         nextToken=newest["nextBackwardToken"])
        self.assertEqual([e["message"] for e in older["events"]], [f"line {i}" for i in range(15, 20)])
        window = self.logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True,
                                          startTime=t + 3, endTime=t + 6)
        self.assertEqual([e["message"] for e in window["events"]], ["line 3", "line 4", "line 5"])

    def test_filter_log_events_pages_across_streams(self):
        group = unique("/test/merge-")
        self.logs.create_log_group(logGroupName=group)
        t = now_ms()
        for name in ("a", "b", "c"):
            self.logs.create_log_stream(logGroupName=group, logStreamName=name)
            self.logs.put_log_events(logGroupName=group, logStreamName=name,
                                     logEvents=[{"timestamp": t + i * 3 + "abc".index(name), "message": f"{name}{i}"}
                                                for i in range(4)])
        paginator = self.logs.get_paginator("filter_log_events")
        pages = list(paginator.paginate(logGroupName=group, logStreamNames=["a", "c"],
                                        PaginationConfig={"PageSize": 3}))
        messages = [e["message"] for p in pages for e in p["events"]]
        self.assertEqual(messages, ["a0", "c0", "a1", "c1", "a2", "c2", "a3", "c3"])
        self.assertGreater(len(pages), 1)
        since = self.logs.filter_log_events(logGroupName=group, logStreamNamePrefix="b", startTime=t + 7)
        self.assertEqual([e["message"] for e in since["events"]], ["b2", "b3"])

    def test_describe_groups_and_streams(self):
        base = unique("/test/desc-")
        for i in range(5):
            self.logs.create_log_group(logGroupName=f"{base}/{i}")
        pages = list(self.logs.get_paginator("describe_log_groups").paginate(
            logGroupNamePrefix=base, PaginationConfig={"PageSize": 2}))
        self.assertEqual(len(pages), 3)
        groups = [g for p in pages for g in p["logGroups"]]
        self.assertEqual([g["logGroupName"] for g in groups], [f"{base}/{i}" for i in range(5)])
        self.assertTrue(groups[0]["arn"].endswith(f":log-group:{base}/0:*"))
        pattern = self.logs.describe_log_groups(logGroupNamePattern=base.split("/")[-1].upper())
        self.assertEqual(len(pattern["logGroups"]), 5)

        group = f"{base}/0"
        t = now_ms()
        for name, ts in (("zeta", t - 1000), ("alpha", t), ("mid", t - 5000)):
            self.logs.create_log_stream(logGroupName=group, logStreamName=name)
            self.logs.put_log_events(logGroupName=group, logStreamName=name,
                                     logEvents=[{"timestamp": ts, "message": name}])
        by_name = self.logs.describe_log_streams(logGroupName=group)["logStreams"]
        self.assertEqual([s["logStreamName"] for s in by_name], ["alpha", "mid", "zeta"])
        self.assertEqual(by_name[0]["lastEventTimestamp"], t)
        latest_first = self.logs.describe_log_streams(logGroupName=group, orderBy="LastEventTime", descending=True,
                                                      limit=2)
        self.assertEqual([s["logStreamName"] for s in latest_first["logStreams"]], ["alpha", "zeta"])
        rest = self.logs.describe_log_streams(logGroupName=group, orderBy="LastEventTime", descending=True,
                                              nextToken=latest_first["nextToken"])
        self.assertEqual([s["logStreamName"] for s in rest["logStreams"]], ["mid"])
        with self.assertRaises(ClientError) as ctx:
            self.logs.describe_log_streams(logGroupName=group, orderBy="LastEventTime", logStreamNamePrefix="a")
        self.assertEqual(self.code(ctx), "InvalidParameterException")

    def test_retention_and_tags(self):
        group, _ = self.group_with_stream()
        self.logs.put_retention_policy(logGroupName=group, retentionInDays=30)
        g = self.logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]
        self.assertEqual(g["retentionInDays"], 30)
        with self.assertRaises(ClientError) as ctx:
            self.logs.put_retention_policy(logGroupName=group, retentionInDays=4)
        self.assertEqual(self.code(ctx), "InvalidParameterException")
        self.logs.delete_retention_policy(logGroupName=group)
        self.assertNotIn("retentionInDays", self.logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0])

        self.logs.tag_log_group(logGroupName=group, tags={"team": "core", "env": "dev"})
        self.logs.untag_log_group(logGroupName=group, tags=["env"])
        self.assertEqual(self.logs.list_tags_log_group(logGroupName=group)["tags"], {"team": "core"})
        arn = g["arn"][:-2]  # without ":*"
        self.logs.tag_resource(resourceArn=arn, tags={"cost": "42"})
        self.assertEqual(self.logs.list_tags_for_resource(resourceArn=arn)["tags"], {"team": "core", "cost": "42"})
        self.logs.untag_resource(resourceArn=arn, tagKeys=["team"])
        self.assertEqual(self.logs.list_tags_for_resource(resourceArn=arn)["tags"], {"cost": "42"})
        with self.assertRaises(ClientError) as ctx:
            self.logs.tag_resource(resourceArn=arn, tags={f"k{i}": "v" for i in range(50)})
        self.assertEqual(self.code(ctx), "TooManyTagsException")

    def test_missing_things_are_resource_not_found(self):
        group, stream = self.group_with_stream()
        cases = [
            lambda: self.logs.put_log_events(logGroupName=group, logStreamName="nope",
                                             logEvents=[{"timestamp": now_ms(), "message": "x"}]),
            lambda: self.logs.put_log_events(logGroupName="/no/such/group", logStreamName=stream,
                                             logEvents=[{"timestamp": now_ms(), "message": "x"}]),
            lambda: self.logs.get_log_events(logGroupName=group, logStreamName="nope"),
            lambda: self.logs.filter_log_events(logGroupName="/no/such/group"),
            lambda: self.logs.delete_log_stream(logGroupName=group, logStreamName="nope"),
            lambda: self.logs.delete_log_group(logGroupName="/no/such/group"),
            lambda: self.logs.create_log_stream(logGroupName="/no/such/group", logStreamName="s"),
            lambda: self.logs.list_tags_for_resource(
                resourceArn=f"arn:aws:logs:{REGION}:000000000000:log-group:{group}"),
        ]
        for i, call in enumerate(cases):
            with self.subTest(case=i), self.assertRaises(ClientError) as ctx:
                call()
            self.assertEqual(self.code(ctx), "ResourceNotFoundException")
            self.assertEqual(ctx.exception.response["ResponseMetadata"]["HTTPStatusCode"], 400)
        with self.assertRaises(ClientError) as ctx:
            self.logs.create_log_group(logGroupName=group)
        self.assertEqual(self.code(ctx), "ResourceAlreadyExistsException")
        with self.assertRaises(ClientError) as ctx:
            self.logs.create_log_stream(logGroupName=group, logStreamName=stream)
        self.assertEqual(self.code(ctx), "ResourceAlreadyExistsException")

    def test_put_log_events_validation(self):
        group, stream = self.group_with_stream()
        t = now_ms()

        def put(events):
            return self.logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)

        bad_batches = {
            "out of order": [{"timestamp": t, "message": "b"}, {"timestamp": t - 1, "message": "a"}],
            "over 24 hours": [{"timestamp": t - DAY_MS - 1, "message": "a"}, {"timestamp": t, "message": "b"}],
            "over 1 MiB": [{"timestamp": t, "message": "x" * 200_000} for _ in range(6)],
            "over 10,000 events": [{"timestamp": t, "message": "x"} for _ in range(10_001)],
        }
        for name, events in bad_batches.items():
            with self.subTest(batch=name), self.assertRaises(ClientError) as ctx:
                put(events)
            self.assertEqual(self.code(ctx), "InvalidParameterException", name)
        # 26 bytes per event count against the 1 MiB: this fits only without them.
        with self.assertRaises(ClientError) as ctx:
            put([{"timestamp": t, "message": "x" * (1048576 // 2 - 20)} for _ in range(2)])
        self.assertEqual(self.code(ctx), "InvalidParameterException")
        put([{"timestamp": t, "message": "x" * (1048576 // 2 - 26)} for _ in range(2)])  # exactly the limit

        r = put([{"timestamp": t - 14 * DAY_MS - 60_000, "message": "too old"},
                 {"timestamp": t - 14 * DAY_MS - 59_000, "message": "too old too"},
                 {"timestamp": t - 14 * DAY_MS + 60_000, "message": "kept"}])
        self.assertEqual(r["rejectedLogEventsInfo"], {"tooOldLogEventEndIndex": 2})
        r = put([{"timestamp": t, "message": "kept 2"}, {"timestamp": t + 3 * 3600 * 1000, "message": "too new"}])
        self.assertEqual(r["rejectedLogEventsInfo"], {"tooNewLogEventStartIndex": 1})

        def stored():
            events = self.logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)["events"]
            return [e["message"] for e in events if not e["message"].startswith("xxx")]
        self.assertEqual(stored(), ["kept", "kept 2"])
        self.logs.put_retention_policy(logGroupName=group, retentionInDays=1)
        r = put([{"timestamp": t - DAY_MS - 60_000, "message": "expired"},
                 {"timestamp": t - 120_000, "message": "kept 3"}])
        self.assertEqual(r["rejectedLogEventsInfo"], {"expiredLogEventEndIndex": 1})
        # "kept" (14 days old) is past the new retention: the store's periodic
        # eviction may have removed it already, as CloudWatch eventually does.
        self.assertEqual([m for m in stored() if m != "kept"], ["kept 3", "kept 2"])

    def test_names_follow_cloudwatch_rules(self):
        for bad in ["has space", "a" * 513, "colon:"]:
            with self.subTest(group=bad), self.assertRaises(ClientError) as ctx:
                self.logs.create_log_group(logGroupName=bad)
            self.assertEqual(self.code(ctx), "InvalidParameterException")
        group = unique("/ok/._-#")
        self.logs.create_log_group(logGroupName=group)
        for bad in ["has:colon", "star*"]:
            with self.subTest(stream=bad), self.assertRaises(ClientError) as ctx:
                self.logs.create_log_stream(logGroupName=group, logStreamName=bad)
            self.assertEqual(self.code(ctx), "InvalidParameterException")
        self.logs.create_log_stream(logGroupName=group, logStreamName="ünïcode [1] " + "s" * 490)

    def test_accounts_see_only_their_own_groups(self):
        group = unique("/private/")
        self.logs.create_log_group(logGroupName=group)
        tenant = self.daemon.create_account(unique("tenant-"))
        other = logs_client(self.daemon, tenant["AccessKeyId"], tenant["SecretAccessKey"])
        self.assertEqual(other.describe_log_groups(logGroupNamePrefix=group)["logGroups"], [])
        with self.assertRaises(ClientError) as ctx:
            other.put_log_events(logGroupName=group, logStreamName="s",
                                 logEvents=[{"timestamp": now_ms(), "message": "x"}])
        self.assertEqual(self.code(ctx), "ResourceNotFoundException")
        arn = self.logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]["arn"][:-2]
        with self.assertRaises(ClientError) as ctx:
            other.tag_resource(resourceArn=arn, tags={"x": "y"})
        self.assertEqual(self.code(ctx), "ResourceNotFoundException")
        other.create_log_group(logGroupName=group)  # the same name is theirs to use
        self.assertEqual(len(other.describe_log_groups(logGroupNamePrefix=group)["logGroups"]), 1)

    def test_deleted_group_takes_its_events(self):
        group, stream = self.group_with_stream()
        self.logs.put_log_events(logGroupName=group, logStreamName=stream,
                                 logEvents=[{"timestamp": now_ms(), "message": "old life"}])
        self.logs.delete_log_group(logGroupName=group)
        self.logs.create_log_group(logGroupName=group)
        self.logs.create_log_stream(logGroupName=group, logStreamName=stream)
        self.assertEqual(self.logs.get_log_events(logGroupName=group, logStreamName=stream)["events"], [])


class LogsHostileInputTest(AnnexTestCase):
    """Raw requests an SDK would never send: clear JSON errors, and the daemon keeps serving."""

    def assert_error(self, operation, body, code):
        status, parsed = raw_logs(self.daemon, operation, body)
        self.assertEqual(status, 400, parsed)
        self.assertEqual(parsed.get("__type"), code, parsed)
        self.assertTrue(parsed.get("message"), parsed)

    def test_malformed_bodies_are_serialization_errors(self):
        for body in [b"{", b"[1,2]", b"\"just a string\"", b"\xff\xfe{}", b"{\"logGroupName\": }"]:
            with self.subTest(body=body):
                self.assert_error("CreateLogGroup", body, "SerializationException")

    def test_wrong_types(self):
        self.assert_error("CreateLogGroup", json.dumps({"logGroupName": 5}), "SerializationException")
        self.assert_error("PutLogEvents", json.dumps({"logGroupName": "g", "logStreamName": "s",
                                                      "logEvents": {"timestamp": 1}}), "SerializationException")
        self.assert_error("PutLogEvents", json.dumps({"logGroupName": "g", "logStreamName": "s",
                                                      "logEvents": [{"timestamp": "now", "message": "m"}]}),
                          "SerializationException")
        self.assert_error("GetLogEvents", json.dumps({"logGroupName": "g", "logStreamName": "s", "limit": 1.5}),
                          "SerializationException")
        self.assert_error("FilterLogEvents", json.dumps({"logGroupName": "g", "logStreamNames": [1]}),
                          "SerializationException")

    def test_missing_and_invalid_parameters(self):
        self.assert_error("CreateLogGroup", b"", "InvalidParameterException")
        self.assert_error("CreateLogGroup", b"{}", "InvalidParameterException")
        self.assert_error("GetLogEvents", json.dumps({"logGroupName": "g", "logStreamName": "s", "nextToken": "zz"}),
                          "InvalidParameterException")
        self.assert_error("FilterLogEvents", json.dumps({"logGroupName": "g", "filterPattern": "{ $.a = }"}),
                          "InvalidParameterException")
        self.assert_error("PutLogEvents", json.dumps({"logGroupName": "g", "logStreamName": "s",
                                                      "logEvents": [{"timestamp": -1, "message": "m"}]}),
                          "InvalidParameterException")
        self.assert_error("NoSuchOperation", b"{}", "UnknownOperationException")

    def test_huge_bodies_are_refused_and_the_daemon_stays_up(self):
        big = json.dumps({"logGroupName": "g", "logStreamName": "s",
                          "logEvents": [{"timestamp": now_ms(), "message": "\u0001" * 1_048_560}]})  # 6 bytes each as JSON
        self.assert_error("PutLogEvents", big, "InvalidParameterException")
        # Past the service's body bound (8 MiB) the edge refuses the body unread.
        over_limit = json.dumps({"logGroupName": "g", "logStreamName": "s",
                                 "logEvents": [{"timestamp": now_ms(), "message": "x" * 9_000_000}]})
        status, parsed = raw_logs(self.daemon, "PutLogEvents", over_limit)
        self.assertEqual(status, 413, parsed)
        self.assertEqual(parsed.get("__type"), "RequestEntityTooLarge", parsed)
        nested = b"[" * 100_000 + b"]" * 100_000
        status, _ = raw_logs(self.daemon, "CreateLogGroup", nested)
        self.assertEqual(status, 400)
        status, parsed = raw_logs(self.daemon, "DescribeLogGroups", b"{}")
        self.assertEqual(status, 200, parsed)


class LogsAwsCliTest(AnnexTestCase):
    @classmethod
    def setUpClass(cls):
        if not have(AWS_CLI):
            raise unittest.SkipTest(f"awscli not installed at {AWS_CLI}")
        super().setUpClass()
        cls.env = cls.daemon.client_env()

    def aws(self, *args, check=True):
        p = subprocess.run([AWS_CLI, "--endpoint-url", self.daemon.endpoint, "--output", "json", "logs", *args],
                           env=self.env, capture_output=True, text=True, timeout=120)
        if check and p.returncode != 0:
            self.fail(f"`aws logs {' '.join(args)}` exited {p.returncode}\n{p.stdout}{p.stderr}")
        return json.loads(p.stdout) if check and p.stdout.strip() else p

    def put(self, group, stream, messages, t=None):
        t = t or now_ms()
        events = [{"timestamp": t + i, "message": m} for i, m in enumerate(messages)]
        path = self.daemon.workdir / unique("events-")
        path.write_text(json.dumps(events))
        return self.aws("put-log-events", "--log-group-name", group, "--log-stream-name", stream,
                        "--log-events", f"file://{path}")

    def test_round_trip(self):
        group = unique("/cli/")
        self.aws("create-log-group", "--log-group-name", group, "--tags", "team=core")
        self.aws("create-log-stream", "--log-group-name", group, "--log-stream-name", "web-1")
        self.put(group, "web-1", [json.dumps({"level": "error", "path": "/a"}), "plain line",
                                  json.dumps({"level": "info"})])
        got = self.aws("get-log-events", "--log-group-name", group, "--log-stream-name", "web-1", "--start-from-head")
        self.assertEqual([e["message"] for e in got["events"]][1], "plain line")
        found = self.aws("filter-log-events", "--log-group-name", group, "--filter-pattern", '{ $.level = "error" }')
        self.assertEqual([json.loads(e["message"])["path"] for e in found["events"]], ["/a"])
        groups = self.aws("describe-log-groups", "--log-group-name-prefix", group)["logGroups"]
        self.assertEqual([g["logGroupName"] for g in groups], [group])
        streams = self.aws("describe-log-streams", "--log-group-name", group)["logStreams"]
        self.assertEqual([s["logStreamName"] for s in streams], ["web-1"])
        self.aws("put-retention-policy", "--log-group-name", group, "--retention-in-days", "7")
        self.assertEqual(self.aws("describe-log-groups", "--log-group-name-prefix", group)["logGroups"][0]
                         ["retentionInDays"], 7)
        self.aws("tag-log-group", "--log-group-name", group, "--tags", "env=dev")
        self.assertEqual(self.aws("list-tags-log-group", "--log-group-name", group)["tags"],
                         {"team": "core", "env": "dev"})
        p = self.aws("create-log-group", "--log-group-name", group, check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("ResourceAlreadyExistsException", p.stderr)
        self.aws("delete-log-stream", "--log-group-name", group, "--log-stream-name", "web-1")
        self.aws("delete-log-group", "--log-group-name", group)
        self.assertEqual(self.aws("describe-log-groups", "--log-group-name-prefix", group)["logGroups"], [])

    def test_tail_follow_shows_new_events(self):
        group = unique("/tail/")
        self.aws("create-log-group", "--log-group-name", group)
        self.aws("create-log-stream", "--log-group-name", group, "--log-stream-name", "app")
        self.put(group, "app", ["before following"])
        out_path = self.daemon.workdir / unique("tail-")
        with open(out_path, "wb") as out:
            tail = subprocess.Popen([AWS_CLI, "--endpoint-url", self.daemon.endpoint, "logs", "tail", group,
                                     "--follow", "--since", "10m", "--format", "short"],
                                    env={**self.env, "PYTHONUNBUFFERED": "1"}, stdout=out,
                                    stderr=subprocess.STDOUT)
        try:
            wait_for("tail prints the existing event", lambda: b"before following" in out_path.read_bytes(), 30)
            marker = unique("fresh-")
            self.put(group, "app", [marker])
            # awscli polls every 5 s.
            wait_for("tail prints the new event", lambda: marker.encode() in out_path.read_bytes(), 15)
            self.assertEqual(out_path.read_bytes().count(b"before following"), 1)  # not printed twice
        finally:
            tail.kill()
            tail.wait()


@unittest.skipUnless(HAVE_BOTO3, "boto3 is not installed for this Python")
class LogsRestartTest(AnnexTestCase):
    def test_events_survive_restart_and_kill(self):
        logs = logs_client(self.daemon)
        group = unique("/durable/")
        logs.create_log_group(logGroupName=group)
        logs.put_retention_policy(logGroupName=group, retentionInDays=14)
        logs.create_log_stream(logGroupName=group, logStreamName="s")
        t = now_ms()
        logs.put_log_events(logGroupName=group, logStreamName="s",
                            logEvents=[{"timestamp": t + i, "message": f"before restart {i}"} for i in range(100)])
        self.daemon.restart()
        logs = logs_client(self.daemon)
        logs.put_log_events(logGroupName=group, logStreamName="s",
                            logEvents=[{"timestamp": t + 1000, "message": "acknowledged before kill -9"}])
        self.daemon.kill()
        self.daemon.start()
        logs = logs_client(self.daemon)
        events = logs.get_log_events(logGroupName=group, logStreamName="s", startFromHead=True)["events"]
        self.assertEqual([e["message"] for e in events],
                         [f"before restart {i}" for i in range(100)] + ["acknowledged before kill -9"])
        g = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]
        self.assertEqual(g["retentionInDays"], 14)
        stored = sum(len(f"before restart {i}") for i in range(100)) + len("acknowledged before kill -9")
        self.assertEqual(g["storedBytes"], stored)
        self.assertIn(f"annex_logs_stored_bytes {stored}", self.daemon.metrics())


if __name__ == "__main__":
    harness.main()
