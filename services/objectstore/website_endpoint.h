#pragma once
// The static website endpoint: requests to "<bucket>.s3-website.<domain>"
// (or "<bucket>.s3-website-<region>.<domain>", "<bucket>.s3-website.<region>.<domain>")
// are served as S3 serves websites — always as an anonymous reader, GET and
// HEAD only, index documents for "/" and "dir/", the bucket's routing rules
// and x-amz-website-redirect-location as redirects, its error document (or
// an HTML page, never XML) for errors.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "appliance/http/exchange.h"
#include "appliance/service/request_context.h"
#include "services/objectstore/object_store.h"

namespace annex::objectstore {

// The website host suffixes for an appliance domain and region.
std::vector<std::string> WebsiteHostSuffixes(std::string_view domain, std::string_view region);

// The bucket a request's Host names on a website endpoint, if it is one.
std::optional<std::string> WebsiteBucket(const http::Request& request, const std::vector<std::string>& suffixes);

// Answers a website request for `bucket`.
http::Task<Status> ServeWebsite(service::RequestContext& ctx, ObjectStore& store, std::string bucket);

}  // namespace annex::objectstore
