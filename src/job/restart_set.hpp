#pragma once
// pw.x's restart data, kept in the job's store so that a stopped job resumes from the store alone — on
// another machine, after its nodes are gone.
//
// What pw.x writes in <outdir> for <prefix> (measured with pw.x 6.7: SIGTERM mid-SCF, `-np 2 -nk 2`):
//   <prefix>.save/            charge-density.dat, data-file-schema.xml (and wfcK.dat once collected)
//   <prefix>.wfcN             the distributed wavefunctions, one per rank N (1-based)
//   <prefix>.mixN             the mixing history (mix_rho), one per rank
//   <prefix>.restart_scfN, <prefix>.restart_kN   where the SCF cycle and the k-point loop stopped
//                             (PW/src/restart_in_electrons.f90's restart_in_electrons / c_bands' restart)
//   <prefix>.bfgs …           a relaxation's history, in the same outdir
// restart_mode = 'restart' reads all of them and continues at the same SCF iteration and k-point
// ("Calculation restarted from scf iteration #4"), to the energy of an uninterrupted run; from the .save
// alone it is only a density restart (differs by ~5e-11 Ry). The per-rank files are per rank: the MPI layout
// (ranks, pools) of the resumed run must be the one that wrote them (a different one fails in davcio).
//
// In the store: node 0's part under output/<name> (so output/<prefix>.save/ is where it always was), node i's
// under output/node-<i>/<name> (on several nodes each node's ranks write their own files: there is no shared
// filesystem on AWS Batch), and the manifest output/restart.json, written last, which lists every node's
// files with their sizes and says whether the set is whole.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "job/store_layout.hpp"
#include "storage/object_store.hpp"

namespace qecloud {

struct RestartFile {
  std::string path;  // on this machine
  std::string name;  // relative to outdir: "silicon.wfc1", "silicon.save/charge-density.dat"
  std::uintmax_t bytes = 0;
};

// The restart files of `prefix` in `outdir` (every `<prefix>.*` file and everything under `<prefix>.save/`),
// never `<prefix>.EXIT`. Empty when there are none.
std::vector<RestartFile> find_restart_files(const std::string& outdir, const std::string& prefix);

// The store key of one node's restart file.
std::string restart_key(const JobLocation& loc, int node, const std::string& name);

// What was stored, for the manifest and for people.
struct RestartManifest {
  std::string prefix;
  bool complete = false;  // every file of every node stored whole
  std::string note;  // why not complete ("node 2: silicon.wfc3 (No space left on device)", a missed window)
  int nodes = 1, ranks = 1, pools = 1;  // the layout that wrote it: a resume must use the same
  struct Node {
    int node = 0;
    using Files = std::vector<std::pair<std::string, std::uintmax_t>>;  // name, bytes
    Files files;
  };
  std::vector<Node> parts;
  std::uintmax_t bytes() const;
  int file_count() const;
  std::string summary() const;  // "14 files, 23.4 MB from 3 nodes, whole" / "… NOT whole: <note>"
};
nlohmann::json to_json(const RestartManifest& m);
// One node's files as JSON, [{"name", "bytes"}, …], and back (throws nlohmann::json::exception when
// malformed): the manifest's, a child's answer to the main, the report's.
nlohmann::json files_json(const RestartManifest::Node& n);
RestartManifest::Node::Files files_of(const nlohmann::json& files);
// What a job's record and report say of its restart set: {"files", "bytes", "complete", "note"}.
nlohmann::json summary_json(const RestartManifest& m);
std::optional<RestartManifest> restart_manifest_of(const nlohmann::json& j);

// Stores one node's restart files (a few at a time); returns the names stored and the failures.
struct StoredPart {
  RestartManifest::Node part;
  std::vector<std::string> failed;  // "silicon.wfc1 (…)"
};
StoredPart store_restart_files(storage::ObjectStore& store, const JobLocation& loc, int node,
                               const std::vector<RestartFile>& files);

// Why the restart files a run left cannot be trusted, empty when they can. pw.x writes its restart data whole
// when it ends itself — the EXIT file, max_seconds, electron_maxstep reached, JOB DONE printed — not when it
// is killed (the grace period ran out, a node was lost, a crash or an MPI abort): then a file may be torn or
// older than another, and a resume from them would not continue the same run.
std::string untrusted_restart(bool killed, const std::optional<std::string>& lost, bool job_done);

// Marks the manifest not whole for `why` (untrusted_restart's answer); nothing when `why` is empty.
void distrust(RestartManifest& m, const std::string& why);

// A run on one node (a local run): stores the restart files of `prefix` in `outdir` and then the manifest
// (layout: the run's ranks and pools). Files that could not be stored, or `untrusted` (untrusted_restart's
// answer), make the set not whole, said in its note. An empty manifest (no parts) when pw.x wrote nothing to
// restart from.
RestartManifest store_restart_set(storage::ObjectStore& store, const JobLocation& loc,
                                  const std::string& outdir, const std::string& prefix, int ranks, int pools,
                                  const std::string& untrusted = {});

void write_restart_manifest(storage::ObjectStore& store, const JobLocation& loc, const RestartManifest& m);
std::optional<RestartManifest> read_restart_manifest(storage::ObjectStore& store, const JobLocation& loc);

// Brings a stored job's restart set back into `outdir`: every node's files (on several nodes each node needs
// the others' per-rank files only if ranks move, so all are fetched — the set is small beside pw.x's run),
// node 0's last. Throws qecloud::Error when the job has no restart data in its store, naming the store.
struct RestoredSet {
  int files = 0;
  std::uintmax_t bytes = 0;
};
RestoredSet fetch_restart_files(storage::ObjectStore& store, const JobLocation& from,
                                const std::string& prefix, const std::string& outdir);

}  // namespace qecloud
