#pragma once
// Host lists in the range notation of LLNL's hostlist library (pdsh, Slurm's SLURM_JOB_NODELIST, squeue's
// %N): comma-separated entries, each a name with bracketed ranges — "node-[0-2]", "node-[1,3-5]",
// "rack[1-2]n[01-02]" (several brackets multiply, the leftmost varying slowest), "a,b[8-10]".
//   - A range keeps the width of its lower bound: "n[01-3]" is n01 n02 n03, "n[9-11]" is n9 n10 n11.
//   - Text may follow the last bracket ("a[01-03]b" is a01b a02b a03b), as in LLNL's hostlist and pdsh;
//     Slurm 22.05's own parser refuses that form, so it never appears in what Slurm prints: accepting it
//     costs nothing.
//   - Order and repeats are kept as written (Slurm's node order: the first node runs the batch script).
// Checked against `scontrol show hostnames` (Slurm 22.05) in tests/unit/test_core_hostlist.cpp.
#include <string>
#include <string_view>
#include <vector>

#include "core/expected.hpp"

namespace qecloud {

// The host names of `list`, or why it is not a host list ("unclosed '[' in 'node-[0-2'").
Expected<std::vector<std::string>, std::string> expand_hostlist(std::string_view list);

}  // namespace qecloud
