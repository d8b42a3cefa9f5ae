// DescribeDBEngineVersions, and the tag operations on an instance's ARN.

#include <algorithm>

#include "appliance/core/co_status.h"
#include "appliance/http/api_error.h"
#include "services/database/rds_call.h"
#include "services/database/rds_validation.h"
#include "services/database/rds_xml.h"

namespace annex::database {
namespace {

// The instance a ResourceName ARN names, within the caller's account:
// arn:aws:rds:<region>:<account>:db:<identifier>. Another account's, or a
// kind of resource the appliance does not have, is not found.
Result<std::string> InstanceOfArn(const RdsCall& call, const std::string& arn) {
  std::string prefix = "arn:aws:rds:" + call.rds.region + ":" + call.account + ":db:";
  if (!arn.starts_with(prefix)) {
    if (!arn.starts_with("arn:")) return InvalidParameterValue("Invalid resource name: " + arn);
    return DBInstanceNotFound(arn.substr(arn.rfind(':') + 1));
  }
  std::string id = arn.substr(prefix.size());
  ANNEX_RETURN_IF_ERROR(ValidateDBInstanceIdentifier(id));
  return NormalizeIdentifier(id);
}

// Applies `change` to the TagList of the instance ResourceName names.
Task<Status> ChangeTags(RdsCall& call, const std::function<Status(Json& tags)>& change) {
  ANNEX_CO_ASSIGN_OR_RETURN(std::string arn, call.Required("ResourceName"));
  ANNEX_CO_ASSIGN_OR_RETURN(std::string id, InstanceOfArn(call, arn));
  std::string key = InstanceKey(call.account, id);
  auto written = co_await call.Blocking([&]() -> Result<std::optional<Json>> {
    return call.rds.store->Update(kInstance, key, [&](std::optional<Json>& doc) -> Status {
      if (!doc) return DBInstanceNotFound(id);
      Json& tags = (*doc)["TagList"];
      if (!tags.is_array()) tags = Json::array();
      return change(tags);
    });
  });
  co_return written.status();
}

}  // namespace

Task<Status> DescribeDBEngineVersions(RdsCall& call, service::QueryResponder& out) {
  const std::string* engine = call.Get("Engine");
  const std::string* version = call.Get("EngineVersion");
  const std::string& installed = call.rds.engine_version;
  std::string major = installed.substr(0, installed.find('.'));
  Json list = Json::array();
  bool wanted = (!engine || *engine == "postgres") &&
                (!version || *version == installed || *version == major);
  if (wanted && !installed.empty()) {
    list.push_back({
        {"Engine", "postgres"},
        {"EngineVersion", installed},
        {"DBParameterGroupFamily", "postgres" + major},
        {"DBEngineDescription", "PostgreSQL"},
        {"DBEngineVersionDescription", "PostgreSQL " + installed + "-R1"},
        {"SupportsLogExportsToCloudwatchLogs", true},
        {"ExportableLogTypes", Json::array({"postgresql"})},
        {"SupportsReadReplica", false},
        {"Status", "available"},
        {"SupportsParallelQuery", false},
        {"SupportsGlobalDatabases", false},
        {"SupportsBabelfish", false},
        {"SupportsCertificateRotationWithoutRestart", false},
        {"SupportedCACertificateIdentifiers", Json::array()},
        {"SupportsLocalWriteForwarding", false},
        {"SupportsIntegrations", false},
    });
  }
  AppendShape(out.Result(), "DBEngineVersions", list, "DBEngineVersionList");
  co_return Status::OK();
}

Task<Status> AddTagsToResource(RdsCall& call, service::QueryResponder& out) {
  std::vector<TagInput> added;
  for (auto& fields : service::QueryStructList(call.params, "Tags", "Tag")) added.push_back({fields["Key"], fields["Value"]});
  ANNEX_CO_RETURN_IF_ERROR(ValidateTags(added));
  co_return co_await ChangeTags(call, [&](Json& tags) -> Status {
    std::vector<TagInput> merged;
    for (const Json& t : tags) merged.push_back({t.value("Key", ""), t.value("Value", "")});
    for (const TagInput& a : added) {
      auto same = std::find_if(merged.begin(), merged.end(), [&](const TagInput& t) { return t.key == a.key; });
      if (same != merged.end()) {
        same->value = a.value;
      } else {
        merged.push_back(a);
      }
    }
    ANNEX_RETURN_IF_ERROR(ValidateTags(merged));
    tags = Json::array();
    for (const TagInput& t : merged) tags.push_back({{"Key", t.key}, {"Value", t.value}});
    return Status::OK();
  });
}

Task<Status> RemoveTagsFromResource(RdsCall& call, service::QueryResponder& out) {
  std::vector<std::string> keys = service::QueryStringList(call.params, "TagKeys", "member");
  co_return co_await ChangeTags(call, [&](Json& tags) -> Status {
    Json kept = Json::array();
    for (const Json& t : tags) {
      if (std::find(keys.begin(), keys.end(), t.value("Key", "")) == keys.end()) kept.push_back(t);
    }
    tags = kept;
    return Status::OK();
  });
}

Task<Status> ListTagsForResource(RdsCall& call, service::QueryResponder& out) {
  ANNEX_CO_ASSIGN_OR_RETURN(std::string arn, call.Required("ResourceName"));
  ANNEX_CO_ASSIGN_OR_RETURN(std::string id, InstanceOfArn(call, arn));
  ANNEX_CO_ASSIGN_OR_RETURN(Json doc, co_await FindInstance(call, id));
  Json tags = doc.value("TagList", Json::array());
  AppendShape(out.Result(), "TagList", tags, "TagList");
  co_return Status::OK();
}

}  // namespace annex::database
