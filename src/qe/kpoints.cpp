#include "qe/kpoints.hpp"

#include <fcntl.h>
#include <spglib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include <fmt/format.h>

#include "core/crypto.hpp"

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

namespace {

constexpr off_t kCacheLimit = 1 << 20;  // bytes; a larger cache file is started again

std::string cache_key(const Mat3& L, const std::vector<Vec3>& pos, const std::vector<int>& types,
                      std::array<int, 3> mesh, std::array<int, 3> shift, KpointSymmetry sym) {
  std::string text = fmt::format("v1 {} {} {} {} {} {} {} {}|", mesh[0], mesh[1], mesh[2], shift[0], shift[1],
                                 shift[2], sym.use_symmetry, sym.time_reversal);
  for (const auto& row : L) text += fmt::format("{:.17g} {:.17g} {:.17g}|", row[0], row[1], row[2]);
  for (std::size_t a = 0; a < pos.size(); ++a)
    text += fmt::format("{} {:.17g} {:.17g} {:.17g}|", types[a], pos[a][0], pos[a][1], pos[a][2]);
  return sha256_hex(text);
}

}  // namespace

Expected<int, std::string> irreducible_kpoints_cached(const Mat3& L, const std::vector<Vec3>& positions,
                                                      const std::vector<int>& types, std::array<int, 3> mesh,
                                                      std::array<int, 3> shift, KpointSymmetry sym,
                                                      const std::string& cache_file) {
  if (cache_file.empty() || positions.size() != types.size())
    return irreducible_kpoints(L, positions, types, mesh, shift, sym);
  const std::string key = cache_key(L, positions, types, mesh, shift, sym);
  {
    std::ifstream in(cache_file);
    std::string k;
    int n = 0;
    while (in >> k >> n)
      if (k == key && n > 0) return n;
  }
  auto n = irreducible_kpoints(L, positions, types, mesh, shift, sym);
  if (!n) return n;
  // One short line appended (O_APPEND: concurrent writers do not interleave within it).
  struct stat st {};
  if (::stat(cache_file.c_str(), &st) == 0 && st.st_size > kCacheLimit) ::unlink(cache_file.c_str());
  const int fd = ::open(cache_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd >= 0) {
    const std::string line = fmt::format("{} {}\n", key, *n);
    (void)!::write(fd, line.data(), line.size());
    ::close(fd);
  }
  return n;
}

}  // namespace qecloud::qe
