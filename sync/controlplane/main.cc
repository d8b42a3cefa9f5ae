// annex-control: the control plane appliances register with as availability zones.
//
//   annex-control --data-dir DIR --listen HOST:PORT --api-listen HOST:PORT [--region R]
//       serves the Sync gRPC link (mutual TLS) on --listen and the operator API (SigV4) on --api-listen
//       until SIGTERM/SIGINT, then drains and exits 0.
//   annex-control sites create NAME --data-dir DIR [--replace-token]
//       creates a site; prints its one-time enrollment token alone on the last line.
//   annex-control sites token NAME --data-dir DIR
//       a new token for an existing site: one not enrolled yet, or one whose appliance must re-enroll
//       (its certificate expired while offline).
//   annex-control sites list --data-dir DIR
//
// The sites commands work while a server runs on the same data dir (control_plane.h). Every flag has an
// ANNEX_CONTROL_* environment variable; the admin key may come from ANNEX_ROOT_ACCESS_KEY_ID /
// ANNEX_ROOT_SECRET_ACCESS_KEY.

#include <CLI/CLI.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <memory>

#include "appliance/core/log.h"
#include "appliance/core/strings.h"
#include "appliance/http/server.h"
#include "appliance/os/clock.h"
#include "appliance/os/server_process.h"
#include "sync/common/enrollment_token.h"
#include "sync/common/zone.h"
#include "sync/controlplane/control_plane.h"
#include "sync/controlplane/operator_api.h"
#include "sync/controlplane/sync_server.h"

namespace annex::sync {
namespace {

constexpr auto kDrainTimeout = std::chrono::seconds(10);
constexpr std::string_view kSiteNameRules =
    "1-32 characters of a-z, 0-9 and '-', starting with a letter or digit, without \"--\"";

enum class Command { kServe, kSitesCreate, kSitesToken, kSitesList };

struct Flags {
  Command command = Command::kServe;
  std::string data_dir;
  std::string listen = "127.0.0.1:7443";
  std::string api_listen = "127.0.0.1:7080";
  std::string region = "us-east-1";
  std::string log_level = "info";
  std::string site;
  bool replace_token = false;
};

int64_t NowUnixMs() {
  auto since_epoch = os::SystemClock().Now().time_since_epoch();
  return std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch).count();
}

// Parses argv; Aborted for --help/--version (exit 0), InvalidArgument with an empty message when CLI11 already
// reported the error.
Result<Flags> ParseFlags(int argc, char** argv) {
  Flags f;
  CLI::App app{"annex-control: the control plane Annex appliances register with as availability zones"};
  app.set_version_flag("--version", "annex-control 0.1.0");
  app.fallthrough();  // `sites create NAME --data-dir DIR`: options after the subcommand
  app.add_option("--data-dir", f.data_dir, "Data directory (registry, CA, credentials)")
      ->envname("ANNEX_CONTROL_DATA_DIR");
  app.add_option("--listen", f.listen, "Sync gRPC (mutual TLS) listen address HOST:PORT")
      ->envname("ANNEX_CONTROL_LISTEN")
      ->capture_default_str();
  app.add_option("--api-listen", f.api_listen, "Operator HTTP API listen address IP:PORT")
      ->envname("ANNEX_CONTROL_API_LISTEN")
      ->capture_default_str();
  app.add_option("--region", f.region, "Region; zones are named <region>-annex-<site>")
      ->envname("ANNEX_CONTROL_REGION")
      ->capture_default_str();
  app.add_option("--log-level", f.log_level, "debug, info, warn or error")
      ->envname("ANNEX_CONTROL_LOG_LEVEL")
      ->capture_default_str();
  CLI::App* sites = app.add_subcommand("sites", "Create and list sites (works while the server runs)");
  sites->require_subcommand(1);
  CLI::App* create = sites->add_subcommand("create", "Create a site and print its one-time enrollment token");
  create->add_option("name", f.site, "Site name")->required();
  create->add_flag("--replace-token", f.replace_token, "Replace the token of a site that has not enrolled yet");
  CLI::App* token = sites->add_subcommand("token", "A new enrollment token for an existing site");
  token->add_option("name", f.site, "Site name")->required();
  CLI::App* list = sites->add_subcommand("list", "List sites");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);  // prints help, version or the error
    if (code == 0) return Status::Aborted("exit");
    return Status::InvalidArgument("");
  }
  if (create->parsed()) f.command = Command::kSitesCreate;
  if (token->parsed()) f.command = Command::kSitesToken;
  if (list->parsed()) f.command = Command::kSitesList;
  if (f.data_dir.empty()) return Status::InvalidArgument("--data-dir (or ANNEX_CONTROL_DATA_DIR) is required");
  if (f.command != Command::kServe && f.command != Command::kSitesList && !IsValidSiteName(f.site)) {
    return Status::InvalidArgument("'" + f.site + "' is not a valid site name: " + std::string(kSiteNameRules));
  }
  return f;
}

// ANNEX_ROOT_ACCESS_KEY_ID / ANNEX_ROOT_SECRET_ACCESS_KEY, both or neither.
Result<std::optional<AdminKey>> AdminKeyFromEnv() {
  const char* id = std::getenv("ANNEX_ROOT_ACCESS_KEY_ID");
  const char* secret = std::getenv("ANNEX_ROOT_SECRET_ACCESS_KEY");
  bool has_id = id && *id, has_secret = secret && *secret;
  if (has_id != has_secret) {
    return Status::InvalidArgument("set both ANNEX_ROOT_ACCESS_KEY_ID and ANNEX_ROOT_SECRET_ACCESS_KEY, or neither");
  }
  if (!has_id) return std::optional<AdminKey>();
  if (std::string_view(secret).size() < 16) {
    return Status::InvalidArgument("ANNEX_ROOT_SECRET_ACCESS_KEY must be at least 16 characters");
  }
  return std::optional<AdminKey>(AdminKey{id, secret});
}

// Stops accepting, waits (bounded) for in-flight requests, then stops `io`.
// Requests still running at the deadline are answered 503 (where no
// response has started) and get a moment for that to go out.
void StartShutdown(boost::asio::io_context& io, http::HttpServer& server) {
  log::Info("shutting down: draining in-flight requests");
  server.StopAccepting();
  auto deadline = std::chrono::steady_clock::now() + kDrainTimeout;
  auto timer = std::make_shared<boost::asio::steady_timer>(io);
  auto poll = std::make_shared<std::function<void()>>();
  bool gave_up = false;
  *poll = [&io, &server, deadline, timer, poll, gave_up]() mutable {
    auto now = std::chrono::steady_clock::now();
    if (server.active_requests() > 0 && !gave_up && now > deadline) {
      gave_up = true;
      size_t abandoned = server.AbandonRequests();
      log::Warn("shutting down: drain timed out, abandoning in-flight requests",
                {{"abandoned", std::to_string(abandoned)}});
    }
    if (server.active_requests() == 0 || now > deadline + std::chrono::seconds(2)) {
      io.stop();
      *poll = nullptr;  // break the self-reference
      return;
    }
    timer->expires_after(std::chrono::milliseconds(20));
    timer->async_wait([poll](const boost::system::error_code&) {
      if (*poll) (*poll)();
    });
  };
  (*poll)();
}

Status Serve(const Flags& f) {
  os::IgnoreSigpipe();  // before the sync server starts its threads
  if (Result<uint64_t> limit = os::RaiseOpenFileLimit(); !limit.ok()) {
    log::Warn("could not raise the open-file limit", {{"error", limit.status().ToString()}});
  }
  ANNEX_ASSIGN_OR_RETURN(auto listen, http::ParseHostPort(f.listen));
  ANNEX_ASSIGN_OR_RETURN(std::optional<AdminKey> env_key, AdminKeyFromEnv());
  ANNEX_ASSIGN_OR_RETURN(auto cp, ControlPlane::Serve({f.data_dir, f.region, {listen.first}, env_key}));

  SyncServiceOptions sync_options;
  sync_options.ca = cp->ca();
  sync_options.now_unix_ms = NowUnixMs;
  ANNEX_ASSIGN_OR_RETURN(auto sync_server,
                         SyncServer::Start(cp->registry(), sync_options, cp->server_chain(), f.listen));

  auth::Credential admin{cp->admin().access_key_id, cp->admin().secret_access_key, {}};
  admin.principal.anonymous = false;
  admin.principal.account_name = "annex-control";
  admin.principal.access_key_id = admin.access_key_id;
  OperatorApi api({&cp->registry(), &os::SystemClock(), admin, cp->ca_sha256()});
  boost::asio::io_context io(1);
  http::HttpServer server(io, api, http::ServerOptions{});
  ANNEX_ASSIGN_OR_RETURN(uint16_t api_port, server.Listen(f.api_listen, nullptr));

  boost::asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (!ec) StartShutdown(io, server);
  });
  std::string credentials = cp->credentials_file().empty() ? "environment" : cp->credentials_file();
  log::Info("annex-control ready", {{"sync", f.listen},
                                    {"sync_port", std::to_string(sync_server->port())},
                                    {"api", f.api_listen},
                                    {"api_port", std::to_string(api_port)},
                                    {"region", f.region},
                                    {"data_dir", f.data_dir},
                                    {"credentials", credentials},
                                    {"ca_sha256", cp->ca_sha256()}});
  io.run();
  sync_server->Shutdown();
  log::Info("annex-control stopped cleanly");
  return Status::OK();
}

Status SitesCreate(const Flags& f, bool fresh_token) {
  ANNEX_ASSIGN_OR_RETURN(auto cp, ControlPlane::Shared({f.data_dir, f.region, {}, std::nullopt}));
  Registry& registry = cp->registry();
  Result<EnrollmentToken> token = Status::Internal("unreachable");
  std::string what = "created";
  if (!fresh_token) {
    token = registry.CreateSite(f.site, cp->ca_sha256(), NowUnixMs(), f.replace_token);
    if (f.replace_token) what = "has a new token";
  } else {
    // A site that never enrolled gets its token replaced; an enrolled one a token to re-enroll with.
    ANNEX_ASSIGN_OR_RETURN(auto zone, registry.GetZone(ZoneName(registry.region(), f.site), NowUnixMs()));
    token = zone ? registry.ReissueToken(f.site, cp->ca_sha256(), NowUnixMs())
                 : registry.CreateSite(f.site, cp->ca_sha256(), NowUnixMs(), /*replace_token=*/true);
    what = zone ? "may re-enroll" : "has a new token";
  }
  if (!token.ok()) return token.status();
  std::cout << "site " << f.site << " " << what << " (zone " << ZoneName(registry.region(), f.site)
            << "); its one-time enrollment token:\n"
            << EncodeToken(*token) << "\n";
  return Status::OK();
}

Status SitesList(const Flags& f) {
  ANNEX_ASSIGN_OR_RETURN(auto cp, ControlPlane::Shared({f.data_dir, f.region, {}, std::nullopt}));
  ANNEX_ASSIGN_OR_RETURN(std::vector<Site> sites, cp->registry().ListSites());
  std::printf("%-32s  %-48s  %-8s  %s\n", "SITE", "ZONE", "ENROLLED", "CREATED");
  for (const Site& s : sites) {
    std::string created = FormatIso8601(SystemTime(std::chrono::milliseconds(s.created_unix_ms)));
    std::printf("%-32s  %-48s  %-8s  %s\n", s.name.c_str(), s.zone.c_str(), s.enrolled ? "yes" : "no", created.c_str());
  }
  return Status::OK();
}

int Main(int argc, char** argv) {
  Result<Flags> flags = ParseFlags(argc, argv);
  if (!flags.ok()) {
    if (flags.status().code() == StatusCode::kAborted) return 0;
    if (!flags.status().message().empty())
      std::fprintf(stderr, "annex-control: %s\n", flags.status().message().c_str());
    return 2;
  }
  log::SetLevel(flags->log_level);
  Status s;
  switch (flags->command) {
    case Command::kServe:
      s = Serve(*flags);
      break;
    case Command::kSitesCreate:
      s = SitesCreate(*flags, /*fresh_token=*/false);
      break;
    case Command::kSitesToken:
      s = SitesCreate(*flags, /*fresh_token=*/true);
      break;
    case Command::kSitesList:
      s = SitesList(*flags);
      break;
  }
  if (s.ok()) return 0;
  std::fprintf(stderr, "annex-control: %s\n", s.message().empty() ? s.ToString().c_str() : s.message().c_str());
  return 1;
}

}  // namespace
}  // namespace annex::sync

int main(int argc, char** argv) { return annex::sync::Main(argc, argv); }
