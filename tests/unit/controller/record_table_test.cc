// RecordTable: secondary indexes follow every Put and Erase (a rename leaves no stale entry),
// and every change is recorded in the transaction as the stored JSON of the record.
#include "controller/record_table.h"

#include <gtest/gtest.h>

namespace govpool::controller {
namespace {

enum { kByName, kByDepartment };

RecordTable<api::User> Users() {
  return RecordTable<api::User>(
      "user", {[](const api::User& u) { return u.name; }, [](const api::User& u) { return u.department_id; }});
}

api::User MakeUser(std::string id, std::string name, std::string department) {
  api::User u;
  u.meta.id = std::move(id);
  u.name = std::move(name);
  u.role = api::Role::kDeptMember;
  u.department_id = std::move(department);
  return u;
}

TEST(RecordTableTest, RenameMovesTheIndexEntry) {
  auto users = Users();
  Txn t(1, 0);
  users.Put(t, MakeUser("u1", "alice", "d1"));
  ASSERT_NE(users.FindBy(kByName, "alice"), nullptr);
  users.Put(t, MakeUser("u1", "alicia", "d1"));
  EXPECT_EQ(users.FindBy(kByName, "alice"), nullptr) << "the old name is free again";
  ASSERT_NE(users.FindBy(kByName, "alicia"), nullptr);
  EXPECT_EQ(users.FindBy(kByName, "alicia")->meta.id, "u1");
  EXPECT_EQ(users.CountBy(kByDepartment, "d1"), 1u);
}

TEST(RecordTableTest, GroupIndexCountsAndEraseCleansUp) {
  auto users = Users();
  Txn t(1, 0);
  users.Put(t, MakeUser("u1", "a", "d1"));
  users.Put(t, MakeUser("u2", "b", "d1"));
  users.Put(t, MakeUser("u3", "c", ""));  // "" is not indexed
  EXPECT_EQ(users.CountBy(kByDepartment, "d1"), 2u);
  EXPECT_EQ(users.CountBy(kByDepartment, ""), 0u);
  users.Put(t, MakeUser("u2", "b", "d2"));  // moved to another department
  EXPECT_EQ(users.CountBy(kByDepartment, "d1"), 1u);
  EXPECT_EQ(users.CountBy(kByDepartment, "d2"), 1u);
  ASSERT_TRUE(users.Erase(t, "u1").has_value());
  EXPECT_FALSE(users.Erase(t, "u1").has_value()) << "erasing twice is a no-op";
  EXPECT_EQ(users.CountBy(kByDepartment, "d1"), 0u);
  EXPECT_EQ(users.Counts(kByDepartment), (std::map<std::string, std::size_t>{{"d2", 1}}));
  EXPECT_EQ(users.FindBy(kByName, "a"), nullptr);
  EXPECT_EQ(users.size(), 2u);
}

TEST(RecordTableTest, ChangesAreRecordedAsStoredJson) {
  auto users = Users();
  Txn t(7, 0);
  users.Put(t, MakeUser("u1", "alice", "d1"));
  users.Erase(t, "u1");
  ASSERT_EQ(t.mutations().size(), 2u);
  EXPECT_EQ(t.mutations()[0].kind, "user");
  EXPECT_EQ(t.mutations()[0].id, "u1");
  ASSERT_TRUE(t.mutations()[0].value.has_value());
  auto back = api::Decode<api::User>(*t.mutations()[0].value);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->name, "alice");
  EXPECT_FALSE(t.mutations()[1].value.has_value()) << "a delete";
}

TEST(RecordTableTest, LoadIndexesAndRefusesCorruptRecords) {
  auto users = Users();
  ASSERT_TRUE(users.Load("u1", api::EncodeRecord(MakeUser("u1", "alice", "d1"))).ok());
  EXPECT_NE(users.FindBy(kByName, "alice"), nullptr);
  const Status bad = users.Load("u2", "{\"id\":\"u2\"}");
  EXPECT_EQ(bad.code(), StatusCode::kInternal);
  EXPECT_NE(bad.message().find("u2"), std::string::npos);
}

}  // namespace
}  // namespace govpool::controller
