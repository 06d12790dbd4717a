#pragma once
// Who this node is in a multi-node job, read from the scheduler's environment. One reader per scheduler,
// chosen by name from a table (AWS Batch, Slurm). What qecloud itself tells
// every node — the job, the programs, the deadlines — is the node contract (job/node_contract.hpp).
#include <string>

#include "core/env.hpp"
#include "job/node_contract.hpp"

namespace qecloud::agent {

struct NodeEnv {
  std::string scheduler;  // "awsbatch", "slurm"
  std::string job_id;     // the scheduler's job id without the node suffix
  int node_index = 0;
  int num_nodes = 1;
  int main_index = 0;
  std::string main_address;  // empty on the main node: it finds its own
  int slots = 0;  // MPI slots the scheduler gave this node (Slurm's --ntasks-per-node); 0: not said
  bool is_main() const { return node_index == main_index; }
};

// Reads the node's identity with the named scheduler's reader ("" = detect from the variables present).
// Throws qecloud::UsageError naming the variable that is missing or malformed.
NodeEnv read_node_env(const EnvLookup& env, const std::string& scheduler = "");

// The MPI slots this node offers: the contract's (what the backend decided), else the scheduler's, else
// the node's physical cores.
int node_slots(const NodeEnv& node, const NodeContract& c);

}  // namespace qecloud::agent
