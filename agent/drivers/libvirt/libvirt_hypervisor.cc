#include "agent/drivers/libvirt/libvirt_hypervisor.h"

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>
#include <utility>

#include "agent/drivers/libvirt/domain_xml.h"
#include "agent/drivers/libvirt/qemu_img.h"
#include "common/ids.h"

namespace govpool::agent {
namespace {

void IgnoreLibvirtError(void* /*user_data*/, virErrorPtr /*error*/) {}

// Seconds between keepalive probes, and unanswered probes before the connection is declared
// dead: a hung (not just dead) libvirtd fails calls after about 5 * (3 + 1) = 20 s instead of
// blocking them forever.
constexpr int kKeepAliveIntervalS = 5;
constexpr unsigned kKeepAliveCount = 3;

// virInitialize before any threaded use; libvirt's default error handler prints every error to
// stderr, which we report through Status instead. Keepalive needs libvirt's event loop: one
// background thread runs it for the whole process (libvirt has a single global loop). A write
// to a socket whose libvirtd died raises SIGPIPE, whose default action kills the process:
// libvirt asks applications to ignore it, so we do unless the program installed a handler.
void InitLibvirtOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    virInitialize();
    virSetErrorFunc(nullptr, IgnoreLibvirtError);
    if (virEventRegisterDefaultImpl() == 0) {
      std::thread([] {
        while (true) {
          if (virEventRunDefaultImpl() < 0) virResetLastError();
        }
      }).detach();
    } else {
      virResetLastError();
    }
    struct sigaction current = {};
    if (sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) {
      signal(SIGPIPE, SIG_IGN);
    }
  });
}

struct DomainFree {
  void operator()(virDomainPtr d) const {
    if (d != nullptr) virDomainFree(d);
  }
};
using DomainHandle = std::unique_ptr<virDomain, DomainFree>;

struct SecretFree {
  void operator()(virSecretPtr s) const {
    if (s != nullptr) virSecretFree(s);
  }
};
using SecretHandle = std::unique_ptr<virSecret, SecretFree>;

// True for errors that mean the connection to libvirtd is gone (daemon restarted or stopped).
bool IsConnectionError(int code, int domain) {
  switch (code) {
    case VIR_ERR_NO_CONNECT:
    case VIR_ERR_INVALID_CONN:
    case VIR_ERR_RPC:
      return true;
    case VIR_ERR_SYSTEM_ERROR:
    case VIR_ERR_INTERNAL_ERROR:
    case VIR_ERR_OPERATION_FAILED:
      return domain == VIR_FROM_RPC || domain == VIR_FROM_REMOTE;
    default:
      return false;
  }
}

StatusCode CodeFor(int code, int domain) {
  if (IsConnectionError(code, domain)) return StatusCode::kUnavailable;
  switch (code) {
    case VIR_ERR_NO_DOMAIN:
    case VIR_ERR_NO_DOMAIN_METADATA:
    case VIR_ERR_NO_STORAGE_VOL:
    case VIR_ERR_NO_STORAGE_POOL:
    case VIR_ERR_NO_NETWORK:
    case VIR_ERR_NO_SECRET:
    case VIR_ERR_NO_DOMAIN_SNAPSHOT:
      return StatusCode::kNotFound;
    case VIR_ERR_OPERATION_INVALID:
      return StatusCode::kFailedPrecondition;
    case VIR_ERR_DOM_EXIST:
      return StatusCode::kAlreadyExists;
    case VIR_ERR_INVALID_ARG:
    case VIR_ERR_XML_ERROR:
    case VIR_ERR_XML_DETAIL:
    case VIR_ERR_XML_INVALID_SCHEMA:
    case VIR_ERR_CONFIG_UNSUPPORTED:
    case VIR_ERR_INVALID_DOMAIN:
      return StatusCode::kInvalidArgument;
    case VIR_ERR_OPERATION_DENIED:
    case VIR_ERR_ACCESS_DENIED:
      return StatusCode::kPermissionDenied;
    case VIR_ERR_AUTH_FAILED:
    case VIR_ERR_AUTH_CANCELLED:
      return StatusCode::kUnauthenticated;
    case VIR_ERR_OPERATION_TIMEOUT:
    case VIR_ERR_AGENT_UNRESPONSIVE:
      return StatusCode::kDeadlineExceeded;
    case VIR_ERR_NO_SUPPORT:
    case VIR_ERR_OPERATION_UNSUPPORTED:
    case VIR_ERR_ARGUMENT_UNSUPPORTED:
      return StatusCode::kUnimplemented;
    case VIR_ERR_RESOURCE_BUSY:
      return StatusCode::kUnavailable;
    default:
      return StatusCode::kInternal;
  }
}

// The calling thread's last libvirt error as a Status ("<context>: <libvirt message>"), with
// the libvirt error number in the details; resets the error.
Status LastError(const std::string& context) {
  virErrorPtr e = virGetLastError();
  if (e == nullptr) return Internal(context + ": libvirt call failed without an error");
  const int code = e->code;
  const int domain = e->domain;
  std::string message = context + ": " + (e->message != nullptr ? e->message : "unknown error");
  virResetLastError();
  return Status(CodeFor(code, domain), std::move(message))
      .WithDetail("libvirt_error", static_cast<std::int64_t>(code));
}

// The libvirt error number of the calling thread's last error (VIR_ERR_OK if none).
int LastErrorCode() {
  virErrorPtr e = virGetLastError();
  return e == nullptr ? VIR_ERR_OK : e->code;
}

PowerState ToPowerState(int state) {
  switch (state) {
    case VIR_DOMAIN_RUNNING:
    case VIR_DOMAIN_BLOCKED:
    case VIR_DOMAIN_SHUTDOWN:  // being shut down: still running
      return PowerState::kRunning;
    case VIR_DOMAIN_PAUSED:
    case VIR_DOMAIN_PMSUSPENDED:
      return PowerState::kPaused;
    case VIR_DOMAIN_SHUTOFF:
      return PowerState::kShutoff;
    case VIR_DOMAIN_CRASHED:
      return PowerState::kCrashed;
    default:
      return PowerState::kOther;
  }
}

Result<DomainHandle> Lookup(virConnectPtr conn, const std::string& uuid) {
  if (!IsUuid(uuid)) return InvalidArgument("bad domain uuid '" + uuid + "'");
  DomainHandle d(virDomainLookupByUUIDString(conn, uuid.c_str()));
  if (!d) return LastError("looking up domain " + uuid);
  return d;
}

// What govpool reports about one domain. Libvirt: virDomainGetUUIDString, virDomainGetName,
// virDomainGetState, virDomainGetInfo, virDomainIsPersistent, virDomainGetMetadata.
Result<DomainInfo> Describe(virDomainPtr d) {
  DomainInfo info;
  char uuid[VIR_UUID_STRING_BUFLEN] = {};
  if (virDomainGetUUIDString(d, uuid) != 0) return LastError("reading domain uuid");
  info.uuid = uuid;
  const char* name = virDomainGetName(d);
  if (name == nullptr) return LastError("reading name of domain " + info.uuid);
  info.name = name;
  const std::string what = "domain " + info.name + " (" + info.uuid + ")";
  int state = 0;
  int reason = 0;
  if (virDomainGetState(d, &state, &reason, 0) != 0) return LastError("state of " + what);
  info.state = ToPowerState(state);
  virDomainInfo raw = {};
  if (virDomainGetInfo(d, &raw) != 0) return LastError("info of " + what);
  info.vcpus = raw.nrVirtCpu;
  info.memory_mib = static_cast<std::int64_t>(raw.maxMem / 1024);
  const int persistent = virDomainIsPersistent(d);
  if (persistent < 0) return LastError("persistence of " + what);
  info.persistent = persistent == 1;
  // Live XML while active (what the guest has now), the definition otherwise.
  char* xml = virDomainGetXMLDesc(d, 0);
  if (xml == nullptr) return LastError("XML of " + what);
  info.disks = libvirt::ParseDomainDisks(xml);
  info.nics = libvirt::ParseDomainNics(xml);
  free(xml);  // NOLINT
  const std::string ns(libvirt::kMetadataNamespace);
  char* metadata = virDomainGetMetadata(
      d, VIR_DOMAIN_METADATA_ELEMENT, ns.c_str(),
      info.persistent ? VIR_DOMAIN_AFFECT_CONFIG : VIR_DOMAIN_AFFECT_LIVE);
  if (metadata == nullptr) {
    if (LastErrorCode() != VIR_ERR_NO_DOMAIN_METADATA) return LastError("metadata of " + what);
    virResetLastError();
  } else {
    info.owned = true;
    info.metadata = libvirt::ParseMetadataEntries(metadata);
    free(metadata);  // NOLINT: libvirt allocates with malloc
  }
  return info;
}

bool HostCpuHasVirtualization() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("flags", 0) != 0) continue;
    std::istringstream words(line);
    std::string w;
    while (words >> w) {
      if (w == "vmx" || w == "svm") return true;
    }
  }
  return false;
}

bool IsActive(virDomainPtr d) { return virDomainIsActive(d) == 1; }

// The domain's XML: the persistent definition (inactive) or what runs now (live).
Result<std::string> GetXml(virDomainPtr d, bool inactive, const std::string& what) {
  char* xml = virDomainGetXMLDesc(d, inactive ? VIR_DOMAIN_XML_INACTIVE : 0);
  if (xml == nullptr) return LastError(std::string(inactive ? "definition" : "live XML") + " of " + what);
  std::string out(xml);
  free(xml);  // NOLINT
  return out;
}

const libvirt::DiskElement* FindTarget(const std::vector<libvirt::DiskElement>& disks,
                                       const std::string& target_dev) {
  for (const auto& e : disks) {
    if (e.target_dev == target_dev) return &e;
  }
  return nullptr;
}

// Whether `disk` still has to be attached to the definition or live domain `disks` describe:
// false when its target already holds the same source; kFailedPrecondition when the target
// holds another disk or the same source sits at another target.
Result<bool> NeedsAttach(const std::vector<libvirt::DiskElement>& disks, const DiskSpec& disk,
                         const std::string& where) {
  for (const auto& e : disks) {
    const bool same = e.known && SameDiskSource(e.spec, disk);
    if (e.target_dev == disk.target_dev) {
      if (same) return false;
      return FailedPrecondition("attaching disk: target " + disk.target_dev + " of " + where +
                                " already holds another disk")
          .WithReason("DISK_TARGET_TAKEN");
    }
    if (same) {
      return FailedPrecondition("attaching disk: " + where + " already has this source at " +
                                e.target_dev + " (asked for " + disk.target_dev + ")")
          .WithReason("DISK_ALREADY_ATTACHED");
    }
  }
  return true;
}

const libvirt::NicElement* FindPort(const std::vector<libvirt::NicElement>& nics,
                                    const std::string& port_id) {
  for (const auto& e : nics) {
    if (e.known && e.spec.port_id == port_id) return &e;
  }
  return nullptr;
}

// Whether `nic` still has to be plugged into the definition or live domain `nics` describe:
// false when its port is there with its MAC; kFailedPrecondition when the port is there with
// another MAC or the MAC belongs to another NIC.
Result<bool> NicNeedsAttach(const std::vector<libvirt::NicElement>& nics, const NicSpec& nic,
                            const std::string& where) {
  for (const auto& e : nics) {
    const bool same_port = e.known && e.spec.port_id == nic.port_id;
    if (same_port && e.spec.mac == nic.mac) return false;
    if (same_port) {
      return FailedPrecondition("attaching NIC: " + where + " already has port " + nic.port_id +
                                " with MAC " + e.spec.mac + " (asked for " + nic.mac + ")")
          .WithReason("NIC_PORT_TAKEN");
    }
    if (e.spec.mac == nic.mac) {
      return FailedPrecondition("attaching NIC: MAC " + nic.mac + " is already used by another "
                                "NIC of " + where)
          .WithReason("NIC_MAC_TAKEN");
    }
  }
  return true;
}

}  // namespace

struct LibvirtOpenAttempt {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;             // guarded by mu
  bool abandoned = false;        // guarded by mu: the hypervisor is gone; close conn
  virConnectPtr conn = nullptr;  // guarded by mu: the opened connection, until installed
  Status status;                 // guarded by mu: why the open failed
};

namespace {

// Body of the helper thread: virConnectOpen (which may block for as long as libvirtd hangs),
// keepalive on, then hands the result over.
void RunOpen(std::shared_ptr<LibvirtOpenAttempt> attempt, std::string uri) {
  virConnectPtr conn = virConnectOpen(uri.c_str());
  Status status;
  if (conn == nullptr) {
    status = LastError("connecting to " + uri);
  } else if (virConnectSetKeepAlive(conn, kKeepAliveIntervalS, kKeepAliveCount) < 0) {
    virResetLastError();  // in-process drivers such as test:/// have no keepalive
  }
  std::lock_guard<std::mutex> lock(attempt->mu);
  if (attempt->abandoned) {
    if (conn != nullptr) virConnectClose(conn);
    return;
  }
  attempt->conn = conn;
  attempt->status = std::move(status);
  attempt->done = true;
  attempt->cv.notify_all();
}

}  // namespace

Result<std::unique_ptr<LibvirtHypervisor>> LibvirtHypervisor::Open(LibvirtOptions options) {
  InitLibvirtOnce();
  std::unique_ptr<LibvirtHypervisor> h(new LibvirtHypervisor(std::move(options)));
  Result<virConnectPtr> conn = h->AcquireConnection();
  if (!conn.ok()) return conn.status();
  virConnectClose(*conn);  // the shared reference stays in conn_
  return h;
}

LibvirtHypervisor::LibvirtHypervisor(LibvirtOptions options) : options_(std::move(options)) {}

LibvirtHypervisor::~LibvirtHypervisor() {
  std::lock_guard<std::mutex> lock(mu_);
  if (conn_ != nullptr) virConnectClose(conn_);
  if (opening_ != nullptr) {
    std::lock_guard<std::mutex> attempt_lock(opening_->mu);
    if (opening_->conn != nullptr) virConnectClose(opening_->conn);
    opening_->conn = nullptr;
    opening_->abandoned = true;  // an open still running closes its connection itself
  }
}

int LibvirtHypervisor::connections_opened() const {
  std::lock_guard<std::mutex> lock(mu_);
  return connections_opened_;
}

Result<virConnectPtr> LibvirtHypervisor::AcquireConnection() {
  std::shared_ptr<LibvirtOpenAttempt> attempt;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (conn_ != nullptr && virConnectIsAlive(conn_) != 1) {
      virConnectClose(conn_);
      conn_ = nullptr;
    }
    if (conn_ != nullptr) {
      virConnectRef(conn_);
      return conn_;
    }
    if (opening_ == nullptr) {
      opening_ = std::make_shared<LibvirtOpenAttempt>();
      std::thread(RunOpen, opening_, options_.uri).detach();
    }
    attempt = opening_;
  }
  bool done = false;
  {
    std::unique_lock<std::mutex> lock(attempt->mu);
    done = attempt->cv.wait_for(lock, std::chrono::milliseconds(options_.connect_timeout_ms),
                                [&] { return attempt->done; });
  }
  if (!done) {
    return Status(StatusCode::kUnavailable,
                  "connecting to " + options_.uri + ": no answer within " +
                      std::to_string(options_.connect_timeout_ms) + " ms (is libvirtd hung?)")
        .WithReason("HYPERVISOR_UNAVAILABLE");
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (opening_ == attempt) {  // the first caller back installs the result
    opening_.reset();
    std::lock_guard<std::mutex> attempt_lock(attempt->mu);
    if (attempt->conn != nullptr) {
      conn_ = attempt->conn;
      attempt->conn = nullptr;
      ++connections_opened_;
    }
  }
  if (conn_ == nullptr) {
    std::lock_guard<std::mutex> attempt_lock(attempt->mu);
    // Whatever went wrong, no connection is a transient condition for the caller.
    return Status(StatusCode::kUnavailable, attempt->status.message())
        .WithReason("HYPERVISOR_UNAVAILABLE");
  }
  virConnectRef(conn_);
  return conn_;
}

void LibvirtHypervisor::DropConnection(virConnectPtr conn) {
  std::lock_guard<std::mutex> lock(mu_);
  if (conn_ == conn) {
    virConnectClose(conn_);
    conn_ = nullptr;
  }
}

template <typename Fn>
Status LibvirtHypervisor::WithConnection(Fn&& fn) {
  for (int attempt = 0;; ++attempt) {
    Result<virConnectPtr> conn = AcquireConnection();
    if (!conn.ok()) return conn.status();
    Status s = fn(*conn);
    // Reconnect only when the connection itself died (the RPC client marks it closed), not on
    // every transient error.
    const bool broken = s.code() == StatusCode::kUnavailable && virConnectIsAlive(*conn) != 1;
    if (broken) DropConnection(*conn);
    virConnectClose(*conn);
    if (!broken || attempt == 1) return s;
  }
}

Result<HostFacts> LibvirtHypervisor::GetHostFacts() {
  HostFacts facts;
  Status s = WithConnection([&](virConnectPtr conn) -> Status {
    virNodeInfo node = {};
    if (virNodeGetInfo(conn, &node) != 0) return LastError("virNodeGetInfo");
    char* caps = virConnectGetCapabilities(conn);
    if (caps == nullptr) return LastError("virConnectGetCapabilities");
    libvirt::CapabilitiesFacts parsed = libvirt::ParseCapabilities(caps);
    free(caps);  // NOLINT
    char* hostname = virConnectGetHostname(conn);
    if (hostname == nullptr) return LastError("virConnectGetHostname");
    facts.hostname = hostname;
    free(hostname);  // NOLINT
    facts.cpus = node.cpus;
    facts.memory_mib = static_cast<std::int64_t>(node.memory / 1024);
    facts.cpu_model = parsed.cpu_model.empty() ? node.model : parsed.cpu_model;
    facts.numa_cells = std::move(parsed.numa_cells);
    if (facts.numa_cells.empty()) {
      facts.numa_cells.push_back({0, facts.cpus, facts.memory_mib});
    }
    facts.domain_types = std::move(parsed.domain_types);
    return OkStatus();
  });
  if (!s.ok()) return s;
  // "kvm" offered is not enough: /dev/kvm may exist without VMX/SVM (paravirtual or nested
  // setups that cannot boot a stock kernel). Local hosts only: the agent runs beside libvirtd.
  const bool kvm_offered = std::find(facts.domain_types.begin(), facts.domain_types.end(),
                                     "kvm") != facts.domain_types.end();
  facts.kvm_usable = kvm_offered && access("/dev/kvm", R_OK | W_OK) == 0 &&
                     HostCpuHasVirtualization();
  return facts;
}

Result<std::vector<DomainInfo>> LibvirtHypervisor::ListDomains() {
  std::vector<DomainInfo> out;
  Status s = WithConnection([&](virConnectPtr conn) -> Status {
    out.clear();
    virDomainPtr* domains = nullptr;
    const int n = virConnectListAllDomains(conn, &domains, 0);
    if (n < 0) return LastError("virConnectListAllDomains");
    Status result;
    for (int i = 0; i < n; ++i) {
      DomainHandle d(domains[i]);
      if (!result.ok()) continue;  // keep freeing
      Result<DomainInfo> info = Describe(d.get());
      if (info.ok()) {
        out.push_back(std::move(*info));
      } else if (info.status().code() != StatusCode::kNotFound) {
        result = info.status();  // a domain that vanished meanwhile is just skipped
      }
    }
    free(domains);  // NOLINT
    return result;
  });
  if (!s.ok()) return s;
  return out;
}

namespace {

std::optional<std::uint64_t> ULLongParam(const virDomainStatsRecord& r, const std::string& name) {
  unsigned long long v = 0;  // NOLINT(runtime/int): libvirt's type
  if (virTypedParamsGetULLong(r.params, r.nparams, name.c_str(), &v) != 1) return std::nullopt;
  return static_cast<std::uint64_t>(v);
}

std::optional<std::uint64_t> UIntParam(const virDomainStatsRecord& r, const std::string& name) {
  unsigned int v = 0;
  if (virTypedParamsGetUInt(r.params, r.nparams, name.c_str(), &v) != 1) return std::nullopt;
  return v;
}

std::string StringParam(const virDomainStatsRecord& r, const std::string& name) {
  const char* v = nullptr;
  if (virTypedParamsGetString(r.params, r.nparams, name.c_str(), &v) != 1 || v == nullptr) return {};
  return v;
}

// One record of virConnectGetAllDomainStats (state, cpu-total, vcpu, balloon, block, interface
// groups); libvirt's own parameter names, documented with virConnectGetAllDomainStats.
Result<DomainStats> FromStatsRecord(const virDomainStatsRecord& r) {
  DomainStats out;
  char uuid[VIR_UUID_STRING_BUFLEN] = {};
  if (virDomainGetUUIDString(r.dom, uuid) != 0) return LastError("reading domain uuid");
  out.uuid = uuid;
  if (const char* name = virDomainGetName(r.dom)) out.name = name;
  int state = 0;
  int reason = 0;
  if (virTypedParamsGetInt(r.params, r.nparams, "state.state", &state) != 1 &&
      virDomainGetState(r.dom, &state, &reason, 0) != 0) {  // drivers without the state group
    return LastError("state of domain " + out.uuid);
  }
  out.state = ToPowerState(state);
  // libvirt describes a stopped domain from its definition (its disks, even a CPU time):
  // nothing of that is use.
  if (out.state != PowerState::kRunning && out.state != PowerState::kPaused) return out;
  out.cpu_time_ns = ULLongParam(r, "cpu.time");
  if (auto vcpus = UIntParam(r, "vcpu.current")) out.vcpus = static_cast<std::int64_t>(*vcpus);
  if (auto kib = ULLongParam(r, "balloon.current")) {
    out.memory_bytes = static_cast<std::int64_t>(*kib) * 1024;
    if (auto unused = ULLongParam(r, "balloon.unused"); unused && *unused <= *kib) {
      out.memory_used_bytes = static_cast<std::int64_t>(*kib - *unused) * 1024;
    } else if (auto rss = ULLongParam(r, "balloon.rss")) {
      out.memory_used_bytes = static_cast<std::int64_t>(*rss) * 1024;
    }
  }
  const std::uint64_t blocks = UIntParam(r, "block.count").value_or(0);
  for (std::uint64_t i = 0; i < blocks; ++i) {
    const std::string p = "block." + std::to_string(i) + ".";
    DiskStats d;
    d.target = StringParam(r, p + "name");
    if (d.target.empty()) continue;
    d.read_bytes = ULLongParam(r, p + "rd.bytes").value_or(0);
    d.reads = ULLongParam(r, p + "rd.reqs").value_or(0);
    d.write_bytes = ULLongParam(r, p + "wr.bytes").value_or(0);
    d.writes = ULLongParam(r, p + "wr.reqs").value_or(0);
    out.disks.push_back(std::move(d));
  }
  const std::uint64_t nets = UIntParam(r, "net.count").value_or(0);
  for (std::uint64_t i = 0; i < nets; ++i) {
    const std::string p = "net." + std::to_string(i) + ".";
    NicStats n;
    n.device = StringParam(r, p + "name");
    if (n.device.empty()) continue;
    n.receive_bytes = ULLongParam(r, p + "rx.bytes").value_or(0);
    n.receive_drops = ULLongParam(r, p + "rx.drop").value_or(0);
    n.transmit_bytes = ULLongParam(r, p + "tx.bytes").value_or(0);
    n.transmit_drops = ULLongParam(r, p + "tx.drop").value_or(0);
    out.nics.push_back(std::move(n));
  }
  return out;
}

// One of libvirt's node statistics calls (virNodeGetCPUStats, virNodeGetMemoryStats): asked
// for the count, then the fields.
template <typename T, typename Get>
Result<std::vector<T>> NodeStats(virConnectPtr conn, Get get, int which, const char* what) {
  int n = 0;
  if (get(conn, which, nullptr, &n, 0) != 0 || n <= 0) return LastError(what);
  std::vector<T> out(static_cast<std::size_t>(n));
  if (get(conn, which, out.data(), &n, 0) != 0) return LastError(what);
  out.resize(static_cast<std::size_t>(n));
  return out;
}

}  // namespace

Result<std::vector<DomainStats>> LibvirtHypervisor::GetDomainStats() {
  std::vector<DomainStats> out;
  Status s = WithConnection([&](virConnectPtr conn) -> Status {
    out.clear();
    virDomainStatsRecordPtr* records = nullptr;
    const unsigned int groups = VIR_DOMAIN_STATS_STATE | VIR_DOMAIN_STATS_CPU_TOTAL | VIR_DOMAIN_STATS_VCPU |
                                VIR_DOMAIN_STATS_BALLOON | VIR_DOMAIN_STATS_BLOCK | VIR_DOMAIN_STATS_INTERFACE;
    const int n = virConnectGetAllDomainStats(conn, groups, &records, 0);
    if (n < 0) return LastError("virConnectGetAllDomainStats");
    Status result;
    for (int i = 0; i < n && result.ok(); ++i) {
      Result<DomainStats> one = FromStatsRecord(*records[i]);
      if (one.ok()) {
        out.push_back(std::move(*one));
      } else {
        result = one.status();
      }
    }
    virDomainStatsRecordListFree(records);
    return result;
  });
  if (!s.ok()) return s;
  return out;
}

Result<HostUsage> LibvirtHypervisor::GetHostUsage() {
  HostUsage out;
  Status s = WithConnection([&](virConnectPtr conn) -> Status {
    GP_ASSIGN_OR_RETURN(auto cpu, NodeStats<virNodeCPUStats>(conn, virNodeGetCPUStats, VIR_NODE_CPU_STATS_ALL_CPUS,
                                                             "virNodeGetCPUStats"));
    out.cpu_busy_ns = 0;
    for (const virNodeCPUStats& f : cpu) {
      const std::string field = f.field;
      if (field == VIR_NODE_CPU_STATS_KERNEL || field == VIR_NODE_CPU_STATS_USER) out.cpu_busy_ns += f.value;
    }
    GP_ASSIGN_OR_RETURN(auto mem, NodeStats<virNodeMemoryStats>(conn, virNodeGetMemoryStats,
                                                                VIR_NODE_MEMORY_STATS_ALL_CELLS, "virNodeGetMemoryStats"));
    std::int64_t available_kib = 0;
    for (const virNodeMemoryStats& f : mem) {
      const std::string field = f.field;
      if (field == VIR_NODE_MEMORY_STATS_TOTAL) out.memory_total_bytes = static_cast<std::int64_t>(f.value) * 1024;
      if (field == VIR_NODE_MEMORY_STATS_FREE || field == VIR_NODE_MEMORY_STATS_BUFFERS ||
          field == VIR_NODE_MEMORY_STATS_CACHED) {
        available_kib += static_cast<std::int64_t>(f.value);
      }
    }
    out.memory_available_bytes = available_kib * 1024;
    return OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

HypervisorConnection LibvirtHypervisor::Connection() const {
  std::lock_guard<std::mutex> lock(mu_);
  HypervisorConnection c;
  c.up = conn_ != nullptr && virConnectIsAlive(conn_) == 1;
  c.reconnects = std::max(0, connections_opened_ - 1);
  return c;
}

Result<DomainInfo> LibvirtHypervisor::GetDomain(const std::string& uuid) {
  DomainInfo out;
  Status s = WithConnection([&](virConnectPtr conn) -> Status {
    GP_ASSIGN_OR_RETURN(DomainHandle d, Lookup(conn, uuid));
    GP_ASSIGN_OR_RETURN(out, Describe(d.get()));
    return OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

Status LibvirtHypervisor::DefineDomain(const DomainSpec& spec) {
  GP_ASSIGN_OR_RETURN(const std::string xml, libvirt::BuildDomainXml(spec));
  return WithConnection([&](virConnectPtr conn) -> Status {
    // Name and UUID collisions get clear codes (libvirt reports both as "operation failed").
    DomainHandle by_name(virDomainLookupByName(conn, spec.name.c_str()));
    if (by_name) {
      char uuid[VIR_UUID_STRING_BUFLEN] = {};
      if (virDomainGetUUIDString(by_name.get(), uuid) != 0) return LastError("reading uuid");
      if (std::string(uuid) != spec.uuid) {
        return AlreadyExists("domain name '" + spec.name + "' is already used by domain " +
                             uuid);
      }
    } else if (LastErrorCode() != VIR_ERR_NO_DOMAIN) {
      return LastError("looking up domain " + spec.name);
    } else {
      virResetLastError();
      DomainHandle by_uuid(virDomainLookupByUUIDString(conn, spec.uuid.c_str()));
      if (by_uuid) {
        const char* old_name = virDomainGetName(by_uuid.get());
        return FailedPrecondition("domain " + spec.uuid + " is named '" +
                                  (old_name != nullptr ? old_name : "?") + "'; renaming to '" +
                                  spec.name + "' is not supported");
      }
      if (LastErrorCode() != VIR_ERR_NO_DOMAIN) return LastError("looking up " + spec.uuid);
      virResetLastError();
    }
    DomainHandle d(virDomainDefineXMLFlags(conn, xml.c_str(), VIR_DOMAIN_DEFINE_VALIDATE));
    if (!d) return LastError("defining domain " + spec.name + " (" + spec.uuid + ")");
    return OkStatus();
  });
}

Status LibvirtHypervisor::StartDomain(const std::string& uuid) {
  return WithConnection([&](virConnectPtr conn) -> Status {
    GP_ASSIGN_OR_RETURN(DomainHandle d, Lookup(conn, uuid));
    int state = 0;
    int reason = 0;
    if (virDomainGetState(d.get(), &state, &reason, 0) != 0) return LastError("domain state");
    if (state == VIR_DOMAIN_RUNNING || state == VIR_DOMAIN_BLOCKED) return OkStatus();
    if (state == VIR_DOMAIN_PAUSED) {
      if (virDomainResume(d.get()) != 0) return LastError("resuming domain " + uuid);
      return OkStatus();
    }
    if (virDomainCreate(d.get()) != 0) {
      Status s = LastError("starting domain " + uuid);
      if (s.code() == StatusCode::kFailedPrecondition && IsActive(d.get())) return OkStatus();
      return s;
    }
    return OkStatus();
  });
}

Status LibvirtHypervisor::ShutdownDomain(const std::string& uuid) {
  return WithConnection([&](virConnectPtr conn) -> Status {
    GP_ASSIGN_OR_RETURN(DomainHandle d, Lookup(conn, uuid));
    if (!IsActive(d.get())) return OkStatus();
    if (virDomainShutdown(d.get()) != 0) {
      Status s = LastError("shutting down domain " + uuid);
      if (s.code() == StatusCode::kFailedPrecondition && !IsActive(d.get())) return OkStatus();
      return s;
    }
    return OkStatus();
  });
}

Status LibvirtHypervisor::DestroyDomain(const std::string& uuid) {
  return WithConnection([&](virConnectPtr conn) -> Status {
    GP_ASSIGN_OR_RETURN(DomainHandle d, Lookup(conn, uuid));
    if (!IsActive(d.get())) return OkStatus();
    if (virDomainDestroy(d.get()) != 0) {
      Status s = LastError("destroying domain " + uuid);
      if (s.code() == StatusCode::kFailedPrecondition && !IsActive(d.get())) return OkStatus();
      return s;
    }
    return OkStatus();
  });
}

Status LibvirtHypervisor::RebootDomain(const std::string& uuid) {
  return WithConnection([&](virConnectPtr conn) -> Status {
    GP_ASSIGN_OR_RETURN(DomainHandle d, Lookup(conn, uuid));
    if (!IsActive(d.get())) {
      return FailedPrecondition("rebooting domain " + uuid + ": domain is not running");
    }
    if (virDomainReboot(d.get(), 0) != 0) return LastError("rebooting domain " + uuid);
    return OkStatus();
  });
}

Status LibvirtHypervisor::UndefineDomain(const std::string& uuid) {
  return WithConnection([&](virConnectPtr conn) -> Status {
    Result<DomainHandle> d = Lookup(conn, uuid);
    if (!d.ok()) {
      return d.status().code() == StatusCode::kNotFound ? OkStatus() : d.status();
    }
    if (IsActive(d->get())) {
      return FailedPrecondition("undefining domain " + uuid +
                                ": domain is running; destroy it first");
    }
    // Drivers reject flags they do not know (test:///default knows no NVRAM/checkpoints):
    // fall back to fewer flags on "unsupported flags".
    const unsigned int attempts[] = {
        VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA |
            VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA | VIR_DOMAIN_UNDEFINE_NVRAM,
        VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA,
        0};
    Status s;
    for (const unsigned int flags : attempts) {
      if (virDomainUndefineFlags(d->get(), flags) == 0) return OkStatus();
      const int code = LastErrorCode();
      s = LastError("undefining domain " + uuid);
      if (code == VIR_ERR_NO_DOMAIN) return OkStatus();  // raced with another undefine
      if (code != VIR_ERR_INVALID_ARG && code != VIR_ERR_NO_SUPPORT) return s;
    }
    return s;
  });
}

Status LibvirtHypervisor::CreateDisk(const std::string& path, std::int64_t size_gib) {
  if (path.empty() || path.front() != '/') {
    return InvalidArgument("disk path must be absolute: '" + path + "'");
  }
  if (size_gib < 1) return InvalidArgument("disk size_gib must be >= 1");
  return libvirt::CreateQcow2(options_.qemu_img, path, size_gib);
}

Status LibvirtHypervisor::DeleteDisk(const std::string& path) {
  if (path.empty() || path.front() != '/') {
    return InvalidArgument("disk path must be absolute: '" + path + "'");
  }
  return libvirt::RemoveFile(path);
}

Status LibvirtHypervisor::EnsureCephSecret(const std::string& uuid, const std::string& usage_name,
                                           const std::string& key_base64) {
  GP_ASSIGN_OR_RETURN(const std::string xml, libvirt::BuildCephSecretXml(uuid, usage_name));
  Result<std::string> key = libvirt::DecodeBase64(key_base64);
  if (!key.ok() || key->empty()) {
    return InvalidArgument("secret " + uuid + ": the ceph key is not base64 text");
  }
  return WithConnection([&](virConnectPtr conn) -> Status {
    SecretHandle secret(virSecretLookupByUUIDString(conn, uuid.c_str()));
    if (secret) {
      char* existing = virSecretGetXMLDesc(secret.get(), 0);
      if (existing == nullptr) return LastError("reading secret " + uuid);
      const libvirt::SecretUsage usage = libvirt::ParseSecretUsage(existing);
      free(existing);  // NOLINT
      if (usage.type != "ceph" || usage.name != usage_name) {
        return FailedPrecondition("secret " + uuid + " exists with usage " + usage.type + " '" +
                                  usage.name + "', not ceph '" + usage_name + "'");
      }
    } else {
      if (LastErrorCode() != VIR_ERR_NO_SECRET) return LastError("looking up secret " + uuid);
      virResetLastError();
      SecretHandle by_usage(
          virSecretLookupByUsage(conn, VIR_SECRET_USAGE_TYPE_CEPH, usage_name.c_str()));
      if (by_usage) {
        char other[VIR_UUID_STRING_BUFLEN] = {};
        virSecretGetUUIDString(by_usage.get(), other);
        return AlreadyExists("ceph secret usage '" + usage_name + "' is already secret " +
                             other);
      }
      if (LastErrorCode() != VIR_ERR_NO_SECRET) {
        return LastError("looking up ceph secret '" + usage_name + "'");
      }
      virResetLastError();
      secret.reset(virSecretDefineXML(conn, xml.c_str(), 0));
      if (!secret) return LastError("defining secret " + uuid);
    }
    if (virSecretSetValue(secret.get(), reinterpret_cast<const unsigned char*>(key->data()),
                          key->size(), 0) != 0) {
      return LastError("setting the value of secret " + uuid);
    }
    return OkStatus();
  });
}

Status LibvirtHypervisor::RemoveSecret(const std::string& uuid) {
  if (!IsUuid(uuid)) return InvalidArgument("bad secret uuid '" + uuid + "'");
  return WithConnection([&](virConnectPtr conn) -> Status {
    SecretHandle secret(virSecretLookupByUUIDString(conn, uuid.c_str()));
    if (!secret) {
      if (LastErrorCode() == VIR_ERR_NO_SECRET) {
        virResetLastError();
        return OkStatus();
      }
      return LastError("looking up secret " + uuid);
    }
    if (virSecretUndefine(secret.get()) != 0) {
      if (LastErrorCode() == VIR_ERR_NO_SECRET) {
        virResetLastError();
        return OkStatus();
      }
      return LastError("removing secret " + uuid);
    }
    return OkStatus();
  });
}

Status LibvirtHypervisor::AttachDisk(const std::string& domain_uuid, const DiskSpec& disk) {
  GP_ASSIGN_OR_RETURN(const std::string xml, libvirt::BuildDiskXml(disk));
  return WithConnection([&](virConnectPtr conn) -> Status {
    GP_ASSIGN_OR_RETURN(DomainHandle d, Lookup(conn, domain_uuid));
    const std::string what = "domain " + domain_uuid;
    const bool active = IsActive(d.get());
    const bool persistent = virDomainIsPersistent(d.get()) == 1;
    unsigned int flags = 0;
    if (persistent) {
      GP_ASSIGN_OR_RETURN(const std::string config, GetXml(d.get(), true, what));
      GP_ASSIGN_OR_RETURN(const bool need,
                          NeedsAttach(libvirt::ParseDiskElements(config), disk,
                                      "the definition of " + what));
      if (need) flags |= VIR_DOMAIN_AFFECT_CONFIG;
    }
    if (active) {
      GP_ASSIGN_OR_RETURN(const std::string live, GetXml(d.get(), false, what));
      GP_ASSIGN_OR_RETURN(const bool need,
                          NeedsAttach(libvirt::ParseDiskElements(live), disk, "running " + what));
      if (need) flags |= VIR_DOMAIN_AFFECT_LIVE;
    }
    if (flags == 0) return OkStatus();
    if (virDomainAttachDeviceFlags(d.get(), xml.c_str(), flags) != 0) {
      return LastError("attaching disk " + disk.target_dev + " to " + what);
    }
    return OkStatus();
  });
}

Status LibvirtHypervisor::DetachDisk(const std::string& domain_uuid, const std::string& target_dev) {
  if (target_dev.empty()) return InvalidArgument("detaching disk: empty target");
  return WithConnection([&](virConnectPtr conn) -> Status {
    GP_ASSIGN_OR_RETURN(DomainHandle d, Lookup(conn, domain_uuid));
    const std::string what = "disk " + target_dev + " of domain " + domain_uuid;
    // The definition first (synchronous): whatever the guest does, the disk will not come
    // back at the next boot.
    if (virDomainIsPersistent(d.get()) == 1) {
      GP_ASSIGN_OR_RETURN(const std::string config, GetXml(d.get(), true, what));
      const auto disks = libvirt::ParseDiskElements(config);
      if (const libvirt::DiskElement* e = FindTarget(disks, target_dev)) {
        if (virDomainDetachDeviceFlags(d.get(), e->xml.c_str(), VIR_DOMAIN_AFFECT_CONFIG) != 0) {
          return LastError("detaching " + what + " from its definition");
        }
      }
    }
    if (!IsActive(d.get())) return OkStatus();
    GP_ASSIGN_OR_RETURN(const std::string live, GetXml(d.get(), false, what));
    const auto disks = libvirt::ParseDiskElements(live);
    const libvirt::DiskElement* e = FindTarget(disks, target_dev);
    if (e == nullptr) return OkStatus();
    return DetachLiveAndWait(
        d.get(), e->xml,
        [&](const std::string& now) {
          return FindTarget(libvirt::ParseDiskElements(now), target_dev) != nullptr;
        },
        what, "DISK_DETACH_PENDING");
  });
}

Status LibvirtHypervisor::DetachLiveAndWait(virDomainPtr d, const std::string& element_xml,
                                            const std::function<bool(const std::string&)>& present,
                                            const std::string& what, const char* reason) {
  // Asks the guest to let go (QEMU device_del; libvirt waits a few seconds itself). A
  // request already pending makes QEMU refuse a second one: the wait below covers both.
  Status asked;
  if (virDomainDetachDeviceFlags(d, element_xml.c_str(), VIR_DOMAIN_AFFECT_LIVE) != 0) {
    asked = LastError("detaching " + what + " from the running guest");
  }
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.detach_timeout_ms);
  while (true) {
    if (!IsActive(d)) return OkStatus();
    Result<std::string> now = GetXml(d, false, what);
    if (!now.ok()) {
      if (!IsActive(d)) return OkStatus();
      return now.status();
    }
    if (!present(*now)) return OkStatus();
    // A refused request that is not merely a pending one: report it at once.
    if (!asked.ok() && asked.code() != StatusCode::kInternal &&
        asked.code() != StatusCode::kFailedPrecondition) {
      return asked;
    }
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(options_.detach_poll_ms));
  }
  return DeadlineExceeded("detaching " + what + ": the guest has not released it after " +
                          std::to_string(options_.detach_timeout_ms) +
                          " ms; removed from the definition, the unplug request stays "
                          "pending: call again" +
                          (asked.ok() ? std::string() : " (" + asked.message() + ")"))
      .WithReason(reason);
}

Status LibvirtHypervisor::AttachNic(const std::string& domain_uuid, const NicSpec& nic) {
  GP_ASSIGN_OR_RETURN(const std::string xml, libvirt::BuildNicXml(nic));
  return WithConnection([&](virConnectPtr conn) -> Status {
    GP_ASSIGN_OR_RETURN(DomainHandle d, Lookup(conn, domain_uuid));
    const std::string what = "domain " + domain_uuid;
    const bool active = IsActive(d.get());
    unsigned int flags = 0;
    if (virDomainIsPersistent(d.get()) == 1) {
      GP_ASSIGN_OR_RETURN(const std::string config, GetXml(d.get(), true, what));
      GP_ASSIGN_OR_RETURN(const bool need, NicNeedsAttach(libvirt::ParseNicElements(config), nic,
                                                          "the definition of " + what));
      if (need) flags |= VIR_DOMAIN_AFFECT_CONFIG;
    }
    if (active) {
      GP_ASSIGN_OR_RETURN(const std::string live, GetXml(d.get(), false, what));
      GP_ASSIGN_OR_RETURN(const bool need,
                          NicNeedsAttach(libvirt::ParseNicElements(live), nic, "running " + what));
      if (need) flags |= VIR_DOMAIN_AFFECT_LIVE;
    }
    if (flags == 0) return OkStatus();
    if (virDomainAttachDeviceFlags(d.get(), xml.c_str(), flags) != 0) {
      return LastError("attaching the NIC of port " + nic.port_id + " to " + what);
    }
    return OkStatus();
  });
}

Status LibvirtHypervisor::DetachNic(const std::string& domain_uuid, const std::string& port_id) {
  if (port_id.empty()) return InvalidArgument("detaching NIC: empty port id");
  return WithConnection([&](virConnectPtr conn) -> Status {
    GP_ASSIGN_OR_RETURN(DomainHandle d, Lookup(conn, domain_uuid));
    const std::string what = "the NIC of port " + port_id + " of domain " + domain_uuid;
    if (virDomainIsPersistent(d.get()) == 1) {
      GP_ASSIGN_OR_RETURN(const std::string config, GetXml(d.get(), true, what));
      const auto nics = libvirt::ParseNicElements(config);
      if (const libvirt::NicElement* e = FindPort(nics, port_id)) {
        if (virDomainDetachDeviceFlags(d.get(), e->xml.c_str(), VIR_DOMAIN_AFFECT_CONFIG) != 0) {
          return LastError("detaching " + what + " from its definition");
        }
      }
    }
    if (!IsActive(d.get())) return OkStatus();
    GP_ASSIGN_OR_RETURN(const std::string live, GetXml(d.get(), false, what));
    const auto nics = libvirt::ParseNicElements(live);
    const libvirt::NicElement* e = FindPort(nics, port_id);
    if (e == nullptr) return OkStatus();
    return DetachLiveAndWait(
        d.get(), e->xml,
        [&](const std::string& now) {
          return FindPort(libvirt::ParseNicElements(now), port_id) != nullptr;
        },
        what, "NIC_DETACH_PENDING");
  });
}

Status LibvirtHypervisor::ResizeDisk(const std::string& domain_uuid, const std::string& target_dev,
                                     std::int64_t size_bytes) {
  if (size_bytes < 1) return InvalidArgument("resizing disk: size_bytes must be >= 1");
  if (target_dev.empty()) return InvalidArgument("resizing disk: empty target");
  return WithConnection([&](virConnectPtr conn) -> Status {
    GP_ASSIGN_OR_RETURN(DomainHandle d, Lookup(conn, domain_uuid));
    const std::string what = "disk " + target_dev + " of domain " + domain_uuid;
    const bool active = IsActive(d.get());
    GP_ASSIGN_OR_RETURN(const std::string xml, GetXml(d.get(), !active, what));
    if (FindTarget(libvirt::ParseDiskElements(xml), target_dev) == nullptr) {
      return NotFound("resizing " + what + ": no such disk");
    }
    if (!active) return OkStatus();  // the guest reads the size at its next boot
    virDomainBlockInfo info = {};
    if (virDomainGetBlockInfo(d.get(), target_dev.c_str(), &info, 0) != 0) {
      return LastError("reading the size of " + what);
    }
    const auto wanted = static_cast<unsigned long long>(size_bytes);
    if (wanted == info.capacity) return OkStatus();
    if (wanted < info.capacity) {
      return InvalidArgument("resizing " + what + ": " + std::to_string(size_bytes) +
                             " bytes is smaller than its " + std::to_string(info.capacity) +
                             " (shrinking is not supported)");
    }
    if (virDomainBlockResize(d.get(), target_dev.c_str(), wanted,
                             VIR_DOMAIN_BLOCK_RESIZE_BYTES) != 0) {
      return LastError("resizing " + what);
    }
    return OkStatus();
  });
}

}  // namespace govpool::agent
