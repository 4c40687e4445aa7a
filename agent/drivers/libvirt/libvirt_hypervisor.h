// LibvirtHypervisor: the Hypervisor seam implemented with the libvirt C API, over one
// connection URI ("qemu:///system" in production, "test:///default" in tests). The only code in
// govpool that includes <libvirt/...> (this header does not, so users need no libvirt headers).
//
// Connection handling: the connection is opened by Open() and shared by all calls. When a call
// fails because the connection broke (libvirtd restarted or died), the connection is dropped,
// reopened, and the call is retried once; if libvirtd is still away the call returns
// kUnavailable and the next call tries to reconnect again. Restarting libvirtd does not disturb
// running guests (QEMU processes outlive it), so callers just see one kUnavailable at most.
// Connections are opened on a helper thread and waited for with a timeout (a hung libvirtd
// accepts the socket but never answers). Daemon connections use libvirt keepalive (a process-wide libvirt event-loop thread is started
// on first Open), so a hung libvirtd fails calls with kUnavailable after ~20 s instead of
// blocking them forever.
//
// Root disks are local qcow2 files made with qemu-img (see qemu_img.h for why not storage
// volumes). Data volumes may be Ceph RBD images that QEMU opens itself (librbd) with a cephx
// key kept in a libvirt secret; they are hot-plugged with virDomainAttachDeviceFlags.
//
// Thread-safety: safe for concurrent use; libvirt connections are themselves thread-safe and the
// connection pointer is guarded by a mutex.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "agent/drivers/hypervisor.h"
#include "common/result.h"
#include "common/status.h"

struct _virConnect;  // libvirt's connection, opaque here
struct _virDomain;   // libvirt's domain handle, opaque here

namespace govpool::agent {

struct LibvirtOptions {
  std::string uri = "qemu:///system";
  std::string qemu_img = "qemu-img";  // looked up in PATH
  // How long a call waits for a (re)connection. virConnectOpen has no timeout of its own and
  // blocks forever on a hung libvirtd; past this the call returns kUnavailable and the open
  // goes on in the background (the next call picks it up).
  int connect_timeout_ms = 10000;
  // How long DetachDisk waits for a running guest to release a disk (kDeadlineExceeded past
  // it), and how often it looks meanwhile.
  int detach_timeout_ms = 30000;
  int detach_poll_ms = 100;
};

struct LibvirtOpenAttempt;  // a virConnectOpen running on its own thread

class LibvirtHypervisor final : public Hypervisor {
 public:
  // Connects to options.uri (virConnectOpen). kUnavailable when libvirtd does not answer.
  static Result<std::unique_ptr<LibvirtHypervisor>> Open(LibvirtOptions options);
  ~LibvirtHypervisor() override;  // virConnectClose
  LibvirtHypervisor(const LibvirtHypervisor&) = delete;
  LibvirtHypervisor& operator=(const LibvirtHypervisor&) = delete;

  const std::string& uri() const { return options_.uri; }
  // How many times the connection has been (re)opened, for tests and metrics.
  int connections_opened() const;
  Result<std::vector<DomainStats>> GetDomainStats() override;
  Result<HostUsage> GetHostUsage() override;
  HypervisorConnection Connection() const override;

  Result<HostFacts> GetHostFacts() override;
  Result<std::vector<DomainInfo>> ListDomains() override;
  Result<DomainInfo> GetDomain(const std::string& uuid) override;
  Status DefineDomain(const DomainSpec& spec) override;
  Status StartDomain(const std::string& uuid) override;
  Status ShutdownDomain(const std::string& uuid) override;
  Status DestroyDomain(const std::string& uuid) override;
  Status RebootDomain(const std::string& uuid) override;
  Status UndefineDomain(const std::string& uuid) override;
  Status CreateDisk(const std::string& path, std::int64_t size_gib) override;
  Status DeleteDisk(const std::string& path) override;
  Status EnsureCephSecret(const std::string& uuid, const std::string& usage_name,
                          const std::string& key_base64) override;
  Status RemoveSecret(const std::string& uuid) override;
  Status AttachDisk(const std::string& domain_uuid, const DiskSpec& disk) override;
  Status DetachDisk(const std::string& domain_uuid, const std::string& target_dev) override;
  Status ResizeDisk(const std::string& domain_uuid, const std::string& target_dev,
                    std::int64_t size_bytes) override;
  Status AttachNic(const std::string& domain_uuid, const NicSpec& nic) override;
  Status DetachNic(const std::string& domain_uuid, const std::string& port_id) override;

 private:
  explicit LibvirtHypervisor(LibvirtOptions options);

  // A referenced connection (release with virConnectClose), opening one when there is none.
  Result<_virConnect*> AcquireConnection();
  // Forgets `conn` as the shared connection if it still is (it broke).
  void DropConnection(_virConnect* conn);
  // Runs fn on a connection; on kUnavailable (connection broke) reconnects and retries once.
  template <typename Fn>
  Status WithConnection(Fn&& fn);
  // Asks the running domain `d` to release the device `element_xml` (a disk or NIC element of
  // its live XML), then waits up to options_.detach_timeout_ms until `present(live XML)` is
  // false: OK then (or once the domain stopped); kDeadlineExceeded with `reason` past it.
  Status DetachLiveAndWait(_virDomain* d, const std::string& element_xml,
                           const std::function<bool(const std::string&)>& present,
                           const std::string& what, const char* reason);

  const LibvirtOptions options_;
  mutable std::mutex mu_;
  _virConnect* conn_ = nullptr;  // guarded by mu_
  std::shared_ptr<LibvirtOpenAttempt> opening_;  // guarded by mu_; at most one at a time
  int connections_opened_ = 0;   // guarded by mu_
};

}  // namespace govpool::agent
