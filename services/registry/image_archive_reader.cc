#include "services/registry/image_archive_reader.h"

#include <archive.h>
#include <archive_entry.h>
#include <zlib.h>

#include <cerrno>
#include <map>
#include <vector>

#include "appliance/crypto/hash.h"
#include "services/registry/manifest.h"

namespace annex::registry {
namespace {

constexpr size_t kReadBlock = size_t{1} << 20;

Status Refuse(std::string why) { return Status::InvalidArgument(std::move(why)); }

// The archive file as libarchive's source: reads go through os::FileSystem
// (so tests can fail them) and skips of uncompressed data cost nothing.
struct Source {
  os::RandomAccessFilePtr file;
  uint64_t offset = 0;
  std::vector<char> buf = std::vector<char>(kReadBlock);
  Status error;

  static la_ssize_t Read(archive* a, void* self, const void** out) {
    auto* s = static_cast<Source*>(self);
    Result<size_t> n = s->file->ReadAt(s->offset, s->buf);
    if (!n.ok()) {
      s->error = n.status();
      archive_set_error(a, EIO, "%s", n.status().message().c_str());
      return -1;
    }
    s->offset += *n;
    *out = s->buf.data();
    return static_cast<la_ssize_t>(*n);
  }
  static la_int64_t Skip(archive*, void* self, la_int64_t request) {
    auto* s = static_cast<Source*>(self);
    uint64_t left = s->file->Size() - std::min(s->offset, s->file->Size());
    uint64_t n = std::min<uint64_t>(left, static_cast<uint64_t>(std::max<la_int64_t>(request, 0)));
    s->offset += n;
    return static_cast<la_int64_t>(n);
  }
};

}  // namespace

// One pass over the archive.
class TarStream {
 public:
  ~TarStream() {
    if (a_) archive_read_free(a_);
  }
  Status Open(os::FileSystem& fs, const std::string& path) {
    ANNEX_ASSIGN_OR_RETURN(source_.file, fs.OpenForRead(path));
    a_ = archive_read_new();
    archive_read_support_filter_all(a_);  // gzip, zstd, xz…: detected from the bytes
    archive_read_support_format_tar(a_);  // ustar, pax and GNU tar; nothing else is an image archive
    archive_read_set_callback_data(a_, &source_);
    archive_read_set_read_callback(a_, &Source::Read);
    archive_read_set_skip_callback(a_, &Source::Skip);
    if (archive_read_open1(a_) != ARCHIVE_OK) return Failure();
    return Status::OK();
  }
  // The next entry, or nullptr at the end.
  Result<archive_entry*> Next() {
    archive_entry* e = nullptr;
    int r = archive_read_next_header(a_, &e);
    if (r == ARCHIVE_EOF) return static_cast<archive_entry*>(nullptr);
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN) return Failure();
    return e;
  }
  // Up to buf.size() bytes of the current entry; 0 at its end.
  Result<size_t> Read(std::span<char> buf) {
    la_ssize_t n = archive_read_data(a_, buf.data(), buf.size());
    if (n < 0) return Failure();
    return static_cast<size_t>(n);
  }
  uint64_t offset() const { return source_.offset; }
  uint64_t size() const { return source_.file ? source_.file->Size() : 0; }

 private:
  Status Failure() {
    if (!source_.error.ok()) return source_.error;
    const char* why = a_ ? archive_error_string(a_) : nullptr;
    return Refuse(std::string("corrupt or truncated archive: ") + (why ? why : "unreadable"));
  }
  Source source_;
  archive* a_ = nullptr;
};

namespace {

bool LooksLikeJson(std::string_view s) {
  size_t i = s.find_first_not_of(" \t\r\n");
  return i != std::string_view::npos && (s[i] == '{' || s[i] == '[');
}

// sha256 of a gzip stream's uncompressed bytes (a docker layer's diff_id).
class GunzipHasher {
 public:
  GunzipHasher() : ok_(inflateInit2(&z_, 15 + 16) == Z_OK) {}
  ~GunzipHasher() { inflateEnd(&z_); }
  GunzipHasher(const GunzipHasher&) = delete;

  bool Update(std::string_view in) {
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z_.avail_in = static_cast<uInt>(in.size());
    while (ok_ && z_.avail_in > 0) {
      if (ended_) {  // concatenated gzip members are one stream
        ok_ = inflateReset(&z_) == Z_OK;
        ended_ = false;
      }
      z_.next_out = reinterpret_cast<Bytef*>(out_.data());
      z_.avail_out = static_cast<uInt>(out_.size());
      int r = inflate(&z_, Z_NO_FLUSH);
      sha_.Update(std::string_view(out_.data(), out_.size() - z_.avail_out));
      if (r == Z_STREAM_END) ended_ = true;
      else if (r != Z_OK) ok_ = false;
    }
    return ok_;
  }
  // The digest, or nullopt if the stream was damaged or cut short.
  std::optional<std::string> Final() {
    if (!ok_ || !ended_) return std::nullopt;
    return "sha256:" + sha_.FinalHex();
  }

 private:
  z_stream z_{};
  bool ok_;
  bool ended_ = false;
  std::vector<char> out_ = std::vector<char>(kReadBlock);
  crypto::Hasher sha_{crypto::HashKind::kSha256};
};

bool IsGzip(std::string_view head) { return head.size() >= 2 && head[0] == '\x1f' && head[1] == '\x8b'; }
bool IsZstd(std::string_view head) { return head.size() >= 4 && head.substr(0, 4) == "\x28\xb5\x2f\xfd"; }

Result<std::string> ReadWhole(TarStream& tar, uint64_t size) {
  std::string out(size, '\0');
  size_t got = 0;
  while (got < size) {
    ANNEX_ASSIGN_OR_RETURN(size_t n, tar.Read(std::span<char>(out.data() + got, size - got)));
    if (n == 0) return Refuse("corrupt or truncated archive: an entry ends early");
    got += n;
  }
  return out;
}

// Streams the current entry into `sink` as `blob`, verifying it; fills in
// what only its bytes tell (digest, docker layers' media type).
Status StreamEntry(TarStream& tar, ArchiveBlob& blob, BlobSink& sink) {
  crypto::Hasher sha(crypto::HashKind::kSha256);
  std::unique_ptr<GunzipHasher> gunzip;
  std::vector<char> buf(kReadBlock);
  uint64_t total = 0;
  bool compressed = false;
  for (;;) {
    ANNEX_ASSIGN_OR_RETURN(size_t n, tar.Read(buf));
    if (n == 0) break;
    std::string_view chunk(buf.data(), n);
    if (total == 0 && !blob.diff_id.empty()) {
      if (IsZstd(chunk)) return Refuse(blob.entry + ": zstd-compressed docker layers are not supported");
      compressed = IsGzip(chunk);
      if (compressed) gunzip = std::make_unique<GunzipHasher>();
    }
    sha.Update(chunk);
    if (gunzip && !gunzip->Update(chunk)) return Refuse(blob.entry + " is not a valid gzip stream");
    ANNEX_RETURN_IF_ERROR(sink.Write(chunk));
    total += n;
  }
  std::string digest = "sha256:" + sha.FinalHex();
  if (total != blob.size) return Refuse("corrupt or truncated archive: " + blob.entry + " ends early");
  if (!blob.digest.empty() && digest != blob.digest) {
    return Refuse("digest mismatch: " + blob.entry + " hashes to " + digest + ", not " + blob.digest);
  }
  if (!blob.diff_id.empty()) {
    std::optional<std::string> diff_id = gunzip ? gunzip->Final() : std::optional<std::string>(digest);
    if (!diff_id) return Refuse(blob.entry + " is a truncated gzip stream");
    if (*diff_id != blob.diff_id) {
      return Refuse("digest mismatch: layer " + blob.entry + " does not match the diff_id " + blob.diff_id +
                    " its config gives it");
    }
    blob.media_type = std::string(compressed ? kOciLayerGzip : kOciLayer);
  }
  blob.digest = digest;
  return sink.Commit(digest);
}

}  // namespace

Result<std::unique_ptr<ImageArchiveReader>> ImageArchiveReader::Open(os::FileSystem& fs, const std::string& path,
                                                                     const ArchiveLimits& limits) {
  std::unique_ptr<ImageArchiveReader> r(new ImageArchiveReader(fs, path, limits));
  ANNEX_RETURN_IF_ERROR(r->ReadContents());
  ANNEX_ASSIGN_OR_RETURN(r->plan_, PlanArchive(r->contents_));
  return r;
}

Status ImageArchiveReader::AddEntry(TarStream& tar, archive_entry* e, uint64_t& kept) {
  const char* raw = archive_entry_pathname(e);
  if (!raw) return Refuse("an entry has no usable name");
  if (std::string_view(raw).size() > limits_.max_name_bytes) return Refuse("an entry's name is too long");
  ANNEX_ASSIGN_OR_RETURN(std::string name, NormalizeEntryName(raw));
  ArchiveEntry entry;
  if (const char* hardlink = archive_entry_hardlink(e)) {
    entry.kind = ArchiveEntry::Kind::kHardlink;
    ANNEX_ASSIGN_OR_RETURN(entry.target, NormalizeEntryName(hardlink));
  } else if (archive_entry_filetype(e) == AE_IFDIR) {
    return Status::OK();
  } else if (archive_entry_filetype(e) == AE_IFLNK) {
    const char* target = archive_entry_symlink(e);
    if (!target || target[0] == '/') return Refuse("link " + name + " points outside the archive");
    size_t slash = name.rfind('/');
    std::string dir = slash == std::string::npos ? "" : name.substr(0, slash + 1);
    Result<std::string> resolved = NormalizeEntryName(dir + target);
    if (!resolved.ok()) return Refuse("link " + name + " points outside the archive (../)");
    entry.kind = ArchiveEntry::Kind::kSymlink;
    entry.target = std::move(*resolved);
  } else if (archive_entry_filetype(e) == AE_IFREG) {
    int64_t size = archive_entry_size(e);
    if (size < 0 || static_cast<uint64_t>(size) > limits_.max_entry_bytes) {
      return Refuse(name + " is larger than the " + std::to_string(limits_.max_entry_bytes) + " bytes allowed");
    }
    entry.size = static_cast<uint64_t>(size);
    if (entry.size <= limits_.max_document_bytes && kept + entry.size <= limits_.max_documents_total) {
      ANNEX_ASSIGN_OR_RETURN(std::string content, ReadWhole(tar, entry.size));
      if (LooksLikeJson(content)) {
        kept += entry.size;
        entry.content = std::move(content);
      }
    }
  } else {
    return Refuse(name + " is a device, fifo or socket: not part of an image archive");
  }
  if (name.empty()) return Status::OK();
  if (!contents_.emplace(name, std::move(entry)).second) return Refuse(name + " appears twice in the archive");
  return Status::OK();
}

Status ImageArchiveReader::ReadContents() {
  TarStream tar;
  ANNEX_RETURN_IF_ERROR(tar.Open(fs_, path_));
  uint64_t kept = 0, seen = 0;
  for (;;) {
    ANNEX_ASSIGN_OR_RETURN(archive_entry * e, tar.Next());
    if (!e) break;
    if (++seen > limits_.max_entries) return Refuse("the archive has more than " + std::to_string(limits_.max_entries) +
                                                    " entries");
    ANNEX_RETURN_IF_ERROR(AddEntry(tar, e, kept));
  }
  if (seen == 0) return Refuse("not an image archive: the file holds no tar entries");
  file_size_ = tar.size();
  return Status::OK();
}

Status ImageArchiveReader::StreamBlobs(BlobSink& sink, const ArchiveProgressFn& progress) {
  // Entry → the plan's blob; blobs already in memory go whole, without a second read.
  std::map<std::string, size_t> wanted;
  for (size_t i = 0; i < plan_.blobs.size(); ++i) {
    ArchiveBlob& b = plan_.blobs[i];
    if (b.content) {
      ANNEX_RETURN_IF_ERROR(sink.PutWhole(b, *b.content));
    } else if (b.digest.empty() || !b.diff_id.empty() || sink.Wants(b)) {
      wanted.emplace(b.entry, i);
    }
  }
  TarStream tar;
  ANNEX_RETURN_IF_ERROR(tar.Open(fs_, path_));
  while (!wanted.empty()) {
    ANNEX_ASSIGN_OR_RETURN(archive_entry * e, tar.Next());
    if (!e) break;
    Result<std::string> name = NormalizeEntryName(archive_entry_pathname(e) ? archive_entry_pathname(e) : "/");
    auto it = name.ok() && archive_entry_filetype(e) == AE_IFREG && !archive_entry_hardlink(e) ? wanted.find(*name)
                                                                                                : wanted.end();
    if (it == wanted.end()) continue;
    ArchiveBlob& blob = plan_.blobs[it->second];
    ANNEX_RETURN_IF_ERROR(sink.Begin(blob));
    Status s = StreamEntry(tar, blob, sink);
    if (!s.ok()) {
      sink.Abort();
      return s;
    }
    wanted.erase(it);
    if (progress) progress(tar.offset(), file_size_);
  }
  if (!wanted.empty()) return Refuse("corrupt archive: " + wanted.begin()->first + " vanished on the second read");
  for (ArchiveManifest& m : plan_.manifests) {
    if (m.synthesized) SynthesizeManifest(plan_.blobs, m);
  }
  if (progress) progress(file_size_, file_size_);
  return Status::OK();
}

}  // namespace annex::registry
