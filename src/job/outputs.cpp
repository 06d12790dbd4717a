#include "job/outputs.hpp"

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include <fmt/format.h>

#include "core/text.hpp"
#include "job/report.hpp"

namespace fs = std::filesystem;

namespace qecloud {
namespace {
constexpr std::size_t kStoreThreads = 4;
}  // namespace

std::string StoreReport::summary() const {
  std::string out;
  for (const auto& f : failed) out += (out.empty() ? "not stored: " : "; ") + f;
  return out;
}

StoreReport put_files(storage::ObjectStore& store, const std::vector<PutFile>& files) {
  StoreReport r;
  std::vector<std::string> failures(files.size());
  std::atomic<std::size_t> next{0};
  auto worker = [&] {
    for (std::size_t i; (i = next++) < files.size();) {
      try {
        store.put_file(files[i].path, files[i].key);
      } catch (const std::exception& e) {
        failures[i] = fmt::format("{} ({})", files[i].name, e.what());
      }
    }
  };
  std::vector<std::thread> pool;
  for (std::size_t t = 1; t < std::min<std::size_t>(kStoreThreads, files.size()); ++t)
    pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  for (std::size_t i = 0; i < files.size(); ++i)
    (failures[i].empty() ? r.stored : r.failed).push_back(failures[i].empty() ? files[i].name : failures[i]);
  return r;
}

StoreReport store_outputs(storage::ObjectStore& store, const JobLocation& loc, const std::string& run_dir,
                          const std::string& xml, const std::vector<std::string>& extra) {
  std::vector<PutFile> files;
  auto add = [&](const fs::path& path, const std::string& name) {
    files.push_back({path.string(), loc.output_key(name), name});
  };
  for (const char* name :
       {output_name::kPwOut, output_name::kPwErr, output_name::kCrash, output_name::kResults,
        output_name::kReport, output_name::kMainLog, output_name::kHostfile})
    if (!run_dir.empty() && fs::exists(fs::path(run_dir) / name)) add(fs::path(run_dir) / name, name);
  for (const auto& f : extra)
    if (fs::exists(f)) add(f, fs::path(f).filename().string());
  if (!xml.empty() && fs::exists(xml)) add(xml, output_name::kXml);
  return put_files(store, files);
}

int fetch_input_bundle(storage::ObjectStore& store, const JobLocation& loc, const std::string& dir) {
  const std::string in_prefix = loc.input_prefix();
  int n = 0;
  for (const auto& obj : store.list(in_prefix)) {
    const fs::path dest = fs::path(dir) / obj.key.substr(in_prefix.size());
    fs::create_directories(dest.parent_path());
    store.get_file(obj.key, dest.string());
    ++n;
  }
  return n;
}

std::vector<std::string> fetch_outputs(storage::ObjectStore& store, const JobLocation& loc,
                                       const std::string& dir) {
  const std::string prefix = loc.output_prefix();
  std::vector<std::string> written;
  for (const auto& obj : store.list(prefix)) {
    const fs::path dest = fs::path(dir) / obj.key.substr(prefix.size());
    fs::create_directories(dest.parent_path());
    store.get_file(obj.key, dest.string());
    written.push_back(dest.string());
  }
  return written;
}

std::unique_ptr<storage::ObjectStore> open_job_store(const JobRecord& job) {
  return storage::open_store(JobLocation::of_job_url(job.store_url, job.id).root_url,
                             {job.remote.value("region", std::string())});
}

std::optional<std::string> read_stored_output(storage::ObjectStore& store, const JobLocation& loc,
                                              const std::string& name) {
  const std::string key = loc.output_key(name);
  if (!store.exists(key)) return std::nullopt;
  const fs::path tmp = fs::temp_directory_path() / fmt::format("qecloud-{}-{}-{}", loc.id, ::getpid(), name);
  store.get_file(key, tmp.string());
  std::string text = text::read_file(tmp.string());
  std::error_code ec;
  fs::remove(tmp, ec);
  return text;
}

std::optional<AgentReport> read_stored_report(storage::ObjectStore& store, const JobLocation& loc) {
  const auto text = read_stored_output(store, loc, output_name::kReport);
  return text ? parse_report(*text) : std::nullopt;
}

}  // namespace qecloud
