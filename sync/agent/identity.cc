#include "sync/agent/identity.h"

#include <nlohmann/json.hpp>

#include "appliance/os/file_system.h"

namespace annex::sync {

std::string IdentityPath(const std::string& state_dir) {
  return os::JoinPath(os::JoinPath(state_dir, "identity"), "identity.json");
}

Result<std::optional<Identity>> LoadIdentity(const std::string& state_dir) {
  os::FileSystem& fs = os::PosixFileSystem();
  std::string path = IdentityPath(state_dir);
  if (!fs.Exists(path)) return std::optional<Identity>();
  ANNEX_ASSIGN_OR_RETURN(std::string text, os::ReadFileToString(fs, path));
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  auto text_field = [&j](const char* name) { return j.contains(name) && j[name].is_string(); };
  if (!j.is_object() || !text_field("zone") || !text_field("key") || !text_field("cert") || !text_field("ca")) {
    return Status::Corruption(path + " is damaged");
  }
  Identity id;
  id.zone = j["zone"].get<std::string>();
  id.key_pem = j["key"].get<std::string>();
  id.cert_pem = j["cert"].get<std::string>();
  id.ca_pem = j["ca"].get<std::string>();
  if (text_field("control_plane")) id.control_plane = j["control_plane"].get<std::string>();
  return std::optional<Identity>(std::move(id));
}

Status SaveIdentity(const std::string& state_dir, const Identity& identity) {
  os::FileSystem& fs = os::PosixFileSystem();
  ANNEX_RETURN_IF_ERROR(fs.CreateDirs(os::JoinPath(state_dir, "identity")));
  nlohmann::json j = nlohmann::json::object();
  j["zone"] = identity.zone;
  j["key"] = identity.key_pem;
  j["cert"] = identity.cert_pem;
  j["ca"] = identity.ca_pem;
  j["control_plane"] = identity.control_plane;
  return os::WriteFileAtomic(fs, IdentityPath(state_dir), j.dump(), 0600);
}

}  // namespace annex::sync
