#include "services/objectstore/object_store_service.h"
#include "services/objectstore/s3_errors.h"

#include "appliance/core/co_status.h"
#include "appliance/core/log.h"
#include "appliance/core/strings.h"
#include "appliance/http/api_error.h"
#include "appliance/iam/identity_store.h"
#include "services/objectstore/bucket_name.h"
#include "services/objectstore/cors.h"
#include "services/objectstore/cors_response_writer.h"
#include "services/objectstore/handlers.h"
#include "services/objectstore/lifecycle_runner.h"
#include "services/objectstore/s3_router.h"
#include "services/objectstore/website_endpoint.h"

namespace annex::objectstore {
namespace {

http::Task<Status> Dispatch(S3Op op, S3Call& call) {
  switch (op) {
    case S3Op::kListBuckets: return ListBuckets(call);
    case S3Op::kCreateBucket: return CreateBucket(call);
    case S3Op::kHeadBucket: return HeadBucket(call);
    case S3Op::kDeleteBucket: return DeleteBucket(call);
    case S3Op::kGetBucketLocation: return GetBucketLocation(call);
    case S3Op::kGetBucketVersioning: return GetBucketVersioning(call);
    case S3Op::kPutBucketVersioning: return PutBucketVersioning(call);
    case S3Op::kGetBucketAcl: return GetBucketAcl(call);
    case S3Op::kPutBucketAcl: return PutBucketAcl(call);
    case S3Op::kGetBucketCors: return GetBucketCors(call);
    case S3Op::kPutBucketCors: return PutBucketCors(call);
    case S3Op::kDeleteBucketCors: return DeleteBucketCors(call);
    case S3Op::kGetBucketPolicy: return GetBucketPolicy(call);
    case S3Op::kPutBucketPolicy: return PutBucketPolicy(call);
    case S3Op::kDeleteBucketPolicy: return DeleteBucketPolicy(call);
    case S3Op::kGetBucketPolicyStatus: return GetBucketPolicyStatus(call);
    case S3Op::kGetPublicAccessBlock: return GetPublicAccessBlock(call);
    case S3Op::kPutPublicAccessBlock: return PutPublicAccessBlock(call);
    case S3Op::kDeletePublicAccessBlock: return DeletePublicAccessBlock(call);
    case S3Op::kListObjects: return ListObjects(call, /*v2=*/false);
    case S3Op::kListObjectsV2: return ListObjects(call, /*v2=*/true);
    case S3Op::kListObjectVersions: return ListObjectVersions(call);
    case S3Op::kListMultipartUploads: return ListMultipartUploads(call);
    case S3Op::kDeleteObjects: return DeleteObjects(call);
    case S3Op::kPutObject: return PutObject(call);
    case S3Op::kCopyObject: return CopyObject(call);
    case S3Op::kGetObject: return GetObject(call, /*head=*/false);
    case S3Op::kHeadObject: return GetObject(call, /*head=*/true);
    case S3Op::kDeleteObject: return DeleteObject(call);
    case S3Op::kGetObjectAcl: return GetObjectAcl(call);
    case S3Op::kPutObjectAcl: return PutObjectAcl(call);
    case S3Op::kCreateMultipartUpload: return CreateMultipartUpload(call);
    case S3Op::kUploadPart: return UploadPart(call, /*copy=*/false);
    case S3Op::kUploadPartCopy: return UploadPart(call, /*copy=*/true);
    case S3Op::kCompleteMultipartUpload: return CompleteMultipartUpload(call);
    case S3Op::kAbortMultipartUpload: return AbortMultipartUpload(call);
    case S3Op::kListParts: return ListParts(call);
    case S3Op::kGetObjectAttributes: return GetObjectAttributes(call);
    case S3Op::kCorsPreflight: return CorsPreflight(call);
    case S3Op::kGetBucketConfigNotSet: return GetBucketConfigNotSet(call);
    case S3Op::kPutObjectTagging: return PutObjectTagging(call);
    case S3Op::kDeleteObjectTagging: return DeleteObjectTagging(call);
    case S3Op::kGetBucketTagging: return GetBucketTagging(call);
    case S3Op::kPutBucketTagging: return PutBucketTagging(call);
    case S3Op::kDeleteBucketTagging: return DeleteBucketTagging(call);
    case S3Op::kGetObjectTagging: return GetObjectTagging(call);
    case S3Op::kGetBucketEncryption: return GetBucketEncryption(call);
    case S3Op::kPutBucketEncryption: return PutBucketEncryption(call);
    case S3Op::kDeleteBucketEncryption: return DeleteBucketEncryption(call);
    case S3Op::kGetBucketLifecycle: return GetBucketLifecycle(call);
    case S3Op::kPutBucketLifecycle: return PutBucketLifecycle(call);
    case S3Op::kDeleteBucketLifecycle: return DeleteBucketLifecycle(call);
    case S3Op::kPostObject: return PostObject(call);
    case S3Op::kGetBucketOwnershipControls: return GetBucketOwnershipControls(call);
    case S3Op::kPutBucketOwnershipControls: return PutBucketOwnershipControls(call);
    case S3Op::kDeleteBucketOwnershipControls: return DeleteBucketOwnershipControls(call);
    case S3Op::kGetBucketWebsite: return GetBucketWebsite(call);
    case S3Op::kPutBucketWebsite: return PutBucketWebsite(call);
    case S3Op::kDeleteBucketWebsite: return DeleteBucketWebsite(call);
    case S3Op::kGetObjectLockConfiguration: return GetObjectLockConfiguration(call);
    case S3Op::kPutObjectLockConfiguration: return PutObjectLockConfiguration(call);
    case S3Op::kGetObjectRetention: return GetObjectRetention(call);
    case S3Op::kPutObjectRetention: return PutObjectRetention(call);
    case S3Op::kGetObjectLegalHold: return GetObjectLegalHold(call);
    case S3Op::kPutObjectLegalHold: return PutObjectLegalHold(call);
  }
  return ListBuckets(call);  // unreachable: every enumerator is handled
}

class ObjectStoreService final : public service::Service {
 public:
  explicit ObjectStoreService(std::shared_ptr<ObjectStore> store) : store_(std::move(store)) {}
  ~ObjectStoreService() override { store_->Stop(); }

  // Path- and virtual-host-style S3; it takes every request no other service
  // claims, since anonymous GETs of public objects carry no hint at all.
  const service::Descriptor& descriptor() const override {
    static const service::Descriptor d = [] {
      service::Descriptor d;
      d.name = "s3";
      d.signing_names = {"s3"};
      d.catch_all = true;
      d.protocol = service::Protocol::kRestXml;
      d.auth = service::AuthMode::kSigV4OrAnonymous;
      d.accepts_sigv2 = true;
      d.errors.assign(kS3Errors.begin(), kS3Errors.end());
      return d;
    }();
    return d;
  }

  http::Task<Status> Handle(service::RequestContext& ctx) override {
    if (auto website = WebsiteBucket(ctx.request, store_->options().website_host_suffixes)) {
      ctx.operation = "WebsiteGet";
      co_return co_await ServeWebsite(ctx, *store_, std::move(*website));
    }
    S3Address address = ResolveAddress(ctx.request, store_->options().virtual_host_suffixes);
    ANNEX_CO_ASSIGN_OR_RETURN(S3Op op, RouteS3(ctx.request, !address.bucket.empty(), !address.key.empty()));
    ctx.operation = std::string(S3OpName(op));
    // Names that could never have been created name no bucket (and must not
    // reach LMDB, whose keys are bounded).
    if (op != S3Op::kCreateBucket && op != S3Op::kCorsPreflight && !address.bucket.empty() &&
        !ValidateBucketName(address.bucket).ok()) {
      co_return NoSuchBucket();
    }
    const std::string* origin = ctx.request.headers.Get("origin");
    if (origin && op != S3Op::kCorsPreflight && !address.bucket.empty()) {
      co_return co_await HandleCrossOrigin(ctx, std::move(address), op, *origin);
    }
    S3Call call{ctx, *store_, std::move(address), op};
    co_return co_await Dispatch(op, call);
  }

  void AppendMetrics(std::string& out) const override {
    out += "# HELP annex_objectstore_objects Objects stored.\n# TYPE annex_objectstore_objects gauge\n";
    out += "annex_objectstore_objects " + std::to_string(store_->meta().object_count()) + "\n";
    out += "# HELP annex_objectstore_bytes Bytes of object data stored.\n# TYPE annex_objectstore_bytes gauge\n";
    out += "annex_objectstore_bytes " + std::to_string(store_->meta().byte_count()) + "\n";
  }

  void Stop() override { store_->Stop(); }

 private:
  // An actual (non-preflight) cross-origin request: answer as usual, adding
  // the Access-Control-* headers of the first matching CORS rule.
  http::Task<Status> HandleCrossOrigin(service::RequestContext& ctx, S3Address address, S3Op op,
                                       std::string origin) {
    http::Headers cors;
    {
      ANNEX_CO_ASSIGN_OR_RETURN(store::ReadTxn txn, store_->meta().BeginRead());
      ANNEX_CO_ASSIGN_OR_RETURN(auto bucket, GetBucket(txn, store_->meta().tables(), address.bucket));
      if (bucket) {
        if (const CorsRule* rule = MatchCorsRule(bucket->cors, origin, ctx.request.method, {})) {
          AddCorsHeaders(*rule, origin, /*preflight=*/false, "", cors);
        }
      }
    }
    CorsResponseWriter writer(ctx.response, std::move(cors));
    service::RequestContext inner{ctx.request, writer,    ctx.body,     ctx.trailers,  ctx.principal, ctx.region,
                                  ctx.clock,   ctx.blocking, ctx.operation, /*bytes_in=*/0, /*bytes_out=*/0};
    S3Call call{inner, *store_, std::move(address), op};
    Status s = co_await Dispatch(op, call);
    ctx.bytes_in = inner.bytes_in;
    ctx.bytes_out = inner.bytes_out;
    co_return s;
  }

  std::shared_ptr<ObjectStore> store_;  // shared with the lifecycle runner's weak reference
};

}  // namespace

Result<std::unique_ptr<service::Service>> NewObjectStoreService(const ObjectStoreOptions& options,
                                                                std::unique_ptr<StoreControl>* control) {
  ANNEX_ASSIGN_OR_RETURN(std::shared_ptr<ObjectStore> store, ObjectStore::Open(options));
  if (control) *control = NewStoreControl(*store);
  if (options.scheduler) ANNEX_RETURN_IF_ERROR(RegisterLifecycleSchedule(*options.scheduler, store));
  return std::unique_ptr<service::Service>(std::make_unique<ObjectStoreService>(std::move(store)));
}

std::vector<std::string> VirtualHostSuffixes(std::string_view domain, std::string_view region) {
  std::string d(domain);
  return {"s3." + d, "s3." + std::string(region) + "." + d, d};
}

Result<service::Module> NewModule(const service::Environment& env) {
  ObjectStoreOptions options;
  options.data_dir = env.data_dir;
  options.fs = env.fs;
  options.clock = env.clock;
  options.region = env.region;
  options.virtual_host_suffixes = VirtualHostSuffixes(env.domain, env.region);
  options.website_host_suffixes = WebsiteHostSuffixes(env.domain, env.region);
  options.authorizer = env.authorizer;
  options.scheduler = env.scheduler;
  options.sealing_key_file = env.sealing_key_file;
  options.encrypt_by_default = !env.plaintext_objects;
  options.credentials = env.identities;
  std::unique_ptr<StoreControl> store;
  service::Module module;
  ANNEX_ASSIGN_OR_RETURN(module.service, NewObjectStoreService(options, &store));
  module.control = NewBucketControl(std::move(store), env.root_account_id);
  return module;
}

}  // namespace annex::objectstore
