#include "provisioning/image/kernel_modules.h"

#include <elf.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>

#include "appliance/core/strings.h"

namespace annex::image {
namespace {

std::string Normalize(std::string name) {
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
}

Result<std::string> ReadWhole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("cannot read " + path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

Result<std::vector<std::string>> ModuleDependencies(const std::string& ko_path) {
  ANNEX_ASSIGN_OR_RETURN(std::string elf, ReadWhole(ko_path));
  auto bad = [&](const char* why) { return Status::Corruption(ko_path + ": " + why); };
  if (elf.size() < sizeof(Elf64_Ehdr) || std::memcmp(elf.data(), ELFMAG, SELFMAG) != 0 || elf[EI_CLASS] != ELFCLASS64) {
    return bad("not a 64-bit ELF module");
  }
  Elf64_Ehdr eh;
  std::memcpy(&eh, elf.data(), sizeof(eh));
  auto section = [&](size_t i, Elf64_Shdr& sh) {
    size_t off = eh.e_shoff + i * sizeof(Elf64_Shdr);
    if (off + sizeof(sh) > elf.size()) return false;
    std::memcpy(&sh, elf.data() + off, sizeof(sh));
    return sh.sh_offset + sh.sh_size <= elf.size();
  };
  Elf64_Shdr names;
  if (eh.e_shstrndx >= eh.e_shnum || !section(eh.e_shstrndx, names)) return bad("no section name table");
  for (size_t i = 0; i < eh.e_shnum; ++i) {
    Elf64_Shdr sh;
    if (!section(i, sh) || sh.sh_name >= names.sh_size) continue;
    const char* name = elf.data() + names.sh_offset + sh.sh_name;
    if (std::strncmp(name, ".modinfo", names.sh_size - sh.sh_name) != 0) continue;
    std::string_view info(elf.data() + sh.sh_offset, sh.sh_size);
    for (std::string_view entry : Split(info, '\0')) {
      if (!entry.starts_with("depends=")) continue;
      std::vector<std::string> deps;
      for (std::string_view d : Split(entry.substr(8), ',')) {
        if (!d.empty()) deps.push_back(Normalize(std::string(d)));
      }
      return deps;
    }
    return std::vector<std::string>{};
  }
  return bad("no .modinfo section");
}

Result<std::vector<std::string>> ResolveModules(const std::string& modules_dir, const std::vector<std::string>& names) {
  namespace fs = std::filesystem;
  std::map<std::string, std::string> files;  // module name → path relative to modules_dir
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(modules_dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (it->path().extension() != ".ko") continue;
    files.emplace(Normalize(it->path().stem().string()), it->path().lexically_relative(modules_dir).string());
  }
  if (ec) return Status::NotFound("cannot list " + modules_dir + ": " + ec.message());

  std::vector<std::string> order;
  std::set<std::string> done, visiting;
  std::function<Status(const std::string&)> visit = [&](const std::string& name) -> Status {
    if (done.count(name)) return Status::OK();
    if (visiting.count(name)) return Status::Corruption("module dependency cycle at " + name);
    auto f = files.find(name);
    if (f == files.end()) return Status::NotFound("kernel module " + name + " is not in " + modules_dir);
    visiting.insert(name);
    ANNEX_ASSIGN_OR_RETURN(auto deps, ModuleDependencies(modules_dir + "/" + f->second));
    for (const auto& d : deps) ANNEX_RETURN_IF_ERROR(visit(d));
    visiting.erase(name);
    done.insert(name);
    order.push_back(f->second);
    return Status::OK();
  };
  for (const auto& n : names) ANNEX_RETURN_IF_ERROR(visit(Normalize(n)));
  return order;
}

}  // namespace annex::image
