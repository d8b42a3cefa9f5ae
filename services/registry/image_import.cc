#include "services/registry/image_import.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <tuple>

#include "appliance/http/api_error.h"
#include "services/registry/image_tag.h"
#include "services/registry/manifest.h"
#include "services/registry/repository_name.h"

namespace annex::registry {
namespace {

Status Refuse(std::string why) { return Status::InvalidArgument(std::move(why)); }

// Where one manifest of the plan is stored: a repository and a tag (empty
// for an index's child).
struct Target {
  std::string repository;
  std::string tag;
  bool operator<(const Target& o) const { return std::tie(repository, tag) < std::tie(o.repository, o.tag); }
};

// The targets of every manifest, from the archive's names and the override.
Result<std::vector<std::set<Target>>> AssignTargets(const ArchivePlan& plan, std::string_view override_ref) {
  std::optional<ImageReference> forced;
  if (!override_ref.empty()) {
    ANNEX_ASSIGN_OR_RETURN(ImageReference r, ParseImageReference(override_ref));
    // A bare name is a repository here, not a tag; a tag is only taken when written out.
    if (r.repository.empty()) r = {std::string(override_ref), ""};
    else if (size_t colon = override_ref.rfind(':'), slash = override_ref.rfind('/');
             colon == std::string_view::npos || (slash != std::string_view::npos && colon < slash))
      r.tag.clear();
    forced = r;
  }
  std::vector<std::set<Target>> targets(plan.manifests.size());
  for (size_t i = 0; i < plan.manifests.size(); ++i) {
    const ArchiveManifest& m = plan.manifests[i];
    std::vector<ImageReference> refs = m.references;
    bool is_child = refs.empty() && std::any_of(plan.manifests.begin(), plan.manifests.end(), [&](const auto& p) {
      return std::find(p.children.begin(), p.children.end(), i) != p.children.end();
    });
    if (refs.empty() && !is_child) refs.push_back({"", ""});
    for (ImageReference r : refs) {
      if (forced) {
        r.repository = forced->repository;
        if (!forced->tag.empty()) r.tag = forced->tag;
      }
      if (r.tag.empty()) r.tag = "latest";
      // Archive names (RepoTags, ref.name) and --repository alike: one rule for every tag.
      ANNEX_RETURN_IF_ERROR(ValidateImageTag(r.tag, forced && !forced->tag.empty() ? "repository" : "RepoTags"));
      if (r.repository.empty()) {
        return Refuse("the archive does not name a repository for its image" +
                      (m.references.empty() ? std::string() : " tagged '" + r.tag + "'") +
                      ": name one (--repository)");
      }
      targets[i].insert({r.repository, r.tag});
    }
  }
  // An index's children go untagged to every repository the index goes to
  // (children come first in the plan, so walk it backwards).
  for (size_t i = plan.manifests.size(); i-- > 0;) {
    for (size_t c : plan.manifests[i].children) {
      for (const Target& t : targets[i]) targets[c].insert({t.repository, ""});
    }
  }
  return targets;
}

// Sends the archive's blobs into the registry store as uploads, each to the
// first repository that needs it and mounted into the others.
class StoreSink final : public BlobSink {
 public:
  StoreSink(Registry& registry, std::string_view account, const ArchivePlan& plan,
            std::vector<std::vector<std::string>> repos_by_blob)
      : registry_(registry), account_(account), plan_(plan), repos_by_blob_(std::move(repos_by_blob)) {}

  bool Wants(const ArchiveBlob& blob) override {
    for (const std::string& repo : Repos(blob)) {
      if (!registry_.store->RepositoryBlob(account_, repo, blob.digest).ok()) return true;
    }
    return false;
  }
  Status PutWhole(const ArchiveBlob& blob, std::string_view content) override {
    for (const std::string& repo : Repos(blob)) {
      ANNEX_ASSIGN_OR_RETURN(std::string digest, registry_.store->PutBlob(account_, repo, content));
      if (digest != blob.digest) return Status::Internal("a stored blob's digest changed: " + digest);
    }
    return Status::OK();
  }
  Status Begin(const ArchiveBlob& blob) override {
    current_ = &Repos(blob);
    ANNEX_ASSIGN_OR_RETURN(UploadRecord upload, registry_.store->StartUpload(account_, current_->front()));
    uuid_ = upload.uuid;
    offset_ = 0;
    return Status::OK();
  }
  Status Write(std::string_view chunk) override {
    ANNEX_ASSIGN_OR_RETURN(offset_, registry_.blobs->Append(uuid_, offset_, chunk));
    return Status::OK();
  }
  Status Commit(const std::string& digest) override {
    ANNEX_RETURN_IF_ERROR(registry_.store->CompleteUpload(uuid_, digest).status());
    uuid_.clear();
    for (size_t i = 1; i < current_->size(); ++i) {
      ANNEX_RETURN_IF_ERROR(registry_.store->MountBlob(account_, (*current_)[i], digest, current_->front()));
    }
    return Status::OK();
  }
  void Abort() override {
    if (!uuid_.empty()) registry_.store->CancelUpload(uuid_).IgnoreError();  // expiry removes it otherwise
    uuid_.clear();
  }

 private:
  const std::vector<std::string>& Repos(const ArchiveBlob& blob) const {
    return repos_by_blob_[static_cast<size_t>(&blob - plan_.blobs.data())];
  }

  Registry& registry_;
  std::string account_;
  const ArchivePlan& plan_;
  std::vector<std::vector<std::string>> repos_by_blob_;
  const std::vector<std::string>* current_ = nullptr;
  std::string uuid_;
  uint64_t offset_ = 0;
};

// Authorizes, checks tag immutability and creates missing repositories
// (added to `created`) — all before a byte is stored.
Status PrepareRepositories(Registry& registry, std::string_view account, const ArchivePlan& plan,
                           const std::vector<std::set<Target>>& targets, const ImportOptions& options,
                           std::vector<std::string>& created) {
  std::map<std::string, std::vector<size_t>> by_repo;  // repository → manifests tagged into it
  for (size_t i = 0; i < targets.size(); ++i) {
    for (const Target& t : targets[i]) by_repo[t.repository].push_back(i);
  }
  for (const auto& [name, manifests] : by_repo) {
    ANNEX_RETURN_IF_ERROR(ValidateRepositoryName(name));
    Result<RepositoryRecord> repo = registry.store->GetRepository(account, name);
    if (!repo.ok() && !repo.status().IsNotFound()) return repo.status();
    if (options.authorize) ANNEX_RETURN_IF_ERROR(options.authorize(name, repo.ok()));
    if (!repo.ok()) {
      RepositoryRecord r;
      r.account = std::string(account);
      r.name = name;
      r.registry_id = std::string(account);
      r.created_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                         registry.env.clock->Now().time_since_epoch()).count();
      Status s = registry.store->CreateRepository(r);
      if (!s.ok() && s.code() != StatusCode::kAlreadyExists) return s;
      if (s.ok()) created.push_back(name);
      continue;
    }
    if (repo->tag_mutability != TagMutability::kImmutable) continue;
    for (size_t i : manifests) {
      for (const Target& t : targets[i]) {
        if (t.repository != name || t.tag.empty()) continue;
        Result<ManifestRecord> existing = registry.store->GetManifest(account, name, t.tag);
        if (existing.ok() && (plan.manifests[i].synthesized || existing->digest != plan.manifests[i].digest)) {
          return http::ApiStatus("ImageTagAlreadyExistsException",
                                 "The image tag '" + t.tag + "' already exists in the '" + name +
                                     "' repository and cannot be overwritten because the repository is immutable.");
        }
      }
    }
  }
  return Status::OK();
}

// For each blob of the plan, the repositories whose manifests use it.
std::vector<std::vector<std::string>> ReposByBlob(const ArchivePlan& plan,
                                                  const std::vector<std::set<Target>>& targets) {
  std::vector<std::set<std::string>> sets(plan.blobs.size());
  for (size_t i = 0; i < plan.manifests.size(); ++i) {
    for (size_t b : plan.manifests[i].blobs) {
      for (const Target& t : targets[i]) sets[b].insert(t.repository);
    }
  }
  std::vector<std::vector<std::string>> out;
  for (auto& s : sets) out.emplace_back(s.begin(), s.end());
  return out;
}

}  // namespace

Result<std::vector<ImportedImage>> ImportArchive(Registry& registry, std::string_view account, const std::string& path,
                                                 const ImportOptions& options) {
  ANNEX_ASSIGN_OR_RETURN(std::unique_ptr<ImageArchiveReader> reader,
                         ImageArchiveReader::Open(*registry.env.fs, path, options.limits));
  const ArchivePlan& plan = reader->plan();
  ANNEX_ASSIGN_OR_RETURN(std::vector<std::set<Target>> targets, AssignTargets(plan, options.repository));
  std::vector<std::string> created;
  Status prepared = PrepareRepositories(registry, account, plan, targets, options, created);
  StoreSink sink(registry, account, plan, ReposByBlob(plan, targets));
  Status streamed = prepared.ok() ? reader->StreamBlobs(sink, options.progress) : prepared;
  if (!streamed.ok()) {
    // A refused archive leaves no trace but unreferenced blobs (the
    // collector's): the repositories it created go again while empty.
    for (const std::string& name : created) registry.store->DeleteRepository(account, name, false).IgnoreError();
    return streamed;
  }

  // Manifests last: children before the indexes that list them.
  std::vector<ImportedImage> imported;
  for (size_t i = 0; i < plan.manifests.size(); ++i) {
    const ArchiveManifest& m = plan.manifests[i];
    Result<Manifest> parsed = ParseManifest(m.bytes, m.media_type);
    if (!parsed.ok()) return Refuse("manifest " + m.digest + ": " + parsed.status().message());
    for (const Target& t : targets[i]) {
      ANNEX_ASSIGN_OR_RETURN(RegistryStore::PutManifestResult put,
                             registry.store->PutManifest(account, t.repository, m.bytes, *parsed, t.tag));
      imported.push_back({t.repository, t.tag, put.digest, parsed->media_type, ImageSize(*parsed)});
    }
  }
  return imported;
}

Result<std::vector<ImportedImage>> ImportArchive(Registry& registry, std::string_view account, const std::string& path,
                                                 std::string_view repository, ProgressFn progress) {
  ImportOptions options;
  options.repository = std::string(repository);
  options.progress = std::move(progress);
  return ImportArchive(registry, account, path, options);
}

}  // namespace annex::registry
