#pragma once
// `qecloud image push IMAGE [--repository NAME]`: the tutorial's `aws ecr get-login-password | docker login`,
// `docker tag` and `docker push` as one step that cannot report a half-pushed image as pushed.
//
//   1. the ECR repository, created when missing (image/ecr.hpp);
//   2. a registry login from GetAuthorizationToken, written as an auth file (the "auths" format podman,
//      buildah, skopeo and docker read) in a private directory that is removed afterwards — the token
//      never reaches a command line, a log, ~/.docker or /run/containers;
//   3. the engine pushes;
//   4. the registry itself is asked for the tag's manifest (OCI distribution spec, "HEAD
//      /v2/<name>/manifests/<reference>", Docker-Content-Digest): only when it holds exactly the digest the
//      engine pushed is the push reported, with the URI for qecloud.toml's [aws] image.
//
// QECLOUD_REGISTRY=host[:port] sends the push to another registry than the repository's own (tests: a
// local registry standing in for ECR's). A loopback registry is spoken to in plain HTTP, as Docker treats
// 127.0.0.0/8 registries as insecure by default (Docker docs, "Test an insecure registry").
#include <memory>
#include <string>

#include "aws/api.hpp"
#include "aws/http.hpp"
#include "core/env.hpp"
#include "image/engine.hpp"

namespace qecloud::image {

struct PushOptions {
  std::string image;                   // a local name or id
  std::string repository = "qecloud";  // the ECR repository
  std::string tag;                     // empty: the image name's tag, or "latest"
};

struct PushReport {
  std::string uri;  // "registry/repository:tag", for [aws] image
  std::string digest;
  bool created_repository = false;
};

PushReport push_image(const Engine& engine, aws::Api& api, aws::HttpClient& http, const EnvLookup& env,
                      const PushOptions& o, const LineSink& notes);

// The tag part of an image name ("qecloud:0.1" → "0.1", "localhost:5000/q" → ""), or "".
std::string tag_of(const std::string& image);
// True for 127.0.0.0/8, localhost and [::1], with or without a port.
bool is_loopback_registry(const std::string& host);
// The auth file's text for `registry` (containers-auth.json(5), docker's config.json "auths").
std::string auth_file_text(const std::string& registry, const std::string& token);

}  // namespace qecloud::image
