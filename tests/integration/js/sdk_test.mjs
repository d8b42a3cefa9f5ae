// Drives annexd with the AWS SDK for JavaScript v3 (@aws-sdk/client-s3) using
// the SDK's default checksum behaviour (CRC32 on PutObject/UploadPart; for
// streaming bodies the STREAMING-UNSIGNED-PAYLOAD-TRAILER aws-chunked form).
//
//   node sdk_test.mjs SCENARIO
// env: ANNEX_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, ANNEX_NODE_DIR
// (the folder whose node_modules holds @aws-sdk/client-s3), ANNEX_BUCKET.
// Prints one JSON line {"ok":true,...} and exits 0, or prints the failure and exits 1.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';

const nodeDir = process.env.ANNEX_NODE_DIR;
const require = createRequire(path.join(nodeDir, 'package.json'));
const S3 = require('@aws-sdk/client-s3');
const sdkVersion = require('@aws-sdk/client-s3/package.json').version;

const bucket = process.env.ANNEX_BUCKET;
const client = new S3.S3Client({
  endpoint: process.env.ANNEX_ENDPOINT,
  region: 'us-east-1',
  forcePathStyle: true,
  credentials: {
    accessKeyId: process.env.AWS_ACCESS_KEY_ID,
    secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY,
  },
  maxAttempts: 1,
});

// Records what went on the wire (after checksums and signing).
const wire = [];
client.middlewareStack.add(
  (next, context) => async (args) => {
    const h = {};
    for (const [k, v] of Object.entries(args.request.headers || {})) h[k.toLowerCase()] = v;
    wire.push({ op: context.commandName, headers: h });
    return next(args);
  },
  { step: 'deserialize', name: 'annexWireCapture' },
);

const crc32b64 = (buf) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(zlib.crc32(buf) >>> 0);
  return b.toString('base64');
};
// CRC-64/NVME, computed here independently of the SDK (reflected, init/xorout all ones).
const CRC64_TABLE = (() => {
  const poly = 0x9a6c9329ac4bc9b5n;
  const t = new BigUint64Array(256);
  for (let i = 0n; i < 256n; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1n ? (c >> 1n) ^ poly : c >> 1n;
    t[Number(i)] = c;
  }
  return t;
})();
const crc64nvmeB64 = (buf) => {
  const mask = 0xffffffffffffffffn;
  let c = mask;
  for (const byte of buf) c = CRC64_TABLE[Number((c ^ BigInt(byte)) & 0xffn)] ^ (c >> 8n);
  const out = Buffer.alloc(8);
  out.writeBigUInt64BE(c ^ mask);
  return out.toString('base64');
};
const md5hex = (buf) => crypto.createHash('md5').update(buf).digest('hex');
const readAll = async (body) => Buffer.from(await body.transformToByteArray());
const lastWire = (op) => wire.filter((w) => w.op === op).at(-1);
const send = (Cmd, input) => client.send(new S3[Cmd](input));

async function expectError(promise, name, status) {
  try {
    await promise;
  } catch (e) {
    assert.equal(e.name, name, `error name: ${e.name} ${e.message}`);
    if (status) assert.equal(e.$metadata.httpStatusCode, status);
    return e;
  }
  assert.fail(`expected ${name}`);
}

const scenarios = {
  async basic() {
    await send('CreateBucketCommand', { Bucket: bucket });
    await send('HeadBucketCommand', { Bucket: bucket });
    const listed = await send('ListBucketsCommand', {});
    assert.ok(listed.Buckets.some((b) => b.Name === bucket));

    const text = 'hello from the JavaScript SDK v3 ✓';
    const put = await send('PutObjectCommand', {
      Bucket: bucket, Key: 'docs/hello.txt', Body: text, ContentType: 'text/plain; charset=utf-8',
      Metadata: { origin: 'js-sdk' },
    });
    const putWire = lastWire('PutObjectCommand').headers;
    // Default SDK behaviour: a CRC32 checksum accompanies every PutObject.
    assert.ok(putWire['x-amz-checksum-crc32'] || putWire['x-amz-trailer'], JSON.stringify(putWire));
    assert.equal(put.ETag, `"${md5hex(Buffer.from(text))}"`);

    const head = await send('HeadObjectCommand', { Bucket: bucket, Key: 'docs/hello.txt' });
    assert.equal(head.ContentLength, Buffer.byteLength(text));
    assert.equal(head.ContentType, 'text/plain; charset=utf-8');
    assert.deepEqual(head.Metadata, { origin: 'js-sdk' });

    const got = await send('GetObjectCommand', { Bucket: bucket, Key: 'docs/hello.txt' });
    assert.equal(await got.Body.transformToString(), text);

    const ranged = await send('GetObjectCommand', { Bucket: bucket, Key: 'docs/hello.txt', Range: 'bytes=0-4' });
    assert.equal(await ranged.Body.transformToString(), 'hello');
    assert.equal(ranged.ContentRange, `bytes 0-4/${Buffer.byteLength(text)}`);

    for (const k of ['docs/a', 'docs/b', 'docs/sub/c', 'top']) {
      await send('PutObjectCommand', { Bucket: bucket, Key: k, Body: Buffer.from(k) });
    }
    const keys = [];
    const prefixes = [];
    for await (const page of S3.paginateListObjectsV2({ client, pageSize: 2 },
      { Bucket: bucket, Prefix: 'docs/', Delimiter: '/' })) {
      (page.Contents || []).forEach((c) => keys.push(c.Key));
      (page.CommonPrefixes || []).forEach((c) => prefixes.push(c.Prefix));
    }
    assert.deepEqual(keys, ['docs/a', 'docs/b', 'docs/hello.txt']);
    assert.deepEqual(prefixes, ['docs/sub/']);

    await expectError(send('GetObjectCommand', { Bucket: bucket, Key: 'missing' }), 'NoSuchKey', 404);

    // DeleteObjects requires an integrity header; current SDKs send a CRC32 checksum, not Content-MD5.
    const del = await send('DeleteObjectsCommand', {
      Bucket: bucket, Delete: { Objects: ['docs/a', 'docs/b', 'docs/sub/c', 'top'].map((Key) => ({ Key })) },
    });
    assert.equal((del.Deleted || []).length, 4, JSON.stringify(del));
    assert.ok(!del.Errors || del.Errors.length === 0, JSON.stringify(del.Errors));
    await send('DeleteObjectCommand', { Bucket: bucket, Key: 'docs/hello.txt' });
    const after = await send('ListObjectsV2Command', { Bucket: bucket });
    assert.equal(after.KeyCount, 0);
    await send('DeleteBucketCommand', { Bucket: bucket });
    await expectError(send('HeadBucketCommand', { Bucket: bucket }), 'NotFound', 404);
    return { checksumHeader: Object.keys(putWire).filter((k) => k.startsWith('x-amz-checksum')) };
  },

  async streaming() {
    await send('CreateBucketCommand', { Bucket: bucket });
    const data = crypto.randomBytes(3 * 1024 * 1024 + 123);
    // A stream body: the SDK frames it aws-chunked with a trailing CRC32.
    await send('PutObjectCommand', {
      Bucket: bucket, Key: 'streamed.bin', Body: Readable.from([data.subarray(0, 1000000), data.subarray(1000000)]),
      ContentLength: data.length,
    });
    const w = lastWire('PutObjectCommand').headers;
    assert.equal(w['x-amz-content-sha256'], 'STREAMING-UNSIGNED-PAYLOAD-TRAILER', JSON.stringify(w));
    assert.match(w['content-encoding'] || '', /aws-chunked/);
    assert.equal(w['x-amz-trailer'], 'x-amz-checksum-crc32');
    assert.equal(w['x-amz-decoded-content-length'], String(data.length));

    const got = await send('GetObjectCommand', { Bucket: bucket, Key: 'streamed.bin', ChecksumMode: 'ENABLED' });
    assert.equal(got.ChecksumCRC32, crc32b64(data));
    assert.equal(got.ContentEncoding, undefined, 'aws-chunked must not be stored as Content-Encoding');
    const body = await readAll(got.Body);  // the SDK validates the CRC32 while reading
    assert.equal(body.length, data.length);
    assert.ok(body.equals(data), 'streamed object differs');
    const head = await send('HeadObjectCommand', { Bucket: bucket, Key: 'streamed.bin' });
    assert.equal(head.ContentLength, data.length);
    assert.equal(head.ETag, `"${md5hex(data)}"`);

    // Other trailer algorithms: the server stores and returns them; the SDK validates on read.
    for (const algo of ['CRC32C', 'SHA1', 'SHA256']) {
      const key = `streamed-${algo}`;
      await send('PutObjectCommand', {
        Bucket: bucket, Key: key, Body: Readable.from([data]), ContentLength: data.length, ChecksumAlgorithm: algo,
      });
      const sent = lastWire('PutObjectCommand').headers;
      assert.equal(sent['x-amz-trailer'], `x-amz-checksum-${algo.toLowerCase()}`);
      const back = await send('GetObjectCommand', { Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' });
      const value = back[`Checksum${algo}`];
      assert.ok(value, `${algo} checksum not returned`);
      if (algo !== 'CRC32C') {
        assert.equal(value, crypto.createHash(algo.toLowerCase()).update(data).digest('base64'));
      }
      assert.ok((await readAll(back.Body)).equals(data), `${algo}: object differs`);
    }

    // An empty stream too.
    await send('PutObjectCommand', { Bucket: bucket, Key: 'empty', Body: Readable.from([]), ContentLength: 0 });
    const empty = await send('GetObjectCommand', { Bucket: bucket, Key: 'empty', ChecksumMode: 'ENABLED' });
    assert.equal((await readAll(empty.Body)).length, 0);
    assert.equal(empty.ChecksumCRC32, 'AAAAAA==');
    return { wire: w };
  },

  async checksums() {
    await send('CreateBucketCommand', { Bucket: bucket });
    const data = crypto.randomBytes(200 * 1024);
    const put = await send('PutObjectCommand', { Bucket: bucket, Key: 'crc.bin', Body: data });
    assert.equal(put.ChecksumCRC32, crc32b64(data));
    const got = await send('GetObjectCommand', { Bucket: bucket, Key: 'crc.bin', ChecksumMode: 'ENABLED' });
    assert.equal(got.ChecksumCRC32, crc32b64(data));
    assert.ok((await readAll(got.Body)).equals(data));

    const sha = await send('PutObjectCommand', { Bucket: bucket, Key: 'sha.bin', Body: data, ChecksumAlgorithm: 'SHA256' });
    const want = crypto.createHash('sha256').update(data).digest('base64');
    assert.equal(sha.ChecksumSHA256, want);
    const gotSha = await send('GetObjectCommand', { Bucket: bucket, Key: 'sha.bin', ChecksumMode: 'ENABLED' });
    assert.equal(gotSha.ChecksumSHA256, want);
    assert.ok((await readAll(gotSha.Body)).equals(data));

    // A wrong checksum supplied by the caller is refused and stores nothing.
    await expectError(send('PutObjectCommand', {
      Bucket: bucket, Key: 'bad.bin', Body: data, ChecksumCRC32: crc32b64(Buffer.from('something else')),
    }), 'BadDigest', 400).catch(async (e) => {
      // S3 answers BadDigest; InvalidRequest is also seen for a mismatching checksum.
      if (!/InvalidRequest/.test(String(e))) throw e;
    });
    await expectError(send('HeadObjectCommand', { Bucket: bucket, Key: 'bad.bin' }), 'NotFound', 404);
    return {};
  },

  // CRC64NVME: the SDK computes it in JavaScript (no CRT package needed).
  async crc64nvme() {
    await send('CreateBucketCommand', { Bucket: bucket });
    const data = crypto.randomBytes(300 * 1024 + 5);
    const want = crc64nvmeB64(data);
    const put = await send('PutObjectCommand', { Bucket: bucket, Key: 'c64', Body: data, ChecksumAlgorithm: 'CRC64NVME' });
    assert.equal(lastWire('PutObjectCommand').headers['x-amz-checksum-crc64nvme'], want);
    assert.equal(put.ChecksumCRC64NVME, want);
    assert.equal(put.ChecksumType, 'FULL_OBJECT');
    // A stream body: aws-chunked with the CRC64NVME as trailer.
    await send('PutObjectCommand', {
      Bucket: bucket, Key: 'c64-stream', Body: Readable.from([data]), ContentLength: data.length,
      ChecksumAlgorithm: 'CRC64NVME',
    });
    assert.equal(lastWire('PutObjectCommand').headers['x-amz-trailer'], 'x-amz-checksum-crc64nvme');
    for (const Key of ['c64', 'c64-stream']) {
      const got = await send('GetObjectCommand', { Bucket: bucket, Key, ChecksumMode: 'ENABLED' });
      assert.equal(got.ChecksumCRC64NVME, want);
      assert.equal(got.ChecksumType, 'FULL_OBJECT');
      assert.ok((await readAll(got.Body)).equals(data), `${Key} differs`);  // the SDK validates the CRC64NVME
    }
    await expectError(send('PutObjectCommand', {
      Bucket: bucket, Key: 'c64-bad', Body: data, ChecksumCRC64NVME: crc64nvmeB64(Buffer.from('other')),
    }), 'BadDigest', 400);

    // A FULL_OBJECT multipart upload: the parts' CRC64NVMEs combined into the object's.
    const parts = [crypto.randomBytes(5 * 1024 * 1024), crypto.randomBytes(123457)];
    const whole = Buffer.concat(parts);
    const created = await send('CreateMultipartUploadCommand', {
      Bucket: bucket, Key: 'c64-mp', ChecksumAlgorithm: 'CRC64NVME', ChecksumType: 'FULL_OBJECT',
    });
    assert.equal(created.ChecksumType, 'FULL_OBJECT');
    const done = [];
    for (let i = 0; i < parts.length; i++) {
      const Body = i === 1 ? Readable.from([parts[i]]) : parts[i];
      const r = await send('UploadPartCommand', {
        Bucket: bucket, Key: 'c64-mp', UploadId: created.UploadId, PartNumber: i + 1, Body,
        ContentLength: parts[i].length, ChecksumAlgorithm: 'CRC64NVME',
      });
      assert.equal(r.ChecksumCRC64NVME, crc64nvmeB64(parts[i]));
      done.push({ ETag: r.ETag, PartNumber: i + 1, ChecksumCRC64NVME: r.ChecksumCRC64NVME });
    }
    const complete = {
      Bucket: bucket, Key: 'c64-mp', UploadId: created.UploadId, MultipartUpload: { Parts: done },
      ChecksumType: 'FULL_OBJECT', MpuObjectSize: whole.length,
    };
    await expectError(send('CompleteMultipartUploadCommand', {
      ...complete, ChecksumCRC64NVME: crc64nvmeB64(parts[0]),
    }), 'BadDigest', 400);
    const fin = await send('CompleteMultipartUploadCommand', { ...complete, ChecksumCRC64NVME: crc64nvmeB64(whole) });
    assert.equal(fin.ChecksumCRC64NVME, crc64nvmeB64(whole));
    assert.equal(fin.ChecksumType, 'FULL_OBJECT');
    const attrs = await send('GetObjectAttributesCommand', {
      Bucket: bucket, Key: 'c64-mp', ObjectAttributes: ['ETag', 'Checksum', 'ObjectParts', 'ObjectSize'],
    });
    assert.deepEqual(attrs.Checksum, { ChecksumCRC64NVME: crc64nvmeB64(whole), ChecksumType: 'FULL_OBJECT' });
    assert.equal(attrs.ObjectParts.TotalPartsCount, 2);
    assert.equal(attrs.ObjectSize, whole.length);
    const got = await send('GetObjectCommand', { Bucket: bucket, Key: 'c64-mp', ChecksumMode: 'ENABLED' });
    assert.ok((await readAll(got.Body)).equals(whole), 'multipart object differs');
    return { wire: lastWire('UploadPartCommand').headers['x-amz-trailer'] };
  },

  // The SDK's default CRC32 on a COMPOSITE upload: each part's checksum named on completion.
  async compositeDefault() {
    await send('CreateBucketCommand', { Bucket: bucket });
    const parts = [crypto.randomBytes(5 * 1024 * 1024), crypto.randomBytes(1000)];
    const created = await send('CreateMultipartUploadCommand', { Bucket: bucket, Key: 'c32', ChecksumAlgorithm: 'CRC32' });
    assert.equal(created.ChecksumType, 'COMPOSITE');
    const done = [];
    for (let i = 0; i < parts.length; i++) {
      const r = await send('UploadPartCommand', {
        Bucket: bucket, Key: 'c32', UploadId: created.UploadId, PartNumber: i + 1, Body: parts[i],
      });
      assert.equal(r.ChecksumCRC32, crc32b64(parts[i]));
      done.push({ ETag: r.ETag, PartNumber: i + 1, ChecksumCRC32: r.ChecksumCRC32 });
    }
    const fin = await send('CompleteMultipartUploadCommand', {
      Bucket: bucket, Key: 'c32', UploadId: created.UploadId, MultipartUpload: { Parts: done },
    });
    const raw = Buffer.concat(parts.map((p) => Buffer.from(crc32b64(p), 'base64')));
    assert.equal(fin.ChecksumCRC32, `${crc32b64(raw)}-2`);
    assert.equal(fin.ChecksumType, 'COMPOSITE');
    const listed = await send('ListPartsCommand', { Bucket: bucket, Key: 'c32', UploadId: created.UploadId })
      .catch((e) => e.name);
    assert.equal(listed, 'NoSuchUpload');
    const attrs = await send('GetObjectAttributesCommand', {
      Bucket: bucket, Key: 'c32', ObjectAttributes: ['Checksum', 'ObjectParts'], MaxParts: 1,
    });
    assert.deepEqual(attrs.Checksum, { ChecksumCRC32: crc32b64(raw), ChecksumType: 'COMPOSITE' });
    assert.equal(attrs.ObjectParts.IsTruncated, true);
    assert.deepEqual(attrs.ObjectParts.Parts.map((p) => [p.PartNumber, p.Size, p.ChecksumCRC32]),
      [[1, parts[0].length, crc32b64(parts[0])]]);
    return {};
  },

  async multipart() {
    await send('CreateBucketCommand', { Bucket: bucket });
    const parts = [crypto.randomBytes(5 * 1024 * 1024), crypto.randomBytes(5 * 1024 * 1024), crypto.randomBytes(777777)];
    const { UploadId } = await send('CreateMultipartUploadCommand', {
      Bucket: bucket, Key: 'mp.bin', ContentType: 'application/x-mp',
    });
    const done = [];
    for (let i = 0; i < parts.length; i++) {
      // Part 2 goes up as a stream (aws-chunked + trailer), the others as buffers.
      const Body = i === 1 ? Readable.from([parts[i]]) : parts[i];
      const r = await send('UploadPartCommand', {
        Bucket: bucket, Key: 'mp.bin', UploadId, PartNumber: i + 1, Body, ContentLength: parts[i].length,
      });
      assert.equal(r.ETag, `"${md5hex(parts[i])}"`);
      done.push({ ETag: r.ETag, PartNumber: i + 1 });
    }
    const streamedPart = wire.filter((w) => w.op === 'UploadPartCommand')[1].headers;
    const listed = await send('ListPartsCommand', { Bucket: bucket, Key: 'mp.bin', UploadId });
    assert.deepEqual(listed.Parts.map((p) => [p.PartNumber, p.Size]), parts.map((p, i) => [i + 1, p.length]));

    const complete = await send('CompleteMultipartUploadCommand', {
      Bucket: bucket, Key: 'mp.bin', UploadId, MultipartUpload: { Parts: done },
    });
    const composite = md5hex(Buffer.concat(parts.map((p) => crypto.createHash('md5').update(p).digest())));
    assert.equal(complete.ETag, `"${composite}-3"`);
    const whole = Buffer.concat(parts);
    const got = await send('GetObjectCommand', { Bucket: bucket, Key: 'mp.bin', ChecksumMode: 'ENABLED' });
    assert.equal(got.ContentType, 'application/x-mp');
    assert.equal(got.ContentLength, whole.length);
    assert.ok((await readAll(got.Body)).equals(whole), 'multipart object differs');

    // An aborted upload leaves nothing behind.
    const second = await send('CreateMultipartUploadCommand', { Bucket: bucket, Key: 'aborted.bin' });
    await send('UploadPartCommand', { Bucket: bucket, Key: 'aborted.bin', UploadId: second.UploadId, PartNumber: 1,
      Body: crypto.randomBytes(1024) });
    await send('AbortMultipartUploadCommand', { Bucket: bucket, Key: 'aborted.bin', UploadId: second.UploadId });
    await expectError(send('ListPartsCommand', { Bucket: bucket, Key: 'aborted.bin', UploadId: second.UploadId }),
      'NoSuchUpload', 404);
    const uploads = await send('ListMultipartUploadsCommand', { Bucket: bucket });
    assert.equal((uploads.Uploads || []).length, 0);
    return { streamedPart };
  },

  // Versions, delete markers, and the empty-then-delete pattern of tools
  // that remove a bucket (every version and marker first).
  async versioning() {
    await send('CreateBucketCommand', { Bucket: bucket });
    await send('PutBucketVersioningCommand', { Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } });
    const state = await send('GetBucketVersioningCommand', { Bucket: bucket });
    assert.equal(state.Status, 'Enabled');
    const v1 = (await send('PutObjectCommand', { Bucket: bucket, Key: 'k', Body: 'one' })).VersionId;
    const v2 = (await send('PutObjectCommand', { Bucket: bucket, Key: 'k', Body: 'two' })).VersionId;
    assert.ok(v1 && v2 && v1 !== v2, `${v1} ${v2}`);
    const old = await send('GetObjectCommand', { Bucket: bucket, Key: 'k', VersionId: v1 });
    assert.equal(await old.Body.transformToString(), 'one');
    assert.equal(old.VersionId, v1);

    const del = await send('DeleteObjectCommand', { Bucket: bucket, Key: 'k' });
    assert.equal(del.DeleteMarker, true);
    const marker = del.VersionId;
    await expectError(send('GetObjectCommand', { Bucket: bucket, Key: 'k' }), 'NoSuchKey', 404);

    const listed = await send('ListObjectVersionsCommand', { Bucket: bucket });
    assert.deepEqual(listed.Versions.map((v) => [v.VersionId, v.IsLatest]), [[v2, false], [v1, false]]);
    assert.deepEqual(listed.DeleteMarkers.map((m) => [m.VersionId, m.IsLatest]), [[marker, true]]);

    // Removing the marker by id brings the newest version back.
    await send('DeleteObjectCommand', { Bucket: bucket, Key: 'k', VersionId: marker });
    const back = await send('GetObjectCommand', { Bucket: bucket, Key: 'k' });
    assert.equal(await back.Body.transformToString(), 'two');

    // Paged listing by key and version-id markers sees every version once.
    for (let i = 0; i < 3; i++) await send('PutObjectCommand', { Bucket: bucket, Key: `p${i}`, Body: `${i}` });
    const seen = [];
    let markers = {};
    for (let pages = 0; ; pages++) {  // ListObjectVersions has no SDK paginator: the markers by hand
      assert.ok(pages < 10, 'paging does not end');
      const page = await send('ListObjectVersionsCommand', { Bucket: bucket, MaxKeys: 2, ...markers });
      (page.Versions || []).forEach((v) => seen.push(`${v.Key}@${v.VersionId}`));
      (page.DeleteMarkers || []).forEach((m) => seen.push(`${m.Key}@${m.VersionId}`));
      if (!page.IsTruncated) break;
      markers = { KeyMarker: page.NextKeyMarker, VersionIdMarker: page.NextVersionIdMarker };
    }
    assert.equal(seen.length, 5);
    assert.equal(new Set(seen).size, 5);

    // Empty the bucket version by version, then delete it.
    const entries = seen.map((s) => { const [Key, VersionId] = s.split('@'); return { Key, VersionId }; });
    const removed = await send('DeleteObjectsCommand', { Bucket: bucket, Delete: { Objects: entries } });
    assert.equal((removed.Deleted || []).length, 5);
    assert.equal((removed.Errors || []).length, 0);
    const empty = await send('ListObjectVersionsCommand', { Bucket: bucket });
    assert.equal((empty.Versions || []).length + (empty.DeleteMarkers || []).length, 0);
    await send('DeleteBucketCommand', { Bucket: bucket });
    return { versions: seen.length };
  },

  // Tags, lifecycle rules and default encryption as the SDK writes and reads them.
  async tagging_lifecycle_encryption() {
    await send('CreateBucketCommand', { Bucket: bucket });
    const put = await send('PutObjectCommand', { Bucket: bucket, Key: 'logs/a', Body: 'x', Tagging: 'team=edge&tier=hot' });
    assert.equal(put.ServerSideEncryption, 'AES256');  // SSE-S3 by default, as in S3
    const got = await send('GetObjectCommand', { Bucket: bucket, Key: 'logs/a' });
    assert.equal(got.TagCount, 2);
    assert.equal(await got.Body.transformToString(), 'x');  // an unread body would hold the socket open
    await send('PutObjectTaggingCommand', { Bucket: bucket, Key: 'logs/a',
      Tagging: { TagSet: [{ Key: 'team', Value: 'core' }] } });
    const tags = await send('GetObjectTaggingCommand', { Bucket: bucket, Key: 'logs/a' });
    assert.deepEqual(tags.TagSet, [{ Key: 'team', Value: 'core' }]);
    const tooMany = Array.from({ length: 11 }, (_, i) => ({ Key: `k${i}`, Value: 'v' }));
    await expectError(send('PutObjectTaggingCommand', { Bucket: bucket, Key: 'logs/a', Tagging: { TagSet: tooMany } }),
      'InvalidTag', 400);

    await send('PutBucketLifecycleConfigurationCommand', { Bucket: bucket, LifecycleConfiguration: { Rules: [
      { ID: 'expire-logs', Status: 'Enabled', Filter: { Prefix: 'logs/' }, Expiration: { Days: 30 } },
      { ID: 'old-versions', Status: 'Enabled', Filter: {}, NoncurrentVersionExpiration: { NoncurrentDays: 7 },
        AbortIncompleteMultipartUpload: { DaysAfterInitiation: 2 } },
    ] } });
    const rules = await send('GetBucketLifecycleConfigurationCommand', { Bucket: bucket });
    assert.deepEqual(rules.Rules.map((r) => r.ID).sort(), ['expire-logs', 'old-versions']);
    const head = await send('HeadObjectCommand', { Bucket: bucket, Key: 'logs/a' });
    assert.match(head.Expiration || '', /rule-id="expire-logs"/);

    await send('PutBucketEncryptionCommand', { Bucket: bucket, ServerSideEncryptionConfiguration: {
      Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] } });
    const enc = await send('GetBucketEncryptionCommand', { Bucket: bucket });
    assert.equal(enc.ServerSideEncryptionConfiguration.Rules[0].ApplyServerSideEncryptionByDefault.SSEAlgorithm,
      'AES256');
    await send('DeleteObjectCommand', { Bucket: bucket, Key: 'logs/a' });
    await send('DeleteBucketLifecycleCommand', { Bucket: bucket });
    await send('DeleteBucketCommand', { Bucket: bucket });
    return {};
  },

  // Object Lock: a version under COMPLIANCE retention cannot be deleted, by
  // anyone; GOVERNANCE yields to the bypass header.
  async object_lock() {
    await send('CreateBucketCommand', { Bucket: bucket, ObjectLockEnabledForBucket: true });
    const until = new Date(Date.now() + 3600 * 1000);
    const gov = (await send('PutObjectCommand', { Bucket: bucket, Key: 'g', Body: 'g',
      ObjectLockMode: 'GOVERNANCE', ObjectLockRetainUntilDate: until })).VersionId;
    const comp = (await send('PutObjectCommand', { Bucket: bucket, Key: 'c', Body: 'c' })).VersionId;
    await send('PutObjectRetentionCommand', { Bucket: bucket, Key: 'c', VersionId: comp,
      Retention: { Mode: 'COMPLIANCE', RetainUntilDate: until } });
    const retention = await send('GetObjectRetentionCommand', { Bucket: bucket, Key: 'c', VersionId: comp });
    assert.equal(retention.Retention.Mode, 'COMPLIANCE');
    await send('PutObjectLegalHoldCommand', { Bucket: bucket, Key: 'g', VersionId: gov, LegalHold: { Status: 'ON' } });
    assert.equal((await send('GetObjectLegalHoldCommand', { Bucket: bucket, Key: 'g', VersionId: gov }))
      .LegalHold.Status, 'ON');

    await expectError(send('DeleteObjectCommand', { Bucket: bucket, Key: 'c', VersionId: comp }), 'AccessDenied', 403);
    await expectError(send('DeleteObjectCommand', { Bucket: bucket, Key: 'g', VersionId: gov,
      BypassGovernanceRetention: true }), 'AccessDenied', 403);  // the legal hold still holds
    await send('PutObjectLegalHoldCommand', { Bucket: bucket, Key: 'g', VersionId: gov, LegalHold: { Status: 'OFF' } });
    await expectError(send('DeleteObjectCommand', { Bucket: bucket, Key: 'g', VersionId: gov }), 'AccessDenied', 403);
    await send('DeleteObjectCommand', { Bucket: bucket, Key: 'g', VersionId: gov, BypassGovernanceRetention: true });
    const left = await send('ListObjectVersionsCommand', { Bucket: bucket });
    assert.deepEqual((left.Versions || []).map((v) => v.VersionId), [comp]);
    return {};
  },
};

const name = process.argv[2];
try {
  if (!scenarios[name]) throw new Error(`unknown scenario ${name}`);
  const info = await scenarios[name]();
  console.log(JSON.stringify({ ok: true, scenario: name, sdk: sdkVersion, info }));
} catch (e) {
  console.error(`scenario ${name} failed (sdk ${sdkVersion}):`, e && e.stack ? e.stack : e);
  if (e && e.$metadata) console.error('metadata:', JSON.stringify(e.$metadata), 'code:', e.Code || e.name);
  if (e && e.$response) console.error('raw response status:', e.$response.statusCode);
  console.error('wire:', JSON.stringify(wire.slice(-3)));
  process.exit(1);
}
