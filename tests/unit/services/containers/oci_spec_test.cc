#include "services/containers/oci_spec.h"

#include <sys/resource.h>

#include <algorithm>

#include <gtest/gtest.h>

namespace annex::containers {
namespace {

ContainerLaunch Launch() {
  ContainerLaunch l;
  l.id = "0123456789abcdef-web";
  l.rootfs_dir = "/var/lib/annex/images/abc/rootfs";
  l.bundle_dir = "/var/lib/annex/containers/t1-web";
  l.argv = {"nginx", "-g", "daemon off;"};
  l.env = {"PATH=/usr/bin:/bin", "HOSTNAME=0123456789ab"};
  l.working_dir = "/srv";
  l.uid = 101;
  l.gid = 102;
  l.additional_gids = {4, 27};
  return l;
}

const Json* FindMount(const Json& config, const std::string& dest) {
  for (const auto& m : config["mounts"]) {
    if (m["destination"] == dest) return &m;
  }
  return nullptr;
}

bool HasOption(const Json& mount, const std::string& opt) {
  const auto& o = mount["options"];
  return std::find(o.begin(), o.end(), opt) != o.end();
}

TEST(BuildOciConfig, ProcessIsWhatTheLaunchSays) {
  Json c = BuildOciConfig(Launch());
  EXPECT_EQ(c["ociVersion"].get<std::string>().substr(0, 2), "1.");
  const Json& p = c["process"];
  EXPECT_EQ(p["args"], Json({"nginx", "-g", "daemon off;"}));
  EXPECT_EQ(p["env"], Json({"PATH=/usr/bin:/bin", "HOSTNAME=0123456789ab"}));
  EXPECT_EQ(p["cwd"], "/srv");
  EXPECT_EQ(p["user"]["uid"], 101);
  EXPECT_EQ(p["user"]["gid"], 102);
  EXPECT_EQ(p["user"]["additionalGids"], Json({4, 27}));
  EXPECT_EQ(p["terminal"], false);
  EXPECT_EQ(p["noNewPrivileges"], true);
  EXPECT_EQ(c["root"]["path"], "rootfs");
  EXPECT_EQ(c["root"]["readonly"], false);
}

TEST(BuildOciConfig, HostnameDefaultsToTheIdsFirstTwelveCharacters) {
  EXPECT_EQ(BuildOciConfig(Launch())["hostname"], "0123456789ab");
  ContainerLaunch l = Launch();
  l.hostname = "web";
  EXPECT_EQ(BuildOciConfig(l)["hostname"], "web");
}

TEST(BuildOciConfig, DockersDefaultCapabilitiesWithoutMknod) {
  Json caps = BuildOciConfig(Launch())["process"]["capabilities"];
  std::vector<std::string> want = {"CAP_CHOWN",     "CAP_DAC_OVERRIDE", "CAP_FSETID",     "CAP_FOWNER",
                                   "CAP_NET_RAW",   "CAP_SETGID",       "CAP_SETUID",     "CAP_SETFCAP",
                                   "CAP_SETPCAP",   "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL",
                                   "CAP_AUDIT_WRITE"};
  for (const char* set : {"bounding", "effective", "permitted"}) {
    auto got = caps[set].get<std::vector<std::string>>();
    std::sort(got.begin(), got.end());
    auto w = want;
    std::sort(w.begin(), w.end());
    EXPECT_EQ(got, w) << set;
  }
  EXPECT_FALSE(caps.contains("inheritable"));
  EXPECT_FALSE(caps.contains("ambient"));
}

TEST(BuildOciConfig, OwnNamespacesAndNoCgroupOrResources) {
  Json linux = BuildOciConfig(Launch())["linux"];
  std::vector<std::string> types;
  for (const auto& ns : linux["namespaces"]) {
    types.push_back(ns["type"]);
    EXPECT_FALSE(ns.contains("path")) << ns.dump();
  }
  std::sort(types.begin(), types.end());
  EXPECT_EQ(types, (std::vector<std::string>{"ipc", "mount", "network", "pid", "uts"}));
  // The supervisor owns the cgroup: the runtime must neither move the
  // container nor write limits.
  EXPECT_FALSE(linux.contains("resources"));
  EXPECT_FALSE(linux.contains("cgroupsPath"));
  EXPECT_FALSE(linux.contains("seccomp"));
}

TEST(BuildOciConfig, JoinsANamedNetworkNamespace) {
  ContainerLaunch l = Launch();
  l.netns_path = "/run/netns/task-1";
  Json linux = BuildOciConfig(l)["linux"];
  int found = 0;
  for (const auto& ns : linux["namespaces"]) {
    if (ns["type"] == "network") {
      EXPECT_EQ(ns["path"], "/run/netns/task-1");
      ++found;
    }
  }
  EXPECT_EQ(found, 1);
}

TEST(BuildOciConfig, MasksAndProtectsProcAsDocker) {
  Json linux = BuildOciConfig(Launch())["linux"];
  auto masked = linux["maskedPaths"].get<std::vector<std::string>>();
  for (const char* p : {"/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug", "/sys/firmware",
                        "/proc/acpi", "/proc/scsi"}) {
    EXPECT_NE(std::find(masked.begin(), masked.end(), p), masked.end()) << p;
  }
  EXPECT_EQ(linux["readonlyPaths"],
            Json({"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}));
}

TEST(BuildOciConfig, StandardMountsAndEtcFilesFromTheBundle) {
  ContainerLaunch l = Launch();
  Json c = BuildOciConfig(l);
  for (const char* d : {"/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys"}) {
    EXPECT_NE(FindMount(c, d), nullptr) << d;
  }
  EXPECT_TRUE(HasOption(*FindMount(c, "/sys"), "ro"));
  EXPECT_EQ((*FindMount(c, "/dev"))["type"], "tmpfs");
  for (const char* f : {"hosts", "hostname", "resolv.conf"}) {
    const Json* m = FindMount(c, std::string("/etc/") + f);
    ASSERT_NE(m, nullptr) << f;
    EXPECT_EQ((*m)["type"], "bind");
    EXPECT_EQ((*m)["source"], l.bundle_dir + "/" + f);
    EXPECT_FALSE(HasOption(*m, "ro"));
  }
}

TEST(BuildOciConfig, ReadOnlyRootAlsoBindsEtcFilesReadOnly) {
  ContainerLaunch l = Launch();
  l.read_only_root = true;
  Json c = BuildOciConfig(l);
  EXPECT_EQ(c["root"]["readonly"], true);
  EXPECT_TRUE(HasOption(*FindMount(c, "/etc/hosts"), "ro"));
}

TEST(BuildOciConfig, VolumesTmpfsAndRlimits) {
  ContainerLaunch l = Launch();
  l.binds = {{"/srv/data", "/data", false}, {"/srv/conf", "/conf", true}};
  l.tmpfs = {{"/run", 64 << 20, 0755}};
  l.rlimits = {{RLIMIT_NOFILE, 1024, 4096}};
  Json c = BuildOciConfig(l);
  const Json* data = FindMount(c, "/data");
  ASSERT_NE(data, nullptr);
  EXPECT_EQ((*data)["source"], "/srv/data");
  EXPECT_TRUE(HasOption(*data, "rbind"));
  EXPECT_TRUE(HasOption(*data, "rw"));
  EXPECT_TRUE(HasOption(*data, "nodev"));
  EXPECT_TRUE(HasOption(*FindMount(c, "/conf"), "ro"));
  const Json* run = FindMount(c, "/run");
  ASSERT_NE(run, nullptr);
  EXPECT_EQ((*run)["type"], "tmpfs");
  EXPECT_TRUE(HasOption(*run, "size=67108864"));
  EXPECT_TRUE(HasOption(*run, "mode=755"));
  EXPECT_EQ(c["process"]["rlimits"], Json::parse(R"([{"type":"RLIMIT_NOFILE","soft":1024,"hard":4096}])"));
}

TEST(ValidateLaunch, NamesWhatCannotWork) {
  EXPECT_TRUE(ValidateLaunch(Launch()).ok());
  auto bad = [](auto mutate) {
    ContainerLaunch l = Launch();
    mutate(l);
    return ValidateLaunch(l).code();
  };
  EXPECT_EQ(bad([](ContainerLaunch& l) { l.id = "../x"; }), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](ContainerLaunch& l) { l.id = ""; }), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](ContainerLaunch& l) { l.argv.clear(); }), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](ContainerLaunch& l) { l.working_dir = "srv"; }), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](ContainerLaunch& l) { l.rootfs_dir = "rootfs"; }), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](ContainerLaunch& l) { l.env.push_back("NOVALUE"); }), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](ContainerLaunch& l) { l.binds.push_back({"data", "/data", false}); }),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](ContainerLaunch& l) { l.rlimits.push_back({9999, 1, 1}); }), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](ContainerLaunch& l) { l.rlimits.push_back({RLIMIT_NOFILE, 10, 1}); }),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace annex::containers
