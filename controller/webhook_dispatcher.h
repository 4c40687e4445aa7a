// WebhookDispatcher: works through the durable queue of webhook deliveries (docs/departments.md,
// "Notifications"). The services queue a delivery in the transaction of the change it tells of;
// each pass here takes what is due (DueWebhookDeliveries), POSTs it through the WebhookSender
// seam outside any lock, then records the outcomes in one write: delivered on a 2xx answer,
// otherwise retried after a doubling back-off (WebhookRetryPolicy) until max_attempts, then
// failed for good (an event says so). Delivery is at least once: a crash between the POST and
// the write of its outcome sends it again, with the same X-Govpool-Delivery id.
//
// Each POST is signed: X-Govpool-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>"
// keyed with the webhook's secret>, with the timestamp (Unix seconds) in X-Govpool-Timestamp, so
// a receiver checks who sent it and refuses an old one replayed.
//
// Thread-safety: RunOnce() from one thread at a time (the dispatcher's own once started);
// Start() and Stop() from the owner's thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "api/http_message.h"
#include "common/result.h"
#include "controller/db.h"
#include "controller/services/services.h"

namespace govpool::controller {

// Where the POSTs go: an HTTP(S) client in the daemon (controller/webhook_http_sender.h), a
// fake in tests. Called from the dispatcher's thread only.
class WebhookSender {
 public:
  virtual ~WebhookSender() = default;
  // POSTs `body` (JSON) to `url` with `headers`; the receiver's HTTP status whatever it is, or
  // why no answer came (Unavailable, DeadlineExceeded, InvalidArgument).
  virtual Result<int> Post(const std::string& url, const std::string& body, const api::HeaderList& headers) = 0;
};

struct WebhookDispatcherOptions {
  std::chrono::milliseconds interval{1'000};  // between passes when nothing was due
  std::size_t batch = 32;                     // deliveries per pass at most
  WebhookRetryPolicy retry;
  std::chrono::milliseconds retention{std::chrono::hours(24 * 7)};  // of delivered and failed ones
  std::chrono::milliseconds prune_interval{std::chrono::minutes(10)};
};

// The headers of one signed delivery (see above), sent at Unix time `unix_seconds`.
api::HeaderList SignedWebhookHeaders(const api::WebhookDelivery& d, const std::string& secret,
                                     std::int64_t unix_seconds);

class WebhookDispatcher {
 public:
  // `db` and `sender` must outlive the dispatcher.
  WebhookDispatcher(Db& db, WebhookSender& sender, WebhookDispatcherOptions options = {});
  ~WebhookDispatcher();  // Stop()s

  struct Pass {
    std::int64_t attempted = 0;
    std::int64_t delivered = 0;
    std::int64_t failed_for_good = 0;
    std::int64_t pruned = 0;
  };
  // Sends what is due now (Db's clock), records the outcomes; prunes old deliveries every
  // prune_interval (judged by Db's clock too).
  Pass RunOnce();

  void Start();  // the dispatching thread: RunOnce, again at once while full batches come, else every interval
  void Stop();   // stops and joins it; a POST under way finishes first (its timeout bounds the wait)

 private:
  Db& db_;
  WebhookSender& sender_;
  const WebhookDispatcherOptions options_;
  std::int64_t next_prune_ms_ = 0;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace govpool::controller
