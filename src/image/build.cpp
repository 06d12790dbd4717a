#include "image/build.hpp"

#include <unistd.h>

#include <chrono>
#include <filesystem>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/paths.hpp"
#include "core/process.hpp"

namespace fs = std::filesystem;

namespace qecloud::image {

BuildReport build_image(const Engine& e, const std::string& context_dir, const std::string& tag,
                        const LineSink& progress) {
  if (!fs::is_regular_file(fs::path(context_dir) / "Dockerfile"))
    throw Error(fmt::format("no Dockerfile in {}: write a build context with `qecloud image dockerfile {}`",
                            context_dir, context_dir));
  const auto start = std::chrono::steady_clock::now();
  e.build(context_dir, tag, progress);
  BuildReport r;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  auto info = e.inspect(tag);
  if (!info) throw Error(fmt::format("{} built {} but cannot inspect it", e.name, tag));
  r.info = *info;
  return r;
}

Rootfs unpack_rootfs(const Engine& e, const std::string& image, const LineSink& notes) {
  const auto info = e.inspect(image);
  if (!info)
    throw Error(
        fmt::format("no image '{}' in {}'s store; build one with `qecloud image build`", image, e.name));
  Rootfs r;
  r.id = info->id;
  r.labels = info->labels;
  const fs::path dir = fs::path(qecloud_home()) / "images" / info->id.substr(0, 16);
  r.path = (dir / "rootfs").string();
  std::error_code ec;
  if (fs::is_directory(r.path, ec)) return r;
  // Unpacked aside and renamed, so a concurrent run or one killed half-way never sees half a tree.
  const fs::path partial = dir / fmt::format("rootfs.partial-{}", ::getpid());
  const fs::path tar = dir / fmt::format("rootfs-{}.tar", ::getpid());
  fs::create_directories(partial);
  try {
    if (notes)
      notes(fmt::format("unpacking image {} ({}) once into {}", image, info->id.substr(0, 12), r.path));
    e.export_rootfs(image, tar.string());
    capture_ok({"tar", "--extract", "--numeric-owner", "--preserve-permissions", "--file", tar.string(),
                "--directory", partial.string()},
               std::chrono::minutes(30));
    fs::remove(tar);
    fs::rename(partial, r.path, ec);
    if (ec && !fs::is_directory(r.path))
      throw Error(fmt::format("cannot rename {}: {}", partial.string(), ec.message()));
    fs::remove_all(partial, ec);  // another run renamed its copy first
  } catch (...) {
    fs::remove(tar, ec);
    fs::remove_all(partial, ec);
    throw;
  }
  r.unpacked_now = true;
  return r;
}

}  // namespace qecloud::image
