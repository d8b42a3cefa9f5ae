// IAM Query parameter validation against the constraints of IAM's model.

#include "appliance/iam/iam_params.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace annex::iam {
namespace {

struct ParamCase {
  const char* what;
  std::string action;
  std::vector<std::pair<std::string, std::string>> params;
  std::string want;           // "" = valid, else the subcode
  std::string mentions = "";  // a substring the message must contain
};

http::QueryParams Params(const std::vector<std::pair<std::string, std::string>>& list) {
  http::QueryParams p;
  for (const auto& [k, v] : list) p.Add(k, v);
  return p;
}

const std::string kKey = "AKIAABCDEFGHIJKLMNOP";

std::vector<ParamCase> Cases() {
  using namespace std::string_literals;
  return {
      {"absent user name means the caller", "CreateAccessKey", {}, ""},
      {"a valid user name", "CreateAccessKey", {{"UserName", "mallory"}}, ""},
      {"all allowed characters", "CreateUser", {{"UserName", "a-Z_0.9+=,@"}}, ""},
      {"empty user name",
       "CreateAccessKey",
       {{"UserName", ""}},
       "ValidationError",
       "length greater than or equal to 1"},
      {"empty user name, list", "ListAccessKeys", {{"UserName", ""}}, "ValidationError", "'userName'"},
      {"empty user name, delete", "DeleteAccessKey", {{"UserName", ""}, {"AccessKeyId", kKey}}, "ValidationError"},
      {"empty user name, update",
       "UpdateAccessKey",
       {{"UserName", ""}, {"AccessKeyId", kKey}, {"Status", "Active"}},
       "ValidationError"},
      {"empty user name, get", "GetUser", {{"UserName", ""}}, "ValidationError"},
      {"empty user name, create", "CreateUser", {{"UserName", ""}}, "ValidationError"},
      {"missing user name, create", "CreateUser", {}, "ValidationError", "Value null at 'userName'"},
      {"missing user name, delete", "DeleteUser", {}, "ValidationError", "must not be null"},
      {"64 characters is the limit for new users", "CreateUser", {{"UserName", std::string(64, 'u')}}, ""},
      {"65 characters",
       "CreateUser",
       {{"UserName", std::string(65, 'u')}},
       "ValidationError",
       "less than or equal to 64"},
      {"128 characters name an existing user", "GetUser", {{"UserName", std::string(128, 'u')}}, ""},
      {"129 characters",
       "GetUser",
       {{"UserName", std::string(129, 'u')}},
       "ValidationError",
       "less than or equal to 128"},
      {"space", "CreateAccessKey", {{"UserName", "mal lory"}}, "ValidationError", "regular expression pattern"},
      {"slash", "CreateAccessKey", {{"UserName", "a/b"}}, "ValidationError"},
      {"colon (an ARN)", "ListAccessKeys", {{"UserName", "arn:aws:iam::111111111111:root"}}, "ValidationError"},
      {"star", "DeleteUser", {{"UserName", "*"}}, "ValidationError"},
      {"unicode letter", "CreateAccessKey", {{"UserName", "m\xC3\xA4llory"}}, "ValidationError"},
      {"unicode homoglyph",
       "CreateUser",
       {{"UserName",
         "\xD0\xB0"
         "dmin"}},
       "ValidationError"},
      {"invalid UTF-8", "CreateAccessKey", {{"UserName", "\xFF\xFE"}}, "ValidationError"},
      {"NUL byte", "CreateAccessKey", {{"UserName", "mallory\0root"s}}, "ValidationError"},
      {"only a NUL byte", "ListAccessKeys", {{"UserName", "\0"s}}, "ValidationError"},
      {"newline", "GetUser", {{"UserName", "bob\n"}}, "ValidationError"},
      {"user name given twice",
       "CreateAccessKey",
       {{"UserName", "mallory"}, {"UserName", ""}},
       "ValidationError",
       "at most once"},
      {"action given twice", "ListUsers", {{"Action", "ListUsers"}, {"Action", "ListUsers"}}, "ValidationError"},
      {"access key id", "DeleteAccessKey", {{"AccessKeyId", kKey}}, ""},
      {"access key id missing", "DeleteAccessKey", {}, "ValidationError", "Value null at 'accessKeyId'"},
      {"access key id empty", "DeleteAccessKey", {{"AccessKeyId", ""}}, "ValidationError"},
      {"access key id too short",
       "DeleteAccessKey",
       {{"AccessKeyId", "AKIA0123456789A"}},
       "ValidationError",
       "greater than or equal to 16"},
      {"access key id too long", "DeleteAccessKey", {{"AccessKeyId", std::string(129, 'A')}}, "ValidationError"},
      {"access key id with a dash", "DeleteAccessKey", {{"AccessKeyId", "AKIA-0123456789ABCD"}}, "ValidationError"},
      {"access key id with NUL",
       "UpdateAccessKey",
       {{"AccessKeyId", kKey + "\0"s}, {"Status", "Active"}},
       "ValidationError"},
      {"status inactive", "UpdateAccessKey", {{"AccessKeyId", kKey}, {"Status", "Inactive"}}, ""},
      {"status lower case",
       "UpdateAccessKey",
       {{"AccessKeyId", kKey}, {"Status", "active"}},
       "ValidationError",
       "enum value set"},
      {"status empty", "UpdateAccessKey", {{"AccessKeyId", kKey}, {"Status", ""}}, "ValidationError"},
      {"status missing", "UpdateAccessKey", {{"AccessKeyId", kKey}}, "ValidationError", "'status'"},
      {"two errors at once", "UpdateAccessKey", {{"UserName", ""}}, "ValidationError", "3 validation errors"},
      {"path", "CreateUser", {{"UserName", "bob"}, {"Path", "/division/"}}, ""},
      {"root path", "CreateUser", {{"UserName", "bob"}, {"Path", "/"}}, ""},
      {"empty path", "CreateUser", {{"UserName", "bob"}, {"Path", ""}}, "ValidationError", "'path'"},
      {"path without the last slash", "CreateUser", {{"UserName", "bob"}, {"Path", "/a"}}, "ValidationError"},
      {"path with a space", "CreateUser", {{"UserName", "bob"}, {"Path", "/a b/"}}, "ValidationError"},
      {"path prefix", "ListUsers", {{"PathPrefix", "/"}}, ""},
      {"path prefix empty", "ListUsers", {{"PathPrefix", ""}}, "ValidationError"},
      {"max items", "ListUsers", {{"MaxItems", "1000"}}, ""},
      {"max items zero", "ListUsers", {{"MaxItems", "0"}}, "ValidationError"},
      {"max items too big", "ListAccessKeys", {{"MaxItems", "1001"}}, "ValidationError"},
      {"max items not a number", "ListAccessKeys", {{"MaxItems", "-1"}}, "ValidationError"},
      {"marker empty", "ListUsers", {{"Marker", ""}}, "ValidationError"},
      {"marker control character", "ListUsers", {{"Marker", "a\x01"}}, "ValidationError"},
      {"boundary too short", "CreateUser", {{"UserName", "bob"}, {"PermissionsBoundary", "arn:x"}}, "ValidationError"},
      {"tags", "CreateUser", {{"UserName", "bob"}, {"Tags.member.1.Key", "team"}, {"Tags.member.1.Value", ""}}, ""},
      {"unicode tag",
       "CreateUser",
       {{"UserName", "bob"}, {"Tags.member.1.Key", "\xC3\xA9quipe"}, {"Tags.member.1.Value", "caf\xC3\xA9"}},
       ""},
      {"empty tag key",
       "CreateUser",
       {{"UserName", "bob"}, {"Tags.member.1.Key", ""}, {"Tags.member.1.Value", "v"}},
       "ValidationError",
       "'tags.1.member.key'"},
      {"tag key without value", "CreateUser", {{"UserName", "bob"}, {"Tags.member.1.Key", "k"}}, "ValidationError"},
      {"tag key with NUL",
       "CreateUser",
       {{"UserName", "bob"}, {"Tags.member.1.Key", "k\0"s}, {"Tags.member.1.Value", "v"}},
       "ValidationError"},
      {"tag key too long",
       "CreateUser",
       {{"UserName", "bob"}, {"Tags.member.1.Key", std::string(129, 'k')}, {"Tags.member.1.Value", "v"}},
       "ValidationError"},
      {"tag index 51",
       "CreateUser",
       {{"UserName", "bob"}, {"Tags.member.51.Key", "k"}, {"Tags.member.51.Value", "v"}},
       "ValidationError"},
      {"tag index 0", "CreateUser", {{"UserName", "bob"}, {"Tags.member.0.Key", "k"}}, "ValidationError"},
      {"unknown parameters are ignored", "ListUsers", {{"Foo", "\0"s}}, ""},
      {"unknown action", "BecomeRoot", {}, "InvalidAction"},
      {"empty action", "", {}, "InvalidAction"},
  };
}

TEST(IamParamsTest, ValidatesAsIamDoes) {
  for (const ParamCase& c : Cases()) {
    Status s = ValidateIamParams(c.action, Params(c.params));
    if (c.want.empty()) {
      EXPECT_TRUE(s.ok()) << c.what << ": " << s.ToString();
      continue;
    }
    EXPECT_EQ(s.subcode(), c.want) << c.what << ": " << s.ToString();
    EXPECT_NE(s.message().find(c.mentions), std::string::npos) << c.what << ": " << s.message();
  }
}

TEST(IamParamsTest, MessagesNeverEchoTheValue) {
  Status s = ValidateIamParams("CreateAccessKey", Params({{"UserName", "<x>\x01secret"}}));
  EXPECT_EQ(s.subcode(), "ValidationError");
  EXPECT_EQ(s.message().find("secret"), std::string::npos);
  s = ValidateIamParams("Do\x01<Thing>", Params({}));
  EXPECT_EQ(s.message(), "Could not find operation");
}

}  // namespace
}  // namespace annex::iam
