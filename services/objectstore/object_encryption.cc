#include "services/objectstore/object_encryption.h"

#include "appliance/core/strings.h"
#include "appliance/crypto/aead.h"
#include "appliance/crypto/hash.h"
#include "appliance/http/api_error.h"
#include "services/objectstore/s3_call.h"

namespace annex::objectstore {
namespace {

Status InvalidArgument(std::string m) { return http::ApiStatus("InvalidArgument", std::move(m)); }
Status InvalidRequest(std::string m) { return http::ApiStatus("InvalidRequest", std::move(m)); }

std::string HeaderName(std::string_view prefix, std::string_view rest) { return std::string(prefix) + std::string(rest); }

}  // namespace

Result<std::optional<CustomerKey>> ParseCustomerKey(const http::Headers& headers, bool tls, std::string_view prefix) {
  const std::string* algorithm = headers.Get(HeaderName(prefix, "server-side-encryption-customer-algorithm"));
  const std::string* key = headers.Get(HeaderName(prefix, "server-side-encryption-customer-key"));
  const std::string* md5 = headers.Get(HeaderName(prefix, "server-side-encryption-customer-key-md5"));
  if (!algorithm && !key && !md5) return std::optional<CustomerKey>();
  if (!tls) {
    return InvalidRequest("Requests specifying Server Side Encryption with Customer provided keys must be made over a "
                          "secure connection.");
  }
  if (!algorithm) {
    return InvalidArgument("Requests specifying Server Side Encryption with Customer provided keys must provide a "
                           "valid encryption algorithm.");
  }
  if (*algorithm != "AES256") return InvalidArgument("The encryption algorithm specified is not valid.");
  if (!key) {
    return InvalidArgument("Requests specifying Server Side Encryption with Customer provided keys must provide an "
                           "appropriate secret key.");
  }
  if (!md5) {
    return InvalidArgument("Requests specifying Server Side Encryption with Customer provided keys must provide the "
                           "client calculated MD5 of the secret key.");
  }
  auto raw = Base64Decode(*key);
  if (!raw || raw->size() != crypto::kAeadKeySize) {
    return InvalidArgument("The secret key was invalid for the specified algorithm.");
  }
  crypto::Hasher hasher(crypto::HashKind::kMd5);
  hasher.Update(*raw);
  if (Base64Encode(hasher.Final()) != *md5) {
    return InvalidArgument("The calculated MD5 hash of the key did not match the hash that was provided.");
  }
  return std::optional<CustomerKey>(CustomerKey{std::move(*raw), *md5});
}

Result<EncryptionRequest> ParseEncryptionRequest(const http::Headers& headers, bool tls, bool by_default) {
  EncryptionRequest r;
  if (!by_default && !headers.Has("x-amz-server-side-encryption")) r.sse = Sse::kNone;
  ANNEX_ASSIGN_OR_RETURN(r.customer, ParseCustomerKey(headers, tls));
  const std::string* sse = headers.Get("x-amz-server-side-encryption");
  if (sse && *sse != "AES256") {
    if (StartsWith(*sse, "aws:kms")) {
      return InvalidArgument("Server-side encryption with KMS keys is not available on this appliance: use AES256.");
    }
    return InvalidArgument("The encryption method specified is not supported");
  }
  if (sse && r.customer) {
    return InvalidArgument("Server Side Encryption with Customer provided key is incompatible with the encryption "
                           "method specified");
  }
  if (r.customer) r.sse = Sse::kCustomer;
  return r;
}

Result<EncryptionRequest> ParseEncryptionRequest(const S3Call& call) {
  return ParseEncryptionRequest(call.headers(), call.request().tls, call.store.options().encrypt_by_default);
}

DataKey NewDataKey(const KeyRing& ring, const EncryptionRequest& request) {
  if (request.sse == Sse::kNone) return {};
  DataKey k{crypto::RandomKey(), ""};
  k.wrapped = request.customer ? crypto::WrapKey(request.customer->key, k.raw) : ring.Wrap(k.raw);
  return k;
}

void SetEncryption(ObjectRecord& record, const EncryptionRequest& request, const DataKey& key) {
  record.sse = request.sse;
  if (request.sse == Sse::kNone) return;
  record.sse_customer_key_md5 = request.customer ? request.customer->md5 : "";
  if (record.segments.empty()) {
    record.inline_key = key.wrapped;
  } else {
    for (auto& s : record.segments) s.wrapped_key = key.wrapped;
  }
}

Status CheckCustomerKey(Sse sse, std::string_view md5, const std::optional<CustomerKey>& customer) {
  if (sse == Sse::kCustomer && !customer) {
    return InvalidRequest("The object was stored using a form of Server Side Encryption. The correct parameters must "
                          "be provided to retrieve the object.");
  }
  if (sse != Sse::kCustomer && customer) {
    return InvalidRequest("The encryption parameters are not applicable to this object.");
  }
  if (customer && customer->md5 != md5) return http::ApiStatus("AccessDenied", "Access Denied");
  return Status::OK();
}

Result<std::vector<std::string>> DataKeysOf(const ObjectRecord& object, const KeyRing& ring,
                                            const std::optional<CustomerKey>& customer) {
  ANNEX_RETURN_IF_ERROR(CheckCustomerKey(object.sse, object.sse_customer_key_md5, customer));
  std::vector<std::string> keys;
  if (object.sse == Sse::kNone) return keys;
  auto unwrap = [&](std::string_view wrapped) -> Result<std::string> {
    if (object.sse == Sse::kCustomer) return crypto::UnwrapKey(customer->key, wrapped);
    return ring.Unwrap(wrapped);
  };
  if (object.segments.empty()) {
    ANNEX_ASSIGN_OR_RETURN(std::string k, unwrap(object.inline_key));
    keys.push_back(std::move(k));
  }
  for (const auto& s : object.segments) {
    ANNEX_ASSIGN_OR_RETURN(std::string k, unwrap(s.wrapped_key));
    keys.push_back(std::move(k));
  }
  return keys;
}

void AddEncryptionHeaders(Sse sse, std::string_view customer_key_md5, http::Headers& headers) {
  if (sse == Sse::kS3) headers.Set("x-amz-server-side-encryption", "AES256");
  if (sse == Sse::kCustomer) {
    headers.Set("x-amz-server-side-encryption-customer-algorithm", "AES256");
    headers.Set("x-amz-server-side-encryption-customer-key-md5", customer_key_md5);
  }
}

}  // namespace annex::objectstore
