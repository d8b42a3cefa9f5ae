#pragma once
// Config: annexd's settings. Each comes from, in order of precedence, a
// command-line flag, an ANNEX_* environment variable, the config file
// (--config, `key = value` lines), or the default.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "appliance/core/result.h"

namespace annex::daemon {

struct Config {
  std::string data_dir = "./var";
  std::string listen = "127.0.0.1:4566";
  // HTTPS listen addresses (each HOST:PORT); none: no HTTPS listener.
  std::vector<std::string> tls_listen;
  // Names (DNS names or IP addresses) the server certificate carries besides
  // the ones TlsServerNames always adds: the site's hostname and addresses.
  std::vector<std::string> tls_names;
  std::string region = "us-east-1";
  // Virtual-hosted S3 addressing: Host "bucket.s3.<domain>" or "bucket.<domain>".
  std::string domain = "localhost";
  std::string log_level = "info";
  // Empty: log to stderr. Otherwise to this file, rotated (log_file.h):
  // at most log_files + 1 files of log_max_bytes each.
  std::string log_file;
  uint64_t log_max_bytes = 8ull << 20;
  unsigned log_files = 4;
  unsigned io_threads = 2;
  unsigned blocking_threads = 8;
  // Connections served at once (0: half the open-file limit, at most 4096:
  // a connection may hold an object file open too). Past it, and past
  // max_concurrent_uploads request bodies being received, clients are
  // answered 503 SlowDown; /_annex/health is answered regardless.
  unsigned max_connections = 0;
  unsigned max_concurrent_uploads = 256;
  // Timeouts (hidden flags, for tests and tuning): a request head must be
  // whole this long after its first byte; a connection may idle this long
  // between requests; a body that stalls this long is answered 400
  // RequestTimeout.
  unsigned head_timeout_ms = 30'000;
  unsigned idle_timeout_ms = 75'000;
  unsigned io_timeout_ms = 120'000;
  // SIGTERM waits this long for in-flight requests, then answers the ones
  // still running 503 ServiceUnavailable and exits.
  unsigned drain_timeout_ms = 30'000;
  // How often continuously backed-up workloads mark a restorable point (service::Environment).
  unsigned restore_point_interval_ms = 300'000;
  std::string sealing_key_file;  // empty: <data dir>.sealing-key, beside the data directory
  bool plaintext_objects = false;
  // The control plane (sync/): its sync address, and the one-time token to
  // enroll with (only needed until the appliance has enrolled).
  std::string control_plane;
  std::string enrollment_token;
  unsigned sync_heartbeat_ms = 10'000;
  unsigned sync_usage_interval_ms = 60'000;  // one usage record per interval
  // ANNEX_ROOT_ACCESS_KEY_ID / ANNEX_ROOT_SECRET_ACCESS_KEY (environment only).
  std::string root_access_key_id;
  std::string root_secret_access_key;
};

// Parses argv. Returns the config, or an error/exit request: a Status with
// code kAborted means --help or --version was printed (exit 0).
Result<Config> ParseConfig(int argc, char** argv);

// What the HTTPS server certificate is valid for: localhost and the
// loopback addresses, the virtual-host names of S3 (`s3.DOMAIN`,
// `*.s3.DOMAIN`, `*.s3.REGION.DOMAIN`, `*.DOMAIN`) and of the registry
// (`*.dkr.ecr.REGION.DOMAIN`), then config.tls_names. No duplicates; DNS
// names and IP addresses apart, in that order.
struct TlsServerNames {
  std::vector<std::string> dns_names;
  std::vector<std::string> ip_addresses;
};
TlsServerNames ServerCertificateNames(const Config& config);

}  // namespace annex::daemon
