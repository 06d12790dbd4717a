#pragma once
// HTTP for the AWS clients: one narrow interface (so unit tests can fake the network) and its libcurl
// implementation with connect, stall and whole-operation timeouts. No retries here: aws/client.hpp retries.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/expected.hpp"

namespace qecloud::aws {

using Headers = std::vector<std::pair<std::string, std::string>>;

// What a body reader returns when it cannot produce the rest of the body (a file that cannot be read).
inline constexpr std::size_t kBodyReaderAbort = static_cast<std::size_t>(-1);

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  Headers headers;
  // The body: `body` in memory, or `body_size` bytes produced by `body_reader` (called with a buffer and its
  // size; returns how many bytes it wrote — a file range, say — or kBodyReaderAbort to stop the transfer,
  // which then fails as HttpError::Kind::kAborted). A request may be sent again on retry, so a reader must be
  // restartable: `before_attempt` is called before each attempt.
  std::string body;
  std::optional<std::uint64_t> body_size;
  std::function<std::size_t(char*, std::size_t)> body_reader;
  std::function<void()> before_attempt;  // reset a body reader or a response sink
  // Where the response body goes; empty: into HttpResponse::body. Returns false to abort the transfer.
  std::function<bool(const char*, std::size_t)> body_sink;
};

struct HttpResponse {
  long status = 0;
  Headers headers;   // names in lower case
  std::string body;  // unless a body_sink took it
  std::optional<std::string> header(const std::string& lower_name) const;
};

struct HttpError {
  enum class Kind { kConnect, kTimeout, kReset, kAborted, kOther } kind = Kind::kOther;
  std::string message;  // what libcurl said, with the host; never headers
};

struct HttpTimeouts {
  std::chrono::milliseconds connect{5000};
  std::chrono::milliseconds operation{0};  // 0: no limit (large transfers); stalls are caught below
  std::chrono::seconds stall{30};          // abort when under 1 KiB/s for this long
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  virtual Expected<HttpResponse, HttpError> send(HttpRequest& request, const HttpTimeouts& timeouts) = 0;
};

// libcurl; one easy handle per thread, reused so connections stay open. Thread-safe.
std::shared_ptr<HttpClient> make_curl_client();

// Replaces the values of secrets in text meant for people: Authorization, X-Amz-Security-Token,
// X-Amz-Signature and X-Amz-Credential query parameters, and any `secret` given.
std::string redact(std::string text, const std::vector<std::string>& secrets = {});

}  // namespace qecloud::aws
