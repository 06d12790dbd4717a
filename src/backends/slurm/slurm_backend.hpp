#pragma once
// The Slurm backend's row in the backend table (backends/registry.cpp): submit reads qecloud.toml's [slurm]
// (optional) and runs sbatch; every later call reads the Slurm job id, work directory and output file from
// the job's record and asks Slurm's own commands (squeue, sacct, scancel) found in PATH.
#include "backends/backend.hpp"

namespace qecloud::backends::slurm {

Backend backend();

}  // namespace qecloud::backends::slurm
