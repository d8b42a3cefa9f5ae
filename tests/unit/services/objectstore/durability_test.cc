// The durable write path under injected disk failures, and startup cleanup
// of what a crash leaves behind.

#include <gtest/gtest.h>

#include <fstream>

#include "appliance/os/file_system.h"
#include "appliance/os/fault_injection_file_system.h"
#include "tests/unit/services/objectstore/s3_test_harness.h"

namespace annex::objectstore::testing {
namespace {

class DurabilityTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(s3_.Send("PUT", "/bkt").status, 200); }

  void ExpectNoDataFiles() {
    EXPECT_TRUE(ListFilesRecursive(s3_.data_dir() + "/tmp").empty());
    EXPECT_TRUE(ListFilesRecursive(s3_.data_dir() + "/data").empty());
  }

  TempDir dir_;
  os::FaultInjectionFileSystem fs_{os::PosixFileSystem()};
  S3Harness s3_{dir_.path(), &fs_};
};

TEST_F(DurabilityTest, DiskFullFailsThePutAndLeavesNothing) {
  fs_.FailWrites(true);
  auto r = s3_.Send("PUT", "/bkt/big", Payload(3 << 20));
  EXPECT_EQ(r.status, 507);
  EXPECT_EQ(r.ErrorCode(), "InsufficientStorage");
  EXPECT_EQ(s3_.Send("GET", "/bkt/big").ErrorCode(), "NoSuchKey");
  ExpectNoDataFiles();
  // Small objects go to LMDB only and still succeed.
  EXPECT_EQ(s3_.Send("PUT", "/bkt/small", "tiny").status, 200);
  fs_.FailWrites(false);
  EXPECT_EQ(s3_.Send("PUT", "/bkt/big", Payload(3 << 20)).status, 200);
}

TEST_F(DurabilityTest, FailedSyncFailsThePut) {
  s3_.Send("PUT", "/bkt/obj", Payload(5000, 'o'));
  auto files_before = ListFilesRecursive(s3_.data_dir() + "/data");
  fs_.FailSyncs(true);
  auto r = s3_.Send("PUT", "/bkt/obj", Payload(5000, 'n'));
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.ErrorCode(), "InternalError");
  fs_.FailSyncs(false);
  // The old version is still served and still the only data file.
  EXPECT_TRUE(s3_.Send("GET", "/bkt/obj").body == Payload(5000, 'o'));
  EXPECT_EQ(ListFilesRecursive(s3_.data_dir() + "/data"), files_before);
  EXPECT_TRUE(ListFilesRecursive(s3_.data_dir() + "/tmp").empty());
}

TEST_F(DurabilityTest, FailedRenameOrDirSyncFailsThePut) {
  fs_.FailRenames(true);
  EXPECT_EQ(s3_.Send("PUT", "/bkt/a", Payload(5000)).status, 500);
  fs_.FailRenames(false);
  fs_.FailDirSyncs(true);
  EXPECT_EQ(s3_.Send("PUT", "/bkt/a", Payload(5000)).status, 500);
  fs_.FailDirSyncs(false);
  EXPECT_EQ(s3_.Send("GET", "/bkt/a").ErrorCode(), "NoSuchKey");
  ExpectNoDataFiles();
}

TEST_F(DurabilityTest, FailedPartUploadLeavesNothing) {
  auto create = s3_.Send("POST", "/bkt/mp?uploads");
  size_t a = create.body.find("<UploadId>") + 10;
  std::string id = create.body.substr(a, create.body.find("</UploadId>") - a);
  fs_.FailWrites(true);
  EXPECT_EQ(s3_.Send("PUT", "/bkt/mp?partNumber=1&uploadId=" + id, Payload(1000)).status, 507);
  fs_.FailWrites(false);
  EXPECT_NE(s3_.Send("GET", "/bkt/mp?uploadId=" + id).body.find("<IsTruncated>false"), std::string::npos);
  EXPECT_EQ(s3_.Send("GET", "/bkt/mp?uploadId=" + id).body.find("<Part>"), std::string::npos);
  ExpectNoDataFiles();
}

TEST_F(DurabilityTest, RestartRemovesTempAndUnreferencedFiles) {
  s3_.Send("PUT", "/bkt/kept", Payload(5000));
  auto create = s3_.Send("POST", "/bkt/mp?uploads");
  size_t a = create.body.find("<UploadId>") + 10;
  std::string id = create.body.substr(a, create.body.find("</UploadId>") - a);
  ASSERT_EQ(s3_.Send("PUT", "/bkt/mp?partNumber=1&uploadId=" + id, Payload(100)).status, 200);
  auto referenced = ListFilesRecursive(s3_.data_dir() + "/data");
  ASSERT_EQ(referenced.size(), 2u);
  s3_.Close();
  // What a crash could leave: a half-written temp file and a published file
  // whose metadata commit never happened.
  std::ofstream(s3_.data_dir() + "/tmp/0123456789abcdef0123456789abcdef") << "partial";
  os::PosixFileSystem().CreateDirs(s3_.data_dir() + "/data/ab/cd").IgnoreError();
  std::ofstream(s3_.data_dir() + "/data/ab/cd/abcdabcdabcdabcdabcdabcdabcdabcd") << "orphan";
  std::ofstream(s3_.data_dir() + "/data/ab/cd/junk-name") << "junk";
  s3_.Reopen();
  auto files = ListFilesRecursive(s3_.data_dir() + "/data");
  std::sort(files.begin(), files.end());
  std::sort(referenced.begin(), referenced.end());
  EXPECT_EQ(files, referenced);
  EXPECT_TRUE(ListFilesRecursive(s3_.data_dir() + "/tmp").empty());
  EXPECT_TRUE(s3_.Send("GET", "/bkt/kept").body == Payload(5000));
  // The part's file was referenced, so the upload can still be listed.
  EXPECT_NE(s3_.Send("GET", "/bkt/mp?uploadId=" + id).body.find("<PartNumber>1</PartNumber>"), std::string::npos);
}

TEST_F(DurabilityTest, AcknowledgedObjectsSurviveRestart) {
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(s3_.Send("PUT", "/bkt/k" + std::to_string(i), Payload(i * 500, static_cast<char>('a' + i))).status, 200);
  }
  s3_.Reopen();
  for (int i = 0; i < 20; ++i) {
    EXPECT_TRUE(s3_.Send("GET", "/bkt/k" + std::to_string(i)).body == Payload(i * 500, static_cast<char>('a' + i)));
  }
}

// A power cut right after the answers: every acknowledged object, large
// (its own data file) or small (inline), and every acknowledged part is
// there afterwards, byte for byte. A data file published without its fsync
// or its directory's would be missing here, where kill -9 cannot tell.
TEST_F(DurabilityTest, AcknowledgedObjectsSurvivePowerLoss) {
  for (int i = 0; i < 12; ++i) {
    ASSERT_EQ(s3_.Send("PUT", "/bkt/k" + std::to_string(i), Payload(i * 700, static_cast<char>('a' + i))).status, 200);
  }
  ASSERT_EQ(s3_.Send("PUT", "/bkt/k3", Payload(9000, 'z')).status, 200);  // an overwrite
  auto create = s3_.Send("POST", "/bkt/mp?uploads");
  size_t a = create.body.find("<UploadId>") + 10;
  std::string id = create.body.substr(a, create.body.find("</UploadId>") - a);
  auto part_put = s3_.Send("PUT", "/bkt/mp?partNumber=1&uploadId=" + id, Payload(4000, 'p'));
  ASSERT_EQ(part_put.status, 200);

  fs_.SimulatePowerLoss();
  s3_.Close();
  fs_.Restart();
  s3_.Reopen();

  for (int i = 0; i < 12; ++i) {
    std::string expected = i == 3 ? Payload(9000, 'z') : Payload(i * 700, static_cast<char>('a' + i));
    auto r = s3_.Send("GET", "/bkt/k" + std::to_string(i));
    EXPECT_EQ(r.status, 200) << "k" << i << ": " << r.body.substr(0, 200);
    EXPECT_TRUE(r.body == expected) << "k" << i << " differs after the power cut";
  }
  auto part = s3_.Send("GET", "/bkt/mp?uploadId=" + id);
  EXPECT_NE(part.body.find("<PartNumber>1</PartNumber>"), std::string::npos) << part.body;
  std::string complete =
      "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>" + part_put.Header("etag") +
      "</ETag></Part></CompleteMultipartUpload>";
  ASSERT_EQ(s3_.Send("POST", "/bkt/mp?uploadId=" + id, complete).status, 200);
  EXPECT_TRUE(s3_.Send("GET", "/bkt/mp").body == Payload(4000, 'p'));
}

// A PUT the power cut interrupts leaves nothing behind: no object, no file.
TEST_F(DurabilityTest, PowerLossDuringAPutLeavesNoTrace) {
  fs_.FailSyncs(true);  // the cut comes while the data is still in the page cache
  EXPECT_NE(s3_.Send("PUT", "/bkt/cut", Payload(6000)).status, 200);
  fs_.SimulatePowerLoss();
  s3_.Close();
  fs_.Restart();
  fs_.FailSyncs(false);
  s3_.Reopen();
  EXPECT_EQ(s3_.Send("GET", "/bkt/cut").ErrorCode(), "NoSuchKey");
  ExpectNoDataFiles();
}

}  // namespace
}  // namespace annex::objectstore::testing

namespace annex::objectstore::testing {
namespace {

// Many writers racing on one key and on their own keys: every request is
// acknowledged, the last committed version wins, and exactly one data file
// per surviving large object remains.
TEST(ConcurrencyTest, ConcurrentOverwritesKeepOneConsistentVersion) {
  TempDir dir;
  S3Harness s3(dir.path());
  ASSERT_EQ(s3.Send("PUT", "/bkt").status, 200);
  std::vector<TestRequest> requests;
  for (int i = 0; i < 24; ++i) {
    TestRequest r;
    r.method = "PUT";
    r.target = (i % 2 == 0) ? "/bkt/shared" : "/bkt/own" + std::to_string(i);
    r.body = Payload(3000 + static_cast<size_t>(i), static_cast<char>('a' + i));
    requests.push_back(r);
  }
  auto responses = s3.SendConcurrently(requests);
  for (const auto& r : responses) EXPECT_EQ(r.status, 200) << r.body;
  auto shared = s3.Send("GET", "/bkt/shared");
  bool matches_one = false;
  for (int i = 0; i < 24; i += 2) matches_one = matches_one || shared.body == requests[i].body;
  EXPECT_TRUE(matches_one);
  for (int i = 1; i < 24; i += 2) EXPECT_TRUE(s3.Send("GET", requests[i].target).body == requests[i].body);
  EXPECT_EQ(ListFilesRecursive(s3.data_dir() + "/data").size(), 13u);  // 1 shared + 12 own
  std::string metrics;
  s3.service().AppendMetrics(metrics);
  EXPECT_NE(metrics.find("annex_objectstore_objects 13\n"), std::string::npos) << metrics;
}

}  // namespace
}  // namespace annex::objectstore::testing
