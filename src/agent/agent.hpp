#pragma once
// `qecloud agent`: the program every node of a multi-node job runs (the container's CMD on AWS Batch).
// The main node fetches the input from the store, waits for the children to join, runs mpirun with this
// same program as OpenMPI's remote launcher (no sshd), watches heartbeats, stores outputs and logs — also
// on failure — and exits with the job's exit code. Children join, run what the launcher asks, and exit when
// the main says so or is gone.
#include <functional>
#include <string>

#include "agent/node_env.hpp"
#include "job/node_contract.hpp"
#include "job/store_layout.hpp"
#include "storage/object_store.hpp"

namespace qecloud::agent {

using Log = std::function<void(const std::string&)>;

// The main node. Returns the job's exit code (kExit*); never throws for a failed job.
int run_main(const NodeEnv& node, const NodeContract& settings, const Log& log, bool dry_run);
// A child node. Returns 0 when the main ended the job, 1 when the main was lost or never answered.
int run_child(const NodeEnv& node, const NodeContract& settings, const Log& log);
// With QECLOUD_SECRET_IN_STORE, reads the job's secret from its store into c.secret. Throws qecloud::Error.
void read_secret_from_store(NodeContract& c);
// Writes the secret to <dir>/.job-secret (mode 0600) for mpirun's launcher; returns the path.
std::string write_secret_file(const NodeContract& c, const std::string& dir);
// OpenMPI's plm_rsh_agent: runs `command` (one shell command line) on `host`'s agent, relays its output and
// returns its exit status (255 when the agent cannot be reached or goes silent, as ssh does).
int run_exec(const std::string& host, const std::string& command, const NodeContract& settings);

}  // namespace qecloud::agent
