#pragma once
// The S3-compatible object store: the "s3" service of annexd.
//
// Buckets, objects, listings, multipart uploads, ACLs, CORS, bucket policies
// and Block Public Access with S3's semantics, status codes and XML bodies.
// Metadata lives in an LMDB environment under `data_dir`/meta; object data
// inline in LMDB (small objects) or in data files under `data_dir`/data. A
// write is acknowledged only once durable (see data_files.h and
// metadata_store.h).
//
// Thread-safe: Handle() may run concurrently on any number of io threads.

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "appliance/auth/credentials.h"
#include "appliance/core/result.h"
#include "appliance/os/clock.h"
#include "appliance/os/file_system.h"
#include "appliance/service/environment.h"
#include "appliance/service/authorizer.h"
#include "appliance/service/service.h"
#include "services/objectstore/store_control.h"

namespace annex::schedule {
class Scheduler;
}

namespace annex::objectstore {

struct ObjectStoreOptions {
  // Root of the store's state, e.g. <data dir>/objectstore.
  std::string data_dir;
  os::FileSystem* fs = nullptr;  // defaults to the real filesystem
  os::Clock* clock = nullptr;    // defaults to the system clock
  // The region buckets are created in (GetBucketLocation, x-amz-bucket-region).
  std::string region = "us-east-1";
  // Host suffixes for virtual-hosted addressing: Host "b.<suffix>" names
  // bucket "b" (e.g. "s3.localhost", "localhost", "s3.example.com").
  std::vector<std::string> virtual_host_suffixes;
  // Hosts whose "<bucket>." subdomains are the buckets' static websites
  // ("s3-website.example"; website_endpoint.h). Empty: none.
  std::vector<std::string> website_host_suffixes;
  // Objects up to this size live inline in their LMDB record (no data file).
  size_t inline_threshold = 64 * 1024;
  // The platform's policy evaluation, asked for every request with the
  // bucket's policy (s3_call.h: AuthorizeS3); null (tests of the engine
  // alone): the owning account does everything, others what ACLs grant.
  const service::Authorizer* authorizer = nullptr;
  // The appliance's sealing key, kept off the data partition: it seals the
  // master key of SSE-S3 (key_ring.h). Empty: <data_dir>/keys/sealing.key,
  // beside the data it protects (tests only).
  std::string sealing_key_file;
  // New objects are SSE-S3 unless a request asks otherwise, as in S3; false
  // stores them in plaintext unless asked (benchmarks compare the two).
  bool encrypt_by_default = true;
  // Runs the buckets' lifecycle rules daily (lifecycle_runner.h); null: never.
  schedule::Scheduler* scheduler = nullptr;
  // Where a form upload's signed policy finds the signer's secret (the
  // SigV4 verifier's lookup); null: only unsigned or header-signed forms.
  const auth::CredentialLookup* credentials = nullptr;
};

// Opens (creating) the store under options.data_dir, removes temp files and
// data files no record references (leftovers of a crash), and returns the
// service. Fails if the directory or LMDB environment cannot be opened.
// With `control`, also returns the appliance's own handle on the store (the
// sync agent's inventory and commands), valid while the service lives.
Result<std::unique_ptr<service::Service>> NewObjectStoreService(const ObjectStoreOptions& options,
                                                                std::unique_ptr<StoreControl>* control = nullptr);

// The Host suffixes of virtual-hosted buckets for `domain`: bucket.s3.<domain>,
// bucket.s3.<region>.<domain> and bucket.<domain>, as S3's endpoints.
std::vector<std::string> VirtualHostSuffixes(std::string_view domain, std::string_view region);

// The object store as a platform module: the service on
// <environment.data_dir> with the environment's clock, filesystem, region and
// domains (virtual-hosted buckets), and its control (buckets as resources,
// bucket commands as the appliance root, totals as gauges).
Result<service::Module> NewModule(const service::Environment& env);

}  // namespace annex::objectstore
