#pragma once
// ServiceControl: a service's face toward the control plane. The sync link
// knows services only through it: the resources a service reports for the
// zone's inventory, the desired-state commands it accepts (the control plane
// creates them, the appliance applies them), and named gauges for the usage
// records. A new service reports and takes commands by implementing this in
// its own folder; neither the sync link nor annex-control changes.
//
// Implementations are thread-safe: the agent calls them from its own thread.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "appliance/core/result.h"

namespace annex::service {

// One resource's change as the control plane records it.
struct ResourceChange {
  std::string kind;        // "bucket"
  std::string id;          // unique within the kind
  std::string state_json;  // what the control plane shows, as a JSON object; empty when deleted
  uint64_t version = 0;    // grows with every change of this resource
  bool deleted = false;
};

struct ResourceChanges {
  std::vector<ResourceChange> changes;
  uint64_t cursor = 0;  // pass it to the next call
  bool more = false;    // more changes wait past `cursor`
};

class ServiceControl {
 public:
  virtual ~ServiceControl() = default;
  // The service's SigV4 name ("s3"), as the zone advertises it.
  virtual std::string_view service() const = 0;
  // What changed after `cursor` (0: every resource the service holds),
  // oldest first, at most `max` changes; each resource once, in its latest
  // state. Services keep their feed with resource_feed.h, in the commit
  // that changes the resource, so a call costs what changed, not what exists.
  virtual Result<ResourceChanges> ChangesSince(uint64_t cursor, size_t max) = 0;
  // The commands Execute accepts, each with the JSON schema of its
  // arguments (sync/common/zone.h CommandSpec): the zone advertises them and
  // the control plane checks operators' commands against them.
  struct Command {
    std::string kind;              // "CreateBucket"
    std::string args_schema_json;  // {"bucket": {"pattern": "^…$"}}
  };
  virtual std::vector<Command> Commands() const = 0;
  // Applies a command, idempotently: applying it again reports that nothing
  // was left to do. The text says what happened. InvalidArgument for
  // malformed arguments; other errors as the service's API would give them.
  virtual Result<std::string> Execute(std::string_view kind, std::string_view args_json) = 0;
  // Gauges for the usage records ("objects_stored", "bytes_stored").
  virtual std::vector<std::pair<std::string, uint64_t>> Gauges() = 0;
};

}  // namespace annex::service
