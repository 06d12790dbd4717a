#include "core/topology.hpp"

#include <hwloc.h>
#include <unistd.h>

#include <algorithm>

namespace qecloud {

Topology detect_topology() {
  Topology t;
  const long online = sysconf(_SC_NPROCESSORS_ONLN);
  t.logical_cpus = t.physical_cores = static_cast<int>(std::max(1L, online));
  hwloc_topology_t topo;
  if (hwloc_topology_init(&topo) != 0) return t;
  if (hwloc_topology_load(topo) == 0) {
    const int cores = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE);
    const int pus = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU);
    const int packages = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PACKAGE);
    if (cores > 0) t.physical_cores = cores;
    if (pus > 0) t.logical_cpus = pus;
    if (packages > 0) t.packages = packages;
  }
  hwloc_topology_destroy(topo);
  return t;
}

}  // namespace qecloud
