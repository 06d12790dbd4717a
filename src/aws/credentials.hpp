#pragma once
// AWS credentials and the standard chain that finds them, in the standard order:
//   1. environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN
//   2. a profile: AWS_PROFILE (else "default") in AWS_SHARED_CREDENTIALS_FILE (~/.aws/credentials), then
//      AWS_CONFIG_FILE (~/.aws/config, section "profile NAME")
//   3. the ECS container endpoint (what an AWS Batch job role uses): AWS_CONTAINER_CREDENTIALS_RELATIVE_URI
//      (on http://169.254.170.2) or AWS_CONTAINER_CREDENTIALS_FULL_URI, with
//      AWS_CONTAINER_AUTHORIZATION_TOKEN or _TOKEN_FILE as the Authorization header
//   4. EC2 instance metadata, IMDSv2 (a session token first), unless AWS_EC2_METADATA_DISABLED=true;
//      AWS_EC2_METADATA_SERVICE_ENDPOINT overrides http://169.254.169.254
// Temporary credentials are refreshed before they expire. Secrets are never printed: use describe().
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "core/env.hpp"

namespace qecloud::aws {

class HttpClient;

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;
  std::optional<std::chrono::system_clock::time_point> expiration;  // none: long-lived
  std::string source;  // "environment", "profile default (~/.aws/credentials)", "container endpoint", ...
  bool empty() const { return access_key_id.empty() || secret_access_key.empty(); }
  // "AKIA…WXYZ from environment, expires 2026-11-24T12:00:00Z" — never the secret or the token.
  std::string describe() const;
};

// An INI file of the AWS kind: sections of `key = value`. Returns section → key → value.
std::map<std::string, std::map<std::string, std::string>> read_aws_ini(const std::string& path);

class CredentialChain {
 public:
  // `http` is used for the container and instance-metadata endpoints; `container_host` is where a
  // RELATIVE_URI points (169.254.170.2 on ECS; tests give a loopback address).
  CredentialChain(EnvLookup env, std::shared_ptr<HttpClient> http,
                  std::string container_host = "http://169.254.170.2");
  // Current credentials, refreshed when they expire within five minutes. Throws qecloud::Error naming every
  // link that was tried when none has credentials.
  Credentials get();

 private:
  std::optional<Credentials> from_environment();
  std::optional<Credentials> from_profile(std::string& tried);
  std::optional<Credentials> from_container(std::string& tried);
  std::optional<Credentials> from_instance_metadata(std::string& tried);
  Credentials resolve();

  EnvLookup env_;
  std::shared_ptr<HttpClient> http_;
  std::string container_host_;
  std::mutex mu_;
  std::optional<Credentials> cached_;
};

// Region: AWS_REGION, AWS_DEFAULT_REGION, then `region` of the profile in ~/.aws/config; nullopt if none.
std::optional<std::string> resolve_region(const EnvLookup& env);

// Endpoint override for a service ("s3", "batch", ...): AWS_ENDPOINT_URL_<SERVICE>, then AWS_ENDPOINT_URL,
// then `endpoint_url` of the profile in ~/.aws/config; nullopt means the service's public endpoint.
std::optional<std::string> resolve_endpoint(const EnvLookup& env, const std::string& service);

}  // namespace qecloud::aws
