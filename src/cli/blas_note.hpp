#pragma once
// `run` and `validate` say which BLAS pw.x will use (core/blas.hpp) and warn when it is the reference one.
#include <optional>
#include <string>

#include "core/blas.hpp"

namespace qecloud::cli {

struct PwBlas {
  std::string pw;  // the pw.x found (full path)
  BlasInfo blas;
};
// The BLAS the pw.x named `pw` (on $PATH, or a path) loads; nullopt when there is no such pw.x or it links
// no libblas.so.3.
std::optional<PwBlas> pw_blas(const std::string& pw);
// "pw.x (/usr/bin/pw.x) will use the reference BLAS (netlib) (…): …; install OpenBLAS: apt-get install …"
std::string reference_blas_warning(const PwBlas& b);
// On stderr: the warning always, the BLAS otherwise unless `quiet`.
void note_blas(const std::string& pw, bool quiet);

}  // namespace qecloud::cli
