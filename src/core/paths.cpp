#include "core/paths.hpp"

#include <filesystem>

#include <fmt/format.h>

#include "core/env.hpp"
#include "core/error.hpp"

namespace qecloud {

std::string qecloud_home() {
  const EnvLookup env = process_env();
  std::string home;
  if (auto h = env_text(env, "QECLOUD_HOME"))
    home = *h;
  else if (auto u = env_text(env, "HOME"))
    home = *u + "/.qecloud";
  else
    throw Error("neither $QECLOUD_HOME nor $HOME is set: nowhere to keep the job database");
  std::error_code ec;
  std::filesystem::create_directories(home, ec);
  if (ec) throw Error(fmt::format("cannot create {}: {}", home, ec.message()));
  return std::filesystem::absolute(home).lexically_normal().string();
}

}  // namespace qecloud
