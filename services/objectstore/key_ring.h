#pragma once
// KeyRing: the object store's master key, which wraps the data key of every
// SSE-S3 object (each object, and each part of a multipart upload, has its
// own random data key; records keep only the wrapped form).
//
// The master key is on the data partition only sealed: `keys/master.sealed`
// holds it wrapped by the appliance's sealing key, a 32-byte file kept
// outside the data directory (annexd --sealing-key-file). The data
// partition alone — a pulled disk, a copied image — therefore reads as
// ciphertext. Both are made on first start; losing the sealing key loses
// every SSE-S3 object (docs/operations.md: backing it up, rotating it).
//
// Thread-safe (immutable after Open).

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "appliance/core/result.h"
#include "appliance/os/file_system.h"

namespace annex::objectstore {

class KeyRing {
 public:
  // Reads (or makes) the sealing key and the sealed master key. A sealing
  // key that does not open the sealed master key is an error: the store
  // refuses to start rather than serve objects it cannot decrypt.
  //
  // Rotation: when `<sealing_key_file>.next` exists, the master key is
  // sealed again under it, and it replaces the sealing key file.
  static Result<std::unique_ptr<KeyRing>> Open(os::FileSystem& fs, const std::string& sealing_key_file,
                                              const std::string& keys_dir);

  // A data key wrapped by the master key, and back.
  std::string Wrap(std::string_view data_key) const;
  Result<std::string> Unwrap(std::string_view wrapped) const;

 private:
  explicit KeyRing(std::string master);
  std::string master_;
  uint64_t id_;  // tells this ring's entries in the per-thread unwrap cache from another's
};

}  // namespace annex::objectstore
