#include "controller/webhook_dispatcher.h"

#include <vector>

#include "common/crypto.h"
#include "common/log.h"

namespace govpool::controller {

api::HeaderList SignedWebhookHeaders(const api::WebhookDelivery& d, const std::string& secret,
                                     std::int64_t unix_seconds) {
  const std::string timestamp = std::to_string(unix_seconds);
  return {{"Content-Type", "application/json"},
          {"User-Agent", "govpool-webhooks/1"},
          {"X-Govpool-Event", d.event},
          {"X-Govpool-Delivery", d.id},
          {"X-Govpool-Timestamp", timestamp},
          {"X-Govpool-Signature", "sha256=" + HmacSha256Hex(secret, timestamp + "." + d.body)}};
}

WebhookDispatcher::WebhookDispatcher(Db& db, WebhookSender& sender, WebhookDispatcherOptions options)
    : db_(db), sender_(sender), options_(options) {}

WebhookDispatcher::~WebhookDispatcher() { Stop(); }

WebhookDispatcher::Pass WebhookDispatcher::RunOnce() {
  Pass pass;
  const std::int64_t now_ms = db_.NowMs();
  const std::vector<WebhookAttempt> due =
      db_.Read([&](const State& s) { return DueWebhookDeliveries(s, now_ms, options_.batch); });
  std::vector<WebhookOutcome> outcomes;
  for (const WebhookAttempt& a : due) {
    WebhookOutcome o;
    o.delivery_id = a.delivery.id;
    Result<int> answer = sender_.Post(a.url, a.delivery.body, SignedWebhookHeaders(a.delivery, a.secret, db_.NowMs() / 1000));
    if (answer.ok()) {
      o.status = *answer;
    } else {
      o.error = answer.status().message();
    }
    if (o.status >= 200 && o.status < 300) {
      ++pass.delivered;
    } else {
      log::Info("webhook delivery failed", {{"delivery_id", a.delivery.id}, {"webhook_id", a.delivery.webhook_id},
                                            {"attempt", a.delivery.attempts + 1},
                                            {"error", o.error.empty() ? "status " + std::to_string(o.status) : o.error}});
    }
    outcomes.push_back(std::move(o));
  }
  pass.attempted = static_cast<std::int64_t>(outcomes.size());
  if (!outcomes.empty()) {
    pass.failed_for_good =
        db_.Write([&](State& s, Txn& t) { return RecordWebhookOutcomes(s, t, outcomes, options_.retry); });
  }
  if (now_ms >= next_prune_ms_) {
    next_prune_ms_ = now_ms + options_.prune_interval.count();
    const std::int64_t retain_ms = options_.retention.count();
    pass.pruned = db_.Write([&](State& s, Txn& t) { return PruneWebhookDeliveries(s, t, retain_ms); });
  }
  return pass;
}

void WebhookDispatcher::Start() {
  if (thread_.joinable()) return;
  {
    std::lock_guard lock(mu_);
    stopping_ = false;
  }
  thread_ = std::thread([this] {
    std::unique_lock lock(mu_);
    while (!stopping_) {
      lock.unlock();
      const Pass pass = RunOnce();
      lock.lock();
      // A full batch: more may be due at once.
      if (pass.attempted == static_cast<std::int64_t>(options_.batch)) continue;
      cv_.wait_for(lock, options_.interval, [this] { return stopping_; });
    }
  });
}

void WebhookDispatcher::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace govpool::controller
