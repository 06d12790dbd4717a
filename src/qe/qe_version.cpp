#include "qe/qe_version.hpp"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "core/env.hpp"
#include "core/error.hpp"
#include "core/process.hpp"
#include "core/text.hpp"

namespace fs = std::filesystem;

namespace qecloud::qe {

std::string QeVersion::str() const {
  return fmt::format("{}.{}", major, minor);
}

std::optional<QeVersion> QeVersion::parse(std::string_view text) {
  text = text::trim(text);
  if (text::starts_with(text, "v.")) text.remove_prefix(2);
  if (!text.empty() && (text[0] == 'v' || text[0] == 'V')) text.remove_prefix(1);
  size_t dot = text.find('.');
  if (dot == std::string_view::npos || dot == 0) return std::nullopt;
  size_t end = dot + 1;
  while (end < text.size() && std::isdigit(static_cast<unsigned char>(text[end]))) ++end;
  auto major = text::parse_int(text.substr(0, dot));
  auto minor = text::parse_int(text.substr(dot + 1, end - dot - 1));
  if (!major || !minor || *major < 1 || *major > 99 || *minor < 0 || *minor > 99) return std::nullopt;
  return QeVersion{static_cast<int>(*major), static_cast<int>(*minor)};
}

std::optional<QeVersion> version_from_banner(std::string_view line) {
  // pw.x's first line (environment_start): "Program PWSCF v.6.7MaX starts on …".
  size_t p = line.find("Program PWSCF v.");
  if (p == std::string_view::npos) return std::nullopt;
  std::string_view rest = line.substr(p + 16);
  return QeVersion::parse(rest.substr(0, rest.find(' ')));
}

namespace {

// The identity of one pw.x binary: its path, modification time and size. A reinstalled pw.x is asked again.
std::string cache_key(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return "";
  return fmt::format("{}\t{}\t{}", path, static_cast<long long>(st.st_mtime),
                     static_cast<long long>(st.st_size));
}

std::optional<QeVersion> cached(const std::string& cache_file, const std::string& key) {
  std::ifstream in(cache_file);
  std::string line;
  while (std::getline(in, line))
    if (line.size() > key.size() && line.compare(0, key.size(), key) == 0 && line[key.size()] == '\t')
      return QeVersion::parse(std::string_view(line).substr(key.size() + 1));
  return std::nullopt;
}

void remember(const std::string& cache_file, const std::string& key, const QeVersion& v) {
  std::string keep;
  {
    std::ifstream in(cache_file);
    std::string line;
    while (std::getline(in, line))
      if (line.compare(0, key.find('\t') + 1, key.substr(0, key.find('\t') + 1)) != 0) keep += line + "\n";
  }
  // Write aside and rename, so a concurrent reader sees the old file or the new one, never half of one.
  std::string tmp = fmt::format("{}.{}", cache_file, ::getpid());
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << keep << key << '\t' << v.str() << '\n';
    if (!out) return;
  }
  std::error_code ec;
  fs::rename(tmp, cache_file, ec);
  if (ec) fs::remove(tmp, ec);
}

// Starts pw.x with no input in a scratch directory (it writes input_tmp.in and CRASH where it runs) and reads
// its stdout until the banner names the version; then stops its process group. Bounded: a pw.x that prints
// nothing for 30 s is taken as no answer.
std::optional<QeVersion> ask(const std::string& path) {
  std::error_code ec;
  fs::path scratch = fs::temp_directory_path(ec) / fmt::format("qecloud-pw-version-{}", ::getpid());
  fs::create_directories(scratch, ec);
  std::optional<QeVersion> found;
  try {
    SpawnOptions o;
    o.argv = {path};
    o.cwd = scratch.string();
    o.stdout_path = (scratch / "banner.txt").string();
    o.stderr_path = (scratch / "stderr.txt").string();
    o.env_overrides = {{"OMP_NUM_THREADS", "1"}};
    Process p(o);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    bool running = true;
    while (!found && running && std::chrono::steady_clock::now() < deadline)
      running = p.pump(
          [&](std::string_view line) {
            if (!found) found = version_from_banner(line);
          },
          std::chrono::milliseconds(200));
    p.signal_group(SIGKILL);
    p.wait_for(std::chrono::seconds(5));
  } catch (const Error&) {
    found.reset();
  }
  fs::remove_all(scratch, ec);
  return found;
}

}  // namespace

std::optional<QeVersion> ask_pw_version(const std::string& path, const std::string& cache_file) {
  const std::string key = cache_key(path);
  if (key.empty()) return std::nullopt;
  if (auto v = cached(cache_file, key)) return v;
  auto v = ask(path);
  if (v) remember(cache_file, key, *v);
  return v;
}

}  // namespace qecloud::qe
