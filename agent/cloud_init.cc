#include "agent/cloud_init.h"

#include <cstdio>
#include <string_view>

namespace govpool::agent {
namespace {

constexpr std::string_view kCloudConfigHeader = "#cloud-config";

// The user's part goes after govpool's: lists (ssh_authorized_keys, runcmd...) are appended,
// keys govpool did not set are added, keys it set (hostname) stay govpool's.
constexpr std::string_view kUserMergeType = "list(append)+dict(no_replace,recurse_list)+str()";

std::string GovpoolCloudConfig(const std::string& hostname, const std::vector<std::string>& keys) {
  std::string out = std::string(kCloudConfigHeader) + "\n";
  out += "hostname: " + YamlQuote(hostname) + "\n";
  if (!keys.empty()) {
    out += "ssh_authorized_keys:\n";
    for (const std::string& key : keys) out += "  - " + YamlQuote(key) + "\n";
  }
  return out;
}

// A boundary that is not a line of `body` (the user's text cannot end the part early).
std::string BoundaryFor(std::string_view body) {
  std::string boundary = "==govpool-seed-boundary==";
  for (int n = 1; body.find(boundary) != std::string_view::npos; ++n) {
    boundary = "==govpool-seed-boundary-" + std::to_string(n) + "==";
  }
  return boundary;
}

std::string Multipart(const std::string& ours, const std::string& user_data) {
  const bool cloud_config = user_data.rfind(kCloudConfigHeader, 0) == 0;
  const std::string boundary = BoundaryFor(user_data);
  std::string out;
  out += "Content-Type: multipart/mixed; boundary=\"" + boundary + "\"\n";
  out += "MIME-Version: 1.0\n\n";
  out += "--" + boundary + "\n";
  out += "Content-Type: text/cloud-config; charset=\"utf-8\"\n";
  out += "Content-Transfer-Encoding: 8bit\n";
  out += "Content-Disposition: attachment; filename=\"govpool.cfg\"\n\n";
  out += ours;
  out += "--" + boundary + "\n";
  if (cloud_config) {
    out += "Content-Type: text/cloud-config; charset=\"utf-8\"\n";
    out += "Merge-Type: " + std::string(kUserMergeType) + "\n";
    out += "Content-Transfer-Encoding: 8bit\n";
    out += "Content-Disposition: attachment; filename=\"user-data.cfg\"\n\n";
  } else {
    out += "Content-Type: text/x-shellscript; charset=\"utf-8\"\n";
    out += "Content-Transfer-Encoding: 8bit\n";
    out += "Content-Disposition: attachment; filename=\"user-data.sh\"\n\n";
  }
  out += user_data;
  if (!user_data.empty() && user_data.back() != '\n') out += "\n";
  out += "--" + boundary + "--\n";
  return out;
}

}  // namespace

std::string YamlQuote(std::string_view text) {
  std::string out = "\"";
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    char buf[8];
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else if (c == 0xc2 && i + 1 < text.size() &&
               static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
               static_cast<unsigned char>(text[i + 1]) <= 0x9f) {
      // A C1 control in UTF-8 (U+0080..U+009F): YAML readers refuse it raw.
      std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(text[i + 1]));
      out += buf;
      ++i;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
  return out;
}

CloudInitFiles BuildCloudInitFiles(const api::Vm& vm, const std::vector<std::string>& nic_macs) {
  const std::string hostname = vm.hostname.empty() ? api::HostnameFromName(vm.name) : vm.hostname;
  CloudInitFiles files;
  files.meta_data = "instance-id: " + YamlQuote(vm.meta.id) + "\n" +
                    "local-hostname: " + YamlQuote(hostname) + "\n";

  const std::string ours = GovpoolCloudConfig(hostname, vm.ssh_authorized_keys);
  files.user_data = vm.user_data.empty() ? ours : Multipart(ours, vm.user_data);

  std::string& net = files.network_config;
  net = "version: 2\nethernets:\n";
  if (nic_macs.empty()) {
    net += "  all-ethernets:\n    match:\n      name: \"e*\"\n    dhcp4: true\n";
  } else {
    for (size_t i = 0; i < nic_macs.size(); ++i) {
      net += "  nic" + std::to_string(i) + ":\n    match:\n      macaddress: " + YamlQuote(nic_macs[i]) +
             "\n    dhcp4: true\n";
    }
  }
  return files;
}

}  // namespace govpool::agent
