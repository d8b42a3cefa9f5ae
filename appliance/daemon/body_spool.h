#pragma once
// SpoolBody: reads a whole request body into an unnamed file, hashing it as
// it streams, and hands back a reader over that file. The Query and JSON
// protocols sign sha256(body) without saying it in a header, so the digest
// is needed before the signature can be checked and before the service may
// read a byte; a Lambda CreateFunction carries a zip of up to 50 MB as
// base64, which must not be held in memory. The file is created with
// O_TMPFILE (or unlinked at once where the filesystem lacks it), so nothing
// is left behind by a crash; it goes away with the reader.
//
// File I/O runs on the blocking pool.

#include <cstdint>
#include <memory>
#include <string>

#include "appliance/core/result.h"
#include "appliance/http/exchange.h"
#include "appliance/os/blocking_pool.h"

namespace annex::daemon {

struct SpooledBody {
  std::unique_ptr<http::BodyReader> reader;  // the body again, from the file
  std::string sha256_hex;
  uint64_t size = 0;
};

// Reads `body` to its end into a file under `dir`. A body past `limit` bytes
// is RequestEntityTooLarge (413).
http::Task<Result<SpooledBody>> SpoolBody(http::BodyReader& body, std::string dir, uint64_t limit,
                                          os::BlockingPool& pool);

}  // namespace annex::daemon
