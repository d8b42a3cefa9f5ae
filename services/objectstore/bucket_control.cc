#include <nlohmann/json.hpp>

#include "appliance/core/strings.h"
#include "services/objectstore/store_control.h"

namespace annex::objectstore {
namespace {

// {"bucket": "NAME"} → NAME, or "" when malformed.
std::string BucketArg(std::string_view args_json) {
  auto j = nlohmann::json::parse(args_json, nullptr, false);
  if (!j.is_object() || !j.contains("bucket") || !j["bucket"].is_string()) return "";
  return j["bucket"].get<std::string>();
}

// Buckets as the zone's resources, bucket commands taken as the appliance's
// root account, the store's totals as gauges.
class BucketControl final : public service::ServiceControl {
 public:
  BucketControl(std::unique_ptr<StoreControl> store, std::string owner_id)
      : owned_(std::move(store)), store_(*owned_), owner_id_(std::move(owner_id)) {}

  std::string_view service() const override { return "s3"; }

  Result<service::ResourceChanges> ChangesSince(uint64_t cursor, size_t max) override {
    ANNEX_ASSIGN_OR_RETURN(StoreControl::BucketChanges page, store_.ChangesSince(cursor, max));
    service::ResourceChanges out;
    out.cursor = page.cursor;
    out.more = page.more;
    for (const auto& [entry, bucket] : page.changes) {
      service::ResourceChange change{entry.kind, entry.id, "", entry.version, entry.deleted};
      if (bucket) {
        nlohmann::json state = nlohmann::json::object();
        state["name"] = bucket->name;
        state["owner_id"] = bucket->owner_id;
        state["region"] = bucket->region;
        state["acl"] = bucket->acl;
        state["created"] = FormatIso8601Ms(bucket->created_ms);
        change.state_json = state.dump();
      }
      out.changes.push_back(std::move(change));
    }
    return out;
  }

  std::vector<Command> Commands() const override {
    // S3's basic bucket-name rules; the store checks the rest when it applies one.
    const char* schema = R"({"bucket": {"pattern": "^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"}})";
    return {{"CreateBucket", schema}, {"DeleteBucket", schema}};
  }

  Result<std::string> Execute(std::string_view kind, std::string_view args_json) override {
    std::string bucket = BucketArg(args_json);
    if (bucket.empty()) return Status::InvalidArgument(std::string(kind) + " needs {\"bucket\": NAME}");
    if (kind == "CreateBucket") {
      ANNEX_ASSIGN_OR_RETURN(bool created, store_.CreateBucket(bucket, owner_id_, "root"));
      return std::string(created ? "created " : "already present: ") + bucket;
    }
    if (kind == "DeleteBucket") {
      ANNEX_ASSIGN_OR_RETURN(bool deleted, store_.DeleteBucket(bucket));
      return std::string(deleted ? "deleted " : "already absent: ") + bucket;
    }
    return Status::InvalidArgument("unknown command " + std::string(kind));
  }

  std::vector<std::pair<std::string, uint64_t>> Gauges() override {
    StoredTotals t = store_.Stored();
    return {{"objects_stored", t.objects}, {"bytes_stored", t.bytes}};
  }

 private:
  std::unique_ptr<StoreControl> owned_;
  StoreControl& store_;
  const std::string owner_id_;
};

}  // namespace

std::unique_ptr<service::ServiceControl> NewBucketControl(std::unique_ptr<StoreControl> store, std::string owner_id) {
  return std::make_unique<BucketControl>(std::move(store), std::move(owner_id));
}

}  // namespace annex::objectstore
