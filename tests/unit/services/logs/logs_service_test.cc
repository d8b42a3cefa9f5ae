// The Logs service as the edge calls it: JSON 1.1 answers, CloudWatch's
// error codes, and names looked up per account.

#include "services/logs/logs_service.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "appliance/os/clock.h"
#include "tests/unit/testing/service_driver.h"
#include "tests/unit/testing/temp_dir.h"

namespace annex::logs {
namespace {

using Json = nlohmann::json;

constexpr int64_t kNowMs = 1700000000000;

struct Answer {
  int status = 0;
  Json body;
};

class LogsServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    LogStore::Options options;
    options.dir = dir_.path() + "/logs";
    options.clock = &clock_;
    options.maintenance_interval = std::chrono::milliseconds(0);
    auto store = LogStore::Open(options);
    ASSERT_TRUE(store.ok());
    store_ = std::move(*store);
    service_ = NewLogsService(*store_, nullptr);
  }

  Answer Call(const std::string& op, const std::string& body, const std::string& account = "111111111111") {
    auth::Principal principal;
    principal.anonymous = false;
    principal.account_id = account;
    testing::DriverResponse r =
        testing::ServiceDriver(*service_).Send(principal, "POST", "/", body, {{"x-amz-target", "Logs_20140328." + op}});
    Answer a;
    a.status = r.status;
    a.body = r.body.empty() ? Json::object() : Json::parse(r.body, nullptr, false);
    return a;
  }
  Answer Call(const std::string& op, const Json& body, const std::string& account = "111111111111") {
    return Call(op, body.dump(), account);
  }

  testing::TempDir dir_;
  os::ManualClock clock_{os::SystemTime(std::chrono::milliseconds(kNowMs))};  // the store's; the driver's is the same
  std::unique_ptr<LogStore> store_;
  std::unique_ptr<service::Service> service_;
};

TEST_F(LogsServiceTest, PutThenGetAnswersJson) {
  ASSERT_EQ(Call("CreateLogGroup", Json{{"logGroupName", "/app"}}).status, 200);
  ASSERT_EQ(Call("CreateLogStream", Json{{"logGroupName", "/app"}, {"logStreamName", "s"}}).status, 200);
  Answer put = Call("PutLogEvents", Json{{"logGroupName", "/app"},
                                         {"logStreamName", "s"},
                                         {"logEvents", {{{"timestamp", kNowMs}, {"message", "hello"}}}}});
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_TRUE(put.body.contains("nextSequenceToken"));
  Answer got = Call("GetLogEvents", Json{{"logGroupName", "/app"}, {"logStreamName", "s"}});
  ASSERT_EQ(got.status, 200);
  ASSERT_EQ(got.body["events"].size(), 1u);
  EXPECT_EQ(got.body["events"][0]["message"], "hello");
  EXPECT_EQ(got.body["events"][0]["timestamp"], kNowMs);
  EXPECT_EQ(got.body["events"][0]["ingestionTime"], kNowMs);
}

TEST_F(LogsServiceTest, ErrorsHaveCloudWatchCodesAndStatuses) {
  struct Case {
    const char* op;
    std::string body;
    const char* code;
  };
  const Case cases[] = {
      {"CreateLogGroup", "{", "SerializationException"},
      {"CreateLogGroup", R"({"logGroupName": ["x"]})", "SerializationException"},
      {"CreateLogGroup", R"({"logGroupName": "bad name"})", "InvalidParameterException"},
      {"CreateLogGroup", "{}", "InvalidParameterException"},
      {"DeleteLogGroup", R"({"logGroupName": "missing"})", "ResourceNotFoundException"},
      {"PutRetentionPolicy", R"({"logGroupName": "g", "retentionInDays": 2})", "InvalidParameterException"},
      {"DescribeLogGroups", R"({"limit": 51})", "InvalidParameterException"},
      {"DescribeLogGroups", R"({"logGroupNamePrefix": "a", "logGroupNamePattern": "b"})", "InvalidParameterException"},
      {"GetLogEvents", R"({"logGroupName": "g", "logStreamName": "s", "nextToken": "x/1"})", "InvalidParameterException"},
      {"NoSuchThing", "{}", "UnknownOperationException"},
  };
  for (const Case& c : cases) {
    Answer a = Call(c.op, c.body);
    EXPECT_EQ(a.status, 400) << c.op << " " << c.body;
    EXPECT_EQ(a.body.value("__type", ""), c.code) << c.op << " " << c.body << " " << a.body;
  }
}

TEST_F(LogsServiceTest, EachAccountHasItsOwnGroups) {
  ASSERT_EQ(Call("CreateLogGroup", Json{{"logGroupName", "/shared-name"}}, "111111111111").status, 200);
  Answer other = Call("DescribeLogGroups", Json::object(), "222222222222");
  EXPECT_TRUE(other.body["logGroups"].empty());
  Answer arn = Call("ListTagsForResource",
                    Json{{"resourceArn", "arn:aws:logs:us-east-1:111111111111:log-group:/shared-name"}}, "222222222222");
  EXPECT_EQ(arn.body.value("__type", ""), "ResourceNotFoundException");
  EXPECT_EQ(Call("CreateLogGroup", Json{{"logGroupName", "/shared-name"}}, "222222222222").status, 200);
}

TEST_F(LogsServiceTest, RejectedEventsAreReportedByIndex) {
  ASSERT_EQ(Call("CreateLogGroup", Json{{"logGroupName", "g"}}).status, 200);
  ASSERT_EQ(Call("CreateLogStream", Json{{"logGroupName", "g"}, {"logStreamName", "s"}}).status, 200);
  constexpr int64_t kDay = 24 * 3600 * 1000;
  auto put = [&](Json events) {
    return Call("PutLogEvents", Json{{"logGroupName", "g"}, {"logStreamName", "s"}, {"logEvents", events}});
  };
  Answer old = put(Json::array({{{"timestamp", kNowMs - 14 * kDay - 1}, {"message", "old"}},
                                {{"timestamp", kNowMs - 14 * kDay + 3600 * 1000}, {"message", "kept"}}}));
  ASSERT_EQ(old.status, 200) << old.body;
  EXPECT_EQ(old.body["rejectedLogEventsInfo"], (Json{{"tooOldLogEventEndIndex", 1}}));
  Answer future = put(Json::array({{{"timestamp", kNowMs}, {"message", "now"}},
                                   {{"timestamp", kNowMs + 3 * 3600 * 1000}, {"message", "future"}}}));
  ASSERT_EQ(future.status, 200) << future.body;
  EXPECT_EQ(future.body["rejectedLogEventsInfo"], (Json{{"tooNewLogEventStartIndex", 1}}));
  Answer got = Call("GetLogEvents", Json{{"logGroupName", "g"}, {"logStreamName", "s"}, {"startFromHead", true}});
  ASSERT_EQ(got.body["events"].size(), 2u);
  EXPECT_EQ(got.body["events"][0]["message"], "kept");
  EXPECT_EQ(got.body["events"][1]["message"], "now");
}

// PutLogEvents bodies in the common shape are read by a scanner of their
// own; the rest by the general parser. Both must store the same events and
// answer malformed batches with the same errors.
TEST_F(LogsServiceTest, BatchesDecodeAlikeWhateverTheirShape) {
  ASSERT_EQ(Call("CreateLogGroup", Json{{"logGroupName", "g"}}).status, 200);
  ASSERT_EQ(Call("CreateLogStream", Json{{"logGroupName", "g"}, {"logStreamName", "s"}}).status, 200);
  const std::string ts = std::to_string(kNowMs);
  const std::string accepted[] = {
      // The scanner's shape, with escapes, a surrogate pair and raw UTF-8.
      R"( { "logGroupName" : "g", "logStreamName":"s", "logEvents":[{"timestamp":)" + ts +
          R"(,"message":"tab\t\"q\" \u00e9 \ud83d\ude00 caf)" + "\xC3\xA9" + R"("}] } )",
      // Members it leaves to the general parser: unknown keys, message first.
      R"({"logGroupName":"g","logStreamName":"s","logEvents":[{"message":"second","timestamp":)" + ts +
          R"(,"extra":1}]})",
      // Members after logEvents, and a sequence token.
      R"({"logEvents":[{"timestamp":)" + ts + R"(,"message":"third"}],"sequenceToken":"1","logGroupName":"g","logStreamName":"s"})",
  };
  for (const std::string& body : accepted) {
    Answer a = Call("PutLogEvents", body);
    EXPECT_EQ(a.status, 200) << body << " " << a.body;
  }
  Answer got = Call("GetLogEvents", Json{{"logGroupName", "g"}, {"logStreamName", "s"}, {"startFromHead", true}});
  ASSERT_EQ(got.body["events"].size(), 3u) << got.body;
  EXPECT_EQ(got.body["events"][0]["message"], "tab\t\"q\" \xC3\xA9 \xF0\x9F\x98\x80 caf\xC3\xA9");
  EXPECT_EQ(got.body["events"][1]["message"], "second");
  EXPECT_EQ(got.body["events"][2]["message"], "third");

  struct Case {
    std::string body;
    const char* code;
  };
  const std::string head = R"({"logGroupName":"g","logStreamName":"s","logEvents":)";
  const Case refused[] = {
      {head + R"([{"timestamp":1.5,"message":"x"}]})", "SerializationException"},
      {head + R"([{"timestamp":)" + ts + R"(,"message":"bad \x"}]})", "SerializationException"},
      {head + "[{\"timestamp\":" + ts + ",\"message\":\"\xC3\"}]}", "SerializationException"},
      {head + R"([{"timestamp":-1,"message":"x"}]})", "InvalidParameterException"},
      {head + R"([{"timestamp":)" + ts + R"(}]})", "InvalidParameterException"},
      {head + R"([{"timestamp":)" + ts + R"(,"message":""}]})", "InvalidParameterException"},
      {head + R"([{"timestamp":)" + ts + R"(,"message":"x"}]} trailing)", "SerializationException"},
      {head + "null}", "InvalidParameterException"},
      {head + "[]}", "InvalidParameterException"},
      {R"({"logGroupName":"g","logEvents":[{"timestamp":)" + ts + R"(,"message":"x"}]})", "InvalidParameterException"},
  };
  for (const Case& c : refused) {
    Answer a = Call("PutLogEvents", c.body);
    EXPECT_EQ(a.status, 400) << c.body;
    EXPECT_EQ(a.body.value("__type", ""), c.code) << c.body << " " << a.body;
  }
}

}  // namespace
}  // namespace annex::logs
