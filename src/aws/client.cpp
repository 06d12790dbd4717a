#include "aws/client.hpp"

#include <algorithm>
#include <cmath>
#include <random>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "core/env.hpp"
#include "core/error.hpp"

namespace qecloud::aws {
namespace {

std::string xml_element(const std::string& body, const std::string& name) {
  auto b = body.find("<" + name + ">");
  if (b == std::string::npos) return "";
  b += name.size() + 2;
  auto e = body.find("</" + name + ">", b);
  return e == std::string::npos ? "" : body.substr(b, e - b);
}

std::chrono::milliseconds backoff(const RetryPolicy& p, int attempt) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  double cap = std::min<double>(static_cast<double>(p.max_backoff.count()),
                                static_cast<double>(p.base.count()) * std::pow(2.0, attempt - 1));
  return std::chrono::milliseconds(static_cast<long>(std::uniform_real_distribution<double>(0, cap)(rng)));
}

}  // namespace

std::string AwsError::text() const {
  std::string out = status ? fmt::format("HTTP {} {}", status, code) : code;
  if (!message.empty()) out += ": " + message;
  std::vector<std::string> notes;
  if (!request_id.empty()) notes.push_back("request id " + request_id);
  if (attempts > 1) notes.push_back(fmt::format("after {} attempts", attempts));
  if (!notes.empty()) out += " (" + fmt::format("{}", fmt::join(notes, ", ")) + ")";
  return out;
}

RetryPolicy retry_policy(const EnvLookup& env) {
  RetryPolicy p;
  // 0 means "no retries" to some SDKs; here it is one attempt, like 1.
  p.max_attempts = std::max(1, env_integer(env, "AWS_MAX_ATTEMPTS", p.max_attempts, 0, 100));
  return p;
}

Endpoint parse_endpoint(const std::string& url) {
  auto s = url.find("://");
  if (s == std::string::npos || s == 0) throw UsageError(fmt::format("endpoint URL '{}' has no scheme", url));
  Endpoint e;
  e.scheme = url.substr(0, s);
  if (e.scheme != "http" && e.scheme != "https")
    throw UsageError(fmt::format("endpoint URL '{}': only http and https are supported", url));
  auto p = url.find('/', s + 3);
  e.host = url.substr(s + 3, p == std::string::npos ? std::string::npos : p - s - 3);
  if (e.host.empty()) throw UsageError(fmt::format("endpoint URL '{}' has no host", url));
  const std::string def = e.scheme == "https" ? ":443" : ":80";
  if (e.host.size() > def.size() && e.host.compare(e.host.size() - def.size(), def.size(), def) == 0)
    e.host.resize(e.host.size() - def.size());
  if (p != std::string::npos) e.base_path = url.substr(p);
  while (!e.base_path.empty() && e.base_path.back() == '/') e.base_path.pop_back();
  return e;
}

void parse_error_body(const std::string& body, std::string& code, std::string& message) {
  if (body.find("<Error") != std::string::npos || body.find("<ErrorResponse") != std::string::npos) {
    code = xml_element(body, "Code");
    message = xml_element(body, "Message");
    return;
  }
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_object()) {
    std::string t = j.value("__type", j.value("code", std::string()));
    code = t.substr(t.find('#') == std::string::npos ? 0 : t.find('#') + 1);
    message = j.value("message", j.value("Message", std::string()));
  }
}

bool is_retryable(long status, const std::string& code) {
  static const char* const kThrottling[] = {
      "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
      "TooManyRequestsException", "ProvisionedThroughputExceededException", "TransactionInProgressException",
      "RequestLimitExceeded", "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled",
      "SlowDown", "PriorRequestNotComplete", "EC2ThrottledException", "RequestTimeout",
      "RequestTimeoutException", "InternalError",
      // the body changed on the way (Content-MD5 mismatch): sending it again is the cure
      "BadDigest"};
  if (status == 0 || status == 429 || status == 500 || status == 502 || status == 503 || status == 504)
    return true;
  return std::any_of(std::begin(kThrottling), std::end(kThrottling),
                     [&](const char* c) { return code == c; });
}

AwsClient::AwsClient(std::string service, std::string region, Endpoint endpoint,
                     std::shared_ptr<CredentialChain> creds, std::shared_ptr<HttpClient> http,
                     RetryPolicy policy)
    : service_(std::move(service)),
      region_(std::move(region)),
      endpoint_(std::move(endpoint)),
      creds_(std::move(creds)),
      http_(std::move(http)),
      policy_(policy) {}

Expected<HttpResponse, AwsError> AwsClient::send(Request req, HttpRequest body,
                                                 const std::string& payload_hash,
                                                 const HttpTimeouts& timeouts) {
  req.scheme = endpoint_.scheme;
  req.host = endpoint_.host;
  req.path = endpoint_.base_path + req.path;
  AwsError last;
  for (int attempt = 1; attempt <= policy_.max_attempts; ++attempt) {
    if (attempt > 1) std::this_thread::sleep_for(backoff(policy_, attempt - 1));
    Request signed_req = req;
    const auto now = std::chrono::system_clock::now();
    sign(signed_req, creds_->get(), Scope{service_, region_, std::chrono::system_clock::to_time_t(now)},
         payload_hash);
    body.method = signed_req.method;
    body.url = signed_req.url();
    body.headers = signed_req.headers;
    auto r = http_->send(body, timeouts);
    last = AwsError{};
    last.attempts = attempt;
    if (!r) {
      if (r.error().kind == HttpError::Kind::kAborted) {
        last.code = "aborted";
        last.message = r.error().message;
        return unexpected(last);
      }
      last.code = r.error().kind == HttpError::Kind::kTimeout ? "timeout" : "connection";
      last.message = r.error().message;
      continue;
    }
    if (r->status / 100 == 2) return std::move(*r);
    last.status = r->status;
    parse_error_body(r->body, last.code, last.message);
    if (last.code.empty())
      last.code = r->status == 404 ? "NotFound" : r->status == 403 ? "Forbidden" : "Error";
    last.request_id = r->header("x-amz-request-id").value_or(r->header("x-amzn-requestid").value_or(""));
    if (!is_retryable(r->status, last.code)) return unexpected(last);
  }
  return unexpected(last);
}

}  // namespace qecloud::aws
