#include "qe/lattice.hpp"

#include <cmath>

#include <fmt/format.h>

namespace qecloud::qe {
namespace {

double det(const Mat3& m) {
  return m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
         m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
         m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
}

Expected<Mat3, std::string> fail(std::string msg) {
  return unexpected(std::move(msg));
}

}  // namespace

Expected<Mat3, std::string> bravais_lattice(int ibrav, const std::array<double, 6>& cd) {
  const double a = cd[0];
  if (a <= 0) return fail(fmt::format("ibrav = {} needs celldm(1) > 0 (alat in bohr)", ibrav));
  const double b = a * cd[1], c = a * cd[2];
  auto need = [&](int i, const char* what) -> std::optional<std::string> {
    if (cd[static_cast<size_t>(i - 1)] <= 0)
      return fmt::format("ibrav = {} needs celldm({}) > 0 ({})", ibrav, i, what);
    return std::nullopt;
  };
  auto cosine = [&](int i, const char* what) -> std::optional<std::string> {
    double v = cd[static_cast<size_t>(i - 1)];
    if (v <= -1 || v >= 1) return fmt::format("ibrav = {} needs celldm({}) = {} in (-1, 1)", ibrav, i, what);
    return std::nullopt;
  };
  Mat3 m{};
  switch (ibrav) {
    case 1:
      m = {{{a, 0, 0}, {0, a, 0}, {0, 0, a}}};
      break;
    case 2:
      m = {{{-a / 2, 0, a / 2}, {0, a / 2, a / 2}, {-a / 2, a / 2, 0}}};
      break;
    case 3:
      m = {{{a / 2, a / 2, a / 2}, {-a / 2, a / 2, a / 2}, {-a / 2, -a / 2, a / 2}}};
      break;
    case -3:
      m = {{{-a / 2, a / 2, a / 2}, {a / 2, -a / 2, a / 2}, {a / 2, a / 2, -a / 2}}};
      break;
    case 4:
      if (auto e = need(3, "c/a")) return fail(*e);
      m = {{{a, 0, 0}, {-a / 2, a * std::sqrt(3.0) / 2, 0}, {0, 0, c}}};
      break;
    case 5:
    case -5: {
      const double g = cd[3];
      if (g <= -0.5 || g >= 1)
        return fail(fmt::format("ibrav = {} needs celldm(4) = cos(gamma) in (-0.5, 1)", ibrav));
      const double tx = std::sqrt((1 - g) / 2), ty = std::sqrt((1 - g) / 6), tz = std::sqrt((1 + 2 * g) / 3);
      if (ibrav == 5) {
        m = {{{a * tx, -a * ty, a * tz}, {0, 2 * a * ty, a * tz}, {-a * tx, -a * ty, a * tz}}};
      } else {
        const double ap = a / std::sqrt(3.0), u = tz - 2 * std::sqrt(2.0) * ty, v = tz + std::sqrt(2.0) * ty;
        m = {{{ap * u, ap * v, ap * v}, {ap * v, ap * u, ap * v}, {ap * v, ap * v, ap * u}}};
      }
      break;
    }
    case 6:
      if (auto e = need(3, "c/a")) return fail(*e);
      m = {{{a, 0, 0}, {0, a, 0}, {0, 0, c}}};
      break;
    case 7:
      if (auto e = need(3, "c/a")) return fail(*e);
      m = {{{a / 2, -a / 2, c / 2}, {a / 2, a / 2, c / 2}, {-a / 2, -a / 2, c / 2}}};
      break;
    case 8:
    case 9:
    case -9:
    case 91:
    case 10:
    case 11:
      if (auto e = need(2, "b/a")) return fail(*e);
      if (auto e = need(3, "c/a")) return fail(*e);
      if (ibrav == 8) m = {{{a, 0, 0}, {0, b, 0}, {0, 0, c}}};
      if (ibrav == 9) m = {{{a / 2, b / 2, 0}, {-a / 2, b / 2, 0}, {0, 0, c}}};
      if (ibrav == -9) m = {{{a / 2, -b / 2, 0}, {a / 2, b / 2, 0}, {0, 0, c}}};
      if (ibrav == 91) m = {{{a, 0, 0}, {0, b / 2, -c / 2}, {0, b / 2, c / 2}}};
      if (ibrav == 10) m = {{{a / 2, 0, c / 2}, {a / 2, b / 2, 0}, {0, b / 2, c / 2}}};
      if (ibrav == 11) m = {{{a / 2, b / 2, c / 2}, {-a / 2, b / 2, c / 2}, {-a / 2, -b / 2, c / 2}}};
      break;
    case 12:
    case 13: {
      if (auto e = need(2, "b/a")) return fail(*e);
      if (auto e = need(3, "c/a")) return fail(*e);
      if (auto e = cosine(4, "cos(gamma)")) return fail(*e);
      const double g = cd[3], s = std::sqrt(1 - g * g);
      if (ibrav == 12)
        m = {{{a, 0, 0}, {b * g, b * s, 0}, {0, 0, c}}};
      else
        m = {{{a / 2, 0, -c / 2}, {b * g, b * s, 0}, {a / 2, 0, c / 2}}};
      break;
    }
    case -12:
    case -13: {
      if (auto e = need(2, "b/a")) return fail(*e);
      if (auto e = need(3, "c/a")) return fail(*e);
      if (auto e = cosine(5, "cos(beta)")) return fail(*e);
      const double be = cd[4], s = std::sqrt(1 - be * be);
      if (ibrav == -12)
        m = {{{a, 0, 0}, {0, b, 0}, {c * be, 0, c * s}}};
      else
        m = {{{a / 2, b / 2, 0}, {-a / 2, b / 2, 0}, {c * be, 0, c * s}}};
      break;
    }
    case 14: {
      if (auto e = need(2, "b/a")) return fail(*e);
      if (auto e = need(3, "c/a")) return fail(*e);
      for (int i = 4; i <= 6; ++i)
        if (auto e = cosine(i, i == 4 ? "cos(alpha)" : i == 5 ? "cos(beta)" : "cos(gamma)")) return fail(*e);
      const double ca = cd[3], cb = cd[4], cg = cd[5], sg = std::sqrt(1 - cg * cg);
      const double vol = 1 + 2 * ca * cb * cg - ca * ca - cb * cb - cg * cg;
      if (vol <= 0) return fail("ibrav = 14: the angles celldm(4..6) do not form a cell");
      m = {{{a, 0, 0}, {b * cg, b * sg, 0}, {c * cb, c * (ca - cb * cg) / sg, c * std::sqrt(vol) / sg}}};
      break;
    }
    default:
      return fail(fmt::format("ibrav = {} is not a Bravais lattice pw.x knows", ibrav));
  }
  if (std::abs(det(m)) < 1e-12) return fail(fmt::format("ibrav = {}: the cell has zero volume", ibrav));
  return m;
}

std::array<double, 6> celldm_from_abc(int ibrav, double a, double b, double c, double cosab, double cosac,
                                      double cosbc) {
  std::array<double, 6> cd{};
  cd[0] = a / kBohrAngstrom;
  if (a > 0) cd[1] = b / a, cd[2] = c / a;
  if (ibrav == 14) {
    cd[3] = cosbc, cd[4] = cosac, cd[5] = cosab;
  } else if (ibrav == -12 || ibrav == -13) {
    cd[4] = cosac;
  } else {
    cd[3] = cosab;
  }
  return cd;
}

Expected<Mat3, std::string> cell_from_parameters(const CellParameters& cell,
                                                 std::optional<double> alat_bohr) {
  double scale = 1.0;
  if (cell.units == "angstrom")
    scale = 1 / kBohrAngstrom;
  else if (cell.units == "alat" || (cell.units.empty() && alat_bohr)) {
    if (!alat_bohr) return fail("CELL_PARAMETERS {alat} needs celldm(1) or A");
    scale = *alat_bohr;
  }
  Mat3 m = cell.vectors;
  for (auto& row : m)
    for (auto& x : row) x *= scale;
  if (std::abs(det(m)) < 1e-12) return fail("CELL_PARAMETERS: the cell has zero volume");
  return m;
}

Expected<std::vector<Vec3>, std::string> to_crystal(const std::vector<Atom>& atoms, const std::string& units,
                                                    const Mat3& L, double alat_bohr) {
  std::vector<Vec3> out;
  if (units == "crystal") {
    for (const auto& a : atoms) out.push_back(a.position);
    return out;
  }
  double scale = 0;
  if (units == "alat")
    scale = alat_bohr;
  else if (units == "bohr")
    scale = 1.0;
  else if (units == "angstrom")
    scale = 1 / kBohrAngstrom;
  else
    return unexpected(fmt::format("positions in '{}' units are not supported for symmetry", units));
  // Cartesian r = sum_i c_i a_i, i.e. r = L^T c; solve with the inverse (Cramer's rule).
  const double d = det(L);
  Mat3 inv{};
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) {
      const int i1 = (i + 1) % 3, i2 = (i + 2) % 3, j1 = (j + 1) % 3, j2 = (j + 2) % 3;
      inv[j][i] = (L[i1][j1] * L[i2][j2] - L[i1][j2] * L[i2][j1]) / d;  // inv = L^{-1}
    }
  for (const auto& a : atoms) {
    Vec3 r{a.position[0] * scale, a.position[1] * scale, a.position[2] * scale};
    Vec3 c{};
    for (int k = 0; k < 3; ++k) c[k] = r[0] * inv[0][k] + r[1] * inv[1][k] + r[2] * inv[2][k];
    out.push_back(c);
  }
  return out;
}

}  // namespace qecloud::qe
