#pragma once
// `qecloud image build` and what `run --nodes N --image` needs of an image: its root filesystem.
#include <map>
#include <string>

#include "image/engine.hpp"

namespace qecloud::image {

struct BuildReport {
  ImageInfo info;
  double seconds = 0;  // wall time of the engine's build
};
// Builds the context's Dockerfile as `tag`, progress to `progress`. Throws qecloud::Error when the context
// has no Dockerfile (naming `qecloud image dockerfile`) or the build fails (naming the step).
BuildReport build_image(const Engine& engine, const std::string& context_dir, const std::string& tag,
                        const LineSink& progress);

struct Rootfs {
  std::string path;  // a directory: the image's /
  std::string id;
  std::map<std::string, std::string> labels;
  bool unpacked_now = false;  // false: reused from an earlier run
};
// The image's root filesystem, unpacked once per image id under $QECLOUD_HOME/images/<id>/rootfs and reused
// by every later run of the same image (a rebuilt image has another id, and is unpacked again). The nodes
// of a rehearsal share it read-only. Throws qecloud::Error when the image is not here or cannot be exported.
Rootfs unpack_rootfs(const Engine& engine, const std::string& image, const LineSink& notes);

}  // namespace qecloud::image
