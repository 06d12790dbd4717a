#include "image/push.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/text.hpp"
#include "image/ecr.hpp"
#include "image/labels.hpp"

namespace fs = std::filesystem;

namespace qecloud::image {
namespace {

// A private directory holding the login for one push; removed with everything in it, whatever happens.
class AuthDir {
 public:
  AuthDir(const std::string& registry, const std::string& token) {
    std::string tmpl = (fs::temp_directory_path() / "qecloud-push-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw Error("cannot make a private directory for the registry login");
    dir_ = tmpl;  // mode 0700 (mkdtemp)
    const fs::path file = dir_ / "config.json";
    const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) throw Error("cannot write the registry login file");
    const std::string text = auth_file_text(registry, token);
    const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    ::close(fd);
    if (!ok) throw Error("cannot write the registry login file");
  }
  ~AuthDir() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  AuthDir(const AuthDir&) = delete;
  AuthDir& operator=(const AuthDir&) = delete;
  std::string file() const { return (dir_ / "config.json").string(); }

 private:
  fs::path dir_;
};

// The manifest digest the registry holds for repository:tag; an Error naming the registry when it cannot
// be asked (unreachable, refused login) — never a guess.
std::string registry_digest(aws::HttpClient& http, const std::string& registry, bool insecure,
                            const std::string& repository, const std::string& tag, const std::string& token) {
  aws::HttpRequest req;
  req.method = "HEAD";
  req.url = fmt::format("{}://{}/v2/{}/manifests/{}", insecure ? "http" : "https", registry, repository, tag);
  req.headers = {{"Authorization", "Basic " + token},
                 {"Accept",
                  "application/vnd.oci.image.manifest.v1+json, "
                  "application/vnd.docker.distribution.manifest.v2+json, "
                  "application/vnd.oci.image.index.v1+json, "
                  "application/vnd.docker.distribution.manifest.list.v2+json"}};
  aws::HttpTimeouts t;
  t.operation = std::chrono::seconds(60);
  auto r = http.send(req, t);
  if (!r)
    throw Error(fmt::format("cannot ask the registry {} for {}:{} after the push: {}", registry, repository,
                            tag, aws::redact(r.error().message, {token})));
  if (r->status != 200)
    throw Error(fmt::format("the registry {} does not hold {}:{} after the push (HTTP {}): not pushed",
                            registry, repository, tag, r->status));
  return r->header("docker-content-digest").value_or("");
}

std::string host_of(const std::string& uri) {
  return uri.substr(0, uri.find('/'));
}

}  // namespace

std::string tag_of(const std::string& image) {
  const auto slash = image.rfind('/');
  const auto colon = image.rfind(':');
  if (colon == std::string::npos || (slash != std::string::npos && colon < slash)) return "";
  return image.substr(colon + 1);
}

bool is_loopback_registry(const std::string& host) {
  std::string h = host;
  if (text::starts_with(h, "[::1]")) return true;
  h = h.substr(0, h.find(':'));
  return h == "localhost" || text::starts_with(h, "127.");
}

std::string auth_file_text(const std::string& registry, const std::string& token) {
  return nlohmann::json{{"auths", {{registry, {{"auth", token}}}}}}.dump() + "\n";
}

PushReport push_image(const Engine& e, aws::Api& api, aws::HttpClient& http, const EnvLookup& env,
                      const PushOptions& o, const LineSink& notes) {
  check_repository_name(o.repository);
  const auto info = e.inspect(o.image);
  if (!info)
    throw Error(
        fmt::format("no image '{}' in {}'s store; build one with `qecloud image build`", o.image, e.name));
  const std::string tag = !o.tag.empty() ? o.tag : !tag_of(o.image).empty() ? tag_of(o.image) : "latest";
  // 1. The repository; 2. the login.
  PushReport out;
  Repository repo;
  RegistryLogin login;
  try {
    repo = ensure_repository(api, o.repository, notes);
    login = registry_login(api);
  } catch (const Error& e) {
    if (!text::contains(e.what(), ": connection") && !text::contains(e.what(), ": timeout")) throw;
    throw Error(
        fmt::format("Amazon ECR's API cannot be reached in {} ({}); check the network, the region, and "
                    "AWS_ENDPOINT_URL_ECR when set",
                    api.region(), e.what()));
  }
  out.created_repository = repo.created;
  const std::string registry = env_text(env, "QECLOUD_REGISTRY").value_or(host_of(repo.uri));
  const bool insecure = is_loopback_registry(registry);
  const std::string destination = fmt::format("{}/{}:{}", registry, o.repository, tag);
  const AuthDir auth(registry, login.token);
  // 3. The push.
  if (notes) notes(fmt::format("pushing {} to {}", o.image, destination));
  const std::string pushed = e.push(o.image, destination, auth.file(), insecure, notes);
  if (pushed.empty())
    throw Error(
        fmt::format("{} pushed {} but did not say which digest: the push cannot be checked against "
                    "the registry and is not reported as done",
                    e.name, destination));
  // 4. What the registry holds, compared with what was pushed.
  const std::string held = registry_digest(http, registry, insecure, o.repository, tag, login.token);
  if (held != pushed)
    throw Error(
        fmt::format("the registry {} holds {} for {}:{}, not the pushed {}: the push did not complete",
                    registry, held.empty() ? "no digest" : held, o.repository, tag, pushed));
  out.uri = destination;
  out.digest = held;
  remember_image(out.uri, {info->id, out.digest, info->labels});
  return out;
}

}  // namespace qecloud::image
