#include "backends/slurm/config.hpp"

#include <filesystem>
#include <regex>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/text.hpp"
#include "core/toml_section.hpp"

namespace fs = std::filesystem;

namespace qecloud::backends::slurm {
namespace {

std::optional<long> number(const std::string& s) {
  if (s.empty() || s.size() > 9 || s.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  return std::stol(s);
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (std::size_t i; (i = s.find(sep, start)) != std::string::npos; start = i + 1)
    out.push_back(s.substr(start, i - start));
  out.push_back(s.substr(start));
  return out;
}

// Every string of the section goes into a shell script or onto sbatch's command line: one line, printable.
void refuse_control_characters(const TomlSection& r, const toml::node* n, const std::string& field,
                               const std::string& v) {
  for (unsigned char c : v)
    if (c < 0x20 || c == 0x7f) r.fail(n, field, "must be one line of printable text");
}

// A Slurm name (partition, account, QOS): what sbatch takes as one word.
void check_name(const TomlSection& r, const std::string& field, const std::string& v) {
  static const std::regex kName(R"([A-Za-z0-9_.+-]*)");
  if (!std::regex_match(v, kName))
    r.fail(r.get(field), field,
           fmt::format("'{}' is not a Slurm {} name (letters, digits, _ . + -)", v, field));
}

}  // namespace

std::optional<int> parse_slurm_time(const std::string& text) {
  long days = 0, hours = 0, minutes = 0, seconds = 0;
  std::string rest = text;
  const auto dash = text.find('-');
  if (dash != std::string::npos) {  // days-hours[:minutes[:seconds]]
    auto d = number(text.substr(0, dash));
    if (!d) return std::nullopt;
    days = *d;
    rest = text.substr(dash + 1);
  }
  const auto parts = split(rest, ':');
  std::vector<long> v;
  for (const auto& p : parts) {
    auto n = number(p);
    if (!n) return std::nullopt;
    v.push_back(*n);
  }
  if (dash != std::string::npos) {
    if (v.size() > 3) return std::nullopt;
    hours = v[0];
    minutes = v.size() > 1 ? v[1] : 0;
    seconds = v.size() > 2 ? v[2] : 0;
  } else if (v.size() == 1) {
    minutes = v[0];
  } else if (v.size() == 2) {
    minutes = v[0], seconds = v[1];
  } else if (v.size() == 3) {
    hours = v[0], minutes = v[1], seconds = v[2];
  } else {
    return std::nullopt;
  }
  const long total = ((days * 24 + hours) * 60 + minutes) * 60 + seconds;
  if (total <= 0 || total > 365L * 86400) return std::nullopt;
  return static_cast<int>(total);
}

std::string slurm_time_text(int seconds) {
  const int minutes = (seconds + 59) / 60;
  return fmt::format("{}-{:02d}:{:02d}:00", minutes / 1440, minutes / 60 % 24, minutes % 60);
}

SlurmConfig load_config(const std::string& explicit_path) {
  auto path = find_config_file(explicit_path);
  if (!path) return SlurmConfig{};
  if (!fs::exists(*path)) throw UsageError(fmt::format("{}: no such file", *path));
  return parse_config(text::read_file(*path), *path);
}

SlurmConfig parse_config(const std::string& text, const std::string& source) {
  const toml::table doc = parse_qecloud_toml(text, source);
  SlurmConfig c;
  const toml::node* section = doc.get("slurm");
  if (!section) return c;
  const toml::table* slurm = section->as_table();
  if (!slurm)
    throw UsageError(
        fmt::format("{}:{}: slurm: must be a table ([slurm])", source, section->source().begin.line));
  TomlSection r(*slurm, "slurm", source, refuse_control_characters);
  r.refuse_unknown({"partition", "account", "qos", "time", "ntasks_per_node", "modules", "pw", "mpirun",
                    "qecloud", "store", "signal_margin", "sbatch_options"});
  c.source = source;
  for (auto [field, value] :
       {std::pair{"partition", &c.partition}, {"account", &c.account}, {"qos", &c.qos}}) {
    *value = r.string(field);
    check_name(r, field, *value);
  }
  if (r.get("time")) {
    const std::string t = r.string("time");
    c.time_s = parse_slurm_time(t);
    if (!c.time_s)
      r.fail(r.get("time"), "time",
             fmt::format("'{}' is not a time limit: minutes, minutes:seconds, hours:minutes:seconds, "
                         "days-hours, days-hours:minutes or days-hours:minutes:seconds (not 0)",
                         t));
  }
  c.ntasks_per_node = r.integer("ntasks_per_node", c.ntasks_per_node, 0, 100000);
  c.modules = r.strings("modules", false);
  c.pw = r.string("pw", c.pw);
  c.mpirun = r.string("mpirun", c.mpirun);
  c.qecloud = r.string("qecloud");
  if (!c.qecloud.empty() && c.qecloud.front() != '/')
    r.fail(r.get("qecloud"), "qecloud", fmt::format("'{}' must be an absolute path", c.qecloud));
  c.store = r.string("store");
  while (!c.store.empty() && c.store.back() == '/') c.store.pop_back();
  if (!c.store.empty() && c.store.rfind("file:///", 0) != 0 && c.store.rfind("s3://", 0) != 0)
    r.fail(r.get("store"), "store",
           fmt::format("'{}' is not file:///<a path every node sees> or s3://bucket/prefix", c.store));
  // sbatch(1): sig_time is 0 to 65535; below 10 s pw.x has no time to stop and store its restart data.
  c.signal_margin_s = r.integer("signal_margin", c.signal_margin_s, 10, 65535);
  c.sbatch_options = r.strings("sbatch_options", false);
  for (std::size_t i = 0; i < c.sbatch_options.size(); ++i)
    if (c.sbatch_options[i].rfind("--", 0) != 0 || c.sbatch_options[i].size() < 3)
      r.fail(r.get("sbatch_options")->as_array()->get(i), fmt::format("sbatch_options[{}]", i),
             fmt::format("'{}' is not a long sbatch option (--name=value)", c.sbatch_options[i]));
  return c;
}

}  // namespace qecloud::backends::slurm
