#pragma once
// LogStore::ReadView (private to appliance/logs): what every read looks at —
// an LMDB read transaction and the journaled appends it does not hold yet.

#include "appliance/logs/log_store.h"
#include "appliance/logs/pending_chunks.h"
#include "appliance/store/lmdb_env.h"

namespace annex::logs {

struct LogStore::ReadView {
  store::ReadTxn txn;
  PendingView pending;
};

}  // namespace annex::logs
