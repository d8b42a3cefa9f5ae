#pragma once
// S3 addressing: which bucket and key a request names. Virtual-hosted style
// ("bucket.s3.example" for a configured suffix "s3.example") puts the bucket
// in the Host header and the key in the path; path style puts both in the
// path ("/bucket/key"). Keys come from the percent-decoded path and are
// opaque bytes from here on.

#include <string>
#include <vector>

#include "appliance/core/result.h"
#include "appliance/http/request.h"

namespace annex::objectstore {

struct S3Address {
  std::string bucket;  // empty: the service root (ListBuckets)
  std::string key;     // empty: a bucket-level request
};

S3Address ResolveAddress(const http::Request& request, const std::vector<std::string>& virtual_host_suffixes);

}  // namespace annex::objectstore
