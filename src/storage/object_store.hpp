#pragma once
// Where a job's files are kept: an object store addressed by URL, chosen by scheme from one registry
// (file://, s3://). Keys are '/'-separated paths below the store's root.
#include <memory>
#include <string>
#include <vector>

namespace qecloud::storage {

struct ObjectInfo {
  std::string key;
  unsigned long long size = 0;
};

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;
  // Copies a local file to `key`. The object appears whole or not at all (written aside, then renamed).
  virtual void put_file(const std::string& local_path, const std::string& key) = 0;
  // Copies every regular file under `local_dir` to `prefix` + its relative path; returns how many.
  // (One file at a time; each store parallelises within a file.)
  int put_tree(const std::string& local_dir, const std::string& prefix);
  virtual void get_file(const std::string& key, const std::string& local_path) = 0;
  virtual std::vector<ObjectInfo> list(const std::string& prefix) = 0;
  virtual bool exists(const std::string& key) = 0;
  virtual void remove(const std::string& key) = 0;            // no error when absent
  virtual std::string url(const std::string& key) const = 0;  // e.g. file:///home/u/.qecloud/store/jobs/x
};

struct StoreOptions {
  // s3://: the bucket's region, which a request must be signed for (S3 refuses any other with
  // AuthorizationHeaderMalformed); empty: the environment's (AWS_REGION, AWS_DEFAULT_REGION, the profile).
  std::string region;
};
// Opens the store a URL names. Throws qecloud::UsageError for an unknown scheme or a malformed URL.
std::unique_ptr<ObjectStore> open_store(const std::string& url, const StoreOptions& options = {});

}  // namespace qecloud::storage
