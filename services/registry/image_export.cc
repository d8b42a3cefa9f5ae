#include "services/registry/image_export.h"

#include <cstring>
#include <nlohmann/json.hpp>
#include <set>

#include "services/registry/digest.h"
#include "services/registry/host_platform.h"
#include "services/registry/manifest.h"

namespace annex::registry {
namespace {

using Json = nlohmann::json;

constexpr uint64_t kMaxConfigBytes = uint64_t{16} << 20;

// The child of an index to export: this platform's, else the first.
Result<std::string> PickFromIndex(const Manifest& index) {
  if (index.manifests.empty()) return Status::NotFound("the image index lists no manifest");
  for (const Descriptor& d : index.manifests) {
    const Platform& host = HostPlatform();
    if (d.platform_os == host.os && d.platform_architecture == host.architecture) return d.digest;
  }
  return index.manifests.front().digest;
}

Result<std::string> ReadConfig(Registry& registry, const Descriptor& config) {
  if (config.size > kMaxConfigBytes) return Status::InvalidArgument("the image's config is too large to export");
  ANNEX_ASSIGN_OR_RETURN(os::RandomAccessFilePtr file, registry.blobs->Open(config.digest));
  std::string out(file->Size(), '\0');
  size_t got = 0;
  while (got < out.size()) {
    ANNEX_ASSIGN_OR_RETURN(size_t n, file->ReadAt(got, std::span<char>(out.data() + got, out.size() - got)));
    if (n == 0) return Status::Corruption("blob " + config.digest + " is shorter than recorded");
    got += n;
  }
  return out;
}

// Octal into a fixed-width, NUL-terminated header field; base-256 (GNU)
// when the value does not fit.
void PutNumber(char* field, size_t width, uint64_t value) {
  if (value < (uint64_t{1} << (3 * (width - 1)))) {
    std::snprintf(field, width, "%0*llo", static_cast<int>(width - 1), static_cast<unsigned long long>(value));
    return;
  }
  std::memset(field, 0, width);
  for (size_t i = width; i-- > 1 && value;) {
    field[i] = static_cast<char>(value & 0xff);
    value >>= 8;
  }
  field[0] = static_cast<char>(0x80);
}

}  // namespace

std::string TarHeader(std::string_view name, uint64_t size) {
  std::string h(512, '\0');
  std::memcpy(h.data(), name.data(), std::min<size_t>(name.size(), 100));
  PutNumber(&h[100], 8, 0644);
  PutNumber(&h[108], 8, 0);
  PutNumber(&h[116], 8, 0);
  PutNumber(&h[124], 12, size);
  PutNumber(&h[136], 12, 0);  // mtime: the archive is the same bytes on every export
  h[156] = '0';
  std::memcpy(&h[257], "ustar\0" "00", 8);
  std::memset(&h[148], ' ', 8);
  unsigned sum = 0;
  for (unsigned char c : h) sum += c;
  std::snprintf(&h[148], 8, "%06o", sum);
  h[155] = ' ';
  return h;
}

Result<ImageExport> PrepareExport(Registry& registry, std::string_view account, std::string_view repository,
                                  std::string_view reference) {
  ANNEX_ASSIGN_OR_RETURN(ManifestRecord record, registry.store->GetManifest(account, repository, reference));
  ANNEX_ASSIGN_OR_RETURN(Manifest manifest, ParseManifest(record.bytes, record.media_type));
  if (manifest.is_index()) {
    ANNEX_ASSIGN_OR_RETURN(std::string child, PickFromIndex(manifest));
    ANNEX_ASSIGN_OR_RETURN(record, registry.store->GetManifest(account, repository, child));
    ANNEX_ASSIGN_OR_RETURN(manifest, ParseManifest(record.bytes, record.media_type));
    if (manifest.is_index()) return Status::InvalidArgument("nested image indexes cannot be exported");
  }
  ImageExport out;
  out.repository = std::string(repository);
  out.tag = reference.starts_with("sha256:") ? std::string() : std::string(reference);
  out.digest = record.digest;

  ANNEX_ASSIGN_OR_RETURN(std::string config, ReadConfig(registry, manifest.config));
  std::string config_name = std::string(DigestHex(manifest.config.digest)) + ".json";
  Json layers = Json::array();
  std::set<std::string> seen;
  std::vector<ExportEntry> layer_entries;
  for (const Descriptor& l : manifest.layers) {
    std::string name = std::string(DigestHex(l.digest)) + ".tar";
    layers.push_back(name);
    if (!seen.insert(name).second) continue;
    ANNEX_ASSIGN_OR_RETURN(os::RandomAccessFilePtr file, registry.blobs->Open(l.digest));
    uint64_t size = file->Size();
    layer_entries.push_back({name, {}, std::move(file), size});
  }
  Json item{{"Config", config_name}, {"Layers", layers}, {"RepoTags", Json::array()}};
  if (!out.tag.empty()) item["RepoTags"].push_back(out.repository + ":" + out.tag);
  std::string manifest_json = Json::array({item}).dump();

  out.entries.push_back({config_name, config, nullptr, config.size()});
  for (ExportEntry& e : layer_entries) out.entries.push_back(std::move(e));
  out.entries.push_back({"manifest.json", manifest_json, nullptr, manifest_json.size()});
  for (const ExportEntry& e : out.entries) out.archive_bytes += 512 + e.size + TarPadding(e.size);
  out.archive_bytes += kTarTrailerBytes;
  return out;
}

Status WriteExport(const ImageExport& image, os::WritableFile& out) {
  std::vector<char> buf(size_t{1} << 20);
  for (const ExportEntry& e : image.entries) {
    ANNEX_RETURN_IF_ERROR(out.Append(TarHeader(e.name, e.size)));
    if (!e.file) {
      ANNEX_RETURN_IF_ERROR(out.Append(e.content));
    } else {
      for (uint64_t off = 0; off < e.size;) {
        ANNEX_ASSIGN_OR_RETURN(size_t n, e.file->ReadAt(off, buf));
        if (n == 0) return Status::Corruption(e.name + " is shorter than recorded");
        n = static_cast<size_t>(std::min<uint64_t>(n, e.size - off));
        ANNEX_RETURN_IF_ERROR(out.Append(std::string_view(buf.data(), n)));
        off += n;
      }
    }
    ANNEX_RETURN_IF_ERROR(out.Append(std::string(TarPadding(e.size), '\0')));
  }
  return out.Append(std::string(kTarTrailerBytes, '\0'));
}

}  // namespace annex::registry
