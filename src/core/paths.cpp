#include "core/paths.hpp"

#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>

#include "core/error.hpp"

namespace qecloud {

std::string qecloud_home() {
  std::string home;
  if (const char* h = std::getenv("QECLOUD_HOME"); h && *h)
    home = h;
  else if (const char* u = std::getenv("HOME"); u && *u)
    home = std::string(u) + "/.qecloud";
  else
    throw Error("neither $QECLOUD_HOME nor $HOME is set: nowhere to keep the job database");
  std::error_code ec;
  std::filesystem::create_directories(home, ec);
  if (ec) throw Error(fmt::format("cannot create {}: {}", home, ec.message()));
  return std::filesystem::absolute(home).lexically_normal().string();
}

}  // namespace qecloud
