#pragma once
// A power cut for code that does its own file I/O (LMDB above all), where
// FaultInjectionFileSystem cannot see the writes.
//
// This binary defines write, pwrite, writev, fsync and fdatasync itself, so
// every call from the process and its libraries (liblmdb included) passes
// through here first. Once Arm()ed — in a forked child that is about to
// write and acknowledge — each write to a file under the armed directory
// first journals the bytes it overwrites, and each fsync/fdatasync of such a
// file marks everything journaled for it as durable. The parent kills the
// child with SIGKILL (the page cache keeps every write) and then calls
// Apply(), which puts back what the disk would hold had the power failed
// instead: every write not followed by a sync of its file is undone (writes
// through an O_DSYNC descriptor are durable as they return).
//
// Not modelled: directory entries (creation, rename, unlink are taken as
// durable; FaultInjectionFileSystem covers those for files it writes), and
// writes through a shared mapping. Files are followed by inode, so a file
// removed and its inode reused within one run would be confused.

#include <cstddef>
#include <string>

#include "appliance/core/result.h"

namespace annex::testing::power_cut {

// From now on, journal writes to files under `dir` into `journal` (outside `dir`).
void Arm(const std::string& dir, const std::string& journal);

// Undoes every journaled write to the files now under `dir` that was not
// made durable; returns how many.
Result<size_t> Apply(const std::string& dir, const std::string& journal);

}  // namespace annex::testing::power_cut
