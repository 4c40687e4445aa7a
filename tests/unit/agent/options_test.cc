// govpool-agent's command line: names, defaults, both spellings, the environment, help, and a
// message naming the flag for every kind of mistake.
#include "agent/options.h"

#include <cstdlib>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace govpool::agent {
namespace {

// argv for ParseAgentFlags; argv[0] is the program.
struct Args {
  explicit Args(std::vector<std::string> a) : storage(std::move(a)) {
    storage.insert(storage.begin(), "govpool-agent");
    for (auto& s : storage) ptrs.push_back(s.data());
    ptrs.push_back(nullptr);
  }
  int argc() { return static_cast<int>(storage.size()); }
  char** argv() { return ptrs.data(); }
  std::vector<std::string> storage;
  std::vector<char*> ptrs;
};

Result<AgentOptions> Parse(std::vector<std::string> args) {
  Args a(std::move(args));
  return ParseAgentFlags(a.argc(), a.argv());
}

// The message of a refused command line ("" when it was accepted). --token-file is added
// unless `with_token` is false.
std::string Error(std::vector<std::string> args, bool with_token = true) {
  if (with_token) args.insert(args.begin(), {"--token-file", "t"});
  auto r = Parse(std::move(args));
  if (r.ok()) return "";
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  return r.status().message();
}

class AgentOptionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::unsetenv("GOVPOOL_CONTROLLER_URL");
    ::unsetenv("GOVPOOL_AGENT_TOKEN_FILE");
  }
  void TearDown() override { SetUp(); }
};

TEST_F(AgentOptionsTest, Defaults) {
  auto o = Parse({"--token-file", "t"});
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_FALSE(o->help);
  EXPECT_EQ(o->controller_url, "https://127.0.0.1:8080");
  EXPECT_EQ(o->token_file, "t");
  EXPECT_EQ(o->host_name, "");
  EXPECT_EQ(o->pool, "");
  EXPECT_EQ(o->libvirt_uri, "qemu:///system");
  EXPECT_EQ(o->domain_type, "auto");
  EXPECT_EQ(o->state_dir, "/var/lib/govpool-agent");
  EXPECT_EQ(o->disk_dir, "");
  EXPECT_EQ(o->console_dir, "");
  EXPECT_EQ(o->guest_kernel, "");
  EXPECT_EQ(o->guest_initrd, "");
  EXPECT_EQ(o->guest_cmdline, "console=ttyS0 panic=-1");
  EXPECT_EQ(o->reconcile_interval_s, 10);
  EXPECT_EQ(o->heartbeat_interval_s, 10);
  EXPECT_EQ(o->shutdown_grace_s, 30);
  EXPECT_EQ(o->min_memory_mib, 96);
  EXPECT_EQ(o->simulate_hosts, 0);
  EXPECT_EQ(o->sim_workers, 4);
  EXPECT_EQ(o->sim_poll_ms, 1000);
  EXPECT_EQ(o->sim_prefix, "sim");
  EXPECT_EQ(o->log_level, log::Level::kInfo);
  EXPECT_EQ(o->ceph_cluster, "ceph");
  EXPECT_EQ(o->ceph_conf, "");
  EXPECT_EQ(o->ceph_client_id, "admin");
  EXPECT_EQ(o->ceph_keyring, "");
  EXPECT_EQ(o->image_staging_dir, "");
}

TEST_F(AgentOptionsTest, MetricsListenerAndTheAddressAdvertised) {
  auto o = Parse({"--token-file", "t", "--metrics-listen", "0.0.0.0:9478", "--metrics-token-file", "/etc/m"});
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->metrics_host, "0.0.0.0");
  EXPECT_EQ(o->metrics_port, 9478);
  EXPECT_EQ(MetricsAdvertisedAddress(*o, "node-1.example.org"), "node-1.example.org:9478") << "wildcard: the host name";
  auto v6 = Parse({"--token-file", "t", "--metrics-listen", "[fd00::5]:9478"});
  ASSERT_TRUE(v6.ok()) << v6.status().ToString();
  EXPECT_EQ(v6->metrics_host, "fd00::5");
  EXPECT_EQ(MetricsAdvertisedAddress(*v6, "n"), "[fd00::5]:9478");
  auto advertised = Parse({"--token-file", "t", "--metrics-listen", "127.0.0.1:9478", "--metrics-advertise", "10.0.0.7:19478"});
  ASSERT_TRUE(advertised.ok());
  EXPECT_EQ(MetricsAdvertisedAddress(*advertised, "n"), "10.0.0.7:19478");
  auto none = Parse({"--token-file", "t"});
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(MetricsAdvertisedAddress(*none, "n"), "") << "no listener, nothing to scrape";

  EXPECT_NE(Error({"--metrics-listen", "9478"}).find("HOST:PORT"), std::string::npos);
  EXPECT_NE(Error({"--metrics-listen", "h:0"}).find("1..65535"), std::string::npos);
  EXPECT_NE(Error({"--metrics-listen", "h:70000"}), "");
  EXPECT_NE(Error({"--metrics-listen", "fd00::5:9478"}).find("brackets"), std::string::npos);
  EXPECT_NE(Error({"--metrics-token-file", "/etc/m"}).find("need --metrics-listen"), std::string::npos);
  EXPECT_NE(Error({"--metrics-listen", "h:1", "--metrics-tls-cert", "c"}).find("go together"), std::string::npos);
}

TEST_F(AgentOptionsTest, CephFlags) {
  auto o = Parse({"--token-file", "t", "--ceph-cluster", "east", "--ceph-conf=/etc/ceph/east.conf",
                  "--ceph-client-id", "govpool", "--ceph-keyring=/k", "--image-staging-dir", "/staging"});
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->ceph_cluster, "east");
  EXPECT_EQ(o->ceph_conf, "/etc/ceph/east.conf");
  EXPECT_EQ(o->ceph_client_id, "govpool");
  EXPECT_EQ(o->ceph_keyring, "/k");
  EXPECT_EQ(o->image_staging_dir, "/staging");
  EXPECT_NE(Error({"--ceph-client-id", "client.admin"}).find("--ceph-client-id"), std::string::npos);
  EXPECT_NE(Error({"--ceph-cluster="}).find("--ceph-cluster"), std::string::npos);
  const std::string help = AgentHelp();
  for (const char* text : {"--ceph-cluster NAME", "--ceph-conf FILE", "--ceph-client-id ID", "--ceph-keyring FILE",
                           "--image-staging-dir DIR", "STATE_DIR/images"}) {
    EXPECT_NE(help.find(text), std::string::npos) << text << " not in:\n" << help;
  }
}

TEST_F(AgentOptionsTest, BackupClusters) {
  auto o = Parse({"--token-file", "t", "--ceph-conf", "/etc/ceph/ceph.conf", "--ceph-backup-cluster",
                  "offsite=/etc/ceph/offsite.conf", "--ceph-backup-cluster=dr=/etc/ceph/dr.conf"});
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->ceph_backup_clusters,
            (std::map<std::string, std::string>{{"dr", "/etc/ceph/dr.conf"}, {"offsite", "/etc/ceph/offsite.conf"}}));
  EXPECT_NE(Error({"--ceph-conf", "c", "--ceph-backup-cluster", "offsite"}).find("NAME=CONF"), std::string::npos);
  EXPECT_NE(Error({"--ceph-conf", "c", "--ceph-backup-cluster", "ceph=/x.conf"}).find("twice"), std::string::npos)
      << "the agent's own cluster's name";
  EXPECT_NE(Error({"--ceph-conf", "c", "--ceph-backup-cluster", "a=/1", "--ceph-backup-cluster", "a=/2"}).find("twice"),
            std::string::npos);
  EXPECT_NE(Error({"--ceph-backup-cluster", "a=/1"}).find("--ceph-conf"), std::string::npos);
  EXPECT_NE(AgentHelp().find("--ceph-backup-cluster NAME=FILE"), std::string::npos) << AgentHelp();
}

TEST_F(AgentOptionsTest, EveryFlagInBothSpellings) {
  auto o = Parse({"--controller", "https://c:8443", "--token-file=/etc/t", "--host-name", "node-1",
                  "--pool=gold", "--libvirt-uri", "qemu:///session", "--domain-type=qemu",
                  "--state-dir", "/s", "--disk-dir=/d", "--console-dir", "/c", "--guest-kernel", "k",
                  "--guest-initrd=i", "--guest-cmdline", "console=ttyS0 panic=-1 quiet",
                  "--reconcile-interval-seconds", "5", "--heartbeat-interval-seconds=6",
                  "--shutdown-grace-seconds", "0", "--min-memory-mib=0", "--simulate-hosts", "3",
                  "--sim-workers=2", "--sim-poll-ms", "10", "--sim-prefix=load", "--log-level", "debug"});
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->controller_url, "https://c:8443");
  EXPECT_EQ(o->token_file, "/etc/t");
  EXPECT_EQ(o->host_name, "node-1");
  EXPECT_EQ(o->pool, "gold");
  EXPECT_EQ(o->libvirt_uri, "qemu:///session");
  EXPECT_EQ(o->domain_type, "qemu");
  EXPECT_EQ(o->state_dir, "/s");
  EXPECT_EQ(o->disk_dir, "/d");
  EXPECT_EQ(o->console_dir, "/c");
  EXPECT_EQ(o->guest_kernel, "k");
  EXPECT_EQ(o->guest_initrd, "i");
  EXPECT_EQ(o->guest_cmdline, "console=ttyS0 panic=-1 quiet");
  EXPECT_EQ(o->reconcile_interval_s, 5);
  EXPECT_EQ(o->heartbeat_interval_s, 6);
  EXPECT_EQ(o->shutdown_grace_s, 0);
  EXPECT_EQ(o->min_memory_mib, 0);
  EXPECT_EQ(o->simulate_hosts, 3);
  EXPECT_EQ(o->sim_workers, 2);
  EXPECT_EQ(o->sim_poll_ms, 10);
  EXPECT_EQ(o->sim_prefix, "load");
  EXPECT_EQ(o->log_level, log::Level::kDebug);
}

TEST_F(AgentOptionsTest, TheEnvironmentSetsDefaultsAndFlagsWin) {
  ::setenv("GOVPOOL_CONTROLLER_URL", "http://env:1", 1);
  ::setenv("GOVPOOL_AGENT_TOKEN_FILE", "/env/token", 1);
  auto o = Parse({});
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->controller_url, "http://env:1");
  EXPECT_EQ(o->token_file, "/env/token");
  o = Parse({"--controller", "http://flag:2", "--token-file", "flag"});
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->controller_url, "http://flag:2");
  EXPECT_EQ(o->token_file, "flag");
}

TEST_F(AgentOptionsTest, MistakesNameTheFlag) {
  EXPECT_EQ(Error({"--controller", "http://c:1"}, false),
            "--token-file is required with an http:// controller (an agent user's token); over https:// the agent "
            "may enrol instead (--enrolment-token-file)");
  EXPECT_EQ(Error({}, false), "") << "https:// by default: the agent's certificate is its credential";
  EXPECT_EQ(Error({"--simulate-hosts", "3"}, false),
            "--simulate-hosts needs --token-file (one token for all the simulated hosts)");
  EXPECT_EQ(Error({"--enrolment-token-file", "e"}),
            "--token-file and --enrolment-token-file do not go together: a token, or a certificate");
  EXPECT_EQ(Error({"--controller", "http://c:1", "--ca-file", "ca.crt"}), "--ca-file needs an https:// controller");
  EXPECT_EQ(Error({"--nope"}), "unknown flag --nope (see --help)");
  EXPECT_EQ(Error({"stray"}), "unexpected argument 'stray' (see --help)");
  EXPECT_EQ(Error({"--pool"}), "--pool needs a value");
  EXPECT_EQ(Error({"--domain-type", "xen"}), "--domain-type must be kvm, qemu or auto, not 'xen'");
  EXPECT_EQ(Error({"--controller", "ftp://c"}), "--controller must be an http:// or https:// URL, not 'ftp://c'");
  EXPECT_EQ(Error({"--guest-kernel", "k"}), "--guest-kernel and --guest-initrd go together");
  EXPECT_EQ(Error({"--guest-initrd", "i"}), "--guest-kernel and --guest-initrd go together");
  EXPECT_EQ(Error({"--log-level", "loud"}).rfind("--log-level: log level must be", 0), 0u);
  const std::vector<std::pair<std::string, std::string>> out_of_range = {
      {"--reconcile-interval-seconds", "0"}, {"--heartbeat-interval-seconds", "3601"},
      {"--shutdown-grace-seconds", "-1"},    {"--min-memory-mib", "1048577"},
      {"--simulate-hosts", "0"},             {"--sim-workers", "65"},
      {"--sim-poll-ms", "9"},                {"--sim-workers", "two"}};
  for (const auto& [flag, value] : out_of_range) {
    const std::string e = Error({flag, value});
    EXPECT_EQ(e.rfind(flag + ":", 0), 0u) << flag << " " << value << ": " << e;
  }
}

TEST_F(AgentOptionsTest, NetworkingIsOffWithoutOvnRemote) {
  auto o = Parse({"--token-file", "t"});
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_FALSE(o->networking());
  EXPECT_EQ(o->ovs_db, "unix:/var/run/openvswitch/db.sock");
  EXPECT_EQ(o->ovn_rundir, "/var/run/ovn");
  EXPECT_EQ(o->ovn_bridge, "br-int");
  EXPECT_EQ(o->ovn_system_id, "");
  EXPECT_EQ(o->ovn_datapath_type, "");
}

TEST_F(AgentOptionsTest, NetworkingFlags) {
  auto o = Parse({"--token-file", "t", "--ovn-remote", "tcp:10.0.0.1:6642", "--ovn-encap-ip=10.0.0.11",
                  "--ovn-system-id", "chassis-1", "--ovs-db", "unix:/run/ovs/db.sock", "--ovn-rundir", "/run/ovn",
                  "--ovn-bridge", "br-x", "--ovn-datapath-type", "netdev"});
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_TRUE(o->networking());
  EXPECT_EQ(o->ovn_remote, "tcp:10.0.0.1:6642");
  EXPECT_EQ(o->ovn_encap_ip, "10.0.0.11");
  EXPECT_EQ(o->ovn_system_id, "chassis-1");
  EXPECT_EQ(o->ovs_db, "unix:/run/ovs/db.sock");
  EXPECT_EQ(o->ovn_rundir, "/run/ovn");
  EXPECT_EQ(o->ovn_bridge, "br-x");
  EXPECT_EQ(o->ovn_datapath_type, "netdev");

  EXPECT_NE(Error({"--ovn-remote", "tcp:10.0.0.1:6642"}).find("--ovn-encap-ip"), std::string::npos);
  EXPECT_NE(Error({"--ovn-remote", "10.0.0.1:6642", "--ovn-encap-ip", "10.0.0.11"}).find("--ovn-remote must be"),
            std::string::npos);
  EXPECT_NE(Error({"--ovn-remote", "tcp:a:1", "--ovn-encap-ip", "1.2.3.4", "--ovs-db", "/db.sock"}).find("--ovs-db"),
            std::string::npos);
  EXPECT_NE(Error({"--ovn-remote", "tcp:a:1", "--ovn-encap-ip", "1.2.3.4", "--ovn-datapath-type", "dpdk"})
                .find("--ovn-datapath-type"),
            std::string::npos);
  EXPECT_NE(Error({"--ovn-encap-ip", "1.2.3.4"}).find("need --ovn-remote"), std::string::npos);
}

TEST_F(AgentOptionsTest, HelpNeedsNoTokenAndListsEveryFlag) {
  for (const char* flag : {"--help", "-h"}) {
    auto o = Parse({flag});
    ASSERT_TRUE(o.ok()) << o.status().ToString();
    EXPECT_TRUE(o->help);
  }
  const std::string help = AgentHelp();
  for (const char* text :
       {"--controller URL", "GOVPOOL_CONTROLLER_URL", "--token-file FILE", "GOVPOOL_AGENT_TOKEN_FILE",
        "required", "--host-name NAME", "--pool NAME", "--libvirt-uri URI", "qemu:///system",
        "--domain-type kvm|qemu|auto", "--state-dir DIR", "/var/lib/govpool-agent", "--disk-dir DIR",
        "STATE_DIR/disks", "--console-dir DIR", "--guest-kernel FILE", "--guest-initrd FILE",
        "--guest-cmdline TEXT", "--reconcile-interval-seconds N", "--heartbeat-interval-seconds N",
        "--shutdown-grace-seconds N", "hard power-off", "--min-memory-mib N", "--simulate-hosts N",
        "--sim-workers N", "--sim-poll-ms N", "--sim-prefix NAME", "--log-level LEVEL", "--ovn-remote REMOTE",
        "--ovn-encap-ip IP", "--ovn-system-id NAME", "--ovs-db REMOTE", "--ovn-rundir DIR", "--ovn-bridge NAME",
        "--ovn-datapath-type TYPE"}) {
    EXPECT_NE(help.find(text), std::string::npos) << text << " not in:\n" << help;
  }
}

}  // namespace
}  // namespace govpool::agent
