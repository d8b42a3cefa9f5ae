#include "services/objectstore/form_data_parser.h"

#include <algorithm>
#include <cstring>

#include "appliance/core/strings.h"
#include "appliance/http/api_error.h"

namespace annex::objectstore {
namespace {

// One `name=value` or `name="quoted \" value"` parameter of a header value,
// starting at `pos` (after a ';'); advances `pos` past it.
std::pair<std::string, std::string> NextParameter(std::string_view v, size_t& pos) {
  auto skip_space = [&] {
    while (pos < v.size() && (v[pos] == ' ' || v[pos] == '\t')) ++pos;
  };
  skip_space();
  size_t name_start = pos;
  while (pos < v.size() && v[pos] != '=' && v[pos] != ';') ++pos;
  std::string name = ToLower(Trim(v.substr(name_start, pos - name_start)));
  std::string value;
  if (pos < v.size() && v[pos] == '=') {
    ++pos;
    skip_space();
    if (pos < v.size() && v[pos] == '"') {
      // Browsers send a backslash as it is (and '"' as %22); other clients
      // escape '"' and '\\' with a backslash. Both read right this way.
      for (++pos; pos < v.size() && v[pos] != '"'; ++pos) {
        if (v[pos] == '\\' && pos + 1 < v.size() && (v[pos + 1] == '"' || v[pos + 1] == '\\')) ++pos;
        value.push_back(v[pos]);
      }
      if (pos < v.size()) ++pos;  // the closing quote
      while (pos < v.size() && v[pos] != ';') ++pos;
    } else {
      size_t start = pos;
      while (pos < v.size() && v[pos] != ';') ++pos;
      value = std::string(Trim(v.substr(start, pos - start)));
    }
  }
  if (pos < v.size() && v[pos] == ';') ++pos;
  return {std::move(name), std::move(value)};
}

// Content-Disposition: form-data; name="..."[; filename="..."].
Status ParseDisposition(std::string_view value, FormPartHead& head) {
  size_t semicolon = value.find(';');
  if (!EqualsIgnoreCase(Trim(value.substr(0, semicolon)), "form-data")) return MalformedPostRequest();
  bool named = false;
  size_t pos = semicolon == std::string_view::npos ? value.size() : semicolon + 1;
  while (pos < value.size()) {
    auto [name, v] = NextParameter(value, pos);
    if (name == "name") {
      head.name = std::move(v);
      named = true;
    } else if (name == "filename") {
      head.filename = std::move(v);
    }
  }
  // A part S3 cannot name is not a form field.
  return named && !head.name.empty() ? Status::OK() : MalformedPostRequest();
}

}  // namespace

Status MalformedPostRequest() {
  return http::ApiStatus("MalformedPOSTRequest",
                         "The body of your POST request is not well-formed multipart/form-data.");
}

FormContentType ParseFormContentType(std::string_view content_type) {
  FormContentType result;
  size_t semicolon = content_type.find(';');
  result.is_form_data = EqualsIgnoreCase(Trim(content_type.substr(0, semicolon)), "multipart/form-data");
  if (!result.is_form_data || semicolon == std::string_view::npos) return result;
  size_t pos = semicolon + 1;
  while (pos < content_type.size()) {
    auto [name, value] = NextParameter(content_type, pos);
    if (name == "boundary" && value.size() <= FormDataParser::kMaxBoundary) result.boundary = std::move(value);
  }
  return result;
}

FormDataParser::FormDataParser(std::string_view boundary, size_t buffer_size)
    : delimiter_("\r\n--" + std::string(boundary)),
      buffer_(std::max(buffer_size, kMaxPartHead + delimiter_.size() + 16)) {}

std::span<char> FormDataParser::Space() {
  data_ = {};
  if (begin_ > 0) {
    std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  return {buffer_.data() + end_, buffer_.size() - end_};
}

void FormDataParser::Commit(size_t n) { end_ += std::min(n, buffer_.size() - end_); }

Result<FormDataParser::Event> FormDataParser::Next() {
  data_ = {};
  switch (state_) {
    case State::kPreamble:
      return FindFirstDelimiter();
    case State::kAfterDelimiter:
      return AfterDelimiter();
    case State::kHead:
      return ParseHead();
    case State::kContent:
      return Content();
    case State::kDone:
      return Event::kEnd;
  }
  return MalformedPostRequest();  // unreachable: every state is handled
}

// The first delimiter may open the body, without the CRLF before it.
Result<FormDataParser::Event> FormDataParser::FindFirstDelimiter() {
  std::string_view dash_boundary = std::string_view(delimiter_).substr(2);
  std::string_view pending = Pending();
  if (!in_preamble_) {
    if (pending.size() < dash_boundary.size() && StartsWith(dash_boundary, pending) && !ended_) {
      return Event::kNeedMore;
    }
    if (StartsWith(pending, dash_boundary)) {
      Consume(dash_boundary.size());
      state_ = State::kAfterDelimiter;
      return AfterDelimiter();
    }
    in_preamble_ = true;
  }
  size_t at = pending.find(delimiter_);
  if (at != std::string_view::npos) {
    Consume(at + delimiter_.size());
    state_ = State::kAfterDelimiter;
    return AfterDelimiter();
  }
  // Keep what could be the start of the delimiter; drop the rest.
  size_t dropped = pending.size() - std::min(pending.size(), delimiter_.size() - 1);
  preamble_size_ += dropped;
  Consume(dropped);
  if (ended_ || preamble_size_ > kMaxPreamble) return MalformedPostRequest();
  return Event::kNeedMore;
}

// After "--boundary": "--" closes the body; otherwise optional white space
// and CRLF start the next part's head.
Result<FormDataParser::Event> FormDataParser::AfterDelimiter() {
  std::string_view pending = Pending();
  size_t i = 0;
  if (pending.size() >= 2 && pending.substr(0, 2) == "--") {
    Consume(2);
    state_ = State::kDone;
    return Event::kEnd;
  }
  while (i < pending.size() && (pending[i] == ' ' || pending[i] == '\t')) ++i;
  if (i + 2 <= pending.size()) {
    if (pending.substr(i, 2) != "\r\n") return MalformedPostRequest();
    Consume(i + 2);
    state_ = State::kHead;
    return ParseHead();
  }
  if (ended_ || i > kMaxPartHead) return MalformedPostRequest();
  return Event::kNeedMore;
}

Result<FormDataParser::Event> FormDataParser::ParseHead() {
  std::string_view pending = Pending();
  size_t end = StartsWith(pending, "\r\n") ? 0 : pending.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    if (ended_ || pending.size() > kMaxPartHead) return MalformedPostRequest();
    return Event::kNeedMore;
  }
  if (end > kMaxPartHead) return MalformedPostRequest();
  head_ = FormPartHead{};
  bool disposition = false;
  std::string_view block = pending.substr(0, end);
  size_t pos = 0;
  while (pos < block.size()) {
    size_t eol = block.find("\r\n", pos);
    if (eol == std::string_view::npos) eol = block.size();
    std::string_view line = block.substr(pos, eol - pos);
    pos = eol + 2;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return MalformedPostRequest();
    std::string_view name = Trim(line.substr(0, colon));
    std::string_view value = Trim(line.substr(colon + 1));
    if (EqualsIgnoreCase(name, "content-disposition")) {
      if (disposition) return MalformedPostRequest();
      ANNEX_RETURN_IF_ERROR(ParseDisposition(value, head_));
      disposition = true;
    } else if (EqualsIgnoreCase(name, "content-type")) {
      head_.content_type = std::string(value);
    }
  }
  if (!disposition) return MalformedPostRequest();
  Consume(end + (end == 0 ? 2 : 4));
  state_ = State::kContent;
  return Event::kPartBegin;
}

// Content runs to the next delimiter. What might be its beginning stays in
// the buffer until more of the body shows whether it is.
Result<FormDataParser::Event> FormDataParser::Content() {
  std::string_view pending = Pending();
  size_t at = pending.find(delimiter_);
  if (at == std::string_view::npos && ended_) return MalformedPostRequest();
  if (at == 0) {
    Consume(delimiter_.size());
    state_ = State::kAfterDelimiter;
    return Event::kPartEnd;
  }
  size_t ready = at != std::string_view::npos ? at : pending.size() - std::min(pending.size(), delimiter_.size() - 1);
  if (at == std::string_view::npos) {
    // Only a tail that matches the start of the delimiter needs holding back.
    size_t tail = pending.size() - ready;
    while (tail > 0 && std::string_view(delimiter_).substr(0, tail) != pending.substr(pending.size() - tail)) {
      --tail;
    }
    ready = pending.size() - tail;
  }
  if (ready == 0) return Event::kNeedMore;
  data_ = pending.substr(0, ready);
  Consume(ready);
  return Event::kData;
}

}  // namespace annex::objectstore
