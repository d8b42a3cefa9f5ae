#pragma once
// annexd's side of the control-plane link. When a control plane is configured
// (or the appliance enrolled before), it runs the sync agent with the object
// store's buckets as inventory and bucket commands as actions, taken as the
// root account. It reports the agent's state for `annexctl sync status`
// (admin API) and /_annex/metrics. Nothing local waits for it.

#include <memory>
#include <string>

#include "appliance/core/result.h"
#include "appliance/daemon/config.h"
#include "services/objectstore/store_control.h"

namespace annex::sync {
class Agent;
}

namespace annex::daemon {

class SyncLink {
 public:
  // Without a control plane address, a SyncLink that only reports status
  // (an enrolled appliance keeps serving, unsynced, and says so in its log).
  static Result<std::unique_ptr<SyncLink>> Start(const Config& config, objectstore::StoreControl& store,
                                                 std::string root_account_id);
  ~SyncLink();

  // {"enrolled":..., "zone":..., "control_plane":..., "connected": ..., "connected_since": ...,
  //  "outbox_depth":..., "last_sequence":..., "last_acknowledged":..., "certificate_expires":..., "last_error":...}
  std::string StatusJson() const;
  void RenderMetrics(std::string& out) const;

 private:
  SyncLink() = default;
  std::string control_plane_;
  std::unique_ptr<sync::Agent> agent_;
};

}  // namespace annex::daemon
