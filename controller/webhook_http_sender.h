// HttpWebhookSender: the daemon's WebhookSender, over the API client's HttpClient (HTTPS
// verified against `ca_file`, or the system's trust store). A connection per POST: receivers
// are many and each is written to rarely. Redirects are not followed (a 3xx is a failure),
// and only the status of the answer is used, so a webhook URL cannot be made to read from
// the controller's network.
#pragma once

#include <string>

#include "controller/webhook_dispatcher.h"

namespace govpool::controller {

struct HttpWebhookSenderOptions {
  std::string ca_file;  // empty: the system's trust store
  int timeout_ms = 10'000;
};

class HttpWebhookSender final : public WebhookSender {
 public:
  explicit HttpWebhookSender(HttpWebhookSenderOptions options) : options_(std::move(options)) {}
  Result<int> Post(const std::string& url, const std::string& body, const api::HeaderList& headers) override;

 private:
  const HttpWebhookSenderOptions options_;
};

}  // namespace govpool::controller
