#include "appliance/core/co_status.h"

#include "services/objectstore/data_writer.h"
#include "services/objectstore/sealed_data.h"

#include <algorithm>


namespace annex::objectstore {

DataWriter::DataWriter(DataFiles& files, os::BlockingPool& pool, size_t inline_threshold,
                       std::optional<crypto::ChecksumAlgorithm> checksum, std::string data_key)
    : files_(files), pool_(pool), inline_threshold_(inline_threshold), md5_(crypto::HashKind::kMd5),
      data_key_(std::move(data_key)) {
  if (checksum) checksum_ = crypto::Checksummer::Create(*checksum);
  if (!data_key_.empty()) gcm_ = std::make_unique<crypto::Aes256Gcm>();
}

// Encrypted buffers hold whole plaintext chunks, so that a full one seals
// to exactly kBufferSize bytes (aligned for direct I/O).
size_t DataWriter::buffer_limit() const {
  return gcm_ ? kBufferSize / kSealedChunk * kPlainChunk : kBufferSize;
}

Result<std::string_view> DataWriter::Stored() {
  if (!gcm_) return buffer_.view();
  sealed_.reserve(SealedSize(buffer_limit()));
  ANNEX_RETURN_IF_ERROR(SealChunks(*gcm_, data_key_, next_chunk_, buffer_.view(), sealed_.mutable_data()));
  sealed_.resize(SealedSize(buffer_.size()));
  next_chunk_ += (buffer_.size() + kPlainChunk - 1) / kPlainChunk;
  return sealed_.view();
}

DataWriter::~DataWriter() {
  if (temp_) files_.Discard(*temp_);
}

Status DataWriter::FlushBlocking() {
  if (!temp_) {
    ANNEX_ASSIGN_OR_RETURN(DataFiles::TempFile f, files_.CreateTemp());
    temp_ = std::move(f);
  }
  md5_.Update(buffer_.view());
  if (checksum_) checksum_->Update(buffer_.view());
  ANNEX_ASSIGN_OR_RETURN(std::string_view stored, Stored());
  Status s = temp_->file->Append(stored);
  buffer_.clear();
  return s;
}

http::Task<Status> DataWriter::Flush() {
  if (buffer_.empty() && temp_) co_return Status::OK();
  // Hashing and writing happen off the io threads, one buffer at a time.
  co_return co_await pool_.Run([this] { return FlushBlocking(); });
}

http::Task<Status> DataWriter::Append(std::string_view data) {
  size_ += data.size();
  while (!data.empty()) {
    // Stay in memory while the object may still be stored inline.
    size_t limit = (!temp_ && size_ <= inline_threshold_) ? inline_threshold_ : buffer_limit();
    buffer_.reserve(limit);
    size_t room = limit > buffer_.size() ? limit - buffer_.size() : 0;
    if (room == 0) {
      ANNEX_CO_RETURN_IF_ERROR(co_await Flush());
      continue;
    }
    size_t n = std::min(room, data.size());
    buffer_.append(data.substr(0, n));
    data.remove_prefix(n);
  }
  co_return Status::OK();
}

http::Task<Result<WrittenData>> DataWriter::Finish(Verifier verify) {
  WrittenData out;
  out.size = size_;
  bool inline_data = !temp_ && size_ <= inline_threshold_ && inline_threshold_ > 0;
  if (inline_data) {
    md5_.Update(buffer_.view());
    if (checksum_) checksum_->Update(buffer_.view());
    ANNEX_CO_ASSIGN_OR_RETURN(std::string_view stored, Stored());
    out.inline_data.assign(stored);
  } else {
    ANNEX_CO_RETURN_IF_ERROR(co_await Flush());
  }
  out.md5 = md5_.Final();
  if (checksum_) out.checksum = crypto::ChecksumBase64(*checksum_);
  if (verify) ANNEX_CO_RETURN_IF_ERROR(verify(out));  // the destructor discards the temp file
  if (!inline_data) {
    Status s = co_await pool_.Run([this] { return files_.Publish(*temp_); });
    std::string id = temp_->id;
    temp_.reset();  // published, or removed by Publish
    ANNEX_CO_RETURN_IF_ERROR(s);
    out.file_id = std::move(id);
  }
  co_return out;
}

}  // namespace annex::objectstore
