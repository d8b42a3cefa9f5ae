#include "appliance/cli/image_transfer.h"

#include <curl/curl.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>

#include "appliance/crypto/hash.h"

namespace annex::cli {
namespace {

using Clock = std::chrono::steady_clock;

std::string Human(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (bytes >= 1024 && u < 4) {
    bytes /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u ? "%.1f %s" : "%.0f %s", bytes, units[u]);
  return buf;
}

// bytes/total, percent and rate on stderr.
class Progress {
 public:
  explicit Progress(std::string label) : label_(std::move(label)), tty_(::isatty(2) == 1), start_(Clock::now()) {}

  void Update(uint64_t done, uint64_t total, bool final = false) {
    auto now = Clock::now();
    auto every = tty_ ? std::chrono::milliseconds(200) : std::chrono::milliseconds(5000);
    if (!final && (now - last_ < every || done == 0)) return;
    last_ = now;
    double secs = std::chrono::duration<double>(now - start_).count();
    std::string line = label_ + "  " + Human(double(done));
    if (total > 0) {
      int pct = static_cast<int>(100.0 * double(done) / double(total));
      line += " / " + Human(double(total)) + "  " + std::to_string(pct) + "%";
      if (tty_) {
        int filled = pct / 5;
        line = label_ + " [" + std::string(filled, '#') + std::string(20 - filled, '-') + "]" + line.substr(label_.size());
      }
    }
    if (secs > 0) line += "  " + Human(double(done) / secs) + "/s";
    if (tty_) std::fprintf(stderr, "\r%-90s%s", line.c_str(), final ? "\n" : "");
    else std::fprintf(stderr, "%s\n", line.c_str());
    std::fflush(stderr);
  }

 private:
  std::string label_;
  bool tty_;
  Clock::time_point start_, last_;
};

struct Transfer {
  CURL* curl = curl_easy_init();
  curl_slist* headers = nullptr;
  std::string userpwd, sigv4, url;
  std::string error_body;  // a non-200 answer's body
  FILE* out = nullptr;     // exports: where a 200's body goes
  Progress* progress = nullptr;
  bool upload = false;
  bool noted_import = false;

  ~Transfer() {
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
  }
};

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  long status = 0;
  curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
  if (status == 200 && t->out) return std::fwrite(data, size, n, t->out);
  if (t->error_body.size() < (1 << 20)) t->error_body.append(data, size * n);
  return size * n;
}

int OnProgress(void* user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow) {
  auto* t = static_cast<Transfer*>(user);
  if (t->upload) {
    if (ultotal > 0 && ulnow == ultotal && !t->noted_import) {
      t->progress->Update(uint64_t(ulnow), uint64_t(ultotal), true);
      std::fprintf(stderr, "uploaded; annexd is importing the images…\n");
      t->noted_import = true;
    } else if (!t->noted_import) {
      t->progress->Update(uint64_t(ulnow), uint64_t(ultotal));
    }
  } else {
    long status = 0;
    curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
    if (status == 200) t->progress->Update(uint64_t(dlnow), uint64_t(dltotal));
  }
  return 0;
}

void Prepare(Transfer& t, const TransferTarget& target, const std::string& path_and_query) {
  t.url = target.endpoint + path_and_query;
  curl_easy_setopt(t.curl, CURLOPT_URL, t.url.c_str());
  t.userpwd = target.access_key_id + ":" + target.secret_access_key;
  t.sigv4 = "aws:amz:" + target.region + ":ecr";
  curl_easy_setopt(t.curl, CURLOPT_USERPWD, t.userpwd.c_str());
  curl_easy_setopt(t.curl, CURLOPT_AWS_SIGV4, t.sigv4.c_str());
  if (!target.ca_bundle.empty()) curl_easy_setopt(t.curl, CURLOPT_CAINFO, target.ca_bundle.c_str());
  curl_easy_setopt(t.curl, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(t.curl, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(t.curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(t.curl, CURLOPT_XFERINFOFUNCTION, OnProgress);
  curl_easy_setopt(t.curl, CURLOPT_XFERINFODATA, &t);
}

int Fail(const std::string& message) {
  std::fprintf(stderr, "annexctl: %s\n", message.c_str());
  return 1;
}

std::string ErrorText(long status, const std::string& body) {
  auto err = nlohmann::json::parse(body, nullptr, false);
  std::string msg = err.is_object() && err.contains("message")
                        ? err.value("__type", "") + ": " + err.value("message", "")
                        : body;
  return "HTTP " + std::to_string(status) + ": " + msg;
}

// The file's sha256 (hex), read once before the upload so annexd can check the body against the signature.
bool HashFile(const std::string& file, uint64_t size, std::string* hex) {
  std::unique_ptr<FILE, int (*)(FILE*)> in(std::fopen(file.c_str(), "rb"), std::fclose);
  if (!in) return false;
  crypto::Hasher sha(crypto::HashKind::kSha256);
  Progress progress("checksum " + file);
  std::vector<char> buf(1 << 20);
  uint64_t done = 0;
  while (size_t n = std::fread(buf.data(), 1, buf.size(), in.get())) {
    sha.Update(std::string_view(buf.data(), n));
    progress.Update(done += n, size);
  }
  if (std::ferror(in.get())) return false;
  *hex = sha.FinalHex();
  return true;
}

}  // namespace

int ImportImage(const TransferTarget& target, const std::string& file, const std::string& repository) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return Fail(file + ": not a readable file");
  uint64_t size = static_cast<uint64_t>(st.st_size);
  std::string sha256;
  if (!HashFile(file, size, &sha256)) return Fail(file + ": cannot be read");
  std::unique_ptr<FILE, int (*)(FILE*)> in(std::fopen(file.c_str(), "rb"), std::fclose);
  if (!in) return Fail(file + ": cannot be read");

  Transfer t;
  std::string query;
  if (!repository.empty()) {
    char* escaped = curl_easy_escape(t.curl, repository.c_str(), static_cast<int>(repository.size()));
    query = std::string("?repository=") + escaped;
    curl_free(escaped);
  }
  Prepare(t, target, "/_annex/api/images/import" + query);
  Progress progress("import " + file);
  t.progress = &progress;
  t.upload = true;
  curl_easy_setopt(t.curl, CURLOPT_POST, 1L);
  curl_easy_setopt(t.curl, CURLOPT_READDATA, in.get());  // curl's default reader is fread
  curl_easy_setopt(t.curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(size));
  t.headers = curl_slist_append(t.headers, "Content-Type: application/x-tar");
  t.headers = curl_slist_append(t.headers, ("x-amz-content-sha256: " + sha256).c_str());
  t.headers = curl_slist_append(t.headers, "Expect:");
  curl_easy_setopt(t.curl, CURLOPT_HTTPHEADER, t.headers);
  CURLcode rc = curl_easy_perform(t.curl);
  long status = 0;
  curl_easy_getinfo(t.curl, CURLINFO_RESPONSE_CODE, &status);
  if (rc != CURLE_OK) return Fail("cannot reach " + target.endpoint + ": " + curl_easy_strerror(rc));
  if (status != 200) return Fail(ErrorText(status, t.error_body));
  auto answer = nlohmann::json::parse(t.error_body, nullptr, false);
  if (answer.is_object() && answer.contains("images") && answer["images"].is_array()) {
    for (const auto& i : answer["images"]) {
      std::fprintf(stderr, "imported %s:%s %s\n", i.value("repositoryName", "").c_str(), i.value("imageTag", "").c_str(),
                   i.value("imageDigest", "").c_str());
    }
  }
  std::cout << t.error_body << "\n";
  return 0;
}

int ExportImage(const TransferTarget& target, const std::string& image, const std::string& out) {
  std::string partial = out + ".partial";
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(partial.c_str(), "wb"), std::fclose);
  if (!file) return Fail(partial + ": cannot be written");
  Transfer t;
  char* escaped = curl_easy_escape(t.curl, image.c_str(), static_cast<int>(image.size()));
  Prepare(t, target, std::string("/_annex/api/images/export?image=") + escaped);
  curl_free(escaped);
  Progress progress("export " + image);
  t.progress = &progress;
  t.out = file.get();
  CURLcode rc = curl_easy_perform(t.curl);
  long status = 0;
  curl_easy_getinfo(t.curl, CURLINFO_RESPONSE_CODE, &status);
  curl_off_t got = 0;
  curl_easy_getinfo(t.curl, CURLINFO_SIZE_DOWNLOAD_T, &got);
  bool written = std::fflush(file.get()) == 0 && ::fsync(::fileno(file.get())) == 0;
  file.reset();
  if (rc != CURLE_OK || status != 200 || !written) {
    std::remove(partial.c_str());
    if (rc != CURLE_OK) return Fail("export failed: " + std::string(curl_easy_strerror(rc)));
    if (status != 200) return Fail(ErrorText(status, t.error_body));
    return Fail(partial + ": write failed");
  }
  progress.Update(uint64_t(got), uint64_t(got), true);
  if (std::rename(partial.c_str(), out.c_str()) != 0) return Fail("cannot rename " + partial + " to " + out);
  std::fprintf(stderr, "exported %s to %s (%s)\n", image.c_str(), out.c_str(), Human(double(got)).c_str());
  return 0;
}

}  // namespace annex::cli
