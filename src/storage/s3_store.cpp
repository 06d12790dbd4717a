#include "storage/s3_store.hpp"

#include "aws/api.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <zlib.h>
#include <pugixml.hpp>

#include "core/crypto.hpp"
#include "core/env.hpp"
#include "core/error.hpp"

namespace qecloud::storage {
namespace fs = std::filesystem;
using aws::AwsError;
using aws::HttpRequest;
using aws::HttpResponse;

namespace {

constexpr std::uint64_t kMaxParts = 10000;
// A body that arrives changed is sent (or fetched) again this many times in all. Servers that check
// Content-MD5 refuse it (BadDigest, retried by the client); others store it, and the ETag tells us.
constexpr int kIntegrityAttempts = 3;
// A part is read and hashed slice by slice, each slice while it is still in the cache.
constexpr std::size_t kHashSlice = 256 << 10;

struct ChecksumMismatch : Error {
  using Error::Error;
};

std::string unquote(std::string s) {
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  return s;
}

struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// Reads exactly n bytes at offset (files do not shrink under us; a short read is an error).
void pread_all(int fd, char* buf, std::size_t n, std::uint64_t off, const std::string& path) {
  std::size_t done = 0;
  while (done < n) {
    ssize_t r = ::pread(fd, buf + done, n - done, static_cast<off_t>(off + done));
    if (r <= 0)
      throw Error(fmt::format("cannot read {}: {}", path, r == 0 ? "file shrank" : std::strerror(errno)));
    done += static_cast<std::size_t>(r);
  }
}

void pwrite_all(int fd, const char* buf, std::size_t n, std::uint64_t off) {
  std::size_t done = 0;
  while (done < n) {
    ssize_t w = ::pwrite(fd, buf + done, n - done, static_cast<off_t>(off + done));
    if (w <= 0) throw Error(fmt::format("cannot write the download: {}", std::strerror(errno)));
    done += static_cast<std::size_t>(w);
  }
}

// Runs fn(i) for i in [0, n) on up to `workers` threads; the first exception stops the others from taking
// new items and is rethrown.
void parallel_for(std::uint64_t n, int workers, const std::function<void(std::uint64_t)>& fn) {
  std::atomic<std::uint64_t> next{0};
  std::atomic<bool> failed{false};
  std::exception_ptr error;
  std::mutex mu;
  auto work = [&] {
    for (;;) {
      std::uint64_t i = next++;
      if (i >= n || failed) return;
      try {
        fn(i);
      } catch (...) {
        std::lock_guard lock(mu);
        if (!error) error = std::current_exception();
        failed = true;
      }
    }
  };
  std::vector<std::thread> threads;
  for (std::uint64_t w = 1; w < std::min<std::uint64_t>(static_cast<std::uint64_t>(workers), n); ++w)
    threads.emplace_back(work);
  work();
  for (auto& t : threads) t.join();
  if (error) std::rethrow_exception(error);
}

// Over TLS the Content-MD5 and TLS's own integrity suffice (as botocore does); over plain HTTP the body's
// SHA-256 is signed.
bool signs_payload(const aws::AwsClient& c) {
  return c.endpoint().scheme != "https";
}

std::string payload_hash_for(const aws::AwsClient& c, std::string_view body) {
  return signs_payload(c) ? sha256_hex(body) : std::string(aws::kUnsignedPayload);
}

// The value of an x-amz-checksum-crc32 header: base64 of the big-endian CRC-32.
std::string crc32_base64(uLong crc) {
  const char be[4] = {static_cast<char>(crc >> 24), static_cast<char>(crc >> 16), static_cast<char>(crc >> 8),
                      static_cast<char>(crc)};
  return base64(std::string_view(be, 4));
}

}  // namespace

S3Store::S3Store(std::string bucket, std::string prefix, std::shared_ptr<aws::AwsClient> client,
                 bool virtual_host, S3Options options)
    : bucket_(std::move(bucket)),
      prefix_(std::move(prefix)),
      client_(std::move(client)),
      virtual_host_(virtual_host),
      opt_(options) {
  while (!prefix_.empty() && prefix_.back() == '/') prefix_.pop_back();
}

std::unique_ptr<S3Store> S3Store::open(const std::string& rest, const std::string& bucket_region) {
  const auto slash = rest.find('/');
  std::string bucket = rest.substr(0, slash);
  std::string prefix = slash == std::string::npos ? "" : rest.substr(slash + 1);
  if (bucket.empty()) throw UsageError(fmt::format("s3://{}: no bucket name", rest));
  auto env = process_env();
  auto http = aws::make_curl_client();
  const std::string region =
      !bucket_region.empty() ? bucket_region : aws::resolve_region(env).value_or("us-east-1");
  auto override_url = aws::resolve_endpoint(env, "s3");
  aws::Endpoint ep;
  bool virtual_host = false;
  if (override_url) {
    ep = aws::parse_endpoint(*override_url);
  } else {
    virtual_host = bucket.find('.') == std::string::npos;
    // s3.<region>.amazonaws.com, or .amazonaws.com.cn in the China regions (aws/partition.hpp).
    const std::string host = aws::default_endpoint("s3", region).host;
    ep.host = virtual_host ? bucket + "." + host : host;
  }
  auto chain = std::make_shared<aws::CredentialChain>(env, http);
  auto client = std::make_shared<aws::AwsClient>("s3", region, ep, chain, http, aws::retry_policy(env));
  S3Options opt;
  if (auto calc = env("AWS_REQUEST_CHECKSUM_CALCULATION")) {
    std::string v = *calc;
    std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
    if (v == "when_required")
      opt.crc32_checksums = false;
    else if (v != "when_supported")
      throw UsageError(fmt::format(
          "AWS_REQUEST_CHECKSUM_CALCULATION='{}' is neither when_supported nor when_required", *calc));
  }
  opt.timeouts.stall = std::chrono::seconds(
      env_integer(env, "QECLOUD_S3_STALL_TIMEOUT", static_cast<int>(opt.timeouts.stall.count()), 1, 86400));
  return std::make_unique<S3Store>(bucket, prefix, client, virtual_host, opt);
}

std::string S3Store::full_key(const std::string& key) const {
  std::string k = key;
  while (!k.empty() && k.front() == '/') k.erase(0, 1);
  if (prefix_.empty()) return k;
  return k.empty() ? prefix_ : prefix_ + "/" + k;
}

std::string S3Store::url(const std::string& key) const {
  const std::string k = full_key(key);
  return "s3://" + bucket_ + (k.empty() ? "" : "/" + k);
}

aws::Request S3Store::object_request(const std::string& method, const std::string& full) const {
  aws::Request r;
  r.method = method;
  r.path = aws::s3_object_path(bucket_, full, virtual_host_);
  return r;
}

void S3Store::fail(const std::string& what, const std::string& full, const AwsError& e) const {
  throw Error(fmt::format("{} s3://{}/{}: {}", what, bucket_, full, e.text()));
}

std::optional<ObjectHead> S3Store::head(const std::string& key) {
  const std::string full = full_key(key);
  auto r = client_->send(object_request("HEAD", full), HttpRequest{}, std::string(aws::kEmptySha256),
                         opt_.timeouts);
  if (!r) {
    if (r.error().status == 404) return std::nullopt;
    fail("cannot look at", full, r.error());
  }
  ObjectHead h;
  h.size = std::stoull(r->header("content-length").value_or("0"));
  h.etag = unquote(r->header("etag").value_or(""));
  if (auto p = r->header("x-amz-meta-qecloud-part-size")) h.part_size = std::stoull(*p);
  return h;
}

bool S3Store::exists(const std::string& key) {
  return head(key).has_value();
}

void S3Store::remove(const std::string& key) {
  const std::string full = full_key(key);
  auto r = client_->send(object_request("DELETE", full), HttpRequest{}, std::string(aws::kEmptySha256),
                         opt_.timeouts);
  if (!r && r.error().status != 404) fail("cannot delete", full, r.error());
}

void S3Store::put_file(const std::string& local_path, const std::string& key) {
  struct stat st {};
  if (::stat(local_path.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
    throw Error(fmt::format("cannot upload {}: not a readable file", local_path));
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (size <= opt_.multipart_threshold)
    put_small(local_path, full_key(key), size);
  else
    put_multipart(local_path, full_key(key), size);
}

void S3Store::put_small(const std::string& local_path, const std::string& full, std::uint64_t size) {
  Fd f(::open(local_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (f.fd < 0) throw Error(fmt::format("cannot open {}: {}", local_path, std::strerror(errno)));
  HttpRequest body;
  body.body.resize(size);
  pread_all(f.fd, body.body.data(), size, 0, local_path);
  const std::string md5 = qecloud::md5(body.body);
  aws::Request req = object_request("PUT", full);
  req.headers = {{"Content-MD5", base64(md5)}, {"Content-Type", "application/octet-stream"}};
  const std::string payload_hash = payload_hash_for(*client_, body.body);
  std::string etag;
  for (int attempt = 1; attempt <= kIntegrityAttempts; ++attempt) {
    auto r = client_->send(req, body, payload_hash, opt_.timeouts);
    if (!r) fail("cannot upload " + local_path + " to", full, r.error());
    etag = unquote(r->header("etag").value_or(""));
    if (etag == hex(md5)) break;
  }
  if (etag != hex(md5)) {
    remove(full.substr(prefix_.empty() ? 0 : prefix_.size() + 1));
    throw Error(
        fmt::format("upload of {} to s3://{}/{}: the server's ETag {} is not the file's MD5 {} ({} "
                    "attempts); the object was deleted",
                    local_path, bucket_, full, etag, hex(md5), kIntegrityAttempts));
  }
}

// One multipart upload: the file, its parts and what each part hashed to.
struct S3Store::MultipartUpload {
  std::string local_path, full, upload_id;
  std::uint64_t size = 0, part = 0, nparts = 0;
  bool crc = false, sign = false;
  std::vector<std::string> md5s, crcs;  // raw MD5 and base64 CRC32 of each part
};

std::string S3Store::start_multipart(const MultipartUpload& up) {
  aws::Request create = object_request("POST", up.full);
  create.query = {{"uploads", ""}};
  create.headers = {{"Content-Type", "application/octet-stream"},
                    {"x-amz-meta-qecloud-part-size", std::to_string(up.part)}};
  if (up.crc) create.headers.emplace_back("x-amz-checksum-algorithm", "CRC32");
  auto cr = client_->send(create, HttpRequest{}, std::string(aws::kEmptySha256), opt_.timeouts);
  if (!cr) fail("cannot start the multipart upload of " + up.local_path + " to", up.full, cr.error());
  pugi::xml_document doc;
  doc.load_string(cr->body.c_str());
  const std::string upload_id = doc.child("InitiateMultipartUploadResult").child_value("UploadId");
  if (upload_id.empty())
    throw Error(fmt::format("s3://{}/{}: no UploadId in the server's answer", bucket_, up.full));
  return upload_id;
}

// Part i: hashed (MD5, the signed SHA-256, CRC32) slice by slice, in one pass, and then sent straight from
// the file (the page cache, by then): no worker holds a whole part in memory. Sent again when the server's
// ETag or CRC32 is not ours.
void S3Store::upload_part(MultipartUpload& up, int fd, std::uint64_t i) {
  const std::uint64_t off = i * up.part, n = std::min(up.part, up.size - off);
  thread_local std::string slice;
  slice.resize(kHashSlice);
  Digest md5(Digest::Kind::kMd5);
  std::optional<Digest> sha;
  if (up.sign) sha.emplace(Digest::Kind::kSha256);
  uLong c32 = ::crc32_z(0L, Z_NULL, 0);
  for (std::uint64_t at = 0; at < n; at += kHashSlice) {
    const std::size_t k = std::min<std::uint64_t>(kHashSlice, n - at);
    pread_all(fd, slice.data(), k, off + at, up.local_path);
    md5.update(slice.data(), k);
    if (sha) sha->update(slice.data(), k);
    if (up.crc) c32 = ::crc32_z(c32, reinterpret_cast<const Bytef*>(slice.data()), k);
  }
  up.md5s[i] = md5.finish();
  const std::string payload_hash = sha ? hex(sha->finish()) : std::string(aws::kUnsignedPayload);
  aws::Request req = object_request("PUT", up.full);
  req.query = {{"partNumber", std::to_string(i + 1)}, {"uploadId", up.upload_id}};
  req.headers = {{"Content-MD5", base64(up.md5s[i])}};
  if (up.crc) {
    up.crcs[i] = crc32_base64(c32);
    req.headers.emplace_back("x-amz-sdk-checksum-algorithm", "CRC32");
    req.headers.emplace_back("x-amz-checksum-crc32", up.crcs[i]);
  }
  const std::string want = hex(up.md5s[i]);
  std::string etag, echoed;
  bool ok = false;
  for (int attempt = 1; attempt <= kIntegrityAttempts && !ok; ++attempt) {
    HttpRequest body;
    std::uint64_t sent = 0;
    std::string read_error;
    body.body_size = n;
    body.before_attempt = [&] { sent = 0; };
    // Bytes that differ from the hashed ones (the file changed) are refused by the server (signed
    // SHA-256, Content-MD5) or caught by the ETag check below; they never complete the upload.
    body.body_reader = [&](char* out, std::size_t cap) -> std::size_t {
      const std::size_t k = std::min<std::uint64_t>(cap, n - sent);
      if (k == 0) return 0;
      ssize_t r = -1;
      do {
        r = ::pread(fd, out, k, static_cast<off_t>(off + sent));
      } while (r < 0 && errno == EINTR);
      if (r <= 0) {
        read_error =
            fmt::format("cannot read {}: {}", up.local_path, r == 0 ? "file shrank" : std::strerror(errno));
        return aws::kBodyReaderAbort;
      }
      sent += static_cast<std::uint64_t>(r);
      return static_cast<std::size_t>(r);
    };
    auto r = client_->send(req, std::move(body), payload_hash, opt_.timeouts);
    if (!r && !read_error.empty()) throw Error(read_error);
    if (!r)
      fail(fmt::format("cannot upload part {} of {} of {} to", i + 1, up.nparts, up.local_path), up.full,
           r.error());
    etag = unquote(r->header("etag").value_or(""));
    // S3 answers with the CRC32 it computed (and refuses a part whose CRC32 differs from ours).
    echoed = up.crc ? r->header("x-amz-checksum-crc32").value_or(up.crcs[i]) : "";
    ok = etag == want && echoed == up.crcs[i];
  }
  if (!ok)
    throw Error(fmt::format("s3://{}/{}: part {} came back with ETag {}{}, not its MD5 {}{} ({} attempts)",
                            bucket_, up.full, i + 1, etag, up.crc ? " and CRC32 " + echoed : "", want,
                            up.crc ? " and CRC32 " + up.crcs[i] : "", kIntegrityAttempts));
}

// The parts in order; the assembled object's ETag must be md5(part md5s)-N, or it is deleted.
void S3Store::complete_multipart(const MultipartUpload& up) {
  std::string xml = "<CompleteMultipartUpload>";
  std::string all;
  for (std::uint64_t i = 0; i < up.nparts; ++i) {
    xml += fmt::format("<Part><PartNumber>{}</PartNumber><ETag>\"{}\"</ETag>", i + 1, hex(up.md5s[i]));
    if (up.crc) xml += fmt::format("<ChecksumCRC32>{}</ChecksumCRC32>", up.crcs[i]);
    xml += "</Part>";
    all += up.md5s[i];
  }
  xml += "</CompleteMultipartUpload>";
  const std::string expected = fmt::format("{}-{}", hex(md5(all)), up.nparts);
  aws::Request done_req = object_request("POST", up.full);
  done_req.query = {{"uploadId", up.upload_id}};
  done_req.headers = {{"Content-Type", "application/xml"}};
  HttpRequest body;
  body.body = xml;
  auto r = client_->send(done_req, std::move(body), sha256_hex(xml), opt_.timeouts);
  if (!r) fail("cannot complete the multipart upload of " + up.local_path + " to", up.full, r.error());
  // S3 may answer 200 and put the error in the body.
  std::string code, message;
  aws::parse_error_body(r->body, code, message);
  if (!code.empty())
    throw Error(
        fmt::format("s3://{}/{}: completing the upload failed: {} {}", bucket_, up.full, code, message));
  pugi::xml_document d;
  d.load_string(r->body.c_str());
  // AWS names the root CompleteMultipartUploadResult; some servers (moto) CompleteMultipartUploadResponse.
  const std::string etag = unquote(d.document_element().child_value("ETag"));
  if (etag != expected) {
    remove(up.full.substr(prefix_.empty() ? 0 : prefix_.size() + 1));
    throw Error(
        fmt::format("s3://{}/{}: the assembled object's ETag {} is not {} (md5 of the parts' md5s); "
                    "the object was deleted",
                    bucket_, up.full, etag, expected));
  }
}

void S3Store::put_multipart(const std::string& local_path, const std::string& full, std::uint64_t size) {
  MultipartUpload up;
  up.local_path = local_path, up.full = full, up.size = size;
  up.part = opt_.part_size;
  // Fewer, larger parts (less per-request work on both sides) once every worker still gets several of them.
  if (size >= opt_.large_part_size * static_cast<std::uint64_t>(std::max(opt_.workers, 1)) * 4)
    up.part = std::max(up.part, opt_.large_part_size);
  while ((size + up.part - 1) / up.part > kMaxParts) up.part *= 2;
  up.nparts = (size + up.part - 1) / up.part;
  up.crc = opt_.crc32_checksums;
  up.sign = signs_payload(*client_);
  up.md5s.resize(up.nparts), up.crcs.resize(up.nparts);
  up.upload_id = start_multipart(up);
  try {
    Fd f(::open(local_path.c_str(), O_RDONLY | O_CLOEXEC));
    if (f.fd < 0) throw Error(fmt::format("cannot open {}: {}", local_path, std::strerror(errno)));
    parallel_for(up.nparts, opt_.workers, [&](std::uint64_t i) { upload_part(up, f.fd, i); });
    complete_multipart(up);
  } catch (...) {  // nothing but a whole, verified object may appear under the key
    aws::Request a = object_request("DELETE", full);
    a.query = {{"uploadId", up.upload_id}};
    (void)client_->send(a, HttpRequest{}, std::string(aws::kEmptySha256), opt_.timeouts);
    throw;
  }
}

void S3Store::get_file(const std::string& key, const std::string& local_path) {
  const std::string full = full_key(key);
  auto h = head(key);
  if (!h) throw Error(fmt::format("s3://{}/{}: no such object", bucket_, full));
  const std::string tmp = fmt::format("{}.qecloud-partial-{}", local_path, ::getpid());
  Fd f(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (f.fd < 0) throw Error(fmt::format("cannot write {}: {}", tmp, std::strerror(errno)));
  try {
    const bool composite = h->etag.find('-') != std::string::npos;
    const std::uint64_t part = composite && h->part_size            ? *h->part_size
                               : h->size > opt_.multipart_threshold ? opt_.part_size
                                                                    : std::max<std::uint64_t>(h->size, 1);
    for (int attempt = 1;; ++attempt) {
      try {
        get_ranges(full, *h, f.fd, part);
        break;
      } catch (const ChecksumMismatch&) {
        if (attempt == kIntegrityAttempts) throw;
      }
    }
    if (::fsync(f.fd) != 0) throw Error(fmt::format("cannot write {}: {}", tmp, std::strerror(errno)));
    fs::rename(tmp, local_path);
  } catch (...) {
    std::error_code ec;
    fs::remove(tmp, ec);
    throw;
  }
}

// Downloads [0, size) in ranges of `part` bytes on the worker threads, each written in place, and checks
// the result against the ETag: the MD5 of the whole object, or md5(part md5s)-N for a multipart object
// whose part size we know. An object of unknown part size is checked by size only.
void S3Store::get_ranges(const std::string& full, const ObjectHead& h, int fd, std::uint64_t part) {
  const std::uint64_t n = h.size == 0 ? 0 : (h.size + part - 1) / part;
  std::vector<std::string> md5s(n);
  parallel_for(n, opt_.workers, [&](std::uint64_t i) {
    const std::uint64_t off = i * part, len = std::min(part, h.size - off);
    aws::Request get = object_request("GET", full);
    get.headers = {{"Range", fmt::format("bytes={}-{}", off, off + len - 1)},
                   {"If-Match", "\"" + h.etag + "\""}};
    std::uint64_t got = 0;
    std::optional<Digest> md5;
    HttpRequest body;
    body.before_attempt = [&] {
      got = 0;
      md5.emplace(Digest::Kind::kMd5);
    };
    body.body_sink = [&](const char* data, std::size_t k) {
      if (got + k > len) return false;
      pwrite_all(fd, data, k, off + got);
      md5->update(data, k);
      got += k;
      return true;
    };
    auto r = client_->send(get, std::move(body), std::string(aws::kEmptySha256), opt_.timeouts);
    if (!r) fail(fmt::format("cannot download bytes {}-{} of", off, off + len - 1), full, r.error());
    if (got != len)
      throw Error(
          fmt::format("s3://{}/{}: got {} bytes of range {}-{}", bucket_, full, got, off, off + len - 1));
    md5s[i] = md5->finish();
  });
  std::string actual;
  if (h.etag.find('-') == std::string::npos) {
    if (n <= 1) {
      actual = hex(n ? md5s[0] : md5(""));
    } else {  // a large single-part object (another tool's): hash the file we wrote
      Digest d(Digest::Kind::kMd5);
      std::string buf(1 << 20, '\0');
      for (std::uint64_t off = 0; off < h.size; off += buf.size()) {
        std::size_t k = std::min<std::uint64_t>(buf.size(), h.size - off);
        pread_all(fd, buf.data(), k, off, "the download");
        d.update(buf.data(), k);
      }
      actual = hex(d.finish());
    }
  } else if (h.part_size) {
    std::string all;
    for (const auto& m : md5s) all += m;
    actual = fmt::format("{}-{}", hex(md5(all)), n);
  } else {
    return;  // multipart of unknown part size: the size was checked range by range
  }
  if (actual != h.etag)
    throw ChecksumMismatch(
        fmt::format("s3://{}/{}: downloaded data has checksum {}, the object's ETag is {} ({} "
                    "attempts)",
                    bucket_, full, actual, h.etag, kIntegrityAttempts));
}

std::vector<ObjectInfo> S3Store::list(const std::string& prefix) {
  std::vector<ObjectInfo> out;
  std::string p = full_key(prefix);
  std::string token;
  const std::size_t strip = prefix_.empty() ? 0 : prefix_.size() + 1;
  for (;;) {
    aws::Request req;
    req.method = "GET";
    req.path = virtual_host_ ? "/" : "/" + bucket_;
    req.query = {{"list-type", "2"}, {"prefix", p}};
    if (!token.empty()) req.query.emplace_back("continuation-token", token);
    auto r = client_->send(req, HttpRequest{}, std::string(aws::kEmptySha256), opt_.timeouts);
    if (!r) fail("cannot list", p, r.error());
    pugi::xml_document doc;
    doc.load_string(r->body.c_str());
    auto res = doc.child("ListBucketResult");
    for (auto c : res.children("Contents")) {
      std::string k = c.child_value("Key");
      if (k.size() < strip) continue;
      out.push_back({k.substr(strip), std::stoull(c.child_value("Size"))});
    }
    if (std::string(res.child_value("IsTruncated")) != "true") break;
    token = res.child_value("NextContinuationToken");
    if (token.empty()) break;
  }
  return out;
}

}  // namespace qecloud::storage
