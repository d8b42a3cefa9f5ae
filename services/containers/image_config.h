#pragma once
// ImageConfig and MergeImageConfig: what an image says to run (the OCI image
// configuration's Entrypoint, Cmd, Env, WorkingDir, User) combined with what
// an ECS container definition overrides, by Docker's rules, into the
// process a container starts.
//
// Docker's rules (moby daemon/create.go merge, container/env.go):
//   - entryPoint given: it replaces Entrypoint and the image's Cmd is
//     dropped; command (if given) is then the only argument list;
//   - entryPoint given as an empty list: no Entrypoint, and Cmd is the
//     command or else the image's Cmd;
//   - command given: it replaces Cmd;
//   - environment: the definition's variables, then every image variable
//     whose name the definition does not set; PATH (Docker's default) and
//     HOSTNAME come first unless one of those sets them;
//   - workingDirectory and user replace WorkingDir and User when non-empty.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "appliance/core/result.h"

namespace annex::containers {

// Docker's PATH for a Linux container whose image sets none.
inline constexpr char kDefaultPath[] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// The part of an OCI image configuration that says how to run it.
struct ImageConfig {
  std::vector<std::string> entrypoint;
  std::vector<std::string> cmd;
  std::vector<std::string> env;  // "NAME=value"
  std::string working_dir;
  std::string user;              // "", "1000", "1000:1000", "app", "app:staff"
};

// From ResolvedImage::config_json. An absent or null "config" is an image
// with nothing to run by default (e.g. built FROM scratch). InvalidArgument
// when the JSON is malformed or a member has the wrong type.
Result<ImageConfig> ParseImageConfig(std::string_view config_json);

// What an ECS container definition overrides (ContainerDefinition's
// entryPoint, command, environment, workingDirectory, user).
struct ContainerOverrides {
  std::optional<std::vector<std::string>> entry_point;
  std::optional<std::vector<std::string>> command;
  std::vector<std::string> env;  // "NAME=value"
  std::string working_dir;
  std::string user;
};

// The process to start, before its user is resolved (container_user.h).
struct MergedProcess {
  std::vector<std::string> argv;  // argv[0] may be relative: the runtime searches PATH
  std::vector<std::string> env;
  std::string working_dir;        // "/" when neither sets one
  std::string user;               // "" means root
};

// InvalidArgument when there is nothing to run (no entrypoint and no
// command: Docker's "no command specified") or the working directory is
// relative.
Result<MergedProcess> MergeImageConfig(const ImageConfig& image, const ContainerOverrides& overrides,
                                       std::string_view hostname);

}  // namespace annex::containers
