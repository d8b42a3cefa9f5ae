// annexctl: the operator and developer CLI for an Annex appliance.
//
//   annexctl status                     is the appliance up and ready? and its CA's fingerprint
//   annexctl logs [-n N] [-f]           annexd's log (from <data-dir>/log), last lines or following
//   annexctl credentials                the root credentials as an AWS profile
//   annexctl accounts create NAME       a new account; prints its keys as JSON
//   annexctl accounts list
//   annexctl sync status                the link to the control plane (JSON)
//   annexctl sync enroll --control-plane HOST:PORT --token TOKEN [--force]
//                                       enroll now (or re-enroll), wait for the outcome
//   annexctl images import FILE [--repository R]
//                                       a `docker save` archive or OCI layout tar into the registry
//   annexctl images export R:TAG -o FILE
//                                       an image as a docker-archive tar (podman load, skopeo)
//
// Requests to the admin API are SigV4-signed (service "annex"), image
// transfers as the registry's (service "ecr"), with the root
// credentials from ANNEX_ROOT_ACCESS_KEY_ID/ANNEX_ROOT_SECRET_ACCESS_KEY or
// <data-dir>/credentials. An https:// endpoint is verified against
// --ca-bundle, else <data-dir>/tls/ca.pem when it exists, else the system's
// trust store.

#include <CLI/CLI.hpp>
#include <curl/curl.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>

#include "appliance/core/log_reader.h"
#include "appliance/cli/image_transfer.h"
#include "appliance/crypto/certificate_fingerprint.h"

namespace {

struct Options {
  std::string endpoint = "http://127.0.0.1:4566";
  std::string data_dir = "./var";
  std::string region = "us-east-1";
  std::string ca_bundle;  // for https:// endpoints; empty: <data-dir>/tls/ca.pem if present
};

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
};

struct HttpResult {
  long status = 0;
  std::string body;
  std::string error;
};

std::string EnvOr(const char* name, std::string fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

// Reads the [annex] profile of an AWS shared-credentials file.
bool LoadCredentials(const Options& o, Credentials* out, std::string* error) {
  out->access_key_id = EnvOr("ANNEX_ROOT_ACCESS_KEY_ID", "");
  out->secret_access_key = EnvOr("ANNEX_ROOT_SECRET_ACCESS_KEY", "");
  if (!out->access_key_id.empty() && !out->secret_access_key.empty()) return true;
  std::string path = o.data_dir + "/credentials";
  std::ifstream in(path);
  if (!in) {
    *error = "no credentials: set ANNEX_ROOT_ACCESS_KEY_ID/ANNEX_ROOT_SECRET_ACCESS_KEY or point --data-dir at the "
             "appliance's data directory (" + path + " is not readable)";
    return false;
  }
  std::string line;
  while (std::getline(in, line)) {
    auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    auto trim = [](std::string s) {
      s.erase(0, s.find_first_not_of(" \t"));
      s.erase(s.find_last_not_of(" \t\r") + 1);
      return s;
    };
    std::string key = trim(line.substr(0, eq)), value = trim(line.substr(eq + 1));
    if (key == "aws_access_key_id") out->access_key_id = value;
    if (key == "aws_secret_access_key") out->secret_access_key = value;
  }
  if (out->access_key_id.empty() || out->secret_access_key.empty()) {
    *error = path + " has no aws_access_key_id/aws_secret_access_key";
    return false;
  }
  return true;
}

size_t Collect(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

HttpResult Request(const Options& o, const std::string& method, const std::string& path, const std::string& body,
                   const Credentials* creds, long timeout_seconds = 30) {
  HttpResult r;
  CURL* curl = curl_easy_init();
  std::string url = o.endpoint + path;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, timeout_seconds);
  struct curl_slist* headers = nullptr;
  if (!body.empty()) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    headers = curl_slist_append(headers, "Content-Type: application/json");
  }
  std::string userpwd, sigv4 = "aws:amz:" + o.region + ":annex";
  if (creds) {
    userpwd = creds->access_key_id + ":" + creds->secret_access_key;
    curl_easy_setopt(curl, CURLOPT_USERPWD, userpwd.c_str());
    curl_easy_setopt(curl, CURLOPT_AWS_SIGV4, sigv4.c_str());
  }
  if (headers) curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  std::string ca_bundle = o.ca_bundle;
  if (ca_bundle.empty() && std::ifstream(o.data_dir + "/tls/ca.pem")) ca_bundle = o.data_dir + "/tls/ca.pem";
  if (!ca_bundle.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, ca_bundle.c_str());
  CURLcode rc = curl_easy_perform(curl);
  if (rc != CURLE_OK) r.error = curl_easy_strerror(rc);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r.status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return r;
}

int Fail(const std::string& message) {
  std::fprintf(stderr, "annexctl: %s\n", message.c_str());
  return 1;
}

// "HTTP 409: AlreadyEnrolled: …" from a JSON error body (or the raw body).
std::string ErrorText(const HttpResult& r) {
  auto err = nlohmann::json::parse(r.body, nullptr, false);
  std::string msg =
      err.is_object() && err.contains("message") ? err.value("__type", "") + ": " + err.value("message", "") : r.body;
  return "HTTP " + std::to_string(r.status) + ": " + msg;
}

int CheckedCall(const Options& o, const std::string& method, const std::string& path, const std::string& body) {
  Credentials creds;
  std::string error;
  if (!LoadCredentials(o, &creds, &error)) return Fail(error);
  HttpResult r = Request(o, method, path, body, &creds);
  if (!r.error.empty()) return Fail("cannot reach " + o.endpoint + ": " + r.error);
  if (r.status != 200) return Fail(ErrorText(r));
  std::cout << r.body;
  return 0;
}

// `annexctl status`: health, then the appliance CA's SHA-256 fingerprint,
// read from <data-dir>/tls/ca.pem on the appliance itself, else from what
// annexd serves at /_annex/ca.pem (compare that with the console's).
int ShowStatus(const Options& o) {
  HttpResult r = Request(o, "GET", "/_annex/health", "", nullptr);
  if (!r.error.empty()) return Fail("cannot reach " + o.endpoint + ": " + r.error);
  std::cout << o.endpoint << ": " << (r.status == 200 ? "ready" : "not ready (HTTP " + std::to_string(r.status) + ")")
            << "\n";
  // The health body's first line is the verdict; each further line is a service.
  if (size_t nl = r.body.find('\n'); nl != std::string::npos) {
    std::istringstream services(r.body.substr(nl + 1));
    for (std::string line; std::getline(services, line);) {
      if (!line.empty()) std::cout << "  " << line << "\n";
    }
  }
  std::string source = o.data_dir + "/tls/ca.pem";
  std::stringstream pem;
  if (std::ifstream local(source); local) {
    pem << local.rdbuf();
  } else {
    HttpResult ca = Request(o, "GET", "/_annex/ca.pem", "", nullptr);
    if (ca.error.empty() && ca.status == 200) pem << ca.body;
    source = o.endpoint + "/_annex/ca.pem";
  }
  auto fingerprint = annex::crypto::CertificateSha256Fingerprint(pem.str());
  if (fingerprint.ok()) std::cout << "CA SHA-256 fingerprint: " << *fingerprint << " (" << source << ")\n";
  else std::cout << "CA: none (HTTPS is not enabled)\n";
  return r.status == 200 ? 0 : 1;
}

struct LogsArgs {
  size_t lines = 50;
  bool follow = false;
  std::string file;  // empty: <data-dir>/log/annexd.log
};

// `annexctl logs`: the last lines of annexd's rotated log, then (-f) what
// is appended, until interrupted.
int ShowLogs(const Options& o, const LogsArgs& a) {
  std::string path = a.file.empty() ? o.data_dir + "/log/annexd.log" : a.file;
  annex::log::LogFollower follower(path);  // from here on nothing is missed
  auto last = annex::log::LastLogLines(path, a.lines);
  if (!last.ok() && !a.follow) return Fail(last.status().message() + " (is --data-dir the appliance's data directory?)");
  if (last.ok()) {
    for (const auto& line : *last) std::cout << line;
    std::cout.flush();
  }
  while (a.follow) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    follower.Poll([](std::string_view chunk) { std::cout << chunk << std::flush; });
  }
  return 0;
}

struct EnrollArgs {
  std::string control_plane;
  std::string token;
  bool force = false;
  int wait_seconds = 30;
};

// Asks annexd to enroll, then follows GET /_annex/api/sync until the agent
// has used the token (or the wait is over).
int SyncEnroll(const Options& o, const EnrollArgs& a) {
  using Clock = std::chrono::steady_clock;
  Credentials creds;
  std::string error;
  if (!LoadCredentials(o, &creds, &error)) return Fail(error);
  nlohmann::json request = nlohmann::json::object();
  request["control_plane"] = a.control_plane;
  request["token"] = a.token;
  request["force"] = a.force;
  // annexd first stops the running agent, which may be in the middle of a call to the control plane.
  HttpResult r = Request(o, "POST", "/_annex/api/sync/enroll", request.dump(), &creds, 90L);
  if (!r.error.empty()) return Fail("cannot reach " + o.endpoint + ": " + r.error);
  if (r.status != 202) return Fail(ErrorText(r));

  auto deadline = Clock::now() + std::chrono::seconds(a.wait_seconds);
  auto status = nlohmann::json::parse(r.body, nullptr, false);
  auto poll = [&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    HttpResult g = Request(o, "GET", "/_annex/api/sync", "", &creds);
    auto parsed = nlohmann::json::parse(g.body, nullptr, false);
    if (g.error.empty() && g.status == 200 && parsed.is_object()) status = parsed;
  };
  while (!status.is_object() || status.value("enrolling", true)) {
    if (Clock::now() >= deadline) {
      std::string last = status.is_object() ? status.value("enrollment_error", "") : "";
      return Fail("not enrolled within " + std::to_string(a.wait_seconds) + " s" +
                  (last.empty() ? "" : " (" + last + ")") +
                  "; annexd keeps trying in the background: see `annexctl sync status`");
    }
    poll();
  }
  std::string refused = status.value("enrollment_error", "");
  if (!refused.empty()) return Fail("enrollment failed: " + refused);
  // Enrolled; the first session follows within moments.
  auto connect_deadline = std::min(deadline, Clock::now() + std::chrono::seconds(10));
  while (!status.value("connected", false) && Clock::now() < connect_deadline) poll();
  std::cout << status.dump(2) << "\n";
  return 0;
}

// `annexctl images import|export`: the root credentials and the endpoint as every other command finds them.
int TransferImage(const Options& o, bool import, const std::string& what, const std::string& where) {
  Credentials creds;
  std::string error;
  if (!LoadCredentials(o, &creds, &error)) return Fail(error);
  std::string ca_bundle = o.ca_bundle;
  if (ca_bundle.empty() && std::ifstream(o.data_dir + "/tls/ca.pem")) ca_bundle = o.data_dir + "/tls/ca.pem";
  annex::cli::TransferTarget target{o.endpoint, o.region, creds.access_key_id, creds.secret_access_key, ca_bundle};
  return import ? annex::cli::ImportImage(target, what, where) : annex::cli::ExportImage(target, what, where);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  o.endpoint = EnvOr("ANNEX_ENDPOINT", o.endpoint);
  o.data_dir = EnvOr("ANNEX_DATA_DIR", o.data_dir);
  o.region = EnvOr("ANNEX_REGION", o.region);
  CLI::App app{"annexctl: operate an Annex appliance"};
  app.add_option("--endpoint", o.endpoint, "Appliance endpoint URL (ANNEX_ENDPOINT)")->capture_default_str();
  app.add_option("--data-dir", o.data_dir, "Appliance data directory, for its root credentials (ANNEX_DATA_DIR)")
      ->capture_default_str();
  app.add_option("--region", o.region, "Region for request signing (ANNEX_REGION)")->capture_default_str();
  app.add_option("--ca-bundle", o.ca_bundle,
                 "CA certificate(s) to verify an https:// endpoint with (default: DATA-DIR/tls/ca.pem if present)");
  app.require_subcommand(1);

  int rc = 0;
  auto* status = app.add_subcommand("status", "Check that the appliance is up and ready");
  status->callback([&] { rc = ShowStatus(o); });

  LogsArgs logs_args;
  auto* logs = app.add_subcommand("logs", "annexd's log: the last lines (across rotated files), or following it");
  logs->add_option("-n,--lines", logs_args.lines, "Number of lines")->capture_default_str();
  logs->add_flag("-f,--follow", logs_args.follow, "Keep printing lines as they are logged");
  logs->add_option("--file", logs_args.file, "The log file (default: DATA-DIR/log/annexd.log)");
  logs->callback([&] { rc = ShowLogs(o, logs_args); });

  auto* credentials = app.add_subcommand("credentials", "Print the root credentials as an AWS profile");
  credentials->callback([&] {
    Credentials c;
    std::string error;
    if (!LoadCredentials(o, &c, &error)) {
      rc = Fail(error);
      return;
    }
    std::cout << "[annex]\naws_access_key_id = " << c.access_key_id << "\naws_secret_access_key = "
              << c.secret_access_key << "\nregion = " << o.region << "\nendpoint_url = " << o.endpoint << "\n";
  });

  auto* accounts = app.add_subcommand("accounts", "Manage accounts");
  accounts->require_subcommand(1);
  std::string account_name;
  auto* create = accounts->add_subcommand("create", "Create an account; prints its access key and secret as JSON");
  create->add_option("NAME", account_name, "Account name")->required();
  create->callback([&] {
    rc = CheckedCall(o, "POST", "/_annex/api/accounts", nlohmann::json{{"name", account_name}}.dump());
  });
  auto* list = accounts->add_subcommand("list", "List accounts");
  list->callback([&] { rc = CheckedCall(o, "GET", "/_annex/api/accounts", ""); });

  auto* sync = app.add_subcommand("sync", "The link to the control plane");
  sync->require_subcommand(1);
  auto* sync_status = sync->add_subcommand(
      "status", "Enrolled or not, zone, connected since, outbox depth, last acknowledged record, certificate expiry (JSON)");
  sync_status->callback([&] { rc = CheckedCall(o, "GET", "/_annex/api/sync", ""); });
  EnrollArgs enroll;
  auto* sync_enroll = sync->add_subcommand(
      "enroll",
      "Enroll with a control plane now, without restarting annexd, and remember its address; waits until "
      "enrolled (prints the status as JSON) or refused (exits 1 with the reason)");
  sync_enroll->add_option("--control-plane", enroll.control_plane, "The control plane's sync address HOST:PORT")
      ->required();
  sync_enroll
      ->add_option("--token", enroll.token,
                   "Enrollment token from `annex-control sites create` (or `sites token` to re-enroll)")
      ->envname("ANNEX_ENROLLMENT_TOKEN")
      ->required();
  sync_enroll->add_flag("--force", enroll.force,
                        "Enroll again although the certificate is still valid: new key and certificate, "
                        "queued changes kept");
  sync_enroll->add_option("--wait", enroll.wait_seconds, "Seconds to wait for the outcome")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  sync_enroll->callback([&] { rc = SyncEnroll(o, enroll); });

  auto* images = app.add_subcommand("images", "Move images in and out of the registry as archive files");
  images->require_subcommand(1);
  std::string image_file, image_repository, image_name, image_out;
  auto* image_import = images->add_subcommand(
      "import", "Import a `docker save` archive or an OCI image layout (tar, gzip'd or not); prints the images as JSON");
  image_import->add_option("FILE", image_file, "The archive")->required();
  image_import->add_option("--repository", image_repository,
                           "Store the images in this repository (NAME or NAME:TAG) instead of the archive's names");
  image_import->callback([&] { rc = TransferImage(o, true, image_file, image_repository); });
  auto* image_export = images->add_subcommand(
      "export", "Export an image as a docker-archive tar (for podman load, docker load, skopeo)");
  image_export->add_option("IMAGE", image_name, "REPOSITORY:TAG")->required();
  image_export->add_option("-o,--output", image_out, "The archive to write")->required();
  image_export->callback([&] { rc = TransferImage(o, false, image_name, image_out); });

  curl_global_init(CURL_GLOBAL_DEFAULT);
  CLI11_PARSE(app, argc, argv);
  curl_global_cleanup();
  return rc;
}
