#pragma once
// AWS Signature Version 4, pure: no clock, no network, no environment. The caller gives the time and the
// payload hash; the same request and inputs always give the same bytes (checked against botocore's signer on
// generated requests by tests/integration/aws).
//
// S3 differs from the other services in two ways, both chosen by service == "s3": the path is signed as sent
// (the key is percent-encoded once, by s3_object_path), where other services' paths are normalised and
// encoded a second time; and S3 requests carry the payload hash in an x-amz-content-sha256 header.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "aws/credentials.hpp"

namespace qecloud::aws {

using Params = std::vector<std::pair<std::string, std::string>>;

// A request as it will go on the wire.
struct Request {
  std::string method = "GET";
  std::string scheme = "https";
  std::string host;        // hostname[:port] — the port only when not the scheme's default
  std::string path = "/";  // as sent, already percent-encoded
  Params query;            // decoded names and values, in the order they are sent
  Params headers;          // names in any case; no Host (derived from `host`)
  std::string url() const;
  // The value of a header (case-insensitive name), or nullopt.
  std::optional<std::string> header(std::string_view name) const;
  void set_header(const std::string& name, const std::string& value);  // replaces any of that name
};

struct Scope {
  std::string service;    // "s3", "batch", "logs", "iam", "sts", ...
  std::string region;     // "us-east-1"
  std::int64_t time = 0;  // signing time, Unix seconds (UTC)
};

inline constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";
inline constexpr std::string_view kEmptySha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

// Adds x-amz-date, x-amz-security-token (when the credentials have a session token), x-amz-content-sha256
// (S3) and Authorization. `payload_hash` is the lower-case hex SHA-256 of the body, or kUnsignedPayload.
void sign(Request& request, const Credentials& credentials, const Scope& scope,
          std::string_view payload_hash);

// A presigned URL (query-string authentication) valid for `expires_s` seconds from scope.time.
std::string presign(const Request& request, const Credentials& credentials, const Scope& scope,
                    int expires_s);

// The pieces, exposed for tests and for --debug output (never the key or the signature's inputs' secret).
std::string canonical_request(const Request& request, const std::string& service,
                              std::string_view payload_hash);
std::string string_to_sign(const std::string& canonical_request, const Scope& scope);
std::string amz_date(std::int64_t unix_seconds);  // 20261124T101500Z

// RFC 3986 percent-encoding of every byte except A-Z a-z 0-9 - _ . ~ (and '/' when keep_slash).
std::string uri_encode(std::string_view s, bool keep_slash);
// "/bucket/key" (path style) or "/key" (virtual-host style), the key encoded as S3 wants it.
std::string s3_object_path(std::string_view bucket, std::string_view key, bool virtual_host);

}  // namespace qecloud::aws
