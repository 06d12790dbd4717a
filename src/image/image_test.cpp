#include "image/image_test.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include <fmt/format.h>

#include "core/blas.hpp"
#include "core/crypto.hpp"
#include "core/error.hpp"
#include "image/labels.hpp"

namespace fs = std::filesystem;

namespace qecloud::image {
namespace {

constexpr const char* kExampleMount = "/qecloud-example";

// Read inside the image; one "key=value" line each. The BLAS is what pw.x's libblas.so.3 resolves to
// through the alternatives' links (the same question `qecloud validate` asks of the local pw.x).
constexpr const char* kFactsScript = R"SH(
pw=$(command -v pw.x)
echo "pw=$pw"
echo "qecloud=$(qecloud --version 2>&1 | head -n 1)"
echo "mpi=$(mpirun --version 2>&1 | head -n 1)"
blas=$(ldd "$pw" | sed -n 's/^[[:space:]]*libblas\.so\.3 => \([^ ]*\).*/\1/p')
echo "blas=$(readlink -f "$blas")"
echo "qecloud_missing_libraries=$(ldd "$(command -v qecloud)" | grep -c 'not found')"
)SH";

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 17117;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int port = 17117;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

struct Checks {
  ImageTestReport& r;
  const LineSink& notes;
  void pass(const std::string& what) {
    r.passed.push_back(what);
    if (notes) notes("ok: " + what);
  }
  void fail(const std::string& what) {
    r.failed.push_back(what);
    if (notes) notes("FAILED: " + what);
  }
};

std::string tail_of(const std::string& output) {
  const std::size_t cut = output.size() > 1500 ? output.size() - 1500 : 0;
  return output.substr(cut);
}

// 1. What the image holds.
void read_facts(const Engine& e, const std::string& image, Checks& c,
                std::map<std::string, std::string>& labels) {
  const auto run = e.run(image, {"sh", "-c", kFactsScript}, {}, {}, std::chrono::minutes(2));
  const auto facts = parse_facts(run.output);
  auto get = [&](const char* k) {
    auto it = facts.find(k);
    return it == facts.end() ? std::string() : it->second;
  };
  if (run.code != 0 || get("pw").empty()) {
    c.fail(fmt::format("the image has no pw.x on its PATH (exit {}):\n{}", run.code, tail_of(run.output)));
    return;
  }
  labels[label::kPw] = get("pw");
  labels[label::kMpi] = get("mpi");
  labels[label::kQecloudVersion] = get("qecloud");
  const BlasInfo blas = classify_blas(get("blas"));
  labels[label::kBlas] = blas.describe();
  if (get("qecloud_missing_libraries") != "0")
    c.fail("qecloud in the image misses shared libraries (`ldd /usr/local/bin/qecloud` says 'not found')");
  else if (blas.reference)
    c.fail(fmt::format("pw.x in the image gets the reference BLAS ({}); install libopenblas0-serial",
                       blas.path));
  else
    c.pass(fmt::format("the image holds {}, {}, {}", get("qecloud"), get("mpi"), labels[label::kBlas]));
}

// 2. The silicon example through the image's own qecloud (validation, layout, mpirun, pw.x, results).
void run_silicon(const Engine& e, const ImageTestOptions& o, Checks& c,
                 std::map<std::string, std::string>& labels) {
  const auto run =
      e.run(o.image, {"qecloud", "run", std::string(kExampleMount) + "/scf.in", "--json", "--quiet"}, {},
            {{o.example_dir, kExampleMount}}, std::chrono::minutes(10));
  // `run --json` prints one (indented) object on stdout at the end, after whatever went to stderr.
  const std::size_t open =
      run.output.rfind("\n{\n") != std::string::npos ? run.output.rfind("\n{\n") + 1 : run.output.find("{\n");
  const nlohmann::json j = open == std::string::npos
                               ? nlohmann::json()
                               : nlohmann::json::parse(run.output.substr(open), nullptr, false);
  const auto& res = j.is_object() ? j.value("results", nlohmann::json::object()) : nlohmann::json::object();
  const std::string energy = res.contains("total_energy_ry") && res["total_energy_ry"].is_number()
                                 ? fmt::format("{:.8f}", res["total_energy_ry"].get<double>())
                                 : "none";
  const std::string version = release_of(res.value("qe_version", ""));
  if (!version.empty()) labels[label::kQeVersion] = version;
  if (run.code == 0 && energy == kSiliconEnergy && !version.empty()) {
    c.pass(fmt::format("silicon example inside the image: E = {} Ry (pw.x {}, {} ranks)", energy,
                       res.value("qe_version", ""), j["layout"].value("ranks", 0)));
  } else {
    c.fail(fmt::format(
        "silicon example inside the image: exit {}, E = {} Ry (expected {}), pw.x version '{}':\n{}",
        run.code, energy, kSiliconEnergy, res.value("qe_version", ""), tail_of(run.output)));
  }
}

// 3. The container's CMD starts: a one-node job's rendezvous, as AWS Batch's environment gives it.
void agent_dry_run(const Engine& e, const std::string& image, Checks& c) {
  const std::map<std::string, std::string> env = {{"AWS_BATCH_JOB_ID", "qecloud-image-test#0"},
                                                  {"AWS_BATCH_JOB_NODE_INDEX", "0"},
                                                  {"AWS_BATCH_JOB_NUM_NODES", "1"},
                                                  {"AWS_BATCH_JOB_MAIN_NODE_INDEX", "0"},
                                                  {"QECLOUD_JOB_SECRET", random_hex(24)},
                                                  {"QECLOUD_AGENT_ADDRESS", "127.0.0.1"},
                                                  {"QECLOUD_AGENT_PORT", std::to_string(free_port())}};
  const auto run = e.run(image, {"qecloud", "agent", "--dry-run"}, env, {}, std::chrono::minutes(2));
  if (run.code == 0 && run.output.find("all 1 nodes joined") != std::string::npos)
    c.pass("`qecloud agent --dry-run` starts, rendezvous and ends (exit 0)");
  else
    c.fail(
        fmt::format("`qecloud agent --dry-run` in the image: exit {}:\n{}", run.code, tail_of(run.output)));
}

std::string label_line(const std::map<std::string, std::string>& labels) {
  std::string out = "LABEL";
  for (const auto& [k, v] : labels) {
    std::string escaped;
    for (char ch : v) {
      if (ch == '"' || ch == '\\') escaped.push_back('\\');
      if (ch != '\n') escaped.push_back(ch);
    }
    out += fmt::format(" \\\n      {}=\"{}\"", k, escaped);
  }
  return out + "\n";
}

// The image again, with the facts as labels, under the name it was tested as (a metadata-only build).
std::string relabel(const Engine& e, const std::string& image, const std::string& id,
                    const std::map<std::string, std::string>& labels) {
  const fs::path dir = fs::temp_directory_path() / fmt::format("qecloud-label-{}", random_hex(6));
  fs::create_directories(dir);
  std::ofstream(dir / "Dockerfile") << "FROM " << image << "\n" << label_line(labels);
  const std::string tag = image.find(id.substr(0, 12)) == 0 ? "qecloud:tested" : image;
  try {
    e.build(dir.string(), tag, {});
  } catch (...) {
    fs::remove_all(dir);
    throw;
  }
  fs::remove_all(dir);
  auto info = e.inspect(tag);
  if (!info) throw Error(fmt::format("the labelled image {} is not there after its build", tag));
  remember_image(tag, {info->id, "", info->labels});
  return info->id;
}

}  // namespace

std::map<std::string, std::string> parse_facts(const std::string& output) {
  std::map<std::string, std::string> facts;
  std::istringstream lines(output);
  for (std::string line; std::getline(lines, line);) {
    const auto eq = line.find('=');
    if (eq == std::string::npos || eq == 0) continue;
    const std::string key = line.substr(0, eq);
    if (key.find_first_not_of("abcdefghijklmnopqrstuvwxyz_") != std::string::npos) continue;
    facts[key] = line.substr(eq + 1);
  }
  return facts;
}

std::string release_of(const std::string& pw_version) {
  static const std::regex re(R"((\d+)\.(\d+))");
  std::smatch m;
  if (!std::regex_search(pw_version, m, re)) return "";
  return m[1].str() + "." + m[2].str();
}

ImageTestReport test_image(const Engine& e, const ImageTestOptions& o, const LineSink& notes) {
  const auto info = e.inspect(o.image);
  if (!info)
    throw Error(
        fmt::format("no image '{}' in {}'s store; build one with `qecloud image build`", o.image, e.name));
  if (!fs::is_regular_file(fs::path(o.example_dir) / "scf.in"))
    throw Error(fmt::format("the silicon example is not at {} (scf.in and Si.pz-vbc.UPF); give --example DIR",
                            o.example_dir));
  ImageTestReport r;
  Checks c{r, notes};
  std::map<std::string, std::string> labels;
  read_facts(e, o.image, c, labels);
  run_silicon(e, o, c, labels);
  agent_dry_run(e, o.image, c);
  if (!r.failed.empty()) return r;
  labels[label::kTested] = fmt::format("silicon E = {} Ry; agent dry run", kSiliconEnergy);
  r.facts = labels;
  r.labelled_id = relabel(e, o.image, info->id, labels);
  return r;
}

}  // namespace qecloud::image
