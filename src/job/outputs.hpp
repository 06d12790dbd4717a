#pragma once
// Moving a job's outputs between a work directory and its store (job/store_layout.hpp names them).
// Storing never stops at the first failure: every file is tried and the ones that could not be stored are
// named, so a full disk or a lost bucket says exactly what is missing.
#include <optional>
#include <string>
#include <vector>

#include "job/database.hpp"
#include "job/report.hpp"
#include "job/store_layout.hpp"
#include "storage/object_store.hpp"

namespace qecloud {

struct StoreReport {
  std::vector<std::string> stored;  // output names ("pw.out", "silicon.save/…")
  std::vector<std::string> failed;  // "pw.out: No space left on device"
  bool ok() const { return failed.empty(); }
  std::string summary() const;  // "not stored: pw.out (…), results.json (…)"; empty when ok
};

// One file to store: its path here, its key, its name for people.
struct PutFile {
  std::string path, key, name;
};
// Stores the files a few at a time (an S3 store waits on each request); every file is tried.
StoreReport put_files(storage::ObjectStore& store, const std::vector<PutFile>& files);

// Stores what exists of output_name's files in `run_dir` (none when empty) (pw.out, pw.err, CRASH,
// results.json, agent.json, agent-main.log, hostfile), the XML data file `xml` as output/data-file-schema.xml
// (when it exists), and `extra` files (paths) under their file names. The restart data is stored apart
// (job/restart_set.hpp).
StoreReport store_outputs(storage::ObjectStore& store, const JobLocation& loc, const std::string& run_dir,
                          const std::string& xml, const std::vector<std::string>& extra = {});

// Copies the job's input bundle (input/ in its store) into `dir`: every node of a multi-node job needs it
// where its ranks run (pw.x 6.x opens the pseudopotentials on every rank: the rehearsal inside an image
// without Debian's quantum-espresso-data showed rank 2 failing in readpp), and a resume starts from it.
// Returns how many files; throws qecloud::Error.
int fetch_input_bundle(storage::ObjectStore& store, const JobLocation& loc, const std::string& dir);

// Downloads everything under the job's output/ into `dir`; returns the local paths written.
std::vector<std::string> fetch_outputs(storage::ObjectStore& store, const JobLocation& loc,
                                       const std::string& dir);

// The store a recorded job is kept in, opened for the region its record names (a job submitted to a bucket
// in eu-west-1 is read there, whatever the environment says).
std::unique_ptr<storage::ObjectStore> open_job_store(const JobRecord& job);

// A small text file of the job's output/ (a report, a manifest) from its store; nullopt when it is not there.
std::optional<std::string> read_stored_output(storage::ObjectStore& store, const JobLocation& loc,
                                              const std::string& name);

// The job's report (output/agent.json) from its store; nullopt when there is none (yet).
std::optional<AgentReport> read_stored_report(storage::ObjectStore& store, const JobLocation& loc);

}  // namespace qecloud
