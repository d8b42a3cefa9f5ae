#include "provisioning/image/boot_entries.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace annex::image {
namespace {

BootEntry Parsed(std::string_view name) {
  auto e = ParseEntryName(name);
  EXPECT_TRUE(e.has_value()) << name;
  return e.value_or(BootEntry{});
}

// The ESP's /loader/entries/ directory as a list of file names, with the renames the loader and the installer do.
class Esp {
 public:
  explicit Esp(std::vector<std::string> names) : names_(std::move(names)) {}

  std::vector<BootEntry> Entries() const { return ParseEntryNames(names_); }
  // systemd-boot: pick an entry, count the attempt by renaming it, boot it.
  BootEntry Boot() {
    BootEntry picked = SelectBootEntry(Entries()).value();
    BootEntry counted = CountBootAttempt(picked);
    Rename(picked.FileName(), counted.FileName());
    return counted;
  }
  void Bless(const BootEntry& e) { Rename(e.FileName(), Blessed(e).FileName()); }
  InstallPlan Install(Slot booted) {
    InstallPlan plan = PlanInstall(Entries(), booted);
    for (const std::string& name : plan.remove) {
      auto it = std::find(names_.begin(), names_.end(), name);
      EXPECT_NE(it, names_.end()) << name;
      if (it != names_.end()) names_.erase(it);
    }
    names_.push_back(plan.create.FileName());
    return plan;
  }
  bool Has(const std::string& name) const { return std::find(names_.begin(), names_.end(), name) != names_.end(); }

 private:
  void Rename(const std::string& from, const std::string& to) {
    auto it = std::find(names_.begin(), names_.end(), from);
    ASSERT_NE(it, names_.end()) << from;
    *it = to;
  }
  std::vector<std::string> names_;
};

TEST(Slot, LettersAndParsing) {
  EXPECT_EQ(SlotLetter(Slot::kA), 'a');
  EXPECT_EQ(SlotLetter(Slot::kB), 'b');
  EXPECT_EQ(ParseSlot("a"), Slot::kA);
  EXPECT_EQ(ParseSlot("B"), Slot::kB);
  EXPECT_EQ(ParseSlot("c"), std::nullopt);
  EXPECT_EQ(ParseSlot("ab"), std::nullopt);
  EXPECT_EQ(ParseSlot(""), std::nullopt);
  EXPECT_EQ(OtherSlot(Slot::kA), Slot::kB);
  EXPECT_EQ(OtherSlot(Slot::kB), Slot::kA);
}

TEST(BootEntryName, RoundTrips) {
  for (const char* name : {"annex-1-a.conf", "annex-12-b.conf", "annex-2-b+3.conf", "annex-2-b+2-1.conf",
                           "annex-2-b+0-3.conf", "annex-0-a+1.conf", "annex-18446744073709551615-a.conf"}) {
    EXPECT_EQ(Parsed(name).FileName(), name);
  }
  BootEntry e = Parsed("annex-7-b+2-1.conf");
  EXPECT_EQ(e.generation, 7u);
  EXPECT_EQ(e.slot, Slot::kB);
  EXPECT_EQ(e.tries_left, 2);
  EXPECT_EQ(e.tries_done, 1);
  EXPECT_FALSE(e.bad());
  EXPECT_TRUE(Parsed("annex-2-b+0-3.conf").bad());
  EXPECT_FALSE(Parsed("annex-1-a.conf").tries_left.has_value());
  EXPECT_FALSE(Parsed("annex-1-a.conf").bad());
  EXPECT_EQ((BootEntry{5, Slot::kA, 3, 0}).FileName(), "annex-5-a+3.conf");
}

TEST(BootEntryName, RejectsEverythingElse) {
  for (const char* name : {"annex-x-a.conf",
                           "annex-1-c.conf",
                           "annex-1-a+.conf",
                           "loader.conf",
                           "",
                           "annex-.conf",
                           "annex-1-a",
                           "annex-1-a.conf.bak",
                           "annex-1-A.conf",
                           "annex-01-a.conf",
                           "annex-1-a+03.conf",
                           "annex-1-a+3-0.conf",
                           "annex-1-a+3-.conf",
                           "annex-1-a+-1.conf",
                           "annex-1-a+a.conf",
                           "annex-1.conf",
                           "annex--1-a.conf",
                           "annex-1-a-b.conf",
                           "other-1-a.conf",
                           "annex-1-a+1+2.conf",
                           "annex-1-a+1-2-3.conf",
                           "annex-99999999999999999999-a.conf",
                           "annex-1-a+9999999999.conf"}) {
    EXPECT_EQ(ParseEntryName(name), std::nullopt) << name;
  }
  auto entries = ParseEntryNames({"loader.conf", "annex-1-a.conf", "fedora-6.1.conf", "annex-2-b+3.conf"});
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].FileName(), "annex-1-a.conf");
  EXPECT_EQ(entries[1].FileName(), "annex-2-b+3.conf");
}

TEST(BootEntrySelection, OrderFollowsSystemdBoot) {
  EXPECT_EQ(SelectBootEntry({}), std::nullopt);
  // Descending version order: 10 before 9 (not a string compare).
  auto picked = SelectBootEntry(ParseEntryNames({"annex-9-a.conf", "annex-10-b.conf"}));
  EXPECT_EQ(picked->FileName(), "annex-10-b.conf");
  picked = SelectBootEntry(ParseEntryNames({"annex-10-b.conf", "annex-9-a.conf"}));
  EXPECT_EQ(picked->FileName(), "annex-10-b.conf");
  // Bad entries sort after everything else, however new.
  picked = SelectBootEntry(ParseEntryNames({"annex-10-b+0-3.conf", "annex-9-a.conf"}));
  EXPECT_EQ(picked->FileName(), "annex-9-a.conf");
  // With only bad entries the first of them is still booted.
  picked = SelectBootEntry(ParseEntryNames({"annex-9-a+0-2.conf", "annex-10-b+0-3.conf"}));
  EXPECT_EQ(picked->FileName(), "annex-10-b+0-3.conf");
}

TEST(BootEntryCounting, AttemptsAndBlessing) {
  BootEntry e = Parsed("annex-2-b+3.conf");
  EXPECT_EQ(CountBootAttempt(e).FileName(), "annex-2-b+2-1.conf");
  EXPECT_EQ(CountBootAttempt(Parsed("annex-2-b+0-3.conf")).FileName(), "annex-2-b+0-3.conf");
  EXPECT_EQ(CountBootAttempt(Parsed("annex-1-a.conf")).FileName(), "annex-1-a.conf");
  EXPECT_EQ(Blessed(Parsed("annex-2-b+1-2.conf")).FileName(), "annex-2-b.conf");
  EXPECT_EQ(Blessed(Parsed("annex-1-a.conf")).FileName(), "annex-1-a.conf");
}

TEST(BootEntryInstall, PlanTargetsTheOtherSlot) {
  auto plan = PlanInstall(ParseEntryNames({"annex-1-a.conf", "annex-0-b+0-3.conf"}), Slot::kA);
  EXPECT_EQ(plan.slot, Slot::kB);
  EXPECT_EQ(plan.remove, std::vector<std::string>{"annex-0-b+0-3.conf"});
  EXPECT_EQ(plan.create.FileName(), "annex-2-b+3.conf");
  EXPECT_EQ(PlanInstall({}, Slot::kB, 5).create.FileName(), "annex-1-a+5.conf");
  EXPECT_EQ(PlanInstall({}, Slot::kB, 0).create.FileName(), "annex-1-a+1.conf") << "never created bad";
}

TEST(BootEntrySimulation, UnhealthyUpdateFallsBackAfterThreeTries) {
  Esp esp({"loader.conf", "annex-1-a.conf"});
  InstallPlan plan = esp.Install(Slot::kA);
  EXPECT_TRUE(plan.remove.empty());
  EXPECT_EQ(plan.create.FileName(), "annex-2-b+3.conf");
  EXPECT_EQ(SelectBootEntry(esp.Entries())->FileName(), "annex-2-b+3.conf");

  EXPECT_EQ(esp.Boot().FileName(), "annex-2-b+2-1.conf");
  EXPECT_EQ(esp.Boot().FileName(), "annex-2-b+1-2.conf");
  BootEntry third = esp.Boot();
  EXPECT_EQ(third.FileName(), "annex-2-b+0-3.conf");
  EXPECT_TRUE(third.bad());
  // Nobody blessed it: the next boot goes back to A, and stays there.
  EXPECT_EQ(esp.Boot().FileName(), "annex-1-a.conf");
  EXPECT_EQ(esp.Boot().FileName(), "annex-1-a.conf");
  EXPECT_TRUE(esp.Has("annex-2-b+0-3.conf"));

  // The retry from A replaces the bad B entry with a newer one.
  plan = esp.Install(Slot::kA);
  EXPECT_EQ(plan.remove, std::vector<std::string>{"annex-2-b+0-3.conf"});
  EXPECT_EQ(plan.create.FileName(), "annex-3-b+3.conf");
  EXPECT_EQ(SelectBootEntry(esp.Entries())->FileName(), "annex-3-b+3.conf");
}

TEST(BootEntrySimulation, HealthyUpdateIsBlessedThenNextUpdateGoesToA) {
  Esp esp({"annex-1-a.conf"});
  esp.Install(Slot::kA);
  BootEntry booted = esp.Boot();
  EXPECT_EQ(booted.FileName(), "annex-2-b+2-1.conf");
  esp.Bless(booted);
  EXPECT_TRUE(esp.Has("annex-2-b.conf"));
  for (int i = 0; i < 5; ++i) EXPECT_EQ(esp.Boot().FileName(), "annex-2-b.conf");

  InstallPlan plan = esp.Install(Slot::kB);
  EXPECT_EQ(plan.slot, Slot::kA);
  EXPECT_EQ(plan.remove, std::vector<std::string>{"annex-1-a.conf"});
  EXPECT_EQ(plan.create.FileName(), "annex-3-a+3.conf");
  EXPECT_FALSE(esp.Has("annex-1-a.conf"));
  EXPECT_EQ(esp.Boot().FileName(), "annex-3-a+2-1.conf");
}

TEST(BootEntrySimulation, GenerationTenSortsBeforeNine) {
  Esp esp({"annex-9-b.conf"});
  EXPECT_EQ(esp.Install(Slot::kB).create.FileName(), "annex-10-a+3.conf");
  EXPECT_EQ(esp.Boot().FileName(), "annex-10-a+2-1.conf");
}

}  // namespace
}  // namespace annex::image
