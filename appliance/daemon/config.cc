#include "appliance/daemon/config.h"

#include <CLI/CLI.hpp>

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <iostream>

namespace annex::daemon {

Result<Config> ParseConfig(int argc, char** argv) {
  Config c;
  CLI::App app{"annexd: the Annex appliance daemon (S3-compatible object store and platform services)"};
  app.set_version_flag("--version", "annexd 0.1.0");
  app.set_config("--config", "", "Config file with `key = value` lines (keys as the long flags)");
  app.add_option("--data-dir", c.data_dir, "Data directory (the only mutable state)")
      ->envname("ANNEX_DATA_DIR")->capture_default_str();
  app.add_option("--listen", c.listen, "HTTP listen address HOST:PORT")->envname("ANNEX_LISTEN")
      ->capture_default_str();
  app.add_option("--tls-listen", c.tls_listen,
                 "HTTPS listen addresses HOST:PORT, comma-separated or repeated (certificate from the appliance CA)")
      ->envname("ANNEX_TLS_LISTEN")->delimiter(',');
  app.add_option("--tls-name", c.tls_names,
                 "Extra DNS names or IP addresses for the HTTPS certificate, comma-separated or repeated")
      ->envname("ANNEX_TLS_NAMES")->delimiter(',');
  app.add_option("--region", c.region, "Region name reported to clients")->envname("ANNEX_REGION")
      ->capture_default_str();
  app.add_option("--domain", c.domain, "Domain for virtual-hosted S3 addressing (bucket.s3.DOMAIN)")
      ->envname("ANNEX_DOMAIN")->capture_default_str();
  app.add_option("--log-level", c.log_level, "debug, info, warn or error")->envname("ANNEX_LOG_LEVEL")
      ->capture_default_str();
  app.add_option("--log-file", c.log_file, "Log to this file, rotated by size, instead of stderr (stderr follows it)")
      ->envname("ANNEX_LOG_FILE");
  app.add_option("--log-max-bytes", c.log_max_bytes, "Size at which the log file is rotated")
      ->envname("ANNEX_LOG_MAX_BYTES")->check(CLI::Range(uint64_t{4096}, uint64_t{1} << 40))->capture_default_str();
  app.add_option("--log-files", c.log_files, "Rotated log files kept (FILE.1 … FILE.N)")
      ->envname("ANNEX_LOG_FILES")->check(CLI::Range(1, 100))->capture_default_str();
  app.add_option("--io-threads", c.io_threads, "Threads serving the network")->envname("ANNEX_IO_THREADS")
      ->check(CLI::Range(1, 64))->capture_default_str();
  app.add_option("--blocking-threads", c.blocking_threads, "Threads for blocking disk work")
      ->envname("ANNEX_BLOCKING_THREADS")->check(CLI::Range(1, 256))->capture_default_str();
  app.add_option("--max-connections", c.max_connections,
                 "Connections served at once; past it clients get 503 SlowDown (0: half the open-file limit, "
                 "at most 4096)")
      ->envname("ANNEX_MAX_CONNECTIONS")->capture_default_str();
  app.add_option("--max-concurrent-uploads", c.max_concurrent_uploads,
                 "Request bodies received at once; past it clients get 503 SlowDown")
      ->envname("ANNEX_MAX_CONCURRENT_UPLOADS")->check(CLI::Range(1, 1'000'000))->capture_default_str();
  // Hidden: for tests and tuning (docs/operations.md).
  app.add_option("--head-timeout-ms", c.head_timeout_ms)->envname("ANNEX_HEAD_TIMEOUT_MS")->group("")
      ->check(CLI::Range(10, 3'600'000));
  app.add_option("--idle-timeout-ms", c.idle_timeout_ms)->envname("ANNEX_IDLE_TIMEOUT_MS")->group("")
      ->check(CLI::Range(10, 3'600'000));
  app.add_option("--io-timeout-ms", c.io_timeout_ms)->envname("ANNEX_IO_TIMEOUT_MS")->group("")
      ->check(CLI::Range(10, 3'600'000));
  app.add_option("--drain-timeout-ms", c.drain_timeout_ms)->envname("ANNEX_DRAIN_TIMEOUT_MS")->group("")
      ->check(CLI::Range(0, 3'600'000));
  app.add_option("--restore-point-interval-ms", c.restore_point_interval_ms)
      ->envname("ANNEX_RESTORE_POINT_INTERVAL_MS")->group("")->check(CLI::Range(500, 3'600'000));
  app.add_option("--sealing-key-file", c.sealing_key_file,
                 "The appliance's sealing key (made on first start; keep it off the data disks and back it up): it "
                 "seals the keys of encrypted objects. Default: <data-dir>.sealing-key")
      ->envname("ANNEX_SEALING_KEY_FILE");
  app.add_flag("--plaintext-objects", c.plaintext_objects)->envname("ANNEX_PLAINTEXT_OBJECTS")->group("");
  app.add_option("--control-plane", c.control_plane, "Control plane sync address HOST:PORT (annex-control --listen)")
      ->envname("ANNEX_CONTROL_PLANE");
  app.add_option("--enrollment-token", c.enrollment_token, "One-time token from `annex-control sites create`")
      ->envname("ANNEX_ENROLLMENT_TOKEN");
  app.add_option("--sync-heartbeat-ms", c.sync_heartbeat_ms, "Milliseconds between heartbeats to the control plane")
      ->envname("ANNEX_SYNC_HEARTBEAT_MS")->check(CLI::Range(100, 600'000))->capture_default_str();
  app.add_option("--sync-usage-interval-ms", c.sync_usage_interval_ms,
                 "Milliseconds of usage (requests, bytes) per usage record sent to the control plane")
      ->envname("ANNEX_SYNC_USAGE_INTERVAL_MS")->check(CLI::Range(100, 3'600'000))->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);  // prints help, version or the error
    if (code == 0) return Status::Aborted("exit");
    return Status::InvalidArgument("");  // already reported
  }
  if (const char* k = std::getenv("ANNEX_ROOT_ACCESS_KEY_ID")) c.root_access_key_id = k;
  if (const char* s = std::getenv("ANNEX_ROOT_SECRET_ACCESS_KEY")) c.root_secret_access_key = s;
  for (const auto& name : c.tls_names) {
    if (name.find_first_not_of(" \tabcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-*:_") !=
        std::string::npos) {
      return Status::InvalidArgument("--tls-name '" + name + "' is neither a DNS name nor an IP address");
    }
  }
  if (c.root_access_key_id.empty() != c.root_secret_access_key.empty()) {
    return Status::InvalidArgument("set both ANNEX_ROOT_ACCESS_KEY_ID and ANNEX_ROOT_SECRET_ACCESS_KEY, or neither");
  }
  if (!c.root_secret_access_key.empty() && c.root_secret_access_key.size() < 16) {
    return Status::InvalidArgument("ANNEX_ROOT_SECRET_ACCESS_KEY must be at least 16 characters");
  }
  return c;
}

TlsServerNames ServerCertificateNames(const Config& config) {
  TlsServerNames out;
  auto add = [&out](std::string name) {
    name.erase(0, name.find_first_not_of(" \t"));
    name.erase(name.find_last_not_of(" \t") + 1);
    for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (name.empty()) return;
    unsigned char buf[16];
    bool ip = inet_pton(AF_INET, name.c_str(), buf) == 1 || inet_pton(AF_INET6, name.c_str(), buf) == 1;
    auto& list = ip ? out.ip_addresses : out.dns_names;
    if (std::find(list.begin(), list.end(), name) == list.end()) list.push_back(std::move(name));
  };
  for (const char* n : {"localhost", "*.localhost", "s3.localhost", "*.s3.localhost", "127.0.0.1", "::1"}) add(n);
  const std::string& d = config.domain;
  const std::string& r = config.region;
  for (std::string n : {d, "*." + d, "s3." + d, "*.s3." + d, "s3." + r + "." + d, "*.s3." + r + "." + d,
                        "*.dkr.ecr." + r + "." + d}) {
    add(std::move(n));
  }
  for (const auto& n : config.tls_names) add(n);
  return out;
}

}  // namespace annex::daemon
