// annex-image: builds, signs, verifies, flashes and A/B-updates Annex disk
// images. See docs/operations.md.

#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "appliance/core/strings.h"
#include "provisioning/image/builder.h"
#include "provisioning/image/flash.h"
#include "provisioning/image/image_io.h"
#include "provisioning/image/signing.h"
#include "provisioning/image/update.h"
#include "provisioning/image/verify.h"

namespace fs = std::filesystem;
using namespace annex;
using namespace annex::image;

namespace {

int Fail(const Status& s) {
  std::fprintf(stderr, "annex-image: error: %s\n", s.message().c_str());
  return 1;
}

std::string ExeDir() {
  std::error_code ec;
  auto exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? "." : exe.parent_path().string();
}

std::string DefaultCacheDir() {
  if (const char* c = std::getenv("ANNEX_IMAGE_CACHE")) return c;
  if (const char* x = std::getenv("XDG_CACHE_HOME")) return std::string(x) + "/annex-image";
  if (const char* h = std::getenv("HOME")) return std::string(h) + "/.cache/annex-image";
  return "/var/cache/annex-image";
}

// "512M", "2G", "1073741824" → bytes.
std::optional<uint64_t> ParseSize(std::string_view s) {
  uint64_t mult = 1;
  if (!s.empty()) {
    switch (s.back()) {
      case 'K': case 'k': mult = 1ull << 10; break;
      case 'M': case 'm': mult = 1ull << 20; break;
      case 'G': case 'g': mult = 1ull << 30; break;
      case 'T': case 't': mult = 1ull << 40; break;
      default: break;
    }
    if (mult != 1) s.remove_suffix(1);
  }
  auto n = ParseUint(s);
  if (!n) return std::nullopt;
  return *n * mult;
}

int Keygen(const std::string& out) {
  std::error_code ec;
  fs::create_directories(out, ec);
  if (ec) return Fail(Status::IOError("cannot create " + out + ": " + ec.message()));
  std::string priv = out + "/signing.key", pub = out + "/signing.pub";
  if (fs::exists(priv)) return Fail(Status::AlreadyExists(priv + " exists; refusing to replace a signing key"));
  auto keys = GenerateSigningKey();
  if (!keys.ok()) return Fail(keys.status());
  Status s = WriteWholeFile(priv, keys->private_pem, 0600);
  if (s.ok()) s = WriteWholeFile(pub, keys->public_pem, 0644);
  if (!s.ok()) return Fail(s);
  auto id = KeyId(keys->public_pem);
  std::printf("key id %s\nprivate key %s (0600)\npublic key %s\n", id->c_str(), priv.c_str(), pub.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"annex-image: build, sign, verify, flash and A/B-update Annex disk images"};
  app.require_subcommand(1);
  app.fallthrough();  // -q works after the subcommand too

  std::string keygen_out;
  auto* keygen = app.add_subcommand("keygen", "Create an Ed25519 signing key pair (signing.key, signing.pub)");
  keygen->add_option("--out", keygen_out, "Directory for the keys")->required();

  BuildOptions b;
  b.bin_dir = ExeDir();
  b.share_dir = b.bin_dir + "/../share/annex-image";
  b.cache_dir = DefaultCacheDir();
  if (const char* e = std::getenv("SOURCE_DATE_EPOCH")) b.epoch = std::strtoll(e, nullptr, 10);
  std::string size_text = "1G";
  auto* build = app.add_subcommand("build", "Build a signed, bootable GPT disk image");
  build->add_option("--out", b.out, "Image file to write (the manifest lands beside it)")->required();
  build->add_option("--key", b.key_path, "Ed25519 signing key (from keygen)")->required();
  build->add_option("--version", b.version, "Image version (1.2.3)")->capture_default_str();
  build->add_option("--min-installed-version", b.min_installed_version,
                    "Refuse later updates to versions below this once installed")
      ->capture_default_str();
  build->add_option("--size", size_text, "Disk image size (e.g. 1G, 768M)")->capture_default_str();
  build->add_option("--bin-dir", b.bin_dir, "Where annexd, annexctl and annex-image are")->capture_default_str();
  build->add_option("--annexd", b.annexd, "Use this annexd binary instead of BIN_DIR/annexd");
  build->add_option("--share-dir", b.share_dir, "Init scripts (provisioning/ of the source tree)")
      ->capture_default_str();
  build->add_option("--cache", b.cache_dir, "Debian package cache")->capture_default_str();
  build->add_option("--config", b.firstboot_config, "First-boot config to put on the ESP (annex/firstboot.conf)");
  build->add_option("--trust", b.extra_trusted_keys, "More public keys the image accepts updates from");
  bool quiet = false;
  app.add_flag("-q,--quiet", quiet, "No progress output");

  std::string image, target;
  std::vector<std::string> pubkeys;
  auto* verify = app.add_subcommand("verify", "Check an image's manifest signature, size and hashes");
  verify->add_option("image", image, "Disk image")->required();
  verify->add_option("--pubkey", pubkeys, "Trusted public key(s) or directories of *.pub")->required();

  auto* flash = app.add_subcommand("flash", "Verify an image, write it to a device or file, read it back");
  flash->add_option("image", image, "Disk image")->required();
  flash->add_option("target", target, "Block device or file")->required();
  flash->add_option("--pubkey", pubkeys, "Trusted public key(s)")->required();

  UpdateOptions u;
  auto* update = app.add_subcommand("update", "Install a bundle into the inactive slot with a 3-try boot counter");
  update->add_option("bundle", u.bundle, "Signed image to install")->required();
  update->add_option("--target", u.target, "Disk image, block device, or 'running'")->required();
  update->add_option("--manifest", u.manifest, "The bundle's manifest (default: BUNDLE.manifest; signature beside it)");
  update->add_option("--pubkey", u.pubkeys, "Trusted keys (default: those the running slot trusts)");
  update->add_option("--tries", u.tries, "Boot attempts before falling back")->capture_default_str()->check(
      CLI::Range(1, 9));

  std::string esp;
  char slot = 'a';
  auto* bless = app.add_subcommand("bless", "Mark the booted slot good (run by the appliance once healthy)");
  bless->add_option("--esp", esp, "EFI system partition device")->required();
  bless->add_option("--slot", slot, "Booted slot (a or b)")->required();

  std::string disk;
  auto* grow = app.add_subcommand("grow-data", "Extend the data partition to the end of the disk");
  grow->add_option("--disk", disk, "Disk device or image")->required();

  auto* status = app.add_subcommand("status", "Show the boot entries and slots of a disk or the running system");
  status->add_option("--target", target, "Disk image, block device, or 'running'")->required();

  CLI11_PARSE(app, argc, argv);
  Progress progress(quiet);

  if (*keygen) return Keygen(keygen_out);
  if (*build) {
    auto size = ParseSize(size_text);
    if (!size) return Fail(Status::InvalidArgument("--size: not a size: " + size_text));
    b.size = *size;
    auto r = BuildImage(b, progress);
    if (!r.ok()) return Fail(r.status());
    std::printf("built %s: Annex %s, %llu MiB, signed by %s\nmanifest %s\nsignature %s\n", b.out.c_str(),
                r->manifest.version.c_str(), static_cast<unsigned long long>(b.size >> 20),
                r->manifest.key_id.c_str(), r->manifest_path.c_str(), r->signature_path.c_str());
    return 0;
  }
  if (*verify) {
    auto keys = LoadTrustedKeys(pubkeys);
    if (!keys.ok()) return Fail(keys.status());
    auto m = VerifyManifest(image, *keys);
    if (!m.ok()) return Fail(m.status());
    Status s = VerifyImageContents(image, *m, progress);
    if (!s.ok()) return Fail(s);
    std::printf("%s: OK (Annex %s, signed by %s, %zu artifacts)\n", image.c_str(), m->version.c_str(),
                m->key_id.c_str(), m->artifacts.size());
    return 0;
  }
  if (*flash) {
    auto keys = LoadTrustedKeys(pubkeys);
    if (!keys.ok()) return Fail(keys.status());
    FlashStats stats;
    Status s = Flash(image, target, *keys, progress, &stats);
    if (!s.ok()) return Fail(s);
    double total = stats.verify_seconds + stats.write_seconds + stats.readback_seconds;
    std::printf("flashed %s to %s: %.1f MiB in %.2f s (verify %.2f s, write+fsync %.2f s, read back %.2f s)\n",
                image.c_str(), target.c_str(), stats.bytes / 1048576.0, total, stats.verify_seconds,
                stats.write_seconds, stats.readback_seconds);
    return 0;
  }
  if (*update) {
    auto r = Update(u, progress);
    if (!r.ok()) return Fail(r.status());
    std::printf("installed Annex %s into slot %c as %s; it boots next (%d tries, then back to the current slot)\n",
                r->version.c_str(), r->slot, r->entry.c_str(), u.tries);
    return 0;
  }
  if (*bless) {
    auto r = Bless(esp, slot);
    if (!r.ok()) return Fail(r.status());
    std::printf("%s\n", r->c_str());
    return 0;
  }
  if (*grow) {
    auto r = GrowData(disk);
    if (!r.ok()) return Fail(r.status());
    std::printf("%s\n", r->c_str());
    return 0;
  }
  if (*status) {
    auto r = DescribeSlots(target);
    if (!r.ok()) return Fail(r.status());
    std::printf("%s", r->c_str());
    return 0;
  }
  return 0;
}
