#include "tests/support/netns_endpoint.h"

#include <sys/wait.h>

#include <algorithm>
#include <cstdint>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "network/ovs/local_ovs.h"
#include "tests/support/child_process.h"

namespace govpool::testing {
namespace {

// busybox udhcpc has no default hook; this one applies what the server sent.
constexpr char kUdhcpcHook[] = R"(#!/bin/sh
case "$1" in
  deconfig)
    ip -4 addr flush dev "$interface"
    ip link set "$interface" up
    ;;
  bound|renew)
    ip -4 addr flush dev "$interface"
    ip addr add "$ip/${mask:-24}" dev "$interface"
    if [ -n "$mtu" ]; then ip link set "$interface" mtu "$mtu"; fi
    if [ -n "$router" ]; then ip route replace default via "${router%% *}" dev "$interface"; fi
    ;;
esac
exit 0
)";

bool ValidName(const std::string& name) {
  if (name.empty() || name.size() > 15) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

Status CommandStatus(const std::string& what, const CommandOutput& out) {
  if (out.exit_code == 0) return OkStatus();
  return Internal(what + " failed (exit " + std::to_string(out.exit_code) + "): " + out.output);
}

}  // namespace

std::string ShellQuote(const std::string& value) {
  std::string quoted = "'";
  for (char c : value) {
    if (c == '\'') {
      quoted += "'\\''";
    } else {
      quoted += c;
    }
  }
  return quoted + "'";
}

CommandOutput RunCommand(const std::string& command) {
  CommandOutput out;
  FILE* pipe = ::popen(("PATH=\"$PATH:/usr/sbin:/sbin\"; " + command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return out;
  char buf[4096];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) out.output.append(buf, n);
  const int status = ::pclose(pipe);
  out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

std::vector<std::string> ListNetns() {
  std::vector<std::string> names;
  for (const auto& line : Lines(RunCommand("ip netns list").output)) {
    names.push_back(line.substr(0, line.find(' ')));  // "name (id: 3)"
  }
  return names;
}

std::vector<std::string> ListOvsPorts(const std::string& ovs_db, const std::string& bridge) {
  auto ovs = network::LocalOvs::Connect(ovs_db);
  if (!ovs.ok()) return {};
  auto ports = (*ovs)->ListPorts(bridge);
  return ports.ok() ? *ports : std::vector<std::string>{};
}

NetnsEndpoint::NetnsEndpoint(NetnsEndpointOptions options) : options_(std::move(options)) {}

Result<std::unique_ptr<NetnsEndpoint>> NetnsEndpoint::Create(NetnsEndpointOptions options) {
  if (!ValidName(options.name)) {
    return InvalidArgument("netns endpoint name '" + options.name +
                           "' must be 1..15 letters, digits, '-' or '_'");
  }
  if (options.ovs_db.empty() || options.iface_id.empty() || options.mac.empty()) {
    return InvalidArgument("netns endpoint needs ovs_db, iface_id and mac");
  }
  std::unique_ptr<NetnsEndpoint> ep(new NetnsEndpoint(std::move(options)));
  const auto& o = ep->options_;
  ep->dir_ = std::make_unique<TempDir>("govpool-netns-" + o.name);
  const std::string hook_path = ep->dir_->path() + "/udhcpc-hook.sh";
  {
    std::ofstream hook(hook_path);
    hook << kUdhcpcHook;
  }
  std::error_code ec;
  std::filesystem::permissions(hook_path, std::filesystem::perms::owner_all, ec);
  if (ec) return Internal("cannot make " + hook_path + " executable: " + ec.message());
  const std::string name = ShellQuote(o.name);

  auto out = RunCommand("ip netns add " + name);
  GP_RETURN_IF_ERROR(CommandStatus("ip netns add " + o.name, out));
  ep->netns_added_ = true;

  // One transaction: the port exists only with its iface-id, so ovn-controller never sees an
  // unbound internal port of ours.
  GP_ASSIGN_OR_RETURN(ep->ovs_, network::LocalOvs::Connect(o.ovs_db));
  GP_RETURN_IF_ERROR(ep->ovs_->AddInternalPort(o.bridge, o.name, {{"iface-id", o.iface_id}}));
  ep->port_added_ = true;

  // ovs-vswitchd creates the tap device a moment after the transaction commits.
  const std::string ip_in_vswitchd = o.device_netns.empty() ? "ip " : "ip -n " + ShellQuote(o.device_netns) + " ";
  out = RunCommand("for i in $(seq 100); do " + ip_in_vswitchd + "link show " + name +
                   " >/dev/null 2>&1 && exit 0; sleep 0.05; done; exit 1");
  GP_RETURN_IF_ERROR(CommandStatus("waiting for device " + o.name, out));
  out = RunCommand(ip_in_vswitchd + "link set " + name + " netns " + name + " && ip -n " + name +
                   " link set lo up && ip -n " + name + " link set " + name + " address " +
                   ShellQuote(o.mac) + " mtu " + std::to_string(o.mtu) + " && ip -n " + name +
                   " link set " + name + " up");
  GP_RETURN_IF_ERROR(CommandStatus("configuring " + o.name + " in its namespace", out));
  return ep;
}

NetnsEndpoint::~NetnsEndpoint() { Cleanup(); }

void NetnsEndpoint::Cleanup() {
  StopListening();
  // The port first: ovs-vswitchd closes the tap, which removes the device from the namespace.
  if (port_added_) {
    ovs_->DeletePort(options_.bridge, options_.name).IgnoreError();  // best effort: a destructor
    port_added_ = false;
  }
  if (netns_added_) {
    RunCommand("ip netns del " + ShellQuote(options_.name));
    netns_added_ = false;
  }
  dir_.reset();
}

CommandOutput NetnsEndpoint::Run(const std::string& command) const {
  return RunCommand("ip netns exec " + ShellQuote(options_.name) + " /bin/sh -c " +
                    ShellQuote(command));
}

Result<std::string> NetnsEndpoint::Dhcp(std::chrono::seconds timeout) {
  const auto tries = std::max<std::int64_t>(1, timeout.count());
  const auto out = Run("busybox udhcpc -f -q -n -O mtu -t " + std::to_string(tries) +
                       " -T 1 -i " + ShellQuote(options_.name) + " -s " +
                       ShellQuote(dir_->path() + "/udhcpc-hook.sh"));
  if (out.exit_code != 0) {
    return DeadlineExceeded("no DHCP lease for " + options_.name + " within " +
                            std::to_string(tries) + " s: " + out.output);
  }
  std::string address = Address();
  if (address.empty()) return Internal("udhcpc got a lease but " + options_.name + " has no address: " + out.output);
  return address;
}

Status NetnsEndpoint::SetAddress(const std::string& cidr) {
  const std::string ifname = ShellQuote(options_.name);
  return CommandStatus("setting " + cidr + " on " + options_.name,
                       Run("ip -4 addr flush dev " + ifname + " && ip addr add " + ShellQuote(cidr) +
                           " dev " + ifname));
}

std::string NetnsEndpoint::Address() const {
  // "2: name    inet 10.0.0.5/24 brd ... scope global name\..."
  const auto out = Run("ip -4 -o addr show dev " + ShellQuote(options_.name));
  std::istringstream in(out.output);
  for (std::string word; in >> word;) {
    if (word == "inet" && in >> word) return word.substr(0, word.find('/'));
  }
  return "";
}

int NetnsEndpoint::Ping(const std::string& ip, int count, std::chrono::seconds timeout) const {
  // -w bounds the whole run, -W the wait after the last request (10 s by default).
  const std::string seconds = std::to_string(timeout.count());
  const auto out = Run("busybox ping -q -i 0.2 -c " + std::to_string(count) + " -w " + seconds +
                       " -W " + seconds + " " + ShellQuote(ip));
  // "3 packets transmitted, 2 packets received, 33% packet loss"
  const auto pos = out.output.find(" packets received");
  if (pos == std::string::npos) return 0;
  auto start = out.output.rfind(' ', pos - 1);
  start = start == std::string::npos ? 0 : start + 1;
  try {
    return std::stoi(out.output.substr(start, pos - start));
  } catch (...) {
    return 0;
  }
}

Status NetnsEndpoint::ListenTcp(int port, const std::string& banner) {
  // `ip netns exec` execs the command, so the child's pid is nc's: killing it stops the server.
  auto child = ChildProcess::Start(
      {"/bin/sh", "-c",
       "PATH=\"$PATH:/usr/sbin:/sbin\"; exec ip netns exec " + ShellQuote(options_.name) +
           " busybox nc -ll -p " + std::to_string(port) + " -e /bin/echo " + ShellQuote(banner)},
      dir_->path() + "/nc-" + std::to_string(port) + ".log");
  if (child == nullptr) return Internal("cannot start nc in " + options_.name);
  // Listening once the namespace has the socket.
  const auto out = Run("for i in $(seq 100); do busybox netstat -ltn | grep -q ':" +
                       std::to_string(port) + " ' && exit 0; sleep 0.05; done; exit 1");
  listeners_.push_back(std::move(child));
  return CommandStatus("nc listening on " + std::to_string(port) + " in " + options_.name, out);
}

void NetnsEndpoint::StopListening() {
  for (auto& child : listeners_) child->Kill(9);
  listeners_.clear();
}

Result<std::string> NetnsEndpoint::TcpConnect(const std::string& ip, int port,
                                              std::chrono::seconds timeout) const {
  const auto out = Run("busybox nc -w " + std::to_string(timeout.count()) + " " + ShellQuote(ip) +
                       " " + std::to_string(port) + " </dev/null");
  if (out.exit_code != 0) {
    return Unavailable("tcp connect from " + options_.name + " to " + ip + ":" +
                       std::to_string(port) + " failed: " + out.output);
  }
  std::string received = out.output;
  while (!received.empty() && (received.back() == '\n' || received.back() == '\r')) received.pop_back();
  return received;
}

}  // namespace govpool::testing
