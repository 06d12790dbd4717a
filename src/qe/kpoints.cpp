#include "qe/kpoints.hpp"

#include <spglib.h>

#include <fmt/format.h>

namespace qecloud::qe {

Expected<int, std::string> irreducible_kpoints(const Mat3& L, const std::vector<Vec3>& positions,
                                               const std::vector<int>& types, std::array<int, 3> mesh,
                                               std::array<int, 3> shift, KpointSymmetry sym) {
  if (positions.empty() || positions.size() != types.size()) return unexpected(std::string("no atoms"));
  const long long points = 1LL * mesh[0] * mesh[1] * mesh[2];
  // Real grids stay far below this; the cap bounds time and memory on absurd input (e.g. 999 999 999).
  if (points <= 0 || points > 300'000)
    return unexpected(fmt::format("a grid of {} points is too large to count here", points));
  std::vector<int> address(static_cast<size_t>(points) * 3);
  std::vector<int> map(static_cast<size_t>(points));
  auto* grid = reinterpret_cast<int(*)[3]>(address.data());
  int n = 0;
  if (sym.use_symmetry) {
    double lattice[3][3];  // spglib wants the vectors as columns
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 3; ++j) lattice[i][j] = L[j][i];
    std::vector<double> pos(positions.size() * 3);
    for (size_t a = 0; a < positions.size(); ++a)
      for (int k = 0; k < 3; ++k) pos[a * 3 + static_cast<size_t>(k)] = positions[a][static_cast<size_t>(k)];
    // pw.x's symmetry tolerance is 1e-6 in crystal units (accep); spglib's is a Cartesian distance.
    n = spg_get_ir_reciprocal_mesh(grid, map.data(), mesh.data(), shift.data(), sym.time_reversal ? 1 : 0,
                                   lattice, reinterpret_cast<double(*)[3]>(pos.data()), types.data(),
                                   static_cast<int>(positions.size()), 1e-5);
  } else {
    int identity[1][3][3] = {{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}};
    double gamma[1][3] = {{0, 0, 0}};
    n = spg_get_stabilized_reciprocal_mesh(grid, map.data(), mesh.data(), shift.data(),
                                           sym.time_reversal ? 1 : 0, 1, identity, 1, gamma);
  }
  if (n <= 0) return unexpected(std::string("spglib could not find the symmetry"));
  return n;
}

}  // namespace qecloud::qe
