#include "services/objectstore/form_data_parser.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>

namespace annex::objectstore {
namespace {

constexpr std::string_view kBoundary = "----WebKitFormBoundaryX3b";

// One part as a test sees it.
struct Part {
  std::string name;
  std::optional<std::string> filename;
  std::string content_type;
  std::string content;
};

// Feeds `body` to a parser in pieces of at most `piece` bytes; every part it
// reports, or the error.
Result<std::vector<Part>> Parse(std::string_view body, size_t piece, std::string_view boundary = kBoundary,
                                size_t buffer = FormDataParser::kDefaultBufferSize) {
  FormDataParser parser(boundary, buffer);
  std::vector<Part> parts;
  size_t fed = 0;
  bool open = false;
  while (true) {
    ANNEX_ASSIGN_OR_RETURN(FormDataParser::Event event, parser.Next());
    switch (event) {
      case FormDataParser::Event::kNeedMore: {
        std::span<char> space = parser.Space();
        EXPECT_FALSE(space.empty());
        size_t n = std::min({piece, space.size(), body.size() - fed});
        std::memcpy(space.data(), body.data() + fed, n);
        fed += n;
        if (n == 0) parser.CommitEnd();
        parser.Commit(n);
        break;
      }
      case FormDataParser::Event::kPartBegin:
        EXPECT_FALSE(open);
        open = true;
        parts.push_back({parser.head().name, parser.head().filename, parser.head().content_type, ""});
        break;
      case FormDataParser::Event::kData:
        EXPECT_TRUE(open);
        EXPECT_FALSE(parser.data().empty());
        parts.back().content.append(parser.data());
        break;
      case FormDataParser::Event::kPartEnd:
        EXPECT_TRUE(open);
        open = false;
        break;
      case FormDataParser::Event::kEnd:
        EXPECT_FALSE(open);
        return parts;
    }
  }
}

std::string Field(std::string_view name, std::string_view value, std::string_view extra = "") {
  return "--" + std::string(kBoundary) + "\r\nContent-Disposition: form-data; name=\"" + std::string(name) + "\"" +
         std::string(extra) + "\r\n\r\n" + std::string(value) + "\r\n";
}

std::string Close() { return "--" + std::string(kBoundary) + "--\r\n"; }

std::string BrowserForm(std::string_view file) {
  return Field("key", "uploads/${filename}") + Field("policy", "eyJ9") + "--" + std::string(kBoundary) +
         "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"photo.jpg\"\r\n"
         "Content-Type: image/jpeg\r\n\r\n" +
         std::string(file) + "\r\n" + Close();
}

TEST(FormDataParserTest, ContentType) {
  FormContentType t = ParseFormContentType("multipart/form-data; boundary=----WebKitFormBoundaryX3b");
  EXPECT_TRUE(t.is_form_data);
  EXPECT_EQ(t.boundary, "----WebKitFormBoundaryX3b");
  t = ParseFormContentType("Multipart/Form-Data;charset=utf-8; BOUNDARY=\"a b\"");
  EXPECT_TRUE(t.is_form_data);
  EXPECT_EQ(t.boundary, "a b");
  t = ParseFormContentType("multipart/form-data");  // missing boundary: MalformedPOSTRequest for the handler
  EXPECT_TRUE(t.is_form_data);
  EXPECT_EQ(t.boundary, "");
  EXPECT_EQ(ParseFormContentType("multipart/form-data; boundary=" + std::string(201, 'b')).boundary, "");
  EXPECT_FALSE(ParseFormContentType("application/x-www-form-urlencoded").is_form_data);
  EXPECT_FALSE(ParseFormContentType("multipart/mixed; boundary=x").is_form_data);
  EXPECT_FALSE(ParseFormContentType("").is_form_data);
}

TEST(FormDataParserTest, BrowserFormInAnyPieces) {
  std::string file;
  for (int i = 0; i < 5000; ++i) file += static_cast<char>(i * 7);
  file += "\r\n--" + std::string(kBoundary).substr(0, 10);  // almost a delimiter, inside the file
  std::string body = BrowserForm(file);
  for (size_t piece : {size_t{1}, size_t{2}, size_t{3}, size_t{7}, size_t{64}, size_t{4096}, body.size()}) {
    Result<std::vector<Part>> parts = Parse(body, piece);
    ASSERT_TRUE(parts.ok()) << piece << ": " << parts.status().ToString();
    ASSERT_EQ(parts->size(), 3u);
    EXPECT_EQ((*parts)[0].name, "key");
    EXPECT_EQ((*parts)[0].content, "uploads/${filename}");
    EXPECT_FALSE((*parts)[0].filename);
    EXPECT_EQ((*parts)[1].content, "eyJ9");
    EXPECT_EQ((*parts)[2].name, "file");
    EXPECT_EQ((*parts)[2].filename, "photo.jpg");
    EXPECT_EQ((*parts)[2].content_type, "image/jpeg");
    EXPECT_EQ((*parts)[2].content, file) << piece;
  }
}

TEST(FormDataParserTest, LargeFileStreamsThroughASmallBuffer) {
  std::string file(3 * 1024 * 1024, 'z');
  Result<std::vector<Part>> parts = Parse(BrowserForm(file), 100000, kBoundary, /*buffer=*/16 * 1024);
  ASSERT_TRUE(parts.ok()) << parts.status().ToString();
  EXPECT_EQ(parts->back().content.size(), file.size());
}

TEST(FormDataParserTest, PreambleEpilogueAndEmptyParts) {
  std::string body = "this is a preamble\r\n" + Field("a", "") + Field("b", "2", "; filename=\"\"") + Close() +
                     "epilogue, ignored --" + std::string(kBoundary);
  Result<std::vector<Part>> parts = Parse(body, 5);
  ASSERT_TRUE(parts.ok()) << parts.status().ToString();
  ASSERT_EQ(parts->size(), 2u);
  EXPECT_EQ((*parts)[0].content, "");
  EXPECT_EQ((*parts)[1].filename, "");
}

TEST(FormDataParserTest, QuotedNamesAndWhitespaceAfterDelimiter) {
  std::string body = "--" + std::string(kBoundary) + " \t\r\ncontent-disposition:form-data;name=\"a\\\"b\";" +
                     " FILENAME=\"C:\\\\x.txt\"\r\nX-Other: y\r\n\r\nv\r\n" + Close();
  Result<std::vector<Part>> parts = Parse(body, 3);
  ASSERT_TRUE(parts.ok()) << parts.status().ToString();
  ASSERT_EQ(parts->size(), 1u);
  EXPECT_EQ((*parts)[0].name, "a\"b");
  EXPECT_EQ((*parts)[0].filename, "C:\\x.txt");
  // As a browser sends a path: backslashes as they are.
  body = "--" + std::string(kBoundary) + "\r\nContent-Disposition: form-data; name=file; filename=\"C:\\d\\a.txt\"" +
         "\r\n\r\nv\r\n" + Close();
  parts = Parse(body, 3);
  ASSERT_TRUE(parts.ok()) << parts.status().ToString();
  EXPECT_EQ((*parts)[0].name, "file");
  EXPECT_EQ((*parts)[0].filename, "C:\\d\\a.txt");
}

// Hostile and broken bodies: each is MalformedPOSTRequest, never a hang or a crash.
TEST(FormDataParserTest, MalformedBodies) {
  const std::string b(kBoundary);
  std::vector<std::pair<std::string, std::string>> cases = {
      {"empty body", ""},
      {"not multipart", "key=k&file=x"},
      {"other boundary", "--other\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n--other--\r\n"},
      {"truncated in content",
       Field("key", "k") + "--" + b + "\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nabc"},
      {"truncated before the close", Field("key", "k") + Field("file", "x")},
      {"truncated in a head", "--" + b + "\r\nContent-Disposition: form-da"},
      {"field without a name", "--" + b + "\r\nContent-Disposition: form-data\r\n\r\nx\r\n" + Close()},
      {"field with an empty name", "--" + b + "\r\nContent-Disposition: form-data; name=\"\"\r\n\r\nx\r\n" + Close()},
      {"no disposition", "--" + b + "\r\nContent-Type: text/plain\r\n\r\nx\r\n" + Close()},
      {"not form-data", "--" + b + "\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\nx\r\n" + Close()},
      {"two dispositions",
       "--" + b +
           "\r\nContent-Disposition: form-data; name=\"a\"\r\nContent-Disposition: form-data; name=\"b\"\r\n\r\n" +
           "x\r\n" + Close()},
      {"header line without a colon", "--" + b + "\r\nContent-Disposition form-data\r\n\r\nx\r\n" + Close()},
      {"junk after the delimiter", "--" + b + "junk\r\n"},
      {"huge head", "--" + b + "\r\nContent-Disposition: form-data; name=\"" + std::string(20000, 'n') + "\"\r\n\r\n"},
      {"huge preamble", std::string(100000, 'p')},
  };
  for (const auto& [what, body] : cases) {
    Result<std::vector<Part>> parts = Parse(body, 1000);
    ASSERT_FALSE(parts.ok()) << what;
    EXPECT_EQ(parts.status().subcode(), "MalformedPOSTRequest") << what;
  }
}

TEST(FormDataParserTest, HugeFieldStreamsInPieces) {
  // The parser never holds a whole field: the handler caps what it keeps.
  std::string value(1 << 20, 'v');
  FormDataParser parser(kBoundary, 16 * 1024);
  std::string body = Field("x-amz-meta-big", value) + Close();
  size_t fed = 0, largest = 0, total = 0;
  while (true) {
    Result<FormDataParser::Event> event = parser.Next();
    ASSERT_TRUE(event.ok());
    if (*event == FormDataParser::Event::kEnd) break;
    if (*event == FormDataParser::Event::kData) {
      largest = std::max(largest, parser.data().size());
      total += parser.data().size();
    }
    if (*event == FormDataParser::Event::kNeedMore) {
      std::span<char> space = parser.Space();
      size_t n = std::min(space.size(), body.size() - fed);
      std::memcpy(space.data(), body.data() + fed, n);
      fed += n;
      if (n == 0) parser.CommitEnd();
      parser.Commit(n);
    }
  }
  EXPECT_EQ(total, value.size());
  EXPECT_LE(largest, 16u * 1024 + FormDataParser::kMaxPartHead + 300);
}

// Bodies with random bytes changed, cut or repeated, fed in random pieces:
// the parser ends (an error or kEnd) and never reports more content than it got.
TEST(FormDataParserTest, MutatedBodiesEndCleanly) {
  std::mt19937 rng(20261207);
  const std::string base = BrowserForm(std::string(3000, 'f'));
  for (int round = 0; round < 2000; ++round) {
    std::string body = base;
    int edits = 1 + static_cast<int>(rng() % 8);
    for (int e = 0; e < edits; ++e) {
      size_t at = rng() % body.size();
      switch (rng() % 4) {
        case 0: body[at] = static_cast<char>(rng()); break;
        case 1: body.erase(at, rng() % 64); break;
        case 2: body.insert(at, body.substr(at, rng() % 128)); break;
        case 3: body.resize(at); break;
      }
      if (body.empty()) body = "-";
    }
    size_t piece = 1 + rng() % 700;
    Result<std::vector<Part>> parts = Parse(body, piece, kBoundary, /*buffer=*/1 + rng() % 40000);
    if (!parts.ok()) {
      EXPECT_EQ(parts.status().subcode(), "MalformedPOSTRequest");
      continue;
    }
    size_t content = 0;
    for (const Part& p : *parts) content += p.content.size() + p.name.size();
    EXPECT_LE(content, body.size());
  }
}

}  // namespace
}  // namespace annex::objectstore
