// Blob uploads: POST starts one (or uploads a whole blob with ?digest=,
// or mounts one from another repository with ?mount=&from=), PATCH
// appends a chunk, PUT ?digest= finishes it with an optional last chunk,
// GET reports its progress and DELETE cancels it.
//
// Bodies stream in large chunks from the socket to the upload file, each
// appended on the blocking pool; the blob store hashes as it appends, and
// publishes nothing whose bytes do not match the digest. One request at a
// time may write an upload: a second, concurrent one is refused
// (BLOB_UPLOAD_INVALID) rather than interleaved. Upload records and files
// outlive a restart, so a client resumes where GET says it stopped.

#include <optional>

#include "appliance/core/co_status.h"
#include "appliance/core/strings.h"
#include "services/registry/digest.h"
#include "services/registry/distribution_call.h"
#include "services/registry/distribution_errors.h"

namespace annex::registry {
namespace {

// Socket reads gather this much before one append: few pool hand-offs and
// large writes, at a bounded cost per upload in flight.
constexpr size_t kChunkBytes = size_t{4} << 20;

Status Busy() {
  return DistributionError("BLOB_UPLOAD_INVALID", "another request is writing this upload; retry when it is done");
}

std::string UploadLocation(const DistributionCall& call, std::string_view uuid) {
  return "/v2/" + call.path.name + "/blobs/uploads/" + std::string(uuid);
}

// The Range header of an upload holding `size` bytes ("0-0" when empty, as distribution says it).
std::string RangeOf(uint64_t size) { return "0-" + std::to_string(size == 0 ? 0 : size - 1); }

http::Response Accepted(const DistributionCall& call, std::string_view uuid, uint64_t size, int status = 202) {
  http::Response r = DistributionResponse(status);
  r.headers.Set("location", UploadLocation(call, uuid));
  r.headers.Set("docker-upload-uuid", uuid);
  r.headers.Set("range", RangeOf(size));
  return r;
}

http::Response Created(const DistributionCall& call, std::string_view digest) {
  http::Response r = DistributionResponse(201);
  r.headers.Set("location", "/v2/" + call.path.name + "/blobs/" + std::string(digest));
  r.headers.Set("docker-content-digest", digest);
  return r;
}

// The upload the path names, if it belongs to the path's repository.
Result<UploadRecord> LoadUpload(DistributionCall& call) {
  const std::string& uuid = call.path.reference;
  if (!IsValidUploadId(uuid)) return DistributionError("BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry");
  Result<UploadRecord> upload = call.store().GetUpload(uuid);
  if (!upload.ok() && !upload.status().IsNotFound()) return upload.status();
  if (!upload.ok() || upload->account != call.account || upload->repository != call.path.name) {
    return DistributionError("BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry");
  }
  return upload;
}

Task<Result<uint64_t>> UploadSize(DistributionCall& call, const std::string& uuid) {
  co_return co_await call.ctx.blocking.Run([&] { return call.blobs().UploadSize(uuid); });
}

// Appends the request body to the upload from `offset`; returns its new
// size. A body cut short still keeps what arrived, so the client can resume.
Task<Result<uint64_t>> AppendBody(DistributionCall& call, const std::string& uuid, uint64_t offset) {
  std::string buffer(kChunkBytes, '\0');
  for (bool eof = false, cut = false; !eof;) {
    size_t used = 0;
    while (used < buffer.size() && !eof) {
      Result<size_t> n = co_await call.ctx.body.Read(std::span<char>(buffer.data() + used, buffer.size() - used));
      cut = !n.ok();
      eof = cut || *n == 0;
      if (!eof) used += *n;
    }
    if (used > 0) {
      std::string_view data(buffer.data(), used);
      Result<uint64_t> size =
          co_await call.ctx.blocking.Run([&] { return call.blobs().Append(uuid, offset, data); });
      if (!size.ok()) co_return size.status();
      offset = *size;
      call.ctx.bytes_in += used;
    }
    if (cut) co_return DistributionError("BLOB_UPLOAD_INVALID", "the request body was cut short");
  }
  co_return offset;
}

// A PATCH's Content-Range ("<start>-<end>", optionally after "bytes"), which
// must continue the upload where it stands.
Status CheckContentRange(const http::Request& request, uint64_t size) {
  const std::string* header = request.headers.Get("content-range");
  if (!header) return Status::OK();
  std::string_view v = Trim(*header);
  if (StartsWith(v, "bytes")) v = Trim(v.substr(5));
  if (!v.empty() && (v.front() == '=')) v = Trim(v.substr(1));
  size_t dash = v.find('-');
  std::optional<uint64_t> first = dash == std::string_view::npos ? std::nullopt : ParseUint(v.substr(0, dash));
  std::optional<uint64_t> last = dash == std::string_view::npos ? std::nullopt : ParseUint(v.substr(dash + 1));
  if (!first || !last || *last < *first) {
    return DistributionError("RANGE_INVALID", "invalid Content-Range: " + std::string(v.substr(0, 64)));
  }
  if (*first != size) {
    return DistributionError("RANGE_INVALID", "Content-Range starts at " + std::to_string(*first) +
                                                  " but the upload holds " + std::to_string(size) + " bytes");
  }
  if (request.content_length && *request.content_length != *last - *first + 1) {
    return DistributionError("SIZE_INVALID", "Content-Range and Content-Length disagree");
  }
  return Status::OK();
}

Task<Status> SendWithRange(DistributionCall& call, const Status& failure, const std::string& uuid) {
  // A refused range tells the client where the upload stands, so it can resume.
  http::Response r = RenderDistributionError(failure);
  Result<uint64_t> size = co_await UploadSize(call, uuid);
  if (size.ok()) r.headers.Set("range", RangeOf(*size));
  r.headers.Set("location", UploadLocation(call, uuid));
  r.headers.Set("docker-upload-uuid", uuid);
  co_return co_await call.ctx.response.Send(std::move(r));
}

Task<Status> PatchUpload(DistributionCall& call) {
  call.ctx.operation = "UploadLayerPart";
  ANNEX_CO_RETURN_IF_ERROR(AuthorizeRepository(call, "ecr:UploadLayerPart").status());
  ANNEX_CO_ASSIGN_OR_RETURN(UploadRecord upload, LoadUpload(call));
  Result<BlobStore::UploadLease> lease = call.blobs().Lease(upload.uuid);
  if (!lease.ok()) co_return Busy();
  ANNEX_CO_ASSIGN_OR_RETURN(uint64_t size, co_await UploadSize(call, upload.uuid));
  Status range = CheckContentRange(call.request(), size);
  if (!range.ok()) {
    lease->Release();
    co_return co_await SendWithRange(call, range, upload.uuid);
  }
  Result<uint64_t> appended = co_await AppendBody(call, upload.uuid, size);
  if (!appended.ok() && appended.status().code() == StatusCode::kOutOfRange) {
    lease->Release();
    co_return co_await SendWithRange(call, DistributionError("RANGE_INVALID", appended.status().message()),
                                     upload.uuid);
  }
  ANNEX_CO_RETURN_IF_ERROR(appended.status());
  // What is acknowledged survives a crash: a resumed upload continues from it.
  ANNEX_CO_RETURN_IF_ERROR(co_await call.ctx.blocking.Run([&] { return call.blobs().SyncUpload(upload.uuid); }));
  lease->Release();
  co_return co_await call.ctx.response.Send(Accepted(call, upload.uuid, *appended));
}

// Appends the body, if any, then publishes the upload as `digest`.
Task<Result<uint64_t>> Finish(DistributionCall& call, const std::string& uuid, const std::string& digest) {
  ANNEX_CO_ASSIGN_OR_RETURN(uint64_t size, co_await UploadSize(call, uuid));
  ANNEX_CO_RETURN_IF_ERROR((co_await AppendBody(call, uuid, size)).status());
  co_return co_await call.ctx.blocking.Run([&] { return call.store().CompleteUpload(uuid, digest); });
}

Result<std::string> DigestParam(const DistributionCall& call) {
  const std::string* digest = call.request().query.Get("digest");
  if (!digest || !IsValidDigest(*digest)) {
    return DistributionError("DIGEST_INVALID", "provided digest is missing or not a sha256 digest");
  }
  return *digest;
}

Task<Status> PutUpload(DistributionCall& call) {
  call.ctx.operation = "CompleteLayerUpload";
  ANNEX_CO_RETURN_IF_ERROR(AuthorizeRepository(call, "ecr:CompleteLayerUpload").status());
  ANNEX_CO_ASSIGN_OR_RETURN(UploadRecord upload, LoadUpload(call));
  ANNEX_CO_ASSIGN_OR_RETURN(std::string digest, DigestParam(call));
  Result<BlobStore::UploadLease> lease = call.blobs().Lease(upload.uuid);
  if (!lease.ok()) co_return Busy();
  ANNEX_CO_RETURN_IF_ERROR((co_await Finish(call, upload.uuid, digest)).status());
  lease->Release();
  co_return co_await call.ctx.response.Send(Created(call, digest));
}

// POST ?mount=<digest>&from=<repo>: links the blob when the caller may
// read it in `from`; nullopt (start an upload instead) when it cannot.
Task<std::optional<Status>> TryMount(DistributionCall& call) {
  const std::string* digest = call.request().query.Get("mount");
  const std::string* from = call.request().query.Get("from");
  if (!digest || !from || !IsValidDigest(*digest) || !IsValidRepositoryName(*from)) co_return std::nullopt;
  // The source must be readable by the caller; if not, mounting quietly
  // falls back to an upload, as distribution does.
  if (!AuthorizeRepository(call, *from, "ecr:GetDownloadUrlForLayer").ok()) co_return std::nullopt;
  Status mounted = co_await call.ctx.blocking.Run(
      [&] { return call.store().MountBlob(call.account, call.path.name, *digest, *from); });
  if (mounted.IsNotFound()) co_return std::nullopt;
  if (!mounted.ok()) co_return mounted;
  call.ctx.operation = "MountBlob";
  co_return co_await call.ctx.response.Send(Created(call, *digest));
}

// POST ?digest=: the whole blob in one request. Nothing stays behind on failure.
Task<Status> MonolithicUpload(DistributionCall& call, const UploadRecord& upload) {
  call.ctx.operation = "UploadBlob";
  ANNEX_CO_RETURN_IF_ERROR(AuthorizeRepository(call, "ecr:CompleteLayerUpload").status());
  ANNEX_CO_ASSIGN_OR_RETURN(std::string digest, DigestParam(call));
  Result<uint64_t> size = co_await Finish(call, upload.uuid, digest);
  if (!size.ok()) {
    (co_await call.ctx.blocking.Run([&] { return call.store().CancelUpload(upload.uuid); })).IgnoreError();
    co_return size.status();
  }
  co_return co_await call.ctx.response.Send(Created(call, digest));
}

Task<Status> StartUpload(DistributionCall& call) {
  call.ctx.operation = "InitiateLayerUpload";
  ANNEX_CO_RETURN_IF_ERROR(AuthorizeRepository(call, "ecr:InitiateLayerUpload").status());
  if (call.request().query.Has("mount")) {
    std::optional<Status> mounted = co_await TryMount(call);
    if (mounted) co_return *mounted;
  }
  if (call.request().query.Has("digest")) ANNEX_CO_RETURN_IF_ERROR(DigestParam(call).status());
  Result<UploadRecord> upload =
      co_await call.ctx.blocking.Run([&] { return call.store().StartUpload(call.account, call.path.name); });
  ANNEX_CO_RETURN_IF_ERROR(upload.status());
  if (call.request().query.Has("digest")) co_return co_await MonolithicUpload(call, *upload);
  co_return co_await call.ctx.response.Send(Accepted(call, upload->uuid, 0));
}

// GET (where the upload stands) or DELETE (cancel it).
Task<Status> UploadStatus(DistributionCall& call, bool cancel) {
  call.ctx.operation = cancel ? "CancelLayerUpload" : "GetLayerUploadStatus";
  ANNEX_CO_RETURN_IF_ERROR(AuthorizeRepository(call, "ecr:InitiateLayerUpload").status());
  ANNEX_CO_ASSIGN_OR_RETURN(UploadRecord upload, LoadUpload(call));
  if (!cancel) {
    ANNEX_CO_ASSIGN_OR_RETURN(uint64_t size, co_await UploadSize(call, upload.uuid));
    co_return co_await call.ctx.response.Send(Accepted(call, upload.uuid, size, 204));
  }
  Result<BlobStore::UploadLease> lease = call.blobs().Lease(upload.uuid);
  if (!lease.ok()) co_return Busy();
  ANNEX_CO_RETURN_IF_ERROR(co_await call.ctx.blocking.Run([&] { return call.store().CancelUpload(upload.uuid); }));
  lease->Release();
  co_return co_await call.ctx.response.Send(DistributionResponse(204));
}

}  // namespace

Task<Status> HandleUploadRequest(DistributionCall& call) {
  const std::string& method = call.request().method;
  if (call.path.route == DistributionRoute::kUploads) {
    if (method == "POST") co_return co_await StartUpload(call);
  } else if (method == "PATCH") {
    co_return co_await PatchUpload(call);
  } else if (method == "PUT") {
    co_return co_await PutUpload(call);
  } else if (method == "GET" || method == "HEAD" || method == "DELETE") {
    co_return co_await UploadStatus(call, method == "DELETE");
  }
  co_return DistributionError("UNSUPPORTED", "The operation is unsupported.");
}

}  // namespace annex::registry
