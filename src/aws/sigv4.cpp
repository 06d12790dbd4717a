#include "aws/sigv4.hpp"

#include <algorithm>
#include <ctime>

#include <fmt/format.h>

#include "core/crypto.hpp"

namespace qecloud::aws {
namespace {

bool ieq(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Headers a proxy may change on the way; never signed (the list botocore uses).
bool unsignable(const std::string& lname) {
  static const char* const kSkip[] = {"connection",
                                      "expect",
                                      "keep-alive",
                                      "proxy-authenticate",
                                      "proxy-authorization",
                                      "te",
                                      "trailer",
                                      "transfer-encoding",
                                      "upgrade",
                                      "user-agent",
                                      "x-amzn-trace-id",
                                      "authorization"};
  return std::any_of(std::begin(kSkip), std::end(kSkip), [&](const char* s) { return lname == s; });
}

// Trim, and fold runs of white space into one space.
std::string trim_all(std::string_view v) {
  std::string out;
  bool space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f') {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

// RFC 3986 §5.2.4 plus collapsing empty segments, as AWS services other than S3 expect.
std::string remove_dot_segments(const std::string& path) {
  if (path.empty()) return "/";
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i <= path.size()) {
    std::size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    std::string seg = path.substr(i, j - i);
    if (seg == "..") {
      if (!out.empty()) out.pop_back();
    } else if (!seg.empty() && seg != ".") {
      out.push_back(seg);
    }
    i = j + 1;
  }
  std::string r = path.front() == '/' ? "/" : "";
  for (std::size_t k = 0; k < out.size(); ++k) r += (k ? "/" : "") + out[k];
  if (path.back() == '/' && !out.empty()) r += '/';
  return r;
}

struct SignedHeaders {
  std::string canonical;  // "name:value\n" for each
  std::string names;      // "a;b;c"
};

SignedHeaders signed_headers(const Request& r) {
  std::vector<std::pair<std::string, std::string>> hs;
  bool has_host = false;
  for (const auto& [name, value] : r.headers) {
    std::string l = lower(name);
    if (unsignable(l)) continue;
    has_host = has_host || l == "host";
    hs.emplace_back(l, trim_all(value));
  }
  if (!has_host) hs.emplace_back("host", lower(r.host));
  std::stable_sort(hs.begin(), hs.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  SignedHeaders out;
  for (std::size_t i = 0; i < hs.size(); ++i) {
    if (i > 0 && hs[i].first == hs[i - 1].first) {  // repeated header: values joined by commas
      out.canonical.pop_back();
      out.canonical += "," + hs[i].second + "\n";
      continue;
    }
    out.canonical += hs[i].first + ":" + hs[i].second + "\n";
    out.names += (out.names.empty() ? "" : ";") + hs[i].first;
  }
  return out;
}

std::string canonical_query(const Params& query) {
  std::vector<std::pair<std::string, std::string>> enc;
  enc.reserve(query.size());
  for (const auto& [k, v] : query) enc.emplace_back(uri_encode(k, false), uri_encode(v, false));
  std::sort(enc.begin(), enc.end());
  std::string out;
  for (const auto& [k, v] : enc) out += (out.empty() ? "" : "&") + k + "=" + v;
  return out;
}

std::string encoded_query(const Params& query) {
  std::string out;
  for (const auto& [k, v] : query)
    out += (out.empty() ? "" : "&") + uri_encode(k, false) + "=" + uri_encode(v, false);
  return out;
}

std::string credential_scope(const Scope& s) {
  return fmt::format("{}/{}/{}/aws4_request", amz_date(s.time).substr(0, 8), s.region, s.service);
}

std::string signature(const Credentials& c, const Scope& s, const std::string& to_sign) {
  std::string k = hmac_sha256("AWS4" + c.secret_access_key, amz_date(s.time).substr(0, 8));
  k = hmac_sha256(k, s.region);
  k = hmac_sha256(k, s.service);
  k = hmac_sha256(k, "aws4_request");
  return hex(hmac_sha256(k, to_sign));
}

}  // namespace

std::string Request::url() const {
  std::string q = encoded_query(query);
  return scheme + "://" + host + path + (q.empty() ? "" : "?" + q);
}

std::optional<std::string> Request::header(std::string_view name) const {
  for (const auto& [n, v] : headers)
    if (ieq(n, name)) return v;
  return std::nullopt;
}

void Request::set_header(const std::string& name, const std::string& value) {
  std::erase_if(headers, [&](const auto& h) { return ieq(h.first, name); });
  headers.emplace_back(name, value);
}

std::string uri_encode(std::string_view s, bool keep_slash) {
  static const char* digits = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(digits[c >> 4]);
      out.push_back(digits[c & 15]);
    }
  }
  return out;
}

std::string s3_object_path(std::string_view bucket, std::string_view key, bool virtual_host) {
  std::string encoded = uri_encode(key, true);
  if (virtual_host) return "/" + encoded;
  return "/" + std::string(bucket) + (key.empty() ? "" : "/" + encoded);
}

std::string amz_date(std::int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

std::string canonical_request(const Request& r, const std::string& service, std::string_view payload_hash) {
  const std::string path = service == "s3" ? r.path : uri_encode(remove_dot_segments(r.path), true);
  SignedHeaders sh = signed_headers(r);
  return fmt::format("{}\n{}\n{}\n{}\n{}\n{}", r.method, path, canonical_query(r.query), sh.canonical,
                     sh.names, payload_hash);
}

std::string string_to_sign(const std::string& canonical, const Scope& scope) {
  return fmt::format("AWS4-HMAC-SHA256\n{}\n{}\n{}", amz_date(scope.time), credential_scope(scope),
                     sha256_hex(canonical));
}

void sign(Request& r, const Credentials& c, const Scope& scope, std::string_view payload_hash) {
  r.set_header("X-Amz-Date", amz_date(scope.time));
  if (!c.session_token.empty()) r.set_header("X-Amz-Security-Token", c.session_token);
  if (scope.service == "s3") r.set_header("X-Amz-Content-SHA256", std::string(payload_hash));
  std::erase_if(r.headers, [](const auto& h) { return ieq(h.first, "authorization"); });
  const std::string canonical = canonical_request(r, scope.service, payload_hash);
  const std::string sig = signature(c, scope, string_to_sign(canonical, scope));
  r.headers.emplace_back("Authorization",
                         fmt::format("AWS4-HMAC-SHA256 Credential={}/{}, SignedHeaders={}, Signature={}",
                                     c.access_key_id, credential_scope(scope), signed_headers(r).names, sig));
}

std::string presign(const Request& request, const Credentials& c, const Scope& scope, int expires_s) {
  Request r = request;
  Params auth = {{"X-Amz-Algorithm", "AWS4-HMAC-SHA256"},
                 {"X-Amz-Credential", c.access_key_id + "/" + credential_scope(scope)},
                 {"X-Amz-Date", amz_date(scope.time)},
                 {"X-Amz-Expires", std::to_string(expires_s)},
                 {"X-Amz-SignedHeaders", signed_headers(r).names}};
  if (!c.session_token.empty()) auth.emplace_back("X-Amz-Security-Token", c.session_token);
  r.query.insert(r.query.end(), auth.begin(), auth.end());
  const std::string payload =
      scope.service == "s3" ? std::string(kUnsignedPayload) : std::string(kEmptySha256);
  const std::string sig =
      signature(c, scope, string_to_sign(canonical_request(r, scope.service, payload), scope));
  return r.url() + "&X-Amz-Signature=" + sig;
}

}  // namespace qecloud::aws
