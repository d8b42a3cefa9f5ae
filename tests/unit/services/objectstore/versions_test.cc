#include "services/objectstore/versions.h"

#include <gtest/gtest.h>

#include "services/objectstore/object_key.h"
#include "services/objectstore/version_listing.h"
#include "tests/unit/services/objectstore/s3_test_harness.h"

namespace annex::objectstore {
namespace {

// The version rules inside one transaction each, against a real LMDB.
class VersionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto m = MetadataStore::Open(dir_.path());
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    meta_ = std::move(m).value();
  }

  // Writes a version (or a marker) of `key` the way a PUT/DELETE does; returns its id.
  std::string Write(std::string_view key, Versioning v, std::string data, bool marker = false) {
    ObjectRecord r;
    r.key = std::string(key);
    r.delete_marker = marker;
    r.size = data.size();
    r.inline_data = std::move(data);
    r.modified_ms = 1000;  // the same millisecond every time: ids must still be ordered
    Status s = meta_->CommitBlocking([&](store::WriteTxn& txn, StatsDelta& delta) -> Status {
      ObjectRecord current;
      ANNEX_ASSIGN_OR_RETURN(bool has, LoadCurrentVersion(txn, meta_->tables(), "bkt", key, current, false));
      return PutCurrentVersion(txn, meta_->tables(), delta, "bkt", v, r, has ? &current : nullptr, 1000000000,
                               freed_);
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return r.version_id;
  }

  RemovedVersion Remove(std::string_view key, std::string_view id) {
    RemovedVersion out;
    Status s = meta_->CommitBlocking([&](store::WriteTxn& txn, StatsDelta& delta) -> Status {
      ANNEX_ASSIGN_OR_RETURN(out, RemoveVersion(txn, meta_->tables(), delta, "bkt", key, id, freed_));
      return Status::OK();
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return out;
  }

  // The data of `key`'s version `id` ("" for null), "M" for a marker, "-" when absent.
  std::string DataOf(std::string_view key, std::string_view id) {
    auto txn = meta_->BeginRead();
    EXPECT_TRUE(txn.ok());
    ObjectRecord r;
    auto found = LoadVersion(*txn, meta_->tables(), "bkt", key, id, r);
    EXPECT_TRUE(found.ok()) << found.status().ToString();
    if (!found.ok() || !*found) return "-";
    return r.delete_marker ? "M" : r.inline_data;
  }

  NullVersionHint HintOf(std::string_view key) {
    auto txn = meta_->BeginRead();
    EXPECT_TRUE(txn.ok());
    ObjectRecord r;
    EXPECT_TRUE(*LoadCurrentVersion(*txn, meta_->tables(), "bkt", key, r));
    return r.noncurrent_null;
  }

  // "<data>" per version of every key, newest first, "M" for markers, "*" marking the latest.
  std::vector<std::string> Listed(VersionListQuery q = {}) {
    auto txn = meta_->BeginRead();
    EXPECT_TRUE(txn.ok());
    auto page = ListVersionsPage(*txn, meta_->tables(), "bkt", q);
    EXPECT_TRUE(page.ok()) << page.status().ToString();
    std::vector<std::string> out;
    for (auto& v : page->versions) {
      auto full = meta_->BeginRead();
      ObjectRecord r;
      auto found = LoadVersion(*full, meta_->tables(), "bkt", v.record.key, v.record.version_id, r);
      EXPECT_TRUE(found.ok() && *found);
      out.push_back(v.record.key.substr(0, 3) + "=" + (r.delete_marker ? "M" : r.inline_data) +
                    (v.is_latest ? "*" : ""));
    }
    return out;
  }

  annex::testing::TempDir dir_;
  std::unique_ptr<MetadataStore> meta_;
  std::vector<std::string> freed_;
};

TEST_F(VersionsTest, IdsAreWellFormedOrderedAndParsedBack) {
  std::string a = Write("k", Versioning::kEnabled, "a");
  std::string b = Write("k", Versioning::kEnabled, "b");
  ASSERT_EQ(a.size(), 32u);
  EXPECT_LT(VersionSeqOf(a), VersionSeqOf(b)) << "same clock reading, still increasing";
  EXPECT_EQ(*ParseVersionId(a), a);
  EXPECT_EQ(*ParseVersionId("null"), "");
  for (std::string_view bad : {"", "NULL", "3HL4kqtJlcpXro", "0123456789abcdef0123456789abcdeF",
                               "0123456789abcdef0123456789abcde"}) {
    EXPECT_FALSE(ParseVersionId(bad).ok()) << bad;
  }
}

TEST_F(VersionsTest, EnabledKeepsEveryVersionAndNullStaysBelow) {
  Write("k", Versioning::kOff, "n");
  Write("k", Versioning::kOff, "n2");  // replaces the null version
  Write("k", Versioning::kEnabled, "1");
  Write("k", Versioning::kEnabled, "2");
  EXPECT_EQ(Listed(), (std::vector<std::string>{"k=2*", "k=1", "k=n2"}));
  EXPECT_EQ(meta_->object_count(), 3u);
}

TEST_F(VersionsTest, SuspendedReplacesTheNullVersionWhereverItIs) {
  Write("k", Versioning::kOff, "n");
  std::string v1 = Write("k", Versioning::kEnabled, "1");
  freed_.clear();
  Write("k", Versioning::kSuspended, "s");  // the older null version (noncurrent) goes
  EXPECT_EQ(Listed(), (std::vector<std::string>{"k=s*", "k=1"}));
  Write("k", Versioning::kSuspended, "", /*marker=*/true);  // the null "s" is replaced by a null marker
  EXPECT_EQ(Listed(), (std::vector<std::string>{"k=M*", "k=1"}));
  EXPECT_EQ(meta_->object_count(), 1u);
}

TEST_F(VersionsTest, RemovingTheCurrentVersionPromotesTheNewestOlderOne) {
  std::string v1 = Write("k", Versioning::kEnabled, "1");
  std::string v2 = Write("k", Versioning::kEnabled, "2");
  std::string m = Write("k", Versioning::kEnabled, "", /*marker=*/true);
  RemovedVersion r = Remove("k", m);
  EXPECT_TRUE(r.found && r.delete_marker);
  EXPECT_EQ(Listed(), (std::vector<std::string>{"k=2*", "k=1"}));
  r = Remove("k", v1);
  EXPECT_TRUE(r.found && !r.delete_marker);
  EXPECT_EQ(Listed(), (std::vector<std::string>{"k=2*"}));
  EXPECT_FALSE(Remove("k", v1).found);
  EXPECT_TRUE(Remove("k", v2).found);
  EXPECT_TRUE(Listed().empty());
  auto txn = meta_->BeginRead();
  EXPECT_FALSE(*BucketHasObjects(*txn, meta_->tables(), "bkt")) << "no version left: the bucket is empty";
  EXPECT_EQ(meta_->object_count(), 0u);
}

// A 384-byte key's noncurrent versions share their storage prefix with the
// hashed entries of longer keys that start with it: neither sees the other's.
TEST_F(VersionsTest, LongKeysSharingAStoragePrefixKeepTheirOwnVersions) {
  std::string exact(kMaxInlineKeyBytes, 'x');
  std::vector<std::string> keys = {exact, exact + "a", exact + "b"};
  for (int round = 0; round < 2; ++round) {
    for (const auto& k : keys) Write(k, Versioning::kEnabled, k.substr(kMaxInlineKeyBytes) + std::to_string(round));
  }
  EXPECT_EQ(Listed(), (std::vector<std::string>{"xxx=1*", "xxx=0", "xxx=a1*", "xxx=a0", "xxx=b1*", "xxx=b0"}));
}

TEST_F(VersionsTest, PagesResumeInsideAKeyByVersionIdMarker) {
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) ids.push_back(Write("k", Versioning::kEnabled, std::to_string(i)));
  VersionListQuery q;
  q.key_marker = "k";
  q.version_id_marker = ids[2];
  EXPECT_EQ(Listed(q), (std::vector<std::string>{"k=1", "k=0"}));
  q.version_id_marker = ids[3];  // the current one
  EXPECT_EQ(Listed(q), (std::vector<std::string>{"k=2", "k=1", "k=0"}));
  q.version_id_marker.reset();  // no version marker: after the whole key
  EXPECT_TRUE(Listed(q).empty());
}

TEST_F(VersionsTest, TheCurrentRecordKnowsWhereTheNullVersionIs) {
  using Kind = NullVersionHint::Kind;
  Write("k", Versioning::kOff, "n");
  EXPECT_EQ(HintOf("k").kind, Kind::kNone);
  Write("k", Versioning::kEnabled, "1");
  NullVersionHint hint = HintOf("k");
  EXPECT_EQ(hint.kind, Kind::kAt);
  Write("k", Versioning::kEnabled, "2");
  EXPECT_EQ(HintOf("k").kind, Kind::kAt);
  EXPECT_EQ(HintOf("k").seq, hint.seq) << "handed on by each versioned write";
  EXPECT_EQ(DataOf("k", ""), "n");
  Write("k", Versioning::kSuspended, "s");  // removes "n", found through the hint
  EXPECT_EQ(HintOf("k").kind, Kind::kNone);
  EXPECT_EQ(Listed(), (std::vector<std::string>{"k=s*", "k=2", "k=1"}));
  EXPECT_EQ(meta_->object_count(), 3u);
}

TEST_F(VersionsTest, AHintToARemovedNullVersionFindsNone) {
  Write("k", Versioning::kOff, "n");
  std::string v1 = Write("k", Versioning::kEnabled, "1");
  EXPECT_TRUE(Remove("k", "").found);
  EXPECT_EQ(DataOf("k", ""), "-");
  Write("k", Versioning::kSuspended, "s");
  EXPECT_EQ(Listed(), (std::vector<std::string>{"k=s*", "k=1"}));
  EXPECT_EQ(meta_->object_count(), 2u);
}

TEST_F(VersionsTest, APromotedVersionStillKnowsTheNullVersion) {
  Write("k", Versioning::kOff, "n");
  Write("k", Versioning::kEnabled, "1");
  std::string v2 = Write("k", Versioning::kEnabled, "2");
  EXPECT_TRUE(Remove("k", v2).found);  // "1" is current again, with the hint it had
  EXPECT_EQ(DataOf("k", ""), "n");
  Write("k", Versioning::kSuspended, "s");
  EXPECT_EQ(Listed(), (std::vector<std::string>{"k=s*", "k=1"}));
}

// Records written before the hint existed read as not knowing: the null
// version is then looked for among all of the key's versions.
TEST_F(VersionsTest, ACurrentRecordWithoutAHintStillFindsTheNullVersion) {
  Write("k", Versioning::kOff, "n");
  Write("k", Versioning::kEnabled, "1");
  Write("k", Versioning::kEnabled, "2");
  Status s = meta_->CommitBlocking([&](store::WriteTxn& txn, StatsDelta&) -> Status {
    ObjectRecord current;
    ANNEX_RETURN_IF_ERROR(LoadCurrentVersion(txn, meta_->tables(), "bkt", "k", current).status());
    current.noncurrent_null = NullVersionHint{};
    return txn.Put(meta_->tables().objects, EncodeObjectKey("bkt", "k"), EncodeObject(current));
  });
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(HintOf("k").kind, NullVersionHint::Kind::kUnknown);
  EXPECT_EQ(DataOf("k", ""), "n");
  Write("k", Versioning::kSuspended, "s");
  EXPECT_EQ(Listed(), (std::vector<std::string>{"k=s*", "k=2", "k=1"}));
}

TEST_F(VersionsTest, NoncurrentVersionsOfLongKeysSharingAStoragePrefixAreTheirOwn) {
  std::string exact(kMaxInlineKeyBytes, 'x');
  Write(exact + "a", Versioning::kEnabled, "1");
  Write(exact + "a", Versioning::kEnabled, "2");
  Write(exact, Versioning::kEnabled, "1");
  auto txn = meta_->BeginRead();
  ASSERT_TRUE(txn.ok());
  EXPECT_FALSE(*HasNoncurrentVersions(*txn, meta_->tables(), "bkt", exact));
  EXPECT_TRUE(*HasNoncurrentVersions(*txn, meta_->tables(), "bkt", exact + "a"));
  EXPECT_FALSE(*HasNoncurrentVersions(*txn, meta_->tables(), "bkt", exact + "b"));
}

TEST_F(VersionsTest, RemovingTheCurrentVersionWithoutAMarker) {
  Write("k", Versioning::kOff, "n");
  freed_.clear();
  Status s = meta_->CommitBlocking([&](store::WriteTxn& txn, StatsDelta& delta) -> Status {
    ObjectRecord current;
    ANNEX_ASSIGN_OR_RETURN(bool has, LoadCurrentVersion(txn, meta_->tables(), "bkt", "k", current, false));
    if (!has) return Status::NotFound("k");
    return RemoveCurrentVersion(txn, meta_->tables(), delta, "bkt", current, freed_);
  });
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(Listed().empty());
  EXPECT_EQ(meta_->object_count(), 0u);
}

}  // namespace
}  // namespace annex::objectstore
