#include "provisioning/image/manifest.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <string>

namespace annex::image {
namespace {

const std::string kSha(64, 'a');

Manifest Sample() {
  Manifest m;
  m.version = "1.4.0";
  m.min_installed_version = "1.2";
  m.key_id = "0123456789abcdef";
  m.artifacts = {{"esp.img", "esp", 4096, 8 << 20, kSha, {}},
                 {"root.img", "b", (8 << 20) + 4096, 1ull << 32, std::string(64, '0'), {}}};
  return m;
}

// The JSON of Sample() with one change applied.
template <typename Edit>
std::string Edited(Edit edit) {
  nlohmann::json j = nlohmann::json::parse(EncodeManifest(Sample()));
  edit(j);
  return j.dump();
}

// Expects ParseManifest to refuse `json` with a message naming `field`.
void ExpectRejected(const std::string& json, const std::string& field) {
  auto parsed = ParseManifest(json);
  ASSERT_FALSE(parsed.ok()) << json;
  EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(parsed.status().message().find("'" + field + "'"), std::string::npos)
      << parsed.status().message() << " should name " << field;
}

TEST(Manifest, CanonicalEncoding) {
  Manifest m = Sample();
  m.artifacts.resize(1);
  EXPECT_EQ(EncodeManifest(m),
            "{\n"
            "  \"format\": 1,\n"
            "  \"product\": \"annex\",\n"
            "  \"version\": \"1.4.0\",\n"
            "  \"min_installed_version\": \"1.2\",\n"
            "  \"key_id\": \"0123456789abcdef\",\n"
            "  \"artifacts\": [\n"
            "    {\n"
            "      \"name\": \"esp.img\",\n"
            "      \"slot\": \"esp\",\n"
            "      \"offset\": 4096,\n"
            "      \"size\": 8388608,\n"
            "      \"sha256\": \"" +
                kSha +
                "\"\n"
                "    }\n"
                "  ]\n"
                "}\n");
}

TEST(Manifest, RoundTrip) {
  std::string text = EncodeManifest(Sample());
  auto parsed = ParseManifest(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->format, 1);
  EXPECT_EQ(parsed->product, "annex");
  EXPECT_EQ(parsed->version, "1.4.0");
  EXPECT_EQ(parsed->min_installed_version, "1.2");
  EXPECT_EQ(parsed->key_id, "0123456789abcdef");
  ASSERT_EQ(parsed->artifacts.size(), 2u);
  EXPECT_EQ(parsed->artifacts[1].name, "root.img");
  EXPECT_EQ(parsed->artifacts[1].slot, "b");
  EXPECT_EQ(parsed->artifacts[1].offset, (8u << 20) + 4096);
  EXPECT_EQ(parsed->artifacts[1].size, 1ull << 32);
  EXPECT_EQ(parsed->artifacts[1].sha256, std::string(64, '0'));
  EXPECT_EQ(EncodeManifest(*parsed), text);
}

TEST(Manifest, EmptyMinimumAndNoArtifactsAreAccepted) {
  Manifest m = Sample();
  m.min_installed_version.clear();
  m.artifacts.clear();
  auto parsed = ParseManifest(EncodeManifest(m));
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->min_installed_version, "");
  EXPECT_TRUE(parsed->artifacts.empty());
}

TEST(Manifest, RejectsMalformedJson) {
  EXPECT_EQ(ParseManifest("{").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseManifest("[]").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseManifest("").status().code(), StatusCode::kInvalidArgument);
}

TEST(Manifest, RejectsMissingFields) {
  for (const char* field : {"format", "product", "version", "min_installed_version", "key_id", "artifacts"}) {
    ExpectRejected(Edited([&](nlohmann::json& j) { j.erase(field); }), field);
  }
  for (const char* field : {"name", "slot", "offset", "size", "sha256"}) {
    ExpectRejected(Edited([&](nlohmann::json& j) { j["artifacts"][1].erase(field); }),
                   std::string("artifacts[1].") + field);
  }
}

TEST(Manifest, RejectsMistypedFields) {
  ExpectRejected(Edited([](auto& j) { j["format"] = "1"; }), "format");
  ExpectRejected(Edited([](auto& j) { j["format"] = 1.5; }), "format");
  ExpectRejected(Edited([](auto& j) { j["product"] = 7; }), "product");
  ExpectRejected(Edited([](auto& j) { j["version"] = nullptr; }), "version");
  ExpectRejected(Edited([](auto& j) { j["key_id"] = true; }), "key_id");
  ExpectRejected(Edited([](auto& j) { j["artifacts"] = nlohmann::json::object(); }), "artifacts");
  ExpectRejected(Edited([](auto& j) { j["artifacts"][0] = "esp.img"; }), "artifacts[0]");
  ExpectRejected(Edited([](auto& j) { j["artifacts"][0]["offset"] = -1; }), "artifacts[0].offset");
  ExpectRejected(Edited([](auto& j) { j["artifacts"][0]["size"] = "10"; }), "artifacts[0].size");
  ExpectRejected(Edited([](auto& j) { j["artifacts"][0]["size"] = 1.0; }), "artifacts[0].size");
  ExpectRejected(Edited([](auto& j) { j["artifacts"][0]["slot"] = 1; }), "artifacts[0].slot");
}

TEST(Manifest, RejectsBadValues) {
  ExpectRejected(Edited([](auto& j) { j["format"] = 2; }), "format");
  ExpectRejected(Edited([](auto& j) { j["product"] = "other"; }), "product");
  ExpectRejected(Edited([](auto& j) { j["version"] = "1.4.0-rc1"; }), "version");
  ExpectRejected(Edited([](auto& j) { j["version"] = ""; }), "version");
  ExpectRejected(Edited([](auto& j) { j["min_installed_version"] = "v1"; }), "min_installed_version");
  ExpectRejected(Edited([](auto& j) { j["min_installed_version"] = "1.4.1"; }), "min_installed_version");
  ExpectRejected(Edited([](auto& j) { j["key_id"] = "0123456789ABCDEF"; }), "key_id");
  ExpectRejected(Edited([](auto& j) { j["key_id"] = "0123456789abcde"; }), "key_id");
  ExpectRejected(Edited([](auto& j) { j["artifacts"][0]["sha256"] = std::string(64, 'A'); }), "artifacts[0].sha256");
  ExpectRejected(Edited([](auto& j) { j["artifacts"][0]["sha256"] = std::string(63, 'a'); }), "artifacts[0].sha256");
  ExpectRejected(Edited([](auto& j) { j["artifacts"][0]["sha256"] = std::string(63, 'a') + "g"; }),
                 "artifacts[0].sha256");
  ExpectRejected(Edited([](auto& j) { j["artifacts"][0]["offset"] = ~uint64_t{0}; }), "artifacts[0].size");
  ExpectRejected(Edited([](auto& j) { j["surprise"] = 1; }), "surprise");
  ExpectRejected(Edited([](auto& j) { j["artifacts"][0]["mode"] = "0644"; }), "artifacts[0].mode");
}

TEST(Manifest, RejectsBadArtifactNames) {
  for (const char* name : {"", "a/b", "/etc/passwd", "..", "x..y", "new\nline"}) {
    ExpectRejected(Edited([&](auto& j) { j["artifacts"][1]["name"] = name; }), "artifacts[1].name");
  }
  ExpectRejected(Edited([](auto& j) { j["artifacts"][1]["name"] = "esp.img"; }), "artifacts[1].name");
}

TEST(Manifest, FindArtifact) {
  Manifest m = Sample();
  ASSERT_NE(FindArtifact(m, "root.img"), nullptr);
  EXPECT_EQ(FindArtifact(m, "root.img")->slot, "b");
  EXPECT_EQ(FindArtifact(m, "missing"), nullptr);
}

TEST(Version, Validity) {
  for (const char* v : {"1", "1.4", "1.4.0", "1.2.3.4", "0.0", "123456789.0"}) EXPECT_TRUE(IsValidVersion(v)) << v;
  for (const char* v : {"", "1.2.3.4.5", "1..2", ".1", "1.", "v1", "1.-2", "1.2a", "1234567890", " 1"}) {
    EXPECT_FALSE(IsValidVersion(v)) << v;
  }
}

TEST(Version, Ordering) {
  EXPECT_GT(CompareVersions("1.10", "1.9"), 0);
  EXPECT_LT(CompareVersions("1.9", "1.10"), 0);
  EXPECT_EQ(CompareVersions("1.2", "1.2.0"), 0);
  EXPECT_EQ(CompareVersions("1.2.0.0", "1.2"), 0);
  EXPECT_LT(CompareVersions("1.2", "1.2.1"), 0);
  EXPECT_GT(CompareVersions("2", "1.999.999"), 0);
  EXPECT_EQ(CompareVersions("1.02", "1.2"), 0);
  EXPECT_LT(CompareVersions("0.9.9", "1"), 0);
  EXPECT_GT(CompareVersions("999999999.0", "99999999.9"), 0);
}

// The block map: extents round-trip, and a map that could hide data (out of
// order, overlapping, outside the artifact, empty) is refused.
TEST(Manifest, ExtentsRoundTripAndAreChecked) {
  Manifest m = Sample();
  m.artifacts[0].extents = {{0, 4096, kSha}, {1 << 20, 8192, std::string(64, 'b')}};
  auto parsed = ParseManifest(EncodeManifest(m));
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  ASSERT_EQ(parsed->artifacts[0].extents.size(), 2u);
  EXPECT_EQ(parsed->artifacts[0].extents[1].offset, 1u << 20);
  EXPECT_EQ(parsed->artifacts[0].extents[1].sha256, std::string(64, 'b'));
  EXPECT_TRUE(parsed->artifacts[1].extents.empty());

  using J = nlohmann::json;
  const std::vector<std::pair<J, std::string>> bad = {
      {J::array({J::array({8192, 4096, kSha}), J::array({0, 4096, kSha})}), "artifacts[0].extents[1]"},
      {J::array({J::array({0, 8192, kSha}), J::array({4096, 4096, kSha})}), "artifacts[0].extents[1]"},
      {J::array({J::array({0, 9 << 20, kSha})}), "artifacts[0].extents[0]"},
      {J::array({J::array({0, 0, kSha})}), "artifacts[0].extents[0]"},
      {J::array({J::array({0, 4096, "xyz"})}), "artifacts[0].extents[0]"},
      {J::array({J::array({0, 4096})}), "artifacts[0].extents[0]"},
  };
  for (const auto& [extents, field] : bad) {
    ExpectRejected(Edited([&](J& j) { j["artifacts"][0]["extents"] = extents; }), field);
  }
}

}  // namespace
}  // namespace annex::image
