#pragma once
// AdminService: the appliance's own operator API under /_annex/api/, JSON
// over HTTP, SigV4-signed (service name "annex"). Only the root identity of
// the root account may call it. annexctl is its client.
//
//   POST /_annex/api/accounts {"name": "team-a"} → {"AccountId", "AccountName", "AccessKeyId", "SecretAccessKey"}
//   GET  /_annex/api/accounts                   → {"Accounts": [{"AccountId", "AccountName", "CreateDate"}]}
//   GET  /_annex/api/sync                       → the sync link's status (SyncLink::StatusJson)
//   POST /_annex/api/sync/enroll {"control_plane": "HOST:PORT", "token": "AXT1…", "force": false}
//        → 202 and the status; the agent enrolls in the background, and the
//        status's "enrolling" turns false once it has succeeded or failed
//        ("enrollment_error"). 400 ValidationError for a missing or
//        malformed field, 409 AlreadyEnrolled for an appliance enrolled with
//        a valid certificate unless "force" is true.
//
// Errors are JSON: {"__type": CODE, "message": TEXT}.

#include <memory>

#include "appliance/iam/identity_store.h"
#include "appliance/service/service.h"

namespace annex::daemon {

class SyncLink;

// Without `sync` (not owned), the /_annex/api/sync endpoints answer NotFound.
std::unique_ptr<service::Service> NewAdminService(iam::IdentityStore& identities, std::string root_account_id,
                                                  SyncLink* sync = nullptr);

}  // namespace annex::daemon
