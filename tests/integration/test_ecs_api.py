#!/usr/bin/python3
"""The ECS API against a real annexd, at the API level only (what the containers of a task do is the task runtime's
business, not this file's): awscli and boto3 create, describe, list and delete clusters; register, describe, list,
page through and deregister task definitions, with Fargate's size and network rules; the container instance every
cluster has; RunTask's refusals, and a task started and stopped; another account's and an unprivileged user's view;
hostile JSON bodies sent raw."""

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

TARGET = "AmazonEC2ContainerServiceV20141113."
# ECS's task lifecycle, in order: "PROVISIONING or later" is any of these.
TASK_STATUSES = ["PROVISIONING", "PENDING", "ACTIVATING", "RUNNING", "DEACTIVATING", "STOPPING", "DEPROVISIONING",
                 "STOPPED", "DELETED"]
SUBNETS = {"awsvpcConfiguration": {"subnets": ["subnet-0123456789abcdef0"]}}


def unique(prefix):
    return prefix + os.urandom(4).hex()


def ecs_client(daemon, access_key=None, secret_key=None):
    import boto3 as b3
    return b3.session.Session().client(
        "ecs", endpoint_url=daemon.endpoint, region_name=REGION,
        aws_access_key_id=access_key or daemon.access_key, aws_secret_access_key=secret_key or daemon.secret_key,
        config=Config(retries={"max_attempts": 1, "mode": "standard"}))


def iam_client(daemon):
    import boto3 as b3
    return b3.session.Session().client(
        "iam", endpoint_url=daemon.endpoint, region_name=REGION,
        aws_access_key_id=daemon.access_key, aws_secret_access_key=daemon.secret_key)


def ec2_definition(family, **kw):
    """A bridge-mode definition with container memory only: EC2-compatible, not Fargate-compatible."""
    d = {"family": family, "networkMode": "bridge",
         "containerDefinitions": [{"name": "web", "image": "busybox:latest", "memory": 64,
                                   "command": ["sleep", "3600"]}]}
    d.update(kw)
    return d


def fargate_definition(family, cpu="256", memory="512", **kw):
    d = {"family": family, "requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc", "cpu": cpu,
         "memory": memory, "containerDefinitions": [{"name": "app", "image": "busybox:latest"}]}
    d.update(kw)
    return {k: v for k, v in d.items() if v is not None}


def code(ctx):
    return ctx.exception.response["Error"]["Code"]


def message(ctx):
    return ctx.exception.response["Error"]["Message"]


class EcsAssertions:
    def assertRefused(self, call, want_code, want_message=None, **kw):
        """`call(**kw)` fails with `want_code` (and a message containing `want_message`)."""
        with self.assertRaises(ClientError, msg=f"{want_code}: {kw}") as e:
            call(**kw)
        self.assertEqual(code(e), want_code, (kw, e.exception.response["Error"]))
        if want_message is not None:
            self.assertIn(want_message, message(e), kw)
        return e.exception


# ---------------------------------------------------------------------------
# awscli


@unittest.skipUnless(have(AWS_CLI), "awscli is not installed")
class EcsAwsCliTest(AnnexTestCase):
    def aws(self, *args, check=True):
        p = subprocess.run([AWS_CLI, "--endpoint-url", self.daemon.endpoint, "--output", "json", "ecs", *args],
                           env=self.daemon.client_env(), capture_output=True, text=True, timeout=60)
        if check:
            self.assertEqual(p.returncode, 0, f"aws ecs {' '.join(args)}: {p.stderr}")
        return p

    def aws_json(self, *args):
        return json.loads(self.aws(*args).stdout)

    def aws_fails(self, want_code, *args):
        p = self.aws(*args, check=False)
        self.assertNotEqual(p.returncode, 0, f"aws ecs {' '.join(args)} succeeded: {p.stdout}")
        self.assertIn(want_code, p.stderr)
        return p.stderr

    def test_clusters(self):
        name, missing = unique("cli-"), unique("missing-")
        created = self.aws_json("create-cluster", "--cluster-name", name)["cluster"]
        self.assertEqual(created["clusterName"], name)
        self.assertEqual(created["status"], "ACTIVE")
        self.assertRegex(created["clusterArn"], rf"^arn:aws:ecs:{REGION}:\d{{12}}:cluster/{name}$")
        # Creating it again answers with the cluster there is.
        again = self.aws_json("create-cluster", "--cluster-name", name)["cluster"]
        self.assertEqual((again["clusterArn"], again["status"]), (created["clusterArn"], "ACTIVE"))
        self.assertIn(created["clusterArn"], self.aws_json("list-clusters")["clusterArns"])
        described = self.aws_json("describe-clusters", "--clusters", name, missing)
        self.assertEqual([c["clusterArn"] for c in described["clusters"]], [created["clusterArn"]])
        self.assertEqual(described["clusters"][0]["runningTasksCount"], 0)
        self.assertEqual([f["reason"] for f in described["failures"]], ["MISSING"])
        self.assertTrue(described["failures"][0]["arn"].endswith(":cluster/" + missing), described["failures"])
        deleted = self.aws_json("delete-cluster", "--cluster", name)["cluster"]
        self.assertEqual(deleted["status"], "INACTIVE")
        self.assertEqual(self.aws_json("describe-clusters", "--clusters", created["clusterArn"])
                         ["clusters"][0]["status"], "INACTIVE")
        self.assertNotIn(created["clusterArn"], self.aws_json("list-clusters")["clusterArns"])
        self.aws_fails("ClusterNotFoundException", "delete-cluster", "--cluster", missing)

    def test_task_definitions(self):
        family = unique("clifam-")
        path = os.path.join(self.daemon.workdir, family + ".json")
        with open(path, "w") as f:
            json.dump(ec2_definition(family), f)
        first = self.aws_json("register-task-definition", "--cli-input-json", "file://" + path)["taskDefinition"]
        second = self.aws_json("register-task-definition", "--cli-input-json", "file://" + path)["taskDefinition"]
        self.assertEqual((first["revision"], second["revision"]), (1, 2))
        self.assertEqual(first["status"], "ACTIVE")
        arn1, arn2 = first["taskDefinitionArn"], second["taskDefinitionArn"]
        self.assertRegex(arn2, rf"^arn:aws:ecs:{REGION}:\d{{12}}:task-definition/{family}:2$")
        self.assertEqual(first["containerDefinitions"][0]["image"], "busybox:latest")
        self.assertEqual(first["compatibilities"], ["EC2"])

        def describe(ref):
            return self.aws_json("describe-task-definition", "--task-definition", ref)["taskDefinition"]
        self.assertEqual(describe(family)["revision"], 2)  # the latest
        self.assertEqual(describe(family + ":1")["taskDefinitionArn"], arn1)
        self.assertEqual(describe(arn1)["revision"], 1)

        listed = self.aws_json("list-task-definitions", "--family-prefix", family)["taskDefinitionArns"]
        self.assertEqual(listed, [arn1, arn2])
        self.assertEqual(self.aws_json("list-task-definitions", "--family-prefix", family, "--sort", "DESC")
                         ["taskDefinitionArns"], [arn2, arn1])
        self.assertIn(family, self.aws_json("list-task-definition-families", "--family-prefix", family,
                                            "--status", "ACTIVE")["families"])

        stderr = self.aws_fails("ClientException", "deregister-task-definition", "--task-definition", family)
        self.assertIn("Revision must be specified", stderr)
        gone = self.aws_json("deregister-task-definition", "--task-definition", family + ":2")["taskDefinition"]
        self.assertEqual((gone["revision"], gone["status"]), (2, "INACTIVE"))
        self.assertEqual(describe(family)["revision"], 1)  # the latest ACTIVE one now
        self.assertEqual(describe(family + ":2")["status"], "INACTIVE")
        self.assertEqual(self.aws_json("list-task-definitions", "--family-prefix", family)["taskDefinitionArns"],
                         [arn1])
        self.aws_fails("ClientException", "describe-task-definition", "--task-definition", unique("nofam-"))


# ---------------------------------------------------------------------------
# Task definitions (boto3)


@unittest.skipUnless(HAVE_BOTO3, "boto3 is not installed for this Python")
class EcsTaskDefinitionTest(EcsAssertions, AnnexTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ecs = ecs_client(cls.daemon)

    def register(self, definition):
        return self.ecs.register_task_definition(**definition)["taskDefinition"]

    def refused(self, definition, want_code, want_message=None):
        return self.assertRefused(self.ecs.register_task_definition, want_code, want_message, **definition)

    def test_paginators_and_sort(self):
        family = unique("pages-")
        arns = [self.register(ec2_definition(family))["taskDefinitionArn"] for _ in range(5)]
        self.assertEqual([a.rsplit(":", 1)[1] for a in arns], ["1", "2", "3", "4", "5"])

        def paged(**kw):
            pages = list(self.ecs.get_paginator("list_task_definitions").paginate(
                familyPrefix=family, PaginationConfig={"PageSize": 2}, **kw))
            self.assertEqual([len(p["taskDefinitionArns"]) for p in pages], [2, 2, 1])
            return [a for p in pages for a in p["taskDefinitionArns"]]
        self.assertEqual(paged(), arns)
        self.assertEqual(paged(sort="DESC"), arns[::-1])
        first = self.ecs.list_task_definitions(familyPrefix=family, maxResults=3)
        self.assertEqual(first["taskDefinitionArns"], arns[:3])
        rest = self.ecs.list_task_definitions(familyPrefix=family, maxResults=3, nextToken=first["nextToken"])
        self.assertEqual(rest["taskDefinitionArns"], arns[3:])
        self.assertNotIn("nextToken", rest)
        # Every family of the account, page by page, nothing twice.
        everything = [a for p in self.ecs.get_paginator("list_task_definitions").paginate(
            PaginationConfig={"PageSize": 1}) for a in p["taskDefinitionArns"]]
        self.assertEqual(len(everything), len(set(everything)))
        self.assertEqual([a for a in everything if f"/{family}:" in a], arns)
        for bad in (0, 101):
            self.assertRefused(self.ecs.list_task_definitions, "InvalidParameterException", maxResults=bad)

    def test_listed_by_family_name_then_revision(self):
        base = unique("order")
        for family in (base + "-b", base, base, base + "B"):
            self.register(ec2_definition(family))
        arns = self.ecs.list_task_definitions(familyPrefix=base)["taskDefinitionArns"]
        self.assertEqual([a.rsplit("/", 1)[1] for a in arns], [base + ":1", base + ":2"])
        listed = [a.rsplit("/", 1)[1] for a in self.ecs.list_task_definitions()["taskDefinitionArns"]
                  if a.rsplit("/", 1)[1].startswith(base)]
        self.assertEqual(listed, [base + ":1", base + ":2", base + "-b:1", base + "B:1"])
        listed_desc = [a.rsplit("/", 1)[1] for a in self.ecs.list_task_definitions(sort="DESC")["taskDefinitionArns"]
                       if a.rsplit("/", 1)[1].startswith(base)]
        self.assertEqual(listed_desc, list(reversed(listed)))

    def test_families_by_status(self):
        prefix = unique("fams")
        live, dead, mixed = prefix + "-live", prefix + "-dead", prefix + "-mixed"
        for family in (live, dead, mixed, mixed):
            self.register(ec2_definition(family))
        self.ecs.deregister_task_definition(taskDefinition=dead + ":1")
        self.ecs.deregister_task_definition(taskDefinition=mixed + ":2")

        def families(status):
            return [f for p in self.ecs.get_paginator("list_task_definition_families").paginate(
                familyPrefix=prefix, status=status, PaginationConfig={"PageSize": 1}) for f in p["families"]]
        self.assertEqual(families("ACTIVE"), sorted([live, mixed]))
        self.assertEqual(families("INACTIVE"), [dead])
        self.assertEqual(families("ALL"), sorted([live, dead, mixed]))
        # Without a status, ECS lists every family, ACTIVE and INACTIVE.
        self.assertEqual(self.ecs.list_task_definition_families(familyPrefix=prefix)["families"],
                         sorted([live, dead, mixed]))
        inactive = self.ecs.list_task_definitions(familyPrefix=mixed, status="INACTIVE")["taskDefinitionArns"]
        self.assertEqual([a.rsplit("/", 1)[1] for a in inactive], [mixed + ":2"])
        gone = self.ecs.describe_task_definition(taskDefinition=dead + ":1")["taskDefinition"]
        self.assertEqual(gone["status"], "INACTIVE")
        self.assertIn("deregisteredAt", gone)
        # No ACTIVE revision left: the family alone names nothing.
        self.assertRefused(self.ecs.describe_task_definition, "ClientException", taskDefinition=dead)
        self.assertRefused(self.ecs.deregister_task_definition, "ClientException", taskDefinition=live)
        self.assertRefused(self.ecs.describe_task_definition, "ClientException", taskDefinition=live + ":9")

    def test_fargate_sizes_refused(self):
        family = unique("fg-")
        self.refused(fargate_definition(family, cpu=None), "ClientException",
                     "Fargate requires that 'cpu' be defined at the task level.")
        self.refused(fargate_definition(family, memory=None), "ClientException",
                     "Fargate requires that 'memory' be defined at the task level.")
        for cpu, memory in (("256", "4096"), ("16384", str(36 * 1024)), ("8192", str(18 * 1024)),
                            ("512", "512"), ("4096", str(31 * 1024)), ("128", "512")):
            self.refused(fargate_definition(family, cpu=cpu, memory=memory), "ClientException",
                         f"No Fargate configuration exists for given values: {cpu} CPU, {memory} memory")
        self.refused(fargate_definition(family, cpu="1 vCPU", memory="1 GB"), "ClientException",
                     "No Fargate configuration exists for given values: 1024 CPU, 1024 memory")
        self.refused(fargate_definition(family, networkMode="bridge"), "ClientException",
                     "Fargate only supports network mode")
        self.refused(fargate_definition(family, networkMode=None), "ClientException",
                     "Fargate only supports network mode")
        for size in (20, 201):
            self.refused(fargate_definition(family, ephemeralStorage={"sizeInGiB": size}), "ClientException",
                         "The ephemeral storage size must be between 21 GiB and 200 GiB.")
        for cpu in ("lots", "0.3 vCPU", "1.5", "-1"):
            self.refused(fargate_definition(family, cpu=cpu), "ClientException", "Invalid 'cpu' setting for task.")
        self.refused(fargate_definition(family, memory="huge"), "ClientException",
                     "Invalid 'memory' setting for task.")
        # Nothing was registered by any of these.
        self.assertEqual(self.ecs.list_task_definitions(familyPrefix=family)["taskDefinitionArns"], [])

    def test_fargate_sizes_accepted(self):
        family = unique("fgok-")
        for cpu, memory, want in (("256", "512", ("256", "512")), ("256", "2048", ("256", "2048")),
                                  ("1 vCPU", "2 GB", ("1024", "2048")), ("0.25 vcpu", "0.5GB", ("256", "512")),
                                  ("2 vCPU", "16GB", ("2048", "16384")), ("4096", "30720", ("4096", "30720")),
                                  ("8192", "20 GB", ("8192", "20480")), ("16384", "40960", ("16384", "40960"))):
            registered = self.register(fargate_definition(family, cpu=cpu, memory=memory,
                                                          ephemeralStorage={"sizeInGiB": 21}))
            got = self.ecs.describe_task_definition(taskDefinition=registered["taskDefinitionArn"])["taskDefinition"]
            self.assertEqual((got["cpu"], got["memory"]), want, (cpu, memory))
            self.assertEqual(got["compatibilities"], ["EC2", "FARGATE"])
            self.assertEqual(got["requiresCompatibilities"], ["FARGATE"])
            self.assertEqual(got["networkMode"], "awsvpc")
            self.assertEqual(got["ephemeralStorage"], {"sizeInGiB": 21})
        self.assertEqual(self.register(fargate_definition(family, ephemeralStorage={"sizeInGiB": 200}))
                         ["ephemeralStorage"], {"sizeInGiB": 200})

    def test_general_rules(self):
        family = unique("rules-")
        self.refused({"family": family, "containerDefinitions": []}, "ClientException", "Container list cannot be empty")
        self.refused(ec2_definition("bad family!"), "ClientException", "Family contains invalid characters")
        no_memory = ec2_definition(family)
        del no_memory["containerDefinitions"][0]["memory"]
        self.refused(no_memory, "ClientException", "At least one of 'memory' or 'memoryReservation'")
        twice = ec2_definition(family)
        twice["containerDefinitions"].append(dict(twice["containerDefinitions"][0]))
        self.refused(twice, "ClientException", "Container names must be unique")
        self.refused(ec2_definition(family, networkMode="overlay"), "InvalidParameterException", "Invalid networkMode")
        self.refused(ec2_definition(family, requiresCompatibilities=["LAMBDA"]), "InvalidParameterException",
                     "Invalid requiresCompatibilities")
        self.assertEqual(self.ecs.list_task_definitions(familyPrefix=family)["taskDefinitionArns"], [])
        # A definition that did not ask for Fargate but fits it is compatible with both.
        fits = fargate_definition(family)
        del fits["requiresCompatibilities"]
        got = self.register(fits)
        self.assertEqual(got["compatibilities"], ["EC2", "FARGATE"])
        self.assertNotIn("FARGATE", got.get("requiresCompatibilities", []))


# ---------------------------------------------------------------------------
# Container instances and tasks (boto3)


@unittest.skipUnless(HAVE_BOTO3, "boto3 is not installed for this Python")
class EcsTasksTest(EcsAssertions, AnnexTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ecs = ecs_client(cls.daemon)
        cls.cluster = unique("tasks-")
        cls.cluster_arn = cls.ecs.create_cluster(clusterName=cls.cluster)["cluster"]["clusterArn"]
        cls.account = cls.cluster_arn.split(":")[4]
        cls.ec2_family = unique("ec2fam-")
        cls.ec2_arn = cls.ecs.register_task_definition(**ec2_definition(cls.ec2_family))["taskDefinition"][
            "taskDefinitionArn"]
        cls.fargate_family = unique("fgfam-")
        cls.ecs.register_task_definition(**fargate_definition(cls.fargate_family))

    def run_refused(self, want_code, want_message=None, **kw):
        kw.setdefault("cluster", self.cluster)
        return self.assertRefused(self.ecs.run_task, want_code, want_message, **kw)

    def test_container_instances(self):
        other = unique("inst-")
        self.ecs.create_cluster(clusterName=other)
        seen = {}
        for cluster in (self.cluster, other):
            arns = self.ecs.list_container_instances(cluster=cluster)["containerInstanceArns"]
            self.assertEqual(len(arns), 1, arns)
            self.assertRegex(arns[0], rf"^arn:aws:ecs:{REGION}:{self.account}:container-instance/{cluster}/[^/]+$")
            seen[cluster] = arns[0]
            got = self.ecs.describe_container_instances(cluster=cluster, containerInstances=arns)
            self.assertEqual(got["failures"], [])
            instance = got["containerInstances"][0]
            self.assertEqual(instance["containerInstanceArn"], arns[0])
            self.assertEqual(instance["status"], "ACTIVE")
            self.assertTrue(instance["agentConnected"])
            registered = {r["name"]: r for r in instance["registeredResources"]}
            remaining = {r["name"]: r for r in instance["remainingResources"]}
            for resource in ("CPU", "MEMORY"):
                self.assertGreater(registered[resource]["integerValue"], 0, resource)
                self.assertGreaterEqual(remaining[resource]["integerValue"], 0, resource)
                self.assertLessEqual(remaining[resource]["integerValue"], registered[resource]["integerValue"],
                                     resource)
            # The short id names it too.
            by_id = self.ecs.describe_container_instances(cluster=cluster,
                                                          containerInstances=[arns[0].rsplit("/", 1)[1]])
            self.assertEqual([i["containerInstanceArn"] for i in by_id["containerInstances"]], arns)
        self.assertNotEqual(seen[self.cluster], seen[other])
        missing = self.ecs.describe_container_instances(cluster=self.cluster, containerInstances=["nope"])
        self.assertEqual(missing["containerInstances"], [])
        self.assertEqual([f["reason"] for f in missing["failures"]], ["MISSING"])
        self.assertRefused(self.ecs.list_container_instances, "ClusterNotFoundException", cluster=unique("none-"))
        self.ecs.delete_cluster(cluster=other)
        self.assertRefused(self.ecs.list_container_instances, "ClusterNotFoundException", cluster=other)

    def test_tags_on_clusters_task_definitions_and_tasks(self):
        cluster = unique("tagged-")
        created = self.ecs.create_cluster(clusterName=cluster, tags=[{"key": "team", "value": "a"}])
        arn = created["cluster"]["clusterArn"]
        self.ecs.tag_resource(resourceArn=arn, tags=[{"key": "env", "value": "prod"}, {"key": "team", "value": "b"}])
        tags = self.ecs.list_tags_for_resource(resourceArn=arn)["tags"]
        self.assertEqual(sorted((t["key"], t["value"]) for t in tags), [("env", "prod"), ("team", "b")])
        self.ecs.untag_resource(resourceArn=arn, tagKeys=["team"])
        self.assertEqual(self.ecs.list_tags_for_resource(resourceArn=arn)["tags"], [{"key": "env", "value": "prod"}])
        described = self.ecs.describe_clusters(clusters=[cluster], include=["TAGS"])["clusters"][0]
        self.assertEqual(described["tags"], [{"key": "env", "value": "prod"}])
        registered = self.ecs.register_task_definition(**ec2_definition(unique("tagfam-")))
        td = registered["taskDefinition"]["taskDefinitionArn"]
        self.ecs.tag_resource(resourceArn=td, tags=[{"key": "k", "value": "v"}])
        self.assertEqual(self.ecs.list_tags_for_resource(resourceArn=td)["tags"], [{"key": "k", "value": "v"}])
        with self.assertRaises(ClientError) as ctx:
            self.ecs.tag_resource(resourceArn=td.rsplit(":", 1)[0] + ":999", tags=[{"key": "k", "value": "v"}])
        self.assertEqual(ctx.exception.response["Error"]["Code"], "ResourceNotFoundException")
        with self.assertRaises(ClientError) as ctx:
            self.ecs.tag_resource(resourceArn=arn, tags=[{"key": f"k{i}", "value": "v"} for i in range(50)])
        self.assertEqual(ctx.exception.response["Error"]["Code"], "InvalidParameterException")
        self.ecs.delete_cluster(cluster=cluster)
        with self.assertRaises(ClientError) as ctx:
            self.ecs.list_tags_for_resource(resourceArn=arn)
        self.assertEqual(ctx.exception.response["Error"]["Code"], "ResourceNotFoundException")

    def test_appliance_ports_are_never_published(self):
        # A task publishing annexd's own port would take over the API: placement refuses it, as ECS refuses ports
        # its agent holds.
        port = int(self.daemon.endpoint.rsplit(":", 1)[1])
        family = unique("takeover-")
        d = ec2_definition(family)
        d["containerDefinitions"][0]["portMappings"] = [{"containerPort": 80, "hostPort": port}]
        self.ecs.register_task_definition(**d)
        for host_port in (port, 22):
            d["containerDefinitions"][0]["portMappings"] = [{"containerPort": 80, "hostPort": host_port}]
            self.ecs.register_task_definition(**d)
            started = self.ecs.run_task(cluster=self.cluster, taskDefinition=family)
            reasons = [f["reason"] for f in started["failures"]]
            if reasons == ["AGENT"]:
                self.skipTest("this annexd cannot run tasks: " + started["failures"][0].get("detail", ""))
            self.assertEqual((started["tasks"], reasons), ([], ["RESOURCE:PORTS"]), host_port)

    def test_run_task_refusals(self):
        self.run_refused("ClusterNotFoundException", cluster=unique("nocluster-"), taskDefinition=self.ec2_arn)
        self.run_refused("ClusterNotFoundException", taskDefinition=self.ec2_arn,
                         cluster=f"arn:aws:ecs:{REGION}:{self.account}:cluster/{unique('nocluster-')}")
        self.run_refused("InvalidParameterException", "Network Configuration must be provided",
                         taskDefinition=self.fargate_family)
        self.run_refused("InvalidParameterException", "Network Configuration must be provided",
                         taskDefinition=self.fargate_family, launchType="FARGATE")
        self.run_refused("InvalidParameterException", "Network Configuration is not valid",
                         taskDefinition=self.ec2_family, networkConfiguration=SUBNETS)
        self.run_refused("InvalidParameterException", "does not support launch_type FARGATE",
                         taskDefinition=self.ec2_family, launchType="FARGATE")
        self.run_refused("PlatformUnknownException", taskDefinition=self.fargate_family, launchType="FARGATE",
                         platformVersion="1.3.0", networkConfiguration=SUBNETS)
        self.run_refused("InvalidParameterException", "Platform version is only supported",
                         taskDefinition=self.ec2_family, launchType="EC2", platformVersion="1.4.0")
        for count in (0, 11):
            self.run_refused("InvalidParameterException", "between 1 and 10", taskDefinition=self.ec2_family,
                             count=count)
        self.run_refused("InvalidParameterException", "is not a container in the TaskDefinition",
                         taskDefinition=self.ec2_family,
                         overrides={"containerOverrides": [{"name": "sidecar", "command": ["true"]}]})
        self.run_refused("ClientException", taskDefinition=unique("nosuchfam-"))
        inactive = unique("inactive-")
        self.ecs.register_task_definition(**ec2_definition(inactive))
        self.ecs.deregister_task_definition(taskDefinition=inactive + ":1")
        self.run_refused("ClientException", "inactive", taskDefinition=inactive + ":1")
        # None of them left a task behind.
        for status in ("RUNNING", "STOPPED"):
            self.assertEqual(self.ecs.list_tasks(cluster=self.cluster, desiredStatus=status)["taskArns"], [])

    def test_tasks_that_do_not_exist(self):
        task_id = os.urandom(16).hex()
        got = self.ecs.describe_tasks(cluster=self.cluster, tasks=[task_id])
        self.assertEqual(got["tasks"], [])
        self.assertEqual(got["failures"], [{"arn": f"arn:aws:ecs:{REGION}:{self.account}:task/{self.cluster}/{task_id}",
                                            "reason": "MISSING"}])
        self.assertRefused(self.ecs.stop_task, "InvalidParameterException", "not found", cluster=self.cluster,
                           task=task_id)
        self.assertRefused(self.ecs.describe_tasks, "ClusterNotFoundException", cluster=unique("none-"),
                           tasks=[task_id])
        self.assertRefused(self.ecs.list_tasks, "ClusterNotFoundException", cluster=unique("none-"))
        self.assertRefused(self.ecs.list_tasks, "InvalidParameterException", cluster=self.cluster,
                           family=self.ec2_family, startedBy="me")

    def test_run_and_stop_a_task(self):
        cluster = unique("run-")
        self.ecs.create_cluster(clusterName=cluster)
        started = self.ecs.run_task(cluster=cluster, taskDefinition=self.ec2_family, launchType="EC2",
                                    startedBy="it-test")
        if [f["reason"] for f in started["failures"]] == ["AGENT"]:
            # annexd without root has no task runtime: ECS's answer for a disconnected instance.
            self.skipTest("this annexd cannot run tasks: " + started["failures"][0].get("detail", ""))
        self.assertEqual(started["failures"], [])
        task = started["tasks"][0]
        task_arn = task["taskArn"]
        self.assertRegex(task_arn, rf"^arn:aws:ecs:{REGION}:{self.account}:task/{cluster}/[0-9a-f]{{32}}$")
        self.assertIn(task["lastStatus"], TASK_STATUSES)
        self.assertEqual(task["desiredStatus"], "RUNNING")
        self.assertEqual(task["taskDefinitionArn"], self.ec2_arn)
        self.assertEqual(task["launchType"], "EC2")
        self.assertEqual([c["name"] for c in task["containers"]], ["web"])
        self.assertIn(task_arn, self.ecs.list_tasks(cluster=cluster)["taskArns"])
        self.assertIn(task_arn, self.ecs.list_tasks(cluster=cluster, startedBy="it-test")["taskArns"])
        described = self.ecs.describe_tasks(cluster=cluster, tasks=[task_arn])["tasks"][0]
        self.assertIn(described["lastStatus"], TASK_STATUSES)

        # Refused while the task is not STOPPED (unless the runtime already stopped it: busybox may not be there).
        if described["lastStatus"] != "STOPPED":
            try:
                self.ecs.delete_cluster(cluster=cluster)
            except ClientError as e:
                self.assertEqual(e.response["Error"]["Code"], "ClusterContainsTasksException", e.response)
            else:
                self.fail("DeleteCluster succeeded with a task that was not STOPPED a moment before "
                          f"(the runtime may have stopped it in between): {described['lastStatus']}")

        stopped = self.ecs.stop_task(cluster=cluster, task=task_arn, reason="done testing")["task"]
        self.assertEqual(stopped["taskArn"], task_arn)
        self.assertEqual(stopped["desiredStatus"], "STOPPED")
        # The image is not in this appliance's registry: the runtime may have failed the task first.
        if stopped["stopCode"] == "TaskFailedToStart":
            self.assertIn("CannotPullContainerError", stopped["stoppedReason"])
        else:
            self.assertEqual(stopped["stopCode"], "UserInitiated")
            self.assertEqual(stopped["stoppedReason"], "done testing")
        self.assertEqual(self.ecs.list_tasks(cluster=cluster)["taskArns"], [])
        self.assertIn(task_arn, self.ecs.list_tasks(cluster=cluster, desiredStatus="STOPPED")["taskArns"])

        deadline = time.monotonic() + 60
        status = None
        while time.monotonic() < deadline:
            status = self.ecs.describe_tasks(cluster=cluster, tasks=[task_arn])["tasks"][0]["lastStatus"]
            if status == "STOPPED":
                break
            time.sleep(0.5)
        self.assertEqual(status, "STOPPED", "the stopped task did not reach STOPPED within 60 s")
        self.assertEqual(self.ecs.delete_cluster(cluster=cluster)["cluster"]["status"], "INACTIVE")


# ---------------------------------------------------------------------------
# Another account, an unprivileged user


@unittest.skipUnless(HAVE_BOTO3, "boto3 is not installed for this Python")
class EcsIsolationTest(EcsAssertions, AnnexTestCase):
    def test_another_account_sees_nothing(self):
        ours = ecs_client(self.daemon)
        cluster = unique("mine-")
        cluster_arn = ours.create_cluster(clusterName=cluster)["cluster"]["clusterArn"]
        family = unique("minefam-")
        def_arn = ours.register_task_definition(**ec2_definition(family))["taskDefinition"]["taskDefinitionArn"]

        other = self.daemon.create_account(unique("acct-"))
        theirs = ecs_client(self.daemon, other["AccessKeyId"], other["SecretAccessKey"])
        self.assertEqual(theirs.list_clusters()["clusterArns"], [])
        for ref in (cluster, cluster_arn):
            got = theirs.describe_clusters(clusters=[ref])
            self.assertEqual(got["clusters"], [], ref)
            self.assertEqual([f["reason"] for f in got["failures"]], ["MISSING"], ref)
        self.assertRefused(theirs.describe_task_definition, "ClientException", taskDefinition=def_arn)
        self.assertRefused(theirs.describe_task_definition, "ClientException", taskDefinition=family)
        self.assertRefused(theirs.deregister_task_definition, "ClientException", taskDefinition=def_arn)
        self.assertEqual(theirs.list_task_definitions()["taskDefinitionArns"], [])
        for status in ("ACTIVE", "INACTIVE", "ALL"):
            self.assertEqual(theirs.list_task_definition_families(status=status)["families"], [], status)
        self.assertRefused(theirs.delete_cluster, "ClusterNotFoundException", cluster=cluster_arn)
        self.assertRefused(theirs.list_tasks, "ClusterNotFoundException", cluster=cluster_arn)
        self.assertRefused(theirs.list_container_instances, "ClusterNotFoundException", cluster=cluster_arn)
        self.assertRefused(theirs.run_task, "ClusterNotFoundException", cluster=cluster_arn, taskDefinition=def_arn)
        # Our resources' tags are neither readable nor writable from there.
        for arn in (cluster_arn, def_arn):
            self.assertRefused(theirs.list_tags_for_resource, "ResourceNotFoundException", resourceArn=arn)
            self.assertRefused(theirs.tag_resource, "ResourceNotFoundException", resourceArn=arn,
                               tags=[{"key": "owned", "value": "by them"}])
        self.assertEqual(ours.list_tags_for_resource(resourceArn=cluster_arn)["tags"], [])
        # Their own cluster of the same name is theirs, and our definition still not.
        their_arn = theirs.create_cluster(clusterName=cluster)["cluster"]["clusterArn"]
        self.assertNotEqual(their_arn, cluster_arn)
        self.assertEqual(their_arn.split(":")[4], other["AccountId"])
        self.assertRefused(theirs.run_task, "ClientException", cluster=cluster, taskDefinition=def_arn)
        # Nothing of ours changed.
        self.assertEqual(ours.describe_clusters(clusters=[cluster])["clusters"][0]["status"], "ACTIVE")
        self.assertEqual(ours.describe_task_definition(taskDefinition=def_arn)["taskDefinition"]["status"], "ACTIVE")

    def user(self, policy=None):
        iam = iam_client(self.daemon)
        name = unique("ecsuser-")
        iam.create_user(UserName=name)
        if policy:
            iam.put_user_policy(UserName=name, PolicyName="ecs", PolicyDocument=json.dumps(
                {"Version": "2012-10-17", "Statement": policy}))
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return ecs_client(self.daemon, key["AccessKeyId"], key["SecretAccessKey"])

    def denied(self, call, **kw):
        try:
            call(**kw)
        except ClientError as e:
            return e.response["Error"]["Code"] == "AccessDeniedException"
        return False

    def test_user_without_ecs_permissions(self):
        ours = ecs_client(self.daemon)
        cluster_arn = ours.create_cluster(clusterName=unique("guarded-"))["cluster"]["clusterArn"]
        nobody = self.user()
        wait_for("the new user's key", lambda: self.denied(nobody.list_clusters), timeout=10)
        self.assertRefused(nobody.create_cluster, "AccessDeniedException", clusterName=unique("x-"))
        self.assertRefused(nobody.describe_clusters, "AccessDeniedException", clusters=[cluster_arn])
        family = unique("f-")
        self.assertRefused(nobody.register_task_definition, "AccessDeniedException", **ec2_definition(family))
        self.assertRefused(nobody.list_tasks, "AccessDeniedException", cluster=cluster_arn)
        self.assertEqual(ours.list_task_definitions(familyPrefix=family)["taskDefinitionArns"], [])

    def test_user_allowed_one_cluster(self):
        ours = ecs_client(self.daemon)
        allowed = ours.create_cluster(clusterName=unique("allowed-"))["cluster"]["clusterArn"]
        other = ours.create_cluster(clusterName=unique("other-"))["cluster"]["clusterArn"]
        user = self.user([{"Effect": "Allow", "Action": "ecs:ListClusters", "Resource": "*"},
                          {"Effect": "Allow", "Action": "ecs:ListTasks", "Resource": allowed}])
        wait_for("the new user's key", lambda: user.list_clusters(), timeout=10)
        self.assertIn(allowed, user.list_clusters()["clusterArns"])
        self.assertEqual(user.list_tasks(cluster=allowed)["taskArns"], [])
        self.assertRefused(user.list_tasks, "AccessDeniedException", cluster=other)
        self.assertRefused(user.delete_cluster, "AccessDeniedException", cluster=allowed)
        self.assertEqual(ours.describe_clusters(clusters=[allowed])["clusters"][0]["status"], "ACTIVE")


# ---------------------------------------------------------------------------
# Hostile input


def raw_ecs(daemon, operation, body, creds=None):
    headers = {"X-Amz-Target": TARGET + operation, "Content-Type": "application/x-amz-json-1.1"}
    status, _, data = daemon.signed("POST", "/", headers=headers, body=body, service="ecs", creds=creds)
    try:
        parsed = json.loads(data) if data else {}
    except ValueError:
        parsed = {"unparsed": data}
    return status, parsed


class EcsHostileInputTest(AnnexTestCase):
    def expect(self, operation, body, want_code, want_message=None, creds=None):
        status, parsed = raw_ecs(self.daemon, operation, body, creds)
        self.assertEqual(status, 400, (operation, body[:200], parsed))
        self.assertTrue(parsed.get("__type", "").endswith(want_code), (operation, body[:200], parsed))
        if want_message is not None:
            got = parsed.get("message", parsed.get("Message", ""))
            self.assertIn(want_message, got, (operation, parsed))
        return parsed

    def ok(self, operation, body, creds=None):
        status, parsed = raw_ecs(self.daemon, operation, body, creds)
        self.assertEqual(status, 200, (operation, body, parsed))
        return parsed

    def test_bodies(self):
        self.expect("CreateCluster", b"{", "SerializationException")
        self.expect("CreateCluster", b"not json at all", "SerializationException")
        self.expect("CreateCluster", b"[1,2]", "SerializationException")
        self.expect("CreateCluster", b'"a string"', "SerializationException")
        self.expect("CreateCluster", b'{"clusterName": 5}', "SerializationException")
        self.expect("CreateCluster", b'{"clusterName": ["a"]}', "SerializationException")
        self.expect("CreateCluster", b'{"clusterName": "ok", "tags": "x"}', "SerializationException")
        self.expect("CreateCluster", json.dumps({"clusterName": "a" * 256}).encode(), "InvalidParameterException")
        self.expect("CreateCluster", b'{"clusterName": "has space"}', "InvalidParameterException")
        self.expect("DescribeClusters", b'{"clusters": "default"}', "SerializationException")
        self.expect("ListClusters", b'{"maxResults": "5"}', "SerializationException")
        self.expect("ListClusters", b'{"maxResults": 0}', "InvalidParameterException")
        self.expect("ListClusters", b'{"maxResults": 101}', "InvalidParameterException")
        self.expect("ListClusters", b'{"maxResults": 99999999999999999999999}', "SerializationException")
        self.expect("RegisterTaskDefinition", b'{"family": "f", "containerDefinitions": "x"}',
                    "SerializationException")
        self.expect("RegisterTaskDefinition",
                    b'{"family": "f", "containerDefinitions": [{"name": "c", "image": "i", "memory": "64"}]}',
                    "SerializationException")
        self.expect("RegisterTaskDefinition",
                    b'{"family": "f", "containerDefinitions": [{"name": "c", "image": "i", "memory": 1e400}]}',
                    "SerializationException")
        self.expect("RunTask", b'{"taskDefinition": "f", "count": "2"}', "SerializationException")
        self.expect("DescribeTasks", b'{"tasks": [1]}', "SerializationException")
        self.expect("NoSuchOperation", b"{}", "UnknownOperationException")
        self.expect("createcluster", b"{}", "UnknownOperationException")
        self.ok("ListClusters", b"{}")

    def test_oversized_task_definition(self):
        big = {"family": unique("big-"), "containerDefinitions": [{
            "name": "c", "image": "busybox:latest", "memory": 64,
            "environment": [{"name": f"V{i}", "value": "x" * 1000} for i in range(70)]}]}
        body = json.dumps(big).encode()
        self.assertGreater(len(body), 70 * 1024)
        self.expect("RegisterTaskDefinition", body, "ClientException")
        parsed = self.ok("ListTaskDefinitions", json.dumps({"familyPrefix": big["family"]}).encode())
        self.assertEqual(parsed["taskDefinitionArns"], [])
        # Just under the limit is fine.
        big["containerDefinitions"][0]["environment"] = big["containerDefinitions"][0]["environment"][:60]
        self.ok("RegisterTaskDefinition", json.dumps(big).encode())

    def test_next_tokens(self):
        for i in range(3):
            self.ok("CreateCluster", json.dumps({"clusterName": f"tok{i}"}).encode())
        first = self.ok("ListClusters", b'{"maxResults": 1}')
        token = first["nextToken"]
        self.assertEqual(len(first["clusterArns"]), 1)
        second = self.ok("ListClusters", json.dumps({"maxResults": 1, "nextToken": token}).encode())
        self.assertNotEqual(second["clusterArns"], first["clusterArns"])
        other = self.daemon.create_account(unique("tok-"))
        creds = (other["AccessKeyId"], other["SecretAccessKey"])
        for op in ("ListClusters", "ListTaskDefinitions", "ListTaskDefinitionFamilies"):
            self.expect(op, json.dumps({"nextToken": token}).encode(), "InvalidParameterException", creds=creds)
            for garbage in ("garbage", "!!!", "ZWNzMTo=", "x" * 5000):
                self.expect(op, json.dumps({"nextToken": garbage}).encode(), "InvalidParameterException")
        self.expect("ListTasks", json.dumps({"cluster": "tok0", "nextToken": "garbage"}).encode(),
                    "InvalidParameterException")

    @classmethod
    def tearDownClass(cls):
        # Still healthy after all of it.
        status, _, _ = harness.http_request("GET", cls.daemon.endpoint + "/_annex/health")
        alive = cls.daemon.proc.poll() is None
        super().tearDownClass()
        assert alive and status == 200, f"annexd unhealthy after hostile input: health {status}, alive {alive}"

    def test_still_serving(self):
        # Runs last by name order in this class: after every hostile body, ordinary requests still work.
        self.ok("CreateCluster", b'{"clusterName": "after"}')
        self.assertTrue(any(a.endswith("/after") for a in self.ok("ListClusters", b"{}")["clusterArns"]))


if __name__ == "__main__":
    harness.main()
