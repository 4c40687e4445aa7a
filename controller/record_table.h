// RecordTable<T>: one kind of stored record held in memory by id, with declared secondary
// indexes that every Put and Erase keeps consistent (a rename moves the record's entry in a
// name index; nothing is left behind). Each change is also recorded in the transaction as
// (kind, id, api::EncodeRecord(value)), so Db makes it durable.
//
// An index maps a key derived from the record (KeyOf; "" = not indexed) to the ids of the
// records with that key; a unique index holds at most one id per key (callers check
// uniqueness before they Put: the table does not refuse).
// Not synchronised: State, and Db around it, guard it.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "api/codec.h"
#include "controller/txn.h"

namespace govpool::controller {

template <class T>
const std::string& RecordId(const T& value) {
  if constexpr (requires { value.meta.id; }) {
    return value.meta.id;
  } else {
    return value.id;
  }
}

template <class T>
class RecordTable {
 public:
  using KeyOf = std::string (*)(const T&);

  RecordTable(std::string_view kind, std::vector<KeyOf> indexes)
      : kind_(kind), key_of_(std::move(indexes)), indexes_(key_of_.size()) {}

  std::string_view kind() const { return kind_; }
  const std::map<std::string, T>& all() const { return rows_; }
  std::size_t size() const { return rows_.size(); }

  const T* Find(const std::string& id) const {
    auto it = rows_.find(id);
    return it == rows_.end() ? nullptr : &it->second;
  }
  // For in-memory-only changes (e.g. a heartbeat's time) to fields no index derives from:
  // nothing is recorded in any transaction. nullptr when absent.
  T* FindForMemoryOnlyChange(const std::string& id) {
    auto it = rows_.find(id);
    return it == rows_.end() ? nullptr : &it->second;
  }
  // The (first) record whose key in index `index` is `key`, or nullptr.
  const T* FindBy(std::size_t index, const std::string& key) const {
    const std::set<std::string>& ids = IdsBy(index, key);
    return ids.empty() ? nullptr : Find(*ids.begin());
  }
  // Ids of the records whose key in index `index` is `key`.
  const std::set<std::string>& IdsBy(std::size_t index, const std::string& key) const {
    static const std::set<std::string> kNone;
    auto it = indexes_[index].find(key);
    return it == indexes_[index].end() ? kNone : it->second;
  }
  std::size_t CountBy(std::size_t index, const std::string& key) const {
    return IdsBy(index, key).size();
  }
  // Every key of index `index` with its record count.
  std::map<std::string, std::size_t> Counts(std::size_t index) const {
    std::map<std::string, std::size_t> out;
    for (const auto& [key, ids] : indexes_[index]) out[key] = ids.size();
    return out;
  }

  // Inserts or replaces `value` and records it in `txn`. Returns the previous value, if any.
  std::optional<T> Put(Txn& txn, const T& value) {
    std::optional<T> previous = Unindex(RecordId(value));
    Index(value);
    txn.Put(std::string(kind_), RecordId(value), api::EncodeRecord(value));
    rows_[RecordId(value)] = value;
    return previous;
  }
  // Removes record `id` and records the delete in `txn`. Returns the removed value, if any.
  std::optional<T> Erase(Txn& txn, const std::string& id) {
    std::optional<T> previous = Unindex(id);
    if (!previous) return previous;
    txn.Delete(std::string(kind_), RecordId(*previous));
    rows_.erase(RecordId(*previous));
    return previous;
  }
  // Adds a stored record when the state is loaded. Internal when it does not decode.
  Status Load(const std::string& id, std::string_view json) {
    auto value = api::Decode<T>(json);
    if (!value.ok()) return Internal("corrupt " + kind_ + " record " + id + ": " + value.status().message());
    Index(*value);
    rows_[id] = std::move(value).value();
    return OkStatus();
  }

 private:
  void Index(const T& value) {
    for (std::size_t i = 0; i < key_of_.size(); ++i) {
      std::string key = key_of_[i](value);
      if (!key.empty()) indexes_[i][std::move(key)].insert(RecordId(value));
    }
  }
  std::optional<T> Unindex(const std::string& id) {
    auto it = rows_.find(id);
    if (it == rows_.end()) return std::nullopt;
    for (std::size_t i = 0; i < key_of_.size(); ++i) {
      const std::string key = key_of_[i](it->second);
      if (key.empty()) continue;
      auto entry = indexes_[i].find(key);
      if (entry == indexes_[i].end()) continue;
      entry->second.erase(id);
      if (entry->second.empty()) indexes_[i].erase(entry);
    }
    return it->second;
  }

  std::string kind_;
  std::vector<KeyOf> key_of_;
  std::vector<std::unordered_map<std::string, std::set<std::string>>> indexes_;
  std::map<std::string, T> rows_;
};

}  // namespace govpool::controller
