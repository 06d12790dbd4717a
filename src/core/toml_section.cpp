#include "core/toml_section.hpp"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/paths.hpp"
#include "core/text.hpp"

namespace fs = std::filesystem;

namespace qecloud {

std::optional<std::string> find_config_file(const std::string& explicit_path) {
  if (!explicit_path.empty()) return explicit_path;
  if (fs::exists("qecloud.toml")) return fs::absolute("qecloud.toml").string();
  try {  // $QECLOUD_HOME, or its default ~/.qecloud
    const fs::path in_home = fs::path(qecloud_home()) / "qecloud.toml";
    if (fs::exists(in_home)) return in_home.string();
  } catch (const Error&) {  // no home at all: there is no config there either
  }
  return std::nullopt;
}

toml::table parse_toml(const std::string& text, const std::string& source) {
  try {
    return toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    throw UsageError(
        fmt::format("{}:{}:{}: {}", source, e.source().begin.line, e.source().begin.column, e.description()));
  }
}

toml::table parse_qecloud_toml(const std::string& text, const std::string& source) {
  toml::table doc = parse_toml(text, source);
  const std::vector<std::string_view> sections = {"aws", "slurm"};
  for (const auto& [key, node] : doc) {
    if (std::find(sections.begin(), sections.end(), key.str()) != sections.end()) continue;
    const std::string hint = text::closest_match(key.str(), sections);
    throw UsageError(fmt::format("{}:{}: [{}]: not a section of qecloud.toml, which has [aws] and [slurm]{}",
                                 source, node.source().begin.line, key.str(),
                                 hint.empty() ? "" : fmt::format(" (did you mean [{}]?)", hint)));
  }
  return doc;
}

void TomlSection::fail(const toml::node* n, const std::string& field, const std::string& why) const {
  if (n && n->source().begin.line > 0)
    throw UsageError(fmt::format("{}:{}: {}.{}: {}", source_, n->source().begin.line, section_, field, why));
  throw UsageError(fmt::format("{}: {}.{}: {}", source_, section_, field, why));
}

void TomlSection::refuse_unknown(std::initializer_list<const char*> known) const {
  for (const auto& [key, node] : table_) {
    bool ok = false;
    for (const char* k : known) ok |= key.str() == k;
    if (!ok) fail(&node, std::string(key.str()), "unknown field (a typo?)");
  }
}

std::string TomlSection::string(const std::string& field, const std::string& fallback,
                                const std::string& missing) const {
  const toml::node* n = table_.get(field);
  if (!n) {
    if (!missing.empty()) fail(nullptr, field, missing);
    return fallback;
  }
  auto v = n->value<std::string>();
  if (!v) fail(n, field, "must be a string");
  if (check_) check_(*this, n, field, *v);
  return *v;
}

std::vector<std::string> TomlSection::strings(const std::string& field, bool required) const {
  const toml::node* n = table_.get(field);
  if (!n) {
    if (required) fail(nullptr, field, "missing: a list of strings");
    return {};
  }
  const toml::array* a = n->as_array();
  if (!a) fail(n, field, "must be a list of strings, e.g. [\"…\"]");
  std::vector<std::string> out;
  for (std::size_t i = 0; i < a->size(); ++i) {
    const toml::node& e = *a->get(i);
    auto v = e.value<std::string>();
    const std::string name = fmt::format("{}[{}]", field, i);
    if (!v) fail(&e, name, "must be a string");
    if (check_) check_(*this, &e, name, *v);
    out.push_back(*v);
  }
  if (required && out.empty()) fail(n, field, "must not be empty");
  return out;
}

int TomlSection::integer(const std::string& field, int fallback, std::int64_t min, std::int64_t max) const {
  const toml::node* n = table_.get(field);
  if (!n) return fallback;
  auto v = n->value_exact<std::int64_t>();
  if (!v) fail(n, field, "must be an integer");
  if (*v < min || *v > max) fail(n, field, fmt::format("{} is outside [{}, {}]", *v, min, max));
  return static_cast<int>(*v);
}

}  // namespace qecloud
