#include "services/registry/manifest.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "services/registry/digest.h"

namespace annex::registry {
namespace {

using Json = nlohmann::json;

Status Invalid(std::string why) { return Status(StatusCode::kInvalidArgument, std::move(why), "MANIFEST_INVALID"); }

std::string Text(const Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// The media type without parameters ("…+json; charset=utf-8").
std::string_view BareMediaType(std::string_view type) {
  size_t semi = type.find(';');
  if (semi != std::string_view::npos) type = type.substr(0, semi);
  while (!type.empty() && type.back() == ' ') type.remove_suffix(1);
  return type;
}

bool IsManifestType(std::string_view t) {
  return t == kDockerManifest || t == kDockerManifestList || t == kOciManifest || t == kOciIndex;
}

Result<Descriptor> ParseDescriptor(const Json& j, std::string_view what) {
  if (!j.is_object()) return Invalid(std::string(what) + " is not an object");
  Descriptor d;
  d.media_type = Text(j, "mediaType");
  d.digest = Text(j, "digest");
  if (!IsValidDigest(d.digest)) return Invalid(std::string(what) + " has an invalid digest '" + d.digest + "'");
  auto size = j.find("size");
  if (size == j.end() || !size->is_number_integer() || size->get<int64_t>() < 0) {
    return Invalid(std::string(what) + " has no valid size");
  }
  d.size = size->get<uint64_t>();
  if (auto p = j.find("platform"); p != j.end() && p->is_object()) {
    d.platform_os = Text(*p, "os");
    d.platform_architecture = Text(*p, "architecture");
    d.platform_variant = Text(*p, "variant");
  }
  return d;
}

Result<std::vector<Descriptor>> ParseDescriptors(const Json& doc, const char* key, std::string_view what) {
  std::vector<Descriptor> out;
  auto it = doc.find(key);
  if (it == doc.end()) return out;
  if (!it->is_array()) return Invalid(std::string(key) + " is not an array");
  for (const Json& j : *it) {
    ANNEX_ASSIGN_OR_RETURN(Descriptor d, ParseDescriptor(j, what));
    out.push_back(std::move(d));
  }
  return out;
}

// The type of a document that names none: OCI allows leaving mediaType out,
// so tell by shape (an index lists manifests, an image manifest has a config).
std::string InferType(const Json& doc, std::string_view content_type) {
  std::string declared = Text(doc, "mediaType");
  if (!declared.empty()) return declared;
  std::string_view header = BareMediaType(content_type);
  if (IsManifestType(header)) return std::string(header);
  return doc.contains("manifests") ? std::string(kOciIndex) : std::string(kOciManifest);
}

}  // namespace

Result<Manifest> ParseManifest(std::string_view bytes, std::string_view content_type) {
  if (bytes.size() > kMaxManifestBytes) return Invalid("manifest is larger than 4 MiB");
  Json doc = Json::parse(bytes, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return Invalid("manifest is not a JSON object");
  auto version = doc.find("schemaVersion");
  if (version == doc.end() || !version->is_number_integer()) return Invalid("manifest has no schemaVersion");
  if (version->get<int64_t>() != 2) return Invalid("only schemaVersion 2 manifests are supported");

  Manifest m;
  m.media_type = InferType(doc, content_type);
  if (!IsManifestType(m.media_type)) return Invalid("unsupported manifest media type '" + m.media_type + "'");
  std::string_view header = BareMediaType(content_type);
  if (IsManifestType(header) && header != m.media_type) {
    return Invalid("Content-Type '" + std::string(header) + "' does not match the manifest's mediaType '" +
                   m.media_type + "'");
  }
  m.artifact_type = Text(doc, "artifactType");
  if (auto s = doc.find("subject"); s != doc.end()) {
    ANNEX_ASSIGN_OR_RETURN(Descriptor subject, ParseDescriptor(*s, "subject"));
    m.subject_digest = subject.digest;
  }
  if (m.is_index()) {
    if (doc.contains("config") || doc.contains("layers")) return Invalid("an index has no config or layers");
    ANNEX_ASSIGN_OR_RETURN(m.manifests, ParseDescriptors(doc, "manifests", "manifest entry"));
    return m;
  }
  auto config = doc.find("config");
  if (config == doc.end()) return Invalid("manifest has no config");
  ANNEX_ASSIGN_OR_RETURN(m.config, ParseDescriptor(*config, "config"));
  ANNEX_ASSIGN_OR_RETURN(m.layers, ParseDescriptors(doc, "layers", "layer"));
  if (m.media_type == kDockerManifest && m.layers.empty()) return Invalid("manifest has no layers");
  return m;
}

std::vector<std::string> ReferencedBlobs(const Manifest& manifest) {
  std::vector<std::string> out;
  if (manifest.is_index()) return out;
  out.push_back(manifest.config.digest);
  for (const Descriptor& l : manifest.layers) out.push_back(l.digest);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

uint64_t ImageSize(const Manifest& manifest) {
  if (manifest.is_index()) return 0;
  uint64_t total = manifest.config.size;
  for (const Descriptor& l : manifest.layers) total += l.size;
  return total;
}

}  // namespace annex::registry
