#pragma once
// `qecloud image test IMAGE`: the tutorial's step 2 ("docker run -it … /bin/bash", then `pw.x < scf.in` by
// hand), automated and made to fail: inside the image, the silicon example must give E = -15.84473648 Ry
// through the image's own qecloud, pw.x and mpirun; `qecloud agent --dry-run` must start, rendezvous and
// end; and what the image holds (QE release, MPI, BLAS, qecloud) is read from inside and recorded as the
// image's labels (image/labels.hpp), so that `validate --image` and `submit` judge inputs for that release.
#include <map>
#include <string>
#include <vector>

#include "image/engine.hpp"

namespace qecloud::image {

// The seed's silicon case: what `image test` runs (examples/si, Debian's pw.x 6.7 and every release since
// print this energy to the last digit).
inline constexpr const char* kSiliconEnergy = "-15.84473648";

struct ImageTestOptions {
  std::string image;
  std::string example_dir;  // holds scf.in and its pseudopotential; mounted read-only
};

struct ImageTestReport {
  std::map<std::string, std::string> facts;  // label name → value, as read inside the image
  std::vector<std::string> passed, failed;   // one line per check
  std::string labelled_id;                   // the image with the facts as labels (empty when a check failed)
  bool ok() const { return failed.empty() && !labelled_id.empty(); }
};

// Runs the checks (each reported through `notes` as it ends), and when all pass builds the labelled image
// under the same name. Throws qecloud::Error when the image is not here or the engine cannot run it.
ImageTestReport test_image(const Engine& engine, const ImageTestOptions& o, const LineSink& notes);

// The facts script's output ("key=value" lines) as labels; what is missing stays missing.
std::map<std::string, std::string> parse_facts(const std::string& output);
// The QE release ("6.7") in a pw.x version text ("6.7MaX", "v.7.3.1"); empty when none.
std::string release_of(const std::string& pw_version);

}  // namespace qecloud::image
