#pragma once
// The job database: every job, its state transitions, layout, timings, results, owner and heartbeat, in
// SQLite (WAL mode, with a busy timeout, so several qecloud processes can record jobs at once). One file,
// $QECLOUD_HOME/jobs.db. Errors name the file.
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "job/owner.hpp"
#include "job/state.hpp"

struct sqlite3;

namespace qecloud {

struct JobRecord {
  std::string id;
  std::string name;
  std::string input;  // the input file as the user named it
  std::string backend = "local";
  JobState state = JobState::kCreated;
  std::string store_url;                            // where the job's files are kept (<root>/jobs/<id>)
  std::string created_at, started_at, finished_at;  // ISO 8601 UTC; empty until reached
  std::optional<int> exit_code;
  nlohmann::json layout = nlohmann::json::object();
  nlohmann::json results = nlohmann::json::object();
  std::string message;  // the reason for a failure, for people
  // What the backend needs to find the job again, written at submit and read by every later command
  // (AWS Batch: job id, region, queue, log group, nodes, instance type; local: the work directory).
  nlohmann::json remote = nlohmann::json::object();
  Owner owner;               // the process carrying the job through; empty once a scheduler has it
  std::string heartbeat_at;  // ISO 8601 UTC, refreshed by the owner while it runs
  std::string resumed_from;  // the job whose restart data this one continues (`qecloud resume`); empty
};

struct Transition {
  std::string state;
  std::string at;
  std::string note;
};

class JobDb {
 public:
  // Creates the file and schema if needed. When the file cannot be written (a read-only $QECLOUD_HOME) and
  // `allow_read_only`, opens it for reading and says so through read_only(). Throws qecloud::Error naming the
  // file otherwise.
  explicit JobDb(const std::string& path, bool allow_read_only = false);
  ~JobDb();
  JobDb(const JobDb&) = delete;
  JobDb& operator=(const JobDb&) = delete;

  const std::string& path() const { return path_; }
  bool read_only() const { return read_only_; }

  void insert(const JobRecord& job);
  void set_state(const std::string& id, JobState state, const std::string& note = {});
  void set_layout(const std::string& id, const nlohmann::json& layout);
  void set_remote(const std::string& id, const nlohmann::json& remote);
  void set_owner(const std::string& id, const Owner& owner);  // an empty Owner clears it
  void heartbeat(const std::string& id);                      // heartbeat_at = now; no transition
  void finish(const std::string& id, JobState state, int exit_code, const nlohmann::json& results,
              const std::string& message);
  // finish() only while the job is still created, queued or running; false when it had already ended
  // (another process reconciled it, or its owner finished meanwhile).
  bool finish_if_active(const std::string& id, JobState state, int exit_code, const nlohmann::json& results,
                        const std::string& message);
  // finish() only while the job is in one of `from`; false otherwise.
  bool finish_if(const std::string& id, std::initializer_list<JobState> from, JobState state, int exit_code,
                 const nlohmann::json& results, const std::string& message);
  // By full id or unique prefix (taken literally: '%' and '_' match only themselves); throws qecloud::Error
  // when the prefix is ambiguous.
  std::optional<JobRecord> find(const std::string& id_or_prefix);
  std::vector<JobRecord> list(int limit = 50);
  std::vector<Transition> transitions(const std::string& id);
  // The jobs that resumed `id` (their resumed_from), oldest first.
  std::vector<JobRecord> resumed_by(const std::string& id);

 private:
  void exec(const char* sql);
  void create_schema();
  bool finish_where(const std::string& id, JobState state, int exit_code, const nlohmann::json& results,
                    const std::string& message, const std::vector<JobState>* from);
  std::string path_;
  bool read_only_ = false;
  std::string columns_;  // what SELECT reads (database.cpp: select_columns)
  sqlite3* db_ = nullptr;
};

std::string now_utc_iso8601();
std::string job_db_path();  // $QECLOUD_HOME/jobs.db
std::string new_job_id();   // "20261124-103512-4f2a": sortable by time, unique across processes

}  // namespace qecloud
