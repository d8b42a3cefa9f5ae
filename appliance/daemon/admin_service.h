#pragma once
// AdminService: the appliance's own operator API under /_annex/api/, JSON
// over HTTP, SigV4-signed (service name "annex"). Only the root identity of
// the root account may call it. annexctl is its client.
//
//   POST /_annex/api/accounts {"name": "team-a"} → {"AccountId", "AccountName", "AccessKeyId", "SecretAccessKey"}
//   GET  /_annex/api/accounts                   → {"Accounts": [{"AccountId", "AccountName", "CreateDate"}]}

#include <functional>
#include <memory>

#include "appliance/iam/identity_store.h"
#include "appliance/service/service.h"

namespace annex::daemon {

// `sync_status` answers GET /_annex/api/sync (annexctl sync status) with JSON.
std::unique_ptr<service::Service> NewAdminService(iam::IdentityStore& identities, std::string root_account_id,
                                                  std::function<std::string()> sync_status = nullptr);

}  // namespace annex::daemon
