// Local qcow2 disk files for LibvirtHypervisor, made with `qemu-img` (package qemu-utils).
//
// Why qemu-img and not libvirt's storage-volume API: a volume API call needs a storage pool
// defined over the disk directory (more libvirt state to create, refresh and clean up), the
// "dir" pool backend runs this same qemu-img binary to make qcow2 files anyway, and
// test:///default keeps volumes in memory only, so the contract tests could not check the
// files. The agent always runs on the host whose disks it manages, so a local exec is simplest.
// The program is run with fork/exec (posix_spawn) and an argument vector: no shell, no quoting.
// Thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/status.h"

namespace govpool::agent::libvirt {

// Runs `argv` (argv[0] is looked up in PATH), waiting for it to exit. OK when it exits 0;
// kUnavailable when the program cannot be started (not installed); kInternal otherwise. The
// message carries the program's combined output (trimmed to a few KiB).
Status RunProgram(const std::vector<std::string>& argv);

// Creates a sparse qcow2 image of `size_gib` at `path` unless `path` exists (then OK,
// untouched). Writes to a temporary name in the same directory and renames, so a crash never
// leaves a half-made image under `path`. Creates missing parent directories.
Status CreateQcow2(const std::string& qemu_img, const std::string& path, std::int64_t size_gib);

// Removes the disk file at `path`; OK if absent. Every byte the file holds (its data extents:
// a sparse qcow2 holds little) is first overwritten with zeros and synced, so a deleted VM's
// data does not linger in the freed blocks for the next tenant (MLPS 8.1.4.9; the cost is in
// docs/agent.md). A symlink placed at `path` is removed, never followed.
Status RemoveFile(const std::string& path);

// Overwrites the data extents of the regular file open as `fd` with zeros and syncs them.
// Returns the bytes overwritten.
Result<std::int64_t> ZeroDataExtents(int fd);

}  // namespace govpool::agent::libvirt
