#include "storage/file_store.hpp"

#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "core/error.hpp"

namespace fs = std::filesystem;

namespace qecloud::storage {
namespace {

// Copies `from` to a new file `to` whole, with the system's own reason when it cannot: a disk that fills up
// midway is "No space left on device" (std::filesystem::copy_file turns a short sendfile into a bare
// "Input/output error").
std::error_code copy_whole(const std::string& from, const std::string& to) {
  const int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return {errno, std::generic_category()};
  struct stat st {};
  ::fstat(in, &st);
  const int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, st.st_mode & 0777);
  if (out < 0) {
    const int e = errno;
    ::close(in);
    return {e, std::generic_category()};
  }
  std::error_code ec;
  for (off_t done = 0; done < st.st_size;) {
    const ssize_t n = ::sendfile(out, in, &done, static_cast<std::size_t>(st.st_size - done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ec = {errno, std::generic_category()};
      break;
    }
    if (n == 0) {  // the source shrank
      ec = std::make_error_code(std::errc::io_error);
      break;
    }
  }
  if (!ec && ::close(out) != 0)
    ec = {errno, std::generic_category()};
  else if (ec)
    ::close(out);
  ::close(in);
  return ec;
}

}  // namespace

FileStore::FileStore(std::string root) : root_(fs::absolute(root).lexically_normal().string()) {
  std::error_code ec;
  fs::create_directories(root_, ec);
  if (ec) throw Error(fmt::format("cannot create the store directory {}: {}", root_, ec.message()));
}

std::string FileStore::path_of(const std::string& key) const {
  fs::path p = (fs::path(root_) / key).lexically_normal();
  const std::string s = p.string();
  if (key.empty() || s.compare(0, root_.size(), root_) != 0 || key.find("..") != std::string::npos)
    throw Error(fmt::format("store key '{}' is outside the store", key));
  return s;
}

void FileStore::put_file(const std::string& local_path, const std::string& key) {
  const fs::path dest = path_of(key);
  std::error_code ec;
  fs::create_directories(dest.parent_path(), ec);
  // Copy beside the destination, flush, then rename: a reader never sees half a file.
  const fs::path tmp = dest.string() + fmt::format(".partial-{}", ::getpid());
  ec = copy_whole(local_path, tmp.string());
  if (ec) {  // a full disk: nothing half-written stays behind
    const std::string why = ec.message();
    fs::remove(tmp, ec);
    throw Error(fmt::format("cannot store {} as {}: {}", local_path, key, why));
  }
  if (fs::file_size(tmp) != fs::file_size(local_path)) {
    fs::remove(tmp, ec);
    throw Error(fmt::format("storing {}: size mismatch after copy", local_path));
  }
  fs::rename(tmp, dest, ec);
  if (ec) {
    const std::string why = ec.message();
    fs::remove(tmp, ec);
    throw Error(fmt::format("cannot store {} as {}: {}", local_path, key, why));
  }
}

void FileStore::get_file(const std::string& key, const std::string& local_path) {
  std::error_code ec;
  fs::copy_file(path_of(key), local_path, fs::copy_options::overwrite_existing, ec);
  if (ec) throw Error(fmt::format("cannot fetch {}: {}", url(key), ec.message()));
}

std::vector<ObjectInfo> FileStore::list(const std::string& prefix) {
  std::vector<ObjectInfo> out;
  const fs::path base = prefix.empty() ? fs::path(root_) : fs::path(path_of(prefix));
  std::error_code ec;
  if (!fs::exists(base, ec)) return out;
  for (const auto& e : fs::recursive_directory_iterator(base)) {
    if (!e.is_regular_file() || e.path().string().find(".partial-") != std::string::npos) continue;
    out.push_back(
        {fs::relative(e.path(), root_).generic_string(), static_cast<unsigned long long>(e.file_size())});
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.key < b.key; });
  return out;
}

void FileStore::remove(const std::string& key) {
  std::error_code ec;
  fs::remove(path_of(key), ec);
  if (ec) throw Error(fmt::format("cannot remove {}: {}", url(key), ec.message()));
}

bool FileStore::exists(const std::string& key) {
  std::error_code ec;
  return fs::is_regular_file(path_of(key), ec);
}

std::string FileStore::url(const std::string& key) const {
  return "file://" + (key.empty() ? root_ : (fs::path(root_) / key).string());
}

}  // namespace qecloud::storage
