#!/usr/bin/env python3
"""Checks that botocore's own Query parser reads rds_xml.cc's XML back into the stored document.

Not wired into ctest (it needs botocore); run it by hand after changing rds_xml.cc or
regenerating rds_shapes.inc:

  mkdir -p /tmp/rds-xml
  python3 tests/unit/services/database/rds_xml_roundtrip.py /tmp/rds-xml \
      --binary build-ut/tests/database_model_test

With --binary it first writes generated.json (a DBInstance, a DBSnapshot and a
DBEngineVersion with every member of every reachable shape filled in, plus the private
"_annex" member and one the model does not have) and runs the test binary with
ANNEX_RDS_XML_DUMP_DIR set, which renders those as Describe responses and also writes the
test's own full instance (instance.json, describe_db_instances.xml). Without --binary it
checks whatever the last run of the binary left in the directory.

Each response is parsed with botocore.parsers.QueryParser against the operation's output
shape and compared with the document as the model types it: "_annex", unknown members and
nulls dropped, timestamps parsed, everything else equal. botocore reads a list's items
whatever their element names, so the XML is also walked against the model: every element
a member of its structure, in the model's order, and every list item named by the list
shape's member locationName (<Tag>, <VpcSecurityGroupMembership>, ...) or "member", as the
SDKs that do look at the names (Java, Go) expect.
"""

import argparse
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ElementTree

import botocore
import botocore.parsers
import botocore.session
from botocore.utils import parse_timestamp

CHECKS = [
    # (document file, xml file, operation, result member)
    ("instance.json", "describe_db_instances.xml", "DescribeDBInstances", "DBInstances"),
]
GENERATED = [
    ("DBInstance", "DescribeDBInstances", "DBInstances"),
    ("DBSnapshot", "DescribeDBSnapshots", "DBSnapshots"),
    ("DBEngineVersion", "DescribeDBEngineVersions", "DBEngineVersions"),
]
TIMESTAMP = "2026-12-07T14:00:00.000Z"


def sample(shape, name, depth=0):
    """A value for every member of `shape`, two items per list."""
    kind = shape.type_name
    if kind == "structure":
        if depth > 6:
            return {}
        return {m: sample(s, m, depth + 1) for m, s in shape.members.items()}
    if kind == "list":
        return [sample(shape.member, name, depth + 1) for _ in range(2)]
    if kind == "string":
        return shape.enum[0] if shape.enum else f"{name}-value <&> é"
    if kind in ("integer", "long"):
        return 7
    if kind in ("double", "float"):
        return 0.5
    if kind == "boolean":
        return True
    if kind == "timestamp":
        return TIMESTAMP
    raise ValueError(f"unexpected shape type {kind} for {name}")


def expected(value, shape):
    """The document as botocore types it after parsing."""
    kind = shape.type_name
    if kind == "structure":
        return {m: expected(value[m], s) for m, s in shape.members.items() if m in value and value[m] is not None}
    if kind == "list":
        return [expected(v, shape.member) for v in value]
    if kind == "timestamp":
        return parse_timestamp(value)
    return value


def diff(want, got, path=""):
    """Human-readable differences between two parsed values."""
    if isinstance(want, dict) and isinstance(got, dict):
        out = []
        for k in sorted(set(want) | set(got)):
            if k not in got:
                out.append(f"{path}.{k}: missing from the parsed XML")
            elif k not in want:
                out.append(f"{path}.{k}: unexpected {got[k]!r}")
            else:
                out.extend(diff(want[k], got[k], f"{path}.{k}"))
        return out
    if isinstance(want, list) and isinstance(got, list) and len(want) == len(got):
        return [d for i, (w, g) in enumerate(zip(want, got)) for d in diff(w, g, f"{path}[{i}]")]
    return [] if want == got and type(want) is type(got) else [f"{path}: want {want!r}, got {got!r}"]


def local(tag):
    return tag.rsplit("}", 1)[-1]


def element_problems(node, shape, path):
    """Where the XML under `node` departs from `shape`'s element names and member order."""
    out = []
    if shape.type_name == "structure":
        order = list(shape.members)
        last = -1
        for child in node:
            name = local(child.tag)
            if name not in shape.members:
                out.append(f"{path}/{name}: not a member of {shape.name}")
                continue
            if order.index(name) <= last:
                out.append(f"{path}/{name}: out of the model's order")
            last = order.index(name)
            out.extend(element_problems(child, shape.members[name], f"{path}/{name}"))
    elif shape.type_name == "list":
        item = shape.member.serialization.get("name", "member")
        for i, child in enumerate(node):
            if local(child.tag) != item:
                out.append(f"{path}[{i}]: element <{local(child.tag)}>, the model says <{item}>")
            out.extend(element_problems(child, shape.member, f"{path}/{item}"))
    elif len(node):
        out.append(f"{path}: a scalar with child elements")
    return out


def check(model, directory, doc, xml_file, operation, member):
    op = model.operation_model(operation)
    with open(os.path.join(directory, xml_file), "rb") as f:
        body = f.read()
    parsed = botocore.parsers.create_parser("query").parse(
        {"body": body, "headers": {}, "status_code": 200}, op.output_shape)
    parsed.pop("ResponseMetadata", None)
    list_shape = op.output_shape.members[member]
    want = {member: expected([doc], list_shape)}
    problems = diff(want, parsed)
    root = ElementTree.fromstring(body)
    result = next(c for c in root if local(c.tag) == operation + "Result")
    wrapper = next(c for c in result if local(c.tag) == member)
    problems += element_problems(wrapper, list_shape, member)
    counted = sum(1 for _ in walk(want))
    print(f"{xml_file}: {operation} -> {counted} values, {'OK' if not problems else 'MISMATCH'}")
    for p in problems:
        print("   ", p)
    return not problems


def walk(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from walk(v)
    elif isinstance(value, list):
        for v in value:
            yield from walk(v)
    else:
        yield value


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("directory")
    ap.add_argument("--binary", help="database_model_test, to render the generated documents")
    args = ap.parse_args()
    model = botocore.session.get_session().get_service_model("rds")
    print(f"botocore {botocore.__version__}")

    generated = {}
    if args.binary:
        for shape_name, _, _ in GENERATED:
            doc = sample(model.shape_for(shape_name), shape_name)
            doc["_annex"] = {"private": "never rendered"}
            doc["NotAnRdsMember"] = "dropped"
            generated[shape_name] = doc
        with open(os.path.join(args.directory, "generated.json"), "w") as f:
            json.dump(generated, f, indent=2)
        env = dict(os.environ, ANNEX_RDS_XML_DUMP_DIR=args.directory)
        subprocess.run([args.binary, "--gtest_filter=RdsXmlTest.*"], env=env, check=True,
                       stdout=subprocess.DEVNULL)

    ok = True
    for doc_file, xml_file, operation, member in CHECKS:
        with open(os.path.join(args.directory, doc_file)) as f:
            doc = json.load(f)
        ok &= check(model, args.directory, doc, xml_file, operation, member)
    for shape_name, operation, member in GENERATED:
        if shape_name in generated:
            ok &= check(model, args.directory, generated[shape_name], f"generated_{shape_name}.xml", operation,
                        member)
    print("round trip", "OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
