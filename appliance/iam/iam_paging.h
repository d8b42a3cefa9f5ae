#pragma once
// IAM's list paging: MaxItems (default 100) items per answer, and a Marker
// to continue from when IsTruncated. The marker is the key of the next item
// to return, so a page stays correct when items are added or removed
// between calls; lists are sorted by that key.

#include <algorithm>
#include <span>
#include <string>
#include <vector>

#include "appliance/http/query.h"
#include "appliance/http/xml.h"

namespace annex::iam {

template <typename T>
struct Page {
  std::span<const T> items;
  std::string next_marker;  // empty when this is the last page

  // IsTruncated, and Marker when truncated, in IAM's order after the list.
  void Finish(http::XmlNode result) const {
    result.AddBool("IsTruncated", !next_marker.empty());
    if (!next_marker.empty()) result.Add("Marker", next_marker);
  }
};

// The page of `items` (sorted by `key`) that the request's Marker and
// MaxItems (validated, iam_params.h) ask for.
template <typename T, typename KeyOf>
Page<T> Paginate(const std::vector<T>& items, const http::QueryParams& params, KeyOf key) {
  size_t max_items = 100;
  if (const std::string* m = params.Get("MaxItems")) max_items = static_cast<size_t>(std::stoul(*m));
  auto begin = items.begin();
  if (const std::string* marker = params.Get("Marker")) {
    begin = std::find_if(items.begin(), items.end(), [&](const T& item) { return std::string(key(item)) >= *marker; });
  }
  size_t left = static_cast<size_t>(items.end() - begin);
  size_t n = std::min(left, max_items);
  Page<T> page{std::span<const T>(items.data() + (begin - items.begin()), n), {}};
  if (n < left) page.next_marker = std::string(key(*(begin + n)));
  return page;
}

}  // namespace annex::iam
