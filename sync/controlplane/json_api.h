#pragma once
// The JSON side of the operator API, under /v1/. Times are ISO 8601 UTC
// strings (null: never); zones include sites that have not enrolled yet.
//
//   GET  /v1/zones                        {"zones": [zone]}
//   GET  /v1/zones/{zone}                 zone: name, site, region, state, enrolled, enrolled_at, connected,
//                                         connected_since, last_heartbeat, capacity, agent_version,
//                                         last_applied_seq
//   GET  /v1/zones/{zone}/resources       {"zone", "resources": [{type, id, state (the reported JSON),
//                                         version, updated}]}; ?include_deleted=true adds tombstones
//   GET  /v1/zones/{zone}/history         {"zone", "events": [{time, event, detail}]}, newest last; ?max=N
//   GET  /v1/zones/{zone}/commands        {"zone", "commands": [command]}, oldest first
//   POST /v1/zones/{zone}/commands        {"kind": KIND, "args": {...}, "id": optional} → 201 command {id, zone,
//                                         kind, args, state, result, created, updated}; the same id again
//                                         returns the same command. KIND and args are checked against the
//                                         commands the zone advertises (zone capacity.commands: kind, service,
//                                         args schema), e.g. CreateBucket {"bucket": NAME} from s3
//   GET  /v1/zones/{zone}/commands/{id}   command
//   GET  /v1/sites                        {"sites": [{name, zone, created, enrolled}]}
//   POST /v1/sites                        {"name": NAME, "replace_token": optional bool} → 201 {site, zone, token}
//
// Errors come back as Status: NotFound (unknown zone, command or path),
// subcode ValidationError for a bad body, Conflict for an existing site or a
// zone that has not enrolled yet, MethodNotAllowed.

#include <string_view>

#include "appliance/core/result.h"
#include "appliance/http/request.h"
#include "sync/controlplane/operator_call.h"
#include "sync/controlplane/registry.h"

namespace annex::sync {

// `ca_sha256`: the CA that tokens of sites created here pin.
Result<http::Response> ServeJsonApi(Registry& registry, std::string_view ca_sha256, OperatorCall& call);

}  // namespace annex::sync
