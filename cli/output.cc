// Context's printing: the one translation unit that instantiates the field walker (fields.h)
// and the tables for every api type govpoolctl prints.
#include "cli/context.h"
#include "cli/fields.h"

namespace govpool::cli {
namespace {

template <class T>
void Object(std::ostream& out, bool json, const T& value) {
  if (json) {
    out << api::Encode(value) << "\n";
  } else {
    out << FormatFields(FieldsOf(value));
  }
}

template <class T>
void List(std::ostream& out, bool json, bool wide, const std::vector<T>& items,
          const std::vector<Column<T>>& columns) {
  if (json) {
    out << api::Encode(api::ListPage<T>{items, ""}) << "\n";
  } else {
    out << FormatTable(columns, items, wide);
  }
}

}  // namespace

void Context::PrintObject(const api::Department& v) { Object(out_, json(), v); }
void Context::PrintObject(const api::Flavor& v) { Object(out_, json(), v); }
void Context::PrintObject(const api::Host& v) { Object(out_, json(), v); }
void Context::PrintObject(const api::Vm& v) { Object(out_, json(), v); }
void Context::PrintObject(const api::ServerGroup& v) { Object(out_, json(), v); }
void Context::PrintObject(const api::User& v) { Object(out_, json(), v); }
void Context::PrintObject(const api::NewTokenAnswer& v) { Object(out_, json(), v); }
void Context::PrintObject(const api::SessionAnswer& v) { Object(out_, json(), v); }
void Context::PrintObject(const api::PasswordResetAnswer& v) { Object(out_, json(), v); }
void Context::PrintObject(const api::TotpEnrolmentAnswer& v) { Object(out_, json(), v); }
void Context::PrintObject(const api::RecoveryCodesAnswer& v) { Object(out_, json(), v); }
void Context::PrintObject(const api::LoginAnswer& v) { Object(out_, json(), v); }
void Context::PrintObject(const api::StoragePool& v) { Object(out_, json(), v); }
void Context::PrintObject(const api::Volume& v) { Object(out_, json(), v); }
void Context::PrintObject(const api::VolumeSnapshot& v) { Object(out_, json(), v); }
void Context::PrintObject(const api::Image& v) { Object(out_, json(), v); }
void Context::PrintObject(const api::BackupPolicy& v) { Object(out_, json(), v); }
void Context::PrintObject(const api::CapacityRequest& v) { Object(out_, json(), v); }
void Context::PrintObject(const api::Webhook& v) { Object(out_, json(), v); }
void Context::PrintObject(const api::WebhookDelivery& v) { Object(out_, json(), v); }
void Context::PrintObject(const api::Backup& v) { Object(out_, json(), v); }
void Context::PrintObject(const api::Network& v) { Object(out_, json(), v); }
void Context::PrintObject(const api::SecurityGroup& v) { Object(out_, json(), v); }
void Context::PrintObject(const api::Router& v) { Object(out_, json(), v); }
void Context::PrintObject(const api::FloatingIp& v) { Object(out_, json(), v); }
void Context::PrintObject(const api::Subnet& v) { Object(out_, json(), v); }
void Context::PrintObject(const api::Port& v) { Object(out_, json(), v); }

void Context::PrintList(const std::vector<api::Department>& items,
                        const std::vector<Column<api::Department>>& columns) {
  List(out_, json(), wide(), items, columns);
}
void Context::PrintList(const std::vector<api::Flavor>& items,
                        const std::vector<Column<api::Flavor>>& columns) {
  List(out_, json(), wide(), items, columns);
}
void Context::PrintList(const std::vector<api::Host>& items,
                        const std::vector<Column<api::Host>>& columns) {
  List(out_, json(), wide(), items, columns);
}
void Context::PrintList(const std::vector<api::Vm>& items, const std::vector<Column<api::Vm>>& columns) {
  List(out_, json(), wide(), items, columns);
}
void Context::PrintList(const std::vector<api::ServerGroup>& items,
                        const std::vector<Column<api::ServerGroup>>& columns) {
  List(out_, json(), wide(), items, columns);
}
void Context::PrintList(const std::vector<api::User>& items,
                        const std::vector<Column<api::User>>& columns) {
  List(out_, json(), wide(), items, columns);
}
void Context::PrintList(const std::vector<api::Token>& items,
                        const std::vector<Column<api::Token>>& columns) {
  List(out_, json(), wide(), items, columns);
}
void Context::PrintList(const std::vector<api::Event>& items,
                        const std::vector<Column<api::Event>>& columns) {
  List(out_, json(), wide(), items, columns);
}

void Context::PrintList(const std::vector<api::StoragePool>& items,
                        const std::vector<Column<api::StoragePool>>& columns) {
  List(out_, json(), wide(), items, columns);
}
void Context::PrintList(const std::vector<api::Volume>& items,
                        const std::vector<Column<api::Volume>>& columns) {
  List(out_, json(), wide(), items, columns);
}
void Context::PrintList(const std::vector<api::VolumeSnapshot>& items,
                        const std::vector<Column<api::VolumeSnapshot>>& columns) {
  List(out_, json(), wide(), items, columns);
}
void Context::PrintList(const std::vector<api::Image>& items,
                        const std::vector<Column<api::Image>>& columns) {
  List(out_, json(), wide(), items, columns);
}

void Context::PrintList(const std::vector<api::CapacityRequest>& items,
                        const std::vector<Column<api::CapacityRequest>>& columns) {
  List(out_, json(), wide(), items, columns);
}
void Context::PrintList(const std::vector<api::Webhook>& items, const std::vector<Column<api::Webhook>>& columns) {
  List(out_, json(), wide(), items, columns);
}
void Context::PrintList(const std::vector<api::WebhookDelivery>& items,
                        const std::vector<Column<api::WebhookDelivery>>& columns) {
  List(out_, json(), wide(), items, columns);
}
void Context::PrintList(const std::vector<api::BackupPolicy>& items,
                        const std::vector<Column<api::BackupPolicy>>& columns) {
  List(out_, json(), wide(), items, columns);
}
void Context::PrintList(const std::vector<api::Backup>& items,
                        const std::vector<Column<api::Backup>>& columns) {
  List(out_, json(), wide(), items, columns);
}
void Context::PrintList(const std::vector<api::Network>& items,
                        const std::vector<Column<api::Network>>& columns) {
  List(out_, json(), wide(), items, columns);
}
void Context::PrintList(const std::vector<api::Subnet>& items,
                        const std::vector<Column<api::Subnet>>& columns) {
  List(out_, json(), wide(), items, columns);
}
void Context::PrintList(const std::vector<api::Port>& items, const std::vector<Column<api::Port>>& columns) {
  List(out_, json(), wide(), items, columns);
}
void Context::PrintList(const std::vector<api::SecurityGroup>& items,
                        const std::vector<Column<api::SecurityGroup>>& columns) {
  List(out_, json(), wide(), items, columns);
}
void Context::PrintList(const std::vector<api::Router>& items, const std::vector<Column<api::Router>>& columns) {
  List(out_, json(), wide(), items, columns);
}
void Context::PrintList(const std::vector<api::FloatingIp>& items,
                        const std::vector<Column<api::FloatingIp>>& columns) {
  List(out_, json(), wide(), items, columns);
}

}  // namespace govpool::cli
