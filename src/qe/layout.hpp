#pragma once
// The parallel layout of a pw.x run: how many MPI ranks, and how many k-point pools (-nk) among them.
// Measured on the seed silicon case (145 k-points, 2 cores): serial 3.1 s, 2 ranks without pools 3.8 s,
// 2 ranks with 2 pools 1.9 s. Pools are nearly free parallelism when there are k-points to share, so the
// planner gives each pool as few ranks as possible while keeping the k-points evenly spread.
#include <optional>
#include <string>

namespace qecloud::qe {

struct LayoutRequest {
  int cores = 1;  // physical cores available (per node times nodes)
  int nodes = 1;
  std::optional<int> ranks;    // user's --ranks; nullopt = auto
  std::optional<int> pools;    // user's --pools; nullopt = auto
  std::optional<int> kpoints;  // irreducible k-points, when known
  bool allow_oversubscribe = false;
};

struct Layout {
  int nodes = 1;
  int ranks = 1;
  int pools = 1;
  bool oversubscribed = false;  // more ranks than cores: mpirun must yield when idle
  std::string why;              // one line for people: how the numbers were chosen
};

// Throws qecloud::UsageError for impossible requests (pools not dividing ranks, ranks < 1, …).
Layout plan_layout(const LayoutRequest& req);

// The load imbalance of spreading `kpoints` over `pools`: max k-points per pool / mean, ≥ 1.
double pool_imbalance(int kpoints, int pools);

}  // namespace qecloud::qe
