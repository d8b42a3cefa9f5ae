#include "sync/agent/enrollment.h"

#include <grpcpp/grpcpp.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <poll.h>

#include <chrono>
#include <memory>

#include "sync/common/enrollment_token.h"
#include "sync/common/pki.h"
#include "sync/proto/sync.grpc.pb.h"

namespace annex::sync {
namespace {

std::string ToPem(X509* cert) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) return "";
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

Status FromGrpc(const grpc::Status& s, const std::string& what) {
  std::string m = what + ": " + s.error_message();
  switch (s.error_code()) {
    case grpc::StatusCode::PERMISSION_DENIED:
      return Status::PermissionDenied(m);
    case grpc::StatusCode::INVALID_ARGUMENT:
      return Status::InvalidArgument(m);
    case grpc::StatusCode::UNAUTHENTICATED:
      return Status::Unauthenticated(m);
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return Status::Unavailable(m);
    default:
      return Status::Internal(m);
  }
}

// TCP connect and TLS handshake within `timeout`: an address that drops
// packets must not hold the agent (and whoever waits to stop it) for the
// kernel's minutes-long connect timeout.
bool ConnectWithin(BIO* bio, std::chrono::milliseconds timeout) {
  BIO_set_nbio(bio, 1);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (BIO_do_handshake(bio) <= 0) {
    if (!BIO_should_retry(bio)) return false;
    int fd = static_cast<int>(BIO_get_fd(bio, nullptr));
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (fd < 0 || left.count() <= 0) return false;
    pollfd p{fd, static_cast<short>(BIO_should_read(bio) ? POLLIN : POLLOUT), 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
  }
  return true;
}

}  // namespace

Result<std::string> FetchPinnedCa(const std::string& host_port, std::string_view ca_sha256) {
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
  if (!ctx) return Status::Internal("SSL_CTX_new");
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);  // checked below, against the pin
  static const unsigned char kAlpn[] = {2, 'h', '2'};        // gRPC servers speak HTTP/2 only
  SSL_CTX_set_alpn_protos(ctx.get(), kAlpn, sizeof(kAlpn));
  std::unique_ptr<BIO, decltype(&BIO_free_all)> bio(BIO_new_ssl_connect(ctx.get()), BIO_free_all);
  if (!bio) return Status::Internal("BIO_new_ssl_connect");
  BIO_set_conn_hostname(bio.get(), host_port.c_str());
  SSL* ssl = nullptr;
  BIO_get_ssl(bio.get(), &ssl);
  SSL_set_tlsext_host_name(ssl, std::string(kControlPlaneServerName).c_str());
  if (!ConnectWithin(bio.get(), std::chrono::seconds(10))) {
    return Status::Unavailable("cannot open TLS to the control plane at " + host_port);
  }
  STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl);
  for (int i = 0; chain && i < sk_X509_num(chain); ++i) {
    std::string pem = ToPem(sk_X509_value(chain, i));
    auto sha = CertSha256(pem);
    if (sha.ok() && *sha == ca_sha256) return pem;
  }
  return Status::PermissionDenied("the server at " + host_port +
                                  " does not present the CA pinned by the enrollment token: not our control plane");
}

Result<Enrollment> Enroll(const std::string& host_port, std::string_view token_text, std::string_view agent_version) {
  ANNEX_ASSIGN_OR_RETURN(EnrollmentToken token, ParseToken(token_text));
  Enrollment e;
  ANNEX_ASSIGN_OR_RETURN(e.ca_pem, FetchPinnedCa(host_port, token.ca_sha256));
  ANNEX_ASSIGN_OR_RETURN(e.key_pem, GenerateKey());
  ANNEX_ASSIGN_OR_RETURN(std::string csr, MakeCsr(e.key_pem, token.site));

  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = e.ca_pem;
  grpc::ChannelArguments args;
  args.SetSslTargetNameOverride(std::string(kControlPlaneServerName));
  auto channel = grpc::CreateCustomChannel(host_port, grpc::SslCredentials(ssl), args);
  auto stub = annex::sync::v1::Sync::NewStub(channel);
  annex::sync::v1::EnrollRequest req;
  req.set_token(std::string(token_text.substr(0, token_text.find_last_not_of(" \t\r\n") + 1)));
  req.set_csr_pem(csr);
  req.set_agent_version(std::string(agent_version));
  annex::sync::v1::EnrollResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  grpc::Status s = stub->Enroll(&ctx, req, &resp);
  if (!s.ok()) return FromGrpc(s, "enrollment refused");
  // The certificate must come from the pinned CA and name our site's zone.
  ANNEX_RETURN_IF_ERROR(VerifyIssuedBy(resp.certificate_pem(), e.ca_pem, std::time(nullptr)));
  ANNEX_ASSIGN_OR_RETURN(CertInfo info, ReadCert(resp.certificate_pem()));
  if (info.common_name != resp.zone() || !resp.zone().ends_with("-annex-" + token.site)) {
    return Status::PermissionDenied("the control plane issued a certificate for " + info.common_name +
                                    ", not for site " + token.site);
  }
  e.zone = resp.zone();
  e.region = resp.region();
  e.cert_pem = resp.certificate_pem();
  return e;
}

}  // namespace annex::sync
