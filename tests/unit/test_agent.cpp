// The agent's logic without namespaces or MPI: the frame protocol (authentic frames pass; forged, replayed,
// reordered, reflected, truncated and oversized ones do not), the scheduler environment readers, and the
// rendezvous server over loopback (joins wake the main at once, the deadline names who is missing, a
// wrong secret is refused, a silent child is declared lost, DONE reaches every child).
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "agent/node_env.hpp"
#include "agent/rendezvous.hpp"
#include "agent/wire.hpp"
#include "core/crypto.hpp"
#include "core/env.hpp"
#include "core/error.hpp"
#include "job/node_contract.hpp"

using namespace qecloud;
using namespace qecloud::agent;
using namespace std::chrono_literals;

namespace {

const std::string kSecret = "0123456789abcdef-job-secret";

struct Pair {
  std::string nonce = random_bytes(kNonceSize);
  Channel server{kSecret, nonce, true};
  Channel client{kSecret, nonce, false};
};

}  // namespace

TEST(Wire, FramesRoundTripBothWays) {
  Pair p;
  std::string buf = p.client.seal(FrameType::kJoin, nlohmann::json{{"node", 2}});
  buf += p.client.seal(FrameType::kPing, std::string_view());
  auto f1 = p.server.open(buf);
  ASSERT_TRUE(f1);
  EXPECT_EQ(f1->type, FrameType::kJoin);
  EXPECT_EQ(f1->json()["node"], 2);
  auto f2 = p.server.open(buf);
  ASSERT_TRUE(f2);
  EXPECT_EQ(f2->type, FrameType::kPing);
  EXPECT_TRUE(buf.empty());
  std::string back = p.server.seal(FrameType::kStdout, std::string_view("\0\xff raw", 6));
  auto f3 = p.client.open(back);
  ASSERT_TRUE(f3);
  EXPECT_EQ(f3->payload, std::string("\0\xff raw", 6));
}

TEST(Wire, PartialFramesWaitForMoreBytes) {
  Pair p;
  std::string whole = p.client.seal(FrameType::kExec, nlohmann::json{{"command", "orted"}});
  std::string buf;
  for (std::size_t i = 0; i + 1 < whole.size(); ++i) {
    buf.push_back(whole[i]);
    EXPECT_FALSE(p.server.open(buf)) << "at byte " << i;
  }
  buf.push_back(whole.back());
  EXPECT_TRUE(p.server.open(buf));
}

TEST(Wire, WrongSecretIsRefused) {
  Pair p;
  Channel intruder("another-secret-of-16+", p.nonce, false);
  std::string buf = intruder.seal(FrameType::kJoin, nlohmann::json{{"node", 1}});
  EXPECT_THROW(p.server.open(buf), Error);
}

TEST(Wire, TamperedPayloadIsRefused) {
  Pair p;
  std::string buf = p.client.seal(FrameType::kJoin, nlohmann::json{{"node", 1}});
  buf[7] ^= 1;
  EXPECT_THROW(p.server.open(buf), Error);
}

TEST(Wire, ReplayOnAnotherConnectionIsRefused) {
  Pair a, b;  // two connections, two nonces
  std::string buf = a.client.seal(FrameType::kJoin, nlohmann::json{{"node", 1}});
  EXPECT_THROW(b.server.open(buf), Error);
}

TEST(Wire, RepeatedOrReorderedFramesAreRefused) {
  Pair p;
  std::string first = p.client.seal(FrameType::kPing, std::string_view());
  std::string second = p.client.seal(FrameType::kPing, std::string_view());
  std::string buf = first;
  ASSERT_TRUE(p.server.open(buf));
  buf = first;  // the same frame again
  EXPECT_THROW(p.server.open(buf), Error);

  Pair q;
  std::string f1 = q.client.seal(FrameType::kPing, std::string_view());
  std::string f2 = q.client.seal(FrameType::kPing, std::string_view());
  buf = f2 + f1;  // out of order
  EXPECT_THROW(q.server.open(buf), Error);
}

TEST(Wire, ReflectedFrameIsRefused) {
  Pair p;
  std::string buf = p.server.seal(FrameType::kDone, nlohmann::json{{"exit_code", 0}});
  EXPECT_THROW(p.server.open(buf), Error);  // a server's own frame sent back to it
}

TEST(Wire, OversizedAndUnknownFramesAreRefused) {
  Pair p;
  std::string huge = std::string("\x7f\xff\xff\xff", 4) + "\x01";
  EXPECT_THROW(p.server.open(huge), Error);
  std::string unknown = std::string("\0\0\0\0", 4) + "\x63";
  EXPECT_THROW(p.server.open(unknown), Error);
  EXPECT_THROW(p.client.seal(FrameType::kStdout, std::string_view(std::string(kMaxPayload + 1, 'x'))), Error);
}

TEST(Wire, HelloCarriesTheNonce) {
  std::string nonce = random_bytes(kNonceSize);
  auto parsed = parse_hello(make_hello(nonce));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(*parsed, nonce);
  EXPECT_FALSE(parse_hello("SSH-2.0-OpenSSH_9.2p1 Debian"));
  EXPECT_NE(random_bytes(16), random_bytes(16));
}

TEST(NodeEnv, AwsBatchMainAndChild) {
  auto main = read_node_env(map_env({{"AWS_BATCH_JOB_ID", "a1b2#0"},
                                     {"AWS_BATCH_JOB_NODE_INDEX", "0"},
                                     {"AWS_BATCH_JOB_NUM_NODES", "3"},
                                     {"AWS_BATCH_JOB_MAIN_NODE_INDEX", "0"}}));
  EXPECT_EQ(main.scheduler, "awsbatch");
  EXPECT_EQ(main.job_id, "a1b2");
  EXPECT_TRUE(main.is_main());
  EXPECT_EQ(main.num_nodes, 3);
  EXPECT_TRUE(main.main_address.empty());  // Batch does not give the main its own address
  auto child = read_node_env(map_env({{"AWS_BATCH_JOB_ID", "a1b2#2"},
                                      {"AWS_BATCH_JOB_NODE_INDEX", "2"},
                                      {"AWS_BATCH_JOB_NUM_NODES", "3"},
                                      {"AWS_BATCH_JOB_MAIN_NODE_INDEX", "0"},
                                      {"AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS", "10.0.1.5"}}));
  EXPECT_FALSE(child.is_main());
  EXPECT_EQ(child.node_index, 2);
  EXPECT_EQ(child.main_address, "10.0.1.5");
}

TEST(NodeEnv, ErrorsNameTheVariable) {
  auto message = [](const std::map<std::string, std::string>& m) {
    try {
      read_node_env(map_env(m));
    } catch (const UsageError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message({}).find("AWS_BATCH_JOB_NODE_INDEX"), std::string::npos);
  EXPECT_NE(message({{"AWS_BATCH_JOB_ID", "x#1"},
                     {"AWS_BATCH_JOB_NODE_INDEX", "1"},
                     {"AWS_BATCH_JOB_NUM_NODES", "2"},
                     {"AWS_BATCH_JOB_MAIN_NODE_INDEX", "0"}})
                .find("AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS"),
            std::string::npos);
  EXPECT_NE(message({{"AWS_BATCH_JOB_ID", "x#5"},
                     {"AWS_BATCH_JOB_NODE_INDEX", "5"},
                     {"AWS_BATCH_JOB_NUM_NODES", "2"},
                     {"AWS_BATCH_JOB_MAIN_NODE_INDEX", "0"}})
                .find("AWS_BATCH_JOB_NODE_INDEX='5'"),
            std::string::npos);
  EXPECT_THROW(read_node_env(map_env({}), "pbs"), UsageError);
}

// What Slurm 22.05 sets (checked by integration.slurm): the batch shell on the first node is the main; the
// children are tasks of one srun step over the other nodes, whose SLURM_NODEID counts from that step.
TEST(NodeEnv, SlurmMainAndChildren) {
  const std::map<std::string, std::string> job = {{"SLURM_JOB_ID", "42"},
                                                  {"SLURM_JOB_NODELIST", "node-[0-2]"},
                                                  {"SLURM_JOB_NUM_NODES", "3"},
                                                  {"SLURM_NTASKS_PER_NODE", "2"}};
  auto with = [&](std::map<std::string, std::string> extra) {
    extra.insert(job.begin(), job.end());
    return read_node_env(map_env(extra));
  };
  auto main = with({{"SLURMD_NODENAME", "node-0"}, {"SLURM_NODEID", "0"}});
  EXPECT_EQ(main.scheduler, "slurm");
  EXPECT_EQ(main.job_id, "42");
  EXPECT_TRUE(main.is_main());
  EXPECT_EQ(main.num_nodes, 3);
  EXPECT_EQ(main.slots, 2);
  EXPECT_TRUE(main.main_address.empty());
  auto child = with(
      {{"SLURMD_NODENAME", "node-2"}, {"SLURM_NODEID", "1"}, {"SLURM_LAUNCH_NODE_IPADDR", "198.18.2.10"}});
  EXPECT_EQ(child.node_index, 2);  // its place in the job's node list, not in its step
  EXPECT_EQ(child.main_address, "198.18.2.10");
  // Without SLURMD_NODENAME, SLURM_NODEID.
  EXPECT_EQ(with({{"SLURM_NODEID", "1"}, {"SLURM_LAUNCH_NODE_IPADDR", "10.1.1.1"}}).node_index, 1);
  auto odd = read_node_env(map_env({{"SLURM_JOB_ID", "7"},
                                    {"SLURM_JOB_NODELIST", "cn[09-10],gpu[1-2]x[3]"},
                                    {"SLURMD_NODENAME", "gpu2x3"},
                                    {"SLURM_LAUNCH_NODE_IPADDR", "10.1.1.9"}}),
                           "slurm");
  EXPECT_EQ(odd.num_nodes, 4);
  EXPECT_EQ(odd.node_index, 3);
  EXPECT_EQ(odd.slots, 0);  // no --ntasks-per-node: the node's cores
}

TEST(NodeEnv, SlurmErrorsNameTheVariable) {
  auto message = [](const std::map<std::string, std::string>& m) {
    try {
      read_node_env(map_env(m), "slurm");
    } catch (const UsageError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message({}),
            "SLURM_JOB_ID is not set (Slurm sets it in a job's batch script and in every task srun starts)");
  EXPECT_EQ(message({{"SLURM_JOB_ID", "1"}, {"SLURM_JOB_NODELIST", "n[2-1]"}}),
            "SLURM_JOB_NODELIST: 'n[2-1]' is not a host list: range '2-1' runs backwards in 'n[2-1]'");
  EXPECT_EQ(message({{"SLURM_JOB_ID", "1"}, {"SLURM_JOB_NODELIST", "n[1-2]"}, {"SLURMD_NODENAME", "m1"}}),
            "SLURMD_NODENAME 'm1' is not in SLURM_JOB_NODELIST (n[1-2])");
  EXPECT_EQ(message({{"SLURM_JOB_ID", "1"},
                     {"SLURM_JOB_NODELIST", "n[1-2]"},
                     {"SLURM_JOB_NUM_NODES", "3"},
                     {"SLURMD_NODENAME", "n1"}}),
            "SLURM_JOB_NUM_NODES is not the number of nodes in SLURM_JOB_NODELIST (n[1-2])");
  EXPECT_NE(message({{"SLURM_JOB_ID", "1"}, {"SLURM_JOB_NODELIST", "n[1-2]"}, {"SLURMD_NODENAME", "n2"}})
                .find("SLURM_LAUNCH_NODE_IPADDR is not set"),
            std::string::npos);
  EXPECT_NE(message({{"SLURM_JOB_ID", "1"}, {"SLURM_JOB_NODELIST", "n[1-2]"}, {"SLURM_NODEID", "2"}})
                .find("SLURM_NODEID"),
            std::string::npos);
}

TEST(NodeEnv, SlotsComeFromTheContractThenTheSchedulerThenTheCores) {
  NodeEnv n;
  NodeContract c;
  n.slots = 3;
  c.slots = 5;
  EXPECT_EQ(node_slots(n, c), 5);
  c.slots = 0;
  EXPECT_EQ(node_slots(n, c), 3);
  n.slots = 0;
  EXPECT_GE(node_slots(n, c), 1);
}

// ---- the rendezvous server over loopback ----

namespace {

struct Rig {
  NodeEnv node;
  NodeContract settings;
  std::vector<std::string> log;
  std::mutex mu;
  Rig(int nodes, double lost_after = 5.0) {
    node.job_id = "unit";
    node.num_nodes = nodes;
    settings.secret = kSecret;
    settings.port = 0;
    settings.heartbeat_s = 0.1;
    settings.lost_after_s = lost_after;
  }
  RendezvousServer::Log logger() {
    return [this](const std::string& l) {
      std::lock_guard lock(mu);
      log.push_back(l);
    };
  }
};

ClientConnection join(int port, int node, const std::string& secret = kSecret) {
  auto c = ClientConnection::open("127.0.0.1", port, secret, 2000);
  EXPECT_TRUE(c);
  c->send(FrameType::kJoin, nlohmann::json{{"node", node}, {"address", "127.0.0.1"}, {"slots", 2}});
  return std::move(*c);
}

std::optional<FrameType> next_non_ping(ClientConnection& c, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    auto f = c.receive(100);
    if (f && f->type != FrameType::kPing) return f->type;
  }
  return std::nullopt;
}

}  // namespace

TEST(Rendezvous, WakesWhenTheLastChildJoinsAndSendsDone) {
  Rig rig(3);
  RendezvousServer rv(rig.node, rig.settings, rig.logger());
  auto c1 = join(rv.port(), 1);
  auto c2 = join(rv.port(), 2);
  auto t0 = std::chrono::steady_clock::now();
  auto missing = rv.wait_for_children(t0 + 30s);
  EXPECT_TRUE(missing.empty());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 15s);  // woken by the join, not by the deadline
  EXPECT_EQ(next_non_ping(c1, 2000), FrameType::kWelcome);
  EXPECT_EQ(next_non_ping(c2, 2000), FrameType::kWelcome);
  auto peers = rv.peers();
  ASSERT_EQ(peers.size(), 2u);
  EXPECT_EQ(peers[0].slots, 2);
  rv.finish(0);
  EXPECT_EQ(next_non_ping(c1, 2000), FrameType::kDone);
  EXPECT_EQ(next_non_ping(c2, 2000), FrameType::kDone);
}

TEST(Rendezvous, DeadlineNamesTheMissingNodes) {
  Rig rig(4);
  RendezvousServer rv(rig.node, rig.settings, rig.logger());
  auto c2 = join(rv.port(), 2);
  auto missing = rv.wait_for_children(std::chrono::steady_clock::now() + 500ms);
  EXPECT_EQ(missing, (std::vector<int>{1, 3}));
}

TEST(Rendezvous, WrongSecretAndBadJoinsAreRefused) {
  Rig rig(3);
  RendezvousServer rv(rig.node, rig.settings, rig.logger());
  auto bad = join(rv.port(), 1, "not-the-job-secret-at-all");
  auto dup1 = join(rv.port(), 2);
  auto dup2 = join(rv.port(), 2);  // the same node twice
  auto main = join(rv.port(), 0);  // the main's own index
  auto missing = rv.wait_for_children(std::chrono::steady_clock::now() + 800ms);
  EXPECT_EQ(missing, (std::vector<int>{1}));
  EXPECT_EQ(rv.refused(), 3);
  std::lock_guard lock(rig.mu);
  bool logged = false;
  for (const auto& l : rig.log) {
    EXPECT_EQ(l.find(kSecret), std::string::npos) << l;
    logged |= l.find("signature does not match") != std::string::npos;
  }
  EXPECT_TRUE(logged);
}

TEST(Rendezvous, SilentChildIsLost) {
  Rig rig(2, /*lost_after=*/0.5);
  RendezvousServer rv(rig.node, rig.settings, rig.logger());
  auto c1 = join(rv.port(), 1);  // joins, then never pings
  ASSERT_TRUE(rv.wait_for_children(std::chrono::steady_clock::now() + 5s).empty());
  auto lost = rv.wait_for_loss(std::chrono::steady_clock::now() + 5s);
  ASSERT_TRUE(lost);
  EXPECT_NE(lost->find("node 1"), std::string::npos);
  EXPECT_NE(lost->find("no heartbeat"), std::string::npos);
}

TEST(Rendezvous, ClosedConnectionIsLostAtOnce) {
  Rig rig(2);
  RendezvousServer rv(rig.node, rig.settings, rig.logger());
  {
    auto c1 = join(rv.port(), 1);
    ASSERT_TRUE(rv.wait_for_children(std::chrono::steady_clock::now() + 5s).empty());
  }  // the child's agent dies: its socket closes
  auto lost = rv.wait_for_loss(std::chrono::steady_clock::now() + 2s);
  ASSERT_TRUE(lost);
  EXPECT_NE(lost->find("closed the connection"), std::string::npos);
}

TEST(Rendezvous, AChildThatLeavesBeforeEveryoneJoinedIsWaitedForAgain) {
  Rig rig(3);
  RendezvousServer rv(rig.node, rig.settings, rig.logger());
  {
    auto c1 = join(rv.port(), 1);
    EXPECT_EQ(next_non_ping(c1, 2000), FrameType::kWelcome);
  }  // node 1's agent restarts before node 2 has joined
  auto c2 = join(rv.port(), 2);
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(rv.wait_for_children(std::chrono::steady_clock::now() + 500ms), std::vector<int>{1});
  EXPECT_FALSE(rv.lost());  // not lost: mpirun has not started without it
  auto again = join(rv.port(), 1);
  EXPECT_TRUE(rv.wait_for_children(std::chrono::steady_clock::now() + 5s).empty());
  for (const auto& p : rv.peers()) EXPECT_EQ(p.address, "127.0.0.1");  // where the connection came from
}

TEST(Rendezvous, CollectsEveryChildsRestartPartOrSaysWhyNot) {
  Rig rig(4);
  RendezvousServer rv(rig.node, rig.settings, rig.logger());
  auto c1 = join(rv.port(), 1);
  auto c2 = join(rv.port(), 2);
  std::optional<ClientConnection> c3 = join(rv.port(), 3);
  ASSERT_TRUE(rv.wait_for_children(std::chrono::steady_clock::now() + 5s).empty());
  for (auto* c : {&c1, &c2, &*c3}) EXPECT_EQ(next_non_ping(*c, 2000), FrameType::kWelcome);
  c3.reset();  // node 3's agent dies
  ASSERT_TRUE(rv.wait_for_loss(std::chrono::steady_clock::now() + 2s));
  rv.request_store({"tmp", "silicon", 20});
  for (auto* c : {&c1, &c2}) {
    std::optional<Frame> f;
    while ((f = c->receive(2000)) && f->type == FrameType::kPing) {
    }
    ASSERT_TRUE(f);
    ASSERT_EQ(f->type, FrameType::kStore);
    std::string why;
    const auto r = store_request_of(f->json(), why);
    ASSERT_TRUE(r) << why;
    EXPECT_EQ(r->outdir, "tmp");
    EXPECT_EQ(r->prefix, "silicon");
  }
  c1.send(FrameType::kStored, to_json(StoredPart{{1, {{"silicon.wfc2", 42}}}, {}}));  // node 2 stays silent
  const auto t0 = std::chrono::steady_clock::now();
  const auto answers = rv.wait_for_stored(t0 + 1s);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 900ms);  // node 2 was waited for
  ASSERT_EQ(answers.size(), 3u);
  ASSERT_TRUE(answers[0].stored);
  EXPECT_EQ(answers[0].stored->part.files[0].first, "silicon.wfc2");
  EXPECT_EQ(answers[1].node, 2);
  EXPECT_EQ(answers[1].missing, "did not answer by the deadline");
  EXPECT_TRUE(answers[1].pending);
  EXPECT_EQ(answers[2].node, 3);
  EXPECT_NE(answers[2].missing.find("was lost (its agent closed the connection)"), std::string::npos)
      << answers[2].missing;
  c2.send(FrameType::kStored, to_json(StoredPart{{2, {}}, {"silicon.wfc3 (disk full)"}}));
  const auto again = rv.wait_for_stored(std::chrono::steady_clock::now() + 5s);  // woken by the answer
  ASSERT_TRUE(again[1].stored);
  EXPECT_EQ(again[1].stored->failed, std::vector<std::string>{"silicon.wfc3 (disk full)"});
}
