#pragma once
// Every object a job keeps in its store, named in this one place (like leveldb's filename.h). A job lives
// under <store root>/jobs/<id>/:
//   input/                 what the job needs to run, laid out so that it reruns as it is: the input file
//                          at its bundle path and each pseudopotential where the input's relative
//                          pseudo_dir points from it (see InputBundle)
//   output/pw.out, pw.err  pw.x's stdout and stderr; CRASH when pw.x wrote one
//   output/results.json    the parsed results (qe/results.hpp)
//   output/agent.json      the job's report (job/report.hpp), written by the main node of multi-node jobs
//   output/agent-main.log, node-<i>.log, hostfile   multi-node jobs' logs and MPI hostfile
//   output/data-file-schema.xml, output/<prefix>.save/   pw.x's XML data file and restart directory
//   secret                 the rendezvous secret, when the scheduler would publish its environment
// No other file spells "jobs/", "input/" or "output/".
#include <string>
#include <vector>

#include "qe/validator.hpp"

namespace qecloud {

namespace output_name {
inline constexpr const char* kPwOut = "pw.out";
inline constexpr const char* kPwErr = "pw.err";
inline constexpr const char* kCrash = "CRASH";
inline constexpr const char* kResults = "results.json";
inline constexpr const char* kReport = "agent.json";
inline constexpr const char* kMainLog = "agent-main.log";
inline constexpr const char* kHostfile = "hostfile";
inline constexpr const char* kXml = "data-file-schema.xml";
std::string node_log(int node);  // "node-<i>.log"
}  // namespace output_name

// Where one job is: the store's root URL and the job's id.
struct JobLocation {
  std::string root_url;  // file:///home/u/.qecloud/store, s3://bucket/prefix (no trailing '/')
  std::string id;

  std::string key() const;           // "jobs/<id>": the job's prefix in the store
  std::string url() const;           // "<root>/jobs/<id>": what the job record keeps and people see
  std::string input_prefix() const;  // "jobs/<id>/input/"
  std::string input_key(const std::string& rel) const;    // "jobs/<id>/input/<rel>"
  std::string output_prefix() const;                      // "jobs/<id>/output/"
  std::string output_key(const std::string& name) const;  // "jobs/<id>/output/<name>"
  // "jobs/<id>/secret": the rendezvous secret of a job whose scheduler would show its environment to anyone
  // allowed to describe jobs (AWS Batch's DescribeJobs); only the job's nodes (its role) read it.
  std::string secret_key() const;

  // Splits a job URL ("<root>/jobs/<id>") back into root and id. Throws qecloud::Error when the URL does
  // not name the job `id` in this layout.
  static JobLocation of_job_url(const std::string& job_url, const std::string& id);
  // From a store root and a job key ("jobs/<id>", as key() gives it). Throws qecloud::Error otherwise.
  static JobLocation of_key(const std::string& root_url, const std::string& key);
};

std::string default_store_url();                    // file://$QECLOUD_HOME/store
std::string local_work_dir(const std::string& id);  // $QECLOUD_HOME/work/<id>

// The files a job's input needs and their paths under input/ (and under a node's work directory, which
// holds the same tree): the input file, and each pseudopotential where the input's relative pseudo_dir
// points from it. The tree is rooted at the deepest directory holding both, so `pseudo_dir='../pseudo'`
// gives input/run/scf.in and input/pseudo/Si.UPF. An absolute pseudo_dir, or none, is not bundled: pw.x
// reads it where it is (a container image's, $ESPRESSO_PSEUDO), as it would without qecloud.
struct InputBundle {
  struct File {
    std::string source;  // absolute path on this machine
    std::string rel;     // path under input/
  };
  std::string input_rel;            // the input file's path under input/ ("scf.in", "run/scf.in")
  std::vector<File> files;          // the input first
  std::string run_dir_rel() const;  // where pw.x runs, relative to the tree's root ("" or "run")
};
InputBundle input_bundle(const std::string& input_path, const qe::JobNeeds& needs);

}  // namespace qecloud
