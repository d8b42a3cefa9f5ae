#include "appliance/store/counter.h"

#include <string>

#include "appliance/store/record.h"

namespace annex::store {

Result<uint64_t> ReadCounter(const ReadTxn& txn, Table table, std::string_view key) {
  ANNEX_ASSIGN_OR_RETURN(auto value, txn.Get(table, key));
  if (!value) return uint64_t{0};
  if (value->size() != 8) {
    return Status::Corruption("counter " + std::string(key) + " holds " + std::to_string(value->size()) +
                              " bytes, not 8");
  }
  return ReadBigEndian64(*value);
}

Status WriteCounter(WriteTxn& txn, Table table, std::string_view key, uint64_t value) {
  return txn.Put(table, key, SeqKey(value));
}

}  // namespace annex::store
