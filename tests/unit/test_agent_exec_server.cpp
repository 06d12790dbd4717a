// The launch service on a shared network: unauthenticated connections cost no thread and cannot exhaust it;
// an authentic launch request still runs.
#include <gtest/gtest.h>
#include <poll.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "agent/agent.hpp"
#include "agent/exec_server.hpp"
#include "agent/wire.hpp"

using namespace qecloud;
using namespace qecloud::agent;
using namespace std::chrono_literals;

namespace {
const std::string kSecret = "0123456789abcdef-job-secret";

// The node's poll loop, as run_child drives it.
struct Loop {
  ExecServer& server;
  std::atomic<bool> stop{false};
  std::thread thread{[this] {
    std::vector<pollfd> fds;
    while (!stop) {
      fds.clear();
      server.add_poll_fds(fds);
      ::poll(fds.data(), fds.size(), 50);
      server.service(fds, 0);
    }
  }};
  ~Loop() {
    stop = true;
    thread.join();
  }
};
}  // namespace

TEST(ExecServer, AFloodOfUnauthenticatedConnectionsCostsNoThreadAndALaunchStillRuns) {
  NodeContract c;
  c.secret = kSecret;
  c.address = "127.0.0.1";
  c.exec_port = 0;
  c.heartbeat_s = 0.2;
  c.lost_after_s = 2;
  ExecServer server(c, "/tmp", [](const std::string&) {});
  Loop loop{server};
  std::vector<int> flood;
  for (int i = 0; i < 3000; ++i) {  // connect and say nothing; keep them all open
    int fd = connect_tcp("127.0.0.1", server.port(), 1000);
    if (fd >= 0) flood.push_back(fd);
  }
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(server.sessions(), 0u);   // not one thread for them
  EXPECT_GT(server.refused(), 2000);  // beyond the 64 handshakes in progress, refused at once
  // A forged launch request is refused too.
  if (auto bad = ClientConnection::open("127.0.0.1", server.port(), "not-the-secret-of-this-job", 2000))
    bad->send(FrameType::kExec, nlohmann::json{{"command", "touch /tmp/qecloud-exec-forged"}});
  std::this_thread::sleep_for(200ms);
  EXPECT_FALSE(std::filesystem::exists("/tmp/qecloud-exec-forged"));
  for (int fd : flood) ::close(fd);
  // The real launcher still gets its command run.
  NodeContract client = c;
  client.port = server.port();
  EXPECT_EQ(run_exec("127.0.0.1", "exit 7", client), 7);
}
