// libcurl behind HttpClient. One easy handle per thread (thread_local), so keep-alive connections are reused
// by the same worker; curl_global_init runs once, before any thread starts a transfer. libcurl is loaded when
// the first client is made (core/dynamic_library.hpp), not at start: commands that never talk HTTP, the node
// agent among them, do not carry it.
#include <curl/curl.h>

#include <algorithm>
#include <cstring>
#include <mutex>

#include <fmt/format.h>

#include "aws/http.hpp"
#include "core/dynamic_library.hpp"
#include "core/error.hpp"

namespace qecloud::aws {
namespace {

// One name per line; clang-format 14 reflows X-macro lists differently on every pass.
// clang-format off
#define QECLOUD_CURL_FUNCTIONS(X) \
  X(curl_global_init)             \
  X(curl_easy_init)               \
  X(curl_easy_cleanup)            \
  X(curl_easy_reset)              \
  X(curl_easy_setopt)             \
  X(curl_easy_perform)            \
  X(curl_easy_getinfo)            \
  X(curl_easy_strerror)           \
  X(curl_slist_append)            \
  X(curl_slist_free_all)
// clang-format on

// Throws qecloud::Error (naming libcurl and why) when it cannot be loaded.
QECLOUD_DL_API(CurlApi, curl, "libcurl.so.4", "HTTP for s3:// stores and AWS; Debian package libcurl4",
               QECLOUD_CURL_FUNCTIONS)

struct Easy {
  CURL* h = curl().curl_easy_init();
  ~Easy() { curl().curl_easy_cleanup(h); }
};

struct Transfer {
  HttpRequest* req;
  HttpResponse* resp;
  std::size_t body_offset = 0;
  bool sink_refused = false;
  bool reader_aborted = false;
};

std::size_t on_header(char* data, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string line(data, size * n);
  if (line.rfind("HTTP/", 0) == 0) t->resp->headers.clear();  // a new response (after 100 Continue, say)
  auto colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    std::string value = line.substr(colon + 1);
    auto b = value.find_first_not_of(" \t");
    auto e = value.find_last_not_of(" \t\r\n");
    t->resp->headers.emplace_back(name, b == std::string::npos ? "" : value.substr(b, e - b + 1));
  }
  return size * n;
}

std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  // Only 2xx bodies go to the sink; an error document is kept for the message.
  if (t->req->body_sink && t->resp->status / 100 == 2) {
    if (!t->req->body_sink(data, size * n)) {
      t->sink_refused = true;
      return 0;
    }
    return size * n;
  }
  t->resp->body.append(data, size * n);
  return size * n;
}

std::size_t on_read(char* buf, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  if (t->req->body_reader) {
    const std::size_t k = t->req->body_reader(buf, size * n);
    if (k == kBodyReaderAbort) {
      t->reader_aborted = true;
      return CURL_READFUNC_ABORT;
    }
    return k;
  }
  std::size_t left = t->req->body.size() - t->body_offset;
  std::size_t k = std::min(left, size * n);
  std::memcpy(buf, t->req->body.data() + t->body_offset, k);
  t->body_offset += k;
  return k;
}

HttpError::Kind kind_of(CURLcode c) {
  switch (c) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
      return HttpError::Kind::kConnect;
    case CURLE_OPERATION_TIMEDOUT:
      return HttpError::Kind::kTimeout;
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
      return HttpError::Kind::kReset;
    case CURLE_WRITE_ERROR:
    case CURLE_ABORTED_BY_CALLBACK:
      return HttpError::Kind::kAborted;
    default:
      return HttpError::Kind::kOther;
  }
}

class CurlClient : public HttpClient {
 public:
  CurlClient() {
    curl();  // loads libcurl now: a missing library is an error here, not in a worker thread
    static std::once_flag once;
    std::call_once(once, [] { curl().curl_global_init(CURL_GLOBAL_DEFAULT); });
  }

  Expected<HttpResponse, HttpError> send(HttpRequest& req, const HttpTimeouts& to) override {
    thread_local Easy easy;
    CURL* h = easy.h;
    if (!h) return unexpected(HttpError{HttpError::Kind::kOther, "libcurl: cannot create a handle"});
    curl().curl_easy_reset(h);
    HttpResponse resp;
    Transfer t{&req, &resp};
    if (req.before_attempt) req.before_attempt();

    curl_slist* hs = nullptr;
    for (const auto& [n, v] : req.headers) hs = curl().curl_slist_append(hs, (n + ": " + v).c_str());
    hs = curl().curl_slist_append(hs, "Expect:");  // no 100-continue round trip
    hs = curl().curl_slist_append(hs, "Accept:");
    curl().curl_easy_setopt(h, CURLOPT_URL, req.url.c_str());
    curl().curl_easy_setopt(h, CURLOPT_HTTPHEADER, hs);
    curl().curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl().curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(to.connect.count()));
    curl().curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(to.operation.count()));
    curl().curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1024L);
    curl().curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, static_cast<long>(to.stall.count()));
    curl().curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
    curl().curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl().curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
    curl().curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 256L * 1024);
    curl().curl_easy_setopt(h, CURLOPT_UPLOAD_BUFFERSIZE, 1024L * 1024);

    const bool has_body = req.body_size || !req.body.empty() || req.method == "PUT" || req.method == "POST";
    const curl_off_t size =
        req.body_size ? static_cast<curl_off_t>(*req.body_size) : static_cast<curl_off_t>(req.body.size());
    if (req.method == "HEAD") {
      curl().curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (has_body && req.method != "GET" && req.method != "DELETE") {
      curl().curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
      curl().curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
      curl().curl_easy_setopt(h, CURLOPT_READDATA, &t);
      curl().curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, size);
      if (req.method != "PUT") curl().curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
    } else if (req.method != "GET") {
      curl().curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
    }
    // The status line is read as it arrives: the body goes to the sink only when it is a 2xx.
    curl().curl_easy_setopt(
        h, CURLOPT_HEADERFUNCTION, +[](char* d, std::size_t s, std::size_t n, void* u) {
          auto* tr = static_cast<Transfer*>(u);
          std::string_view line(d, s * n);
          if (line.rfind("HTTP/", 0) == 0) {
            auto sp = line.find(' ');
            if (sp != std::string_view::npos)
              tr->resp->status = std::atol(std::string(line.substr(sp + 1, 3)).c_str());
          }
          return on_header(d, s, n, u);
        });

    CURLcode rc = curl().curl_easy_perform(h);
    curl().curl_slist_free_all(hs);
    if (rc != CURLE_OK) {
      if (t.sink_refused) return unexpected(HttpError{HttpError::Kind::kAborted, "the download was aborted"});
      if (t.reader_aborted) return unexpected(HttpError{HttpError::Kind::kAborted, "the upload was aborted"});
      // libcurl's words about a URL may carry a presigned URL's signature: through redact(), like every
      // message for people that is made from a request.
      return unexpected(HttpError{
          kind_of(rc), redact(fmt::format("{} {}: {}", req.method, req.url, curl().curl_easy_strerror(rc)))});
    }
    curl().curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp.status);
    return resp;
  }
};

}  // namespace

std::optional<std::string> HttpResponse::header(const std::string& lower_name) const {
  for (const auto& [n, v] : headers)
    if (n == lower_name) return v;
  return std::nullopt;
}

std::shared_ptr<HttpClient> make_curl_client() {
  return std::make_shared<CurlClient>();
}

std::string redact(std::string text, const std::vector<std::string>& secrets) {
  for (const auto& s : secrets) {
    if (s.empty()) continue;
    for (auto p = text.find(s); p != std::string::npos; p = text.find(s, p + 3))
      text.replace(p, s.size(), "***");
  }
  // Header values: "Authorization: …" to the end of the line; query parameters to the next '&' or space.
  for (const char* name :
       {"Authorization:", "authorization:", "X-Amz-Security-Token:", "x-amz-security-token:"}) {
    for (auto p = text.find(name); p != std::string::npos; p = text.find(name, p + 1)) {
      auto b = p + std::strlen(name);
      auto e = text.find_first_of("\r\n", b);
      text.replace(b, (e == std::string::npos ? text.size() : e) - b, " ***");
    }
  }
  for (const char* name : {"X-Amz-Signature=", "X-Amz-Security-Token=", "X-Amz-Credential="}) {
    for (auto p = text.find(name); p != std::string::npos; p = text.find(name, p + 1)) {
      auto b = p + std::strlen(name);
      auto e = text.find_first_of("& \r\n\"'", b);
      text.replace(b, (e == std::string::npos ? text.size() : e) - b, "***");
    }
  }
  return text;
}

}  // namespace qecloud::aws
