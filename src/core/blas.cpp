#include "core/blas.hpp"

#include <filesystem>
#include <sstream>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/process.hpp"
#include "core/text.hpp"

namespace fs = std::filesystem;

namespace qecloud {

std::string BlasInfo::describe() const {
  return fmt::format("{} ({})", name, path);
}

BlasInfo classify_blas(const std::string& resolved_path) {
  // Debian's packages install each implementation in a directory of its own under the multiarch libdir:
  // blas/ (libblas3, netlib), openblas-serial|openblas-pthread|openblas-openmp/, blis-*/, atlas/; MKL's
  // libmkl_rt registers itself as libblas.so.3 from the intel-mkl package.
  const std::string p = text::to_lower(resolved_path);
  BlasInfo b;
  b.path = resolved_path;
  if (text::contains(p, "openblas"))
    b.name = "OpenBLAS";
  else if (text::contains(p, "blis"))
    b.name = "BLIS";
  else if (text::contains(p, "atlas"))
    b.name = "ATLAS";
  else if (text::contains(p, "mkl"))
    b.name = "MKL";
  else if (text::contains(p, "/blas/") || text::contains(p, "librefblas"))
    b.name = "reference BLAS (netlib)", b.reference = true;
  else
    b.name = "unknown BLAS";
  return b;
}

std::optional<BlasInfo> linked_blas(const std::string& program) {
  if (program.empty()) return std::nullopt;
  SpawnOptions o;
  o.argv = {"ldd", program};
  o.stderr_path = "/dev/null";
  Captured c;
  try {
    c = capture(o, std::chrono::seconds(30));
  } catch (const Error&) {  // no ldd
    return std::nullopt;
  }
  if (!c.status.ok()) return std::nullopt;
  // "	libblas.so.3 => /lib/x86_64-linux-gnu/libblas.so.3 (0x00007f…)"
  std::istringstream lines(c.output);
  for (std::string line; std::getline(lines, line);) {
    const auto words = text::split_ws(line);
    if (words.size() < 3 || words[0] != "libblas.so.3" || words[1] != "=>") continue;
    std::error_code ec;
    const fs::path real = fs::canonical(std::string(words[2]), ec);
    return classify_blas(ec ? std::string(words[2]) : real.string());
  }
  return std::nullopt;
}

}  // namespace qecloud
