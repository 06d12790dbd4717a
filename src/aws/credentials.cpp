#include "aws/credentials.hpp"

#include <cstdlib>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "aws/http.hpp"
#include "core/error.hpp"

namespace qecloud::aws {
namespace {

constexpr auto kRefreshBefore = std::chrono::minutes(5);

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

std::string home_path(const EnvLookup& env, const std::string& rel) {
  auto home = env("HOME");
  return (home ? *home : std::string(".")) + "/" + rel;
}

std::string credentials_file(const EnvLookup& env) {
  auto f = env("AWS_SHARED_CREDENTIALS_FILE");
  return f ? *f : home_path(env, ".aws/credentials");
}

std::string config_file(const EnvLookup& env) {
  auto f = env("AWS_CONFIG_FILE");
  return f ? *f : home_path(env, ".aws/config");
}

std::string profile_name(const EnvLookup& env) {
  auto p = env("AWS_PROFILE");
  return p && !p->empty() ? *p : "default";
}

// The profile's section of ~/.aws/config ("default" or "profile NAME"); empty when absent.
std::map<std::string, std::string> config_profile(const EnvLookup& env) {
  auto ini = read_aws_ini(config_file(env));
  const std::string name = profile_name(env);
  if (auto it = ini.find("profile " + name); it != ini.end()) return it->second;
  if (name == "default")
    if (auto it = ini.find("default"); it != ini.end()) return it->second;
  return {};
}

// 2026-11-24T12:00:00Z (also with fractional seconds or +00:00) → time_point.
std::optional<std::chrono::system_clock::time_point> parse_iso8601(const std::string& s) {
  std::tm tm{};
  if (!strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm)) return std::nullopt;
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

std::string iso8601(std::chrono::system_clock::time_point t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// The JSON the container endpoint and IMDS both return.
Credentials from_json(const std::string& body, const std::string& source) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("AccessKeyId") || !j.contains("SecretAccessKey"))
    throw Error(fmt::format("{}: the response is not a credentials document", source));
  Credentials c;
  c.access_key_id = j["AccessKeyId"].get<std::string>();
  c.secret_access_key = j["SecretAccessKey"].get<std::string>();
  c.session_token = j.value("Token", std::string());
  if (j.contains("Expiration")) c.expiration = parse_iso8601(j["Expiration"].get<std::string>());
  c.source = source;
  return c;
}

Expected<HttpResponse, HttpError> http_call(HttpClient& http, const std::string& method,
                                            const std::string& url, Headers headers) {
  HttpRequest req;
  req.method = method;
  req.url = url;
  req.headers = std::move(headers);
  HttpTimeouts to;
  to.connect = std::chrono::milliseconds(1000);
  to.operation = std::chrono::milliseconds(3000);
  return http.send(req, to);
}

}  // namespace

std::string Credentials::describe() const {
  std::string id = access_key_id.size() > 8
                       ? access_key_id.substr(0, 4) + "…" + access_key_id.substr(access_key_id.size() - 4)
                       : std::string("…");
  std::string out = fmt::format("{} from {}", id, source);
  if (expiration) out += ", expires " + iso8601(*expiration);
  return out;
}

std::map<std::string, std::map<std::string, std::string>> read_aws_ini(const std::string& path) {
  std::map<std::string, std::map<std::string, std::string>> out;
  std::ifstream in(path);
  std::string line, section;
  while (std::getline(in, line)) {
    line = trim(line);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[' && line.back() == ']') {
      section = trim(line.substr(1, line.size() - 2));
      out[section];
      continue;
    }
    auto eq = line.find('=');
    if (eq == std::string::npos || section.empty()) continue;
    out[section][trim(line.substr(0, eq))] = trim(line.substr(eq + 1));
  }
  return out;
}

CredentialChain::CredentialChain(EnvLookup env, std::shared_ptr<HttpClient> http, std::string container_host)
    : env_(std::move(env)), http_(std::move(http)), container_host_(std::move(container_host)) {}

Credentials CredentialChain::get() {
  std::lock_guard lock(mu_);
  const auto now = std::chrono::system_clock::now();
  if (!cached_ || (cached_->expiration && *cached_->expiration - now < kRefreshBefore)) cached_ = resolve();
  return *cached_;
}

Credentials CredentialChain::resolve() {
  std::string tried = "environment (AWS_ACCESS_KEY_ID)";
  if (auto c = from_environment()) return *c;
  if (auto c = from_profile(tried)) return *c;
  if (auto c = from_container(tried)) return *c;
  if (auto c = from_instance_metadata(tried)) return *c;
  throw Error(fmt::format("no AWS credentials found; tried {}", tried));
}

std::optional<Credentials> CredentialChain::from_environment() {
  auto id = env_("AWS_ACCESS_KEY_ID"), secret = env_("AWS_SECRET_ACCESS_KEY");
  if (!id || !secret || id->empty() || secret->empty()) return std::nullopt;
  Credentials c{*id, *secret, "", std::nullopt, "environment"};
  if (auto t = env_("AWS_SESSION_TOKEN"); t && !t->empty()) c.session_token = *t;
  return c;
}

std::optional<Credentials> CredentialChain::from_profile(std::string& tried) {
  const std::string name = profile_name(env_);
  for (const auto& [file, section] :
       {std::pair{credentials_file(env_), name},
        std::pair{config_file(env_), name == "default" ? name : "profile " + name}}) {
    tried += fmt::format(", profile '{}' in {}", name, file);
    auto ini = read_aws_ini(file);
    auto it = ini.find(section);
    if (it == ini.end() && section == "default") it = ini.find("profile default");
    if (it == ini.end()) continue;
    auto& kv = it->second;
    if (kv.count("aws_access_key_id") && kv.count("aws_secret_access_key")) {
      Credentials c{kv["aws_access_key_id"], kv["aws_secret_access_key"], kv["aws_session_token"],
                    std::nullopt, fmt::format("profile '{}' ({})", name, file)};
      return c;
    }
  }
  if (auto p = env_("AWS_PROFILE"); p && !p->empty())
    throw Error(fmt::format("AWS_PROFILE '{}' has no credentials in {} or {}", *p, credentials_file(env_),
                            config_file(env_)));
  return std::nullopt;
}

std::optional<Credentials> CredentialChain::from_container(std::string& tried) {
  auto rel = env_("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
  auto full = env_("AWS_CONTAINER_CREDENTIALS_FULL_URI");
  if (!rel && !full) {
    tried += ", container endpoint (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI/_FULL_URI unset)";
    return std::nullopt;
  }
  const std::string url = rel ? container_host_ + *rel : *full;
  tried += ", container endpoint " + url;
  Headers headers;
  if (auto tok = env_("AWS_CONTAINER_AUTHORIZATION_TOKEN")) {
    headers.emplace_back("Authorization", *tok);
  } else if (auto file = env_("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")) {
    std::ifstream in(*file);
    std::string tok((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    headers.emplace_back("Authorization", trim(tok));
  }
  auto r = http_call(*http_, "GET", url, headers);
  if (!r) throw Error(fmt::format("container credentials endpoint {}: {}", url, r.error().message));
  if (r->status != 200)
    throw Error(fmt::format("container credentials endpoint {} answered HTTP {}", url, r->status));
  return from_json(r->body, "container endpoint");
}

std::optional<Credentials> CredentialChain::from_instance_metadata(std::string& tried) {
  if (auto d = env_("AWS_EC2_METADATA_DISABLED"); d && (*d == "true" || *d == "TRUE" || *d == "1")) {
    tried += ", instance metadata (disabled)";
    return std::nullopt;
  }
  auto ep = env_("AWS_EC2_METADATA_SERVICE_ENDPOINT");
  std::string base = ep ? *ep : "http://169.254.169.254";
  while (!base.empty() && base.back() == '/') base.pop_back();
  tried += ", instance metadata " + base;
  auto tok = http_call(*http_, "PUT", base + "/latest/api/token",
                       {{"X-aws-ec2-metadata-token-ttl-seconds", "21600"}});
  if (!tok || tok->status != 200) return std::nullopt;  // not on EC2 (or IMDS off): the chain ends here
  Headers h = {{"X-aws-ec2-metadata-token", trim(tok->body)}};
  auto role = http_call(*http_, "GET", base + "/latest/meta-data/iam/security-credentials/", h);
  if (!role || role->status != 200) return std::nullopt;  // an instance without a role
  const std::string name = trim(role->body.substr(0, role->body.find('\n')));
  auto creds = http_call(*http_, "GET", base + "/latest/meta-data/iam/security-credentials/" + name, h);
  if (!creds || creds->status != 200)
    throw Error(fmt::format("instance metadata: cannot read the credentials of role '{}'", name));
  return from_json(creds->body, "instance metadata (role " + name + ")");
}

std::optional<std::string> resolve_region(const EnvLookup& env) {
  for (const char* v : {"AWS_REGION", "AWS_DEFAULT_REGION"})
    if (auto r = env(v); r && !r->empty()) return r;
  auto prof = config_profile(env);
  if (auto it = prof.find("region"); it != prof.end() && !it->second.empty()) return it->second;
  return std::nullopt;
}

std::optional<std::string> resolve_endpoint(const EnvLookup& env, const std::string& service) {
  std::string var = "AWS_ENDPOINT_URL_";
  for (char c : service) var.push_back(c == '-' || c == ' ' ? '_' : static_cast<char>(std::toupper(c)));
  for (const std::string& v : {var, std::string("AWS_ENDPOINT_URL")})
    if (auto e = env(v); e && !e->empty()) return e;
  auto prof = config_profile(env);
  if (auto it = prof.find("endpoint_url"); it != prof.end() && !it->second.empty()) return it->second;
  return std::nullopt;
}

}  // namespace qecloud::aws
