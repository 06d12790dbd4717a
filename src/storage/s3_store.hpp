#pragma once
// s3:// — a bucket (and key prefix) on Amazon S3 or any S3-compatible server (AWS_ENDPOINT_URL_S3 /
// AWS_ENDPOINT_URL / `endpoint_url` in ~/.aws/config; path-style addressing there, virtual-host on AWS).
//
// Integrity, end to end: every PUT and part carries Content-MD5 (the server refuses a body that changed on
// the way) and the ETag it returns is compared with ours; a multipart object's final ETag must equal md5(part
// md5s)-N, and its part size is stored as x-amz-meta-qecloud-part-size so a download can check the same
// composite. Downloads go to a temporary file renamed into place only once size and checksum match. A failed
// multipart upload is aborted: nothing is ever visible under the final key but a whole, verified object.
// Memory does not grow with the part or object size: a part is hashed (MD5, the signed SHA-256, CRC32) in
// one pass of small slices and then sent straight from the file; a range is written in place as it arrives.
// Only a file at or under multipart_threshold is read into memory whole.
//
// A multipart upload also declares CRC32, as botocore >= 1.36 does: x-amz-checksum-algorithm when it starts,
// x-amz-checksum-crc32 on each part, ChecksumCRC32 in the completion. S3 then checks each part's CRC32 as
// well as its MD5, and a server that would otherwise compute a full-object checksum when the upload completes
// (moto: a copy and a CRC of the whole object) only combines the parts' CRCs.
// AWS_REQUEST_CHECKSUM_CALCULATION=when_required turns this off (as for botocore), for servers that refuse
// flexible checksums.
#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "aws/client.hpp"
#include "storage/object_store.hpp"

namespace qecloud::storage {

struct S3Options {
  std::uint64_t part_size = 8ull << 20;            // grown when an object would need more than 10,000 parts
  std::uint64_t large_part_size = 16ull << 20;     // for objects of at least 4 such parts per worker
  std::uint64_t multipart_threshold = 8ull << 20;  // larger files go up in parts and down in ranges
  int workers = 4;                                 // parallel parts / ranges per object
  bool crc32_checksums = true;                     // multipart uploads declare CRC32 (see above)
  aws::HttpTimeouts timeouts;                      // stall: QECLOUD_S3_STALL_TIMEOUT seconds (default 30)
};

struct ObjectHead {
  std::uint64_t size = 0;
  std::string etag;                        // without quotes
  std::optional<std::uint64_t> part_size;  // from x-amz-meta-qecloud-part-size
};

class S3Store : public ObjectStore {
 public:
  S3Store(std::string bucket, std::string prefix, std::shared_ptr<aws::AwsClient> client, bool virtual_host,
          S3Options options = {});
  // "bucket/prefix" of an s3:// URL, with region, endpoint and credentials from the environment.
  // `region`: the bucket's, when known (else the environment's).
  static std::unique_ptr<S3Store> open(const std::string& bucket_and_prefix, const std::string& region = {});

  void put_file(const std::string& local_path, const std::string& key) override;
  void get_file(const std::string& key, const std::string& local_path) override;
  std::vector<ObjectInfo> list(const std::string& prefix) override;
  bool exists(const std::string& key) override;
  void remove(const std::string& key) override;
  std::string url(const std::string& key) const override;

  std::optional<ObjectHead> head(const std::string& key);
  aws::AwsClient& client() { return *client_; }

 private:
  std::string full_key(const std::string& key) const;
  aws::Request object_request(const std::string& method, const std::string& full) const;
  void put_small(const std::string& local_path, const std::string& full, std::uint64_t size);
  void put_multipart(const std::string& local_path, const std::string& full, std::uint64_t size);
  // put_multipart's steps (MultipartUpload is in s3_store.cpp).
  struct MultipartUpload;
  std::string start_multipart(const MultipartUpload& up);
  void upload_part(MultipartUpload& up, int fd, std::uint64_t i);
  void complete_multipart(const MultipartUpload& up);
  void get_ranges(const std::string& full, const ObjectHead& h, int fd, std::uint64_t part);
  [[noreturn]] void fail(const std::string& what, const std::string& full, const aws::AwsError& e) const;

  std::string bucket_, prefix_;
  std::shared_ptr<aws::AwsClient> client_;
  bool virtual_host_;
  S3Options opt_;
};

}  // namespace qecloud::storage
