#include "services/containers/image_config.h"

#include <gtest/gtest.h>

namespace annex::containers {
namespace {

using Strings = std::vector<std::string>;

ImageConfig Image() {
  ImageConfig i;
  i.entrypoint = {"/docker-entrypoint.sh"};
  i.cmd = {"nginx", "-g", "daemon off;"};
  i.env = {"PATH=/usr/local/nginx/bin:/usr/bin:/bin", "NGINX_VERSION=1.25", "LANG=C"};
  i.working_dir = "/srv";
  i.user = "nginx";
  return i;
}

Result<MergedProcess> Merge(const ContainerOverrides& o, const ImageConfig& image = Image()) {
  return MergeImageConfig(image, o, "web");
}

TEST(ParseImageConfig, ReadsTheRunSection) {
  auto c = ParseImageConfig(R"({"architecture":"amd64","os":"linux","config":{
      "Entrypoint":["/e"],"Cmd":["a","b"],"Env":["A=1","B=2"],"WorkingDir":"/w","User":"1000:1000"}})");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->entrypoint, Strings({"/e"}));
  EXPECT_EQ(c->cmd, Strings({"a", "b"}));
  EXPECT_EQ(c->env, Strings({"A=1", "B=2"}));
  EXPECT_EQ(c->working_dir, "/w");
  EXPECT_EQ(c->user, "1000:1000");
}

TEST(ParseImageConfig, NullsAndMissingConfigMeanNothing) {
  auto c = ParseImageConfig(R"({"config":{"Entrypoint":null,"Cmd":null,"Env":null}})");
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->entrypoint.empty() && c->cmd.empty() && c->env.empty());
  EXPECT_TRUE(ParseImageConfig(R"({"os":"linux"})").ok());
}

TEST(ParseImageConfig, RefusesWrongTypes) {
  EXPECT_EQ(ParseImageConfig("not json").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseImageConfig(R"({"config":{"Cmd":"sh -c x"}})").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseImageConfig(R"({"config":{"Env":[1]}})").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseImageConfig(R"({"config":{"User":7}})").status().code(), StatusCode::kInvalidArgument);
}

TEST(MergeImageConfig, ImageAloneRunsEntrypointThenCmd) {
  auto p = Merge({});
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->argv, Strings({"/docker-entrypoint.sh", "nginx", "-g", "daemon off;"}));
  EXPECT_EQ(p->working_dir, "/srv");
  EXPECT_EQ(p->user, "nginx");
}

TEST(MergeImageConfig, CommandReplacesCmdOnly) {
  ContainerOverrides o;
  o.command = Strings{"nginx", "-t"};
  EXPECT_EQ(Merge(o)->argv, Strings({"/docker-entrypoint.sh", "nginx", "-t"}));
}

TEST(MergeImageConfig, EntryPointDropsTheImagesCmd) {
  ContainerOverrides o;
  o.entry_point = Strings{"/bin/sh", "-c"};
  EXPECT_EQ(Merge(o)->argv, Strings({"/bin/sh", "-c"}));
  o.command = Strings{"echo hi"};
  EXPECT_EQ(Merge(o)->argv, Strings({"/bin/sh", "-c", "echo hi"}));
}

TEST(MergeImageConfig, EmptyEntryPointClearsTheImagesEntrypointButKeepsCmd) {
  ContainerOverrides o;
  o.entry_point = Strings{};
  EXPECT_EQ(Merge(o)->argv, Strings({"nginx", "-g", "daemon off;"}));
}

TEST(MergeImageConfig, NothingToRunIsAClearError) {
  ImageConfig scratch;
  auto p = Merge({}, scratch);
  EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(p.status().message().find("no command specified"), std::string::npos);
}

TEST(MergeImageConfig, EnvironmentAsDockerBuildsIt) {
  ContainerOverrides o;
  o.env = {"LANG=de_DE.UTF-8", "STAGE=prod"};
  auto p = Merge(o);
  ASSERT_TRUE(p.ok());
  // PATH keeps its first place with the image's value; HOSTNAME next; then
  // the definition's variables; then the image's that were not overridden.
  EXPECT_EQ(p->env, Strings({"PATH=/usr/local/nginx/bin:/usr/bin:/bin", "HOSTNAME=web", "LANG=de_DE.UTF-8",
                             "STAGE=prod", "NGINX_VERSION=1.25"}));
}

TEST(MergeImageConfig, DefaultPathWhenTheImageSetsNone) {
  ImageConfig i;
  i.cmd = {"sh"};
  auto p = Merge({}, i);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->env, Strings({std::string("PATH=") + kDefaultPath, "HOSTNAME=web"}));
  EXPECT_EQ(p->working_dir, "/");
  EXPECT_EQ(p->user, "");
  EXPECT_EQ(p->argv, Strings({"sh"}));  // the runtime searches PATH
}

TEST(MergeImageConfig, WorkingDirectoryAndUserOverride) {
  ContainerOverrides o;
  o.working_dir = "/tmp";
  o.user = "1000:1000";
  auto p = Merge(o);
  EXPECT_EQ(p->working_dir, "/tmp");
  EXPECT_EQ(p->user, "1000:1000");
  o.working_dir = "relative";
  EXPECT_EQ(Merge(o).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace annex::containers
