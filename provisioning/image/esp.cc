#include "provisioning/image/esp.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "provisioning/image/subprocess.h"

namespace annex::image {
namespace {

std::string Target(std::string_view path) { return "::/" + std::string(path); }

Result<std::string> RunMtools(std::vector<std::string> argv) {
  // Our images are not DOS floppies: skip mtools' geometry sanity checks.
  // NO_FAKE_STAT: faketime must not shift the source files' (fixed) times.
  return Run(Command{std::move(argv), {{"MTOOLS_SKIP_CHECK", "1"}, {"NO_FAKE_STAT", "1"}}, {}, {}});
}

}  // namespace

Esp::Esp(std::string device, uint64_t offset, std::optional<std::string> frozen_time)
    : device_(std::move(device)), offset_(offset), frozen_time_(std::move(frozen_time)) {}

std::string Esp::Image() const { return offset_ ? device_ + "@@" + std::to_string(offset_) : device_; }

std::vector<std::string> Esp::Tool(const char* name) const {
  std::vector<std::string> argv;
  if (frozen_time_) argv = {"faketime", *frozen_time_};
  argv.push_back(name);
  argv.push_back("-i");
  argv.push_back(Image());
  return argv;
}

Result<std::vector<std::string>> Esp::List(std::string_view dir) const {
  auto argv = Tool("mdir");
  argv.insert(argv.end(), {"-b", Target(dir)});
  auto out = RunMtools(argv);
  if (!out.ok()) return Status::NotFound("no directory " + std::string(dir) + " on the EFI partition");
  std::vector<std::string> names;
  size_t start = 0;
  while (start < out->size()) {
    size_t end = out->find('\n', start);
    if (end == std::string::npos) end = out->size();
    std::string line = out->substr(start, end - start);
    start = end + 1;
    size_t slash = line.rfind('/');
    if (slash == std::string::npos) continue;
    std::string name = line.substr(slash + 1);
    if (!name.empty() && name != "." && name != "..") names.push_back(name);
  }
  return names;
}

Result<std::string> Esp::Read(std::string_view path) const {
  auto argv = Tool("mtype");
  argv.push_back(Target(path));
  return RunMtools(argv);
}

Status Esp::CopyOut(std::string_view path, const std::string& host_path) const {
  auto argv = Tool("mcopy");
  argv.insert(argv.end(), {"-n", Target(path), host_path});
  return RunMtools(argv).status();
}

Status Esp::CopyIn(const std::string& host_path, std::string_view path) const {
  return Copy(host_path, path, true);
}

Status Esp::Copy(const std::string& host_path, std::string_view path, bool keep_mtime) const {
  auto argv = Tool("mcopy");
  argv.push_back("-o");  // overwrite
  if (keep_mtime) argv.push_back("-m");
  argv.insert(argv.end(), {host_path, Target(path)});
  return RunMtools(argv).status();
}

Status Esp::Write(std::string_view path, std::string_view data) const {
  char tmpl[] = "/tmp/annex-esp-XXXXXX";
  int fd = ::mkstemp(tmpl);
  if (fd < 0) return Status::FromErrno(errno, "mkstemp");
  ::close(fd);
  {
    std::ofstream out(tmpl, std::ios::binary | std::ios::trunc);
    out.write(data.data(), static_cast<std::streamsize>(data.size()));
    if (!out) {
      ::unlink(tmpl);
      return Status::IOError("cannot write temporary file");
    }
  }
  // Stamped with the (possibly frozen) current time, not the temp file's.
  Status s = Copy(tmpl, path, false);
  ::unlink(tmpl);
  return s;
}

Status Esp::MakeDir(std::string_view path) const {
  if (Exists(path)) return Status::OK();
  auto argv = Tool("mmd");
  argv.push_back(Target(path));
  return RunMtools(argv).status();
}

Status Esp::Rename(std::string_view path, std::string_view new_name) const {
  auto argv = Tool("mren");
  argv.insert(argv.end(), {Target(path), std::string(new_name)});
  return RunMtools(argv).status();
}

Status Esp::Remove(std::string_view path) const {
  auto argv = Tool("mdel");
  argv.push_back(Target(path));
  return RunMtools(argv).status();
}

bool Esp::Exists(std::string_view path) const {
  auto argv = Tool("mdir");
  argv.insert(argv.end(), {"-b", Target(path)});
  return RunMtools(argv).ok();
}

}  // namespace annex::image
