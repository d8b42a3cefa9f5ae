#include "services/database/rds.h"

namespace annex::database {

Result<std::unique_ptr<service::DocumentStore>> OpenRdsStore(const std::string& dir) {
  return service::DocumentStore::Open(dir, {{"instances", "db-instance"}, {"snapshots", "db-snapshot"}});
}

std::string InstanceKey(const std::string& account, const std::string& identifier) {
  return service::DocumentKey({account, identifier});
}

std::string InstanceArn(const Rds& rds, const std::string& account, const std::string& identifier) {
  return "arn:aws:rds:" + rds.region + ":" + account + ":db:" + identifier;
}

std::string InstanceDir(const Rds& rds, const Json& doc) {
  auto id = doc.find("DbiResourceId");
  return rds.instances_dir + "/" + (id != doc.end() && id->is_string() ? id->get<std::string>() : "unknown");
}

std::string PasswordFile(const Rds& rds, const Json& doc, uint64_t seq) {
  return InstanceDir(rds, doc) + "/password-" + std::to_string(seq);
}

int64_t NowMs(const os::Clock& clock) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock.Now().time_since_epoch()).count();
}

}  // namespace annex::database
