#include "provisioning/image/verify.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <memory>

#include "appliance/core/strings.h"
#include "appliance/crypto/hash.h"
#include "provisioning/image/gpt.h"
#include "provisioning/image/image_io.h"
#include "provisioning/image/signing.h"

namespace annex::image {

Result<std::vector<std::string>> LoadTrustedKeys(const std::vector<std::string>& paths) {
  namespace fs = std::filesystem;
  std::vector<std::string> keys;
  for (const auto& path : paths) {
    std::vector<std::string> files;
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
      for (const auto& e : fs::directory_iterator(path, ec)) {
        if (e.path().extension() == ".pub") files.push_back(e.path().string());
      }
      std::sort(files.begin(), files.end());
    } else {
      files.push_back(path);
    }
    for (const auto& f : files) {
      ANNEX_ASSIGN_OR_RETURN(std::string pem, ReadWholeFile(f));
      ANNEX_RETURN_IF_ERROR(KeyId(pem).status());
      keys.push_back(pem);
    }
  }
  if (keys.empty()) return Status::InvalidArgument("no trusted public keys given");
  return keys;
}

Result<Manifest> VerifyManifest(const std::string& image_path, const std::vector<std::string>& trusted_keys,
                                const std::string& manifest_path) {
  std::string manifest = manifest_path.empty() ? image_path + ".manifest" : manifest_path;
  auto raw = ReadWholeFile(manifest);
  if (!raw.ok()) return Status::NotFound("no manifest " + manifest);
  auto sig_text = ReadWholeFile(manifest + ".sig");
  if (!sig_text.ok()) return Status::NotFound("no manifest signature " + manifest + ".sig");
  std::string_view sig_b64 = *sig_text;
  while (!sig_b64.empty() && std::isspace(static_cast<unsigned char>(sig_b64.back()))) sig_b64.remove_suffix(1);
  auto signature = Base64Decode(sig_b64);
  if (!signature || signature->size() != 64) {
    return Status::PermissionDenied("the manifest signature file is malformed");
  }
  bool signed_by_trusted = false;
  std::vector<std::string> tried;
  for (const auto& pem : trusted_keys) {
    if (VerifySignature(pem, *raw, *signature).ok()) {
      signed_by_trusted = true;
      break;
    }
    auto id = KeyId(pem);
    tried.push_back(id.ok() ? *id : "?");
  }
  if (!signed_by_trusted) {
    std::string list;
    for (const auto& t : tried) list += (list.empty() ? "" : ", ") + t;
    return Status::PermissionDenied("the manifest signature does not verify with any trusted key (" + list +
                                    "): the image is unsigned, tampered with, or signed by an unknown key");
  }
  ANNEX_ASSIGN_OR_RETURN(Manifest m, ParseManifest(*raw));
  const Artifact* disk = FindArtifact(m, "disk");
  if (!disk) return Status::InvalidArgument("the manifest lists no disk artifact");
  ANNEX_ASSIGN_OR_RETURN(Fd fd, OpenFile(image_path, O_RDONLY));
  ANNEX_ASSIGN_OR_RETURN(uint64_t size, DeviceSize(fd.get()));
  struct stat st;
  bool block = ::fstat(fd.get(), &st) == 0 && S_ISBLK(st.st_mode);
  if (size < disk->size) {
    return Status::OutOfRange("the image is truncated: " + std::to_string(size) + " of " + std::to_string(disk->size) +
                              " bytes");
  }
  if (size > disk->size && !block) {
    return Status::OutOfRange("the image has " + std::to_string(size - disk->size) + " bytes more than its manifest");
  }
  for (const auto& a : m.artifacts) {
    if (a.offset + a.size > disk->size && a.slot != "boot") {
      return Status::InvalidArgument("artifact " + a.name + " lies outside the image");
    }
  }
  return m;
}

std::vector<Extent> ZeroGaps(const Artifact& disk) {
  std::vector<Extent> gaps;
  uint64_t at = 0;
  for (const Extent& x : disk.extents) {
    if (x.offset > at) gaps.push_back({at, x.offset - at, ""});
    at = x.offset + x.size;
  }
  if (at < disk.size) gaps.push_back({at, disk.size - at, ""});
  return gaps;
}

Status VerifyExtents(int fd, const Artifact& disk, const std::string& what, Progress& progress) {
  uint64_t data_bytes = 0;
  for (const Extent& x : disk.extents) data_bytes += x.size;
  progress.Begin("verify", data_bytes);
  for (const Extent& x : disk.extents) {
    ANNEX_ASSIGN_OR_RETURN(std::string sha, Sha256Range(fd, x.offset, x.size, &progress));
    if (sha != x.sha256) {
      return Status::Corruption(what + " does not match its manifest at bytes " + std::to_string(x.offset) + ".." +
                                std::to_string(x.offset + x.size));
    }
  }
  for (const Extent& gap : ZeroGaps(disk)) {
    Status s = CheckZero(fd, gap.offset, gap.size);
    if (!s.ok()) return Status::Corruption(what + " does not match its manifest: " + s.message());
  }
  progress.End();
  return Status::OK();
}

Status VerifyImageContents(const std::string& image_path, const Manifest& manifest, Progress& progress) {
  const Artifact* disk = FindArtifact(manifest, "disk");
  if (!disk) return Status::InvalidArgument("the manifest lists no disk artifact");
  if (!disk->extents.empty()) {
    ANNEX_ASSIGN_OR_RETURN(Fd fd, OpenFile(image_path, O_RDONLY));
    Status s = VerifyExtents(fd.get(), *disk, "the image", progress);
    if (!s.ok()) return Status::Corruption(s.message() + ": the image was modified or damaged");
    return s;
  }
  // Partition artifacts are hashed from the same chunks as the whole disk.
  struct Range {
    const Artifact* artifact;
    crypto::Hasher hash{crypto::HashKind::kSha256};
  };
  std::vector<std::unique_ptr<Range>> ranges;
  for (const auto& a : manifest.artifacts) {
    if (&a != disk && a.slot != "boot") ranges.push_back(std::make_unique<Range>(Range{&a}));
  }
  ANNEX_ASSIGN_OR_RETURN(Fd fd, OpenFile(image_path, O_RDONLY));
  ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  crypto::Hasher whole(crypto::HashKind::kSha256);
  std::unique_ptr<char[]> buf(new char[kIoChunk]);
  progress.Begin("verify", disk->size);
  for (uint64_t off = 0; off < disk->size;) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(kIoChunk, disk->size - off));
    ANNEX_RETURN_IF_ERROR(ReadExact(fd.get(), off, buf.get(), n));
    whole.Update({buf.get(), n});
    for (auto& r : ranges) {
      uint64_t begin = std::max(off, r->artifact->offset);
      uint64_t end = std::min(off + n, r->artifact->offset + r->artifact->size);
      if (begin < end) r->hash.Update({buf.get() + (begin - off), static_cast<size_t>(end - begin)});
    }
    off += n;
    progress.Advance(n);
  }
  progress.End();
  if (whole.FinalHex() != disk->sha256) {
    return Status::Corruption("the image's SHA-256 does not match its manifest: the image was modified or damaged");
  }
  for (auto& r : ranges) {
    if (r->hash.FinalHex() != r->artifact->sha256) {
      return Status::Corruption("artifact " + r->artifact->name + " does not match its manifest");
    }
  }
  return Status::OK();
}

}  // namespace annex::image
