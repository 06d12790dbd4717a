#include "job/database.hpp"

#include <unistd.h>

#include <sqlite3.h>

#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <random>
#include <thread>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/json_text.hpp"
#include "core/paths.hpp"

namespace qecloud {
namespace {

std::string file_of(sqlite3* db) {
  const char* f = sqlite3_db_filename(db, "main");
  return f && *f ? f : "(unknown)";
}

// A prepared statement that finalizes itself; bind() by 1-based position.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql, -1, &s_, nullptr) != SQLITE_OK)
      throw Error(fmt::format("job database {}: {}: {}", file_of(db), sqlite3_errmsg(db), sql));
  }
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt& bind(int i, const std::string& v) {
    sqlite3_bind_text(s_, i, v.c_str(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& bind(int i, std::optional<int> v) {
    if (v)
      sqlite3_bind_int(s_, i, *v);
    else
      sqlite3_bind_null(s_, i);
    return *this;
  }
  bool step() {
    int rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throw Error(fmt::format("job database {}: {}", file_of(db_), sqlite3_errmsg(db_)));
  }
  std::string text(int col) const {
    auto p = sqlite3_column_text(s_, col);
    return p ? reinterpret_cast<const char*>(p) : "";
  }
  std::optional<int> integer(int col) const {
    if (sqlite3_column_type(s_, col) == SQLITE_NULL) return std::nullopt;
    return sqlite3_column_int(s_, col);
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* s_ = nullptr;
};

// BEGIN IMMEDIATE takes the write lock up front (waiting through the busy timeout), so the statements of one
// change commit together and a reader never has to upgrade its lock, which SQLite refuses without waiting.
class WriteTransaction {
 public:
  explicit WriteTransaction(sqlite3* db) : db_(db) { run("BEGIN IMMEDIATE"); }
  ~WriteTransaction() {
    if (!committed_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  void commit() {
    run("COMMIT");
    committed_ = true;
  }

 private:
  void run(const char* sql) {
    if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK)
      throw Error(fmt::format("job database {}: {}: {}", file_of(db_), sql, sqlite3_errmsg(db_)));
  }
  sqlite3* db_;
  bool committed_ = false;
};

constexpr const char* kFirstColumns =
    "id, name, input, backend, state, store_url, created_at, started_at, finished_at, exit_code, layout, "
    "results, message";

// Columns added after the first schema, with their types: a database made before gets them on open.
constexpr std::pair<const char*, const char*> kAddedColumns[] = {
    {"remote", "TEXT"}, {"owner", "TEXT"}, {"heartbeat_at", "TEXT"}, {"resumed_from", "TEXT"}};

bool has_column(sqlite3* db, const char* name) {
  Stmt cols(db, "PRAGMA table_info(jobs)");
  bool found = false;
  while (cols.step()) found |= cols.text(1) == name;
  return found;
}

// What SELECT reads: every column, the added ones as NULL where a read-only database made by an older qecloud
// lacks them (it cannot be given them).
std::string select_columns(sqlite3* db) {
  std::string cols = kFirstColumns;
  for (const auto& [name, type] : kAddedColumns)
    cols += has_column(db, name) ? fmt::format(", {}", name) : ", NULL";
  return cols;
}

nlohmann::json parse_json_column(const std::string& text) {
  auto j = nlohmann::json::parse(text.empty() ? "{}" : text, nullptr, false);
  return j.is_discarded() ? nlohmann::json::object() : j;
}

JobRecord read_job(const Stmt& s) {
  JobRecord j;
  j.id = s.text(0), j.name = s.text(1), j.input = s.text(2), j.backend = s.text(3);
  j.state = parse_job_state(s.text(4)).value_or(JobState::kFailed);
  j.store_url = s.text(5), j.created_at = s.text(6), j.started_at = s.text(7), j.finished_at = s.text(8);
  j.exit_code = s.integer(9);
  j.layout = parse_json_column(s.text(10));
  j.results = parse_json_column(s.text(11));
  j.message = s.text(12);
  j.remote = parse_json_column(s.text(13));
  j.owner = Owner::from_json(parse_json_column(s.text(14)));
  j.heartbeat_at = s.text(15);
  j.resumed_from = s.text(16);
  return j;
}

}  // namespace

std::string now_utc_iso8601() {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:03d}Z", buf, ms);
}

JobDb::JobDb(const std::string& path, bool allow_read_only) : path_(path) {
  auto open = [&](const std::string& name, int flags) {
    if (sqlite3_open_v2(name.c_str(), &db_, flags | SQLITE_OPEN_FULLMUTEX | SQLITE_OPEN_URI, nullptr) ==
        SQLITE_OK)
      return true;
    sqlite3_close(db_);
    db_ = nullptr;
    return false;
  };
  auto close = [&] {
    sqlite3_close(db_);
    db_ = nullptr;
  };
  try {
    if (!open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE))
      throw Error(fmt::format("cannot open the job database {}", path));
    create_schema();
    columns_ = select_columns(db_);
    return;
  } catch (const Error& e) {
    close();
    const std::string dir = std::filesystem::path(path).parent_path().string();
    const bool exists = ::access(path.c_str(), F_OK) == 0;
    const bool writable = ::access(dir.c_str(), W_OK) == 0 && (!exists || ::access(path.c_str(), W_OK) == 0);
    if (writable) throw;
    // A read-only $QECLOUD_HOME: what is recorded can still be listed and shown. `immutable` reads a WAL
    // database whose directory cannot hold the -shm file (nobody can be writing it there either).
    if (allow_read_only && exists) {
      for (const std::string& name : {path, "file:" + path + "?immutable=1"}) {
        if (open(name, SQLITE_OPEN_READONLY) &&
            sqlite3_exec(db_, "SELECT 1 FROM jobs LIMIT 1", nullptr, nullptr, nullptr) == SQLITE_OK) {
          read_only_ = true;
          sqlite3_busy_timeout(db_, 10000);
          columns_ = select_columns(db_);
          return;
        }
        close();
      }
    }
    throw Error(fmt::format(
        "the job database {} cannot be written ({}): {} is read-only; set QECLOUD_HOME to a directory you "
        "can write",
        path, e.what(), exists && ::access(dir.c_str(), W_OK) == 0 ? path : dir));
  }
}

void JobDb::create_schema() {
  // Other qecloud processes may hold the write lock briefly; wait for it rather than fail.
  sqlite3_busy_timeout(db_, 10000);
  // Switching a new file to WAL and creating the schema take locks for which SQLite does not always call the
  // busy handler (two processes creating the database at once); retry those steps for the same ten seconds.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (;;) {
    try {
      exec("PRAGMA journal_mode=WAL");
      exec("PRAGMA synchronous=NORMAL");
      exec(
          "CREATE TABLE IF NOT EXISTS jobs (id TEXT PRIMARY KEY, name TEXT, input TEXT, backend TEXT, state "
          "TEXT, store_url TEXT, created_at TEXT, started_at TEXT, finished_at TEXT, exit_code INTEGER, "
          "layout TEXT, results TEXT, message TEXT, remote TEXT, owner TEXT, heartbeat_at TEXT)");
      exec("CREATE TABLE IF NOT EXISTS transitions (job_id TEXT, state TEXT, at TEXT, note TEXT)");
      exec("CREATE INDEX IF NOT EXISTS transitions_job ON transitions(job_id)");
      // A database made by an older qecloud gets the newer columns here (another process may be adding
      // them at the same moment: its error is then no error).
      auto has_column = [&](const char* name) { return qecloud::has_column(db_, name); };
      for (const auto& [name, type] : kAddedColumns) {
        if (has_column(name)) continue;
        try {
          exec(fmt::format("ALTER TABLE jobs ADD COLUMN {} {}", name, type).c_str());
        } catch (const Error&) {
          if (!has_column(name)) throw;
        }
      }
      return;
    } catch (const Error&) {
      const int code = sqlite3_errcode(db_) & 0xff;
      if ((code != SQLITE_BUSY && code != SQLITE_LOCKED) || std::chrono::steady_clock::now() > deadline)
        throw;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
}

JobDb::~JobDb() {
  sqlite3_close(db_);
}

void JobDb::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    throw Error(fmt::format("job database {}: {}", path_, msg));
  }
}

void JobDb::insert(const JobRecord& j) {
  const std::string state(to_string(j.state));
  WriteTransaction tx(db_);
  Stmt s(
      db_,
      "INSERT INTO jobs (id, name, input, backend, state, store_url, created_at, started_at, finished_at, "
      "exit_code, layout, results, message, remote, owner, heartbeat_at, resumed_from) VALUES (?1, ?2, ?3, "
      "?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)");
  s.bind(1, j.id).bind(2, j.name).bind(3, j.input).bind(4, j.backend).bind(5, state).bind(6, j.store_url);
  const std::string now = now_utc_iso8601();
  s.bind(7, j.created_at.empty() ? now : j.created_at).bind(8, j.started_at).bind(9, j.finished_at);
  s.bind(10, j.exit_code)
      .bind(11, json_text(j.layout, -1))
      .bind(12, json_text(j.results, -1))
      .bind(13, j.message)
      .bind(14, json_text(j.remote, -1))
      .bind(15, json_text(j.owner.to_json(), -1))
      .bind(16, j.owner.empty() ? j.heartbeat_at : now)
      .bind(17, j.resumed_from);
  s.step();
  Stmt t(db_, "INSERT INTO transitions (job_id, state, at, note) VALUES (?1, ?2, ?3, '')");
  t.bind(1, j.id).bind(2, state).bind(3, now).step();
  tx.commit();
}

void JobDb::set_state(const std::string& id, JobState state, const std::string& note) {
  const std::string now = now_utc_iso8601(), name(to_string(state));
  WriteTransaction tx(db_);
  Stmt s(db_,
         "UPDATE jobs SET state = ?2, started_at = CASE WHEN ?2 = 'running' THEN ?3 ELSE started_at END "
         "WHERE id = ?1");
  s.bind(1, id).bind(2, name).bind(3, now).step();
  Stmt t(db_, "INSERT INTO transitions (job_id, state, at, note) VALUES (?1, ?2, ?3, ?4)");
  t.bind(1, id).bind(2, name).bind(3, now).bind(4, note).step();
  tx.commit();
}

void JobDb::set_layout(const std::string& id, const nlohmann::json& layout) {
  Stmt(db_, "UPDATE jobs SET layout = ?2 WHERE id = ?1").bind(1, id).bind(2, json_text(layout, -1)).step();
}

void JobDb::set_remote(const std::string& id, const nlohmann::json& remote) {
  Stmt(db_, "UPDATE jobs SET remote = ?2 WHERE id = ?1").bind(1, id).bind(2, json_text(remote, -1)).step();
}

void JobDb::set_owner(const std::string& id, const Owner& owner) {
  Stmt(db_, "UPDATE jobs SET owner = ?2, heartbeat_at = ?3 WHERE id = ?1")
      .bind(1, id)
      .bind(2, json_text(owner.to_json(), -1))
      .bind(3, owner.empty() ? std::string() : now_utc_iso8601())
      .step();
}

void JobDb::heartbeat(const std::string& id) {
  Stmt(db_, "UPDATE jobs SET heartbeat_at = ?2 WHERE id = ?1").bind(1, id).bind(2, now_utc_iso8601()).step();
}

void JobDb::finish(const std::string& id, JobState state, int exit_code, const nlohmann::json& results,
                   const std::string& message) {
  finish_where(id, state, exit_code, results, message, nullptr);
}

bool JobDb::finish_if_active(const std::string& id, JobState state, int exit_code,
                             const nlohmann::json& results, const std::string& message) {
  return finish_if(id, {JobState::kCreated, JobState::kQueued, JobState::kRunning}, state, exit_code, results,
                   message);
}

bool JobDb::finish_if(const std::string& id, std::initializer_list<JobState> from, JobState state,
                      int exit_code, const nlohmann::json& results, const std::string& message) {
  const std::vector<JobState> states(from);
  return finish_where(id, state, exit_code, results, message, &states);
}

bool JobDb::finish_where(const std::string& id, JobState state, int exit_code, const nlohmann::json& results,
                         const std::string& message, const std::vector<JobState>* from) {
  const std::string now = now_utc_iso8601(), name(to_string(state));
  std::string only;
  if (from) {
    for (JobState f : *from) only += fmt::format("{}'{}'", only.empty() ? "" : ", ", to_string(f));
    only = " AND state IN (" + only + ")";
  }
  WriteTransaction tx(db_);
  Stmt s(db_, ("UPDATE jobs SET state = ?2, exit_code = ?3, results = ?4, message = ?5, finished_at = ?6, "
               "owner = '{}' WHERE id = ?1" +
               only)
                  .c_str());
  s.bind(1, id)
      .bind(2, name)
      .bind(3, exit_code)
      .bind(4, json_text(results, -1))
      .bind(5, message)
      .bind(6, now)
      .step();
  if (sqlite3_changes(db_) == 0) return false;
  Stmt t(db_, "INSERT INTO transitions (job_id, state, at, note) VALUES (?1, ?2, ?3, ?4)");
  t.bind(1, id).bind(2, name).bind(3, now).bind(4, message).step();
  tx.commit();
  return true;
}

std::optional<JobRecord> JobDb::find(const std::string& id_or_prefix) {
  // The prefix is compared as text, never as a LIKE pattern: `show %` must not match every job.
  Stmt s(db_, fmt::format("SELECT {} FROM jobs WHERE id = ?1 OR substr(id, 1, length(?1)) = ?1 "
                          "ORDER BY id = ?1 DESC LIMIT 3",
                          columns_)
                  .c_str());
  s.bind(1, id_or_prefix);
  std::vector<JobRecord> found;
  if (!id_or_prefix.empty())
    while (s.step()) found.push_back(read_job(s));
  if (found.empty()) return std::nullopt;
  if (found[0].id == id_or_prefix || found.size() == 1) return found[0];
  throw Error(
      fmt::format("job id prefix '{}' is ambiguous ({}, {}, …)", id_or_prefix, found[0].id, found[1].id));
}

std::vector<JobRecord> JobDb::list(int limit) {
  Stmt s(db_,
         fmt::format("SELECT {} FROM jobs ORDER BY created_at DESC, id DESC LIMIT ?1", columns_).c_str());
  s.bind(1, std::optional<int>(limit));
  std::vector<JobRecord> out;
  while (s.step()) out.push_back(read_job(s));
  return out;
}

std::vector<JobRecord> JobDb::resumed_by(const std::string& id) {
  if (columns_.find("resumed_from") == std::string::npos) return {};
  Stmt s(
      db_,
      fmt::format("SELECT {} FROM jobs WHERE resumed_from = ?1 ORDER BY created_at, id", columns_).c_str());
  s.bind(1, id);
  std::vector<JobRecord> out;
  while (s.step()) out.push_back(read_job(s));
  return out;
}

std::vector<Transition> JobDb::transitions(const std::string& id) {
  Stmt s(db_, "SELECT state, at, note FROM transitions WHERE job_id = ?1 ORDER BY rowid");
  s.bind(1, id);
  std::vector<Transition> out;
  while (s.step()) out.push_back({s.text(0), s.text(1), s.text(2)});
  return out;
}

std::string job_db_path() {
  return qecloud_home() + "/jobs.db";
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
