#pragma once
// The machine's processors as hwloc sees them (restricted to the CPUs this process may use, so a cgroup or
// a Slurm allocation is respected). pw.x ranks go one per physical core: hyperthreads share a core's
// floating-point units and only slow MPI ranks down.
namespace qecloud {

struct Topology {
  int physical_cores = 1;
  int logical_cpus = 1;
  int packages = 1;
};

Topology detect_topology();  // never throws; falls back to sysconf when hwloc fails

}  // namespace qecloud
