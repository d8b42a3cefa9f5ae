#pragma once
// annexctl's `images import` and `images export`: whole images to and from
// the registry's image transfer API (/_annex/api/images/…), streamed from
// and to a file with a progress bar on stderr — redrawn in place on a
// terminal, a line every few seconds otherwise.

#include <string>

namespace annex::cli {

// Where and as whom: requests are SigV4-signed for the service "ecr".
struct TransferTarget {
  std::string endpoint;
  std::string region;
  std::string access_key_id;
  std::string secret_access_key;
  std::string ca_bundle;  // empty: the system's trust store
};

// Uploads the archive at `file` (signed with its sha256, so annexd refuses
// a corrupted upload); prints the imported images as JSON. Returns the exit code.
int ImportImage(const TransferTarget& target, const std::string& file, const std::string& repository);

// Downloads `image` ("repository:tag") into `out`, written under a
// temporary name and renamed once complete. Returns the exit code.
int ExportImage(const TransferTarget& target, const std::string& image, const std::string& out);

}  // namespace annex::cli
