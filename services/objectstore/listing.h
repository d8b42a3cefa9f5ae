#pragma once
// The ListObjects (V1 and V2) core: prefix, delimiter roll-up into common
// prefixes, a start-after marker and a page size, over the objects table.
//
// Efficiency: once a common prefix is emitted the scan seeks past every key
// that shares it (PrefixSuccessor) instead of stepping through them.

#include <cstddef>
#include <string>
#include <vector>

#include "appliance/store/lmdb_env.h"
#include "services/objectstore/records.h"

namespace annex::objectstore {

struct ListQuery {
  std::string prefix;
  std::string delimiter;
  // Entries (keys or common prefixes) must sort strictly after this. A
  // common prefix equal to the marker is skipped as a whole, so a page that
  // ended on a common prefix resumes after it.
  std::string marker;
  size_t max_keys = 1000;
  bool may_have_delete_markers = false;  // the bucket was ever versioned
};

struct ListPage {
  std::vector<ObjectRecord> objects;  // records without inline data
  std::vector<std::string> common_prefixes;
  bool truncated = false;
  // The last key or common prefix returned: the next page's marker.
  std::string last_entry;
};

// Lists one bucket's objects. Keys and common prefixes come out in UTF-8
// byte order; together at most `max_keys` of them.
Result<ListPage> ListObjectsPage(const store::ReadTxn& txn, store::Table objects, std::string_view bucket,
                                 const ListQuery& query);

}  // namespace annex::objectstore
