#!/usr/bin/python3
"""Hostile clients against the S3 feature endpoints: versioning, tagging, lifecycle, encryption, Object Lock,
website, CORS, ACLs, ownership, public access blocks, bucket policies and POST forms.

Each request here is one a broken or malicious client sends: a truncated or deeply nested document, entity
bombs and external entities, invalid UTF-8 and NUL bytes, numbers that overflow, bodies far larger than any
configuration, garbage version ids and listing markers, SSE-C headers of the wrong shape, malformed form
uploads, and bodies cut off halfway. Every one must get an S3 error in XML (4xx, never 5xx), change nothing
that was configured or stored, and leave annexd serving. Also run against the ASan+UBSan annexd.
"""

import base64
import os
import random
import re
import socket
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (AnnexTestCase, error_code, http_request, md5_b64, random_bucket, raw_request,  # noqa: E402
                     sign_headers)


def nested(open_tag, close_tag, depth):
    return open_tag * depth + close_tag * depth


BILLION_LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                  + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
                             for i in range(1, 10))
                  + b']><Tagging><TagSet><Tag><Key>k</Key><Value>&lol9;</Value></Tag></TagSet></Tagging>')
EXTERNAL_ENTITY = (b'<?xml version="1.0"?><!DOCTYPE t [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                   b'<Tagging><TagSet><Tag><Key>k</Key><Value>&x;</Value></Tag></TagSet></Tagging>')

# Bodies every XML configuration must refuse.
HOSTILE_XML = {
    "empty": b"",
    "a lone <": b"<",
    "a prolog only": b'<?xml version="1.0" encoding="UTF-8"?>',
    "unclosed": b"<Tagging><TagSet><Tag><Key>k</Key>",
    "nested 100,000 deep": nested(b"<a>", b"</a>", 100_000),
    "entity bomb": BILLION_LAUGHS,
    "NUL bytes": b"<Tagging>\x00\x00<TagSet/></Tagging>\x00",
    "invalid UTF-8 names": b"<\xff\xfe><\xc3></\xc3></\xff\xfe>",
    "8 MiB of elements": b"<Tagging><TagSet>" + b"<Tag><Key>k</Key><Value>v</Value></Tag>" * 200_000
                         + b"</TagSet></Tagging>",
    "another document's root": b"<Delete><Object><Key>keep</Key></Object></Delete>",
}

# Documents shaped like the right one with values no parser may trust, or with an element S3's schema does not
# have (ignoring it would change what the configuration means: a misspelt lifecycle filter selects every object).
SHAPED = {
    "versioning": [b"<VersioningConfiguration><Status>Enabled\x00</Status></VersioningConfiguration>",
                   b"<VersioningConfiguration><Status>" + b"E" * 100_000 + b"</Status></VersioningConfiguration>",
                   b"<VersioningConfiguration><MfaDelete>Enabled</MfaDelete><Status>Enabled</Status>"
                   b"</VersioningConfiguration>"],
    "tagging": [b"<Tagging><TagSet><Tag><Key></Key><Value>v</Value></Tag></TagSet></Tagging>",
                b"<Tagging><TagSet><Tag><Key>" + b"k" * 200 + b"</Key><Value>v</Value></Tag></TagSet></Tagging>",
                b"<Tagging><TagSet>" + b"".join(b"<Tag><Key>k%d</Key><Value>v</Value></Tag>" % i
                                                 for i in range(60)) + b"</TagSet></Tagging>",
                b"<Tagging><TagSet><Tag><Key>k</Key><Value>a</Value></Tag><Tag><Key>k</Key><Value>b</Value></Tag>"
                b"</TagSet></Tagging>",
                b"<Tagging><TagSet><Tag><Key>k</Key><Value>a</Value><Valu>b</Valu></Tag></TagSet></Tagging>"],
    "lifecycle": [b"<LifecycleConfiguration><Rule><ID>r</ID><Filter><Prefix></Prefix></Filter><Status>Enabled"
                  b"</Status><Expiration><Days>99999999999999999999999</Days></Expiration></Rule>"
                  b"</LifecycleConfiguration>",
                  b"<LifecycleConfiguration><Rule><ID>r</ID><Filter><Prefix></Prefix></Filter><Status>Enabled"
                  b"</Status><Expiration><Days>-1</Days></Expiration></Rule></LifecycleConfiguration>",
                  b"<LifecycleConfiguration><Rule><ID>r</ID><Filter><And><And><Prefix>a</Prefix></And></And>"
                  b"</Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>"
                  b"</LifecycleConfiguration>",
                  b"<LifecycleConfiguration>" + b"<Rule><Filter/><Status>Enabled</Status><Expiration><Days>1</Days>"
                  b"</Expiration></Rule>" * 1_001 + b"</LifecycleConfiguration>",
                  b"<LifecycleConfiguration><Rule><ID>r</ID><Filter/><Status>Enabled</Status><Expiration><Date>"
                  b"2026-13-45T99:99:99Z</Date></Expiration></Rule></LifecycleConfiguration>",
                  b"<LifecycleConfiguration><Rule><ID>r</ID><Filter><Prefx>logs/</Prefx></Filter><Status>Enabled"
                  b"</Status><Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>"],
    "object-lock": [b"<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule>"
                    b"<DefaultRetention><Mode>COMPLIANCE</Mode><Days>18446744073709551617</Days></DefaultRetention>"
                    b"</Rule></ObjectLockConfiguration>",
                    b"<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule>"
                    b"<DefaultRetention><Mode>GOVERNANCE</Mode><Days>1</Days><Years>1</Years></DefaultRetention>"
                    b"</Rule></ObjectLockConfiguration>",
                    b"<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule>"
                    b"<DefaultRetention><Mode>FOREVER</Mode><Days>1</Days></DefaultRetention>"
                    b"</Rule></ObjectLockConfiguration>",
                    b"<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule>"
                    b"<DefaultRetention><Mode>GOVERNANCE</Mode><Days>1</Days><Hours>1</Hours></DefaultRetention>"
                    b"</Rule></ObjectLockConfiguration>"],
    "encryption": [b"<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>"
                   b"ROT13</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule>"
                   b"</ServerSideEncryptionConfiguration>",
                   b"<ServerSideEncryptionConfiguration></ServerSideEncryptionConfiguration>",
                   b"<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>"
                   b"AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault><BucketKeyEnabled>maybe"
                   b"</BucketKeyEnabled></Rule></ServerSideEncryptionConfiguration>",
                   b"<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>"
                   b"AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault><BlockedEncryptionTypes>"
                   b"<EncryptionType>SSE-C</EncryptionType></BlockedEncryptionTypes></Rule>"
                   b"</ServerSideEncryptionConfiguration>"],
    "website": [b"<WebsiteConfiguration><IndexDocument><Suffix></Suffix></IndexDocument></WebsiteConfiguration>",
                b"<WebsiteConfiguration><IndexDocument><Suffix>a/b</Suffix></IndexDocument></WebsiteConfiguration>",
                b"<WebsiteConfiguration><RoutingRules>" + b"<RoutingRule><Redirect><HostName>h</HostName>"
                b"</Redirect></RoutingRule>" * 100_000 + b"</RoutingRules></WebsiteConfiguration>",
                b"<WebsiteConfiguration><IndexDocument><Suffix>i.html</Suffix></IndexDocument><RoutingRules>"
                b"<RoutingRule><Conditon><KeyPrefixEquals>docs/</KeyPrefixEquals></Conditon><Redirect>"
                b"<HostName>elsewhere.example</HostName></Redirect></RoutingRule></RoutingRules>"
                b"</WebsiteConfiguration>"],
    "cors": [b"<CORSConfiguration><CORSRule><AllowedMethod>SMUGGLE</AllowedMethod><AllowedOrigin>*</AllowedOrigin>"
             b"</CORSRule></CORSConfiguration>",
             b"<CORSConfiguration><CORSRule><AllowedMethod>GET</AllowedMethod><AllowedOrigin>*.*.*</AllowedOrigin>"
             b"</CORSRule></CORSConfiguration>",
             b"<CORSConfiguration>" + b"<CORSRule><AllowedMethod>GET</AllowedMethod><AllowedOrigin>*</AllowedOrigin>"
             b"</CORSRule>" * 101 + b"</CORSConfiguration>",
             b"<CORSConfiguration><CORSRule><AllowedMethod>GET</AllowedMethod><AllowedOrigin>*</AllowedOrigin>"
             b"<AllowedHeaderz>*</AllowedHeaderz></CORSRule></CORSConfiguration>"],
    "acl": [b"<AccessControlPolicy><Owner><ID>someone-else</ID></Owner><AccessControlList><Grant><Grantee "
            b'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser"><ID>x</ID></Grantee>'
            b"<Permission>FULL_CONTROL</Permission></Grant></AccessControlList></AccessControlPolicy>",
            b"<AccessControlPolicy><AccessControlList><Grant><Grantee "
            b'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="Group"><URI>file:///etc/passwd</URI>'
            b"</Grantee><Permission>READ</Permission></Grant></AccessControlList></AccessControlPolicy>",
            b"<AccessControlPolicy><AccessControlList><Grant><Permission>EVERYTHING</Permission></Grant>"
            b"</AccessControlList></AccessControlPolicy>"],
    "ownershipControls": [b"<OwnershipControls><Rule><ObjectOwnership>Anyone</ObjectOwnership></Rule>"
                          b"</OwnershipControls>",
                          b"<OwnershipControls></OwnershipControls>",
                          b"<OwnershipControls><Rule><ObjectOwnership>BucketOwnerEnforced</ObjectOwnership><X/></Rule>"
                          b"</OwnershipControls>"],
    "publicAccessBlock": [b"<PublicAccessBlockConfiguration><BlockPublicAcls>maybe</BlockPublicAcls>"
                          b"</PublicAccessBlockConfiguration>"],
}

# Bodies a JSON bucket policy must refuse.
HOSTILE_POLICIES = {
    "empty": b"",
    "not JSON": b"<Policy/>",
    "arrays 100,000 deep": nested(b"[", b"]", 100_000),
    "objects 100,000 deep": b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
    "NUL bytes": b'{"Version":"2012-10-17\x00","Statement":[]}',
    "invalid UTF-8": b'{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:\xff",'
                     b'"Resource":"*"}]}',
    "a 25 MiB string": b'{"Version":"' + b"x" * (25 << 20) + b'"}',
    "huge numbers": b'{"Version":1e999999999,"Statement":[]}',
    "truncated": b'{"Version":"2012-10-17","Statement":[{"Effect":"Allow",',
}

# A valid document of each configuration, for mutation.
VALID_CONFIGS = {
    "tagging": b"<Tagging><TagSet><Tag><Key>a</Key><Value>b</Value></Tag><Tag><Key>c</Key><Value></Value></Tag>"
               b"</TagSet></Tagging>",
    "lifecycle": b"<LifecycleConfiguration><Rule><ID>r</ID><Filter><And><Prefix>logs/</Prefix><Tag><Key>k</Key>"
                 b"<Value>v</Value></Tag><ObjectSizeGreaterThan>10</ObjectSizeGreaterThan></And></Filter><Status>"
                 b"Enabled</Status><Expiration><Days>30</Days></Expiration><NoncurrentVersionExpiration>"
                 b"<NoncurrentDays>7</NoncurrentDays><NewerNoncurrentVersions>2</NewerNoncurrentVersions>"
                 b"</NoncurrentVersionExpiration></Rule><Rule><ID>u</ID><Filter><Prefix>tmp/</Prefix></Filter>"
                 b"<Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>1"
                 b"</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule></LifecycleConfiguration>",
    "object-lock": b"<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention>"
                   b"<Mode>GOVERNANCE</Mode><Days>1</Days></DefaultRetention></Rule></ObjectLockConfiguration>",
    "cors": b"<CORSConfiguration><CORSRule><ID>c</ID><AllowedMethod>GET</AllowedMethod><AllowedMethod>PUT"
            b"</AllowedMethod><AllowedOrigin>https://*.example.com</AllowedOrigin><AllowedHeader>*</AllowedHeader>"
            b"<ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>300</MaxAgeSeconds></CORSRule></CORSConfiguration>",
    "website": b"<WebsiteConfiguration><IndexDocument><Suffix>index.html</Suffix></IndexDocument><ErrorDocument>"
               b"<Key>error.html</Key></ErrorDocument><RoutingRules><RoutingRule><Condition><KeyPrefixEquals>old/"
               b"</KeyPrefixEquals></Condition><Redirect><ReplaceKeyPrefixWith>new/</ReplaceKeyPrefixWith>"
               b"<HttpRedirectCode>301</HttpRedirectCode></Redirect></RoutingRule></RoutingRules>"
               b"</WebsiteConfiguration>",
    "encryption": b"<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>"
                  b"AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault><BucketKeyEnabled>true"
                  b"</BucketKeyEnabled></Rule></ServerSideEncryptionConfiguration>",
    "acl": b'<AccessControlPolicy><Owner><ID>OWNER</ID></Owner><AccessControlList><Grant><Grantee '
           b'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="Group"><URI>'
           b"http://acs.amazonaws.com/groups/global/AllUsers</URI></Grantee><Permission>READ</Permission></Grant>"
           b"</AccessControlList></AccessControlPolicy>",
    "publicAccessBlock": b"<PublicAccessBlockConfiguration><BlockPublicAcls>true</BlockPublicAcls><IgnorePublicAcls>"
                         b"false</IgnorePublicAcls></PublicAccessBlockConfiguration>",
    "versioning": b"<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>",
    "policy": b'{"Version":"2012-10-17","Statement":[{"Sid":"r","Effect":"Allow","Principal":{"AWS":["*"]},'
              b'"Action":["s3:GetObject"],"Resource":"arn:aws:s3:::BUCKET/*","Condition":{"IpAddress":'
              b'{"aws:SourceIp":"10.0.0.0/8"}}}]}',
}


def mutate(rng, body):
    """One to four random edits of `body`: a byte flipped or set to a delimiter, a span cut or repeated."""
    out = bytearray(body)
    for _ in range(rng.randint(1, 4)):
        if not out:
            break
        i = rng.randrange(len(out))
        edit = rng.randrange(5)
        if edit == 0:
            out[i] ^= 1 << rng.randrange(8)
        elif edit == 1:
            out[i] = rng.choice(b'<>/&;"\'{}[]:,\x00\xff')
        elif edit == 2:
            del out[i:i + rng.randint(1, 16)]
        elif edit == 3:
            j = min(len(out), i + rng.randint(1, 64))
            out[i:i] = out[i:j] * rng.randint(2, 50)
        else:
            del out[i:]
    return bytes(out)


BUCKET_CONFIGS = ["versioning", "tagging", "lifecycle", "object-lock", "encryption", "website", "cors", "acl",
                  "ownershipControls", "publicAccessBlock", "policy"]


class HostileFeatureTest(AnnexTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.bucket = random_bucket("hostile")
        # Object Lock (so versioning and retention apply) and ObjectWriter (so ACL bodies are parsed at all).
        cls.must("PUT", f"/{cls.bucket}", headers={"x-amz-bucket-object-lock-enabled": "true",
                                                   "x-amz-object-ownership": "ObjectWriter"})
        # Configurations already in place, which no refused body may change.
        cls.put_config("tagging", b"<Tagging><TagSet><Tag><Key>team</Key><Value>ops</Value></Tag></TagSet></Tagging>")
        cls.put_config("lifecycle", b"<LifecycleConfiguration><Rule><ID>tmp</ID><Filter><Prefix>tmp/</Prefix>"
                                    b"</Filter><Status>Enabled</Status><Expiration><Days>7</Days></Expiration></Rule>"
                                    b"</LifecycleConfiguration>")
        cls.put_config("cors", b"<CORSConfiguration><CORSRule><AllowedMethod>GET</AllowedMethod><AllowedOrigin>"
                               b"https://example.com</AllowedOrigin></CORSRule></CORSConfiguration>")
        cls.put_config("website", b"<WebsiteConfiguration><IndexDocument><Suffix>index.html</Suffix></IndexDocument>"
                                  b"</WebsiteConfiguration>")
        _, headers, _ = cls.must("PUT", f"/{cls.bucket}/keep", body=b"first")
        cls.first_version = headers["x-amz-version-id"]
        _, headers, _ = cls.must("PUT", f"/{cls.bucket}/keep", body=b"second")
        cls.second_version = headers["x-amz-version-id"]

    # -- helpers ------------------------------------------------------------------

    @classmethod
    def req(cls, method, path, query=None, headers=None, body=b"", **kw):
        return cls.daemon.signed(method, path, query=query, headers=headers, body=body, **kw)

    @classmethod
    def must(cls, method, path, **kw):
        status, headers, body = cls.req(method, path, **kw)
        assert status in (200, 204), f"{method} {path} {kw.get('query')}: {status} {body[:300]!r}"
        return status, headers, body

    @classmethod
    def put_config(cls, sub, body):
        cls.must("PUT", f"/{cls.bucket}", query={sub: ""}, body=body, headers={"Content-MD5": md5_b64(body)})

    def assertRefused(self, response, what):
        """A 4xx with an S3 XML error body and a request id: what a client can show."""
        status, headers, body = response
        self.assertTrue(400 <= status < 500, f"{what}: want a 4xx error, got {status}: {body[:300]!r}")
        self.assertIsNotNone(error_code(body), f"{what}: no S3 error document: {body[:300]!r}")
        self.assertTrue(headers.get("x-amz-request-id"), f"{what}: no x-amz-request-id")

    def assertServing(self, after):
        status, _, body = http_request("GET", self.daemon.endpoint + "/_annex/health")
        self.assertEqual(status, 200, f"annexd stopped serving after {after}: {body[:200]!r}")

    def config_of(self, sub, path=None, query=None):
        """GET of a configuration: (status, body without its request id), comparable before and after."""
        status, _, body = self.req("GET", path or f"/{self.bucket}", query=query or {sub: ""})
        if status >= 400:
            return status, error_code(body)
        return status, body

    # -- bucket configurations ----------------------------------------------------

    def test_bucket_configurations_refuse_hostile_bodies(self):
        for sub in BUCKET_CONFIGS:
            before = self.config_of(sub)
            bodies = dict(HOSTILE_POLICIES) if sub == "policy" else dict(HOSTILE_XML)
            for i, body in enumerate(SHAPED.get(sub, [])):
                bodies[f"shaped #{i + 1}"] = body
            for name, body in bodies.items():
                with self.subTest(config=sub, body=name):
                    r = self.req("PUT", f"/{self.bucket}", query={sub: ""}, body=body,
                                 headers={"Content-MD5": md5_b64(body)})
                    self.assertRefused(r, f"PUT ?{sub} with {name}")
                    self.assertServing(f"PUT ?{sub} with {name}")
            self.assertEqual(self.config_of(sub), before, f"a refused body changed ?{sub}")

    def test_mutated_configurations(self):
        """Valid documents with random bytes flipped, cut, repeated or dropped: never a 5xx, never a hang."""
        seed = int(os.environ.get("HOSTILE_SEED") or random.randrange(1 << 32))
        print(f"mutation seed {seed} (HOSTILE_SEED={seed} repeats it)", file=sys.stderr)
        rng = random.Random(seed)
        # A bucket of its own: a mutation may still be a valid configuration (a policy that denies, a lock).
        bucket = random_bucket("mutated")
        self.must("PUT", f"/{bucket}", headers={"x-amz-bucket-object-lock-enabled": "true",
                                                "x-amz-object-ownership": "ObjectWriter"})
        _, _, acl = self.must("GET", f"/{bucket}", query={"acl": ""})
        owner = re.search(rb"<ID>([0-9a-f]+)</ID>", acl).group(1)
        for sub, body in VALID_CONFIGS.items():
            body = body.replace(b"BUCKET", bucket.encode()).replace(b"OWNER", owner)
            status, _, answer = self.req("PUT", f"/{bucket}", query={sub: ""}, body=body,
                                         headers={"Content-MD5": md5_b64(body)})
            self.assertIn(status, (200, 204), f"the valid ?{sub} document is refused: {answer[:300]!r}")
            for i in range(int(os.environ.get("HOSTILE_MUTATIONS", "120"))):
                mutated = mutate(rng, body)
                with self.subTest(config=sub, mutation=i):
                    status, headers, answer = self.req("PUT", f"/{bucket}", query={sub: ""}, body=mutated,
                                                       headers={"Content-MD5": md5_b64(mutated)})
                    self.assertLess(status, 500, f"PUT ?{sub} with {mutated!r}: {answer[:300]!r}")
                    if status >= 400:
                        self.assertIsNotNone(error_code(answer), answer[:300])
        self.assertServing("the mutated configurations")

    def test_external_entities_are_never_read(self):
        status, _, body = self.req("PUT", f"/{self.bucket}/keep", query={"tagging": ""}, body=EXTERNAL_ENTITY,
                                   headers={"Content-MD5": md5_b64(EXTERNAL_ENTITY)})
        self.assertRefused((status, _, body), "tagging with an external entity")
        _, _, tags = self.req("GET", f"/{self.bucket}/keep", query={"tagging": ""})
        self.assertNotIn(b"root:", tags)

    def test_object_subresources_refuse_hostile_bodies(self):
        retention = b"<Retention><Mode>COMPLIANCE</Mode><RetainUntilDate>%s</RetainUntilDate></Retention>"
        cases = {
            "tagging": list(HOSTILE_XML.values()) + SHAPED["tagging"],
            "retention": list(HOSTILE_XML.values()) + [retention % b"not-a-date", retention % b"99999-01-01T00:00:00Z",
                                                       retention % b"1970-01-01T00:00:00Z",
                                                       b"<Retention><Mode>NONE</Mode></Retention>"],
            "legal-hold": list(HOSTILE_XML.values()) + [b"<LegalHold><Status>MAYBE</Status></LegalHold>"],
            "acl": list(HOSTILE_XML.values()) + SHAPED["acl"],
        }
        for sub, bodies in cases.items():
            query = {sub: "", "versionId": self.first_version}
            before = self.config_of(sub, f"/{self.bucket}/keep", query)
            for i, body in enumerate(bodies):
                with self.subTest(subresource=sub, body=i):
                    r = self.req("PUT", f"/{self.bucket}/keep", query=query, body=body,
                                 headers={"Content-MD5": md5_b64(body)})
                    self.assertRefused(r, f"PUT keep?{sub} body #{i}")
            self.assertEqual(self.config_of(sub, f"/{self.bucket}/keep", query), before, f"?{sub} changed")
        self.assertServing("the object sub-resources")
        # Both versions still read back as written.
        for version, data in ((self.first_version, b"first"), (self.second_version, b"second")):
            status, _, body = self.req("GET", f"/{self.bucket}/keep", query={"versionId": version})
            self.assertEqual((status, body), (200, data))

    def test_delete_objects_refuses_hostile_bodies(self):
        hostile = {name: body for name, body in HOSTILE_XML.items() if not body.startswith(b"<Delete>")}
        for name, body in list(hostile.items()) + [
                ("1,001 keys", b"<Delete>" + b"<Object><Key>k</Key></Object>" * 1_001 + b"</Delete>"),
                ("a bad version id", b"<Delete><Object><Key>keep</Key><VersionId>../../x</VersionId></Object>"
                                     b"</Delete>")]:
            with self.subTest(body=name):
                status, headers, answer = self.req("POST", f"/{self.bucket}", query={"delete": ""}, body=body,
                                                   headers={"Content-MD5": md5_b64(body)})
                if status == 200:  # S3 answers a per-key <Error> for a version id it cannot read
                    self.assertIn(b"<Error>", answer, name)
                else:
                    self.assertRefused((status, headers, answer), f"DeleteObjects with {name}")
        status, _, body = self.req("GET", f"/{self.bucket}/keep", query={"versionId": self.first_version})
        self.assertEqual((status, body), (200, b"first"))

    # -- query values ---------------------------------------------------------------

    def test_hostile_version_ids_and_listing_markers(self):
        bad_ids = ["", "null\x00", "../../etc/passwd", "A" * 5_000, "\u2603", "%ff", self.first_version + "x",
                   self.first_version[:-1]]
        for vid in bad_ids:
            for method, query in (("GET", {"versionId": vid}), ("HEAD", {"versionId": vid}),
                                  ("GET", {"versionId": vid, "tagging": ""}), ("GET", {"versionId": vid, "acl": ""}),
                                  ("GET", {"versionId": vid, "retention": ""}),
                                  ("PUT", {"versionId": vid, "legal-hold": ""})):
                with self.subTest(method=method, query=query):
                    status, headers, body = self.req(method, f"/{self.bucket}/keep", query=query)
                    self.assertTrue(400 <= status < 500, f"{method} {query!r}: {status} {body[:200]!r}")
                    if method != "HEAD":
                        self.assertIsNotNone(error_code(body), body[:200])
            with self.subTest(copy_source_version=vid):
                r = self.req("PUT", f"/{self.bucket}/copy",
                             headers={"x-amz-copy-source": f"/{self.bucket}/keep?versionId="
                                                           + urllib.parse.quote(vid, safe="")})
                self.assertRefused(r, f"CopyObject from version {vid!r}")
        for query in ({"versions": "", "max-keys": "-1"}, {"versions": "", "max-keys": "99999999999999999999"},
                      {"versions": "", "max-keys": "abc"}, {"versions": "", "version-id-marker": "x"},
                      {"versions": "", "key-marker": "keep", "version-id-marker": "not-a-version"},
                      {"versions": "", "encoding-type": "base64"}):
            with self.subTest(listing=query):
                self.assertRefused(self.req("GET", f"/{self.bucket}", query=query), f"ListObjectVersions {query}")
        # A marker as long as a key may be is a listing like any other.
        status, _, body = self.req("GET", f"/{self.bucket}", query={"versions": "", "key-marker": "k" * 1024})
        self.assertEqual(status, 200, body[:300])
        self.assertServing("the version ids and markers")
        status, _, body = self.req("GET", f"/{self.bucket}/keep")
        self.assertEqual((status, body), (200, b"second"))

    def test_hostile_sse_c_headers(self):
        key = os.urandom(32)
        good = {"x-amz-server-side-encryption-customer-algorithm": "AES256",
                "x-amz-server-side-encryption-customer-key": base64.b64encode(key).decode(),
                "x-amz-server-side-encryption-customer-key-md5": md5_b64(key)}
        short = os.urandom(31)
        variants = {
            "not base64": {**good, "x-amz-server-side-encryption-customer-key": "!!!not base64!!!"},
            "a 31-byte key": {**good, "x-amz-server-side-encryption-customer-key": base64.b64encode(short).decode(),
                              "x-amz-server-side-encryption-customer-key-md5": md5_b64(short)},
            "a 1 MiB key": {**good, "x-amz-server-side-encryption-customer-key": "A" * 8_000},
            "the wrong MD5": {**good, "x-amz-server-side-encryption-customer-key-md5": md5_b64(b"other")},
            "no MD5": {k: v for k, v in good.items() if not k.endswith("-md5")},
            "AES128": {**good, "x-amz-server-side-encryption-customer-algorithm": "AES128"},
            "with SSE-S3 too": {**good, "x-amz-server-side-encryption": "AES256"},
        }
        for name, headers in variants.items():
            with self.subTest(put=name):
                self.assertRefused(self.req("PUT", f"/{self.bucket}/ssec-{len(name)}", headers=headers, body=b"x"),
                                   f"SSE-C PUT with {name}")
                status, _, _ = self.req("HEAD", f"/{self.bucket}/ssec-{len(name)}")
                self.assertEqual(status, 404, f"a refused SSE-C PUT ({name}) stored an object")
            with self.subTest(get=name):
                self.assertRefused(self.req("GET", f"/{self.bucket}/keep", headers=headers), f"SSE-C GET with {name}")

    # -- POST forms -----------------------------------------------------------------

    def post_form(self, body, content_type):
        u = urllib.parse.urlsplit(self.daemon.endpoint)
        return raw_request(u.hostname, u.port, "POST", f"/{self.bucket}", None,
                           {"Host": u.netloc, "Content-Type": content_type}, body)

    def test_malformed_form_uploads(self):
        b = "hostileboundary"

        def part(name, value):
            return f'--{b}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode() + value + b"\r\n"

        file_part = (f'--{b}\r\nContent-Disposition: form-data; name="file"; filename="x"\r\n\r\n'.encode()
                     + b"payload\r\n")
        forms = {
            "no boundary": (b"key=x&file=y", "multipart/form-data"),
            "an empty boundary": (b"--\r\n\r\n", "multipart/form-data; boundary="),
            "a 5,000-byte boundary": (b"--" + b"q" * 5_000 + b"--\r\n", "multipart/form-data; boundary=" + "q" * 5_000),
            "no closing boundary": (part("key", b"x") + file_part[:-2], f"multipart/form-data; boundary={b}"),
            "a part without headers end": (f"--{b}\r\nContent-Disposition: form-data; name=key".encode(),
                                           f"multipart/form-data; boundary={b}"),
            "10,000 fields": (b"".join(part(f"x-amz-meta-f{i}", b"v") for i in range(10_000)) + file_part
                              + f"--{b}--\r\n".encode(), f"multipart/form-data; boundary={b}"),
            "a 1 MiB field name": (part("n" * (1 << 20), b"v") + file_part + f"--{b}--\r\n".encode(),
                                   f"multipart/form-data; boundary={b}"),
            "a 4 MiB policy": (part("key", b"x") + part("policy", b"A" * (4 << 20)) + file_part
                               + f"--{b}--\r\n".encode(), f"multipart/form-data; boundary={b}"),
            "a policy that is not base64 JSON": (part("key", b"x") + part("policy", b"e30=\x00\xff") + file_part
                                                 + f"--{b}--\r\n".encode(), f"multipart/form-data; boundary={b}"),
            "a field after the file": (part("key", b"x") + file_part + part("key", b"y") + f"--{b}--\r\n".encode(),
                                       f"multipart/form-data; boundary={b}"),
        }
        for name, (body, content_type) in forms.items():
            with self.subTest(form=name):
                self.assertRefused(self.post_form(body, content_type), f"POST form with {name}")
                self.assertServing(f"a POST form with {name}")
        for key in ("x", "y"):
            status, _, _ = self.req("HEAD", f"/{self.bucket}/{key}")
            self.assertEqual(status, 404, f"a refused form stored {key}")

    # -- bodies cut off -------------------------------------------------------------

    def send_cut(self, method, path, query, declared, sent):
        """Sends a signed request's head promising `declared` bytes, then `sent` bytes, then closes."""
        endpoint = urllib.parse.urlsplit(self.daemon.endpoint)
        body = b"<" * sent
        headers = sign_headers(method, endpoint.netloc, path, query, {"Content-Length": str(declared)},
                               "UNSIGNED-PAYLOAD", *self.daemon.creds())
        target = path + ("?" + urllib.parse.urlencode(query) if query else "")
        head = f"{method} {target} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        with socket.create_connection((endpoint.hostname, endpoint.port), timeout=10) as s:
            s.sendall(head.encode() + body)
            s.shutdown(socket.SHUT_WR)
            try:
                while s.recv(65536):
                    pass
            except OSError:
                pass

    def test_bodies_cut_off_halfway(self):
        before = {sub: self.config_of(sub) for sub in ("lifecycle", "tagging", "cors", "website")}
        for round_ in range(20):
            for sub in before:
                self.send_cut("PUT", f"/{self.bucket}", {sub: ""}, declared=100_000, sent=round_ * 100)
            self.send_cut("POST", f"/{self.bucket}", {"delete": ""}, declared=50_000, sent=round_ * 50)
            self.send_cut("PUT", f"/{self.bucket}/keep", {"tagging": ""}, declared=10_000, sent=round_ * 10)
        self.assertServing("bodies cut off halfway")
        for sub, config in before.items():
            self.assertEqual(self.config_of(sub), config, f"a cut-off body changed ?{sub}")
        status, _, body = self.req("GET", f"/{self.bucket}/keep")
        self.assertEqual((status, body), (200, b"second"))


if __name__ == "__main__":
    harness.main()
