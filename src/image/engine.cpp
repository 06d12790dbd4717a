#include "image/engine.hpp"

#include <filesystem>
#include <regex>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/process.hpp"
#include "core/text.hpp"

namespace fs = std::filesystem;

namespace qecloud::image {
namespace {

constexpr const char* kEngineNames[] = {"podman", "buildah", "docker"};

// What to tell someone who has no engine (Debian's packages; Docker's own docs for its daemon).
constexpr const char* kInstallHint =
    "install one: `apt-get install podman` (Debian/Ubuntu; it builds, runs and pushes without a daemon), or "
    "`apt-get install buildah` to build only, or start Docker's daemon (`dockerd`)";

bool systemd_is_init() {
  std::error_code ec;
  return fs::is_directory("/run/systemd/system", ec);  // sd_booted(3)
}

std::string last_lines(const std::string& text, int n) {
  std::size_t at = text.size();
  while (at > 0 && text[at - 1] == '\n') --at;
  std::size_t end = at;
  for (int i = 0; i < n && at > 0; ++i) {
    at = text.rfind('\n', at - 1);
    if (at == std::string::npos) {
      at = 0;
      break;
    }
  }
  return std::string(text.substr(at == 0 ? 0 : at + 1, end - (at == 0 ? 0 : at + 1)));
}

// Runs `argv`, each line to `progress` as it comes; returns the exit status and the last 20 lines.
struct Streamed {
  ExitStatus status;
  std::string tail, step;
};
Streamed stream(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                const LineSink& progress) {
  SpawnOptions o;
  o.argv = argv;
  o.env_overrides = env;
  o.stderr_to_stdout = true;
  Process p(o);
  Streamed s;
  std::vector<std::string> tail;
  auto on_line = [&](std::string_view line) {
    std::string l(line);
    if (auto st = step_of(l); !st.empty()) s.step = st;
    if (progress) progress(l);
    tail.push_back(std::move(l));
    if (tail.size() > 20) tail.erase(tail.begin());
  };
  while (p.pump(on_line, std::chrono::milliseconds(200))) {
  }
  s.status = *p.wait_for(std::chrono::hours(1));
  for (const auto& l : tail) s.tail += l + "\n";
  return s;
}

// docker has a client on machines whose daemon is not running: only a daemon that answers counts.
bool docker_daemon_answers(const std::string& program) {
  SpawnOptions o;
  o.argv = {program, "info", "--format", "{{.ServerVersion}}"};
  return capture(o, std::chrono::seconds(20)).status.ok();
}

// The engine could not start a container at all (its runtime refused): one error for every check.
[[noreturn]] void throw_cannot_start(const std::string& output) {
  std::string why = last_lines(output, 2);
  if (output.find("error setting rlimit") != std::string::npos)
    why +=
        "\n(the engine raises the container's resource limits, which this machine does not allow: put "
        "`default_ulimits = []` under [containers] in /etc/containers/containers.conf, or in a file named by "
        "$CONTAINERS_CONF)";
  throw Error("the container engine cannot start a container here:\n" + why);
}

Engine make_engine(const std::string& name, const std::string& program) {
  Engine e;
  e.name = name;
  e.program = program;
  if (name == "podman" && !systemd_is_init()) e.global_args = {"--cgroup-manager=cgroupfs"};
  return e;
}

}  // namespace

std::vector<std::string> Engine::command(const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {program};
  argv.insert(argv.end(), global_args.begin(), global_args.end());
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

Engine find_engine(const std::string& wanted) {
  if (!wanted.empty() && wanted != "podman" && wanted != "buildah" && wanted != "docker")
    throw UsageError(fmt::format("--engine {}: qecloud drives podman, buildah or docker", wanted));
  std::vector<std::string> tried;
  for (const char* name : kEngineNames) {
    if (!wanted.empty() && wanted != name) continue;
    const std::string program = find_program(name);
    if (program.empty()) {
      tried.push_back(fmt::format("{} (not installed)", name));
      continue;
    }
    if (std::string(name) == "docker" && !docker_daemon_answers(program)) {
      tried.push_back("docker (the client is here, its daemon does not answer)");
      continue;
    }
    return make_engine(name, program);
  }
  std::string list;
  for (const auto& t : tried) list += (list.empty() ? "" : ", ") + t;
  throw Error(fmt::format("no container engine to use: {}; {}", list, kInstallHint));
}

Engine find_run_engine(const std::string& wanted) {
  if (wanted == "buildah")
    throw UsageError(
        "--engine buildah: buildah builds and pushes but runs no containers; this needs podman (which "
        "shares buildah's image store: `apt-get install podman`) or docker");
  if (!wanted.empty()) return find_engine(wanted);
  try {
    return find_engine("podman");
  } catch (const Error&) {
  }
  try {
    return find_engine("docker");
  } catch (const Error&) {
  }
  throw Error(
      "no container engine that runs containers: neither podman nor a docker daemon is here; install "
      "podman (`apt-get install podman`) or start Docker's daemon (`dockerd`)");
}

std::string step_of(const std::string& line) {
  static const std::regex podman(R"(^((?:\[\d+/\d+\] )?STEP \d+/\d+: .*)$)");  // "[1/2] ": a stage
  static const std::regex docker(R"(^(Step \d+/\d+ : .*)$)");
  static const std::regex buildkit(R"(^#\d+ (\[[^\]]*\d+/\d+\] .*)$)");
  std::smatch m;
  for (const auto* re : {&podman, &docker, &buildkit})
    if (std::regex_match(line, m, *re)) return m[1].str();
  return "";
}

void Engine::build(const std::string& context_dir, const std::string& tag, const LineSink& progress) const {
  std::vector<std::string> args;
  if (name == "podman") args = {"build", "--isolation=chroot", "--layers", "-t", tag, context_dir};
  if (name == "buildah") args = {"bud", "--isolation=chroot", "--layers", "-t", tag, context_dir};
  if (name == "docker") args = {"build", "-t", tag, context_dir};
  const Streamed s = stream(command(args), {}, progress);
  if (s.status.ok()) return;
  throw Error(fmt::format("the image build failed ({} {}){}:\n{}", name, s.status.describe(),
                          s.step.empty() ? "" : " at " + s.step, last_lines(s.tail, 8)));
}

std::optional<ImageInfo> parse_inspect(const nlohmann::json& j) {
  const nlohmann::json* o = &j;
  if (j.is_array()) {
    if (j.empty()) return std::nullopt;
    o = &j[0];
  }
  if (!o->is_object()) return std::nullopt;
  ImageInfo info;
  // podman and docker: Id, Size, Config.Labels; `buildah inspect --type image`: FromImageID and the OCI
  // config (no size).
  const nlohmann::json* config = nullptr;
  if (o->contains("Id")) {
    info.id = o->value("Id", "");
    if (auto it = o->find("Size"); it != o->end() && it->is_number_unsigned())
      info.size_bytes = it->get<std::uint64_t>();
    if (auto c = o->find("Config"); c != o->end() && c->is_object()) config = &*c;
  } else if (o->contains("FromImageID")) {
    info.id = o->value("FromImageID", "");
    if (auto c = o->find("OCIv1"); c != o->end() && c->contains("config")) config = &(*c)["config"];
  } else {
    return std::nullopt;
  }
  if (text::starts_with(info.id, "sha256:")) info.id = info.id.substr(7);
  if (config)
    if (auto l = config->find("Labels"); l != config->end() && l->is_object())
      for (auto it = l->begin(); it != l->end(); ++it)
        if (it->is_string()) info.labels[it.key()] = it->get<std::string>();
  return info;
}

std::optional<ImageInfo> Engine::inspect(const std::string& image) const {
  SpawnOptions o;
  o.argv = command(name == "buildah" ? std::vector<std::string>{"inspect", "--type", "image", image}
                                     : std::vector<std::string>{"image", "inspect", image});
  o.stderr_path = "/dev/null";
  const Captured c = capture(o, std::chrono::minutes(2));
  if (!c.status.ok()) return std::nullopt;
  const auto j = nlohmann::json::parse(c.output, nullptr, false);
  if (j.is_discarded()) return std::nullopt;
  return parse_inspect(j);
}

Engine::RunResult Engine::run(const std::string& image, const std::vector<std::string>& argv,
                              const std::map<std::string, std::string>& env,
                              const std::map<std::string, std::string>& mounts,
                              std::chrono::seconds timeout) const {
  if (!can_run()) throw Error(fmt::format("{} runs no containers; podman or docker is needed", name));
  std::vector<std::string> args = {"run", "--rm", "--network=host"};
  for (const auto& [k, v] : env) args.push_back("--env=" + k + "=" + v);
  for (const auto& [host, inside] : mounts) args.push_back(fmt::format("--volume={}:{}:ro", host, inside));
  args.push_back(image);
  args.insert(args.end(), argv.begin(), argv.end());
  SpawnOptions o;
  o.argv = command(args);
  const Captured c = capture(o, timeout);
  const int code = c.status.exited() ? c.status.code : 128 + c.status.signal;
  if (code >= 125 && code <= 127 && c.output.find("OCI") != std::string::npos) throw_cannot_start(c.output);
  return {code, c.output};
}

void Engine::export_rootfs(const std::string& image, const std::string& tar_path) const {
  if (!can_run())
    throw Error(fmt::format("{} cannot export a root filesystem; podman or docker is needed", name));
  std::string id(text::trim(capture_ok(command({"create", image, "true"}))));
  if (id.find('\n') != std::string::npos) id = id.substr(id.rfind('\n') + 1);  // the id is the last line
  try {
    capture_ok(command({"export", "-o", tar_path, id}), std::chrono::minutes(30));
  } catch (...) {
    SpawnOptions rm;
    rm.argv = command({"rm", "-f", id});
    capture(rm);
    throw;
  }
  capture_ok(command({"rm", "-f", id}));
}

std::string Engine::push(const std::string& image, const std::string& destination,
                         const std::string& auth_file, bool insecure, const LineSink& progress) const {
  const fs::path digest_file = fs::path(auth_file).parent_path() / "digest";
  std::map<std::string, std::string> env;
  std::vector<std::string> args;
  if (name == "docker") {
    // docker reads logins from $DOCKER_CONFIG/config.json, the same "auths" format; it cannot write the
    // digest to a file but prints it as its last line.
    env["DOCKER_CONFIG"] = fs::path(auth_file).parent_path().string();
    const Streamed tag = stream(command({"tag", image, destination}), {}, progress);
    if (!tag.status.ok())
      throw Error(fmt::format("docker tag {} {} failed:\n{}", image, destination, tag.tail));
    args = {"push", destination};
  } else {
    args = {"push", "--authfile", auth_file, "--digestfile", digest_file.string()};
    if (insecure) args.push_back("--tls-verify=false");
    args.push_back(image);
    args.push_back("docker://" + destination);
  }
  const Streamed s = stream(command(args), env, progress);
  if (!s.status.ok()) {
    const std::string registry = destination.substr(0, destination.find('/'));
    const bool unreachable = s.tail.find("connection refused") != std::string::npos ||
                             s.tail.find("no such host") != std::string::npos ||
                             s.tail.find("i/o timeout") != std::string::npos ||
                             s.tail.find("network is unreachable") != std::string::npos;
    throw Error(fmt::format("{} push to {} failed ({}){}:\n{}", name, destination, s.status.describe(),
                            unreachable
                                ? fmt::format("; the registry {} cannot be reached: check its address and "
                                              "this machine's network (and QECLOUD_REGISTRY when set)",
                                              registry)
                                : "",
                            last_lines(s.tail, 6)));
  }
  std::error_code ec;
  if (!fs::exists(digest_file, ec)) return pushed_digest_of(s.tail);
  return std::string(text::trim(text::read_file(digest_file.string())));
}

std::string pushed_digest_of(const std::string& output) {
  static const std::regex digest(R"(: digest: (sha256:[0-9a-f]{64}) size: \d+)");
  std::string found;
  for (std::sregex_iterator it(output.begin(), output.end(), digest), end; it != end; ++it) found = (*it)[1];
  return found;
}

}  // namespace qecloud::image
