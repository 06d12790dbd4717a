// core/blas: which BLAS a program loads, named from the directory Debian's alternatives put it in.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "core/blas.hpp"

namespace qecloud {
namespace {

TEST(CoreBlas, DebiansImplementationsByDirectory) {
  const std::string lib = "/usr/lib/x86_64-linux-gnu/";
  auto b = classify_blas(lib + "blas/libblas.so.3.11.0");
  EXPECT_EQ(b.name, "reference BLAS (netlib)");
  EXPECT_TRUE(b.reference);
  EXPECT_EQ(b.describe(), "reference BLAS (netlib) (/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0)");
  for (const auto& [dir, name] :
       std::vector<std::pair<std::string, std::string>>{{"openblas-serial/libblas.so.3", "OpenBLAS"},
                                                        {"openblas-pthread/libblas.so.3", "OpenBLAS"},
                                                        {"blis-openmp/libblas.so.3", "BLIS"},
                                                        {"atlas/libblas.so.3", "ATLAS"},
                                                        {"libmkl_rt.so", "MKL"},
                                                        {"somewhere/libblas.so.3", "unknown BLAS"}}) {
    b = classify_blas(lib + dir);
    EXPECT_EQ(b.name, name) << dir;
    EXPECT_FALSE(b.reference) << dir;
  }
  EXPECT_FALSE(linked_blas("/nonexistent/pw.x"));
}

}  // namespace
}  // namespace qecloud
