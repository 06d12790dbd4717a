// The one table of store kinds, by URL scheme. A new backend is one folder plus one row here.
#include <functional>

#include <fmt/format.h>

#include "core/error.hpp"
#include "storage/file_store.hpp"
#include "storage/object_store.hpp"
#include "storage/s3_store.hpp"

namespace qecloud::storage {
namespace {

struct Scheme {
  const char* prefix;
  std::function<std::unique_ptr<ObjectStore>(const std::string& rest, const StoreOptions& o)> open;
};

const Scheme kSchemes[] = {
    {"file://",
     [](const std::string& rest, const StoreOptions&) { return std::make_unique<FileStore>(rest); }},
    {"s3://",
     [](const std::string& rest, const StoreOptions& o) -> std::unique_ptr<ObjectStore> {
       return S3Store::open(rest, o.region);
     }},
};

}  // namespace

std::unique_ptr<ObjectStore> open_store(const std::string& url, const StoreOptions& options) {
  for (const auto& s : kSchemes) {
    const std::string p = s.prefix;
    if (url.compare(0, p.size(), p) == 0) {
      if (url.size() == p.size()) throw UsageError(fmt::format("store URL '{}' has no path", url));
      return s.open(url.substr(p.size()), options);
    }
  }
  if (url.find("://") == std::string::npos) return std::make_unique<FileStore>(url);  // a plain path
  throw UsageError(fmt::format("unknown store URL scheme in '{}' (supported: file://, s3://)", url));
}

}  // namespace qecloud::storage
