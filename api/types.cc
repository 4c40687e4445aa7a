#include "api/types.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/strings.h"

namespace govpool::api {

const QuotaResource* FindQuotaResource(std::string_view resource) {
  for (const QuotaResource& r : kQuotaResources) {
    if (r.name == resource) return &r;
  }
  return nullptr;
}

namespace {

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// The bytes of standard base64 text (padding optional); nullopt when it is not base64.
std::optional<std::string> DecodeBase64Text(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  if (text.empty() || text.size() % 4 == 1) return std::nullopt;
  std::string out;
  std::uint32_t bits = 0;
  int nbits = 0;
  for (const char c : text) {
    int v = -1;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '+') v = 62;
    else if (c == '/') v = 63;
    if (v < 0) return std::nullopt;
    bits = (bits << 6) | static_cast<std::uint32_t>(v);
    nbits += 6;
    if (nbits >= 8) {
      nbits -= 8;
      out.push_back(static_cast<char>((bits >> nbits) & 0xff));
    }
  }
  return out;
}

bool HasControlCharacter(std::string_view text, bool allow_line_breaks) {
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u == 0x7f) return true;
    if (u < 0x20 && !(allow_line_breaks && (c == '\t' || c == '\n' || c == '\r'))) return true;
  }
  return false;
}

// The key types OpenSSH accepts in authorized_keys (ssh-dss is gone from OpenSSH 9.8).
constexpr std::string_view kSshKeyTypes[] = {
    "ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com"};

}  // namespace

bool IsHostnameLabel(std::string_view label) {
  if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
  for (const char c : label) {
    const char lower = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    if (!IsLowerAlnum(lower) && c != '-') return false;
  }
  return true;
}

bool IsHostPort(std::string_view address) {
  const std::optional<HostPort> split = SplitHostPort(address);
  if (!split) return false;
  std::string_view host = split->host;
  if (host.find(':') != std::string_view::npos) {  // an IPv6 address (it was in brackets)
    for (const char c : host) {
      const bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
      if (!hex && c != ':' && c != '.') return false;
    }
    return true;
  }
  if (host.size() > 253) return false;
  while (!host.empty()) {
    const std::size_t dot = host.find('.');
    if (!IsHostnameLabel(host.substr(0, dot))) return false;
    if (dot == std::string_view::npos) break;
    host = host.substr(dot + 1);
    if (host.empty()) return false;
  }
  return true;
}

std::string HostnameFromName(std::string_view name) {
  std::string out;
  for (const char c : name) {
    const char lower = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    if (IsLowerAlnum(lower)) {
      out.push_back(lower);
    } else if (!out.empty() && out.back() != '-') {
      out.push_back('-');
    }
  }
  if (out.size() > 63) out.resize(63);
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out.empty() ? "vm" : out;
}

std::optional<std::string> SshPublicKeyProblem(std::string_view line) {
  if (line.size() > kMaxSshKeyBytes) {
    return "is longer than " + std::to_string(kMaxSshKeyBytes) + " bytes";
  }
  if (HasControlCharacter(line, false)) return "holds a control character (one key per item)";
  const size_t type_end = line.find(' ');
  if (type_end == std::string_view::npos) return "is not '<type> <base64 key> [comment]'";
  const std::string_view type = line.substr(0, type_end);
  bool known = false;
  for (const std::string_view t : kSshKeyTypes) known = known || t == type;
  if (!known) return "has an unknown key type '" + std::string(type) + "' (options before the type are not accepted)";
  std::string_view rest = line.substr(type_end + 1);
  const std::string_view blob_text = rest.substr(0, rest.find(' '));
  const std::optional<std::string> blob = DecodeBase64Text(blob_text);
  if (!blob) return "has a key that is not base64";
  // The blob starts with the key type as an SSH string: 4-byte big-endian length, then text.
  if (blob->size() < 4 + type.size()) return "has a key too short for its type";
  const auto byte = [&](size_t i) { return static_cast<std::uint32_t>(static_cast<unsigned char>((*blob)[i])); };
  const std::uint32_t length = byte(0) << 24 | byte(1) << 16 | byte(2) << 8 | byte(3);
  if (length != type.size() || blob->compare(4, type.size(), type) != 0) {
    return "has a key whose blob is not of type '" + std::string(type) + "'";
  }
  return std::nullopt;
}

std::optional<schema::Violation> CheckGuestConfig(const CreateVmRequest& r) {
  if (!r.hostname.empty() && !IsHostnameLabel(r.hostname)) {
    return schema::Violation{"hostname", "must be 1-63 letters, digits or '-', not starting or ending with '-'"};
  }
  if (r.ssh_authorized_keys.size() > kMaxSshKeys) {
    return schema::Violation{"ssh_authorized_keys", "must have at most " + std::to_string(kMaxSshKeys) + " items"};
  }
  for (size_t i = 0; i < r.ssh_authorized_keys.size(); ++i) {
    if (auto problem = SshPublicKeyProblem(r.ssh_authorized_keys[i])) {
      return schema::Violation{"ssh_authorized_keys[" + std::to_string(i) + "]", *problem};
    }
  }
  if (!r.user_data.empty()) {
    const std::string_view text = r.user_data;
    if (text.rfind("#cloud-config", 0) != 0 && text.rfind("#!", 0) != 0) {
      return schema::Violation{"user_data", "must start with \"#cloud-config\" or \"#!\""};
    }
    if (HasControlCharacter(text, true)) {
      return schema::Violation{"user_data", "holds a control character other than tab, newline or carriage return"};
    }
  }
  return std::nullopt;
}

}  // namespace govpool::api
