#pragma once
// One AWS service endpoint: signs each attempt with fresh credentials and the current time, sends it, and
// retries by the standard policy — exponential backoff with full jitter (a random delay in
// [0, min(20 s, 2^attempt s)]) on connection errors, timeouts, HTTP 500/502/503/504, 429 and throttling
// codes (SlowDown, Throttling, ...) and BadDigest (a body changed on the way), up to max_attempts
// (AWS_MAX_ATTEMPTS, default 5).
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "aws/credentials.hpp"
#include "aws/http.hpp"
#include "aws/sigv4.hpp"

namespace qecloud::aws {

struct AwsError {
  long status = 0;      // 0: no HTTP response (connection, timeout)
  std::string code;     // "NoSuchKey", "SignatureDoesNotMatch", "connection", ...
  std::string message;  // the service's message, or libcurl's
  std::string request_id;
  int attempts = 0;
  std::string text() const;  // "HTTP 403 SignatureDoesNotMatch: … (request id …, after 1 attempt)"
};

struct RetryPolicy {
  int max_attempts = 5;
  std::chrono::milliseconds max_backoff{20000};
  std::chrono::milliseconds base{1000};  // the first retry waits up to this long
};
RetryPolicy retry_policy(const EnvLookup& env);  // AWS_MAX_ATTEMPTS overrides max_attempts

struct Endpoint {
  std::string scheme = "https";
  std::string host;       // hostname[:port]
  std::string base_path;  // a path prefix of a custom endpoint URL ("" mostly)
};
Endpoint parse_endpoint(const std::string& url);  // throws qecloud::UsageError when malformed

class AwsClient {
 public:
  AwsClient(std::string service, std::string region, Endpoint endpoint,
            std::shared_ptr<CredentialChain> creds, std::shared_ptr<HttpClient> http, RetryPolicy policy);

  // `req` carries method, path, query and headers (scheme and host are filled in from the endpoint);
  // `body` the bytes to send, described by `payload_hash` (hex SHA-256 or kUnsignedPayload). Returns the
  // 2xx response, or the error of the last attempt. A 3xx/4xx other than throttling is not retried.
  Expected<HttpResponse, AwsError> send(Request req, HttpRequest body, const std::string& payload_hash,
                                        const HttpTimeouts& timeouts = {});

  const Endpoint& endpoint() const { return endpoint_; }
  const std::string& region() const { return region_; }
  CredentialChain& credentials() { return *creds_; }

 private:
  std::string service_, region_;
  Endpoint endpoint_;
  std::shared_ptr<CredentialChain> creds_;
  std::shared_ptr<HttpClient> http_;
  RetryPolicy policy_;
};

// Reads the error code and message from an S3 (XML) or JSON-protocol error body.
void parse_error_body(const std::string& body, std::string& code, std::string& message);
bool is_retryable(long status, const std::string& code);

}  // namespace qecloud::aws
