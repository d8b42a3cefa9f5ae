#include "services/registry/registry_control.h"

#include <nlohmann/json.hpp>

#include "appliance/core/strings.h"
#include "appliance/os/file_system.h"
#include "services/registry/repository_name.h"
#include "services/registry/image_import.h"

namespace annex::registry {
namespace {

using Json = nlohmann::json;

// Feed ids are "<account>/<repo>" and "<account>/<repo>@<digest>" (registry_store.h).
struct FeedId {
  std::string account, repository, digest;
};

std::optional<FeedId> ParseFeedId(std::string_view id, bool image) {
  size_t slash = id.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  FeedId out{std::string(id.substr(0, slash)), std::string(id.substr(slash + 1)), ""};
  if (image) {
    size_t at = out.repository.rfind('@');
    if (at == std::string::npos) return std::nullopt;
    out.digest = out.repository.substr(at + 1);
    out.repository.resize(at);
  }
  return out;
}

// The archive an ImportImage command names: a plain file name or path
// below <data>/registry/imports/, never outside it.
Result<std::string> ImportPath(const Registry& registry, std::string_view path) {
  std::string imports = os::JoinPath(registry.env.data_dir, "imports");
  std::string_view rel = path;
  if (rel.starts_with(imports + "/")) rel.remove_prefix(imports.size() + 1);
  if (rel.empty() || rel.front() == '/') return Status::InvalidArgument("path must name an archive under " + imports);
  for (std::string_view part : Split(rel, '/')) {
    if (part.empty() || part == "." || part == "..") {
      return Status::InvalidArgument("path must name an archive under " + imports + " without . or .. components");
    }
  }
  return os::JoinPath(imports, rel);
}

class RegistryControl final : public service::ServiceControl {
 public:
  explicit RegistryControl(std::shared_ptr<Registry> registry) : registry_(std::move(registry)) {}

  std::string_view service() const override { return "ecr"; }

  Result<service::ResourceChanges> ChangesSince(uint64_t cursor, size_t max) override {
    RegistryStore& store = *registry_->store;
    service::ResourceChanges out;
    ANNEX_ASSIGN_OR_RETURN(store::ReadTxn txn, store.env().BeginRead());
    ANNEX_ASSIGN_OR_RETURN(service::ResourceFeed::Page page, store.feed().Since(txn, cursor, max));
    out.cursor = page.cursor;
    out.more = page.more;
    for (const service::FeedEntry& e : page.entries) {
      service::ResourceChange change{e.kind, e.id, "", e.version, e.deleted};
      if (!e.deleted) {
        std::optional<std::string> state = State(e);
        // Gone since the feed recorded the change: its deletion follows in the feed.
        if (!state) change.deleted = true;
        else change.state_json = std::move(*state);
      }
      out.changes.push_back(std::move(change));
    }
    return out;
  }

  std::vector<Command> Commands() const override {
    const char* schema =
        R"({"path": {"pattern": "^[A-Za-z0-9._/-]{1,1024}$"}, )"
        R"("repository": {"optional": true, "pattern": "^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?$"}})";
    return {{"ImportImage", schema}};
  }

  Result<std::string> Execute(std::string_view kind, std::string_view args_json) override {
    if (kind != "ImportImage") return Status::InvalidArgument("unknown command " + std::string(kind));
    Json args = Json::parse(args_json, nullptr, /*allow_exceptions=*/false);
    if (!args.is_object() || !args.contains("path") || !args["path"].is_string()) {
      return Status::InvalidArgument("ImportImage needs {\"path\": ARCHIVE[, \"repository\": NAME]}");
    }
    std::string repository;
    if (auto r = args.find("repository"); r != args.end() && !r->is_null()) {
      if (!r->is_string()) return Status::InvalidArgument("repository must be a string");
      repository = r->get<std::string>();
      // "name" or "name:tag"
      std::string_view name = std::string_view(repository).substr(0, repository.find(':'));
      if (!repository.empty() && !ValidateRepositoryName(name).ok()) {
        return Status::InvalidArgument("invalid repository name " + repository);
      }
    }
    ANNEX_ASSIGN_OR_RETURN(std::string path, ImportPath(*registry_, args["path"].get<std::string>()));
    return Import(path, repository);
  }

  std::vector<std::pair<std::string, uint64_t>> Gauges() override {
    return {{"blobs_stored", registry_->store->blob_count()}, {"bytes_stored", registry_->store->stored_bytes()}};
  }

 private:
  // The resource as the control plane shows it; nullopt when it is gone.
  std::optional<std::string> State(const service::FeedEntry& e) const {
    std::optional<FeedId> id = ParseFeedId(e.id, e.kind == "image");
    if (!id) return std::nullopt;
    const RegistryStore& store = *registry_->store;
    Json state = {{"account", id->account}, {"repository", id->repository}};
    if (e.kind == "repository") {
      Result<RepositoryRecord> repo = store.GetRepository(id->account, id->repository);
      if (!repo.ok()) return std::nullopt;
      state["arn"] = registry_->RepositoryArn(id->account, id->repository);
      state["uri"] = registry_->RegistryHost(id->account) + "/" + id->repository;
      state["created"] = FormatIso8601Ms(repo->created_ms);
      state["tag_mutability"] = repo->tag_mutability == TagMutability::kImmutable ? "IMMUTABLE" : "MUTABLE";
      return state.dump();
    }
    Result<ManifestRecord> m = store.GetManifest(id->account, id->repository, id->digest);
    if (!m.ok()) return std::nullopt;
    state["digest"] = m->digest;
    state["media_type"] = m->media_type;
    state["size"] = m->image_size;
    state["pushed"] = FormatIso8601Ms(m->pushed_ms);
    return state.dump();
  }

  // Importing an archive again stores nothing new (blobs and manifests are
  // content-addressed) and reports the same images: idempotent, as commands must be.
  Result<std::string> Import(const std::string& path, const std::string& repository) {
    ImportOptions options;
    options.repository = repository;
    auto imported = ImportArchive(*registry_, registry_->env.root_account_id, path, options);
    if (!imported.ok()) return imported.status();
    std::string text = "imported " + std::to_string(imported->size()) + " image(s) from " + path + ":";
    for (const ImportedImage& i : *imported) {
      text += " " + i.repository + (i.tag.empty() ? "@" + i.digest : ":" + i.tag);
    }
    return text;
  }

  std::shared_ptr<Registry> registry_;
};

}  // namespace

std::unique_ptr<service::ServiceControl> NewRegistryControl(std::shared_ptr<Registry> registry) {
  return std::make_unique<RegistryControl>(std::move(registry));
}

}  // namespace annex::registry
