// `qecloud image dockerfile|build|test|push`: the container image whose CMD is `qecloud agent` (the
// tutorial's steps 1 and 2), built, proven and pushed to ECR. The work is in src/image/; this file parses
// options and prints.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "aws/api.hpp"
#include "aws/http.hpp"
#include "backends/awsbatch/config.hpp"
#include "cli/commands.hpp"
#include "core/env.hpp"
#include "core/error.hpp"
#include "core/json_text.hpp"
#include "core/paths.hpp"
#include "core/text.hpp"
#include "image/build.hpp"
#include "image/dockerfile.hpp"
#include "image/ecr.hpp"
#include "image/image_test.hpp"
#include "image/labels.hpp"
#include "image/push.hpp"

#ifndef QECLOUD_VERSION
#define QECLOUD_VERSION "dev"
#endif

namespace fs = std::filesystem;

namespace qecloud::cli {
namespace {

using json = nlohmann::json;

void note(const std::string& s) {
  fmt::print(stderr, "qecloud: {}\n", s);
}

image::LineSink progress_to_stderr() {
  return [](const std::string& line) { fmt::print(stderr, "  | {}\n", line); };
}

// How qecloud gets into the image: forced by a flag, else what is safe on this host.
image::RecipeOptions recipe(bool from_source, bool quiet) {
  image::RecipeOptions r;
  r.qecloud_version = QECLOUD_VERSION;
  std::string why;
  r.source = image::choose_qecloud_source(image::host_facts(), why);
  if (from_source) {
    r.source = image::QecloudSource::kFromSource;
    why = "--from-source: a builder stage compiles qecloud";
  }
  if (!quiet) note(why);
  return r;
}

void write_context(const std::string& dir, const image::RecipeOptions& r) {
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec))
    throw UsageError(fmt::format("DIR: {} is a file; a build context is a directory", dir));
  image::write_context(dir, r, fs::read_symlink("/proc/self/exe").string(), image::built_source_dir());
}

std::string megabytes(std::uint64_t bytes) {
  return bytes ? fmt::format("{:.0f} MB", static_cast<double>(bytes) / 1e6) : "size not reported";
}

int image_dockerfile(const std::string& dir, bool from_source) {
  write_context(dir, recipe(from_source, false));
  fmt::print("wrote the build context {}/ (Dockerfile and {}); build it with `qecloud image build {}`\n", dir,
             from_source || !fs::exists(fs::path(dir) / "qecloud") ? "source/" : "the qecloud binary", dir);
  return kExitOk;
}

int image_build(std::string dir, const std::string& tag, const std::string& engine_name, bool from_source,
                bool json_out) {
  const image::Engine engine = image::find_engine(engine_name);
  if (dir.empty()) {  // a fresh context of this qecloud
    dir = qecloud_home() + "/image-context";
    write_context(dir, recipe(from_source, json_out));
  } else if (from_source) {
    throw UsageError(
        "--from-source writes a new context; give no DIR (or write one: `qecloud image dockerfile "
        "DIR --from-source`)");
  }
  if (!json_out) note(fmt::format("building {} from {} with {}", tag, dir, engine.name));
  const image::BuildReport r =
      image::build_image(engine, dir, tag, json_out ? image::LineSink{} : progress_to_stderr());
  if (json_out) {
    fmt::print("{}\n", json_text(json{{"image", tag},
                                      {"id", r.info.id},
                                      {"size_bytes", r.info.size_bytes},
                                      {"build_seconds", r.seconds},
                                      {"engine", engine.name}}));
  } else {
    fmt::print("image {}: id {}, {}, built in {:.0f} s ({})\n", tag, r.info.id.substr(0, 12),
               megabytes(r.info.size_bytes), r.seconds, engine.name);
    fmt::print("  next: qecloud image test {}\n", tag);
  }
  return kExitOk;
}

int image_test(const std::string& img, const std::string& engine_name, std::string example, bool json_out) {
  const image::Engine engine = image::find_run_engine(engine_name);
  if (example.empty()) example = image::built_source_dir() + "/examples/si";
  const image::ImageTestReport r =
      image::test_image(engine, {img, example}, json_out ? image::LineSink{} : image::LineSink{note});
  if (json_out) {
    fmt::print("{}\n", json_text(json{{"image", img},
                                      {"ok", r.ok()},
                                      {"passed", r.passed},
                                      {"failed", r.failed},
                                      {"labels", r.facts},
                                      {"id", r.labelled_id}}));
  } else if (r.ok()) {
    fmt::print("image {} passed {} checks; recorded as its labels (id {}):\n", img, r.passed.size(),
               r.labelled_id.substr(0, 12));
    for (const auto& [k, v] : r.facts) fmt::print("  {:<30} {}\n", k, v);
  } else {
    fmt::print("image {}: {} of {} checks FAILED (nothing recorded)\n", img, r.failed.size(),
               r.failed.size() + r.passed.size());
  }
  return r.ok() ? kExitOk : kExitFailure;
}

// The region ECR is called in: qecloud.toml's [aws] region when there is one, else AWS's usual chain.
std::string push_region(const std::string& config) {
  if (auto path = backends::awsbatch::find_config(config); path && fs::exists(*path)) {
    const std::string text = text::read_file(*path);
    try {
      return backends::awsbatch::parse_config(text, *path).region;
    } catch (const UsageError& e) {
      note(fmt::format("{} is not a complete [aws] section ({}); using AWS_REGION or the profile's", *path,
                       e.what()));
    }
  }
  return "";
}

// Offers to put the URI into qecloud.toml: --write-config does it, a terminal is asked, anything else is
// told the line.
void offer_config(const std::string& config, const std::string& uri, bool write) {
  const auto path = backends::awsbatch::find_config(config).value_or("qecloud.toml");
  if (!write && ::isatty(STDIN_FILENO) && ::isatty(STDERR_FILENO)) {
    fmt::print(stderr, "write image = \"{}\" into {}? [y/N] ", uri, path);
    std::string answer;
    std::getline(std::cin, answer);
    write = answer == "y" || answer == "Y" || answer == "yes";
  }
  if (!write) {
    fmt::print("  for AWS Batch, put into qecloud.toml's [aws] section: image = \"{}\"\n", uri);
    return;
  }
  const std::string text = fs::exists(path) ? text::read_file(path) : "";
  std::ofstream(path, std::ios::trunc) << backends::awsbatch::with_image(text, uri);
  fmt::print("  wrote image = \"{}\" into {}\n", uri, path);
}

int image_push(const image::PushOptions& o, const std::string& engine_name, const std::string& config,
               bool write_config, bool json_out) {
  image::check_repository_name(o.repository);  // before anything is asked of AWS or the engine
  const image::Engine engine = image::find_engine(engine_name);
  auto http = aws::make_curl_client();
  aws::ServiceApi api(process_env(), http, push_region(config));
  const image::PushReport r = image::push_image(engine, api, *http, process_env(), o,
                                                json_out ? image::LineSink{} : progress_to_stderr());
  if (json_out) {
    fmt::print(
        "{}\n",
        json_text(json{{"uri", r.uri}, {"digest", r.digest}, {"created_repository", r.created_repository}}));
    return kExitOk;
  }
  fmt::print("pushed {} as {} ({})\n", o.image, r.uri, r.digest);
  offer_config(config, r.uri, write_config);
  return kExitOk;
}

}  // namespace

int cmd_image(std::vector<std::string> args) {
  CLI::App app{
      "The container image AWS Batch runs (CMD `qecloud agent`): write its build context, build it, test it "
      "(the silicon example inside it) and push it to ECR.",
      args[0]};
  app.require_subcommand(1);
  std::string dir, tag = std::string("qecloud:") + QECLOUD_VERSION, engine, example, config;
  bool from_source = false, json_out = false, write_config = false;
  image::PushOptions push;
  auto* dockerfile =
      app.add_subcommand("dockerfile", "write a build context: a commented Dockerfile and qecloud");
  dockerfile->add_option("DIR", dir, "where (default ./qecloud-image)");
  auto* build = app.add_subcommand("build", "build the image with podman, buildah or docker");
  build->add_option("DIR", dir, "a context written by `image dockerfile` (default: a fresh one)");
  build->add_option("--tag,-t", tag, "the image's name")->default_str(tag);
  auto* test =
      app.add_subcommand("test", "run the silicon example and the agent inside the image; record labels");
  test->add_option("IMAGE", push.image, "the image (name or id)")->required();
  test->add_option("--example", example, "the silicon example's directory (default: the source tree's)");
  auto* pushc = app.add_subcommand("push", "push the image to Amazon ECR; print the URI for [aws] image");
  pushc->add_option("IMAGE", push.image, "the image (name or id)")->required();
  pushc->add_option("--repository", push.repository, "the ECR repository (created when missing)")
      ->default_str("qecloud");
  pushc->add_option("--tag", push.tag, "the tag in ECR (default: the image's own, else latest)");
  pushc->add_option("--config", config, "qecloud.toml: its region, and where --write-config writes");
  pushc->add_flag("--write-config", write_config, "write the pushed URI into qecloud.toml's [aws] image");
  for (auto* sub : {dockerfile, build})
    sub->add_flag("--from-source", from_source, "compile qecloud in a builder stage (any host system)");
  for (auto* sub : {build, test, pushc}) {
    sub->add_option("--engine", engine, "podman, buildah or docker (default: the first found)");
    sub->add_flag("--json", json_out, "print one JSON object");
  }
  if (auto rc = parse_command_line(app, args)) return *rc;
  if (dockerfile->parsed()) return image_dockerfile(dir.empty() ? "qecloud-image" : dir, from_source);
  if (build->parsed()) return image_build(dir, tag, engine, from_source, json_out);
  if (test->parsed()) return image_test(push.image, engine, example, json_out);
  return image_push(push, engine, config, write_config, json_out);
}

}  // namespace qecloud::cli
