#include "cli/blas_note.hpp"

#include <fmt/format.h>

#include "core/process.hpp"

namespace qecloud::cli {

std::optional<PwBlas> pw_blas(const std::string& pw) {
  const std::string path = find_program(pw);
  if (path.empty()) return std::nullopt;
  auto blas = linked_blas(path);
  if (!blas) return std::nullopt;
  return PwBlas{path, *blas};
}

std::string reference_blas_warning(const PwBlas& b) {
  return fmt::format(
      "pw.x ({}) will use the {}: 1.3x to 2.5x slower than OpenBLAS, the larger the system the more "
      "(bench/blas); install OpenBLAS: apt-get install libopenblas0-serial",
      b.pw, b.blas.describe());
}

void note_blas(const std::string& pw, bool quiet) {
  const auto b = pw_blas(pw);
  if (!b) return;
  if (b->blas.reference)
    fmt::print(stderr, "qecloud: warning: {}\n", reference_blas_warning(*b));
  else if (!quiet)
    fmt::print(stderr, "qecloud: pw.x ({}) will use {}\n", b->pw, b->blas.describe());
}

}  // namespace qecloud::cli
