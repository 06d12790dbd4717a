#pragma once
// The container engine qecloud drives — podman, buildah or docker — found on this machine and spoken to
// through core/process only. One table row per engine says how it builds, inspects, runs, exports and
// pushes; everything else in image/ is engine-blind.
//
// Facts the rows follow (and where they come from):
//   - podman and buildah build with `--isolation=chroot`: no OCI runtime and no network namespace is needed
//     for RUN steps (buildah-build(1)), so a build works on machines where containers cannot be started.
//   - podman without systemd as init needs `--cgroup-manager=cgroupfs` (podman(1): "systemd" is the default
//     only where systemd manages cgroups); /run/systemd/system is sd_booted(3)'s test.
//   - buildah and podman share one image store (containers-storage), so an image buildah built is podman's
//     to run; buildah runs no containers itself: `image test` and rootfs exports need podman or docker.
//   - docker is usable only when its daemon answers (`docker info`); the client alone builds nothing.
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace qecloud::image {

struct ImageInfo {
  std::string id;  // the engine's image id (sha256 hex, without "sha256:")
  std::uint64_t size_bytes = 0;
  std::map<std::string, std::string> labels;
};

using LineSink = std::function<void(const std::string& line)>;

class Engine {
 public:
  std::string name;                      // "podman", "buildah", "docker"
  std::string program;                   // its full path
  std::vector<std::string> global_args;  // before the subcommand (podman: --cgroup-manager=cgroupfs)

  bool can_run() const { return name != "buildah"; }

  // Builds `context_dir`'s Dockerfile as `tag`, handing every line the engine prints to `progress`.
  // Throws qecloud::Error naming the step that failed ("STEP 3/9: RUN apt-get …") and the engine's last
  // words when the build fails.
  void build(const std::string& context_dir, const std::string& tag, const LineSink& progress) const;
  // The image's id, size and labels; nullopt when the engine has no image of that name or id.
  std::optional<ImageInfo> inspect(const std::string& image) const;
  // Runs `argv` in a new container of `image` (removed afterwards) with the host's network (the checks need
  // none, and no network namespace is made), `env` set and each host directory of `mounts` mounted read-only
  // at its value. Returns the exit status and stdout+stderr. Throws when the engine cannot run containers.
  struct RunResult {
    int code = -1;
    std::string output;
  };
  RunResult run(const std::string& image, const std::vector<std::string>& argv,
                const std::map<std::string, std::string>& env,
                const std::map<std::string, std::string>& mounts, std::chrono::seconds timeout) const;
  // Writes the image's root filesystem as one tar file (a stopped container's export).
  void export_rootfs(const std::string& image, const std::string& tar_path) const;
  // Pushes `image` to `destination` ("host/repo:tag") with the registry login in `auth_file` (containers'
  // auth.json format); returns the pushed manifest's digest ("sha256:…"). `insecure`: plain HTTP (a
  // loopback registry). Throws qecloud::Error with the engine's words when the push fails.
  std::string push(const std::string& image, const std::string& destination, const std::string& auth_file,
                   bool insecure, const LineSink& progress) const;

  // argv of a subcommand: program, global args, then `args`.
  std::vector<std::string> command(const std::vector<std::string>& args) const;
};

// The engine named `wanted` ("" = the first usable of podman, buildah, docker). Throws qecloud::Error
// naming what is missing and the command that installs it ("apt-get install podman").
Engine find_engine(const std::string& wanted);
// The same, for commands that start containers (image test, exports): podman or docker.
Engine find_run_engine(const std::string& wanted);

// The step a build was at, from the engine's progress lines: podman/buildah "STEP 3/9: RUN …" (with
// "[1/2] " before it in a multi-stage build), docker's
// classic builder "Step 3/9 : RUN …", BuildKit "#7 [3/4] RUN …"; empty when no line named one.
std::string step_of(const std::string& line);

// The digest docker's push prints last ("ci: digest: sha256:… size: 1234"); empty when no line says one.
std::string pushed_digest_of(const std::string& output);

// Parses `<engine> image inspect` JSON (an array of one object; podman and docker agree on Id, Size,
// Config.Labels). nullopt when it holds no image.
std::optional<ImageInfo> parse_inspect(const nlohmann::json& j);

}  // namespace qecloud::image
