#include "services/objectstore/key_ring.h"

#include <array>
#include <atomic>
#include <cstring>

#include "appliance/core/log.h"
#include "appliance/crypto/aead.h"

namespace annex::objectstore {
namespace {

Result<std::string> ReadKeyFile(os::FileSystem& fs, const std::string& path) {
  ANNEX_ASSIGN_OR_RETURN(std::string key, os::ReadFileToString(fs, path));
  if (key.size() != crypto::kAeadKeySize) {
    return Status::InvalidArgument("sealing key file " + path + " must hold exactly 32 bytes");
  }
  return key;
}

// The sealing key, made (0600) when there is none yet.
Result<std::string> SealingKey(os::FileSystem& fs, const std::string& path) {
  if (fs.Exists(path)) return ReadKeyFile(fs, path);
  ANNEX_RETURN_IF_ERROR(fs.CreateDirs(os::DirName(path)));
  std::string key = crypto::RandomKey();
  ANNEX_RETURN_IF_ERROR(os::WriteFileAtomic(fs, path, key, 0600));
  log::Info("objectstore: made the sealing key; back it up apart from the data disks", {{"file", path}});
  return key;
}

}  // namespace

Result<std::unique_ptr<KeyRing>> KeyRing::Open(os::FileSystem& fs, const std::string& sealing_key_file,
                                              const std::string& keys_dir) {
  ANNEX_RETURN_IF_ERROR(fs.CreateDirs(keys_dir));
  const std::string sealed_path = os::JoinPath(keys_dir, "master.sealed");
  ANNEX_ASSIGN_OR_RETURN(std::string sealing, SealingKey(fs, sealing_key_file));
  const std::string next_path = sealing_key_file + ".next";
  std::string master;
  if (fs.Exists(sealed_path)) {
    ANNEX_ASSIGN_OR_RETURN(std::string sealed, os::ReadFileToString(fs, sealed_path));
    auto opened = crypto::UnwrapKey(sealing, sealed);
    if (!opened.ok() && fs.Exists(next_path)) {  // a rotation that stopped before its rename
      ANNEX_ASSIGN_OR_RETURN(std::string next, ReadKeyFile(fs, next_path));
      opened = crypto::UnwrapKey(next, sealed);
    }
    if (!opened.ok()) {
      return Status::FailedPrecondition("the sealing key " + sealing_key_file +
                                        " does not open the object store's master key (" + sealed_path +
                                        "): is it this appliance's key file?");
    }
    master = std::move(*opened);
  } else {
    master = crypto::RandomKey();
    ANNEX_RETURN_IF_ERROR(os::WriteFileAtomic(fs, sealed_path, crypto::WrapKey(sealing, master), 0600));
  }
  // Rotation of the sealing key: seal under the next key first, then make it
  // the key. A crash in between leaves the next key in place to finish with.
  if (fs.Exists(next_path)) {
    ANNEX_ASSIGN_OR_RETURN(std::string next, ReadKeyFile(fs, next_path));
    ANNEX_RETURN_IF_ERROR(os::WriteFileAtomic(fs, sealed_path, crypto::WrapKey(next, master), 0600));
    ANNEX_RETURN_IF_ERROR(fs.Rename(next_path, sealing_key_file));
    log::Info("objectstore: the master key is now sealed by the next sealing key", {{"file", sealing_key_file}});
  }
  return std::unique_ptr<KeyRing>(new KeyRing(std::move(master)));
}

std::string KeyRing::Wrap(std::string_view data_key) const { return crypto::WrapKey(master_, data_key); }

namespace {

std::atomic<uint64_t> next_ring_id{1};

// The data keys a thread unwrapped last, a slot per wrapped key chosen by
// its nonce (random): a GET of a small object would otherwise spend about
// as long unwrapping its data key as decrypting the object.
struct UnwrappedKey {
  uint64_t ring = 0;
  std::string wrapped;
  std::string key;
};
constexpr size_t kUnwrapCacheSlots = 256;

}  // namespace

KeyRing::KeyRing(std::string master) : master_(std::move(master)), id_(next_ring_id.fetch_add(1)) {}

Result<std::string> KeyRing::Unwrap(std::string_view wrapped) const {
  if (wrapped.size() != crypto::kWrappedKeySize) return crypto::UnwrapKey(master_, wrapped);  // its error
  thread_local std::array<UnwrappedKey, kUnwrapCacheSlots> cache;
  uint32_t h = 0;
  std::memcpy(&h, wrapped.data(), sizeof h);
  UnwrappedKey& slot = cache[h % kUnwrapCacheSlots];
  if (slot.ring == id_ && slot.wrapped == wrapped) return slot.key;
  ANNEX_ASSIGN_OR_RETURN(std::string key, crypto::UnwrapKey(master_, wrapped));
  slot.ring = id_;
  slot.wrapped.assign(wrapped);
  slot.key = key;
  return key;
}

}  // namespace annex::objectstore
