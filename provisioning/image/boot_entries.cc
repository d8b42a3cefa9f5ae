#include "provisioning/image/boot_entries.h"

#include <algorithm>

#include "appliance/core/strings.h"

namespace annex::image {
namespace {

constexpr std::string_view kPrefix = "annex-";
constexpr std::string_view kSuffix = ".conf";
constexpr size_t kMaxCounterDigits = 9;  // fits an int

// A decimal as FileName() writes it: digits only, no leading zero except "0" itself.
std::optional<uint64_t> ParseCanonical(std::string_view s, size_t max_digits) {
  if (s.empty() || s.size() > max_digits || (s.size() > 1 && s[0] == '0')) return std::nullopt;
  return ParseUint(s);
}

// "+L" or "+L-D" without the '+'; D must be > 0 (FileName() omits "-0").
bool ParseCounter(std::string_view s, BootEntry& e) {
  size_t dash = s.find('-');
  auto left = ParseCanonical(s.substr(0, dash), kMaxCounterDigits);
  if (!left) return false;
  e.tries_left = static_cast<int>(*left);
  if (dash == std::string_view::npos) return true;
  auto done = ParseCanonical(s.substr(dash + 1), kMaxCounterDigits);
  if (!done || *done == 0) return false;
  e.tries_done = static_cast<int>(*done);
  return true;
}

// Whether systemd-boot puts `a` before `b`: bad entries last, then the file id
// ("annex-<gen>-<slot>") in descending version order, then more tries left and
// fewer tries done first (its boot_entry_compare()).
bool BootsBefore(const BootEntry& a, const BootEntry& b) {
  if (a.bad() != b.bad()) return !a.bad();
  if (a.generation != b.generation) return a.generation > b.generation;
  if (a.slot != b.slot) return a.slot == Slot::kB;
  if (!a.tries_left || !b.tries_left) return false;
  if (*a.tries_left != *b.tries_left) return *a.tries_left > *b.tries_left;
  return a.tries_done < b.tries_done;
}

}  // namespace

char SlotLetter(Slot s) { return s == Slot::kA ? 'a' : 'b'; }

std::optional<Slot> ParseSlot(std::string_view s) {
  if (s == "a" || s == "A") return Slot::kA;
  if (s == "b" || s == "B") return Slot::kB;
  return std::nullopt;
}

Slot OtherSlot(Slot s) { return s == Slot::kA ? Slot::kB : Slot::kA; }

std::string BootEntry::FileName() const {
  std::string name = std::string(kPrefix) + std::to_string(generation) + "-" + SlotLetter(slot);
  if (tries_left) {
    name += "+" + std::to_string(*tries_left);
    if (tries_done > 0) name += "-" + std::to_string(tries_done);
  }
  return name + std::string(kSuffix);
}

std::optional<BootEntry> ParseEntryName(std::string_view file_name) {
  if (file_name.size() < kPrefix.size() + kSuffix.size() || !StartsWith(file_name, kPrefix) ||
      file_name.substr(file_name.size() - kSuffix.size()) != kSuffix) {
    return std::nullopt;
  }
  std::string_view body = file_name.substr(kPrefix.size(), file_name.size() - kPrefix.size() - kSuffix.size());
  BootEntry e;
  size_t plus = body.find('+');
  if (plus != std::string_view::npos && !ParseCounter(body.substr(plus + 1), e)) return std::nullopt;
  body = body.substr(0, plus);  // "<gen>-<slot>"
  size_t dash = body.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  auto generation = ParseCanonical(body.substr(0, dash), 20);
  std::string_view slot = body.substr(dash + 1);
  if (!generation || (slot != "a" && slot != "b")) return std::nullopt;
  e.generation = *generation;
  e.slot = *ParseSlot(slot);
  return e;
}

std::vector<BootEntry> ParseEntryNames(const std::vector<std::string>& file_names) {
  std::vector<BootEntry> entries;
  for (const std::string& name : file_names) {
    if (auto e = ParseEntryName(name)) entries.push_back(*e);
  }
  return entries;
}

std::optional<BootEntry> SelectBootEntry(const std::vector<BootEntry>& entries) {
  auto best = std::min_element(entries.begin(), entries.end(), BootsBefore);
  if (best == entries.end()) return std::nullopt;
  return *best;
}

BootEntry CountBootAttempt(const BootEntry& e) {
  BootEntry next = e;
  if (e.tries_left && *e.tries_left > 0) {
    next.tries_left = *e.tries_left - 1;
    next.tries_done = e.tries_done + 1;
  }
  return next;
}

BootEntry Blessed(const BootEntry& e) {
  BootEntry blessed = e;
  blessed.tries_left.reset();
  blessed.tries_done = 0;
  return blessed;
}

InstallPlan PlanInstall(const std::vector<BootEntry>& existing, Slot booted, int tries) {
  InstallPlan plan{OtherSlot(booted), {}, {}};
  uint64_t newest = 0;
  for (const BootEntry& e : existing) {
    newest = std::max(newest, e.generation);
    if (e.slot == plan.slot) plan.remove.push_back(e.FileName());
  }
  plan.create.generation = newest + 1;
  plan.create.slot = plan.slot;
  plan.create.tries_left = std::max(tries, 1);  // 0 would create an entry that is bad from the start
  return plan;
}

}  // namespace annex::image
