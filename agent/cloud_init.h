// The cloud-init NoCloud seed of a VM: what the guest learns about itself at boot, the way
// cloud images configure themselves (docs/agent.md, "The cloud-init seed"). This file builds
// the seed's three files from the VM record (pure, no I/O); agent/seed_iso.h writes them as
// the ISO 9660 volume "cidata" that cloud-init's NoCloud data source looks for.
//
//   meta-data       instance-id (the VM id: a new VM is a new instance) and local-hostname
//   user-data       "#cloud-config" with hostname and ssh_authorized_keys; with the user's own
//                   user_data, a MIME multipart: govpool's cloud-config first, then the user's
//                   part (text/cloud-config merged with list(append)+dict(no_replace,
//                   recurse_list)+str(): its lists add to govpool's, govpool's hostname wins;
//                   or text/x-shellscript for a "#!" script)
//   network-config  version 2: DHCPv4 on every NIC, matched by MAC when the NICs' MACs are
//                   known, else on every interface named e* (eth0, ens3, enp0s3...)
//
// Every string govpool writes into YAML is double-quoted and escaped, so no key comment or
// host name can change the document's structure. Deterministic: the same input gives the
// same bytes (the seed is rewritten only when they change).
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "api/types.h"

namespace govpool::agent {

// The files of a NoCloud seed, named as cloud-init reads them.
struct CloudInitFiles {
  std::string meta_data;       // "meta-data"
  std::string user_data;       // "user-data"
  std::string network_config;  // "network-config"
  friend bool operator==(const CloudInitFiles&, const CloudInitFiles&) = default;
};

// The seed of `vm`. Its host name is vm.hostname, or api::HostnameFromName(vm.name) for a
// record made before VMs had one. `nic_macs`: the MACs of the VM's NICs in order ("52:54:00:..."),
// empty when not known.
CloudInitFiles BuildCloudInitFiles(const api::Vm& vm, const std::vector<std::string>& nic_macs);

// `text` as a YAML double-quoted scalar: '"' and '\' escaped, and every character YAML may not
// carry raw (C0 and C1 controls, DEL) as an escape sequence.
std::string YamlQuote(std::string_view text);

}  // namespace govpool::agent
