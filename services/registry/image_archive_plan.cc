#include "services/registry/image_archive_plan.h"

#include <nlohmann/json.hpp>

#include "appliance/crypto/hash.h"
#include "services/registry/manifest.h"

namespace annex::registry {
namespace {

using Json = nlohmann::json;

constexpr int kMaxLinkHops = 8;
constexpr int kMaxIndexDepth = 4;

Status Refuse(std::string why) { return Status::InvalidArgument(std::move(why)); }

bool IsHex64(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool IsDigest(std::string_view d) { return d.starts_with("sha256:") && IsHex64(d.substr(7)); }

std::string Text(const Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// The whole content of a document the first pass kept, parsed.
Result<Json> Document(const ArchiveContents& contents, std::string_view name, std::string* bytes = nullptr) {
  ANNEX_ASSIGN_OR_RETURN(std::string entry, ResolveEntry(contents, name));
  const ArchiveEntry& e = contents.at(entry);
  if (!e.content) return Refuse(std::string(name) + " is too large for an image archive's JSON document");
  Json j = Json::parse(*e.content, nullptr, false);
  if (j.is_discarded()) return Refuse(std::string(name) + " is not valid JSON");
  if (bytes) *bytes = *e.content;
  return j;
}

std::string DigestOf(std::string_view bytes) { return "sha256:" + crypto::Sha256Hex(bytes); }

// Builds the plan; one instance per archive.
class Planner {
 public:
  explicit Planner(const ArchiveContents& contents) : contents_(contents) {}

  Result<ArchivePlan> Run() {
    if (contents_.count("oci-layout") && contents_.count("index.json")) {
      plan_.format = ArchiveFormat::kOciLayout;
      ANNEX_RETURN_IF_ERROR(PlanOciLayout());
    } else if (contents_.count("manifest.json")) {
      plan_.format = ArchiveFormat::kDockerArchive;
      ANNEX_RETURN_IF_ERROR(PlanDockerArchive());
    } else {
      return Refuse("not an image archive: neither a `docker save` archive (manifest.json) nor an OCI image "
                    "layout (oci-layout and index.json)");
    }
    if (plan_.manifests.empty()) return Refuse("the archive holds no image");
    return std::move(plan_);
  }

 private:
  Status PlanDockerArchive();
  Status PlanDockerImage(const Json& item);
  Status PlanOciLayout();
  Result<size_t> AddManifest(const Json& descriptor, std::vector<ImageReference> refs, int depth);
  Result<ArchiveBlob> DescribedBlob(const Json& descriptor) const;
  Result<size_t> AddDescribedBlob(const Json& descriptor);
  Result<size_t> AddBlob(ArchiveBlob blob);
  Status AddReferences(const Json& tags, std::vector<ImageReference>& out);

  const ArchiveContents& contents_;
  ArchivePlan plan_;
  std::map<std::string, size_t> blob_by_entry_;
  std::map<std::string, size_t> manifest_by_digest_;
  std::map<std::string, Json> docker_tags_by_config_;  // docker 25+: manifest.json's RepoTags
};

Status Planner::AddReferences(const Json& tags, std::vector<ImageReference>& out) {
  if (!tags.is_array()) return Status::OK();
  for (const Json& t : tags) {
    if (!t.is_string()) return Refuse("manifest.json: RepoTags must be strings");
    ANNEX_ASSIGN_OR_RETURN(ImageReference ref, ParseImageReference(t.get<std::string>()));
    out.push_back(std::move(ref));
  }
  return Status::OK();
}

Result<size_t> Planner::AddBlob(ArchiveBlob blob) {
  auto it = blob_by_entry_.find(blob.entry);
  if (it != blob_by_entry_.end()) return it->second;
  plan_.blobs.push_back(std::move(blob));
  blob_by_entry_.emplace(plan_.blobs.back().entry, plan_.blobs.size() - 1);
  return plan_.blobs.size() - 1;
}

Status Planner::PlanDockerArchive() {
  ANNEX_ASSIGN_OR_RETURN(Json m, Document(contents_, "manifest.json"));
  if (!m.is_array() || m.empty()) return Refuse("manifest.json lists no image");
  for (const Json& item : m) ANNEX_RETURN_IF_ERROR(PlanDockerImage(item));
  return Status::OK();
}

Status Planner::PlanDockerImage(const Json& item) {
  if (!item.is_object()) return Refuse("manifest.json: each image must be an object");
  std::string config_name = Text(item, "Config");
  if (config_name.empty()) return Refuse("manifest.json: an image has no Config");
  std::string config_bytes;
  ANNEX_ASSIGN_OR_RETURN(Json config, Document(contents_, config_name, &config_bytes));
  ANNEX_ASSIGN_OR_RETURN(std::string config_entry, ResolveEntry(contents_, config_name));
  std::string digest = DigestOf(config_bytes);
  // Every writer names the config after its digest (the image id): another
  // name's content is a damaged archive.
  if (auto hex = DigestHexFromName(config_entry); hex && "sha256:" + *hex != digest) {
    return Refuse("digest mismatch: " + config_name + " hashes to " + digest);
  }
  const Json* diff_ids = nullptr;
  if (auto rootfs = config.find("rootfs"); rootfs != config.end() && rootfs->is_object()) {
    if (auto d = rootfs->find("diff_ids"); d != rootfs->end() && d->is_array()) diff_ids = &*d;
  }
  auto layers = item.find("Layers");
  if (layers == item.end() || !layers->is_array()) return Refuse("manifest.json: an image has no Layers");
  if (!diff_ids || diff_ids->size() != layers->size()) {
    return Refuse(config_name + ": rootfs.diff_ids does not list the image's " + std::to_string(layers->size()) +
                  " layers");
  }
  ArchiveManifest am;
  am.media_type = std::string(kOciManifest);
  am.synthesized = true;
  ANNEX_ASSIGN_OR_RETURN(size_t cfg, AddBlob({config_entry, digest, "", std::string(kOciConfig),
                                              config_bytes.size(), config_bytes}));
  am.blobs.push_back(cfg);
  for (size_t i = 0; i < layers->size(); ++i) {
    const Json& l = (*layers)[i];
    const Json& diff_id = (*diff_ids)[i];
    if (!l.is_string() || !diff_id.is_string() || !IsDigest(diff_id.get<std::string>())) {
      return Refuse("manifest.json: layer " + std::to_string(i) + " has no name or no sha256 diff_id");
    }
    ANNEX_ASSIGN_OR_RETURN(std::string entry, ResolveEntry(contents_, l.get<std::string>()));
    std::optional<std::string> hex = entry.starts_with("blobs/") ? DigestHexFromName(entry) : std::nullopt;
    ArchiveBlob b{entry, hex ? "sha256:" + *hex : "", diff_id.get<std::string>(), "", contents_.at(entry).size, {}};
    ANNEX_ASSIGN_OR_RETURN(size_t idx, AddBlob(std::move(b)));
    am.blobs.push_back(idx);
  }
  ANNEX_RETURN_IF_ERROR(AddReferences(item.value("RepoTags", Json()), am.references));
  plan_.manifests.push_back(std::move(am));
  return Status::OK();
}

Status Planner::PlanOciLayout() {
  ANNEX_ASSIGN_OR_RETURN(Json layout, Document(contents_, "oci-layout"));
  if (!layout.is_object() || Text(layout, "imageLayoutVersion").empty()) {
    return Refuse("oci-layout has no imageLayoutVersion");
  }
  ANNEX_ASSIGN_OR_RETURN(Json index, Document(contents_, "index.json"));
  auto manifests = index.find("manifests");
  if (!index.is_object() || manifests == index.end() || !manifests->is_array()) {
    return Refuse("index.json lists no manifests");
  }
  // docker 25+ writes manifest.json beside the layout; its RepoTags name the images.
  if (contents_.count("manifest.json")) {
    ANNEX_ASSIGN_OR_RETURN(Json m, Document(contents_, "manifest.json"));
    for (const Json& item : m.is_array() ? m : Json::array()) {
      std::string config = item.is_object() ? Text(item, "Config") : "";
      if (auto hex = DigestHexFromName(config)) docker_tags_by_config_["sha256:" + *hex] = item.value("RepoTags", Json());
    }
  }
  for (const Json& d : *manifests) {
    std::vector<ImageReference> refs;
    const Json annotations = d.is_object() ? d.value("annotations", Json::object()) : Json::object();
    std::string name = annotations.is_object() ? Text(annotations, "io.containerd.image.name") : "";
    if (name.empty() && annotations.is_object()) name = Text(annotations, "org.opencontainers.image.ref.name");
    if (!name.empty()) {
      ANNEX_ASSIGN_OR_RETURN(ImageReference ref, ParseImageReference(name));
      refs.push_back(std::move(ref));
    }
    ANNEX_RETURN_IF_ERROR(AddManifest(d, std::move(refs), 0).status());
  }
  return Status::OK();
}

Result<ArchiveBlob> Planner::DescribedBlob(const Json& d) const {
  std::string digest = d.is_object() ? Text(d, "digest") : "";
  auto size = d.is_object() ? d.find("size") : d.end();
  if (!IsDigest(digest) || size == d.end() || !size->is_number_unsigned()) {
    return Refuse("a descriptor has no sha256 digest or no size");
  }
  std::string name = "blobs/sha256/" + digest.substr(7);
  Result<std::string> entry = ResolveEntry(contents_, name);
  if (!entry.ok()) return Refuse("missing blob: the archive does not hold " + digest);
  const ArchiveEntry& e = contents_.at(*entry);
  if (e.size != size->get<uint64_t>()) {
    return Refuse("size mismatch: " + digest + " is " + std::to_string(e.size) + " bytes, its descriptor says " +
                  std::to_string(size->get<uint64_t>()));
  }
  if (e.content && DigestOf(*e.content) != digest) return Refuse("digest mismatch: " + name + " does not hash to it");
  return ArchiveBlob{*entry, digest, "", Text(d, "mediaType"), e.size, e.content};
}

Result<size_t> Planner::AddDescribedBlob(const Json& d) {
  ANNEX_ASSIGN_OR_RETURN(ArchiveBlob b, DescribedBlob(d));
  return AddBlob(std::move(b));
}

Result<size_t> Planner::AddManifest(const Json& d, std::vector<ImageReference> refs, int depth) {
  if (depth > kMaxIndexDepth) return Refuse("indexes nested too deeply");
  // A manifest is stored as a manifest, not as a blob.
  ANNEX_ASSIGN_OR_RETURN(ArchiveBlob b, DescribedBlob(d));
  if (auto it = manifest_by_digest_.find(b.digest); it != manifest_by_digest_.end()) {
    auto& existing = plan_.manifests[it->second].references;
    existing.insert(existing.end(), refs.begin(), refs.end());
    return it->second;
  }
  if (!b.content) return Refuse("manifest " + b.digest + " is larger than a manifest may be");
  ArchiveManifest am;
  am.bytes = *b.content;
  am.digest = b.digest;
  Json doc = Json::parse(am.bytes, nullptr, false);
  if (!doc.is_object()) return Refuse("manifest " + b.digest + " is not a JSON object");
  am.media_type = Text(doc, "mediaType").empty() ? b.media_type : Text(doc, "mediaType");
  if (am.media_type == kOciIndex || am.media_type == kDockerManifestList) {
    for (const Json& child : doc.value("manifests", Json::array())) {
      ANNEX_ASSIGN_OR_RETURN(size_t c, AddManifest(child, {}, depth + 1));
      am.children.push_back(c);
    }
  } else if (am.media_type == kOciManifest || am.media_type == kDockerManifest) {
    ANNEX_ASSIGN_OR_RETURN(size_t cfg, AddDescribedBlob(doc.value("config", Json())));
    am.blobs.push_back(cfg);
    for (const Json& layer : doc.value("layers", Json::array())) {
      ANNEX_ASSIGN_OR_RETURN(size_t l, AddDescribedBlob(layer));
      am.blobs.push_back(l);
    }
    if (refs.empty()) {
      auto tags = docker_tags_by_config_.find(plan_.blobs[cfg].digest);
      if (tags != docker_tags_by_config_.end()) ANNEX_RETURN_IF_ERROR(AddReferences(tags->second, refs));
    }
  } else {
    return Refuse("manifest " + am.digest + " has an unsupported media type '" + am.media_type + "'");
  }
  am.references = std::move(refs);
  plan_.manifests.push_back(std::move(am));
  manifest_by_digest_[plan_.manifests.back().digest] = plan_.manifests.size() - 1;
  return plan_.manifests.size() - 1;
}

}  // namespace

Result<ArchivePlan> PlanArchive(const ArchiveContents& contents) { return Planner(contents).Run(); }

Result<std::string> NormalizeEntryName(std::string_view name) {
  if (name.starts_with('/')) return Refuse("entry '" + std::string(name) + "' has an absolute path");
  std::vector<std::string_view> parts;
  while (!name.empty()) {
    size_t slash = name.find('/');
    std::string_view part = name.substr(0, slash);
    name = slash == std::string_view::npos ? std::string_view() : name.substr(slash + 1);
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (parts.empty()) return Refuse("entry escapes the archive (../)");
      parts.pop_back();
      continue;
    }
    parts.push_back(part);
  }
  std::string out;
  for (std::string_view p : parts) {
    if (!out.empty()) out.push_back('/');
    out.append(p);
  }
  return out;
}

Result<std::string> ResolveEntry(const ArchiveContents& contents, std::string_view name) {
  ANNEX_ASSIGN_OR_RETURN(std::string current, NormalizeEntryName(name));
  for (int hop = 0; hop <= kMaxLinkHops; ++hop) {
    auto it = contents.find(current);
    if (it == contents.end()) return Status::NotFound("missing entry: the archive does not hold " + current);
    if (it->second.kind == ArchiveEntry::Kind::kFile) return current;
    current = it->second.target;
  }
  return Refuse("too many links to follow from " + std::string(name));
}

Result<ImageReference> ParseImageReference(std::string_view reference) {
  if (reference.find('@') != std::string_view::npos) {
    return Refuse("'" + std::string(reference) + "' names a digest, not a tag");
  }
  std::string_view repo = reference, tag = "latest";
  size_t slash = repo.rfind('/');
  size_t colon = repo.rfind(':');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    tag = repo.substr(colon + 1);
    repo = repo.substr(0, colon);
  }
  if (repo.empty() || tag.empty()) return Refuse("'" + std::string(reference) + "' is not an image name");
  if (reference.find('/') == std::string_view::npos && reference.find(':') == std::string_view::npos) {
    return ImageReference{"", std::string(reference)};  // a bare tag (OCI ref.name)
  }
  // A first component with a dot or a port, or "localhost", is a registry host.
  size_t first = repo.find('/');
  if (first != std::string_view::npos) {
    std::string_view host = repo.substr(0, first);
    if (host.find('.') != std::string_view::npos || host.find(':') != std::string_view::npos || host == "localhost") {
      repo = repo.substr(first + 1);
      if ((host == "docker.io" || host == "index.docker.io") && repo.starts_with("library/")) repo.remove_prefix(8);
    }
  }
  return ImageReference{std::string(repo), std::string(tag)};
}

std::optional<std::string> DigestHexFromName(std::string_view entry) {
  if (entry.starts_with("blobs/sha256/")) {
    std::string_view hex = entry.substr(13);
    if (IsHex64(hex)) return std::string(hex);
    return std::nullopt;
  }
  if (entry.ends_with(".json") && IsHex64(entry.substr(0, entry.size() - 5))) {
    return std::string(entry.substr(0, 64));
  }
  return std::nullopt;
}

void SynthesizeManifest(const std::vector<ArchiveBlob>& blobs, ArchiveManifest& m) {
  auto descriptor = [&](size_t i) {
    const ArchiveBlob& b = blobs[i];
    return Json{{"mediaType", b.media_type}, {"digest", b.digest}, {"size", b.size}};
  };
  Json doc{{"schemaVersion", 2}, {"mediaType", kOciManifest}, {"config", descriptor(m.blobs.front())}};
  doc["layers"] = Json::array();
  for (size_t i = 1; i < m.blobs.size(); ++i) doc["layers"].push_back(descriptor(m.blobs[i]));
  m.bytes = doc.dump();
  m.digest = DigestOf(m.bytes);
}

}  // namespace annex::registry
