#pragma once
// The crystal cell as pw.x builds it: Bravais lattices from ibrav + celldm (QE's latgen conventions, in
// bohr), the explicit CELL_PARAMETERS of ibrav = 0, and atomic positions in crystal coordinates.
#include <array>
#include <optional>
#include <string>
#include <vector>

#include "core/expected.hpp"
#include "qe/pw_input.hpp"

namespace qecloud::qe {

inline constexpr double kBohrAngstrom = 0.529177210903;  // CODATA 2018, as QE >= 6.6

// Primitive vectors (rows a1, a2, a3) in bohr for ibrav != 0. celldm(1) is alat in bohr; celldm(2..6) as
// documented for each ibrav in pw.x's INPUT_PW. Errors name the missing or impossible parameter.
Expected<Mat3, std::string> bravais_lattice(int ibrav, const std::array<double, 6>& celldm);

// celldm from A, B, C (Å) and cosines, as pw.x converts them.
std::array<double, 6> celldm_from_abc(int ibrav, double a, double b, double c, double cosab, double cosac,
                                      double cosbc);

// CELL_PARAMETERS in bohr. `alat_bohr` is celldm(1) (or A converted) when the input gives one.
Expected<Mat3, std::string> cell_from_parameters(const CellParameters& cell, std::optional<double> alat_bohr);

// Atomic positions in crystal (fractional) coordinates. units: alat | bohr | angstrom | crystal.
Expected<std::vector<Vec3>, std::string> to_crystal(const std::vector<Atom>& atoms, const std::string& units,
                                                    const Mat3& lattice_bohr, double alat_bohr);

}  // namespace qecloud::qe
