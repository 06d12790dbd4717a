// The job's input bundle on every node. pw.x 6.x opens the pseudopotential files on every rank, not only on
// the first (the rehearsal inside an image without Debian's quantum-espresso-data showed rank 2 failing in
// readpp), so the children need the bundle where their ranks run as much as the main does.
#include <filesystem>

#include <fmt/format.h>

#include "agent/agent.hpp"
#include "job/store_layout.hpp"
#include "storage/object_store.hpp"

namespace fs = std::filesystem;

namespace qecloud::agent {

int fetch_input_bundle(storage::ObjectStore& store, const JobLocation& loc, const std::string& work) {
  const std::string in_prefix = loc.input_prefix();
  int n = 0;
  for (const auto& obj : store.list(in_prefix)) {
    const fs::path dest = fs::path(work) / obj.key.substr(in_prefix.size());
    fs::create_directories(dest.parent_path());
    store.get_file(obj.key, dest.string());
    ++n;
  }
  return n;
}

}  // namespace qecloud::agent
