#pragma once
// The container recipe: `qecloud image dockerfile [DIR]` writes a build context — a Dockerfile any engine
// builds (`docker build`, `podman build`, `buildah bud`) plus what it copies — for the image whose CMD is
// `qecloud agent`: the tutorial's build_container/ without what qecloud makes unnecessary (sshd, keys,
// supervisord, the AWS CLI, an ENTRYPOINT) and without compiling BLAS, LAPACK, ScaLAPACK, FFTW and QE by hand
// (Debian 12 ships them; OpenBLAS replaces the reference BLAS).
//
// How qecloud gets into the image — the image's Debian 12 must run it whatever the host runs:
//   kHostBinary  the running qecloud is copied in. Only when the host runs Debian 12 on the image's
//                architecture: the binary then links exactly the libraries the image installs, and it is
//                the binary that was tested here. Seconds instead of a compiler stage.
//   kFromSource  a builder stage compiles qecloud from the source tree copied into the context (any host
//                OS or distribution, any target architecture); only the binary reaches the final image.
// `choose_qecloud_source` picks kHostBinary exactly when it is safe; `--from-source` forces the other.
#include <string>
#include <vector>

namespace qecloud::image {

enum class QecloudSource { kHostBinary, kFromSource };

// The base image's name. `qecloud image build` never pulls it when an image of that name is present, so a
// machine without Docker Hub can import a Debian 12 root filesystem (mmdebstrap) under this name.
inline constexpr const char* kDefaultBase = "docker.io/library/debian:bookworm-slim";

struct RecipeOptions {
  QecloudSource source = QecloudSource::kHostBinary;
  std::string base = kDefaultBase;
  std::string qecloud_version;  // written as the org.opencontainers.image.version label
};

// Debian 12 packages of the final image: Quantum ESPRESSO, MPI, BLAS, CA certificates (S3 over TLS) and
// the shared libraries qecloud links (and libcurl, which it loads for S3 and AWS).
const std::vector<std::string>& runtime_packages();
// Debian 12 packages the builder stage compiles qecloud with (kFromSource only).
const std::vector<std::string>& build_packages();

// The Dockerfile's text: readable, every choice commented.
std::string dockerfile(const RecipeOptions& o);

// The facts `choose_qecloud_source` decides on, read from the machine by `host_facts()`.
struct HostFacts {
  std::string os_id;          // /etc/os-release ID ("debian")
  std::string os_version_id;  // VERSION_ID ("12")
  std::string machine;        // uname -m of this host ("x86_64")
};
HostFacts host_facts();
// kHostBinary when the host is Debian 12 on x86_64 or aarch64 (the image's own system), else kFromSource;
// `why` says which and why, for people.
QecloudSource choose_qecloud_source(const HostFacts& h, std::string& why);

// Writes the context into `dir` (created; an existing Dockerfile there is replaced): Dockerfile,
// .dockerignore, and `qecloud` (the binary at `qecloud_binary`) or `source/` (CMakeLists.txt and src/ of the
// tree at `source_dir`). Throws qecloud::Error naming what is missing.
void write_context(const std::string& dir, const RecipeOptions& o, const std::string& qecloud_binary,
                   const std::string& source_dir);

// The source tree this qecloud was built from (compiled in), or empty when unknown.
std::string built_source_dir();

}  // namespace qecloud::image
