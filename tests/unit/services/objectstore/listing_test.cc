#include "services/objectstore/listing.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "services/objectstore/metadata_store.h"
#include "services/objectstore/object_key.h"
#include "tests/unit/services/objectstore/s3_test_harness.h"

namespace annex::objectstore {
namespace {

class ListingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto m = MetadataStore::Open(dir_.path());
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    meta_ = std::move(m).value();
  }

  void Put(std::string_view bucket, const std::vector<std::string>& keys) {
    Status s = meta_->CommitBlocking([&](store::WriteTxn& txn, StatsDelta&) -> Status {
      for (const auto& k : keys) {
        ObjectRecord r;
        r.key = k;
        r.size = 1;
        r.inline_data = "x";
        r.etag = "e";
        ANNEX_RETURN_IF_ERROR(txn.Put(meta_->tables().objects, EncodeObjectKey(bucket, k), EncodeObject(r)));
      }
      return Status::OK();
    });
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  ListPage List(const ListQuery& q, std::string_view bucket = "bkt") {
    auto txn = meta_->BeginRead();
    EXPECT_TRUE(txn.ok());
    auto page = ListObjectsPage(*txn, meta_->tables().objects, bucket, q);
    EXPECT_TRUE(page.ok()) << page.status().ToString();
    return std::move(page).value();
  }

  // Every key and common prefix across pages of `page_size`.
  std::vector<std::string> ListAll(ListQuery q, size_t page_size, size_t* pages = nullptr) {
    std::vector<std::string> out;
    q.max_keys = page_size;
    size_t n = 0;
    while (true) {
      ListPage page = List(q);
      ++n;
      for (const auto& o : page.objects) out.push_back(o.key);
      for (const auto& p : page.common_prefixes) out.push_back("CP:" + p);
      if (!page.truncated) break;
      EXPECT_LE(page.objects.size() + page.common_prefixes.size(), page_size);
      q.marker = page.last_entry;
      if (n > 1000) break;
    }
    if (pages) *pages = n;
    return out;
  }

  static std::vector<std::string> Keys(const ListPage& page) {
    std::vector<std::string> out;
    for (const auto& o : page.objects) out.push_back(o.key);
    return out;
  }

  testing::TempDir dir_;
  std::unique_ptr<MetadataStore> meta_;
};

TEST_F(ListingTest, SortedByUtf8BytesAndScopedToBucket) {
  Put("bkt", {"b", "a", "\xc3\xa9", "A", "a/b", "Z"});
  Put("bkt0", {"other"});
  Put("bk", {"x"});
  EXPECT_EQ(Keys(List({})), (std::vector<std::string>{"A", "Z", "a", "a/b", "b", "\xc3\xa9"}));
}

TEST_F(ListingTest, PrefixAndDelimiter) {
  Put("bkt", {"photos/2023/a.jpg", "photos/2023/b.jpg", "photos/2024/c.jpg", "photos/top.jpg", "readme",
              "photosx"});
  ListQuery q;
  q.prefix = "photos/";
  q.delimiter = "/";
  ListPage page = List(q);
  EXPECT_EQ(Keys(page), (std::vector<std::string>{"photos/top.jpg"}));
  EXPECT_EQ(page.common_prefixes, (std::vector<std::string>{"photos/2023/", "photos/2024/"}));
  EXPECT_FALSE(page.truncated);

  q.prefix = "";
  page = List(q);
  EXPECT_EQ(Keys(page), (std::vector<std::string>{"photosx", "readme"}));
  EXPECT_EQ(page.common_prefixes, (std::vector<std::string>{"photos/"}));

  q.delimiter = "";
  q.prefix = "photos/2023";
  EXPECT_EQ(Keys(List(q)).size(), 2u);
}

TEST_F(ListingTest, PaginationAcrossPagesWithCommonPrefixes) {
  std::vector<std::string> keys;
  for (int d = 0; d < 7; ++d) {
    for (int f = 0; f < 5; ++f) keys.push_back("dir" + std::to_string(d) + "/file" + std::to_string(f));
  }
  for (int f = 0; f < 11; ++f) keys.push_back("root" + std::to_string(f));
  Put("bkt", keys);
  ListQuery q;
  q.delimiter = "/";
  std::vector<std::string> expected;
  for (int d = 0; d < 7; ++d) expected.push_back("CP:dir" + std::to_string(d) + "/");
  for (int f = 0; f < 11; ++f) expected.push_back("root" + std::to_string(f));
  std::sort(expected.begin(), expected.end(), [](const std::string& a, const std::string& b) {
    return (a.starts_with("CP:") ? a.substr(3) : a) < (b.starts_with("CP:") ? b.substr(3) : b);
  });
  for (size_t page_size : {1, 2, 3, 5, 17, 1000}) {
    size_t pages = 0;
    std::vector<std::string> got = ListAll(q, page_size, &pages);
    std::sort(got.begin(), got.end(), [](const std::string& a, const std::string& b) {
      return (a.starts_with("CP:") ? a.substr(3) : a) < (b.starts_with("CP:") ? b.substr(3) : b);
    });
    EXPECT_EQ(got, expected) << "page size " << page_size;
    EXPECT_EQ(pages, (expected.size() + page_size - 1) / page_size) << "page size " << page_size;
  }
  // Without a delimiter every key comes back exactly once, in order.
  std::vector<std::string> all = ListAll({}, 4);
  std::vector<std::string> sorted = keys;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(all, sorted);
}

TEST_F(ListingTest, MaxKeysTruncatesOnlyWhenMoreExist) {
  Put("bkt", {"a", "b", "c"});
  ListQuery q;
  q.max_keys = 3;
  EXPECT_FALSE(List(q).truncated);
  q.max_keys = 2;
  ListPage page = List(q);
  EXPECT_TRUE(page.truncated);
  EXPECT_EQ(page.last_entry, "b");
  q.marker = "b";
  EXPECT_EQ(Keys(List(q)), (std::vector<std::string>{"c"}));
  q.marker = "zzz";
  EXPECT_TRUE(List(q).objects.empty());
}

TEST_F(ListingTest, LongKeysSharingATruncatedPrefixListInByteOrder) {
  std::string base(kMaxInlineKeyBytes, 'k');
  std::vector<std::string> keys = {base, base + "z", base + "a", base + "m/1", base + "m/2", base + "b", "a", "zz"};
  Put("bkt", keys);
  std::vector<std::string> sorted = keys;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(Keys(List({})), sorted);
  EXPECT_EQ(ListAll({}, 1), sorted);  // markers inside the hashed group
  ListQuery q;
  q.prefix = base + "m";
  q.delimiter = "/";
  ListPage page = List(q);
  EXPECT_EQ(page.common_prefixes, (std::vector<std::string>{base + "m/"}));
  q.prefix = base;
  q.marker = base + "a";
  EXPECT_EQ(Keys(List(q)).front(), base + "b");
}

TEST_F(ListingTest, SkipsCommonPrefixesBySeekingNotScanning) {
  std::vector<std::string> keys;
  for (int i = 0; i < 2000; ++i) keys.push_back("big/" + std::to_string(100000 + i));
  keys.push_back("small");
  Put("bkt", keys);
  ListQuery q;
  q.delimiter = "/";
  q.max_keys = 1;
  ListPage page = List(q);
  EXPECT_EQ(page.common_prefixes, (std::vector<std::string>{"big/"}));
  EXPECT_TRUE(page.truncated);
  q.marker = page.last_entry;
  page = List(q);
  EXPECT_EQ(Keys(page), (std::vector<std::string>{"small"}));
  EXPECT_FALSE(page.truncated);
}

}  // namespace
}  // namespace annex::objectstore
