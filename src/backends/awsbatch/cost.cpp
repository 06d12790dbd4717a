#include "backends/awsbatch/cost.hpp"

#include <fmt/format.h>

namespace qecloud::backends::awsbatch {
namespace {

// Linux on-demand, us-east-1, USD per instance-hour (AWS's public price list, 2024). Types MPI users pick:
// the network-optimised c5n and the HPC families first.
const std::map<std::string, double> kPrices = {
    {"c5n.large", 0.108},      {"c5n.xlarge", 0.216},   {"c5n.2xlarge", 0.432},   {"c5n.4xlarge", 0.864},
    {"c5n.9xlarge", 1.944},    {"c5n.18xlarge", 3.888}, {"c5n.metal", 3.888},     {"c5.large", 0.085},
    {"c5.xlarge", 0.17},       {"c5.2xlarge", 0.34},    {"c5.4xlarge", 0.68},     {"c5.9xlarge", 1.53},
    {"c5.18xlarge", 3.06},     {"c6i.large", 0.085},    {"c6i.xlarge", 0.17},     {"c6i.2xlarge", 0.34},
    {"c6i.4xlarge", 0.68},     {"c6i.8xlarge", 1.36},   {"c6i.16xlarge", 2.72},   {"c6i.32xlarge", 5.44},
    {"c6in.32xlarge", 7.2576}, {"c7i.48xlarge", 8.568}, {"hpc6a.48xlarge", 2.88}, {"hpc7a.96xlarge", 7.2},
    {"m4.large", 0.10},        {"m5.large", 0.096},     {"m5.xlarge", 0.192},     {"m5.24xlarge", 4.608},
    {"m6i.large", 0.096},      {"m6i.32xlarge", 6.144}, {"r5.large", 0.126},      {"r6i.32xlarge", 8.064},
};

}  // namespace

std::optional<Price> instance_price(const std::string& type, const std::map<std::string, double>& overrides) {
  if (auto it = overrides.find(type); it != overrides.end())
    return Price{it->second, "qecloud.toml [aws.prices]"};
  if (auto it = kPrices.find(type); it != kPrices.end())
    return Price{it->second, "built-in table (us-east-1 on-demand, 2024)"};
  return std::nullopt;
}

std::optional<double> cost_usd(const std::string& type, int nodes, double hours,
                               const std::map<std::string, double>& overrides) {
  auto p = instance_price(type, overrides);
  if (!p) return std::nullopt;
  return p->usd_per_hour * nodes * hours;
}

std::string cost_line(const std::string& type, int nodes, double hours,
                      const std::map<std::string, double>& overrides) {
  auto p = instance_price(type, overrides);
  if (!p)
    return fmt::format(
        "{} × {} × {:.2f} h: no price known for {} (add it under [aws.prices] in qecloud.toml)", nodes, type,
        hours, type);
  return fmt::format("{} × {} × {:.2f} h at ${:.4g}/h = ${:.2f} ({})", nodes, type, hours, p->usd_per_hour,
                     p->usd_per_hour * nodes * hours, p->source);
}

std::string ceiling_line(const std::string& type, int nodes, double hours_per_attempt, int attempts,
                         const std::map<std::string, double>& overrides) {
  auto p = instance_price(type, overrides);
  const std::string plural = attempts == 1 ? "" : "s";
  if (!p)
    return fmt::format(
        "{} attempt{} × {} × {} × {:.2f} h: no price known for {} (add it under [aws.prices] in "
        "qecloud.toml)",
        attempts, plural, nodes, type, hours_per_attempt, type);
  return fmt::format(
      "{} attempt{} × {} × {} × {:.2f} h at ${:.4g}/h = ${:.2f} ({}); plus each attempt's boot "
      "and image pull",
      attempts, plural, nodes, type, hours_per_attempt, p->usd_per_hour,
      p->usd_per_hour * nodes * hours_per_attempt * attempts, p->source);
}

}  // namespace qecloud::backends::awsbatch
