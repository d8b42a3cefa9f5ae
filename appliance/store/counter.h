#pragma once
// Counters in LMDB tables: a number kept under a key as 8 big-endian bytes
// (a log's last sequence number, a reader's cursor, a running total).

#include <cstdint>
#include <string_view>

#include "appliance/core/result.h"
#include "appliance/store/lmdb_env.h"

namespace annex::store {

// The number under `key`: 0 while absent, Corruption for a value that is not 8 bytes.
Result<uint64_t> ReadCounter(const ReadTxn& txn, Table table, std::string_view key);
Status WriteCounter(WriteTxn& txn, Table table, std::string_view key, uint64_t value);

}  // namespace annex::store
