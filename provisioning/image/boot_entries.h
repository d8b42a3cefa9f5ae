#pragma once
// A/B boot slots with automatic boot counting, as systemd-boot (252) implements
// the Boot Loader Specification. Each slot is one Type #1 entry file in
// /loader/entries/ on the ESP, named `annex-<generation>-<a|b>[+LEFT[-DONE]].conf`.
//
// Before booting an entry with a counter, systemd-boot renames it to
// +(LEFT-1)-(DONE+1). It sorts entries with LEFT == 0 ("bad") after all others,
// the rest by file id in descending version order (generation 10 before 9), and
// boots the first; this assumes loader.conf sets no `default` and no
// LoaderEntryDefault/OneShot EFI variable overrides the choice. The running
// system "blesses" a healthy boot by renaming its entry to drop the counter, so
// an update that never comes up healthy falls back to the other slot.
//
// Everything here is pure: callers list and rename the files themselves.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace annex::image {

enum class Slot { kA, kB };

char SlotLetter(Slot s);                            // 'a' / 'b'
std::optional<Slot> ParseSlot(std::string_view s);  // "a"/"b" (also "A"/"B")
Slot OtherSlot(Slot s);

struct BootEntry {
  uint64_t generation = 0;
  Slot slot = Slot::kA;
  std::optional<int> tries_left;  // nullopt: no counter (a blessed or initial entry)
  int tries_done = 0;

  bool bad() const { return tries_left == 0; }
  // annex-<gen>-<slot>[+L[-D]].conf ("-D" only when D > 0).
  std::string FileName() const;
};

// Only canonical names FileName() produces (lower-case slot, no leading zeros,
// no "-0") parse, so renaming a parsed entry always finds its file; nullopt for
// anything else (loader.conf, foreign entries, garbage).
std::optional<BootEntry> ParseEntryName(std::string_view file_name);
// Skips non-annex names.
std::vector<BootEntry> ParseEntryNames(const std::vector<std::string>& file_names);

// What systemd-boot boots (nullopt if there are no entries). When every entry is
// bad it still boots the first one.
std::optional<BootEntry> SelectBootEntry(const std::vector<BootEntry>& entries);
// What the loader renames the entry to when booting it: LEFT-1, DONE+1. No-op
// without a counter or with LEFT == 0.
BootEntry CountBootAttempt(const BootEntry& e);
// The counter dropped: the entry is final.
BootEntry Blessed(const BootEntry& e);

// Installing into the slot that is NOT booted: every existing entry of that slot
// is removed first (so a half-written slot is never selectable), then one entry
// with a generation higher than every existing one and `tries` tries (at least
// 1) is created last.
struct InstallPlan {
  Slot slot;
  std::vector<std::string> remove;  // file names
  BootEntry create;
};
InstallPlan PlanInstall(const std::vector<BootEntry>& existing, Slot booted, int tries = 3);

}  // namespace annex::image
