#include "controller/watch_hub.h"

#include <algorithm>
#include <utility>

#include "controller/services/services.h"

namespace govpool::controller {

WatchHub::WatchHub(Db& db, WatchHubOptions options) : db_(db), options_(options) {
  thread_ = std::thread([this] { Loop(); });
}

WatchHub::~WatchHub() {
  std::vector<Waiter> left;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    left.swap(waiters_);
    held_per_host_.clear();
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  for (auto& w : left) w.done(Unavailable("the controller is stopping; watch again"));
}

std::size_t WatchHub::held() const {
  std::lock_guard lock(mu_);
  return waiters_.size();
}

void WatchHub::CatchUp(const State& s) {
  const auto& events = s.host_events();
  const bool behind = indexed_revision_ < s.oldest_watchable_revision();
  if (!indexed_ || behind || s.revision() < indexed_revision_) {
    // First use, fell behind the bounded log, or the state was reloaded: full scan. Every
    // host counts as changed now, so held watches get a fresh (level-triggered) answer.
    vms_by_host_.clear();
    for (auto& [host, rev] : changed_at_) rev = s.revision();
    for (const auto& [id, vm] : s.vms()) {
      vms_by_host_[vm.host_id].insert(id);
      auto& rev = changed_at_[vm.host_id];
      rev = std::max(rev, indexed_ ? s.revision() : vm.meta.revision);
    }
    // Changes the log still remembers (deleted VMs, storage records) count too.
    for (const auto& e : events) {
      auto& rev = changed_at_[e.host_id];
      rev = std::max(rev, e.revision);
    }
    indexed_ = true;
    indexed_revision_ = s.revision();
    return;
  }
  if (s.revision() == indexed_revision_) return;
  auto it = std::upper_bound(events.begin(), events.end(), indexed_revision_,
                             [](std::int64_t r, const HostEvent& e) { return r < e.revision; });
  for (; it != events.end(); ++it) {
    if (it->is_vm) {
      const api::Vm* vm = s.FindVm(it->object_id);
      if (vm && vm->host_id == it->host_id) {
        vms_by_host_[it->host_id].insert(it->object_id);
      } else {
        auto h = vms_by_host_.find(it->host_id);
        if (h != vms_by_host_.end()) {
          h->second.erase(it->object_id);
          if (h->second.empty()) vms_by_host_.erase(h);
        }
      }
    }
    auto& rev = changed_at_[it->host_id];
    rev = std::max(rev, it->revision);
  }
  indexed_revision_ = s.revision();
}

WatchResult WatchHub::Snapshot(const State& s, const std::string& host_id) const {
  WatchResult r;
  r.revision = s.revision();
  auto h = vms_by_host_.find(host_id);
  if (h != vms_by_host_.end()) {
    r.items.reserve(h->second.size());
    for (const auto& id : h->second) {
      if (const api::Vm* vm = s.FindVm(id)) r.items.push_back(RenderVm(s, *vm));
    }
  }
  AddVmPorts(s, r);
  AddStorageWork(s, host_id, r);
  return r;
}

void WatchHub::Deliver(Callback done, WatchResult result) {
  auto shared = std::make_shared<WatchResult>(std::move(result));
  db_.WhenDurable([done = std::move(done), shared](Status s) {
    if (!s.ok()) {
      done(s);
      return;
    }
    done(std::move(*shared));
  });
}

void WatchHub::Watch(const std::string& host_id, std::int64_t after_revision,
                     std::int64_t timeout_ms, Callback done) {
  std::optional<WatchResult> now;
  {
    std::lock_guard lock(mu_);
    if (stopping_) {
      done(Unavailable("the controller is stopping; watch again"));
      return;
    }
    db_.Read([&](const State& s) {
      CatchUp(s);
      auto changed = changed_at_.find(host_id);
      const bool answer_now = timeout_ms <= 0 || after_revision <= 0 ||
                              after_revision < s.oldest_watchable_revision() ||
                              after_revision > s.revision() ||
                              (changed != changed_at_.end() && changed->second > after_revision);
      if (answer_now) now = Snapshot(s, host_id);
      return 0;
    });
    if (!now) {
      int& held_for_host = held_per_host_[host_id];
      if (held_for_host >= options_.max_held_per_host || waiters_.size() >= options_.max_held) {
        if (held_for_host == 0) held_per_host_.erase(host_id);
        done(ResourceExhausted(waiters_.size() >= options_.max_held
                                   ? "the controller holds " + std::to_string(waiters_.size()) +
                                         " watches, its limit; watch again later"
                                   : "host " + host_id + " already has " + std::to_string(held_for_host) +
                                         " watches held, its limit; watch again later"));
        return;
      }
      ++held_for_host;
      waiters_.push_back({host_id, after_revision,
                          std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms),
                          std::move(done)});
      cv_.notify_all();
      return;
    }
  }
  Deliver(std::move(done), std::move(*now));
}

void WatchHub::Loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    if (waiters_.empty()) {
      cv_.wait(lock, [&] { return stopping_ || !waiters_.empty(); });
      continue;
    }
    cv_.wait_for(lock, std::chrono::milliseconds(options_.tick_ms));
    if (stopping_) break;
    std::vector<std::pair<Callback, WatchResult>> ready;
    const auto now = std::chrono::steady_clock::now();
    db_.Read([&](const State& s) {
      CatchUp(s);
      auto keep = waiters_.begin();
      for (auto it = waiters_.begin(); it != waiters_.end(); ++it) {
        auto changed = changed_at_.find(it->host_id);
        const bool fire = now >= it->deadline ||
                          (changed != changed_at_.end() && changed->second > it->after_revision);
        if (fire) {
          ready.emplace_back(std::move(it->done), Snapshot(s, it->host_id));
          if (auto held = held_per_host_.find(it->host_id); held != held_per_host_.end() && --held->second <= 0) {
            held_per_host_.erase(held);
          }
        } else {
          if (keep != it) *keep = std::move(*it);
          ++keep;
        }
      }
      waiters_.erase(keep, waiters_.end());
      return 0;
    });
    if (ready.empty()) continue;
    lock.unlock();
    for (auto& [done, result] : ready) Deliver(std::move(done), std::move(result));
    lock.lock();
  }
}

}  // namespace govpool::controller
