#pragma once
// Every node's part of pw.x's restart data, collected into the job's store. On several nodes each node's
// ranks write their own per-rank files (<prefix>.wfcN, .mixN, .restart_scfN, .restart_kN, and .save/wfcK.dat
// of their pools) into that node's outdir — private to the node (AWS Batch has no shared filesystem). When
// pw.x has ended the main asks every child (FrameType::kStore) to store its part under output/node-<i>/ and
// answer (kStored) with what it stored and what it could not; the main merges the answers into the manifest
// (job/restart_set.hpp), whole only when every node answered and stored everything.
//
// Only files a node's run wrote are its part (modified after the node fetched its input bundle): a resumed
// job's bundle brings every node's files to every node, and an untouched copy of another node's file must not
// stand for it. The main stores, after the children answered, what of the bundle's files no node rewrote.
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/stop_deadlines.hpp"
#include "job/restart_set.hpp"

namespace qecloud::agent {

// main → child: where the restart data is and how long the child may take.
struct StoreRequest {
  std::string outdir;  // relative to the job's work directory (the same path on every node), or absolute
  std::string prefix;  // pw.x's prefix: a file name, no '/'
  double seconds = 0;  // from the request's arrival; 0 = no limit
};
nlohmann::json to_json(const StoreRequest& r);
// nullopt, with `why`, when it is malformed (a prefix that is not a file name, an outdir leaving the work
// directory through '..', a negative time).
std::optional<StoreRequest> store_request_of(const nlohmann::json& j, std::string& why);

// child → main: the files stored (names relative to the outdir, bytes) and the failures.
nlohmann::json to_json(const StoredPart& p);
std::optional<StoredPart> stored_part_of(const nlohmann::json& j, int node);

// The restart files in `outdir` split by whether this node's run wrote them (modified after `since`).
struct NodeFiles {
  std::vector<RestartFile> fresh, stale;
};
NodeFiles node_restart_files(const std::string& outdir, const std::string& prefix,
                             std::filesystem::file_time_type since);

// Stores `files` as node `node`'s part a few at a time, starting no file after the deadline (asked again
// before each round: a SIGTERM may come meanwhile; nullopt = none): what was not started by then is in
// `failed` as
// "<name> (the SIGKILL window closed first)". A stored object is always whole (the store writes aside
// and renames, or completes a multipart upload).
using Deadline = std::function<std::optional<SteadyClock::time_point>()>;
StoredPart store_part_until(storage::ObjectStore& store, const JobLocation& loc, int node,
                            const std::vector<RestartFile>& files, const Deadline& deadline);

// What the main knows of one child once the answers are in: its answer, or why there is none.
struct ChildAnswer {
  int node = 0;
  std::optional<StoredPart> stored;
  std::string missing;   // "did not answer by the deadline", "was lost (…)"
  bool pending = false;  // neither answered nor gone (yet)
};

// The manifest of the whole set: node 0's part (`main`) and every child's. Whole only when every child
// answered and no node failed to store a file; the note names each node that did not answer and each
// file not stored. Parts in node order; a node that stored nothing has no part.
RestartManifest merge_restart_parts(const std::string& prefix, int nodes, int ranks, int pools,
                                    const StoredPart& main, const std::vector<ChildAnswer>& children);

// The report's view of the set: {"files", "bytes", "complete", "note", "nodes": [{"node", "files": [{"name",
// "bytes"}]}]} — what was stored, with sizes.
nlohmann::json report_json(const RestartManifest& m);

}  // namespace qecloud::agent
