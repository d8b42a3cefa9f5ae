#include "services/registry/image_archive_reader.h"

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "appliance/crypto/hash.h"

namespace annex::registry {
namespace {

using Json = nlohmann::json;

std::string Digest(std::string_view s) { return "sha256:" + crypto::Sha256Hex(s); }
std::string Hex(std::string_view s) { return crypto::Sha256Hex(s); }

struct Item {
  Item(std::string n, std::string c, char k = 'f', std::string l = "")
      : name(std::move(n)), content(std::move(c)), kind(k), link(std::move(l)) {}
  std::string name;
  std::string content;
  char kind;  // 'f' file, 'l' symlink, 'c' character device
  std::string link;
};

std::string Gzip(std::string_view in) {
  z_stream z{};
  deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, in.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = in.size();
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = out.size();
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

// A sink that keeps committed blobs in memory.
class MemorySink : public BlobSink {
 public:
  bool Wants(const ArchiveBlob&) override { return true; }
  Status PutWhole(const ArchiveBlob& blob, std::string_view content) override {
    committed[blob.digest] = std::string(content);
    return Status::OK();
  }
  Status Begin(const ArchiveBlob&) override {
    current.clear();
    return Status::OK();
  }
  Status Write(std::string_view chunk) override {
    current.append(chunk);
    return Status::OK();
  }
  Status Commit(const std::string& digest) override {
    committed[digest] = current;
    return Status::OK();
  }
  void Abort() override { ++aborted; }

  std::map<std::string, std::string> committed;
  std::string current;
  int aborted = 0;
};

class ImageArchiveReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("archive-test-" + std::to_string(::getpid()) + "-" +
                                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string WriteTar(const std::vector<Item>& items, bool gzip = false) {
    std::string path = (dir_ / ("a" + std::to_string(n_++) + ".tar")).string();
    archive* a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    if (gzip) archive_write_add_filter_gzip(a);
    EXPECT_EQ(archive_write_open_filename(a, path.c_str()), ARCHIVE_OK);
    for (const Item& it : items) {
      archive_entry* e = archive_entry_new();
      archive_entry_set_pathname(e, it.name.c_str());
      archive_entry_set_perm(e, 0644);
      if (it.kind == 'l') {
        archive_entry_set_filetype(e, AE_IFLNK);
        archive_entry_set_symlink(e, it.link.c_str());
      } else {
        archive_entry_set_filetype(e, it.kind == 'c' ? AE_IFCHR : AE_IFREG);
        archive_entry_set_size(e, it.kind == 'f' ? it.content.size() : 0);
      }
      archive_write_header(a, e);
      if (it.kind == 'f') archive_write_data(a, it.content.data(), it.content.size());
      archive_entry_free(e);
    }
    archive_write_close(a);
    archive_write_free(a);
    return path;
  }

  // A docker-archive of two layers; `layer2` may be gzip'd (its diff_id is
  // that of `layer2_plain`).
  std::vector<Item> DockerItems(const std::string& layer2, const std::string& layer2_plain) {
    std::string layer1(20000, 'x');
    Json config{{"architecture", "amd64"}, {"os", "linux"},
                {"rootfs", {{"type", "layers"}, {"diff_ids", {Digest(layer1), Digest(layer2_plain)}}}}};
    std::string cfg = config.dump();
    Json manifest = Json::array({{{"Config", Hex(cfg) + ".json"},
                                  {"RepoTags", {"localhost/app:v1"}},
                                  {"Layers", {"l1/layer.tar", "l2/layer.tar"}}}});
    return {{"l1/layer.tar", layer1}, {"l2/layer.tar", layer2}, {Hex(cfg) + ".json", cfg},
            {"manifest.json", manifest.dump()}};
  }

  // An OCI layout with one image of one layer, tagged "v1".
  std::vector<Item> OciItems(const std::string& layer, const std::string& layer_name_content) {
    std::string cfg = Json{{"architecture", "amd64"}, {"os", "linux"},
                           {"rootfs", {{"type", "layers"}, {"diff_ids", {Digest(layer)}}}}}.dump();
    Json m{{"schemaVersion", 2},
           {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
           {"config", {{"mediaType", "application/vnd.oci.image.config.v1+json"}, {"digest", Digest(cfg)},
                       {"size", cfg.size()}}},
           {"layers", {{{"mediaType", "application/vnd.oci.image.layer.v1.tar"},
                        {"digest", Digest(layer_name_content)}, {"size", layer.size()}}}}};
    std::string mb = m.dump();
    Json index{{"schemaVersion", 2},
               {"manifests", {{{"mediaType", "application/vnd.oci.image.manifest.v1+json"}, {"digest", Digest(mb)},
                               {"size", mb.size()},
                               {"annotations", {{"org.opencontainers.image.ref.name", "v1"}}}}}}};
    return {{"./oci-layout", R"({"imageLayoutVersion":"1.0.0"})"},
            {"./index.json", index.dump()},
            {"./blobs/sha256/" + Hex(mb), mb},
            {"./blobs/sha256/" + Hex(cfg), cfg},
            {"./blobs/sha256/" + Hex(layer_name_content), layer}};
  }

  std::filesystem::path dir_;
  int n_ = 0;
};

TEST_F(ImageArchiveReaderTest, DockerArchiveBecomesAnOciManifest) {
  std::string layer2(5000, 'y');
  auto reader = ImageArchiveReader::Open(os::PosixFileSystem(), WriteTar(DockerItems(layer2, layer2)));
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  const ArchivePlan& plan = (*reader)->plan();
  EXPECT_EQ(plan.format, ArchiveFormat::kDockerArchive);
  ASSERT_EQ(plan.manifests.size(), 1u);
  ASSERT_EQ(plan.manifests[0].references.size(), 1u);
  EXPECT_EQ(plan.manifests[0].references[0].repository, "app");
  EXPECT_EQ(plan.manifests[0].references[0].tag, "v1");
  MemorySink sink;
  ASSERT_TRUE((*reader)->StreamBlobs(sink).ok());
  EXPECT_EQ(sink.committed.size(), 3u);  // config and two layers
  Json m = Json::parse(plan.manifests[0].bytes);
  EXPECT_EQ(m["mediaType"], "application/vnd.oci.image.manifest.v1+json");
  EXPECT_EQ(m["layers"][1]["digest"], Digest(layer2));
  EXPECT_EQ(m["layers"][1]["mediaType"], "application/vnd.oci.image.layer.v1.tar");
  EXPECT_EQ(plan.manifests[0].digest, Digest(plan.manifests[0].bytes));
  EXPECT_EQ(sink.committed[m["config"]["digest"].get<std::string>()].substr(0, 1), "{");
}

TEST_F(ImageArchiveReaderTest, GzipLayerIsCheckedAgainstItsDiffId) {
  std::string plain(30000, 'z');
  std::string gz = Gzip(plain);
  auto reader = ImageArchiveReader::Open(os::PosixFileSystem(), WriteTar(DockerItems(gz, plain), true));
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  MemorySink sink;
  ASSERT_TRUE((*reader)->StreamBlobs(sink).ok());
  Json m = Json::parse((*reader)->plan().manifests[0].bytes);
  EXPECT_EQ(m["layers"][1]["digest"], Digest(gz));
  EXPECT_EQ(m["layers"][1]["mediaType"], "application/vnd.oci.image.layer.v1.tar+gzip");
}

TEST_F(ImageArchiveReaderTest, WrongDiffIdIsRefusedAndNothingOfItCommitted) {
  std::string layer2(5000, 'y');
  auto reader = ImageArchiveReader::Open(os::PosixFileSystem(), WriteTar(DockerItems(layer2, "something else")));
  ASSERT_TRUE(reader.ok());
  MemorySink sink;
  Status s = (*reader)->StreamBlobs(sink);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("digest mismatch"), std::string::npos) << s.message();
  EXPECT_EQ(sink.aborted, 1);
  EXPECT_EQ(sink.committed.count(Digest(layer2)), 0u);
}

TEST_F(ImageArchiveReaderTest, GzippedOciLayoutKeepsItsManifest) {
  std::string layer(40000, 'q');
  auto reader = ImageArchiveReader::Open(os::PosixFileSystem(), WriteTar(OciItems(layer, layer), true));
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  const ArchivePlan& plan = (*reader)->plan();
  EXPECT_EQ(plan.format, ArchiveFormat::kOciLayout);
  ASSERT_EQ(plan.manifests.size(), 1u);
  EXPECT_EQ(plan.manifests[0].references[0].repository, "");
  EXPECT_EQ(plan.manifests[0].references[0].tag, "v1");
  std::string before = plan.manifests[0].bytes;
  MemorySink sink;
  ASSERT_TRUE((*reader)->StreamBlobs(sink).ok());
  EXPECT_EQ(plan.manifests[0].bytes, before);
  EXPECT_EQ(sink.committed[Digest(layer)], layer);
}

TEST_F(ImageArchiveReaderTest, OciBlobWhoseBytesDoNotMatchItsNameIsRefused) {
  std::string layer(40000, 'q');
  std::string claimed(40000, 'r');
  auto reader = ImageArchiveReader::Open(os::PosixFileSystem(), WriteTar(OciItems(layer, claimed)));
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  MemorySink sink;
  Status s = (*reader)->StreamBlobs(sink);
  EXPECT_NE(s.message().find("digest mismatch"), std::string::npos) << s.message();
  EXPECT_EQ(sink.committed.count(Digest(claimed)), 0u);
  EXPECT_EQ(sink.committed.count(Digest(layer)), 0u);
}

TEST_F(ImageArchiveReaderTest, MissingLayerIsRefusedBeforeAnythingIsStreamed) {
  auto items = OciItems(std::string(100, 'a'), std::string(100, 'a'));
  items.pop_back();
  auto reader = ImageArchiveReader::Open(os::PosixFileSystem(), WriteTar(items));
  ASSERT_FALSE(reader.ok());
  EXPECT_NE(reader.status().message().find("missing blob"), std::string::npos) << reader.status().message();
}

TEST_F(ImageArchiveReaderTest, EntriesEscapingTheArchiveAreRefused) {
  auto items = DockerItems("l", "l");
  items.push_back({"../../etc/cron.d/evil", "x"});
  auto reader = ImageArchiveReader::Open(os::PosixFileSystem(), WriteTar(items));
  ASSERT_FALSE(reader.ok());
  EXPECT_NE(reader.status().message().find("escapes"), std::string::npos) << reader.status().message();

  items.pop_back();
  items.push_back({"l3/layer.tar", "", 'l', "../../../etc/passwd"});
  reader = ImageArchiveReader::Open(os::PosixFileSystem(), WriteTar(items));
  ASSERT_FALSE(reader.ok());
  EXPECT_NE(reader.status().message().find("outside the archive"), std::string::npos) << reader.status().message();

  items.pop_back();
  items.push_back({"dev", "", 'c'});
  EXPECT_FALSE(ImageArchiveReader::Open(os::PosixFileSystem(), WriteTar(items)).ok());
}

TEST_F(ImageArchiveReaderTest, SharedLayersAsSymlinksResolveInsideTheArchive) {
  std::string layer(5000, 'y');
  auto items = DockerItems(layer, layer);
  items[1] = {"l2/layer.tar", "", 'l', "../l1/layer.tar"};
  // l2 now is l1's bytes: its diff_id must be l1's for the archive to be valid.
  Json manifest = Json::parse(items[3].content);
  std::string cfg = items[2].content;
  Json config = Json::parse(cfg);
  config["rootfs"]["diff_ids"][1] = config["rootfs"]["diff_ids"][0];
  std::string cfg2 = config.dump();
  items[2] = {Hex(cfg2) + ".json", cfg2};
  manifest[0]["Config"] = Hex(cfg2) + ".json";
  items[3] = {"manifest.json", manifest.dump()};
  auto reader = ImageArchiveReader::Open(os::PosixFileSystem(), WriteTar(items));
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  MemorySink sink;
  ASSERT_TRUE((*reader)->StreamBlobs(sink).ok());
  Json m = Json::parse((*reader)->plan().manifests[0].bytes);
  EXPECT_EQ(m["layers"][0]["digest"], m["layers"][1]["digest"]);
}

TEST_F(ImageArchiveReaderTest, CorruptAndTruncatedArchivesAreRefused) {
  std::string path = WriteTar(DockerItems(std::string(300000, 'y'), std::string(300000, 'y')), true);
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  std::string cut = (dir_ / "cut.tar.gz").string();
  std::ofstream(cut, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  auto reader = ImageArchiveReader::Open(os::PosixFileSystem(), cut);
  ASSERT_FALSE(reader.ok());
  EXPECT_EQ(reader.status().code(), StatusCode::kInvalidArgument);

  std::string garbage = (dir_ / "garbage").string();
  std::ofstream(garbage, std::ios::binary) << std::string(10000, '\x07');
  reader = ImageArchiveReader::Open(os::PosixFileSystem(), garbage);
  ASSERT_FALSE(reader.ok());
  EXPECT_EQ(reader.status().code(), StatusCode::kInvalidArgument);

  reader = ImageArchiveReader::Open(os::PosixFileSystem(), WriteTar({{"hello.txt", "hi"}}));
  ASSERT_FALSE(reader.ok());
  EXPECT_NE(reader.status().message().find("not an image archive"), std::string::npos);
}

TEST(ParseImageReference, DropsRegistryHostsAndDefaultsTheTag) {
  auto check = [](std::string_view in, std::string repo, std::string tag) {
    auto r = ParseImageReference(in);
    ASSERT_TRUE(r.ok()) << in;
    EXPECT_EQ(r->repository, repo) << in;
    EXPECT_EQ(r->tag, tag) << in;
  };
  check("app:v1", "app", "v1");
  check("docker.io/library/alpine:3.19", "alpine", "3.19");
  check("registry.example:5000/team/app", "team/app", "latest");
  check("localhost/app:v1", "app", "v1");
  check("team/app:v1", "team/app", "v1");
  check("v1", "", "v1");
  EXPECT_FALSE(ParseImageReference("app@sha256:abcd").ok());
}

TEST(NormalizeEntryName, StaysInsideTheArchive) {
  EXPECT_EQ(*NormalizeEntryName("./blobs//sha256/x"), "blobs/sha256/x");
  EXPECT_EQ(*NormalizeEntryName("a/../b"), "b");
  EXPECT_FALSE(NormalizeEntryName("../x").ok());
  EXPECT_FALSE(NormalizeEntryName("a/../../x").ok());
  EXPECT_FALSE(NormalizeEntryName("/etc/passwd").ok());
}

}  // namespace
}  // namespace annex::registry
