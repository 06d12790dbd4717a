#pragma once
// The job database: every job, its state transitions, layout, timings and results, in SQLite (WAL mode, with
// a busy timeout, so several qecloud processes can record jobs at once). One file under $QECLOUD_HOME.
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

struct sqlite3;

namespace qecloud {

// Job states. A job moves created → running → one of the final states.
namespace job_state {
inline constexpr const char* kCreated = "created";
inline constexpr const char* kRunning = "running";
inline constexpr const char* kSucceeded = "succeeded";
inline constexpr const char* kFailed = "failed";  // pw.x or MPI crashed, or results incomplete
inline constexpr const char* kNotConverged = "not_converged";
inline constexpr const char* kStopped = "stopped";  // signal or EXIT file; restart data kept
inline constexpr const char* kInvalid = "invalid";  // input rejected before anything ran
}  // namespace job_state

struct JobRecord {
  std::string id;
  std::string name;
  std::string input;  // the input file as the user named it
  std::string backend = "local";
  std::string state = job_state::kCreated;
  std::string store_url;                            // where the job's files are kept
  std::string created_at, started_at, finished_at;  // ISO 8601 UTC; empty until reached
  std::optional<int> exit_code;
  nlohmann::json layout = nlohmann::json::object();
  nlohmann::json results = nlohmann::json::object();
  std::string message;  // the reason for a failure, for people
  // Where a remote backend keeps the job (AWS Batch: job id, region, queue, nodes, instance type).
  nlohmann::json remote = nlohmann::json::object();
};

struct Transition {
  std::string state;
  std::string at;
  std::string note;
};

class JobDb {
 public:
  explicit JobDb(const std::string& path);  // creates the file and schema if needed; throws qecloud::Error
  ~JobDb();
  JobDb(const JobDb&) = delete;
  JobDb& operator=(const JobDb&) = delete;

  void insert(const JobRecord& job);
  void set_state(const std::string& id, const std::string& state, const std::string& note = {});
  void set_layout(const std::string& id, const nlohmann::json& layout);
  void set_remote(const std::string& id, const nlohmann::json& remote);
  void finish(const std::string& id, const std::string& state, int exit_code, const nlohmann::json& results,
              const std::string& message);
  // By full id or unique prefix; throws qecloud::Error when the prefix is ambiguous.
  std::optional<JobRecord> find(const std::string& id_or_prefix);
  std::vector<JobRecord> list(int limit = 50);
  std::vector<Transition> transitions(const std::string& id);

 private:
  void exec(const char* sql);
  sqlite3* db_ = nullptr;
};

std::string now_utc_iso8601();

}  // namespace qecloud
