#include "provisioning/image/builder.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <set>
#include <utility>

#include "appliance/core/strings.h"
#include "appliance/crypto/hash.h"
#include "provisioning/image/esp.h"
#include "provisioning/image/gpt.h"
#include "provisioning/image/image_io.h"
#include "provisioning/image/initramfs.h"
#include "provisioning/image/kernel_modules.h"
#include "provisioning/image/package_cache.h"
#include "provisioning/image/signing.h"
#include "provisioning/image/subprocess.h"

namespace annex::image {
namespace fs = std::filesystem;
namespace {

// Drivers the initramfs needs to find and mount a root slot on the disks
// rack servers and VMs have; the root filesystem adds network drivers.
const std::vector<std::string> kStorageModules = {"virtio_pci", "virtio_blk", "virtio_scsi", "sd_mod",
                                                  "ahci",       "nvme",       "ext4",        "crc32c_generic"};
const std::vector<std::string> kNetworkModules = {"virtio_net", "e1000", "e1000e", "igb", "ixgbe"};
// ECS tasks: overlayfs roots, a veth pair per task on a bridge, and the nft
// table appliance/network writes (nat chains, fib, ct, dnat, masquerade).
// Loaded at boot: without modules.dep the kernel cannot load them on demand.
// br_netfilter is left out: task traffic is routed, not filtered on the bridge.
const std::vector<std::string> kContainerModules = {"overlay",       "veth",    "bridge",      "nf_tables",
                                                    "nft_chain_nat", "nft_nat", "nft_masq",    "nft_ct",
                                                    "nft_fib_ipv4",  "nf_nat",  "nf_conntrack"};
// Host tools the appliance runs at boot: ESP access (boot blessing) and the
// data partition (create, grow, check).
const std::vector<std::string> kMtoolsLinks = {"mcopy", "mdel", "mdir", "mmd", "mren", "mtype"};
const std::vector<std::string> kSbinTools = {"mke2fs", "e2fsck", "resize2fs", "debugfs"};
// What annexd runs for containers, where it looks for them (OciRuntime and
// os::HostCommandRunner Options): the OCI runtimes (crun, runc as fallback) and
// iproute2's ip and nft for the task network. busybox's own ip is /sbin/ip.
const std::vector<std::pair<std::string, std::string>> kContainerTools = {
    {"crun", "/usr/bin/crun"}, {"runc", "/usr/sbin/runc"}, {"ip", "/usr/sbin/ip"}, {"nft", "/usr/sbin/nft"}};
// RDS instances (services/database): Debian's PostgreSQL 15 where
// FindPostgres looks, its share files where its programs find them (relative
// to their own directory, as Debian built them), pgBackRest for the backups,
// and the util-linux tools an instance's volume and user need, at the paths
// annexd runs them by (busybox has only weaker losetup and mount applets;
// its test and truncate, at /usr/bin, do what annexd asks of them).
// Everything is copied from the build machine, installed by
// scripts/install-deps.sh (postgresql-15, postgresql-client-15, pgbackrest).
constexpr const char* kPostgresDir = "/usr/lib/postgresql/15";
constexpr const char* kPostgresShare = "/usr/share/postgresql/15";
// What annexd runs (initdb, postgres, psql, pg_isready), pg_ctl, and the
// tools an operator needs to inspect, repair or dump a cluster.
const std::vector<std::string> kPostgresPrograms = {
    "postgres", "initdb", "psql", "pg_isready", "pg_ctl", "pg_dump", "pg_dumpall", "pg_restore",
    "pg_controldata", "pg_resetwal", "pg_checksums"};
// Left out of the server's lib directory: the LLVM JIT (llvmjit.so pulls in
// libLLVM-14 and libz3, about 130 MB, more than the root slot has free, and
// its bitcode); without it PostgreSQL plans and runs every query unjitted.
const std::set<std::string> kPostgresLibSkipped = {"llvmjit.so", "llvmjit_types.bc", "bitcode"};
// setpriv runs initdb and psql as the instances' user; losetup, mount and
// umount attach and mount each instance's volume; initdb asks `locale -a`
// for the collations it imports.
const std::vector<std::pair<std::string, std::string>> kDatabaseTools = {
    {"setpriv", "/usr/bin/setpriv"}, {"losetup", "/usr/sbin/losetup"},     {"mount", "/usr/bin/mount"},
    {"umount", "/usr/bin/umount"},   {"pgbackrest", "/usr/bin/pgbackrest"}, {"locale", "/usr/bin/locale"}};
// An instance's volume is an ext4 file system in a file, attached to a loop
// device. ext4 itself is loaded before the root (an ext4 file system) is
// mounted: the initramfs's storage modules carry it.
const std::vector<std::string> kDatabaseModules = {"loop"};
// The instances' system user. Its ids are on the data partition (every
// instance's files are owned by them), so they never change between
// releases. 70 (Alpine's postgres) is in Debian's static range and no
// package's there.
constexpr const char* kPostgresUser = "postgres:x:70:70:PostgreSQL:/var/lib/postgresql:/bin/false\n";
constexpr const char* kPostgresGroup = "postgres:x:70:\n";

Status Err(const std::error_code& ec, const std::string& what) {
  return ec ? Status::IOError(what + ": " + ec.message()) : Status::OK();
}

Status MakeDirs(const std::string& path) {
  std::error_code ec;
  fs::create_directories(path, ec);
  return Err(ec, "mkdir " + path);
}

Status CopyFile(const std::string& from, const std::string& to, unsigned mode) {
  ANNEX_RETURN_IF_ERROR(MakeDirs(fs::path(to).parent_path().string()));
  ANNEX_ASSIGN_OR_RETURN(std::string data, ReadWholeFile(from));
  return WriteWholeFile(to, data, mode);
}

Status Symlink(const std::string& target, const std::string& link) {
  ANNEX_RETURN_IF_ERROR(MakeDirs(fs::path(link).parent_path().string()));
  std::error_code ec;
  if (fs::is_symlink(link, ec) || fs::exists(link, ec)) return Status::OK();
  fs::create_symlink(target, link, ec);
  return Err(ec, "symlink " + link);
}

bool IsElf(const std::string& path) {
  auto data = ReadWholeFile(path);
  return data.ok() && data->size() > 4 &&
         data->compare(0, 4,
                       "\x7f"
                       "ELF") == 0;
}

// Copies an executable, without debug symbols when it is ELF.
Status InstallBinary(const std::string& from, const std::string& to) {
  ANNEX_RETURN_IF_ERROR(MakeDirs(fs::path(to).parent_path().string()));
  if (IsElf(from)) {
    ANNEX_RETURN_IF_ERROR(Run({"strip", "--strip-unneeded", "-o", to, from}).status());
    if (::chmod(to.c_str(), 0755) != 0) return Status::FromErrno(errno, "chmod " + to);
    return Status::OK();
  }
  return CopyFile(from, to, 0755);
}

// Copies the tree `from` to `to`, leaving out the entries `skip` names
// (paths relative to `from`). Files are 0755 when executable, else 0644;
// relative symbolic links stay links (zoneinfo's aliases).
Status CopyTree(const std::string& from, const std::string& to, const std::set<std::string>& skip) {
  std::error_code ec;
  if (!fs::is_directory(from, ec)) return Status::NotFound(from + " is not a directory");
  ANNEX_RETURN_IF_ERROR(MakeDirs(to));
  for (auto it = fs::recursive_directory_iterator(from, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    std::string rel = it->path().lexically_relative(from).string();
    std::string dst = to + "/" + rel;
    if (skip.count(rel)) {
      it.disable_recursion_pending();
      continue;
    }
    if (it->is_symlink()) {
      fs::path target = fs::read_symlink(it->path(), ec);
      if (ec) return Err(ec, "readlink " + it->path().string());
      if (target.is_absolute()) return Status::InvalidArgument(it->path().string() + " links outside its tree");
      ANNEX_RETURN_IF_ERROR(Symlink(target.string(), dst));
    } else if (it->is_directory()) {
      ANNEX_RETURN_IF_ERROR(MakeDirs(dst));
    } else if (it->is_regular_file()) {
      bool exec = (it->status().permissions() & fs::perms::owner_exec) != fs::perms::none;
      ANNEX_RETURN_IF_ERROR(CopyFile(it->path().string(), dst, exec ? 0755 : 0644));
    }
  }
  return Err(ec, "list " + from);
}

// Copies the shared libraries `binaries` load (as ldd resolves them on this
// machine) to the same paths under `root`.
Status InstallLibraries(const std::vector<std::string>& binaries, const std::string& root) {
  std::set<std::string> libs;
  for (const auto& bin : binaries) {
    if (!IsElf(bin)) continue;
    auto out = Run({"ldd", bin});
    if (!out.ok()) continue;  // static binaries ("not a dynamic executable")
    for (std::string_view line : Split(*out, '\n')) {
      line = Trim(line);
      size_t arrow = line.find("=> ");
      std::string_view path = arrow != std::string_view::npos ? line.substr(arrow + 3) : line;
      size_t paren = path.find(" (");
      if (paren != std::string_view::npos) path = path.substr(0, paren);
      if (path.starts_with("/")) libs.insert(std::string(path));
    }
  }
  for (const auto& lib : libs) {
    std::error_code ec;
    std::string real = fs::canonical(lib, ec).string();
    if (ec) return Status::NotFound("library " + lib + ": " + ec.message());
    ANNEX_RETURN_IF_ERROR(CopyFile(real, root + lib, 0755));
  }
  return Status::OK();
}

// busybox and a link per applet (`busybox --list-full` names their paths).
Status InstallBusybox(const std::string& busybox, const std::string& root) {
  ANNEX_RETURN_IF_ERROR(CopyFile(busybox, root + "/bin/busybox", 0755));
  ANNEX_ASSIGN_OR_RETURN(std::string applets, Run({busybox, "--list-full"}));
  for (std::string_view applet : Split(applets, '\n')) {
    applet = Trim(applet);
    if (applet.empty() || applet == "bin/busybox") continue;
    std::string link = root + "/" + std::string(applet);
    size_t depth = static_cast<size_t>(std::count(applet.begin(), applet.end(), '/'));
    std::string up;
    for (size_t i = 0; i < depth; ++i) up += "../";
    ANNEX_RETURN_IF_ERROR(Symlink(up + "bin/busybox", link));
  }
  return Status::OK();
}

// Copies the modules (with dependencies) and writes their load order to
// etc/annex/<list_name>, one path per line relative to /lib/modules/<version>.
Status InstallModules(const std::string& kernel_root, const std::string& kernel_version,
                      const std::vector<std::string>& names, const std::string& root, const std::string& list_name) {
  std::string modules_dir = kernel_root + "/lib/modules/" + kernel_version;
  ANNEX_ASSIGN_OR_RETURN(auto order, ResolveModules(modules_dir, names));
  std::string list;
  for (const auto& rel : order) {
    ANNEX_RETURN_IF_ERROR(CopyFile(modules_dir + "/" + rel, root + "/lib/modules/" + kernel_version + "/" + rel, 0644));
    list += rel + "\n";
  }
  ANNEX_RETURN_IF_ERROR(MakeDirs(root + "/etc/annex"));
  return WriteWholeFile(root + "/etc/annex/" + list_name, list);
}

// Every file time in the tree becomes `epoch` (reproducible filesystems).
Status StampTimes(const std::string& root, int64_t epoch) {
  struct timespec times[2] = {{epoch, 0}, {epoch, 0}};
  std::error_code ec;
  std::vector<std::string> paths = {root};
  if (fs::is_directory(root)) {
    for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
      paths.push_back(it->path().string());
    }
  }
  if (ec) return Status::IOError("list " + root + ": " + ec.message());
  for (const auto& p : paths) {
    if (::utimensat(AT_FDCWD, p.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
      return Status::FromErrno(errno, "utimensat " + p);
    }
  }
  return Status::OK();
}

std::string KernelVersionOf(const std::string& kernel_root) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(kernel_root + "/lib/modules", ec)) return e.path().filename().string();
  return "";
}

// A UUID derived from the version and a purpose (reproducible filesystems).
std::string DerivedUuid(const std::string& seed) {
  std::string h = crypto::Sha256Hex(seed);
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-4" + h.substr(13, 3) + "-8" + h.substr(17, 3) + "-" +
         h.substr(20, 12);
}

std::string FrozenTime(int64_t epoch) {
  time_t t = static_cast<time_t>(epoch);
  struct tm tm;
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

// PostgreSQL, pgBackRest and the tools of the database service (see
// kPostgresDir); the ELF files it installs are added to `elf` for the
// library pass.
Status StageDatabase(const std::string& root, std::vector<std::string>& elf) {
  const std::string bin = std::string(kPostgresDir) + "/bin", lib = std::string(kPostgresDir) + "/lib";
  for (const auto& program : kPostgresPrograms) {
    std::string path = bin + "/" + program;
    if (!fs::exists(path)) {
      return Status::NotFound(path + " is missing: PostgreSQL 15 is not installed (postgresql-15 and "
                                     "postgresql-client-15; scripts/install-deps.sh installs them)");
    }
    ANNEX_RETURN_IF_ERROR(InstallBinary(path, root + path));
    elf.push_back(path);
  }
  // Server modules (PL/pgSQL, snowball dictionaries, encoding conversions,
  // contrib extensions), which postgres loads from $libdir as needed.
  ANNEX_RETURN_IF_ERROR(CopyTree(lib, root + lib, kPostgresLibSkipped));
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(lib, ec)) {
    if (e.path().extension() == ".so" && !kPostgresLibSkipped.count(e.path().filename().string())) {
      elf.push_back(e.path().string());
    }
  }
  if (ec) return Err(ec, "list " + lib);
  // initdb's catalog (postgres.bki), samples and SQL, extension scripts, tsearch data.
  ANNEX_RETURN_IF_ERROR(CopyTree(kPostgresShare, root + kPostgresShare, {"man"}));
  // Debian builds with --with-system-tzdata: time zones come from tzdata
  // (without the leap-second "right" zones and the "posix" alias tree).
  ANNEX_RETURN_IF_ERROR(
      CopyTree("/usr/share/zoneinfo", root + "/usr/share/zoneinfo", {"right", "posix", "localtime"}));
  // Clusters are made with --locale=C.UTF-8: glibc's own locale, compiled.
  ANNEX_RETURN_IF_ERROR(CopyTree("/usr/lib/locale/C.utf8", root + "/usr/lib/locale/C.utf8", {}));
  for (const auto& [tool, to] : kDatabaseTools) {
    std::string path = FindTool(tool);
    if (path.empty()) return Status::NotFound(tool + " is not installed (scripts/install-deps.sh installs it)");
    ANNEX_RETURN_IF_ERROR(InstallBinary(path, root + to));
    elf.push_back(path);
  }
  // mkfs.ext4 makes each instance's volume: mke2fs (kSbinTools) by that name.
  return Symlink("mke2fs", root + "/usr/sbin/mkfs.ext4");
}

struct Inputs {
  std::string kernel_root, kernel_version, busybox, systemd_boot;
};

Result<Inputs> FetchInputs(PackageCache& cache) {
  Inputs in;
  ANNEX_ASSIGN_OR_RETURN(in.kernel_root, cache.UnpackedKernel());
  in.kernel_version = KernelVersionOf(in.kernel_root);
  if (in.kernel_version.empty()) return Status::NotFound("the kernel package has no lib/modules");
  ANNEX_ASSIGN_OR_RETURN(std::string bb, cache.Unpacked("busybox-static"));
  in.busybox = bb + "/bin/busybox";
  ANNEX_ASSIGN_OR_RETURN(std::string sdboot, cache.Unpacked("systemd-boot-efi"));
  in.systemd_boot = sdboot + "/usr/lib/systemd/boot/efi/systemd-bootx64.efi";
  for (const auto& f : {in.busybox, in.systemd_boot, in.kernel_root + "/boot/vmlinuz-" + in.kernel_version}) {
    if (!fs::exists(f)) return Status::NotFound("expected " + f + " in the package cache");
  }
  return in;
}

Status StageRoot(const BuildOptions& o, const Inputs& in, const std::string& root, const std::string& signing_pub) {
  ANNEX_RETURN_IF_ERROR(InstallBusybox(in.busybox, root));
  for (const char* dir : {"proc", "sys", "dev", "run", "tmp", "data", "etc/annex/trusted-keys"}) {
    ANNEX_RETURN_IF_ERROR(MakeDirs(root + "/" + dir));
  }
  std::vector<std::string> elf;
  std::string annexd = o.annexd.empty() ? o.bin_dir + "/annexd" : o.annexd;
  for (const auto& [from, to] :
       std::vector<std::pair<std::string, std::string>>{{annexd, "/usr/bin/annexd"},
                                                        {o.bin_dir + "/annexctl", "/usr/bin/annexctl"},
                                                        // every workload's parent, beside annexd where it looks
                                                        {o.bin_dir + "/annex-shim", "/usr/bin/annex-shim"},
                                                        {o.bin_dir + "/annex-image", "/usr/bin/annex-image"}}) {
    if (!fs::exists(from)) return Status::NotFound(from + " does not exist (build it first)");
    ANNEX_RETURN_IF_ERROR(InstallBinary(from, root + to));
    elf.push_back(from);
  }
  std::string mtools = FindTool("mtools");
  if (mtools.empty()) return Status::NotFound("mtools is not installed");
  ANNEX_RETURN_IF_ERROR(InstallBinary(mtools, root + "/usr/bin/mtools"));
  elf.push_back(mtools);
  for (const auto& link : kMtoolsLinks) ANNEX_RETURN_IF_ERROR(Symlink("mtools", root + "/usr/bin/" + link));
  for (const auto& tool : kSbinTools) {
    std::string path = FindTool(tool);
    if (path.empty()) return Status::NotFound(tool + " is not installed (e2fsprogs)");
    ANNEX_RETURN_IF_ERROR(InstallBinary(path, root + "/usr/sbin/" + tool));
    elf.push_back(path);
  }
  for (const auto& [tool, to] : kContainerTools) {
    std::string path = FindTool(tool);
    if (path.empty()) return Status::NotFound(tool + " is not installed (scripts/install-deps.sh installs it)");
    ANNEX_RETURN_IF_ERROR(InstallBinary(path, root + to));
    elf.push_back(path);
  }
  ANNEX_RETURN_IF_ERROR(StageDatabase(root, elf));
  ANNEX_RETURN_IF_ERROR(InstallLibraries(elf, root));
  // mtools converts FAT names through iconv's code page 850 module.
  const std::string gconv = "/usr/lib/x86_64-linux-gnu/gconv";
  for (const char* f : {"IBM850.so", "gconv-modules", "gconv-modules.cache", "gconv-modules.d/gconv-modules-extra.conf"}) {
    if (fs::exists(gconv + "/" + f)) ANNEX_RETURN_IF_ERROR(CopyFile(gconv + "/" + f, root + gconv + "/" + f, 0644));
  }
  std::vector<std::string> modules = kNetworkModules;
  modules.insert(modules.end(), kContainerModules.begin(), kContainerModules.end());
  modules.insert(modules.end(), kDatabaseModules.begin(), kDatabaseModules.end());
  ANNEX_RETURN_IF_ERROR(InstallModules(in.kernel_root, in.kernel_version, modules, root, "modules"));

  ANNEX_RETURN_IF_ERROR(CopyFile(o.share_dir + "/rootfs/init", root + "/sbin/annex-init", 0755));
  ANNEX_RETURN_IF_ERROR(Symlink("annex-init", root + "/sbin/init.annex"));
  ANNEX_RETURN_IF_ERROR(CopyFile(o.share_dir + "/rootfs/udhcpc.script", root + "/etc/annex/udhcpc.script", 0755));
  ANNEX_RETURN_IF_ERROR(
      WriteWholeFile(root + "/etc/annex/version",
                     "version=" + o.version + "\nmin_installed_version=" + o.min_installed_version + "\n"));
  ANNEX_RETURN_IF_ERROR(
      WriteWholeFile(root + "/etc/passwd", std::string("root:x:0:0:root:/root:/bin/sh\n") + kPostgresUser));
  ANNEX_RETURN_IF_ERROR(WriteWholeFile(root + "/etc/group", std::string("root:x:0:\n") + kPostgresGroup));
  ANNEX_RETURN_IF_ERROR(WriteWholeFile(root + "/etc/hosts", "127.0.0.1 localhost\n::1 localhost\n"));
  // The hosts file first: pgBackRest reaches annexd's S3 as "localhost" (a
  // name its certificate carries), which glibc's default order (DNS first,
  // without nsswitch.conf) would ask the site's DNS server about.
  ANNEX_RETURN_IF_ERROR(WriteWholeFile(root + "/etc/nsswitch.conf",
                                       "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n"));
  // The root is read-only; DHCP writes the resolver config under /run.
  ANNEX_RETURN_IF_ERROR(Symlink("/run/resolv.conf", root + "/etc/resolv.conf"));
  std::vector<std::string> trusted = {signing_pub};
  for (const auto& path : o.extra_trusted_keys) {
    ANNEX_ASSIGN_OR_RETURN(std::string pem, ReadWholeFile(path));
    trusted.push_back(pem);
  }
  for (const auto& pem : trusted) {
    ANNEX_ASSIGN_OR_RETURN(std::string id, KeyId(pem));
    ANNEX_RETURN_IF_ERROR(WriteWholeFile(root + "/etc/annex/trusted-keys/" + id + ".pub", pem));
  }
  return StampTimes(root, o.epoch);
}

Status StageInitramfs(const BuildOptions& o, const Inputs& in, const std::string& root) {
  ANNEX_RETURN_IF_ERROR(InstallBusybox(in.busybox, root));
  for (const char* dir : {"proc", "sys", "dev", "newroot"}) ANNEX_RETURN_IF_ERROR(MakeDirs(root + "/" + dir));
  ANNEX_RETURN_IF_ERROR(InstallModules(in.kernel_root, in.kernel_version, kStorageModules, root, "modules"));
  ANNEX_RETURN_IF_ERROR(CopyFile(o.share_dir + "/initrd/init", root + "/init", 0755));
  return StampTimes(root, o.epoch);
}

Status MakeExt4(const std::string& image, uint64_t size, const std::string& source, const std::string& label,
                const std::string& uuid, int64_t epoch) {
  // No journal: the root slots are mounted read-only and written only whole.
  Command cmd{{"mke2fs",
               "-q",
               "-F",
               "-t",
               "ext4",
               "-O",
               "^has_journal",
               "-b",
               "4096",
               "-m",
               "0",
               "-L",
               label,
               "-U",
               uuid,
               "-E",
               "root_owner=0:0,hash_seed=" + uuid + ",lazy_itable_init=0",
               "-d",
               source,
               image,
               std::to_string(size / 1024) + "k"},
              {{"E2FSPROGS_FAKE_TIME", std::to_string(epoch)}},
              {},
              {}};
  ANNEX_RETURN_IF_ERROR(Run(cmd).status());
  // mke2fs -d copies each source file's ctime, which no one can set; stamp
  // them here so the filesystem does not carry the build's wall clock.
  std::string script = "sif / ctime @" + std::to_string(epoch) + "\n";
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(source, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    script += "sif \"/" + it->path().lexically_relative(source).string() + "\" ctime @" + std::to_string(epoch) + "\n";
  }
  if (ec) return Status::IOError("list " + source + ": " + ec.message());
  std::string script_path = image + ".debugfs";
  ANNEX_RETURN_IF_ERROR(WriteWholeFile(script_path, script));
  auto out = Run(Command{{"debugfs", "-w", "-f", script_path, image}, {{"E2FSPROGS_FAKE_TIME", std::to_string(epoch)}},
                         {}, {}});
  ::unlink(script_path.c_str());
  return out.status();
}

Status MakeEsp(const BuildOptions& o, const Inputs& in, const std::string& image, const std::string& kernel,
               const std::string& initrd, const std::string& work) {
  std::string volume_id = crypto::Sha256Hex("esp/" + o.version).substr(0, 8);
  ANNEX_RETURN_IF_ERROR(Run({"mkfs.vfat", "-C", "--invariant", "-F", "32", "-s", "1", "-n", "ANNEX-ESP", "-i",
                             volume_id, image, std::to_string(kEspSize / 1024)})
                            .status());
  Esp esp(image, 0, FrozenTime(o.epoch));
  for (const char* dir :
       {"EFI", "EFI/BOOT", "EFI/systemd", "loader", "loader/entries", "annex", "annex/a", "annex/b"}) {
    ANNEX_RETURN_IF_ERROR(esp.MakeDir(dir));
  }
  // Copied with the image's fixed time first: FAT entries keep the source's mtime.
  std::string loader = work + "/systemd-bootx64.efi";
  ANNEX_RETURN_IF_ERROR(CopyFile(in.systemd_boot, loader, 0644));
  ANNEX_RETURN_IF_ERROR(StampTimes(loader, o.epoch));
  ANNEX_RETURN_IF_ERROR(esp.CopyIn(loader, "EFI/BOOT/BOOTX64.EFI"));
  ANNEX_RETURN_IF_ERROR(esp.CopyIn(loader, "EFI/systemd/systemd-bootx64.efi"));
  ANNEX_RETURN_IF_ERROR(esp.CopyIn(kernel, "annex/a/vmlinuz"));
  ANNEX_RETURN_IF_ERROR(esp.CopyIn(initrd, "annex/a/initrd.img"));
  // No menu: the boot counters, not a person, choose the slot.
  ANNEX_RETURN_IF_ERROR(esp.Write("loader/loader.conf", "timeout 0\neditor no\nauto-entries no\nauto-firmware no\n"));
  ANNEX_RETURN_IF_ERROR(esp.Write("loader/entries/annex-1-a.conf", EntryText(o.version, 'a')));
  bool custom = !o.firstboot_config.empty();
  std::string config = work + "/firstboot.conf";
  ANNEX_RETURN_IF_ERROR(
      CopyFile(custom ? o.firstboot_config : o.share_dir + "/firstboot.conf.example", config, 0644));
  ANNEX_RETURN_IF_ERROR(StampTimes(config, o.epoch));
  ANNEX_RETURN_IF_ERROR(esp.CopyIn(config, custom ? "annex/firstboot.conf" : "annex/firstboot.conf.example"));
  return Status::OK();
}

}  // namespace

std::string EntryText(const std::string& version, char slot) {
  std::string s(1, slot);
  return "title Annex " + version + " (slot " + s + ")\nversion " + version + "\nlinux /annex/" + s +
         "/vmlinuz\ninitrd /annex/" + s + "/initrd.img\noptions annex.slot=" + s +
         " console=tty0 console=ttyS0,115200 panic=10 quiet\n";
}

Result<BuildResult> BuildImage(const BuildOptions& o, Progress& progress) {
  if (!IsValidVersion(o.version)) return Status::InvalidArgument("--version must look like 1.2.3, not " + o.version);
  if (!IsValidVersion(o.min_installed_version)) {
    return Status::InvalidArgument("--min-installed-version must look like 1.2.3");
  }
  if (o.size % kMiB != 0) return Status::InvalidArgument("--size must be a whole number of MiB");
  if (o.size < 2 * kMiB + kEspSize + 2 * kRootSize + kMinDataSize) {
    return Status::InvalidArgument("--size is too small: at least " +
                                   std::to_string((2 * kMiB + kEspSize + 2 * kRootSize + kMinDataSize) / kMiB) +
                                   " MiB");
  }
  ANNEX_ASSIGN_OR_RETURN(std::string private_pem, ReadWholeFile(o.key_path));
  ANNEX_ASSIGN_OR_RETURN(std::string public_pem, PublicKeyFromPrivate(private_pem));
  ANNEX_ASSIGN_OR_RETURN(std::string key_id, KeyId(public_pem));

  progress.SetSteps(7);
  progress.Step("fetching Debian packages (kernel, busybox, systemd-boot) into " + o.cache_dir);
  PackageCache cache(o.cache_dir);
  Inputs in;
  {
    // Builds running side by side share the cache: one fetches, the others wait.
    ANNEX_RETURN_IF_ERROR(MakeDirs(o.cache_dir));
    ANNEX_ASSIGN_OR_RETURN(Fd lock, OpenFile(o.cache_dir + "/.lock", O_RDWR | O_CREAT, 0644));
    if (::flock(lock.get(), LOCK_EX) != 0) return Status::FromErrno(errno, "lock " + o.cache_dir);
    ANNEX_ASSIGN_OR_RETURN(in, FetchInputs(cache));
  }

  std::string work = o.out + ".work";
  std::error_code ec;
  fs::remove_all(work, ec);
  ANNEX_RETURN_IF_ERROR(MakeDirs(work));
  // ANNEX_IMAGE_KEEP_WORK=1 keeps the staging trees for inspection.
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code e;
      if (!std::getenv("ANNEX_IMAGE_KEEP_WORK")) fs::remove_all(dir, e);
    }
  } cleanup{work};

  progress.Step("root filesystem: annexd, annex-shim, annexctl, annex-image, busybox, crun, runc, ip, nft, "
                "PostgreSQL 15, pgBackRest, kernel " +
                in.kernel_version + " modules");
  ANNEX_RETURN_IF_ERROR(StageRoot(o, in, work + "/root", public_pem));
  ANNEX_RETURN_IF_ERROR(
      MakeExt4(work + "/root.img", kRootSize, work + "/root", "annex-root", DerivedUuid("root/" + o.version), o.epoch));

  progress.Step("initramfs");
  ANNEX_RETURN_IF_ERROR(StageInitramfs(o, in, work + "/initrd"));
  ANNEX_ASSIGN_OR_RETURN(std::string initramfs, BuildInitramfs(work + "/initrd", o.epoch));
  ANNEX_RETURN_IF_ERROR(WriteWholeFile(work + "/initrd.img", initramfs));
  std::string kernel = in.kernel_root + "/boot/vmlinuz-" + in.kernel_version;
  ANNEX_RETURN_IF_ERROR(CopyFile(kernel, work + "/vmlinuz", 0644));
  struct timespec times[2] = {{o.epoch, 0}, {o.epoch, 0}};
  for (const char* f : {"/vmlinuz", "/initrd.img"}) ::utimensat(AT_FDCWD, (work + f).c_str(), times, 0);

  progress.Step("EFI system partition: systemd-boot, entry annex-1-a, kernel, initramfs");
  ANNEX_RETURN_IF_ERROR(MakeEsp(o, in, work + "/esp.img", work + "/vmlinuz", work + "/initrd.img", work));

  progress.Step("disk image " + o.out + " (" + std::to_string(o.size / kMiB) + " MiB, GPT)");
  ANNEX_ASSIGN_OR_RETURN(GptLayout layout, PlanLayout(o.size,
                                                      {{"annex-esp", kEspTypeGuid, kEspSize},
                                                       {"annex-root-a", kLinuxRootX86_64TypeGuid, kRootSize},
                                                       {"annex-root-b", kLinuxRootX86_64TypeGuid, kRootSize},
                                                       {"annex-data", kLinuxDataTypeGuid, 0}},
                                                      "annex/" + o.version));
  std::string tmp_out = o.out + ".tmp";
  {
    ANNEX_ASSIGN_OR_RETURN(Fd disk, OpenFile(tmp_out, O_RDWR | O_CREAT | O_TRUNC, 0644));
    if (::ftruncate(disk.get(), static_cast<off_t>(o.size)) != 0) return Status::FromErrno(errno, "truncate");
    ANNEX_RETURN_IF_ERROR(WriteGpt(disk.get(), layout));
    for (const auto& [name, file] : std::vector<std::pair<const char*, std::string>>{
             {"annex-esp", work + "/esp.img"}, {"annex-root-a", work + "/root.img"}}) {
      const Partition* part = FindPartition(layout, name);
      ANNEX_ASSIGN_OR_RETURN(Fd src, OpenFile(file, O_RDONLY));
      struct stat st;
      ::fstat(src.get(), &st);
      if (static_cast<uint64_t>(st.st_size) > part->size()) return Status::Internal(std::string(name) + " too big");
      progress.Begin(name, static_cast<uint64_t>(st.st_size));
      ANNEX_RETURN_IF_ERROR(CopyRange(src.get(), 0, disk.get(), part->offset(), static_cast<uint64_t>(st.st_size),
                                      ZeroChunks::kSkip, nullptr, &progress));
      progress.End();
    }
    if (::fsync(disk.get()) != 0) return Status::FromErrno(errno, "fsync " + tmp_out);
  }

  progress.Step("hashing artifacts");
  Manifest m;
  m.version = o.version;
  m.min_installed_version = o.min_installed_version;
  m.key_id = key_id;
  {
    ANNEX_ASSIGN_OR_RETURN(Fd disk, OpenFile(tmp_out, O_RDONLY));
    progress.Begin("disk", o.size);
    ANNEX_ASSIGN_OR_RETURN(std::string disk_sha, Sha256Range(disk.get(), 0, o.size, &progress));
    progress.End();
    Artifact disk_artifact{"disk", "disk", 0, o.size, disk_sha, {}};
    ANNEX_ASSIGN_OR_RETURN(auto regions, DataRegions(disk.get(), o.size));
    for (const Region& r : regions) {
      ANNEX_ASSIGN_OR_RETURN(std::string sha, Sha256Range(disk.get(), r.offset, r.size));
      disk_artifact.extents.push_back({r.offset, r.size, sha});
    }
    m.artifacts.push_back(std::move(disk_artifact));
    for (const auto& [name, artifact, slot] : std::vector<std::tuple<const char*, const char*, const char*>>{
             {"annex-esp", "esp", "esp"}, {"annex-root-a", "root", "root"}}) {
      const Partition* part = FindPartition(layout, name);
      ANNEX_ASSIGN_OR_RETURN(std::string sha, Sha256Range(disk.get(), part->offset(), part->size()));
      m.artifacts.push_back({artifact, slot, part->offset(), part->size(), sha, {}});
    }
  }
  for (const char* f : {"vmlinuz", "initrd.img"}) {
    ANNEX_ASSIGN_OR_RETURN(std::string data, ReadWholeFile(work + "/" + f));
    m.artifacts.push_back({f, "boot", 0, data.size(), crypto::Sha256Hex(data), {}});
  }

  progress.Step("signing the manifest with key " + key_id);
  std::string manifest = EncodeManifest(m);
  ANNEX_ASSIGN_OR_RETURN(std::string signature, Sign(private_pem, manifest));
  BuildResult result;
  result.manifest = m;
  result.manifest_path = o.out + ".manifest";
  result.signature_path = o.out + ".manifest.sig";
  ANNEX_RETURN_IF_ERROR(WriteWholeFile(result.manifest_path, manifest));
  ANNEX_RETURN_IF_ERROR(WriteWholeFile(result.signature_path, Base64Encode(signature) + "\n"));
  if (::rename(tmp_out.c_str(), o.out.c_str()) != 0) return Status::FromErrno(errno, "rename " + o.out);
  result.packages_downloaded = cache.downloads();
  return result;
}

}  // namespace annex::image
