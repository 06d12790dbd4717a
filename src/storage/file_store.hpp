#pragma once
// file:// — a directory on a local or shared file system.
#include "storage/object_store.hpp"

namespace qecloud::storage {

class FileStore : public ObjectStore {
 public:
  explicit FileStore(std::string root);  // creates the directory if needed
  void put_file(const std::string& local_path, const std::string& key) override;
  void get_file(const std::string& key, const std::string& local_path) override;
  std::vector<ObjectInfo> list(const std::string& prefix) override;
  bool exists(const std::string& key) override;
  void remove(const std::string& key) override;
  std::string url(const std::string& key) const override;

 private:
  std::string path_of(const std::string& key) const;  // refuses keys that escape the root
  std::string root_;
};

}  // namespace qecloud::storage
