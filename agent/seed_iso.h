// The cloud-init NoCloud seed image: an ISO 9660 volume labelled "cidata" holding /meta-data,
// /user-data and /network-config (agent/cloud_init.h), made with libisofs. Rock Ridge and Joliet
// carry the exact lower-case file names (plain ISO 9660 allows only "META_DAT.;1"-style names);
// Linux mounts it with the isofs module, cloud-init finds it by its label (blkid) on a CD-ROM
// or, as govpool attaches it, on a read-only virtio disk.
//
// Deterministic: every timestamp, owner and mode is fixed, so the same files give the same
// bytes, and an unchanged seed is never rewritten (a running guest keeps reading the bytes it
// mounted; a changed seed replaces the file atomically and the guest sees it at its next boot).
// Thread-safety: safe for concurrent use (libisofs is initialised once per process).
#pragma once

#include <string>

#include "agent/cloud_init.h"
#include "common/result.h"

namespace govpool::agent {

// The seed image's volume label, as cloud-init's NoCloud data source looks for it.
inline constexpr char kSeedVolumeLabel[] = "cidata";

// The bytes of the seed image of `files`. Internal when libisofs fails.
Result<std::string> BuildSeedIso(const CloudInitFiles& files);

// Makes `path` (absolute; missing parent directories are created) hold the seed image of
// `files`, mode 0644: untouched when it already holds exactly these bytes, else written to a
// temporary file beside it and renamed over it. True when it wrote. InvalidArgument for a
// relative path; Internal for an I/O or libisofs failure (with the system's words).
Result<bool> EnsureSeedIso(const std::string& path, const CloudInitFiles& files);

}  // namespace govpool::agent
