#include "appliance/supervisor/output_forwarder.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <set>

#include "appliance/core/log.h"
#include "appliance/os/file_system.h"
#include "appliance/supervisor/supervisor.h"

namespace annex::supervisor {
namespace {

constexpr const char* kOffsetsFile = "forwarded";

// True when `path` exists and holds fewer than `offset` bytes.
bool Shorter(const std::string& path, uint64_t offset) {
  struct stat st;
  return !path.empty() && ::stat(path.c_str(), &st) == 0 && static_cast<uint64_t>(st.st_size) < offset;
}

struct Chunk {
  std::vector<OutputLine> lines;
  uint64_t next = 0;  // the offset after the last byte consumed
};

// Reads from `offset` of `path` and cuts complete lines (all of it when `ended`).
Result<Chunk> ReadLines(const std::string& path, uint64_t offset, bool ended, const OutputForwarder::Options& o,
                        int64_t now_ms) {
  Chunk chunk;
  chunk.next = offset;
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && static_cast<uint64_t>(st.st_size) <= offset) return chunk;  // nothing new
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return chunk;  // nothing written yet, or removed meanwhile
    return Status::FromErrno(errno, "open " + path);
  }
  std::string buf(o.max_batch_bytes, '\0');
  ssize_t n;
  do {
    n = ::pread(fd, buf.data(), buf.size(), static_cast<off_t>(offset));
  } while (n < 0 && errno == EINTR);
  int e = errno;
  ::close(fd);
  if (n < 0) return Status::FromErrno(e, "read " + path);
  std::string_view data(buf.data(), static_cast<size_t>(n));
  size_t at = 0;
  while (at < data.size()) {
    size_t nl = data.find('\n', at);
    size_t end = nl == std::string_view::npos ? data.size() : nl;
    if (end - at > o.max_line_bytes) end = at + o.max_line_bytes;  // an overlong line goes in pieces
    else if (nl == std::string_view::npos && !ended && data.size() < o.max_batch_bytes) break;  // wait for its end
    std::string_view line = data.substr(at, end - at);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!line.empty()) chunk.lines.push_back({now_ms, std::string(line)});  // CloudWatch takes no empty events
    at = end < data.size() && data[end] == '\n' ? end + 1 : end;
  }
  chunk.next = offset + at;
  return chunk;
}

}  // namespace

OutputForwarder::OutputForwarder(Supervisor& supervisor, OutputSink& sink, Options options)
    : supervisor_(supervisor),
      sink_(sink),
      options_(options),
      clock_(options.clock ? *options.clock : os::SystemClock()) {}

OutputForwarder::~OutputForwarder() { Stop(); }

void OutputForwarder::Start() {
  loop_.Start([this] {
    Status s = ForwardOnce();
    if (!s.ok()) log::Warn("workload output not forwarded yet", {{"error", s.ToString()}});
    return options_.interval;
  });
}

void OutputForwarder::Stop() { loop_.Stop(); }

Status OutputForwarder::ForwardOnce() {
  std::lock_guard lock(mu_);
  Status first;
  std::set<std::string> listed;
  for (const WorkloadState& w : supervisor_.List()) {
    if (w.spec.log.empty()) continue;
    listed.insert(w.id);
    Status s = ForwardWorkload(w.id);
    if (!s.ok() && first.ok()) first = Status(s.code(), w.id + ": " + s.message());
  }
  std::erase_if(offsets_, [&listed](const auto& entry) { return !listed.contains(entry.first); });
  return first;
}

Status OutputForwarder::ForwardWorkload(const std::string& id) {
  // Read the state first, then the files: a run that has ended has written
  // all it will, so its partial last line can go.
  std::optional<WorkloadState> w = supervisor_.Get(id);
  if (!w) return Status::OK();
  bool ended = w->phase != WorkloadPhase::kRunning && w->phase != WorkloadPhase::kStopping;
  const std::string offsets_path = os::JoinPath(w->state_dir, kOffsetsFile);
  auto known = offsets_.find(id);
  // First sight since annexd started, or files shorter than what was
  // forwarded (the workload was removed and started anew under its id; hole
  // punching keeps sizes): go on from what its state dir says.
  if (known == offsets_.end() || Shorter(w->stdout_path, known->second.out) ||
      Shorter(w->stderr_path, known->second.err)) {
    Offsets saved;
    if (auto text = os::ReadFileToString(os::PosixFileSystem(), offsets_path); text.ok()) {
      auto space = text->find(' ');
      if (space == std::string::npos) return Status::Corruption(offsets_path + " is damaged");
      std::from_chars(text->data(), text->data() + space, saved.out);
      std::from_chars(text->data() + space + 1, text->data() + text->size(), saved.err);
    }
    known = offsets_.insert_or_assign(id, saved).first;
  }
  const Offsets at = known->second;
  int64_t now =
      std::chrono::duration_cast<std::chrono::milliseconds>(clock_.Now().time_since_epoch()).count();
  Offsets next = at;
  std::vector<OutputLine> lines;
  for (auto [path, offset, moved] : {std::tuple{w->stdout_path, at.out, &next.out},
                                     std::tuple{w->stderr_path, at.err, &next.err}}) {
    if (path.empty()) continue;
    ANNEX_ASSIGN_OR_RETURN(Chunk chunk, ReadLines(path, offset, ended, options_, now));
    *moved = chunk.next;
    for (auto& line : chunk.lines) lines.push_back(std::move(line));
  }
  if (next.out == at.out && next.err == at.err) return Status::OK();
  if (!lines.empty()) ANNEX_RETURN_IF_ERROR(sink_.Append(w->spec.log, std::move(lines)));
  ANNEX_RETURN_IF_ERROR(os::WriteFileAtomic(os::PosixFileSystem(), offsets_path,
                                            std::to_string(next.out) + " " + std::to_string(next.err), 0600));
  known->second = next;
  // What is forwarded need not stay on disk: free it, offsets unchanged.
  for (auto [path, done] : {std::pair{w->stdout_path, next.out}, std::pair{w->stderr_path, next.err}}) {
    uint64_t block = done / 4096 * 4096;
    if (path.empty() || block < options_.free_after_bytes) continue;
    int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) continue;
    (void)::fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, static_cast<off_t>(block));
    ::close(fd);
  }
  return Status::OK();
}

}  // namespace annex::supervisor
