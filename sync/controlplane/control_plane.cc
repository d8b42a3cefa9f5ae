#include "sync/controlplane/control_plane.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <cctype>
#include <chrono>

#include "appliance/core/log.h"
#include "appliance/core/strings.h"
#include "appliance/iam/root_credentials.h"
#include "appliance/os/clock.h"
#include "appliance/os/file_system.h"
#include "appliance/os/random.h"
#include "sync/agent/enrollment.h"

namespace annex::sync {
namespace {

constexpr std::string_view kCredentialsProfile = "annex-control";
constexpr std::string_view kCaCommonName = "annex-control CA";
constexpr int kServerCertDays = 825;
// A server certificate this close to expiry is replaced at the next start.
constexpr int64_t kServerCertRenewBeforeSeconds = 30 * 24 * 3600;
// The alphabets annexd uses for its keys (appliance/iam/identity_store.cc).
constexpr std::string_view kKeyIdAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
constexpr std::string_view kSecretAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int64_t NowUnix() {
  return std::chrono::duration_cast<std::chrono::seconds>(os::SystemClock().Now().time_since_epoch()).count();
}

// flock()s `path` (created if missing). Non-blocking: FailedPrecondition when another process holds it.
Result<int> LockFile(const std::string& path, bool wait) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Status::FromErrno(errno, "open " + path);
  if (::flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) != 0) {
    int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) return Status::FailedPrecondition("locked by another process: " + path);
    return Status::FromErrno(err, "flock " + path);
  }
  return fd;
}

// The CA, created under tls/LOCK unless ca.pem and ca.key exist. The key is written first: ca.pem
// present means the pair is complete.
Result<KeyAndCert> EnsureCa(os::FileSystem& fs, const std::string& tls_dir) {
  ANNEX_RETURN_IF_ERROR(fs.CreateDirs(tls_dir));
  ANNEX_ASSIGN_OR_RETURN(int lock, LockFile(os::JoinPath(tls_dir, "LOCK"), /*wait=*/true));
  struct Unlock {
    int fd;
    ~Unlock() { ::close(fd); }
  } unlock{lock};
  std::string cert_path = os::JoinPath(tls_dir, "ca.pem"), key_path = os::JoinPath(tls_dir, "ca.key");
  if (fs.Exists(cert_path)) {
    if (!fs.Exists(key_path)) return Status::Corruption(cert_path + " exists without its key " + key_path);
    KeyAndCert ca;
    ANNEX_ASSIGN_OR_RETURN(ca.cert_pem, os::ReadFileToString(fs, cert_path));
    ANNEX_ASSIGN_OR_RETURN(ca.key_pem, os::ReadFileToString(fs, key_path));
    return ca;
  }
  ANNEX_ASSIGN_OR_RETURN(KeyAndCert ca, CreateCa(kCaCommonName));
  ANNEX_RETURN_IF_ERROR(os::WriteFileAtomic(fs, key_path, ca.key_pem, 0600));
  ANNEX_RETURN_IF_ERROR(os::WriteFileAtomic(fs, cert_path, ca.cert_pem, 0644));
  log::Info("created the control plane CA", {{"cert", cert_path}});
  return ca;
}

// Sorts `hosts` into DNS names and IP literals for a certificate's subjectAltName.
Status ClassifyHosts(const std::vector<std::string>& hosts, std::vector<std::string>& dns,
                     std::vector<std::string>& ips) {
  for (const std::string& host : hosts) {
    if (host.empty() || host == "0.0.0.0" || host == "::") continue;  // wildcard: no name to certify
    unsigned char buf[16];
    if (::inet_pton(AF_INET, host.c_str(), buf) == 1 || ::inet_pton(AF_INET6, host.c_str(), buf) == 1) {
      ips.push_back(host);
      continue;
    }
    bool ok = host.size() <= 253;
    for (char c : host) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.');
    if (!ok) return Status::InvalidArgument("'" + host + "' is neither an IP address nor a host name");
    dns.push_back(ToLower(host));
  }
  return Status::OK();
}

// Whether the first certificate of `chain_pem` names every entry of `dns` and `ips`.
bool CoversNames(const std::string& chain_pem, const std::vector<std::string>& dns,
                 const std::vector<std::string>& ips) {
  BIO* bio = BIO_new_mem_buf(chain_pem.data(), static_cast<int>(chain_pem.size()));
  if (!bio) return false;
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (!cert) return false;
  bool ok = true;
  for (const auto& name : dns) ok = ok && X509_check_host(cert, name.data(), name.size(), 0, nullptr) == 1;
  for (const auto& ip : ips) ok = ok && X509_check_ip_asc(cert, ip.c_str(), 0) == 1;
  X509_free(cert);
  return ok;
}

// The gRPC server's key and chain. An existing certificate is reused while it is issued by `ca`, covers every
// name, and stays valid for another 30 days; otherwise a new one replaces it (nobody pins it: appliances trust
// the CA).
Result<KeyAndCert> EnsureServerCert(os::FileSystem& fs, const std::string& tls_dir, const KeyAndCert& ca,
                                    const std::vector<std::string>& hosts) {
  std::vector<std::string> dns{std::string(kControlPlaneServerName), "localhost"}, ips{"127.0.0.1", "::1"};
  ANNEX_RETURN_IF_ERROR(ClassifyHosts(hosts, dns, ips));
  std::string cert_path = os::JoinPath(tls_dir, "server.pem"), key_path = os::JoinPath(tls_dir, "server.key");
  if (fs.Exists(cert_path) && fs.Exists(key_path)) {
    KeyAndCert chain;
    ANNEX_ASSIGN_OR_RETURN(chain.cert_pem, os::ReadFileToString(fs, cert_path));
    ANNEX_ASSIGN_OR_RETURN(chain.key_pem, os::ReadFileToString(fs, key_path));
    if (VerifyIssuedBy(chain.cert_pem, ca.cert_pem, NowUnix() + kServerCertRenewBeforeSeconds).ok() &&
        CoversNames(chain.cert_pem, dns, ips)) {
      return chain;
    }
    log::Info("replacing the gRPC server certificate (expiring, or missing a listen name)", {{"cert", cert_path}});
  }
  ANNEX_ASSIGN_OR_RETURN(KeyAndCert server, IssueServerCert(ca, kControlPlaneServerName, dns, ips, kServerCertDays));
  KeyAndCert chain{server.key_pem, server.cert_pem + ca.cert_pem};
  ANNEX_RETURN_IF_ERROR(os::WriteFileAtomic(fs, key_path, chain.key_pem, 0600));
  ANNEX_RETURN_IF_ERROR(os::WriteFileAtomic(fs, cert_path, chain.cert_pem, 0644));
  return chain;
}

// The admin key of profile [annex-control] in an AWS shared-credentials file; nullopt if absent.
std::optional<AdminKey> ParseCredentialsFile(std::string_view text) {
  AdminKey key;
  std::string_view section;
  for (std::string_view line : Split(text, '\n')) {
    line = Trim(line);
    if (line.size() >= 2 && line.front() == '[' && line.back() == ']') {
      section = Trim(line.substr(1, line.size() - 2));
      continue;
    }
    size_t eq = line.find('=');
    if (section != kCredentialsProfile || eq == std::string_view::npos) continue;
    std::string_view name = Trim(line.substr(0, eq)), value = Trim(line.substr(eq + 1));
    if (name == "aws_access_key_id") key.access_key_id = std::string(value);
    if (name == "aws_secret_access_key") key.secret_access_key = std::string(value);
  }
  if (key.access_key_id.empty() || key.secret_access_key.empty()) return std::nullopt;
  return key;
}

// The key from <data-dir>/credentials, generated (0600) on first start.
Result<AdminKey> EnsureCredentialsFile(os::FileSystem& fs, const std::string& path) {
  if (fs.Exists(path)) {
    ANNEX_ASSIGN_OR_RETURN(std::string text, os::ReadFileToString(fs, path));
    std::optional<AdminKey> key = ParseCredentialsFile(text);
    if (!key) return Status::Corruption(path + " has no [annex-control] aws_access_key_id/aws_secret_access_key");
    return *key;
  }
  AdminKey key{"AKIA" + os::RandomString(16, kKeyIdAlphabet), os::RandomString(40, kSecretAlphabet)};
  std::string text = iam::FormatCredentialsFile(kCredentialsProfile, key.access_key_id, key.secret_access_key);
  ANNEX_RETURN_IF_ERROR(os::WriteFileAtomic(fs, path, text, 0600));
  log::Info("generated admin credentials", {{"file", path}});
  return key;
}

}  // namespace

ControlPlane::~ControlPlane() {
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

Status ControlPlane::OpenShared(const ControlPlaneOptions& options) {
  os::FileSystem& fs = os::PosixFileSystem();
  ANNEX_RETURN_IF_ERROR(fs.CreateDirs(options.data_dir));
  ANNEX_ASSIGN_OR_RETURN(registry_, Registry::Open(os::JoinPath(options.data_dir, "registry"), options.region));
  ANNEX_ASSIGN_OR_RETURN(ca_, EnsureCa(fs, os::JoinPath(options.data_dir, "tls")));
  ANNEX_ASSIGN_OR_RETURN(ca_sha256_, CertSha256(ca_.cert_pem));
  return Status::OK();
}

Result<std::unique_ptr<ControlPlane>> ControlPlane::Shared(const ControlPlaneOptions& options) {
  std::unique_ptr<ControlPlane> cp(new ControlPlane());
  ANNEX_RETURN_IF_ERROR(cp->OpenShared(options));
  return cp;
}

Result<std::unique_ptr<ControlPlane>> ControlPlane::Serve(const ControlPlaneOptions& options) {
  os::FileSystem& fs = os::PosixFileSystem();
  std::unique_ptr<ControlPlane> cp(new ControlPlane());
  ANNEX_RETURN_IF_ERROR(fs.CreateDirs(options.data_dir));
  // One server per data dir: two would both push commands and fight over sessions.
  Result<int> lock = LockFile(os::JoinPath(options.data_dir, "LOCK"), /*wait=*/false);
  if (!lock.ok() && lock.status().code() == StatusCode::kFailedPrecondition) {
    return Status::FailedPrecondition("another annex-control is serving " + options.data_dir);
  }
  if (!lock.ok()) return lock.status();
  cp->lock_fd_ = *lock;
  ANNEX_RETURN_IF_ERROR(cp->OpenShared(options));
  ANNEX_ASSIGN_OR_RETURN(cp->server_chain_,
                         EnsureServerCert(fs, os::JoinPath(options.data_dir, "tls"), cp->ca_, options.server_hosts));
  if (options.admin_from_env) {
    cp->admin_ = *options.admin_from_env;
  } else {
    cp->credentials_file_ = os::JoinPath(options.data_dir, "credentials");
    ANNEX_ASSIGN_OR_RETURN(cp->admin_, EnsureCredentialsFile(fs, cp->credentials_file_));
  }
  return cp;
}

}  // namespace annex::sync
