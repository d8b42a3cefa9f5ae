// EcsStore: documents round-trip per kind, prefix scans that keep to one
// account, paging, the latest revision of a family, read-modify-write in one
// transaction, revision numbering per family, atomic batches, durability
// across a reopen, the resource feed every write records, and a stored value
// that is not JSON reported as corruption.

#include "services/containers/ecs_store.h"

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "appliance/store/lmdb_env.h"
#include "tests/unit/testing/temp_dir.h"

namespace annex::containers {
namespace {

class EcsStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }

  void Open() {
    auto store = OpenEcsStore(tmp_.path());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
  }

  void Put(EcsKind kind, const std::string& key, const Json& doc) {
    Status s = store_->Put(kind, key, doc);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  std::vector<std::string> ScanKeys(EcsKind kind, std::string_view prefix, std::string_view after = {},
                                    size_t limit = SIZE_MAX) {
    auto r = store_->Scan(kind, prefix, after, limit);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    std::vector<std::string> keys;
    if (r.ok()) {
      for (const auto& [k, doc] : *r) keys.push_back(k);
    }
    return keys;
  }

  // The feed as "kind:id@version" ("-" after the id for a tombstone).
  std::vector<std::string> Feed(uint64_t cursor, uint64_t* next = nullptr) {
    auto txn = store_->env().BeginRead();
    EXPECT_TRUE(txn.ok());
    auto page = store_->feed().Since(*txn, cursor, 100);
    EXPECT_TRUE(page.ok()) << page.status().ToString();
    std::vector<std::string> out;
    if (!page.ok()) return out;
    for (const auto& e : page->entries) {
      out.push_back(e.kind + ":" + e.id + (e.deleted ? "-" : "") + "@" + std::to_string(e.version));
    }
    if (next) *next = page->cursor;
    return out;
  }

  uint64_t Head() {
    auto txn = store_->env().BeginRead();
    return store_->feed().Head(*txn).value();
  }

  annex::testing::TempDir tmp_;
  std::unique_ptr<EcsStore> store_;
};

using Keys = std::vector<std::string>;

TEST(EcsKeyTest, JoinsPartsAndZeroPadsRevisions) {
  EXPECT_EQ(EcsKey({"123456789012", "default", "abc"}), "123456789012/default/abc");
  EXPECT_EQ(EcsKey({"a"}), "a");
  EXPECT_EQ(RevisionKey(1), "0000000001");
  EXPECT_EQ(RevisionKey(10), "0000000010");
  EXPECT_LT(RevisionKey(9), RevisionKey(10));
  EXPECT_EQ(KindName(EcsKind::kCluster), "cluster");
  EXPECT_EQ(KindName(EcsKind::kTaskDefinition), "task-definition");
  EXPECT_EQ(KindName(EcsKind::kTask), "task");
  EXPECT_EQ(KindName(EcsKind::kService), "service");
}

TEST_F(EcsStoreTest, PutGetDeleteRoundTrip) {
  Json doc = {{"clusterName", "default"}, {"status", "ACTIVE"}, {"nested", {{"n", 3}}}};
  Put(EcsKind::kCluster, "acct/default", doc);

  auto got = store_->Get(EcsKind::kCluster, "acct/default");
  ASSERT_TRUE(got.ok());
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ(**got, doc);

  // Kinds are separate tables.
  EXPECT_FALSE(store_->Get(EcsKind::kTask, "acct/default").value().has_value());
  EXPECT_FALSE(store_->Get(EcsKind::kCluster, "acct/other").value().has_value());

  // A second put replaces.
  Put(EcsKind::kCluster, "acct/default", Json{{"status", "INACTIVE"}});
  EXPECT_EQ(store_->Get(EcsKind::kCluster, "acct/default").value()->at("status"), "INACTIVE");

  ASSERT_TRUE(store_->Delete(EcsKind::kCluster, "acct/default").ok());
  EXPECT_FALSE(store_->Get(EcsKind::kCluster, "acct/default").value().has_value());
  EXPECT_TRUE(store_->Delete(EcsKind::kCluster, "acct/default").ok()) << "deleting the absent is OK";
  EXPECT_TRUE(store_->Delete(EcsKind::kCluster, "acct/never").ok());
}

TEST_F(EcsStoreTest, ScanKeepsToThePrefix) {
  for (const char* key : {"a/c1/t1", "a/c1/t2", "a/c2/t3", "ab/c1/t4", "a-/c1/t5", "b/c1/t6"}) {
    Put(EcsKind::kTask, key, Json{{"key", key}});
  }
  EXPECT_EQ(ScanKeys(EcsKind::kTask, "a/"), (Keys{"a/c1/t1", "a/c1/t2", "a/c2/t3"}));
  EXPECT_EQ(ScanKeys(EcsKind::kTask, "ab/"), (Keys{"ab/c1/t4"}));
  EXPECT_EQ(ScanKeys(EcsKind::kTask, "a/c1/"), (Keys{"a/c1/t1", "a/c1/t2"}));
  EXPECT_EQ(ScanKeys(EcsKind::kTask, "zz/"), Keys{});
  EXPECT_EQ(ScanKeys(EcsKind::kCluster, "a/"), Keys{}) << "another kind's table";

  // The documents come with their keys.
  auto docs = store_->Scan(EcsKind::kTask, "a/c2/").value();
  ASSERT_EQ(docs.size(), 1u);
  EXPECT_EQ(docs[0].second.at("key"), "a/c2/t3");
}

TEST_F(EcsStoreTest, EmptyPrefixScansEverything) {
  EXPECT_EQ(ScanKeys(EcsKind::kService, ""), Keys{}) << "an empty table";
  for (const char* key : {"b/c/s", "a/c/s", "ab/c/s"}) Put(EcsKind::kService, key, Json::object());
  EXPECT_EQ(ScanKeys(EcsKind::kService, ""), (Keys{"a/c/s", "ab/c/s", "b/c/s"}));
  EXPECT_EQ(ScanKeys(EcsKind::kService, "", {}, 2), (Keys{"a/c/s", "ab/c/s"}));
  EXPECT_EQ(ScanKeys(EcsKind::kService, "", "ab/c/s"), (Keys{"b/c/s"}));
}

TEST_F(EcsStoreTest, ScanPagesWithAfterAndLimit) {
  for (int i = 0; i < 7; ++i) Put(EcsKind::kTask, "acct/c/t" + std::to_string(i), Json{{"i", i}});
  Put(EcsKind::kTask, "acct/d/t9", Json::object());
  Put(EcsKind::kTask, "acct0/c/t0", Json::object());

  EXPECT_EQ(ScanKeys(EcsKind::kTask, "acct/c/", {}, 3), (Keys{"acct/c/t0", "acct/c/t1", "acct/c/t2"}));
  EXPECT_EQ(ScanKeys(EcsKind::kTask, "acct/c/", "acct/c/t2", 3), (Keys{"acct/c/t3", "acct/c/t4", "acct/c/t5"}));
  EXPECT_EQ(ScanKeys(EcsKind::kTask, "acct/c/", "acct/c/t5", 3), (Keys{"acct/c/t6"})) << "stops at the prefix's end";
  EXPECT_EQ(ScanKeys(EcsKind::kTask, "acct/c/", "acct/c/t6", 3), Keys{});
  EXPECT_EQ(ScanKeys(EcsKind::kTask, "acct/c/", {}, 0), Keys{});

  // `after` need not be a stored key: it is exclusive of itself only.
  EXPECT_EQ(ScanKeys(EcsKind::kTask, "acct/c/", "acct/c/t3x", 2), (Keys{"acct/c/t4", "acct/c/t5"}));

  // Paging through everything sees each key once.
  Keys all;
  std::string after;
  for (int pages = 0; pages < 10; ++pages) {
    Keys page = ScanKeys(EcsKind::kTask, "acct/", after, 2);
    if (page.empty()) break;
    all.insert(all.end(), page.begin(), page.end());
    after = page.back();
  }
  EXPECT_EQ(all, (Keys{"acct/c/t0", "acct/c/t1", "acct/c/t2", "acct/c/t3", "acct/c/t4", "acct/c/t5", "acct/c/t6",
                       "acct/d/t9"}));
}

TEST_F(EcsStoreTest, LastGivesTheHighestRevisionUnderAPrefix) {
  EXPECT_FALSE(store_->Last(EcsKind::kTaskDefinition, "acct/web/").value().has_value()) << "an empty table";
  for (int rev : {1, 2, 9, 10, 11}) {
    Put(EcsKind::kTaskDefinition, "acct/web/" + RevisionKey(rev), Json{{"revision", rev}});
  }
  Put(EcsKind::kTaskDefinition, "acct/webx/" + RevisionKey(50), Json{{"revision", 50}});
  Put(EcsKind::kTaskDefinition, "acct/wea/" + RevisionKey(3), Json{{"revision", 3}});

  auto last = store_->Last(EcsKind::kTaskDefinition, "acct/web/").value();
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->first, "acct/web/" + RevisionKey(11));
  EXPECT_EQ(last->second.at("revision"), 11);

  auto wea = store_->Last(EcsKind::kTaskDefinition, "acct/wea/").value();
  ASSERT_TRUE(wea.has_value());
  EXPECT_EQ(wea->second.at("revision"), 3);

  EXPECT_FALSE(store_->Last(EcsKind::kTaskDefinition, "acct/unknown/").value().has_value());
  EXPECT_FALSE(store_->Last(EcsKind::kTaskDefinition, "other/web/").value().has_value());
  EXPECT_FALSE(store_->Last(EcsKind::kTaskDefinition, "zzz/").value().has_value()) << "past every key";
  EXPECT_FALSE(store_->Last(EcsKind::kTaskDefinition, "0/").value().has_value()) << "before every key";
}

TEST_F(EcsStoreTest, UpdateCreatesChangesAndDeletes) {
  // Absent: change gets nullopt and creates.
  auto created = store_->Update(EcsKind::kService, "acct/c/svc", [](std::optional<Json>& doc) {
    EXPECT_FALSE(doc.has_value());
    doc = Json{{"desiredCount", 1}};
    return Status::OK();
  });
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  ASSERT_TRUE(created->has_value());
  EXPECT_EQ((**created).at("desiredCount"), 1);
  EXPECT_EQ(store_->Get(EcsKind::kService, "acct/c/svc").value()->at("desiredCount"), 1);

  // Present: change sees the stored document.
  auto changed = store_->Update(EcsKind::kService, "acct/c/svc", [](std::optional<Json>& doc) {
    EXPECT_TRUE(doc.has_value());
    if (doc) (*doc)["desiredCount"] = doc->at("desiredCount").get<int>() + 2;
    return Status::OK();
  });
  ASSERT_TRUE(changed.ok());
  EXPECT_EQ((**changed).at("desiredCount"), 3);
  EXPECT_EQ(store_->Get(EcsKind::kService, "acct/c/svc").value()->at("desiredCount"), 3);

  // nullopt deletes.
  auto deleted = store_->Update(EcsKind::kService, "acct/c/svc", [](std::optional<Json>& doc) {
    doc.reset();
    return Status::OK();
  });
  ASSERT_TRUE(deleted.ok());
  EXPECT_FALSE(deleted->has_value());
  EXPECT_FALSE(store_->Get(EcsKind::kService, "acct/c/svc").value().has_value());
}

TEST_F(EcsStoreTest, UpdateThatFailsOrLeavesAbsenceWritesNothing) {
  Put(EcsKind::kService, "acct/c/svc", Json{{"desiredCount", 1}});
  uint64_t head = Head();

  auto failed = store_->Update(EcsKind::kService, "acct/c/svc", [](std::optional<Json>& doc) {
    (*doc)["desiredCount"] = 99;
    return Status::FailedPrecondition("no");
  });
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->Get(EcsKind::kService, "acct/c/svc").value()->at("desiredCount"), 1);

  auto failed_create = store_->Update(EcsKind::kService, "acct/c/new", [](std::optional<Json>& doc) {
    doc = Json::object();
    return Status::InvalidArgument("no");
  });
  ASSERT_FALSE(failed_create.ok());
  EXPECT_FALSE(store_->Get(EcsKind::kService, "acct/c/new").value().has_value());

  // Absent and left absent: nothing to write, nothing in the feed.
  auto noop = store_->Update(EcsKind::kService, "acct/c/none", [](std::optional<Json>&) { return Status::OK(); });
  ASSERT_TRUE(noop.ok());
  EXPECT_FALSE(noop->has_value());

  EXPECT_EQ(Head(), head) << "no change recorded in the feed";
}

TEST_F(EcsStoreTest, AppendRevisionNumbersEachFamilyFromOne) {
  auto make = [](int64_t rev) -> Result<Json> { return Json{{"revision", rev}}; };
  for (int64_t want = 1; want <= 3; ++want) {
    auto doc = store_->AppendRevision(EcsKind::kTaskDefinition, "acct/web/", make);
    ASSERT_TRUE(doc.ok()) << doc.status().ToString();
    EXPECT_EQ(doc->at("revision"), want);
  }
  // Another family, and the same family name in another account, start over.
  EXPECT_EQ(store_->AppendRevision(EcsKind::kTaskDefinition, "acct/worker/", make).value().at("revision"), 1);
  EXPECT_EQ(store_->AppendRevision(EcsKind::kTaskDefinition, "other/web/", make).value().at("revision"), 1);
  // A family whose name extends another's is its own.
  EXPECT_EQ(store_->AppendRevision(EcsKind::kTaskDefinition, "acct/webx/", make).value().at("revision"), 1);
  EXPECT_EQ(store_->AppendRevision(EcsKind::kTaskDefinition, "acct/web/", make).value().at("revision"), 4);

  EXPECT_EQ(ScanKeys(EcsKind::kTaskDefinition, "acct/web/"),
            (Keys{"acct/web/0000000001", "acct/web/0000000002", "acct/web/0000000003", "acct/web/0000000004"}));
  EXPECT_EQ(store_->Get(EcsKind::kTaskDefinition, "acct/worker/" + RevisionKey(1)).value()->at("revision"), 1);
}

TEST_F(EcsStoreTest, RevisionTenSortsAfterNine) {
  auto make = [](int64_t rev) -> Result<Json> { return Json{{"revision", rev}}; };
  for (int i = 0; i < 12; ++i) ASSERT_TRUE(store_->AppendRevision(EcsKind::kTaskDefinition, "acct/web/", make).ok());

  Keys keys = ScanKeys(EcsKind::kTaskDefinition, "acct/web/");
  ASSERT_EQ(keys.size(), 12u);
  for (int i = 0; i < 12; ++i) EXPECT_EQ(keys[i], "acct/web/" + RevisionKey(i + 1));
  auto last = store_->Last(EcsKind::kTaskDefinition, "acct/web/").value();
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->second.at("revision"), 12);
  EXPECT_EQ(store_->AppendRevision(EcsKind::kTaskDefinition, "acct/web/", make).value().at("revision"), 13);
}

TEST_F(EcsStoreTest, AppendRevisionThatFailsToMakeWritesNothing) {
  auto make = [](int64_t rev) -> Result<Json> { return Json{{"revision", rev}}; };
  ASSERT_TRUE(store_->AppendRevision(EcsKind::kTaskDefinition, "acct/web/", make).ok());
  auto failed = store_->AppendRevision(EcsKind::kTaskDefinition, "acct/web/", [](int64_t) -> Result<Json> {
    return Status::InvalidArgument("bad definition");
  });
  EXPECT_FALSE(failed.ok());
  EXPECT_EQ(ScanKeys(EcsKind::kTaskDefinition, "acct/web/"), (Keys{"acct/web/" + RevisionKey(1)}));
  EXPECT_EQ(store_->AppendRevision(EcsKind::kTaskDefinition, "acct/web/", make).value().at("revision"), 2) << "the number is not used up";
}

TEST_F(EcsStoreTest, PutAllWritesAllOrNothing) {
  std::vector<std::pair<std::string, Json>> docs = {
      {"acct/c/t1", Json{{"n", 1}}}, {"acct/c/t2", Json{{"n", 2}}}, {"acct/c/t3", Json{{"n", 3}}}};
  ASSERT_TRUE(store_->PutAll(EcsKind::kTask, docs).ok());
  EXPECT_EQ(ScanKeys(EcsKind::kTask, "acct/c/"), (Keys{"acct/c/t1", "acct/c/t2", "acct/c/t3"}));
  EXPECT_EQ(Feed(0).size(), 3u);
  ASSERT_TRUE(store_->PutAll(EcsKind::kTask, {}).ok()) << "an empty batch";

  // A batch whose last key LMDB refuses (longer than its 511-byte limit)
  // leaves none of the batch behind.
  uint64_t head = Head();
  std::vector<std::pair<std::string, Json>> bad = {
      {"acct/d/t1", Json{{"n", 1}}}, {"acct/c/t1", Json{{"n", 100}}}, {"acct/d/" + std::string(600, 'x'), Json{}}};
  EXPECT_FALSE(store_->PutAll(EcsKind::kTask, bad).ok());
  EXPECT_FALSE(store_->Get(EcsKind::kTask, "acct/d/t1").value().has_value());
  EXPECT_EQ(store_->Get(EcsKind::kTask, "acct/c/t1").value()->at("n"), 1);
  EXPECT_EQ(Head(), head);
}

TEST_F(EcsStoreTest, ReopeningKeepsEverything) {
  Put(EcsKind::kCluster, "acct/default", Json{{"clusterName", "default"}});
  Put(EcsKind::kTask, "acct/default/t1", Json{{"lastStatus", "RUNNING"}});
  Put(EcsKind::kService, "acct/default/web", Json{{"desiredCount", 2}});
  auto make = [](int64_t rev) -> Result<Json> { return Json{{"revision", rev}}; };
  ASSERT_TRUE(store_->AppendRevision(EcsKind::kTaskDefinition, "acct/web/", make).ok());
  ASSERT_TRUE(store_->AppendRevision(EcsKind::kTaskDefinition, "acct/web/", make).ok());
  Keys feed_before = Feed(0);

  store_.reset();
  Open();

  EXPECT_EQ(store_->Get(EcsKind::kCluster, "acct/default").value()->at("clusterName"), "default");
  EXPECT_EQ(store_->Get(EcsKind::kTask, "acct/default/t1").value()->at("lastStatus"), "RUNNING");
  EXPECT_EQ(store_->Get(EcsKind::kService, "acct/default/web").value()->at("desiredCount"), 2);
  EXPECT_EQ(store_->Last(EcsKind::kTaskDefinition, "acct/web/").value()->second.at("revision"), 2);
  EXPECT_EQ(store_->AppendRevision(EcsKind::kTaskDefinition, "acct/web/", make).value().at("revision"), 3) << "numbering goes on";
  Keys feed_after = Feed(0);
  ASSERT_EQ(feed_after.size(), feed_before.size() + 1);
  EXPECT_TRUE(std::equal(feed_before.begin(), feed_before.end(), feed_after.begin()));
}

TEST_F(EcsStoreTest, FeedRecordsEachKeyOnceWithItsKind) {
  Put(EcsKind::kCluster, "acct/default", Json::object());
  auto make = [](int64_t rev) -> Result<Json> { return Json{{"revision", rev}}; };
  ASSERT_TRUE(store_->AppendRevision(EcsKind::kTaskDefinition, "acct/web/", make).ok());
  Put(EcsKind::kTask, "acct/default/t1", Json::object());
  Put(EcsKind::kService, "acct/default/svc", Json::object());

  EXPECT_EQ(Feed(0), (Keys{"cluster:acct/default@1", "task-definition:acct/web/0000000001@1",
                           "task:acct/default/t1@1", "service:acct/default/svc@1"}));

  // Several changes to one key: once, at its latest version, moved to the head.
  Put(EcsKind::kTask, "acct/default/t1", Json{{"lastStatus", "PENDING"}});
  ASSERT_TRUE(store_->Update(EcsKind::kTask, "acct/default/t1", [](std::optional<Json>& doc) {
                      (*doc)["lastStatus"] = "RUNNING";
                      return Status::OK();
                    }).ok());
  ASSERT_TRUE(store_->PutAll(EcsKind::kTask, {{"acct/default/t1", Json{{"lastStatus", "STOPPED"}}}}).ok());
  EXPECT_EQ(Feed(0), (Keys{"cluster:acct/default@1", "task-definition:acct/web/0000000001@1",
                           "service:acct/default/svc@1", "task:acct/default/t1@4"}));

  // The feed names documents readable in the same snapshot.
  {
    auto txn = store_->env().BeginRead().value();
    auto doc = store_->Get(txn, EcsKind::kTask, "acct/default/t1").value();
    ASSERT_TRUE(doc.has_value());
    EXPECT_EQ(doc->at("lastStatus"), "STOPPED");
  }
}

TEST_F(EcsStoreTest, FeedKeepsATombstoneForAReaderThatWasAway) {
  Put(EcsKind::kTask, "acct/default/t1", Json::object());
  Put(EcsKind::kTask, "acct/default/t2", Json::object());
  uint64_t cursor = 0;
  EXPECT_EQ(Feed(0, &cursor), (Keys{"task:acct/default/t1@1", "task:acct/default/t2@1"}));
  ASSERT_NE(cursor, 0u);

  ASSERT_TRUE(store_->Delete(EcsKind::kTask, "acct/default/t1").ok());
  EXPECT_EQ(Feed(cursor), (Keys{"task:acct/default/t1-@2"}));
  EXPECT_EQ(Feed(0), (Keys{"task:acct/default/t2@1"})) << "a fresh reader gets no tombstones";

  // Deleting through Update is a tombstone too.
  ASSERT_TRUE(store_->Update(EcsKind::kTask, "acct/default/t2", [](std::optional<Json>& doc) {
                      doc.reset();
                      return Status::OK();
                    }).ok());
  EXPECT_EQ(Feed(cursor), (Keys{"task:acct/default/t1-@2", "task:acct/default/t2-@2"}));

  {
    auto txn = store_->env().BeginRead().value();
    EXPECT_FALSE(store_->Get(txn, EcsKind::kTask, "acct/default/t1").value().has_value());
  }
}

// The store keeps tasks in the LMDB table "tasks" (ecs_store.cc): a value
// written there through a raw LmdbEnv before the store opens stands for a
// document damaged on disk.
TEST(EcsStoreCorruptionTest, UndecodableDocumentIsCorruption) {
  annex::testing::TempDir tmp;
  {
    auto env = store::LmdbEnv::Open(tmp.path()).value();
    store::Table tasks = env->OpenTable("tasks").value();
    auto txn = env->BeginWrite().value();
    ASSERT_TRUE(txn.Put(tasks, "acct/c/bad", "{not json").ok());
    ASSERT_TRUE(txn.Put(tasks, "acct/c/good", R"({"ok":true})").ok());
    ASSERT_TRUE(txn.Commit().ok());
  }  // closed before the store opens the same environment
  auto opened = OpenEcsStore(tmp.path());
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EcsStore& store = **opened;

  auto get = store.Get(EcsKind::kTask, "acct/c/bad");
  ASSERT_FALSE(get.ok());
  EXPECT_EQ(get.status().code(), StatusCode::kCorruption);
  EXPECT_NE(get.status().message().find("acct/c/bad"), std::string::npos) << get.status().ToString();

  EXPECT_TRUE(store.Get(EcsKind::kTask, "acct/c/good").value().has_value()) << "a good neighbour still reads";

  auto scan = store.Scan(EcsKind::kTask, "acct/");
  ASSERT_FALSE(scan.ok());
  EXPECT_EQ(scan.status().code(), StatusCode::kCorruption);

  auto last = store.Last(EcsKind::kTask, "acct/c/bad");
  ASSERT_FALSE(last.ok());
  EXPECT_EQ(last.status().code(), StatusCode::kCorruption);

  bool called = false;
  auto update = store.Update(EcsKind::kTask, "acct/c/bad", [&](std::optional<Json>&) {
    called = true;
    return Status::OK();
  });
  ASSERT_FALSE(update.ok());
  EXPECT_EQ(update.status().code(), StatusCode::kCorruption);
  EXPECT_FALSE(called) << "change never sees a document that could not be read";
}

}  // namespace
}  // namespace annex::containers
