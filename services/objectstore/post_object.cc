// PostObject: an upload from an HTML form (POST /bucket, multipart/form-data).
// The fields before the file are read (20 KB at most, as S3), the form is
// authenticated by its signed policy (or the request's own signature, or
// not at all), the policy's conditions and the caller's permission to
// s3:PutObject the key are checked, and then the file streams through the
// shared write path (DataWriter, CommitObject) like a PutObject body.

#include <algorithm>

#include "appliance/auth/sigv2_verifier.h"
#include "appliance/auth/sigv4_verifier.h"
#include "appliance/core/co_status.h"
#include "appliance/core/strings.h"
#include "appliance/http/api_error.h"
#include "services/objectstore/body_receiver.h"
#include "services/objectstore/form_data_parser.h"
#include "services/objectstore/handlers.h"
#include "services/objectstore/object_encryption.h"
#include "services/objectstore/object_headers.h"
#include "services/objectstore/object_key.h"
#include "services/objectstore/object_lock.h"
#include "services/objectstore/object_write.h"
#include "services/objectstore/post_policy.h"
#include "services/objectstore/public_access_block.h"
#include "services/objectstore/tagging.h"

namespace annex::objectstore {
namespace {

// What S3 accepts before the file: its "fields preceding the upload file".
constexpr size_t kMaxFieldBytes = 20 * 1024;

Status InvalidArgument(std::string message) { return http::ApiStatus("InvalidArgument", std::move(message)); }

Status MissingField(std::string_view name) {
  return InvalidArgument("Bucket POST must contain a field named '" + std::string(name) +
                         "'.  If it is specified, please check the order of the fields.");
}

// The fields before the file, and the file's name for ${filename}.
struct PostForm {
  PostFields fields;
  std::string filename;
};

// Everything decided before the file is read.
struct PostUpload {
  std::string key;
  http::Headers headers;  // the fields that PutObject takes as headers
  ObjectMetadata meta;
  std::optional<AccessControlList> acl;
  ChecksumRequest checksum;
  LengthRange length;
  TagSet tags;  // the `tagging` field: a Tagging document
  EncryptionRequest encryption;
  std::string website_redirect;
  ObjectLockState lock;  // x-amz-object-lock-* fields
};

// The name a browser sends, without the path some send with it.
std::string BaseName(std::string_view filename) {
  size_t slash = filename.find_last_of("/\\");
  return std::string(slash == std::string_view::npos ? filename : filename.substr(slash + 1));
}

// Reads the body until the file part begins (fields after the file are ignored, as in S3).
http::Task<Result<PostForm>> ReadFields(S3Call& call, FormDataParser& parser) {
  PostForm form;
  size_t bytes = 0;
  while (true) {
    ANNEX_CO_ASSIGN_OR_RETURN(FormDataParser::Event event, parser.Next());
    switch (event) {
      case FormDataParser::Event::kNeedMore: {
        std::span<char> space = parser.Space();
        ANNEX_CO_ASSIGN_OR_RETURN(size_t n, co_await call.ctx.body.Read(space));
        if (n == 0) parser.CommitEnd();
        parser.Commit(n);
        break;
      }
      case FormDataParser::Event::kPartBegin:
        if (EqualsIgnoreCase(parser.head().name, "file")) {
          form.filename = BaseName(parser.head().filename.value_or(""));
          co_return form;
        }
        form.fields.push_back({ToLower(parser.head().name), ""});
        bytes += parser.head().name.size();
        break;
      case FormDataParser::Event::kData:
        bytes += parser.data().size();
        if (bytes > kMaxFieldBytes) {
          co_return http::ApiStatus("MaxPostPreDataLengthExceededError",
                                    "Your POST request fields preceding the upload file were too large.");
        }
        form.fields.back().value.append(parser.data());
        break;
      case FormDataParser::Event::kPartEnd:
        break;
      case FormDataParser::Event::kEnd:
        co_return InvalidArgument("POST requires exactly one file upload per request.");
    }
  }
}

// The form's signer becomes the caller; without a policy the request's own
// signature (or none) stands. Returns the policy to check the form against.
Result<std::optional<PostPolicy>> Authenticate(S3Call& call, const PostFields& fields) {
  const std::string* policy = FindPostField(fields, "policy");
  const std::string* signature = FindPostField(fields, "x-amz-signature");
  const std::string* algorithm = FindPostField(fields, "x-amz-algorithm");
  const std::string* credential = FindPostField(fields, "x-amz-credential");
  const std::string* date = FindPostField(fields, "x-amz-date");
  const std::string* v2_signature = FindPostField(fields, "signature");
  const std::string* v2_key = FindPostField(fields, "awsaccesskeyid");
  const bool v4 = signature || algorithm || credential || date;
  const bool v2 = v2_signature || v2_key;
  if (!policy) {
    if (v4 || v2) return MissingField("policy");
    return std::optional<PostPolicy>();
  }
  if (!v4 && !v2) return http::ApiStatus("AccessDenied", "Access Denied");
  const ObjectStoreOptions& options = call.store.options();
  if (!options.credentials) return http::ApiStatus("AccessDenied", "Access Denied");
  std::string_view token;
  if (const std::string* t = FindPostField(fields, "x-amz-security-token")) token = *t;
  Result<auth::Principal> signer = http::ApiStatus("AccessDenied", "Access Denied");
  if (v4) {
    if (!signature) return MissingField("X-Amz-Signature");
    if (!algorithm) return MissingField("X-Amz-Algorithm");
    if (!credential) return MissingField("X-Amz-Credential");
    if (!date) return MissingField("X-Amz-Date");
    auth::SigV4Verifier verifier(*options.credentials, call.ctx.clock, options.region);
    signer = verifier.VerifyPostPolicy(*policy, {*algorithm, *credential, *date, *signature, token});
  } else {
    if (!v2_key) return MissingField("AWSAccessKeyId");
    if (!v2_signature) return MissingField("Signature");
    auth::SigV2Verifier verifier(*options.credentials, call.ctx.clock, options.virtual_host_suffixes);
    signer = verifier.VerifyPostPolicy(*policy, *v2_key, *v2_signature, token);
  }
  if (!signer.ok()) return signer.status();
  call.ctx.principal = std::move(*signer);
  ANNEX_ASSIGN_OR_RETURN(PostPolicy parsed, ParsePostPolicy(*policy));
  return std::optional<PostPolicy>(std::move(parsed));
}

// The fields PutObject reads from headers, under their header names.
http::Headers HeadersOf(const PostFields& fields) {
  static constexpr std::string_view kHeaderFields[] = {
      "cache-control",    "content-type", "content-disposition", "content-encoding",
      "content-language", "expires",      "content-md5",         "x-amz-sdk-checksum-algorithm",
      "x-amz-website-redirect-location", "x-amz-object-lock-mode", "x-amz-object-lock-retain-until-date",
      "x-amz-object-lock-legal-hold"};
  http::Headers headers;
  for (const PostField& f : fields) {
    bool take = StartsWith(f.name, "x-amz-meta-") || StartsWith(f.name, "x-amz-checksum-") ||
                std::find(std::begin(kHeaderFields), std::end(kHeaderFields), f.name) != std::end(kHeaderFields);
    if (take) headers.Add(f.name, f.value);
    if (f.name == "acl") headers.Add("x-amz-acl", f.value);
  }
  return headers;
}

// Key, signature, policy and permission: everything S3 checks before it stores a byte.
Result<PostUpload> Prepare(S3Call& call, const BucketRecord& bucket, PostForm& form) {
  PostField* key_field = nullptr;
  for (PostField& f : form.fields) {
    if (f.name == "key" && !key_field) key_field = &f;
  }
  if (!key_field) return MissingField("key");
  constexpr std::string_view kFilename = "${filename}";
  std::string& key = key_field->value;
  for (size_t at = 0; (at = key.find(kFilename, at)) != std::string::npos; at += form.filename.size()) {
    key.replace(at, kFilename.size(), form.filename);  // never again inside the name put in
  }
  PostUpload up;
  up.key = key_field->value;
  if (up.key.empty()) return InvalidArgument("User key must have a length greater than 0.");
  ANNEX_RETURN_IF_ERROR(ValidateObjectKey(up.key));
  ANNEX_ASSIGN_OR_RETURN(std::optional<PostPolicy> policy, Authenticate(call, form.fields));
  if (policy) {
    ANNEX_RETURN_IF_ERROR(CheckPostPolicy(*policy, form.fields, call.bucket(), call.ctx.clock.Now()));
    up.length = AllowedLength(*policy);
  }
  up.headers = HeadersOf(form.fields);
  ANNEX_ASSIGN_OR_RETURN(up.meta, ParseObjectMetadata(up.headers));
  ANNEX_ASSIGN_OR_RETURN(up.acl, ParseAclHeaders(up.headers, bucket.owner_id));
  ANNEX_ASSIGN_OR_RETURN(up.checksum, ParseChecksumRequest(up.headers));
  ANNEX_RETURN_IF_ERROR(CheckContentMd5Syntax(up.headers));
  ANNEX_ASSIGN_OR_RETURN(up.website_redirect, ParseWebsiteRedirect(up.headers));
  ANNEX_ASSIGN_OR_RETURN(up.encryption, ParseEncryptionRequest(up.headers, call.request().tls,
                                                               call.store.options().encrypt_by_default));
  if (const std::string* tagging = FindPostField(form.fields, "tagging")) {
    ANNEX_ASSIGN_OR_RETURN(up.tags, ParseTaggingDocument(*tagging, kMaxObjectTags));
  }
  call.address.key = up.key;  // the resource authorized: arn:aws:s3:::bucket/key
  call.form_headers = &up.headers;
  Status allowed = AuthorizeS3(call, bucket, Access::kWrite);
  call.form_headers = nullptr;  // `up` moves out
  ANNEX_RETURN_IF_ERROR(allowed);
  ANNEX_RETURN_IF_ERROR(CheckAclSettable(bucket, up.acl));
  ANNEX_ASSIGN_OR_RETURN(up.lock, ObjectLockForWrite(call, bucket, up.headers));
  return up;
}

// Streams the file part into `writer` and reads the rest of the body, so a
// body cut short stores nothing. The policy's size range ends it early.
http::Task<Result<uint64_t>> ReceiveFile(S3Call& call, FormDataParser& parser, DataWriter& writer,
                                         const LengthRange& length) {
  uint64_t size = 0;
  bool in_file = true;
  bool body_read = false;
  while (true) {
    ANNEX_CO_ASSIGN_OR_RETURN(FormDataParser::Event event, parser.Next());
    if (event == FormDataParser::Event::kEnd) break;
    if (event == FormDataParser::Event::kNeedMore) {
      ANNEX_CO_ASSIGN_OR_RETURN(size_t n, co_await call.ctx.body.Read(parser.Space()));
      if (n == 0) parser.CommitEnd();
      body_read = n == 0;
      parser.Commit(n);
    } else if (event == FormDataParser::Event::kPartEnd) {
      in_file = false;
    } else if (event == FormDataParser::Event::kData && in_file) {
      size += parser.data().size();
      if (size > kMaxPutSize) {
        co_return http::ApiStatus("EntityTooLarge", "Your proposed upload exceeds the maximum allowed size");
      }
      if (size > length.max) co_return CheckLength(length, size);
      ANNEX_CO_RETURN_IF_ERROR(co_await writer.Append(parser.data()));
    }
  }
  // What follows the closing delimiter is read too: a body signed in the
  // request's headers is verified when it ends.
  char rest[4096];
  while (!body_read) {
    ANNEX_CO_ASSIGN_OR_RETURN(size_t n, co_await call.ctx.body.Read(rest));
    body_read = n == 0;
  }
  ANNEX_CO_RETURN_IF_ERROR(CheckLength(length, size));
  co_return size;
}

// The object's URL as the client reached the bucket (path or virtual host).
std::string LocationOf(const S3Call& call, std::string_view key) {
  const http::Request& r = call.request();
  std::string host(r.headers.GetOr("host", ""));
  std::string url = std::string(r.tls ? "https://" : "http://") + host + "/";
  if (!StartsWith(ToLower(r.HostWithoutPort()), ToLower(call.bucket()) + ".")) url += call.bucket() + "/";
  return url + UriEncode(key, /*keep_slash=*/false);
}

// success_action_redirect (or the older `redirect`) when it is an http(s)
// URL; else success_action_status 200, 201 (the PostResponse document) or 204.
http::Response SuccessResponse(const S3Call& call, const PostFields& fields, const ObjectRecord& record) {
  std::string etag = QuoteEtag(record.etag);
  const std::string* redirect = FindPostField(fields, "success_action_redirect");
  if (!redirect) redirect = FindPostField(fields, "redirect");
  if (redirect && (StartsWith(*redirect, "http://") || StartsWith(*redirect, "https://")) &&
      redirect->find_first_of(" \t\r\n") == std::string::npos) {
    http::Response r = EmptyResponse(303);
    std::string query = "bucket=" + UriEncode(call.bucket(), false) + "&key=" + UriEncode(record.key, false) +
                        "&etag=" + UriEncode(etag, false);
    r.headers.Set("location", *redirect + (redirect->find('?') == std::string::npos ? "?" : "&") + query);
    r.headers.Set("etag", etag);
    return r;
  }
  const std::string* status = FindPostField(fields, "success_action_status");
  std::string location = LocationOf(call, record.key);
  http::Response r;
  if (status && *status == "201") {
    http::XmlDocument doc("PostResponse");
    doc.root().Add("Location", location).Add("Bucket", call.bucket()).Add("Key", record.key).Add("ETag", etag);
    r = XmlResponse(doc.Render(), 201);
  } else {
    r = EmptyResponse(status && *status == "200" ? 200 : 204);
  }
  r.headers.Set("etag", etag);
  r.headers.Set("location", location);
  return r;
}

}  // namespace

http::Task<Status> PostObject(S3Call& call) {
  FormContentType type = ParseFormContentType(call.headers().GetOr("content-type", ""));
  if (!type.is_form_data) {
    co_return http::ApiStatus("PreconditionFailed", "At least one of the pre-conditions you specified did not hold");
  }
  if (type.boundary.empty()) co_return MalformedPostRequest();
  if (call.request().content_length.value_or(0) > kMaxPutSize + kMaxFieldBytes) {
    co_return http::ApiStatus("EntityTooLarge", "Your proposed upload exceeds the maximum allowed size");
  }
  BucketRecord bucket;
  {
    ANNEX_CO_ASSIGN_OR_RETURN(store::ReadTxn txn, call.store.meta().BeginRead());
    ANNEX_CO_ASSIGN_OR_RETURN(bucket, LoadBucket(txn, call.store.meta().tables(), call.bucket()));
  }
  FormDataParser parser(type.boundary);
  ANNEX_CO_ASSIGN_OR_RETURN(PostForm form, co_await ReadFields(call, parser));
  ANNEX_CO_ASSIGN_OR_RETURN(PostUpload up, Prepare(call, bucket, form));
  DataKey key = NewDataKey(call.store.keys(), up.encryption);
  DataWriter writer(call.store.files(), call.ctx.blocking, call.store.options().inline_threshold,
                    up.checksum.algorithm, key.raw);
  ANNEX_CO_ASSIGN_OR_RETURN(uint64_t size, co_await ReceiveFile(call, parser, writer, up.length));
  call.ctx.bytes_in += size;
  const http::Headers no_trailers;
  ANNEX_CO_ASSIGN_OR_RETURN(WrittenData data, co_await writer.Finish([&](const WrittenData& d) {
    ANNEX_RETURN_IF_ERROR(VerifyContentMd5(up.headers, d.md5));
    return VerifyChecksum(up.checksum, no_trailers, d.checksum);
  }));
  ObjectRecord record = NewObjectRecord(up.key, bucket, data, call.store.NowMillis(), up.checksum.algorithm);
  record.acl = AclOrPrivate(std::move(up.acl), bucket.owner_id);
  record.meta = std::move(up.meta);
  record.tags = std::move(up.tags);
  record.website_redirect = std::move(up.website_redirect);
  record.lock = up.lock;
  SetEncryption(record, up.encryption, key);
  ANNEX_CO_ASSIGN_OR_RETURN(std::vector<std::string> replaced,
                            co_await CommitObject(call, record, WriteConditions{}, /*owns_data=*/true));
  http::Response r = SuccessResponse(call, form.fields, record);
  if (up.checksum.algorithm) r.headers.Set(crypto::ChecksumHeaderName(*up.checksum.algorithm), record.checksum_value);
  AddVersionIdHeader(bucket, record, r.headers);
  AddEncryptionHeaders(record.sse, record.sse_customer_key_md5, r.headers);
  Status sent = co_await call.ctx.response.Send(std::move(r));
  co_await call.store.RemoveDataFiles(call.ctx.blocking, std::move(replaced));
  co_return sent;
}

}  // namespace annex::objectstore
