#include "storage/object_store.hpp"

#include <filesystem>

namespace qecloud::storage {

int ObjectStore::put_tree(const std::string& local_dir, const std::string& prefix) {
  namespace fs = std::filesystem;
  int n = 0;
  for (const auto& e : fs::recursive_directory_iterator(local_dir)) {
    if (!e.is_regular_file()) continue;
    put_file(e.path().string(), prefix + "/" + fs::relative(e.path(), local_dir).generic_string());
    ++n;
  }
  return n;
}

}  // namespace qecloud::storage
