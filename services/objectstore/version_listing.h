#pragma once
// The ListObjectVersions core: every version and delete marker of a
// bucket's keys — keys in UTF-8 byte order, each key's versions newest
// first — with prefix, delimiter roll-up, key and version-id markers and a
// page size. Walks the current versions (objects table) and, beside each
// key, its noncurrent ones (versions.h).

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "services/objectstore/metadata_store.h"

namespace annex::objectstore {

struct VersionListQuery {
  std::string prefix;
  std::string delimiter;
  // Resume after this key — or, with a version id marker, after that
  // version of it ("" for the null version).
  std::string key_marker;
  std::optional<std::string> version_id_marker;
  size_t max_keys = 1000;
};

struct ListedVersion {
  ObjectRecord record;  // without inline data
  bool is_latest = false;
};

struct VersionPage {
  std::vector<ListedVersion> versions;
  std::vector<std::string> common_prefixes;
  bool truncated = false;
  // Where the next page starts: the last key or common prefix returned,
  // and the last version's id text ("null" …) unless a prefix was last.
  std::string next_key_marker;
  std::optional<std::string> next_version_id_marker;
};

Result<VersionPage> ListVersionsPage(const store::ReadTxn& txn, const Tables& t, std::string_view bucket,
                                     const VersionListQuery& query);

}  // namespace annex::objectstore
