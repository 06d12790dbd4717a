#include "image/labels.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/paths.hpp"

namespace fs = std::filesystem;

namespace qecloud::image {
namespace {

std::string record_path() {
  return qecloud_home() + "/images.json";
}

nlohmann::json read_records() {
  std::ifstream in(record_path());
  if (!in) return nlohmann::json::object();
  auto j = nlohmann::json::parse(in, nullptr, false);
  return j.is_object() ? j : nlohmann::json::object();
}

}  // namespace

void remember_image(const std::string& name, const RememberedImage& image) {
  try {
    nlohmann::json all = read_records();
    all[name] = {{"id", image.id}, {"digest", image.digest}, {"labels", image.labels}};
    const std::string path = record_path(), tmp = fmt::format("{}.{}", path, ::getpid());
    {
      std::ofstream out(tmp, std::ios::trunc);
      out << all.dump(2) << '\n';
      if (!out.flush()) return;
    }
    std::error_code ec;
    fs::rename(tmp, path, ec);
    if (ec) fs::remove(tmp, ec);
  } catch (const Error&) {  // no home: nothing is remembered
  }
}

std::optional<RememberedImage> remembered_image(const std::string& name) {
  try {
    const nlohmann::json all = read_records();
    auto it = all.find(name);
    if (it == all.end() || !it->is_object()) return std::nullopt;
    RememberedImage r;
    r.id = it->value("id", "");
    r.digest = it->value("digest", "");
    if (auto l = it->find("labels"); l != it->end() && l->is_object())
      for (auto kv = l->begin(); kv != l->end(); ++kv)
        if (kv->is_string()) r.labels[kv.key()] = kv->get<std::string>();
    return r;
  } catch (const Error&) {
    return std::nullopt;
  }
}

std::optional<ImageRelease> image_release(const std::string& image) {
  auto from = [](const std::map<std::string, std::string>& labels,
                 std::string source) -> std::optional<ImageRelease> {
    auto v = labels.find(label::kQeVersion);
    if (v == labels.end() || v->second.empty()) return std::nullopt;
    auto b = labels.find(label::kBlas);
    return ImageRelease{v->second, b == labels.end() ? "" : b->second, std::move(source)};
  };
  try {
    const Engine e = find_engine("");
    if (auto info = e.inspect(image))
      if (auto r = from(info->labels, fmt::format("image {}'s label {}", image, label::kQeVersion))) return r;
  } catch (const Error&) {  // no engine here: what was remembered is all there is
  }
  if (auto r = remembered_image(image))
    return from(r->labels, fmt::format("image {} as tested by `qecloud image test`", image));
  return std::nullopt;
}

}  // namespace qecloud::image
