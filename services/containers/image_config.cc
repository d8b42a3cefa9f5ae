#include "services/containers/image_config.h"

#include <nlohmann/json.hpp>

namespace annex::containers {
namespace {

using Json = nlohmann::json;

std::string_view EnvName(std::string_view entry) { return entry.substr(0, entry.find('=')); }

Status ReadStrings(const Json& config, const char* key, std::vector<std::string>* out) {
  auto it = config.find(key);
  if (it == config.end() || it->is_null()) return Status::OK();
  if (!it->is_array()) return Status::InvalidArgument(std::string("image config: ") + key + " is not a list");
  for (const auto& v : *it) {
    if (!v.is_string()) return Status::InvalidArgument(std::string("image config: ") + key + " holds a non-string");
    out->push_back(v.get<std::string>());
  }
  return Status::OK();
}

Status ReadString(const Json& config, const char* key, std::string* out) {
  auto it = config.find(key);
  if (it == config.end() || it->is_null()) return Status::OK();
  if (!it->is_string()) return Status::InvalidArgument(std::string("image config: ") + key + " is not a string");
  *out = it->get<std::string>();
  return Status::OK();
}

// Docker's ReplaceOrAppendEnvValues: a name already present keeps its
// place and takes the new value; a new name goes at the end.
void ReplaceOrAppend(std::vector<std::string>& env, const std::string& entry) {
  for (auto& e : env) {
    if (EnvName(e) == EnvName(entry)) {
      e = entry;
      return;
    }
  }
  env.push_back(entry);
}

}  // namespace

Result<ImageConfig> ParseImageConfig(std::string_view config_json) {
  Json doc = Json::parse(config_json, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return Status::InvalidArgument("image config is not a JSON object");
  ImageConfig out;
  auto it = doc.find("config");
  if (it == doc.end() || it->is_null()) return out;
  if (!it->is_object()) return Status::InvalidArgument("image config: config is not an object");
  const Json& c = *it;
  ANNEX_RETURN_IF_ERROR(ReadStrings(c, "Entrypoint", &out.entrypoint));
  ANNEX_RETURN_IF_ERROR(ReadStrings(c, "Cmd", &out.cmd));
  ANNEX_RETURN_IF_ERROR(ReadStrings(c, "Env", &out.env));
  ANNEX_RETURN_IF_ERROR(ReadString(c, "WorkingDir", &out.working_dir));
  ANNEX_RETURN_IF_ERROR(ReadString(c, "User", &out.user));
  return out;
}

Result<MergedProcess> MergeImageConfig(const ImageConfig& image, const ContainerOverrides& o,
                                       std::string_view hostname) {
  MergedProcess p;
  std::vector<std::string> cmd;
  if (o.entry_point && !o.entry_point->empty()) {
    p.argv = *o.entry_point;
    if (o.command) cmd = *o.command;
  } else {
    cmd = (o.command && !o.command->empty()) ? *o.command : image.cmd;
    if (!o.entry_point) p.argv = image.entrypoint;
  }
  p.argv.insert(p.argv.end(), cmd.begin(), cmd.end());
  if (p.argv.empty() || p.argv[0].empty()) {
    return Status::InvalidArgument("no command specified: the image has no Entrypoint or Cmd and the "
                                   "container definition sets neither entryPoint nor command");
  }

  p.env = {std::string("PATH=") + kDefaultPath, "HOSTNAME=" + std::string(hostname)};
  for (const auto& e : o.env) ReplaceOrAppend(p.env, e);
  for (const auto& e : image.env) {
    bool overridden = false;
    for (const auto& u : o.env) overridden = overridden || EnvName(u) == EnvName(e);
    if (!overridden) ReplaceOrAppend(p.env, e);
  }

  p.working_dir = !o.working_dir.empty() ? o.working_dir : image.working_dir;
  if (p.working_dir.empty()) p.working_dir = "/";
  if (p.working_dir[0] != '/') {
    return Status::InvalidArgument("the working directory '" + p.working_dir + "' is invalid, it needs to be an absolute path");
  }
  p.user = !o.user.empty() ? o.user : image.user;
  return p;
}

}  // namespace annex::containers
