// The NorthboundDriver contract, run against FakeNorthbound and against OvnNorthbound over the
// real OVN Northbound database (GOVPOOL_TEST_OVN_NB, else the local instance scripts/start-ovn.sh
// starts; never skips), reading by select and from its monitor_cond cache, through
// NorthboundReconciler:
//   - networks with subnets and ports are created and read back (rows, references);
//   - a converged reconcile changes nothing;
//   - drift made behind the driver's back (a port's addresses changed, a port deleted, a
//     DHCP_Options row deleted) is repaired by the next reconcile;
//   - a change made by another client is repaired by a later pass;
//   - an orphan row of ours (naming a network not desired) is removed; a row without our
//     external_ids is left alone;
//   - removing a network removes its switch, ports and DHCP options;
//   - security groups (Port_Groups with ACLs, the drop group) and a router (router ports,
//     gateway chassis, NAT, a default route, router-type and localnet switch ports) are created,
//     read back, converge, and drift in them (an ACL or a NAT row dropped) is repaired; on the
//     real database ovn-northd turns them into logical flows.
// On the real database each test's driver has its own govpool-owner, so tests (and other
// suites using the same database) never see each other's rows; every row is removed at the end.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <chrono>
#include <string>
#include <thread>

#include "common/ids.h"
#include "network/northbound.h"
#include "network/northbound_reconciler.h"
#include "network/ovn/ovn_northbound.h"
#include "network/ovsdb/ovsdb_client.h"
#include "tests/fakes/network/fake_northbound.h"
#include "tests/support/test_guest.h"

namespace govpool::network {
namespace {
namespace json = boost::json;

constexpr char kNb[] = "OVN_Northbound";
constexpr char kTestRunKey[] = "govpool-test-run";

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

// Driver plus raw access behind its back.
class Backend {
 public:
  virtual ~Backend() = default;
  virtual NorthboundDriver& driver() = 0;
  virtual void SetPortAddresses(const std::string& port, const std::vector<std::string>& addresses) = 0;
  virtual void DeletePort(const std::string& port) = 0;
  // The same change over another connection (the real database: the driver's monitor learns it
  // asynchronously).
  virtual void SetPortAddressesFromAnotherClient(const std::string& port, const std::vector<std::string>& a) {
    SetPortAddresses(port, a);
  }
  virtual void DeleteDhcpOptionsOfSubnet(const std::string& subnet_id) = 0;
  // A Logical_Switch that is ours (for this driver) naming `network_id`.
  virtual std::string InsertOurSwitch(const std::string& network_id) = 0;
  // A Logical_Switch without govpool's ids.
  virtual std::string InsertForeignSwitch(const std::string& name) = 0;
  virtual bool SwitchExists(const std::string& uuid) = 0;
  // Drop one ACL of the Port_Group named `name` (the first by match) / one NAT row of the
  // router named `name` (the first by external_ip, then logical_ip).
  virtual void RemoveFirstAclOfPortGroup(const std::string& name) = 0;
  virtual void RemoveFirstNatOfRouter(const std::string& name) = 0;
  // The real database only: ovn-northd made a logical flow whose match or actions contain
  // `text` (so OVN took our rows).
  virtual void ExpectNorthdFlowWith(const std::string& /*text*/) {}
  // The real database only: ovn-northd turned port `port` (address `ip`) and its subnet's DHCP
  // options into a logical flow answering its DHCP requests (so OVN accepted the options).
  virtual void ExpectNorthdOffersDhcp(const std::string& /*port*/, const std::string& /*ip*/) {}
  // The rows read another way (the real database by select, whatever driver() reads from).
  virtual Result<NorthboundState> ReadAnotherWay() { return driver().Read(); }
  virtual void Cleanup() {}
};

class FakeBackend final : public Backend {
 public:
  NorthboundDriver& driver() override { return nb_; }
  void SetPortAddresses(const std::string& port, const std::vector<std::string>& a) override {
    ASSERT_TRUE(nb_.SetPortAddresses(port, a));
  }
  void DeletePort(const std::string& port) override { ASSERT_TRUE(nb_.DeletePort(port)); }
  void DeleteDhcpOptionsOfSubnet(const std::string& id) override { ASSERT_TRUE(nb_.DeleteDhcpOptionsOfSubnet(id)); }
  std::string InsertOurSwitch(const std::string& network_id) override {
    return nb_.InsertSwitch("govpool-" + network_id, {{kNetworkIdKey, network_id}});
  }
  std::string InsertForeignSwitch(const std::string& name) override {
    return nb_.InsertSwitch(name, {{"owner", "someone else"}});
  }
  bool SwitchExists(const std::string& uuid) override { return nb_.SwitchExists(uuid); }
  void RemoveFirstAclOfPortGroup(const std::string& name) override { ASSERT_TRUE(nb_.RemoveFirstAclOfPortGroup(name)); }
  void RemoveFirstNatOfRouter(const std::string& name) override { ASSERT_TRUE(nb_.RemoveFirstNatOfRouter(name)); }

 private:
  FakeNorthbound nb_;
};

std::string nb_remote;  // set once by OvnBackend::Remote

class OvnBackend final : public Backend {
 public:
  static std::string Remote() {
    if (!nb_remote.empty()) return nb_remote;
    nb_remote = Env("GOVPOOL_TEST_OVN_NB");
    if (nb_remote.empty()) {
      const std::string dir =
          Env("GOVPOOL_OVN_DIR").empty() ? govpool::testing::TestStateDir() + "/ovn" : Env("GOVPOOL_OVN_DIR");
      EXPECT_EQ(govpool::testing::RunProjectScript("start-ovn.sh >/dev/null"), 0)
          << "scripts/start-ovn.sh failed (logs in " << dir << "/log)";
      nb_remote = "unix:" + dir + "/run/ovnnb_db.sock";
    }
    return nb_remote;
  }

  // monitor: Read from the driver's monitor_cond cache, else by select. The raw changes below
  // go through the driver's own Client, whose monitor sees them before their reply.
  explicit OvnBackend(bool monitor) {
    auto c = ovsdb::Client::Connect(Remote());
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    if (c.ok()) client_ = std::move(c).value();
    if (!client_) return;
    driver_ = std::make_unique<OvnNorthbound>(*client_, OvnNorthbound::Options{.db = kNb, .owner = owner_});
    if (monitor) {
      Status s = driver_->StartMonitor();
      EXPECT_TRUE(s.ok()) << s.ToString();
      if (!s.ok()) driver_.reset();
    }
  }
  bool ok() const { return driver_ != nullptr; }
  static std::string SbRemote() {
    if (!Env("GOVPOOL_OVN_SB").empty()) return Env("GOVPOOL_OVN_SB");
    std::string sb = Remote();
    const std::size_t at = sb.find("ovnnb_db.sock");
    if (at != std::string::npos) return sb.replace(at, 13, "ovnsb_db.sock");
    return "tcp:127.0.0.1:6642";
  }
  void ExpectNorthdOffersDhcp(const std::string& port, const std::string& ip) override {
    auto sb = ovsdb::Client::Connect(SbRemote());
    ASSERT_TRUE(sb.ok()) << "OVN Southbound at " << SbRemote() << ": " << sb.status().ToString();
    const std::string inport = "inport == \"" + port + "\"";
    const std::string offer = "put_dhcp_opts(offerip = " + ip + ",";
    std::string seen;
    for (int attempt = 0; attempt < 100; ++attempt) {
      auto r = (*sb)->Transact("OVN_Southbound", json::array{json::object{{"op", "select"},
                                                                       {"table", "Logical_Flow"},
                                                                       {"where", json::array{}},
                                                                       {"columns", json::array{"match", "actions"}}}});
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      for (const json::value& row : r->at(0).at("rows").as_array()) {
        const std::string match(row.at("match").as_string());
        const std::string actions(row.at("actions").as_string());
        if (match.find(inport) == std::string::npos) continue;
        if (actions.find(offer) != std::string::npos) {
          EXPECT_NE(actions.find("dns_server = {10.0.0.2, 10.0.0.3}"), std::string::npos) << actions;
          EXPECT_NE(actions.find("mtu = 1400"), std::string::npos) << actions;
          EXPECT_NE(actions.find("router = 10.0.1.1"), std::string::npos) << actions;
          return;
        }
        seen = actions;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ADD_FAILURE() << "no DHCP flow for " << port << " (" << ip << ") from ovn-northd in 10 s; last: " << seen;
  }
  void ExpectNorthdFlowWith(const std::string& text) override {
    auto sb = ovsdb::Client::Connect(SbRemote());
    ASSERT_TRUE(sb.ok()) << "OVN Southbound at " << SbRemote() << ": " << sb.status().ToString();
    for (int attempt = 0; attempt < 100; ++attempt) {
      auto r = (*sb)->Transact("OVN_Southbound", json::array{json::object{{"op", "select"},
                                                                       {"table", "Logical_Flow"},
                                                                       {"where", json::array{}},
                                                                       {"columns", json::array{"match", "actions"}}}});
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      for (const json::value& row : r->at(0).at("rows").as_array()) {
        if (std::string(row.at("match").as_string()).find(text) != std::string::npos ||
            std::string(row.at("actions").as_string()).find(text) != std::string::npos) {
          return;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ADD_FAILURE() << "no logical flow with \"" << text << "\" from ovn-northd in 10 s";
  }
  // The uuids in set column `column` of the row of `table` named `name`.
  std::vector<json::value> RefsOf(const char* table, const std::string& name, const char* column) {
    auto sel = Transact(json::array{json::object{
        {"op", "select"}, {"table", table}, {"where", WhereName(name)}, {"columns", json::array{column}}}});
    EXPECT_EQ(sel.at(0).at("rows").as_array().size(), 1u) << table << " " << name;
    std::vector<json::value> refs;
    if (sel.empty() || sel.at(0).at("rows").as_array().size() != 1) return refs;
    const json::value& v = sel.at(0).at("rows").as_array()[0].at(column);
    if (v.as_array()[0] == "set") {
      for (const json::value& e : v.as_array()[1].as_array()) refs.push_back(e);
    } else {
      refs.push_back(v);
    }
    return refs;
  }
  json::value RowOf(const char* table, const json::value& uuid) {
    auto sel = Transact(json::array{json::object{
        {"op", "select"}, {"table", table}, {"where", json::array{json::array{"_uuid", "==", uuid}}}}});
    return sel.at(0).at("rows").as_array().at(0);
  }
  // Removes from `column` of the row named `name` the referenced row with the least `key`.
  void RemoveFirstChild(const char* table, const std::string& name, const char* column, const char* child_table,
                        const std::function<std::string(const json::value&)>& key) {
    std::vector<json::value> refs = RefsOf(table, name, column);
    ASSERT_FALSE(refs.empty());
    std::string best_key;
    json::value best;
    for (const json::value& ref : refs) {
      const std::string k = key(RowOf(child_table, ref));
      if (best.is_null() || k < best_key) {
        best_key = k;
        best = ref;
      }
    }
    auto r = Transact(json::array{json::object{{"op", "mutate"},
                                               {"table", table},
                                               {"where", WhereName(name)},
                                               {"mutations", json::array{json::array{column, "delete", best}}}}});
    ASSERT_EQ(r.at(0).at("count").as_int64(), 1);
  }
  void RemoveFirstAclOfPortGroup(const std::string& name) override {
    RemoveFirstChild("Port_Group", name, "acls", "ACL",
                     [](const json::value& row) { return std::string(row.at("match").as_string()); });
  }
  void RemoveFirstNatOfRouter(const std::string& name) override {
    RemoveFirstChild("Logical_Router", name, "nat", "NAT", [](const json::value& row) {
      return std::string(row.at("external_ip").as_string()) + " " + std::string(row.at("logical_ip").as_string());
    });
  }
  Result<NorthboundState> ReadAnotherWay() override {
    return OvnNorthbound(*client_, OvnNorthbound::Options{.db = kNb, .owner = owner_}).Read();
  }
  NorthboundDriver& driver() override { return *driver_; }

  json::array Transact(json::array ops) {
    auto r = client_->Transact(kNb, std::move(ops));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(r).value() : json::array{};
  }
  static json::value Map(const StringMap& m) {
    json::array pairs;
    for (const auto& [k, v] : m) pairs.push_back(json::array{json::string(k), json::string(v)});
    return json::array{"map", std::move(pairs)};
  }
  static json::array WhereName(const std::string& name) { return json::array{json::array{"name", "==", name}}; }

  void SetPortAddresses(const std::string& port, const std::vector<std::string>& a) override {
    json::array set;
    for (const std::string& s : a) set.push_back(json::string(s));
    auto r = Transact(json::array{json::object{{"op", "update"},
                                               {"table", "Logical_Switch_Port"},
                                               {"where", WhereName(port)},
                                               {"row", json::object{{"addresses", json::array{"set", set}}}}}});
    ASSERT_EQ(r.at(0).at("count").as_int64(), 1);
  }
  void SetPortAddressesFromAnotherClient(const std::string& port, const std::vector<std::string>& a) override {
    auto other = ovsdb::Client::Connect(Remote());
    ASSERT_TRUE(other.ok()) << other.status().ToString();
    json::array set;
    for (const std::string& s : a) set.push_back(json::string(s));
    auto r = (*other)->Transact(kNb, json::array{json::object{{"op", "update"},
                                                              {"table", "Logical_Switch_Port"},
                                                              {"where", WhereName(port)},
                                                              {"row", json::object{{"addresses", json::array{"set", set}}}}}});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ(r->at(0).at("count").as_int64(), 1);
  }
  void DeletePort(const std::string& port) override {
    auto sel = Transact(json::array{json::object{{"op", "select"},
                                                 {"table", "Logical_Switch_Port"},
                                                 {"where", WhereName(port)},
                                                 {"columns", json::array{"_uuid"}}}});
    ASSERT_EQ(sel.at(0).at("rows").as_array().size(), 1u);
    const json::value uuid = sel.at(0).at("rows").as_array()[0].at("_uuid");
    auto r = Transact(json::array{
        json::object{{"op", "mutate"},
                     {"table", "Logical_Switch"},
                     {"where", json::array{json::array{"ports", "includes", uuid}}},
                     {"mutations", json::array{json::array{"ports", "delete", uuid}}}},
        json::object{{"op", "delete"}, {"table", "Logical_Switch_Port"}, {"where", WhereName(port)}}});
    ASSERT_EQ(r.at(0).at("count").as_int64(), 1);
  }
  void DeleteDhcpOptionsOfSubnet(const std::string& id) override {
    auto r = Transact(json::array{json::object{
        {"op", "delete"},
        {"table", "DHCP_Options"},
        {"where", json::array{json::array{"external_ids", "includes", Map({{kSubnetIdKey, id}})}}}}});
    ASSERT_EQ(r.at(0).at("count").as_int64(), 1);
  }
  std::string Insert(const std::string& name, const StringMap& ids) {
    auto r = Transact(json::array{json::object{
        {"op", "insert"}, {"table", "Logical_Switch"}, {"row", json::object{{"name", name}, {"external_ids", Map(ids)}}}}});
    return r.empty() ? "" : std::string(r.at(0).at("uuid").as_array().at(1).as_string());
  }
  std::string InsertOurSwitch(const std::string& network_id) override {
    return Insert("govpool-" + network_id, {{kNetworkIdKey, network_id}, {kOwnerKey, owner_}});
  }
  std::string InsertForeignSwitch(const std::string& name) override {
    return Insert(name, {{kTestRunKey, owner_}});
  }
  bool SwitchExists(const std::string& uuid) override {
    auto r = Transact(json::array{json::object{{"op", "select"},
                                               {"table", "Logical_Switch"},
                                               {"where", json::array{json::array{"_uuid", "==", json::array{"uuid", uuid}}}},
                                               {"columns", json::array{"_uuid"}}}});
    return !r.empty() && r.at(0).at("rows").as_array().size() == 1;
  }
  void Cleanup() override {
    if (!client_) return;
    Transact(json::array{json::object{
        {"op", "delete"},
        {"table", "Logical_Switch"},
        {"where", json::array{json::array{"external_ids", "includes", Map({{kTestRunKey, owner_}})}}}}});
    // Whatever a failed test left behind of ours.
    for (const char* table : {"Logical_Switch", "Port_Group", "Logical_Router", "DHCP_Options"}) {
      Transact(json::array{json::object{
          {"op", "delete"},
          {"table", table},
          {"where", json::array{json::array{"external_ids", "includes", Map({{kOwnerKey, owner_}})}}}}});
    }
  }

 private:
  std::string owner_ = "test-" + NewUuid().substr(0, 8);
  std::unique_ptr<ovsdb::Client> client_;
  std::unique_ptr<OvnNorthbound> driver_;
};

// Test data: ids unique per test, so runs never collide on the shared database.
struct Ids {
  std::string prefix = NewUuid().substr(0, 8);
  std::string net(int i) const { return prefix + "-net" + std::to_string(i); }
  std::string subnet(int i) const { return prefix + "-sub" + std::to_string(i); }
  std::string port(int i) const { return prefix + "-port" + std::to_string(i); }
};

LogicalNetwork Net(const Ids& ids, int i) {
  // Both networks use the same CIDR: tenants' address spaces overlap.
  return LogicalNetwork{.id = ids.net(i),
                        .name = "net" + std::to_string(i),
                        .mtu = 1400,
                        .subnets = {LogicalSubnet{.id = ids.subnet(i),
                                                  .cidr = "10.0.1.0/24",
                                                  .gateway_ip = "10.0.1.1",
                                                  .dns_servers = {"10.0.0.2", "10.0.0.3"},
                                                  .enable_dhcp = true}},
                        .physical_network = ""};
}

LogicalPort Port(const Ids& ids, int i, int net) {
  char mac[18];
  std::snprintf(mac, sizeof mac, "02:00:00:00:%02x:%02x", net, i);
  return LogicalPort{.id = ids.port(i), .network_id = ids.net(net), .mac = mac,
                     .ips = {"10.0.1." + std::to_string(10 + i)}, .enabled = true, .security_group_ids = {}};
}

// The changes of the first three tables (the rest zero).
NorthboundChanges Changes(TableChanges switches, TableChanges dhcp_options, TableChanges ports) {
  NorthboundChanges c;
  c.switches = switches;
  c.dhcp_options = dhcp_options;
  c.ports = ports;
  return c;
}

class NorthboundContractTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "fake") {
      backend_ = std::make_unique<FakeBackend>();
    } else {
      auto ovn = std::make_unique<OvnBackend>(/*monitor=*/GetParam() == "ovn_monitor");
      ASSERT_TRUE(ovn->ok()) << "no OVN Northbound at " << OvnBackend::Remote();
      backend_ = std::move(ovn);
    }
    reconciler_ = std::make_unique<NorthboundReconciler>(backend_->driver());
    desired_.networks = {Net(ids_, 1), Net(ids_, 2)};
    desired_.ports = {Port(ids_, 1, 1), Port(ids_, 2, 1), Port(ids_, 3, 2)};
  }
  void TearDown() override {
    if (!backend_) return;
    auto r = reconciler_->Reconcile({});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    auto state = backend_->driver().Read();
    ASSERT_TRUE(state.ok()) << state.status().ToString();
    EXPECT_TRUE(*state == NorthboundState{}) << "rows of ours left behind";
    backend_->Cleanup();
  }

  NorthboundChanges MustReconcile(const DesiredNetworks& d) {
    auto r = reconciler_->Reconcile(d);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : NorthboundChanges{};
  }
  NorthboundState MustRead() {
    auto s = backend_->driver().Read();
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? *s : NorthboundState{};
  }
  static NorthboundState Sorted(NorthboundState s) {
    auto by_uuid = [](const auto& a, const auto& b) { return a.uuid < b.uuid; };
    std::sort(s.switches.begin(), s.switches.end(), by_uuid);
    std::sort(s.dhcp_options.begin(), s.dhcp_options.end(), by_uuid);
    std::sort(s.ports.begin(), s.ports.end(), by_uuid);
    std::sort(s.port_groups.begin(), s.port_groups.end(), by_uuid);
    std::sort(s.routers.begin(), s.routers.end(), by_uuid);
    for (PortGroupRow& g : s.port_groups) std::sort(g.acls.begin(), g.acls.end(), by_uuid);
    for (RouterRow& r : s.routers) {
      std::sort(r.nat.begin(), r.nat.end(), by_uuid);
      std::sort(r.static_routes.begin(), r.static_routes.end(), by_uuid);
    }
    return s;
  }
  // Read back equals the desired state, and (on the real database) what the driver read (its
  // monitor cache, for ovn_monitor) equals what a select reads.
  void ExpectMatchesDesired() {
    NorthboundState s = MustRead();
    EXPECT_TRUE(Plan(DesiredRows(desired_), s).empty()) << "read back differs from desired";
    auto other = backend_->ReadAnotherWay();
    ASSERT_TRUE(other.ok()) << other.status().ToString();
    const NorthboundState a = Sorted(s), b = Sorted(*other);
    EXPECT_TRUE(a == b) << "the driver's read differs from a select";
  }

  Ids ids_;
  std::unique_ptr<Backend> backend_;
  std::unique_ptr<NorthboundReconciler> reconciler_;
  DesiredNetworks desired_;
};

TEST_P(NorthboundContractTest, CreatesReadsBackAndConverges) {
  EXPECT_EQ(MustReconcile(desired_),
            Changes({2, 0, 0}, {2, 0, 0}, {3, 0, 0}));
  NorthboundState s = MustRead();
  ASSERT_EQ(s.switches.size(), 2u);
  ASSERT_EQ(s.dhcp_options.size(), 2u);
  ASSERT_EQ(s.ports.size(), 3u);
  std::map<std::string, std::string> switch_of_net, dhcp_of_subnet;
  for (const SwitchRow& sw : s.switches) {
    EXPECT_EQ(sw.name, "govpool-" + sw.network_id);
    switch_of_net[sw.network_id] = sw.uuid;
  }
  for (const DhcpOptionsRow& d : s.dhcp_options) {
    EXPECT_EQ(d.cidr, "10.0.1.0/24");
    EXPECT_EQ(d.options.at("server_id"), "10.0.1.1");
    EXPECT_EQ(d.options.at("router"), "10.0.1.1");
    EXPECT_EQ(d.options.at("server_mac"), ServerMac(d.subnet_id));
    EXPECT_EQ(d.options.at("dns_server"), "{10.0.0.2, 10.0.0.3}");
    EXPECT_EQ(d.options.at("mtu"), "1400");
    dhcp_of_subnet[d.subnet_id] = d.uuid;
  }
  for (const PortRow& p : s.ports) {
    EXPECT_EQ(p.name, p.port_id);
    const int net = p.port_id == ids_.port(3) ? 2 : 1;
    EXPECT_EQ(p.network_id, ids_.net(net));
    EXPECT_EQ(p.switch_uuid, switch_of_net[ids_.net(net)]) << "held by its network's switch";
    EXPECT_EQ(p.dhcpv4_options_uuid, dhcp_of_subnet[ids_.subnet(net)]);
    ASSERT_EQ(p.addresses.size(), 1u);
    EXPECT_EQ(p.addresses, p.port_security);
    EXPECT_TRUE(p.enabled);
  }
  ExpectMatchesDesired();
  EXPECT_EQ(MustReconcile(desired_).total(), 0) << "a converged pass changes nothing";
  backend_->ExpectNorthdOffersDhcp(ids_.port(3), "10.0.1.13");

  // A port disabled and given another address: updated in place.
  desired_.ports[0].enabled = false;
  desired_.ports[0].ips = {"10.0.1.99"};
  EXPECT_EQ(MustReconcile(desired_), Changes({}, {}, {0, 1, 0}));
  ExpectMatchesDesired();
  EXPECT_EQ(MustReconcile(desired_).total(), 0);
}

TEST_P(NorthboundContractTest, DriftIsRepaired) {
  MustReconcile(desired_);
  backend_->SetPortAddresses(ids_.port(1), {"02:00:00:00:00:99 10.0.1.200"});
  backend_->DeletePort(ids_.port(2));
  backend_->DeleteDhcpOptionsOfSubnet(ids_.subnet(2));
  // port3's dhcpv4_options (a weak reference) was cleared with its row: updated to the new one.
  EXPECT_EQ(MustReconcile(desired_),
            Changes({}, {1, 0, 0}, {1, 2, 0}));
  ExpectMatchesDesired();
  EXPECT_EQ(MustReconcile(desired_).total(), 0);
}

// Level-triggered: a change made by another client is repaired by a later pass (with the
// monitor cache, once its update2 has arrived).
TEST_P(NorthboundContractTest, ChangesByOtherClientsAreRepaired) {
  MustReconcile(desired_);
  backend_->SetPortAddressesFromAnotherClient(ids_.port(1), {"02:00:00:00:00:98"});
  int updated = 0;
  for (int pass = 0; pass < 50 && updated == 0; ++pass) {
    updated = MustReconcile(desired_).ports.updated;
    if (updated == 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(updated, 1);
  ExpectMatchesDesired();
  EXPECT_EQ(MustReconcile(desired_).total(), 0);
}

TEST_P(NorthboundContractTest, OrphansAreRemovedForeignRowsLeftAlone) {
  MustReconcile(desired_);
  const std::string orphan = backend_->InsertOurSwitch(ids_.net(9));
  const std::string foreign = backend_->InsertForeignSwitch("not-govpool-" + ids_.prefix);
  ASSERT_FALSE(orphan.empty());
  ASSERT_FALSE(foreign.empty());
  EXPECT_EQ(MustReconcile(desired_), Changes({0, 0, 1}, {}, {}));
  EXPECT_FALSE(backend_->SwitchExists(orphan));
  EXPECT_TRUE(backend_->SwitchExists(foreign));
  EXPECT_EQ(MustReconcile(desired_).total(), 0);
  ExpectMatchesDesired();
  EXPECT_TRUE(backend_->SwitchExists(foreign)) << "still there after a converged pass";
}

TEST_P(NorthboundContractTest, RemovingANetworkRemovesItsPortsAndDhcpOptions) {
  MustReconcile(desired_);
  desired_.networks.pop_back();  // net2 and its port3
  desired_.ports.pop_back();
  EXPECT_EQ(MustReconcile(desired_),
            Changes({0, 0, 1}, {0, 0, 1}, {0, 0, 1}));
  NorthboundState s = MustRead();
  ASSERT_EQ(s.switches.size(), 1u);
  EXPECT_EQ(s.switches[0].network_id, ids_.net(1));
  EXPECT_EQ(s.dhcp_options.size(), 1u);
  EXPECT_EQ(s.ports.size(), 2u);
  ExpectMatchesDesired();
  // A port removed from a network that stays.
  desired_.ports.pop_back();
  EXPECT_EQ(MustReconcile(desired_), Changes({}, {}, {0, 0, 1}));
  ExpectMatchesDesired();
}

TEST_P(NorthboundContractTest, SecurityGroupsConvergeAndDriftIsRepaired) {
  const std::string sg = ids_.prefix + "-sg1", other = ids_.prefix + "-sg2";
  auto rule = [](const char* direction, const char* ethertype, const char* protocol, std::optional<int> min,
                 std::optional<int> max, const std::string& cidr, const std::string& group) {
    return SecurityGroupRule{.id = "", .direction = direction, .ethertype = ethertype, .protocol = protocol,
                             .port_min = min, .port_max = max, .remote_cidr = cidr, .remote_group_id = group};
  };
  desired_.security_groups = {
      LogicalSecurityGroup{.id = sg,
                           .name = "web",
                           .rules = {rule("ingress", "IPv4", "tcp", 80, 90, "10.9.0.0/16", ""),
                                     rule("egress", "IPv4", "any", {}, {}, "", ""),
                                     rule("ingress", "IPv4", "any", {}, {}, "", sg),
                                     rule("ingress", "IPv4", "icmp", 8, {}, "", ""),
                                     rule("egress", "IPv6", "any", {}, {}, "", "")}},
      LogicalSecurityGroup{.id = other, .name = "empty", .rules = {}}};
  desired_.ports[0].security_group_ids = {sg};
  desired_.ports[1].security_group_ids = {sg, other};
  desired_.ports[2].security_group_ids = {other};
  NorthboundChanges c = MustReconcile(desired_);
  EXPECT_EQ(c.port_groups, (TableChanges{4, 0, 0})) << "two groups, and the drop group of each network";
  EXPECT_EQ(c.acls, (TableChanges{5 + 3 + 3, 0, 0}));
  ExpectMatchesDesired();
  EXPECT_EQ(MustReconcile(desired_).total(), 0);
  backend_->ExpectNorthdFlowWith("ip4.src == 10.9.0.0/16 && tcp && tcp.dst >= 80 && tcp.dst <= 90");
  backend_->ExpectNorthdFlowWith("ip4.src == $" + SecurityGroupPortGroupName(sg) + "_ip4");

  backend_->RemoveFirstAclOfPortGroup(SecurityGroupPortGroupName(sg));
  c = MustReconcile(desired_);
  EXPECT_EQ(c.port_groups, (TableChanges{0, 1, 0}));
  EXPECT_EQ(c.acls, (TableChanges{1, 0, 0}));
  ExpectMatchesDesired();

  desired_.security_groups[0].rules.pop_back();   // a rule removed
  desired_.ports[1].security_group_ids = {sg};    // a port leaving a group
  desired_.ports[2].security_group_ids.clear();   // net2's drop group has no port left
  c = MustReconcile(desired_);
  EXPECT_EQ(c.port_groups, (TableChanges{0, 2, 1}));
  EXPECT_EQ(c.acls, (TableChanges{0, 0, 1 + 3}));
  ExpectMatchesDesired();
  EXPECT_EQ(MustReconcile(desired_).total(), 0);
}

TEST_P(NorthboundContractTest, RouterConvergesAndDriftIsRepaired) {
  LogicalNetwork ext = Net(ids_, 3);
  ext.physical_network = "physnet-" + ids_.prefix;
  ext.subnets[0].cidr = "172.16.0.0/24";
  ext.subnets[0].gateway_ip = "172.16.0.1";
  ext.subnets[0].enable_dhcp = false;
  desired_.networks.push_back(ext);
  const std::string router_id = ids_.prefix + "-r1";
  desired_.routers = {LogicalRouter{
      .id = router_id,
      .name = "edge",
      .interfaces = {RouterInterface{.subnet_id = ids_.subnet(1), .network_id = ids_.net(1), .ip = "10.0.1.1",
                                     .prefix = 24, .mac = "02:00:00:00:01:fe", .port_id = ""}},
      .gateway = RouterGateway{.network_id = ext.id, .ip = "172.16.0.10", .prefix = 24, .mac = "02:00:00:00:ff:01",
                               .gateway_chassis = {"chassis-" + ids_.prefix}, .nexthop = "172.16.0.1", .snat = true,
                               .snat_cidrs = {"10.0.1.0/24"}, .port_id = ""},
      .floating_ips = {FloatingIp{.id = ids_.prefix + "-f1", .external_ip = "172.16.0.100",
                                  .internal_ip = "10.0.1.11", .logical_port = ids_.port(1), .external_mac = "",
                                  .floating_port_id = ""}}}};
  NorthboundChanges c = MustReconcile(desired_);
  EXPECT_EQ(c.switches, (TableChanges{3, 0, 0}));
  EXPECT_EQ(c.ports, (TableChanges{3 + 3, 0, 0})) << "VM ports, the localnet port, two router-type ports";
  EXPECT_EQ(c.routers, (TableChanges{1, 0, 0}));
  EXPECT_EQ(c.router_ports, (TableChanges{2, 0, 0}));
  EXPECT_EQ(c.nat, (TableChanges{2, 0, 0}));
  EXPECT_EQ(c.static_routes, (TableChanges{1, 0, 0}));
  ExpectMatchesDesired();
  EXPECT_EQ(MustReconcile(desired_).total(), 0);
  // The gateway port is bound to a chassis (a chassisredirect port), the floating IP is NATed.
  backend_->ExpectNorthdFlowWith("is_chassis_resident(\"cr-lrp-" + router_id + "-gw\")");
  backend_->ExpectNorthdFlowWith("ip4.dst == 172.16.0.100");

  backend_->RemoveFirstNatOfRouter("govpool-" + router_id);
  c = MustReconcile(desired_);
  EXPECT_EQ(c.routers, (TableChanges{0, 1, 0}));
  EXPECT_EQ(c.nat, (TableChanges{1, 0, 0}));
  ExpectMatchesDesired();

  desired_.routers[0].floating_ips.clear();
  desired_.routers[0].gateway->gateway_chassis.push_back("chassis-b-" + ids_.prefix);
  c = MustReconcile(desired_);
  EXPECT_EQ(c.nat, (TableChanges{0, 0, 1}));
  EXPECT_EQ(c.router_ports, (TableChanges{0, 1, 0})) << "a second gateway chassis";
  ExpectMatchesDesired();
  EXPECT_EQ(MustReconcile(desired_).total(), 0);
}

INSTANTIATE_TEST_SUITE_P(Drivers, NorthboundContractTest, ::testing::Values("fake", "ovn_select", "ovn_monitor"),
                         [](const ::testing::TestParamInfo<std::string>& param_info) { return param_info.param; });

}  // namespace
}  // namespace govpool::network
