#include "core/dynamic_library.hpp"

#include <dlfcn.h>

#include <map>
#include <memory>
#include <mutex>

#include <fmt/format.h>

#include "core/error.hpp"

namespace qecloud {

const DynamicLibrary& DynamicLibrary::open(const std::string& soname, const std::string& purpose) {
  static std::mutex mu;
  static std::map<std::string, std::unique_ptr<DynamicLibrary>> loaded;  // never unloaded
  std::lock_guard lock(mu);
  if (auto it = loaded.find(soname); it != loaded.end()) return *it->second;
  void* h = ::dlopen(soname.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    const char* why = ::dlerror();
    throw Error(fmt::format("{} cannot be loaded ({}): {}", soname, purpose, why ? why : "unknown reason"));
  }
  auto lib = std::unique_ptr<DynamicLibrary>(new DynamicLibrary(h, soname));
  return *loaded.emplace(soname, std::move(lib)).first->second;
}

void* DynamicLibrary::symbol(const char* name) const {
  ::dlerror();
  void* p = ::dlsym(handle_, name);
  if (!p) throw Error(fmt::format("{} has no {}: is it the version qecloud was built with?", soname_, name));
  return p;
}

}  // namespace qecloud
