#include "appliance/daemon/sync_link.h"

#include <sys/statvfs.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "appliance/core/log.h"
#include "appliance/core/strings.h"
#include "appliance/os/file_system.h"
#include "sync/agent/agent.h"

namespace annex::daemon {
namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Iso(int64_t unix_ms) {
  return unix_ms ? FormatIso8601(SystemTime(std::chrono::milliseconds(unix_ms))) : "";
}

sync::AgentCapacity MachineCapacity(const std::string& data_dir) {
  sync::AgentCapacity c;
  c.cpus = std::thread::hardware_concurrency();
  long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
  if (pages > 0 && page > 0) c.memory_bytes = static_cast<uint64_t>(pages) * static_cast<uint64_t>(page);
  struct statvfs fs;
  if (::statvfs(data_dir.c_str(), &fs) == 0) {
    c.disk_bytes = static_cast<uint64_t>(fs.f_blocks) * fs.f_frsize;
    c.disk_free_bytes = static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize;
  }
  c.services = {"s3", "iam"};
  return c;
}

// {"bucket": "NAME"} → NAME, or "" when malformed.
std::string BucketArg(const std::string& args_json) {
  auto j = nlohmann::json::parse(args_json, nullptr, false);
  if (!j.is_object() || !j.contains("bucket") || !j["bucket"].is_string()) return "";
  return j["bucket"].get<std::string>();
}

}  // namespace

Result<std::unique_ptr<SyncLink>> SyncLink::Start(const Config& config, objectstore::StoreControl& store,
                                                  std::string root_account_id) {
  std::unique_ptr<SyncLink> link(new SyncLink());
  link->control_plane_ = config.control_plane;
  std::string state_dir = os::JoinPath(config.data_dir, "sync");
  bool enrolled_before = os::PosixFileSystem().Exists(os::JoinPath(state_dir, "identity/identity.json"));
  if (config.control_plane.empty()) {
    // Serving comes first: an enrolled appliance started without its control
    // plane's address still serves, it just does not sync.
    if (enrolled_before) {
      log::Warn("sync: enrolled but no --control-plane given; not syncing", {{"state", state_dir}});
    }
    return link;
  }
  sync::AgentOptions o;
  o.state_dir = state_dir;
  o.control_plane = config.control_plane;
  o.enrollment_token = config.enrollment_token;
  o.agent_version = "annexd";
  o.heartbeat = std::chrono::milliseconds(config.sync_heartbeat_ms);
  o.inventory = [&store] {
    std::vector<sync::InventoryItem> items;
    auto buckets = store.ListBuckets();
    if (!buckets.ok()) return items;
    for (const auto& b : *buckets) {
      nlohmann::json state = nlohmann::json::object();
      state["name"] = b.name;
      state["owner_id"] = b.owner_id;
      state["region"] = b.region;
      state["acl"] = b.acl;
      state["created"] = Iso(b.created_ms);
      items.push_back({"bucket", b.name, state.dump()});
    }
    return items;
  };
  o.execute = [&store, root_account_id](const std::string& kind, const std::string& args) -> Result<std::string> {
    std::string bucket = BucketArg(args);
    if (bucket.empty()) return Status::InvalidArgument(kind + " needs {\"bucket\": NAME}");
    if (kind == "CreateBucket") {
      ANNEX_ASSIGN_OR_RETURN(bool created, store.CreateBucket(bucket, root_account_id, "root"));
      return std::string(created ? "created " : "already present: ") + bucket;
    }
    if (kind == "DeleteBucket") {
      ANNEX_ASSIGN_OR_RETURN(bool deleted, store.DeleteBucket(bucket));
      return std::string(deleted ? "deleted " : "already absent: ") + bucket;
    }
    return Status::InvalidArgument("unknown command " + kind);
  };
  std::string data_dir = config.data_dir;
  o.capacity = [data_dir] { return MachineCapacity(data_dir); };
  o.now_unix_ms = NowMs;
  ANNEX_ASSIGN_OR_RETURN(link->agent_, sync::Agent::Start(std::move(o)));
  return link;
}

SyncLink::~SyncLink() = default;

std::string SyncLink::StatusJson() const {
  nlohmann::json j = nlohmann::json::object();
  sync::AgentStatus s;
  if (agent_) s = agent_->status();
  j["enrolled"] = s.enrolled;
  j["zone"] = s.zone;
  j["control_plane"] = control_plane_;
  j["connected"] = s.connected_since_unix_ms != 0;
  j["connected_since"] = Iso(s.connected_since_unix_ms);
  j["outbox_depth"] = s.outbox_depth;
  j["last_sequence"] = s.last_sequence;
  j["last_acknowledged"] = s.last_acknowledged;
  j["certificate_expires"] = Iso(s.certificate_not_after_unix * 1000);
  j["last_error"] = s.last_error;
  return j.dump(2) + "\n";
}

void SyncLink::RenderMetrics(std::string& out) const {
  sync::AgentStatus s;
  if (agent_) s = agent_->status();
  auto gauge = [&out](const char* name, const char* help, double value) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " gauge\n" + name + " " +
           std::to_string(value) + "\n";
  };
  gauge("annex_sync_enrolled", "1 once the appliance has enrolled with a control plane.", s.enrolled ? 1 : 0);
  gauge("annex_sync_connected", "1 while a session with the control plane is up.", s.connected_since_unix_ms ? 1 : 0);
  gauge("annex_sync_outbox_depth", "Records waiting for the control plane's acknowledgement.",
        static_cast<double>(s.outbox_depth));
  gauge("annex_sync_last_acknowledged_sequence", "Highest outbox sequence number acknowledged.",
        static_cast<double>(s.last_acknowledged));
  gauge("annex_sync_certificate_expiry_timestamp_seconds", "When the appliance's client certificate expires.",
        static_cast<double>(s.certificate_not_after_unix));
}

}  // namespace annex::daemon
