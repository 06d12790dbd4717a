#pragma once
// What an image holds, as `qecloud image test` found it: recorded as labels on the image itself (so they
// travel with it to ECR) and remembered in $QECLOUD_HOME/images.json under the names it was tested and
// pushed as (so a `submit` whose qecloud.toml names the pushed URI knows the image's QE release without
// asking a registry).
#include <map>
#include <optional>
#include <string>

#include "image/engine.hpp"

namespace qecloud::image {

namespace label {
inline constexpr const char* kQeVersion = "org.qecloud.qe-version";  // "6.7": the release validate judges for
inline constexpr const char* kPw = "org.qecloud.pw";                 // "/usr/bin/pw.x (PWSCF v.6.7MaX)"
inline constexpr const char* kMpi = "org.qecloud.mpi";               // "mpirun (Open MPI) 4.1.4"
inline constexpr const char* kBlas = "org.qecloud.blas";             // "OpenBLAS (/usr/lib/…/libblas.so.3)"
inline constexpr const char* kQecloudVersion = "org.qecloud.qecloud-version";
inline constexpr const char* kTested =
    "org.qecloud.tested";  // what passed: "silicon E = … Ry; agent dry run"
}  // namespace label

// $QECLOUD_HOME/images.json: name (a tag, an id, a pushed URI) → id, labels and, once pushed, the digest.
// Written aside and renamed; an unwritable home only loses the memory.
struct RememberedImage {
  std::string id;
  std::string digest;
  std::map<std::string, std::string> labels;
};
void remember_image(const std::string& name, const RememberedImage& image);
std::optional<RememberedImage> remembered_image(const std::string& name);

// The QE release ("6.7") an image holds, from its labels: the engine's when the image is here, else what
// was remembered under that name. `source` says where it came from, for messages. nullopt: not known (an
// image that was never tested here).
struct ImageRelease {
  std::string qe_version;
  std::string blas;
  std::string source;
};
std::optional<ImageRelease> image_release(const std::string& image);

}  // namespace qecloud::image
