#include "core/paths.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <random>

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

std::string job_db_path() {
  return qecloud_home() + "/jobs.db";
}
std::string default_store_url() {
  return "file://" + qecloud_home() + "/store";
}

std::string new_job_id() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", &tm);
  std::random_device rd;
  std::mt19937 gen(rd() ^ static_cast<unsigned>(::getpid()));
  return fmt::format("{}-{:04x}", buf, gen() & 0xffff);
}

}  // namespace qecloud
