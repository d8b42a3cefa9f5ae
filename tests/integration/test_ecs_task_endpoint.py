#!/usr/bin/python3
"""ECS's task endpoint (169.254.170.2) as a task sees it, against a real annexd as root with tasks that really run
under crun (the busybox image of ecs_fixture.py). The containers fetch with busybox nc and print what they get to
awslogs; the test reads it back with boto3. A task role's credentials, used from the host with boto3 within the
role's policy and refused outside it; container and task metadata (v4 and v3); a task without a role has no
credentials; a task cannot get another's credentials or metadata, nor the host anyone's, nor a forged token
anything; AWS_ENDPOINT_URL leads a task to annexd's API."""

import datetime
import http.client
import json
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from ecs_fixture import EcsTestCase, SUBNETS, client, skip_reason, unique  # noqa: E402
from harness import REGION, wait_for  # noqa: E402

try:
    import boto3
    from botocore.config import Config
    from botocore.exceptions import ClientError
except ImportError:  # pragma: no cover - skip_reason() reports it
    pass

TIMEOUT = 30
ENDPOINT = "169.254.170.2"
# `f TAG HOST PORT PATH [HOST-HEADER]` prints "TAG <status> <last line of the body>": an HTTP/1.0 GET with busybox nc
# (busybox wget segfaults on this machine). `e TAG PATH` asks the task endpoint.
FETCH = ("f() { tag=$1; "
         "r=$(printf 'GET %s HTTP/1.0\\r\\nHost: %s\\r\\n\\r\\n' \"$4\" \"${5:-$2}\" | nc \"$2\" \"$3\"); "
         "set -- $(echo \"$r\" | head -1); echo \"$tag ${2:-none} $(echo \"$r\" | tail -1)\"; }; "
         f"e() {{ f \"$1\" {ENDPOINT} 80 \"$2\"; }}; "
         f"M4=${{ECS_CONTAINER_METADATA_URI_V4#http://{ENDPOINT}}}; "
         f"M3=${{ECS_CONTAINER_METADATA_URI#http://{ENDPOINT}}}; ")
# Runs until SIGTERM (busybox sh as PID 1 ignores it otherwise).
LOOP = "trap 'exit 0' TERM; while :; do sleep 1; done"
FORGED_TOKEN = "0123456789abcdef0123456789abcdef-0"


def trust(service):
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": service}, "Action": ["sts:AssumeRole"]}]})


def parse_time(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


# A skip of the class (not of setUpClass) counts each test as skipped: ctest then reports "Not Run" (exit 77).
@unittest.skipIf(skip_reason(), skip_reason())
class EcsTaskEndpointTest(EcsTestCase):
    task_ids = []
    cluster = "endpoint"

    @classmethod
    def setUpClass(cls):
        cls.task_ids, cls.cached = [], {}
        super().setUpClass()
        try:
            cls.prepare("annex-ecse-")
            cls.group = "/ecs/" + unique("endpoint-")
            # The role's policy: list every bucket, read objects of `readable`; nothing on `other`.
            s3 = client(cls.daemon, "s3")
            cls.readable, cls.other = unique("readable-"), unique("other-")
            for b in (cls.readable, cls.other):
                s3.create_bucket(Bucket=b)
            s3.put_object(Bucket=cls.readable, Key="hello.txt", Body=b"hello from the host")
            iam = client(cls.daemon, "iam")
            cls.role_name = unique("task-role-")
            cls.role_arn = iam.create_role(RoleName=cls.role_name,
                                           AssumeRolePolicyDocument=trust("ecs-tasks.amazonaws.com"))["Role"]["Arn"]
            iam.put_role_policy(RoleName=cls.role_name, PolicyName="read", PolicyDocument=json.dumps({
                "Version": "2012-10-17", "Statement": [
                    {"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"},
                    {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{cls.readable}/*"}]}))
        except BaseException:
            cls.tearDownClass()
            raise

    # -- helpers -----------------------------------------------------------

    def register(self, name, script, network_mode, **kw):
        container = {"name": name, "image": "busybox:latest", "memory": 64, "essential": True, "stopTimeout": 2,
                     "command": ["sh", "-c", FETCH + script],
                     "logConfiguration": {"logDriver": "awslogs", "options": {
                         "awslogs-group": self.group, "awslogs-region": REGION, "awslogs-stream-prefix": "t"}}}
        return self.ecs().register_task_definition(family=unique("ep-"), networkMode=network_mode,
                                                   containerDefinitions=[container], **kw)["taskDefinition"]

    def run_task(self, definition, network_mode, **kw):
        if network_mode == "awsvpc":
            kw["networkConfiguration"] = SUBNETS
        r = self.ecs().run_task(cluster=self.cluster, taskDefinition=definition, launchType="EC2", **kw)
        self.assertEqual(r.get("failures"), [], r)
        arn = r["tasks"][0]["taskArn"]
        self.task_ids.append(arn.rsplit("/", 1)[1])
        return arn

    def describe(self, arn):
        return self.ecs().describe_tasks(cluster=self.cluster, tasks=[arn])["tasks"][0]

    def wait_running(self, arn):
        def running():
            t = self.describe(arn)
            if t["lastStatus"] == "STOPPED":
                raise AssertionError(f"task stopped: {json.dumps(t, default=str)}")
            return t if t["lastStatus"] == "RUNNING" else None
        try:
            return wait_for(f"{arn} RUNNING", running, TIMEOUT, 0.1)
        except AssertionError as e:
            self.fail(f"{e}\n{self.daemon.log_tail(30)}")

    def output(self, arn, name, marker):
        """{tag: (status, body)} and {tag: value} ("env-…" lines) of what the task's container printed, once it
        printed `marker`."""
        logs = client(self.daemon, "logs")
        stream = f"t/{name}/{arn.rsplit('/', 1)[1]}"

        def done():
            try:
                events = logs.get_log_events(logGroupName=self.group, logStreamName=stream,
                                             startFromHead=True)["events"]
            except logs.exceptions.ResourceNotFoundException:
                return None
            messages = [e["message"] for e in events]
            return messages if marker in messages else None
        messages = wait_for(f"{marker!r} in {stream}", done, TIMEOUT)
        fetched, env = {}, {}
        for m in messages:
            tag, _, rest = m.partition(" ")
            if tag.startswith("env-"):
                env[tag[4:]] = rest
            elif tag != marker:
                status, _, body = rest.partition(" ")
                fetched[tag] = (status, body)
        return fetched, env, messages

    def json_answer(self, fetched, tag, status="200"):
        self.assertIn(tag, fetched)
        self.assertEqual(fetched[tag][0], status, fetched[tag])
        return json.loads(fetched[tag][1])

    def role_task(self):
        """A running awsvpc task with the task role (shared by the tests): its ARN, description and output."""
        if "role" not in self.cached:
            definition = self.register("a", (
                "echo \"env-creds ${AWS_CONTAINER_CREDENTIALS_RELATIVE_URI-unset}\"; echo \"env-meta4 $M4\"; "
                "echo \"env-api ${AWS_ENDPOINT_URL-unset}\"; "
                "e creds \"$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI\"; e meta4 \"$M4\"; e task4 \"$M4/task\"; "
                "e meta3 \"$M3\"; e task3 \"$M3/task\"; "
                f"e forged4 /v4/{FORGED_TOKEN}; e forged4task /v4/{FORGED_TOKEN}/task; "
                "e forgedcreds /v2/credentials/forged; echo a-done; " + LOOP),
                "awsvpc", taskRoleArn=self.role_arn)
            arn = self.run_task(definition["taskDefinitionArn"], "awsvpc")
            task = self.wait_running(arn)
            fetched, env, messages = self.output(arn, "a", "a-done")
            self.cached["role"] = (arn, task, definition, fetched, env, messages)
        return self.cached["role"]

    # -- tests -------------------------------------------------------------

    def test_task_role_credentials(self):
        arn, task, _, fetched, env, messages = self.role_task()
        self.assertRegex(env.get("creds", ""), r"^/v2/credentials/[0-9a-f-]{16,}$", messages)
        creds = self.json_answer(fetched, "creds")
        self.assertEqual(creds["RoleArn"], self.role_arn, creds)
        self.assertTrue(creds["AccessKeyId"].startswith("ASIA"), creds)
        self.assertTrue(creds["SecretAccessKey"] and creds["Token"], creds)
        left = parse_time(creds["Expiration"]) - datetime.datetime.now(datetime.timezone.utc)
        self.assertGreaterEqual(left, datetime.timedelta(minutes=15), creds)
        # From the host, with boto3: what the role allows works, the rest is refused.
        s3 = boto3.session.Session().client(
            "s3", endpoint_url=self.daemon.endpoint, region_name=REGION, aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["Token"],
            config=Config(retries={"max_attempts": 1, "mode": "standard"}))
        names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
        self.assertIn(self.readable, names)
        self.assertIn(self.other, names)
        self.assertEqual(s3.get_object(Bucket=self.readable, Key="hello.txt")["Body"].read(), b"hello from the host")
        with self.assertRaises(ClientError) as e:
            s3.put_object(Bucket=self.other, Key="from-task.txt", Body=b"x")
        self.assertEqual(e.exception.response["Error"]["Code"], "AccessDenied")
        with self.assertRaises(ClientError) as e:
            s3.get_object(Bucket=self.other, Key="hello.txt")
        self.assertEqual(e.exception.response["Error"]["Code"], "AccessDenied")
        sts = boto3.session.Session().client(
            "sts", endpoint_url=self.daemon.endpoint, region_name=REGION, aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["Token"])
        caller = sts.get_caller_identity()["Arn"]
        self.assertIn(f":assumed-role/{self.role_name}/", caller)
        self.assertEqual(client(self.daemon, "s3").list_objects_v2(Bucket=self.other).get("KeyCount", 0), 0)

    def test_metadata_v4_and_v3(self):
        arn, task, definition, fetched, env, messages = self.role_task()
        container = task["containers"][0]
        ip = container["networkInterfaces"][0]["privateIpv4Address"]
        meta = self.json_answer(fetched, "meta4")
        self.assertEqual(meta["Name"], "a", meta)
        self.assertTrue(container.get("runtimeId"), task)
        self.assertEqual(meta["DockerId"], container["runtimeId"], meta)
        self.assertEqual(meta["Labels"]["com.amazonaws.ecs.task-arn"], arn, meta)
        self.assertEqual(meta["Labels"]["com.amazonaws.ecs.container-name"], "a", meta)
        self.assertEqual(meta["Labels"]["com.amazonaws.ecs.cluster"], task["clusterArn"], meta)
        self.assertEqual(meta["Networks"][0]["IPv4Addresses"][0], ip, meta)
        self.assertEqual(meta["Networks"][0]["NetworkMode"], "awsvpc", meta)
        whole = self.json_answer(fetched, "task4")
        self.assertEqual(whole["TaskARN"], arn, whole)
        self.assertEqual(whole["Family"], definition["family"], whole)
        self.assertEqual(str(whole["Revision"]), str(definition["revision"]), whole)
        self.assertEqual(whole["Cluster"], task["clusterArn"], whole)
        self.assertEqual([c["Name"] for c in whole["Containers"]], ["a"], whole)
        self.assertEqual(whole["Containers"][0]["DockerId"], container["runtimeId"], whole)
        self.assertEqual(self.json_answer(fetched, "meta3"), meta)
        self.assertEqual(self.json_answer(fetched, "task3"), whole)

    def test_task_without_role_has_no_credentials(self):
        fetched, env, messages = self.no_role_task()
        self.assertEqual(env.get("creds"), "unset", messages)
        for tag in ("anything", "empty"):
            self.assertEqual(self.json_answer(fetched, tag, "404")["code"], "NotFound", fetched[tag])
        # The metadata still answers (a bridge task).
        self.assertEqual(self.json_answer(fetched, "meta4")["Networks"][0]["NetworkMode"], "bridge")

    def test_isolation(self):
        a, _, _, fetched, env, messages = self.role_task()
        # A forged token or credentials id from A itself.
        for tag in ("forged4", "forged4task", "forgedcreds"):
            self.assertEqual(self.json_answer(fetched, tag, "404")["code"], "NotFound", fetched[tag])
        # A's credentials id and metadata token from another task (with the same role, so it has its own).
        stolen_creds, stolen_meta = env["creds"], env["meta4"]
        definition = self.register("b", (
            "e own \"$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI\"; e stolen \"$STOLEN_CREDS\"; "
            "e stolenmeta \"$STOLEN_META\"; e stolentask \"$STOLEN_META/task\"; echo b-done; " + LOOP),
            "awsvpc", taskRoleArn=self.role_arn)
        b = self.run_task(definition["taskDefinitionArn"], "awsvpc", overrides={"containerOverrides": [{
            "name": "b", "environment": [{"name": "STOLEN_CREDS", "value": stolen_creds},
                                         {"name": "STOLEN_META", "value": stolen_meta}]}]})
        self.wait_running(b)
        got, _, b_messages = self.output(b, "b", "b-done")
        own = self.json_answer(got, "own")
        self.assertEqual(own["RoleArn"], self.role_arn, b_messages)
        for tag in ("stolen", "stolenmeta", "stolentask"):
            self.assertEqual(self.json_answer(got, tag, "404")["code"], "NotFound", got[tag])
        self.assertEqual(self.describe(a)["lastStatus"], "RUNNING")
        # The host itself is no task, even naming the endpoint.
        for path in (stolen_creds, stolen_meta, stolen_meta + "/task"):
            conn = http.client.HTTPConnection("127.0.0.1", self.daemon.port, timeout=5)
            try:
                conn.request("GET", path, headers={"Host": ENDPOINT})
                r = conn.getresponse()
                body = r.read().decode(errors="replace")
            finally:
                conn.close()
            self.assertEqual(r.status, 404, body)
            self.assertEqual(json.loads(body), {"code": "NotFound", "message": "no task at 127.0.0.1"})
        self.ecs().stop_task(cluster=self.cluster, task=b, reason="")

    def test_api_reachable_from_task(self):
        fetched, env, messages = self.no_role_task()
        m = re.match(r"^http://(\d+\.\d+\.\d+\.\d+):(\d+)$", env.get("api", ""))
        self.assertTrue(m, messages)
        self.assertEqual(int(m.group(2)), self.daemon.port, messages)
        # Any HTTP answer from annexd proves the route (the request is not signed).
        self.assertIn("api", fetched, messages)
        self.assertRegex(fetched["api"][0], r"^[1-5]\d\d$", messages)
        self.assertIn("AccessDenied", fetched["api"][1], messages)
        # The role task got the same endpoint.
        self.assertEqual(self.role_task()[4]["api"], env["api"])

    def no_role_task(self):
        """The output of a bridge task without a role, which fetches and ends."""
        if "none" not in self.cached:
            definition = self.register("c", (
                "echo \"env-creds ${AWS_CONTAINER_CREDENTIALS_RELATIVE_URI-unset}\"; "
                "echo \"env-api ${AWS_ENDPOINT_URL-unset}\"; "
                "e anything /v2/credentials/anything; e empty /v2/credentials/; e meta4 \"$M4\"; "
                "hp=${AWS_ENDPOINT_URL#http://}; f api \"${hp%:*}\" \"${hp##*:}\" / x; echo c-done"), "bridge")
            arn = self.run_task(definition["taskDefinitionArn"], "bridge")
            fetched, env, messages = self.output(arn, "c", "c-done")
            self.cached["none"] = (fetched, env, messages)
        return self.cached["none"]


if __name__ == "__main__":
    harness.main()
