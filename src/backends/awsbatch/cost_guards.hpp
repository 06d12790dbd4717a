#pragma once
// What keeps an account from paying for what nobody uses, each made by `infra up` and checked first (a second
// `up` changes nothing):
//   · the bucket's lifecycle rule aborting multipart uploads left incomplete under the prefix (S3 keeps, and
//     bills, their parts until they are aborted: S3 User Guide, "Configuring a bucket lifecycle configuration
//     to delete incomplete multipart uploads"); a bucket with lifecycle rules of its own is left as it is,
//     since PutBucketLifecycleConfiguration replaces them all — the item says so;
//   · the job queue's jobStateTimeLimitActions: a job at the head of the queue RUNNABLE for want of capacity
//   or
//     for a misconfiguration is cancelled after [aws] runnable_timeout_minutes instead of waiting forever
//     (AWS Batch User Guide, "Jobs stuck in RUNNABLE status"; API Reference, JobStateTimeLimitAction).
// The log group's retention is set with the group (infra.cpp).
#include <nlohmann/json.hpp>

#include "aws/api.hpp"
#include "backends/awsbatch/config.hpp"
#include "backends/awsbatch/infra.hpp"

namespace qecloud::backends::awsbatch {

// Days after which S3 aborts an incomplete multipart upload (a job's upload runs for minutes, not days).
constexpr int kAbortIncompleteUploadDays = 7;

// The rule `up` puts (PutBucketLifecycleConfiguration's LifecycleConfiguration.Rules[0]).
nlohmann::json abort_incomplete_uploads_rule(const AwsConfig& c);
// Looks at the bucket's lifecycle rules; puts the rule when there are none.
InfraItem ensure_bucket_lifecycle(aws::Api& api, const AwsConfig& c);

// CreateJobQueue's jobStateTimeLimitActions: CANCEL after runnable_timeout_minutes for each RUNNABLE reason
// AWS Batch lets a queue act on.
nlohmann::json queue_time_limit_actions(const AwsConfig& c);
// The same actions, in any order.
bool same_time_limit_actions(const nlohmann::json& have, const nlohmann::json& want);

}  // namespace qecloud::backends::awsbatch
