#pragma once
// The number of irreducible k-points of an automatic (Monkhorst-Pack) grid — what pw.x prints as
// "number of k points=" — from the crystal's symmetry, found with spglib.
#include <array>
#include <string>
#include <vector>

#include "core/expected.hpp"
#include "qe/pw_input.hpp"

namespace qecloud::qe {

struct KpointSymmetry {
  bool use_symmetry = true;   // false for nosym: only time reversal reduces the grid
  bool time_reversal = true;  // false for noinv, and for magnetic noncollinear runs
};

// lattice rows in bohr; positions in crystal coordinates; type_ids one per atom (species index, or finer
// when atoms of one species differ, e.g. by starting magnetisation). shift entries are 0 or 1 (half step).
Expected<int, std::string> irreducible_kpoints(const Mat3& lattice_bohr,
                                               const std::vector<Vec3>& crystal_positions,
                                               const std::vector<int>& type_ids, std::array<int, 3> mesh,
                                               std::array<int, 3> shift, KpointSymmetry symmetry);

// The same, remembered in `cache_file` (a line per cell, grid and symmetry, keyed by a SHA-256 of them): the
// symmetry search is most of what validating an input costs (10–30 ms on the seed case), and the same cell
// is run again and again. An empty cache_file, or one that cannot be read or written, only costs the search.
Expected<int, std::string> irreducible_kpoints_cached(const Mat3& lattice_bohr,
                                                      const std::vector<Vec3>& crystal_positions,
                                                      const std::vector<int>& type_ids,
                                                      std::array<int, 3> mesh, std::array<int, 3> shift,
                                                      KpointSymmetry symmetry, const std::string& cache_file);

}  // namespace qecloud::qe
