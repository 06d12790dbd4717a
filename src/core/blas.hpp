#pragma once
// Which BLAS a program will get. On Debian a program links `libblas.so.3`, a name the alternatives system
// points at one implementation: the reference BLAS (netlib's, Debian's libblas3) unless an optimized one
// (OpenBLAS, BLIS, ATLAS, MKL) is installed. pw.x spends most of its time in BLAS, and the reference one is
// 1.3× to 2.5× slower here (bench/blas), so qecloud says which one pw.x will load and warns about the
// reference one.
#include <optional>
#include <string>

namespace qecloud {

struct BlasInfo {
  std::string path;  // the file libblas.so.3 resolves to
  std::string name;  // "OpenBLAS", "BLIS", "ATLAS", "MKL", "reference BLAS (netlib)", or "unknown BLAS"
  bool reference = false;
  std::string describe() const;  // "OpenBLAS (/usr/lib/…/openblas-serial/libblas.so.3)"
};

// Names the implementation a resolved libblas.so.3 path belongs to (Debian's directories for each).
BlasInfo classify_blas(const std::string& resolved_path);

// The BLAS `program` (a path) loads, asked of the dynamic loader (`ldd`, which honours LD_LIBRARY_PATH as
// the program would) and resolved through the alternatives' symbolic links. nullopt when the program links
// no libblas.so.3 (a static BLAS, MKL linked by name) or cannot be inspected.
std::optional<BlasInfo> linked_blas(const std::string& program);

}  // namespace qecloud
