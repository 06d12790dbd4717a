#include "core/job_db.hpp"

#include <sqlite3.h>

#include <chrono>
#include <ctime>
#include <thread>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/json_text.hpp"

namespace qecloud {
namespace {

// A prepared statement that finalizes itself; bind() by 1-based position.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql, -1, &s_, nullptr) != SQLITE_OK)
      throw Error(fmt::format("job database: {}: {}", sqlite3_errmsg(db), sql));
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
    throw Error(fmt::format("job database: {}", sqlite3_errmsg(db_)));
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
      throw Error(fmt::format("job database: {}: {}", sql, sqlite3_errmsg(db_)));
  }
  sqlite3* db_;
  bool committed_ = false;
};

constexpr const char* kColumns =
    "id, name, input, backend, state, store_url, created_at, started_at, finished_at, exit_code, layout, "
    "results, message, remote";

JobRecord read_job(const Stmt& s) {
  JobRecord j;
  j.id = s.text(0), j.name = s.text(1), j.input = s.text(2), j.backend = s.text(3), j.state = s.text(4);
  j.store_url = s.text(5), j.created_at = s.text(6), j.started_at = s.text(7), j.finished_at = s.text(8);
  j.exit_code = s.integer(9);
  j.layout = nlohmann::json::parse(s.text(10).empty() ? "{}" : s.text(10));
  j.results = nlohmann::json::parse(s.text(11).empty() ? "{}" : s.text(11));
  j.message = s.text(12);
  j.remote = nlohmann::json::parse(s.text(13).empty() ? "{}" : s.text(13));
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

JobDb::JobDb(const std::string& path) {
  if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    throw Error(fmt::format("cannot open the job database {}: {}", path, msg));
  }
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
          "layout TEXT, results TEXT, message TEXT, remote TEXT)");
      exec("CREATE TABLE IF NOT EXISTS transitions (job_id TEXT, state TEXT, at TEXT, note TEXT)");
      exec("CREATE INDEX IF NOT EXISTS transitions_job ON transitions(job_id)");
      // `remote` came with the AWS Batch backend; a database made before it gets the column here (another
      // process may be adding it at the same moment: its error is then no error).
      auto has_remote = [&] {
        Stmt cols(db_, "PRAGMA table_info(jobs)");
        bool found = false;
        while (cols.step()) found |= cols.text(1) == "remote";
        return found;
      };
      if (!has_remote()) {
        try {
          exec("ALTER TABLE jobs ADD COLUMN remote TEXT");
        } catch (const Error&) {
          if (!has_remote()) throw;
        }
      }
      return;
    } catch (const Error&) {
      const int code = sqlite3_errcode(db_) & 0xff;
      if ((code != SQLITE_BUSY && code != SQLITE_LOCKED) || std::chrono::steady_clock::now() > deadline) {
        sqlite3_close(db_);
        db_ = nullptr;
        throw;
      }
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
    throw Error(fmt::format("job database: {}", msg));
  }
}

void JobDb::insert(const JobRecord& j) {
  WriteTransaction tx(db_);
  Stmt s(db_,
         "INSERT INTO jobs (id, name, input, backend, state, store_url, created_at, started_at, finished_at, "
         "exit_code, layout, results, message, remote) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
         "?12, "
         "?13, ?14)");
  s.bind(1, j.id).bind(2, j.name).bind(3, j.input).bind(4, j.backend).bind(5, j.state).bind(6, j.store_url);
  s.bind(7, j.created_at.empty() ? now_utc_iso8601() : j.created_at)
      .bind(8, j.started_at)
      .bind(9, j.finished_at);
  s.bind(10, j.exit_code)
      .bind(11, json_text(j.layout, -1))
      .bind(12, json_text(j.results, -1))
      .bind(13, j.message)
      .bind(14, json_text(j.remote, -1));
  s.step();
  Stmt t(db_, "INSERT INTO transitions (job_id, state, at, note) VALUES (?1, ?2, ?3, '')");
  t.bind(1, j.id).bind(2, j.state).bind(3, now_utc_iso8601()).step();
  tx.commit();
}

void JobDb::set_state(const std::string& id, const std::string& state, const std::string& note) {
  const std::string now = now_utc_iso8601();
  WriteTransaction tx(db_);
  Stmt s(db_,
         "UPDATE jobs SET state = ?2, started_at = CASE WHEN ?2 = 'running' THEN ?3 ELSE started_at END "
         "WHERE id = ?1");
  s.bind(1, id).bind(2, state).bind(3, now).step();
  Stmt t(db_, "INSERT INTO transitions (job_id, state, at, note) VALUES (?1, ?2, ?3, ?4)");
  t.bind(1, id).bind(2, state).bind(3, now).bind(4, note).step();
  tx.commit();
}

void JobDb::set_layout(const std::string& id, const nlohmann::json& layout) {
  Stmt(db_, "UPDATE jobs SET layout = ?2 WHERE id = ?1").bind(1, id).bind(2, json_text(layout, -1)).step();
}

void JobDb::set_remote(const std::string& id, const nlohmann::json& remote) {
  Stmt(db_, "UPDATE jobs SET remote = ?2 WHERE id = ?1").bind(1, id).bind(2, json_text(remote, -1)).step();
}

void JobDb::finish(const std::string& id, const std::string& state, int exit_code,
                   const nlohmann::json& results, const std::string& message) {
  const std::string now = now_utc_iso8601();
  WriteTransaction tx(db_);
  Stmt s(db_,
         "UPDATE jobs SET state = ?2, exit_code = ?3, results = ?4, message = ?5, finished_at = ?6 "
         "WHERE id = ?1");
  s.bind(1, id)
      .bind(2, state)
      .bind(3, exit_code)
      .bind(4, json_text(results, -1))
      .bind(5, message)
      .bind(6, now)
      .step();
  Stmt t(db_, "INSERT INTO transitions (job_id, state, at, note) VALUES (?1, ?2, ?3, ?4)");
  t.bind(1, id).bind(2, state).bind(3, now).bind(4, message).step();
  tx.commit();
}

std::optional<JobRecord> JobDb::find(const std::string& id_or_prefix) {
  Stmt s(db_, fmt::format("SELECT {} FROM jobs WHERE id = ?1 OR id LIKE ?2 ORDER BY id = ?1 DESC LIMIT 3",
                          kColumns)
                  .c_str());
  s.bind(1, id_or_prefix).bind(2, id_or_prefix + "%");
  std::vector<JobRecord> found;
  while (s.step()) found.push_back(read_job(s));
  if (found.empty()) return std::nullopt;
  if (found[0].id == id_or_prefix || found.size() == 1) return found[0];
  throw Error(
      fmt::format("job id prefix '{}' is ambiguous ({}, {}, …)", id_or_prefix, found[0].id, found[1].id));
}

std::vector<JobRecord> JobDb::list(int limit) {
  Stmt s(db_,
         fmt::format("SELECT {} FROM jobs ORDER BY created_at DESC, id DESC LIMIT ?1", kColumns).c_str());
  s.bind(1, std::optional<int>(limit));
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

}  // namespace qecloud
