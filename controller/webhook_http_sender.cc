#include "controller/webhook_http_sender.h"

#include "api/client/http_client.h"

namespace govpool::controller {

Result<int> HttpWebhookSender::Post(const std::string& url, const std::string& body, const api::HeaderList& headers) {
  GP_ASSIGN_OR_RETURN(api::HttpUrl parsed, api::ParseHttpUrl(url));
  api::ClientOptions client_options;
  client_options.base_url = parsed.origin;
  client_options.ca_file = options_.ca_file;
  client_options.timeout_ms = options_.timeout_ms;
  GP_ASSIGN_OR_RETURN(std::unique_ptr<api::HttpClient> client, api::HttpClient::Create(client_options));
  GP_ASSIGN_OR_RETURN(api::HttpResponse answer, client->Send("POST", parsed.target, body, headers));
  return answer.status;
}

}  // namespace govpool::controller
