#include "services/registry/image_transfer_api.h"

#include <array>
#include <nlohmann/json.hpp>
#include <vector>

#include "appliance/core/co_status.h"
#include "appliance/core/log.h"
#include "appliance/core/strings.h"
#include "appliance/http/api_error.h"
#include "appliance/os/random.h"
#include "services/registry/image_export.h"
#include "services/registry/image_import.h"
#include "services/registry/image_tag.h"
#include "services/registry/registry_authorize.h"
#include "services/registry/repository_name.h"

namespace annex::registry {
namespace {

using Json = nlohmann::json;

// The largest archive an import takes; the spool file lives on the data partition.
constexpr uint64_t kMaxImportBytes = uint64_t{64} << 30;
constexpr size_t kSpoolChunk = size_t{1} << 20;

// What a push and a pull of the same images would need.
constexpr std::array<std::string_view, 5> kPushActions = {"ecr:BatchCheckLayerAvailability",
                                                          "ecr:InitiateLayerUpload", "ecr:UploadLayerPart",
                                                          "ecr:CompleteLayerUpload", "ecr:PutImage"};
constexpr std::array<std::string_view, 2> kPullActions = {"ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"};

Status Denied(std::string message) { return http::ApiStatus("AccessDeniedException", std::move(message)); }

// `action` on repository `name` (with its policy when `repo` exists), as
// registry_authorize.h decides for every API.
Status Ask(const Registry& registry, const service::RequestContext& ctx, std::string_view action,
           std::string_view name, const RepositoryRecord* repo) {
  const std::string& account = ctx.principal.account_id;
  RegistryAccess access{std::string(action), registry.RepositoryArn(account, name), account, repo};
  Status s = AuthorizeRegistry(registry, ctx, access);
  if (s.code() == StatusCode::kPermissionDenied) return Denied(s.message());
  return s;
}

// Push rights on `name`; creating it too when it does not exist yet.
Status AuthorizePush(Registry& registry, const service::RequestContext& ctx, const std::string& name) {
  Result<RepositoryRecord> repo = registry.store->GetRepository(ctx.principal.account_id, name);
  if (!repo.ok() && !repo.status().IsNotFound()) return repo.status();
  const RepositoryRecord* record = repo.ok() ? &*repo : nullptr;
  if (!record) ANNEX_RETURN_IF_ERROR(Ask(registry, ctx, "ecr:CreateRepository", name, nullptr));
  for (std::string_view action : kPushActions) ANNEX_RETURN_IF_ERROR(Ask(registry, ctx, action, name, record));
  return Status::OK();
}

// The distribution API's codes the store uses (NAME_UNKNOWN, MANIFEST_UNKNOWN…).
bool IsDistributionCode(std::string_view code) {
  return !code.empty() && code.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ_") == std::string_view::npos;
}

// The store's and the reader's errors in the ECR API's words, with ECR's
// statuses (400, as every ECR client error): a missing repository is
// RepositoryNotFoundException, a missing image ImageNotFoundException, a
// bad archive or reference InvalidParameterException. ECR codes pass through.
Status AsApiError(const Status& s) {
  if (s.ok() || (!s.subcode().empty() && !IsDistributionCode(s.subcode()))) return s;
  const std::string& code = s.subcode();
  if (code == "NAME_UNKNOWN") return http::ApiStatus("RepositoryNotFoundException", s.message());
  if (code == "MANIFEST_UNKNOWN" || s.code() == StatusCode::kNotFound) {
    return http::ApiStatus("ImageNotFoundException", s.message());
  }
  switch (s.code()) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kCorruption:
    case StatusCode::kFailedPrecondition:
      return http::ApiStatus("InvalidParameterException", s.message());
    default:
      return code.empty() ? s : Status(s.code(), s.message());  // no distribution code on this API
  }
}

std::string SpoolDir(const Registry& registry) { return os::JoinPath(registry.env.data_dir, "import-spool"); }

// An import in flight is a record beside its spool file: "receiving", then
// "importing". At startup FailInterruptedImports (below) fails the ones a
// restart interrupted.
Status RecordImport(const Registry& registry, const std::string& id, std::string_view state, std::string_view account) {
  Json record{{"id", id}, {"state", state}, {"account", account}};
  return os::WriteFileAtomic(*registry.env.fs, os::JoinPath(SpoolDir(registry), id + ".json"), record.dump(), 0600);
}

// Writes the request body to `path`, at most kMaxImportBytes; disk writes
// go to the blocking pool, a chunk at a time.
http::Task<Status> SpoolBody(Registry& registry, service::RequestContext& ctx, const std::string& path) {
  os::FileSystem& fs = *registry.env.fs;
  ANNEX_CO_ASSIGN_OR_RETURN(os::WritableFilePtr file, co_await ctx.blocking.Run([&] {
    return fs.NewWritableFile(path, 0600);
  }));
  std::vector<char> buf(kSpoolChunk);
  for (bool eof = false; !eof;) {
    size_t filled = 0;
    while (filled < buf.size()) {
      ANNEX_CO_ASSIGN_OR_RETURN(size_t n, co_await ctx.body.Read(std::span<char>(buf.data() + filled,
                                                                               buf.size() - filled)));
      if (n == 0) {
        eof = true;
        break;
      }
      filled += n;
    }
    ctx.bytes_in += filled;
    if (ctx.bytes_in > kMaxImportBytes) {
      co_return http::ApiStatus("LimitExceededException", "The archive is larger than the " +
                                                              std::to_string(kMaxImportBytes) + " bytes allowed");
    }
    if (filled == 0) break;
    ANNEX_CO_RETURN_IF_ERROR(co_await ctx.blocking.Run([&] {
      return file->Append(std::string_view(buf.data(), filled));
    }));
  }
  co_return co_await ctx.blocking.Run([&] { return file->Close(); });
}

Json ImportedJson(const std::vector<ImportedImage>& images) {
  Json out = Json::array();
  for (const ImportedImage& i : images) {
    Json j{{"repositoryName", i.repository}, {"imageDigest", i.digest}, {"imageManifestMediaType", i.media_type},
           {"imageSizeInBytes", i.size}};
    if (!i.tag.empty()) j["imageTag"] = i.tag;
    out.push_back(std::move(j));
  }
  return Json{{"images", out}};
}

http::Task<Status> HandleImport(Registry& registry, service::RequestContext& ctx) {
  ctx.operation = "ImportImage";
  const std::string* repository = ctx.request.query.Get("repository");
  ImportOptions options;
  if (repository && !repository->empty()) {
    options.repository = *repository;
    // Refused before a byte is spooled: the caller named where it goes.
    Result<ImageReference> ref = ParseImageReference(*repository);
    std::string name = ref.ok() && !ref->repository.empty() ? ref->repository : *repository;
    ANNEX_CO_RETURN_IF_ERROR(ValidateRepositoryName(name, "repository"));
    size_t colon = repository->rfind(':'), slash = repository->rfind('/');
    if (ref.ok() && colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
      ANNEX_CO_RETURN_IF_ERROR(ValidateImageTag(repository->substr(colon + 1), "repository"));
    }
    ANNEX_CO_RETURN_IF_ERROR(co_await ctx.blocking.Run([&] { return AuthorizePush(registry, ctx, name); }));
  }
  if (ctx.request.content_length.value_or(0) > kMaxImportBytes) {
    co_return http::ApiStatus("LimitExceededException",
                              "The archive is larger than the " + std::to_string(kMaxImportBytes) + " bytes allowed");
  }
  const std::string id = os::RandomHex(16);
  const std::string path = os::JoinPath(SpoolDir(registry), id + ".tar");
  const std::string& account = ctx.principal.account_id;
  ANNEX_CO_RETURN_IF_ERROR(co_await ctx.blocking.Run([&] {
    ANNEX_RETURN_IF_ERROR(registry.env.fs->CreateDirs(SpoolDir(registry)));
    return RecordImport(registry, id, "receiving", account);
  }));
  Status spooled = co_await SpoolBody(registry, ctx, path);
  options.authorize = [&](const std::string& name, bool) { return AuthorizePush(registry, ctx, name); };
  Result<std::vector<ImportedImage>> imported = co_await ctx.blocking.Run([&]() -> Result<std::vector<ImportedImage>> {
    if (!spooled.ok()) return spooled;
    ANNEX_RETURN_IF_ERROR(RecordImport(registry, id, "importing", account));
    return ImportArchive(registry, account, path, options);
  });
  co_await ctx.blocking.Run([&] {
    registry.env.fs->Remove(path).IgnoreError();
    registry.env.fs->Remove(os::JoinPath(SpoolDir(registry), id + ".json")).IgnoreError();
    return 0;
  });
  if (!imported.ok()) {
    log::Info("registry: image import refused", {{"account", account}, {"error", imported.status().ToString()}});
    co_return AsApiError(imported.status());
  }
  http::Response response;
  response.headers.Set("content-type", "application/json");
  response.body = ImportedJson(*imported).dump();
  co_return co_await ctx.response.Send(std::move(response));
}

http::Task<Status> HandleExport(Registry& registry, service::RequestContext& ctx) {
  ctx.operation = "ExportImage";
  const std::string* image = ctx.request.query.Get("image");
  if (!image || image->empty()) co_return http::ApiStatus("InvalidParameterException", "image=REPOSITORY:TAG is required");
  std::string name = *image, reference = "latest";
  if (size_t at = name.find('@'); at != std::string::npos) {
    reference = name.substr(at + 1);
    name.resize(at);
  } else if (size_t colon = name.rfind(':'); colon != std::string::npos && name.find('/', colon) == std::string::npos) {
    reference = name.substr(colon + 1);
    name.resize(colon);
  }
  ANNEX_CO_RETURN_IF_ERROR(ValidateRepositoryName(name, "image"));
  const std::string& account = ctx.principal.account_id;
  Result<ImageExport> prepared = co_await ctx.blocking.Run([&]() -> Result<ImageExport> {
    Result<RepositoryRecord> repo = registry.store->GetRepository(account, name);
    if (!repo.ok() && !repo.status().IsNotFound()) return repo.status();
    for (std::string_view action : kPullActions) {
      ANNEX_RETURN_IF_ERROR(Ask(registry, ctx, action, name, repo.ok() ? &*repo : nullptr));
    }
    if (!repo.ok()) {
      return http::ApiStatus("RepositoryNotFoundException", "The repository with name '" + name +
                                                                "' does not exist in the registry with id '" +
                                                                account + "'");
    }
    return PrepareExport(registry, account, name, reference);
  });
  if (!prepared.ok() && prepared.status().subcode() == "MANIFEST_UNKNOWN") {
    co_return http::ApiStatus("ImageNotFoundException", "The image '" + reference +
                                                            "' does not exist within the repository with name '" +
                                                            name + "' in the registry with id '" + account + "'");
  }
  if (!prepared.ok()) co_return AsApiError(prepared.status());
  http::Response head;
  head.headers.Set("content-type", "application/x-tar");
  head.headers.Set("docker-content-digest", prepared->digest);
  ANNEX_CO_RETURN_IF_ERROR(co_await ctx.response.SendHead(std::move(head), prepared->archive_bytes));
  for (const ExportEntry& e : prepared->entries) {
    ANNEX_CO_RETURN_IF_ERROR(co_await ctx.response.SendBody(TarHeader(e.name, e.size)));
    if (e.file) ANNEX_CO_RETURN_IF_ERROR(co_await ctx.response.SendFile(*e.file, 0, e.size));
    else ANNEX_CO_RETURN_IF_ERROR(co_await ctx.response.SendBody(e.content));
    ANNEX_CO_RETURN_IF_ERROR(co_await ctx.response.SendBody(std::string(TarPadding(e.size), '\0')));
    ctx.bytes_out += 512 + e.size + TarPadding(e.size);
  }
  ctx.bytes_out += kTarTrailerBytes;
  co_return co_await ctx.response.SendBody(std::string(kTarTrailerBytes, '\0'));
}

}  // namespace

http::Task<Status> HandleImageTransfer(Registry& registry, service::RequestContext& ctx) {
  if (ctx.principal.anonymous) {
    co_return http::ApiStatus("AccessDeniedException", "Image transfer requests must be signed (SigV4, service ecr)");
  }
  std::string_view op = std::string_view(ctx.request.path).substr(kImageTransferPrefix.size());
  if (op == "import" && ctx.request.method == "POST") co_return co_await HandleImport(registry, ctx);
  if (op == "export" && ctx.request.method == "GET") co_return co_await HandleExport(registry, ctx);
  co_return http::ApiStatus("InvalidParameterException",
                            "Unknown image transfer request: " + ctx.request.method + " " + ctx.request.path);
}

size_t FailInterruptedImports(const Registry& registry) {
  os::FileSystem& fs = *registry.env.fs;
  Result<std::vector<std::string>> names = fs.ListDir(SpoolDir(registry));
  if (!names.ok()) return 0;  // no import ever ran
  size_t failed = 0;
  for (const std::string& name : *names) {
    std::string path = os::JoinPath(SpoolDir(registry), name);
    if (name.ends_with(".json")) {
      Result<std::string> record = os::ReadFileToString(fs, path);
      log::Warn("registry: an image import was interrupted by a restart and has failed",
                {{"record", record.ok() ? *record : name}});
      ++failed;
    }
    fs.Remove(path).IgnoreError();
  }
  return failed;
}

}  // namespace annex::registry
