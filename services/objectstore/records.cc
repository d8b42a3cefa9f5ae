#include "services/objectstore/records.h"

#include "appliance/store/record.h"
#include "services/objectstore/acl.h"
#include "services/objectstore/object_key.h"
#include "services/objectstore/sealed_data.h"

namespace annex::objectstore {
namespace {

// Version 2 added the bucket policy and the public access block; 3 the
// versioning state, the tags and the lifecycle configuration; 4 the ACL's
// grants, the ownership controls, the website configuration and the Object
// Lock configuration.
constexpr uint8_t kBucketVersion = 4;
// Version 2 added the version id, sequence, delete-marker flag and tags; 3
// the ACL's grants, the website redirect, the Object Lock state and the
// encryption at rest; 4 the hint to the key's noncurrent null version.
constexpr uint8_t kObjectVersion = 4;
// Version 2 added the checksum type and the tags; 3 the ACL's grants, the
// Object Lock state and the encryption; 4 the website redirect.
constexpr uint8_t kUploadVersion = 4;
// Version 2 added the wrapped data key.
constexpr uint8_t kPartVersion = 2;

using store::RecordReader;
using store::RecordWriter;

void WriteStrings(RecordWriter& w, const std::vector<std::string>& v) {
  w.U64(v.size());
  for (const auto& s : v) w.Bytes(s);
}

Status ReadStrings(RecordReader& r, std::vector<std::string>& out) {
  ANNEX_ASSIGN_OR_RETURN(uint64_t n, r.U64());
  out.clear();
  for (uint64_t i = 0; i < n; ++i) {
    ANNEX_ASSIGN_OR_RETURN(std::string s, r.Bytes());
    out.push_back(std::move(s));
  }
  return Status::OK();
}

Result<CannedAcl> ReadAcl(RecordReader& r) {
  ANNEX_ASSIGN_OR_RETURN(uint64_t v, r.U64());
  if (v > 1) return Status::Corruption("bad acl value");
  return static_cast<CannedAcl>(v);
}

// The old single-value field, still written for what it can say.
uint64_t LegacyAclValue(const AccessControlList& acl) {
  return static_cast<uint64_t>(HasAllUsersRead(acl) ? CannedAcl::kPublicRead : CannedAcl::kPrivate);
}

void WriteGrants(RecordWriter& w, const AccessControlList& acl) {
  w.U64(acl.size());
  for (const Grant& g : acl) w.U64(static_cast<uint64_t>(g.type)).Bytes(g.grantee).U64(static_cast<uint64_t>(g.permission));
}

Status ReadGrants(RecordReader& r, AccessControlList& acl) {
  ANNEX_ASSIGN_OR_RETURN(uint64_t n, r.U64());
  acl.clear();
  for (uint64_t i = 0; i < n; ++i) {
    Grant g;
    ANNEX_ASSIGN_OR_RETURN(uint64_t type, r.U64());
    ANNEX_ASSIGN_OR_RETURN(g.grantee, r.Bytes());
    ANNEX_ASSIGN_OR_RETURN(uint64_t permission, r.U64());
    if (type > 1 || permission > 4) return Status::Corruption("bad grant");
    g.type = static_cast<GranteeType>(type);
    g.permission = static_cast<Permission>(permission);
    acl.push_back(std::move(g));
  }
  return Status::OK();
}

void WriteMetadata(RecordWriter& w, const ObjectMetadata& m) {
  w.Bytes(m.content_type).Bytes(m.content_encoding).Bytes(m.content_disposition);
  w.Bytes(m.content_language).Bytes(m.cache_control).Bytes(m.expires);
  w.U64(m.user.size());
  for (const auto& [k, v] : m.user) w.Bytes(k).Bytes(v);
}

Status ReadMetadata(RecordReader& r, ObjectMetadata& m) {
  for (std::string* field : {&m.content_type, &m.content_encoding, &m.content_disposition, &m.content_language,
                             &m.cache_control, &m.expires}) {
    ANNEX_ASSIGN_OR_RETURN(*field, r.Bytes());
  }
  ANNEX_ASSIGN_OR_RETURN(uint64_t n, r.U64());
  m.user.clear();
  for (uint64_t i = 0; i < n; ++i) {
    ANNEX_ASSIGN_OR_RETURN(std::string k, r.Bytes());
    ANNEX_ASSIGN_OR_RETURN(std::string v, r.Bytes());
    m.user.emplace_back(std::move(k), std::move(v));
  }
  return Status::OK();
}

void WriteTags(RecordWriter& w, const TagSet& tags) {
  w.U64(tags.size());
  for (const auto& [k, v] : tags) w.Bytes(k).Bytes(v);
}

Status ReadTags(RecordReader& r, TagSet& tags) {
  ANNEX_ASSIGN_OR_RETURN(uint64_t n, r.U64());
  tags.clear();
  for (uint64_t i = 0; i < n; ++i) {
    ANNEX_ASSIGN_OR_RETURN(std::string k, r.Bytes());
    ANNEX_ASSIGN_OR_RETURN(std::string v, r.Bytes());
    tags.emplace_back(std::move(k), std::move(v));
  }
  return Status::OK();
}

Result<LockMode> ReadLockMode(RecordReader& r) {
  ANNEX_ASSIGN_OR_RETURN(uint64_t v, r.U64());
  if (v > 2) return Status::Corruption("bad object lock mode");
  return static_cast<LockMode>(v);
}

// The legal hold as 0 (never put), 1 (OFF), 2 (ON).
void WriteLockState(RecordWriter& w, const ObjectLockState& l) {
  const uint64_t hold = l.legal_hold ? 2 : l.legal_hold_set ? 1 : 0;
  w.U64(static_cast<uint64_t>(l.mode)).I64(l.retain_until_ms).U64(hold);
}

Status ReadLockState(RecordReader& r, ObjectLockState& l) {
  ANNEX_ASSIGN_OR_RETURN(l.mode, ReadLockMode(r));
  ANNEX_ASSIGN_OR_RETURN(l.retain_until_ms, r.I64());
  ANNEX_ASSIGN_OR_RETURN(uint64_t hold, r.U64());
  if (hold > 2) return Status::Corruption("bad legal hold");
  l.legal_hold = hold == 2;
  l.legal_hold_set = hold != 0;
  return Status::OK();
}

Result<Sse> ReadSse(RecordReader& r) {
  ANNEX_ASSIGN_OR_RETURN(uint64_t v, r.U64());
  if (v > 2) return Status::Corruption("bad encryption kind");
  return static_cast<Sse>(v);
}

Status CheckVersion(const RecordReader& r, uint8_t want) {
  if (r.version() != want) return Status::Corruption("unknown record version " + std::to_string(r.version()));
  return Status::OK();
}

Status ReadCors(RecordReader& r, std::vector<CorsRule>& rules) {
  ANNEX_ASSIGN_OR_RETURN(uint64_t n, r.U64());
  rules.clear();
  for (uint64_t i = 0; i < n; ++i) {
    CorsRule rule;
    ANNEX_ASSIGN_OR_RETURN(rule.id, r.Bytes());
    ANNEX_RETURN_IF_ERROR(ReadStrings(r, rule.allowed_origins));
    ANNEX_RETURN_IF_ERROR(ReadStrings(r, rule.allowed_methods));
    ANNEX_RETURN_IF_ERROR(ReadStrings(r, rule.allowed_headers));
    ANNEX_RETURN_IF_ERROR(ReadStrings(r, rule.expose_headers));
    ANNEX_ASSIGN_OR_RETURN(rule.max_age_seconds, r.I64());
    rules.push_back(std::move(rule));
  }
  return Status::OK();
}

// The fields version 2 added: the policy and the public access block.
Status ReadBucketAccess(RecordReader& r, BucketRecord& b) {
  ANNEX_ASSIGN_OR_RETURN(b.policy, r.Bytes());
  ANNEX_ASSIGN_OR_RETURN(b.policy_id, r.U64());
  ANNEX_ASSIGN_OR_RETURN(bool has_block, r.Bool());
  if (!has_block) return Status::OK();
  PublicAccessBlock p;
  for (bool* field : {&p.block_public_acls, &p.ignore_public_acls, &p.block_public_policy, &p.restrict_public_buckets}) {
    ANNEX_ASSIGN_OR_RETURN(*field, r.Bool());
  }
  b.public_access_block = p;
  return Status::OK();
}

}  // namespace

std::string EncodeBucket(const BucketRecord& b) {
  RecordWriter w(kBucketVersion);
  w.Bytes(b.owner_id).Bytes(b.owner_name).I64(b.created_ms).Bytes(b.region).U64(LegacyAclValue(b.acl));
  w.U64(b.cors.size());
  for (const auto& rule : b.cors) {
    w.Bytes(rule.id);
    WriteStrings(w, rule.allowed_origins);
    WriteStrings(w, rule.allowed_methods);
    WriteStrings(w, rule.allowed_headers);
    WriteStrings(w, rule.expose_headers);
    w.I64(rule.max_age_seconds);
  }
  w.Bytes(b.policy).U64(b.policy_id);
  w.Bool(b.public_access_block.has_value());
  if (b.public_access_block) {
    const PublicAccessBlock& p = *b.public_access_block;
    w.Bool(p.block_public_acls).Bool(p.ignore_public_acls).Bool(p.block_public_policy).Bool(p.restrict_public_buckets);
  }
  w.U64(static_cast<uint64_t>(b.versioning));
  WriteTags(w, b.tags);
  w.Bytes(b.lifecycle);
  // Version 4: ACL grants, ownership controls, website.
  WriteGrants(w, b.acl);
  w.U64(b.ownership ? static_cast<uint64_t>(*b.ownership) + 1 : 0);
  w.Bytes(b.website);
  const BucketObjectLock& lock = b.object_lock;
  w.Bool(lock.enabled).U64(static_cast<uint64_t>(lock.default_mode)).U64(lock.default_days).U64(lock.default_years);
  return std::move(w).Finish();
}

Result<BucketRecord> DecodeBucket(std::string_view data) {
  RecordReader r(data);
  if (r.version() < 1 || r.version() > kBucketVersion) ANNEX_RETURN_IF_ERROR(CheckVersion(r, kBucketVersion));
  BucketRecord b;
  ANNEX_ASSIGN_OR_RETURN(b.owner_id, r.Bytes());
  ANNEX_ASSIGN_OR_RETURN(b.owner_name, r.Bytes());
  ANNEX_ASSIGN_OR_RETURN(b.created_ms, r.I64());
  ANNEX_ASSIGN_OR_RETURN(b.region, r.Bytes());
  ANNEX_ASSIGN_OR_RETURN(CannedAcl legacy_acl, ReadAcl(r));
  ANNEX_RETURN_IF_ERROR(ReadCors(r, b.cors));
  if (r.version() >= 2) ANNEX_RETURN_IF_ERROR(ReadBucketAccess(r, b));
  if (r.version() >= 3) {
    ANNEX_ASSIGN_OR_RETURN(uint64_t versioning, r.U64());
    if (versioning > 2) return Status::Corruption("bad versioning state");
    b.versioning = static_cast<Versioning>(versioning);
    ANNEX_RETURN_IF_ERROR(ReadTags(r, b.tags));
    ANNEX_ASSIGN_OR_RETURN(b.lifecycle, r.Bytes());
  }
  if (r.version() >= 4) {
    ANNEX_RETURN_IF_ERROR(ReadGrants(r, b.acl));
    ANNEX_ASSIGN_OR_RETURN(uint64_t ownership, r.U64());
    if (ownership > 3) return Status::Corruption("bad object ownership");
    b.ownership = ownership == 0 ? std::nullopt : std::optional(static_cast<ObjectOwnership>(ownership - 1));
    ANNEX_ASSIGN_OR_RETURN(b.website, r.Bytes());
    BucketObjectLock& lock = b.object_lock;
    ANNEX_ASSIGN_OR_RETURN(lock.enabled, r.Bool());
    ANNEX_ASSIGN_OR_RETURN(lock.default_mode, ReadLockMode(r));
    ANNEX_ASSIGN_OR_RETURN(uint64_t days, r.U64());
    ANNEX_ASSIGN_OR_RETURN(uint64_t years, r.U64());
    lock.default_days = static_cast<uint32_t>(days);
    lock.default_years = static_cast<uint32_t>(years);
  } else {
    b.acl = CannedAclGrants(legacy_acl == CannedAcl::kPublicRead ? "public-read" : "private", b.owner_id);
    b.ownership = std::nullopt;  // buckets from before ownership controls keep their ACLs working
  }
  ANNEX_RETURN_IF_ERROR(r.Finish());
  return b;
}

std::string EncodeObject(const ObjectRecord& o) {
  RecordWriter w(kObjectVersion);
  w.Bytes(o.key).U64(o.size).I64(o.modified_ms).Bytes(o.etag).Bytes(o.owner_id).Bytes(o.owner_name);
  w.U64(LegacyAclValue(o.acl));
  WriteMetadata(w, o.meta);
  w.Bytes(o.checksum_algorithm).Bytes(o.checksum_value).U64(o.parts_count);
  w.U64(o.segments.size());
  for (const auto& s : o.segments) w.Bytes(s.file_id).U64(s.size).Bytes(s.checksum);
  w.Bytes(o.version_id).U64(o.version_seq).Bool(o.delete_marker);
  WriteTags(w, o.tags);
  WriteGrants(w, o.acl);  // version 3: the ACL, the website redirect
  w.Bytes(o.website_redirect);
  WriteLockState(w, o.lock);
  w.U64(static_cast<uint64_t>(o.sse)).Bytes(o.inline_key).Bytes(o.sse_customer_key_md5);
  for (const auto& seg : o.segments) w.Bytes(seg.wrapped_key);
  w.U64(static_cast<uint64_t>(o.noncurrent_null.kind)).U64(o.noncurrent_null.seq);  // version 4
  // Last, so listings can stop before it.
  w.Bytes(o.inline_data);
  return std::move(w).Finish();
}

Result<ObjectRecord> DecodeObject(std::string_view data, bool with_data) {
  ObjectRecord o;
  ANNEX_RETURN_IF_ERROR(DecodeObjectInto(data, with_data, o));
  return o;
}

Status DecodeObjectInto(std::string_view data, bool with_data, ObjectRecord& o) {
  RecordReader r(data);
  if (r.version() < 1 || r.version() > kObjectVersion) ANNEX_RETURN_IF_ERROR(CheckVersion(r, kObjectVersion));
  o = ObjectRecord();
  ANNEX_ASSIGN_OR_RETURN(o.key, r.Bytes());
  ANNEX_ASSIGN_OR_RETURN(o.size, r.U64());
  ANNEX_ASSIGN_OR_RETURN(o.modified_ms, r.I64());
  ANNEX_ASSIGN_OR_RETURN(o.etag, r.Bytes());
  ANNEX_ASSIGN_OR_RETURN(o.owner_id, r.Bytes());
  ANNEX_ASSIGN_OR_RETURN(o.owner_name, r.Bytes());
  ANNEX_ASSIGN_OR_RETURN(CannedAcl legacy_acl, ReadAcl(r));
  ANNEX_RETURN_IF_ERROR(ReadMetadata(r, o.meta));
  ANNEX_ASSIGN_OR_RETURN(o.checksum_algorithm, r.Bytes());
  ANNEX_ASSIGN_OR_RETURN(o.checksum_value, r.Bytes());
  ANNEX_ASSIGN_OR_RETURN(uint64_t parts, r.U64());
  o.parts_count = static_cast<uint32_t>(parts);
  ANNEX_ASSIGN_OR_RETURN(uint64_t nseg, r.U64());
  uint64_t total = 0;
  for (uint64_t i = 0; i < nseg; ++i) {
    Segment s;
    ANNEX_ASSIGN_OR_RETURN(s.file_id, r.Bytes());
    ANNEX_ASSIGN_OR_RETURN(s.size, r.U64());
    ANNEX_ASSIGN_OR_RETURN(s.checksum, r.Bytes());
    total += s.size;
    o.segments.push_back(std::move(s));
  }
  if (r.version() >= 2) {
    ANNEX_ASSIGN_OR_RETURN(o.version_id, r.Bytes());
    ANNEX_ASSIGN_OR_RETURN(o.version_seq, r.U64());
    ANNEX_ASSIGN_OR_RETURN(o.delete_marker, r.Bool());
    ANNEX_RETURN_IF_ERROR(ReadTags(r, o.tags));
  } else {
    o.version_seq = static_cast<uint64_t>(o.modified_ms) * 1000000;  // a version-1 record: its null version
  }
  if (r.version() >= 3) {
    ANNEX_RETURN_IF_ERROR(ReadGrants(r, o.acl));
    ANNEX_ASSIGN_OR_RETURN(o.website_redirect, r.Bytes());
    ANNEX_RETURN_IF_ERROR(ReadLockState(r, o.lock));
    ANNEX_ASSIGN_OR_RETURN(o.sse, ReadSse(r));
    ANNEX_ASSIGN_OR_RETURN(o.inline_key, r.Bytes());
    ANNEX_ASSIGN_OR_RETURN(o.sse_customer_key_md5, r.Bytes());
    for (auto& seg : o.segments) {
      ANNEX_ASSIGN_OR_RETURN(seg.wrapped_key, r.Bytes());
    }
  } else {
    o.acl = CannedAclGrants(legacy_acl == CannedAcl::kPublicRead ? "public-read" : "private", o.owner_id);
  }
  if (r.version() >= 4) {
    ANNEX_ASSIGN_OR_RETURN(uint64_t kind, r.U64());
    if (kind > static_cast<uint64_t>(NullVersionHint::Kind::kAt)) return Status::Corruption("bad null version hint");
    o.noncurrent_null.kind = static_cast<NullVersionHint::Kind>(kind);
    ANNEX_ASSIGN_OR_RETURN(o.noncurrent_null.seq, r.U64());
  }
  ANNEX_ASSIGN_OR_RETURN(std::string_view inline_data, r.BytesView());
  ANNEX_RETURN_IF_ERROR(r.Finish());
  // Segment sizes count plaintext; encrypted inline bytes are sealed chunks.
  uint64_t stored = o.segments.empty() ? inline_data.size() : total;
  uint64_t expected = o.segments.empty() && o.sse != Sse::kNone ? SealedSize(o.size) : o.size;
  if (stored != expected) return Status::Corruption("object size does not match its data");
  if (with_data) o.inline_data.assign(inline_data);
  return Status::OK();
}

std::string EncodeUpload(const UploadRecord& u) {
  RecordWriter w(kUploadVersion);
  w.Bytes(u.key).Bytes(u.upload_id).I64(u.initiated_ms).Bytes(u.owner_id).Bytes(u.owner_name);
  w.U64(LegacyAclValue(u.acl));
  WriteMetadata(w, u.meta);
  w.Bytes(u.checksum_algorithm).Bytes(u.checksum_type);
  WriteTags(w, u.tags);
  WriteGrants(w, u.acl);  // version 3
  WriteLockState(w, u.lock);
  w.U64(static_cast<uint64_t>(u.sse)).Bytes(u.sse_customer_key_md5);
  w.Bytes(u.website_redirect);  // version 4
  return std::move(w).Finish();
}

Result<UploadRecord> DecodeUpload(std::string_view data) {
  RecordReader r(data);
  if (r.version() < 1 || r.version() > kUploadVersion) ANNEX_RETURN_IF_ERROR(CheckVersion(r, kUploadVersion));
  UploadRecord u;
  ANNEX_ASSIGN_OR_RETURN(u.key, r.Bytes());
  ANNEX_ASSIGN_OR_RETURN(u.upload_id, r.Bytes());
  ANNEX_ASSIGN_OR_RETURN(u.initiated_ms, r.I64());
  ANNEX_ASSIGN_OR_RETURN(u.owner_id, r.Bytes());
  ANNEX_ASSIGN_OR_RETURN(u.owner_name, r.Bytes());
  ANNEX_ASSIGN_OR_RETURN(CannedAcl legacy_acl, ReadAcl(r));
  ANNEX_RETURN_IF_ERROR(ReadMetadata(r, u.meta));
  ANNEX_ASSIGN_OR_RETURN(u.checksum_algorithm, r.Bytes());
  if (r.version() >= 2) {
    ANNEX_ASSIGN_OR_RETURN(u.checksum_type, r.Bytes());
    ANNEX_RETURN_IF_ERROR(ReadTags(r, u.tags));
  } else if (!u.checksum_algorithm.empty()) {
    u.checksum_type = "COMPOSITE";  // the only kind version 1 knew
  }
  if (r.version() >= 3) {
    ANNEX_RETURN_IF_ERROR(ReadGrants(r, u.acl));
    ANNEX_RETURN_IF_ERROR(ReadLockState(r, u.lock));
    ANNEX_ASSIGN_OR_RETURN(u.sse, ReadSse(r));
    ANNEX_ASSIGN_OR_RETURN(u.sse_customer_key_md5, r.Bytes());
  } else {
    u.acl = CannedAclGrants(legacy_acl == CannedAcl::kPublicRead ? "public-read" : "private", u.owner_id);
  }
  if (r.version() >= 4) {
    ANNEX_ASSIGN_OR_RETURN(u.website_redirect, r.Bytes());
  }
  ANNEX_RETURN_IF_ERROR(r.Finish());
  return u;
}

std::string EncodePart(const PartRecord& p) {
  RecordWriter w(kPartVersion);
  w.U64(p.number).U64(p.size).Bytes(p.etag).I64(p.modified_ms).Bytes(p.file_id).Bytes(p.checksum_value);
  w.Bytes(p.wrapped_key);
  return std::move(w).Finish();
}

Result<PartRecord> DecodePart(std::string_view data) {
  RecordReader r(data);
  if (r.version() != 1) ANNEX_RETURN_IF_ERROR(CheckVersion(r, kPartVersion));
  PartRecord p;
  ANNEX_ASSIGN_OR_RETURN(uint64_t number, r.U64());
  if (number < 1 || number > 10000) return Status::Corruption("bad part number");
  p.number = static_cast<uint32_t>(number);
  ANNEX_ASSIGN_OR_RETURN(p.size, r.U64());
  ANNEX_ASSIGN_OR_RETURN(p.etag, r.Bytes());
  ANNEX_ASSIGN_OR_RETURN(p.modified_ms, r.I64());
  ANNEX_ASSIGN_OR_RETURN(p.file_id, r.Bytes());
  ANNEX_ASSIGN_OR_RETURN(p.checksum_value, r.Bytes());
  if (r.version() >= 2) {
    ANNEX_ASSIGN_OR_RETURN(p.wrapped_key, r.Bytes());
  }
  ANNEX_RETURN_IF_ERROR(r.Finish());
  return p;
}

std::string EncodeUploadKey(std::string_view bucket, std::string_view key, std::string_view upload_id) {
  std::string out = EncodeObjectKey(bucket, key);
  out.push_back('\0');
  out.append(upload_id);
  return out;
}

std::string EncodePartKey(std::string_view upload_id, uint32_t part_number) {
  std::string out(upload_id);
  store::AppendBigEndian32(out, part_number);
  return out;
}

}  // namespace annex::objectstore
