#include "appliance/logs/filter_pattern.h"

#include "appliance/core/strings.h"

#include <cctype>
#include <charconv>
#include <optional>
#include <cstdlib>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

namespace annex::logs {
namespace {

using Json = nlohmann::json;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

Status Invalid(std::string why) { return Status::InvalidArgument("Invalid filter pattern: " + why); }


std::optional<double> ParseNumber(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::string copy(s);
  char* end = nullptr;
  double v = std::strtod(copy.c_str(), &end);
  if (end != copy.c_str() + copy.size()) return std::nullopt;
  return v;
}

// ---- comparisons shared by JSON and space-delimited patterns

enum class Op { kEq, kNe, kLt, kGt, kLe, kGe };

struct Operand {
  std::string text;               // a string, possibly with `*`
  std::optional<double> number;   // set when the operand was written as a number
};

bool CompareNumbers(double a, Op op, double b) {
  switch (op) {
    case Op::kEq: return a == b;
    case Op::kNe: return a != b;
    case Op::kLt: return a < b;
    case Op::kGt: return a > b;
    case Op::kLe: return a <= b;
    case Op::kGe: return a >= b;
  }
  return false;
}

// A value as text (and a number when it is one) against an operand.
bool CompareValue(std::string_view text, std::optional<double> number, Op op, const Operand& want) {
  if (want.number) {
    if (!number) return op == Op::kNe;
    return CompareNumbers(*number, op, *want.number);
  }
  if (op == Op::kEq) return StarMatch(text, want.text);
  if (op == Op::kNe) return !StarMatch(text, want.text);
  return false;  // < > on strings: refused at parse time
}

// ---- tokens

struct Token {
  enum Kind { kWord, kString, kOp, kLParen, kRParen, kAnd, kOr, kComma, kEnd } kind = kEnd;
  std::string text;
};

class Lexer {
 public:
  explicit Lexer(std::string_view s) : s_(s) {}
  Result<Token> Next() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
    if (i_ >= s_.size()) return Token{Token::kEnd, ""};
    char c = s_[i_];
    auto two = s_.substr(i_, 2);
    if (two == "&&") return Take(2, Token::kAnd);
    if (two == "||") return Take(2, Token::kOr);
    if (two == "!=" || two == "<=" || two == ">=") return Take(2, Token::kOp);
    if (c == '=' || c == '<' || c == '>') return Take(1, Token::kOp);
    if (c == '(') return Take(1, Token::kLParen);
    if (c == ')') return Take(1, Token::kRParen);
    if (c == ',') return Take(1, Token::kComma);
    if (c == '"') {
      std::string out;
      for (++i_; i_ < s_.size() && s_[i_] != '"'; ++i_) {
        if (s_[i_] == '\\' && i_ + 1 < s_.size()) ++i_;
        out.push_back(s_[i_]);
      }
      if (i_ >= s_.size()) return Invalid("unterminated quoted string");
      ++i_;
      return Token{Token::kString, std::move(out)};
    }
    size_t start = i_;
    while (i_ < s_.size() && !std::isspace(static_cast<unsigned char>(s_[i_])) &&
           std::string_view("=<>!()&|,\"").find(s_[i_]) == std::string_view::npos) {
      ++i_;
    }
    if (i_ == start) return Invalid("unexpected '" + std::string(1, c) + "'");
    return Token{Token::kWord, std::string(s_.substr(start, i_ - start))};
  }

 private:
  Token Take(size_t n, Token::Kind k) {
    Token t{k, std::string(s_.substr(i_, n))};
    i_ += n;
    return t;
  }
  std::string_view s_;
  size_t i_ = 0;
};

Result<Op> ParseOp(const std::string& s) {
  if (s == "=") return Op::kEq;
  if (s == "!=") return Op::kNe;
  if (s == "<") return Op::kLt;
  if (s == ">") return Op::kGt;
  if (s == "<=") return Op::kLe;
  if (s == ">=") return Op::kGe;
  return Invalid("unknown operator " + s);
}

Result<Operand> MakeOperand(const Token& t, Op op) {
  Operand o;
  o.text = t.text;
  if (t.kind == Token::kWord) o.number = ParseNumber(t.text);
  if (t.kind != Token::kWord && t.kind != Token::kString) return Invalid("expected a value after the operator");
  if (!o.number && op != Op::kEq && op != Op::kNe) return Invalid("'" + t.text + "' is not a number");
  return o;
}

// ---- JSON patterns

using PathStep = std::variant<std::string, size_t>;

struct JsonExpr {
  enum Kind { kCompare, kIsNull, kIsTrue, kIsFalse, kNotExists, kExists, kAnd, kOr } kind = kCompare;
  std::vector<PathStep> path;
  Op op = Op::kEq;
  Operand operand;
  std::unique_ptr<JsonExpr> left, right;
};

Result<std::vector<PathStep>> ParseSelector(std::string_view s) {
  if (s.empty() || s[0] != '$') return Invalid("a JSON selector starts with $");
  std::vector<PathStep> path;
  size_t i = 1;
  while (i < s.size()) {
    if (s[i] == '.') {
      size_t start = ++i;
      while (i < s.size() && s[i] != '.' && s[i] != '[') ++i;
      if (i == start) return Invalid("empty name in selector " + std::string(s));
      path.emplace_back(std::string(s.substr(start, i - start)));
    } else if (s[i] == '[') {
      size_t close = s.find(']', i);
      if (close == std::string_view::npos) return Invalid("unclosed [ in selector " + std::string(s));
      size_t index = 0;
      auto digits = s.substr(i + 1, close - i - 1);
      auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), index);
      if (ec != std::errc() || p != digits.data() + digits.size()) return Invalid("bad array index in " + std::string(s));
      path.emplace_back(index);
      i = close + 1;
    } else {
      return Invalid("bad selector " + std::string(s));
    }
  }
  return path;
}

class JsonParser {
 public:
  explicit JsonParser(std::string_view body) : lexer_(body) {}
  Result<std::unique_ptr<JsonExpr>> Parse() {
    ANNEX_RETURN_IF_ERROR(Advance());
    ANNEX_ASSIGN_OR_RETURN(auto e, Or());
    if (tok_.kind != Token::kEnd) return Invalid("unexpected '" + tok_.text + "'");
    return e;
  }

 private:
  Status Advance() {
    ANNEX_ASSIGN_OR_RETURN(tok_, lexer_.Next());
    return Status::OK();
  }
  Result<std::unique_ptr<JsonExpr>> Binary(JsonExpr::Kind kind, std::unique_ptr<JsonExpr> l, std::unique_ptr<JsonExpr> r) {
    auto e = std::make_unique<JsonExpr>();
    e->kind = kind;
    e->left = std::move(l);
    e->right = std::move(r);
    return e;
  }
  Result<std::unique_ptr<JsonExpr>> Or() {
    ANNEX_ASSIGN_OR_RETURN(auto l, And());
    while (tok_.kind == Token::kOr) {
      ANNEX_RETURN_IF_ERROR(Advance());
      ANNEX_ASSIGN_OR_RETURN(auto r, And());
      ANNEX_ASSIGN_OR_RETURN(l, Binary(JsonExpr::kOr, std::move(l), std::move(r)));
    }
    return l;
  }
  Result<std::unique_ptr<JsonExpr>> And() {
    ANNEX_ASSIGN_OR_RETURN(auto l, Primary());
    while (tok_.kind == Token::kAnd) {
      ANNEX_RETURN_IF_ERROR(Advance());
      ANNEX_ASSIGN_OR_RETURN(auto r, Primary());
      ANNEX_ASSIGN_OR_RETURN(l, Binary(JsonExpr::kAnd, std::move(l), std::move(r)));
    }
    return l;
  }
  Result<std::unique_ptr<JsonExpr>> Primary() {
    if (tok_.kind == Token::kLParen) {
      ANNEX_RETURN_IF_ERROR(Advance());
      ANNEX_ASSIGN_OR_RETURN(auto e, Or());
      if (tok_.kind != Token::kRParen) return Invalid("missing )");
      ANNEX_RETURN_IF_ERROR(Advance());
      return e;
    }
    if (tok_.kind != Token::kWord) return Invalid("expected a $ selector");
    auto e = std::make_unique<JsonExpr>();
    ANNEX_ASSIGN_OR_RETURN(e->path, ParseSelector(tok_.text));
    ANNEX_RETURN_IF_ERROR(Advance());
    if (tok_.kind == Token::kWord && (tok_.text == "IS" || tok_.text == "NOT")) {
      bool is = tok_.text == "IS";
      ANNEX_RETURN_IF_ERROR(Advance());
      if (is && tok_.text == "NULL") e->kind = JsonExpr::kIsNull;
      else if (is && tok_.text == "TRUE") e->kind = JsonExpr::kIsTrue;
      else if (is && tok_.text == "FALSE") e->kind = JsonExpr::kIsFalse;
      else if (!is && tok_.text == "EXISTS") e->kind = JsonExpr::kNotExists;
      else return Invalid("unknown test '" + tok_.text + "'");
      ANNEX_RETURN_IF_ERROR(Advance());
      return e;
    }
    if (tok_.kind != Token::kOp) return Invalid("expected an operator after the selector");
    ANNEX_ASSIGN_OR_RETURN(e->op, ParseOp(tok_.text));
    ANNEX_RETURN_IF_ERROR(Advance());
    ANNEX_ASSIGN_OR_RETURN(e->operand, MakeOperand(tok_, e->op));
    ANNEX_RETURN_IF_ERROR(Advance());
    return e;
  }

  Lexer lexer_;
  Token tok_;
};

const Json* Select(const Json& doc, const std::vector<PathStep>& path) {
  const Json* at = &doc;
  for (const auto& step : path) {
    if (const auto* name = std::get_if<std::string>(&step)) {
      if (!at->is_object()) return nullptr;
      auto it = at->find(*name);
      if (it == at->end()) return nullptr;
      at = &*it;
    } else {
      size_t i = std::get<size_t>(step);
      if (!at->is_array() || i >= at->size()) return nullptr;
      at = &(*at)[i];
    }
  }
  return at;
}

bool Evaluate(const JsonExpr& e, const Json& doc) {
  switch (e.kind) {
    case JsonExpr::kAnd: return Evaluate(*e.left, doc) && Evaluate(*e.right, doc);
    case JsonExpr::kOr: return Evaluate(*e.left, doc) || Evaluate(*e.right, doc);
    default: break;
  }
  const Json* v = Select(doc, e.path);
  switch (e.kind) {
    case JsonExpr::kNotExists: return v == nullptr;
    case JsonExpr::kExists: return v != nullptr;
    case JsonExpr::kIsNull: return v && v->is_null();
    case JsonExpr::kIsTrue: return v && v->is_boolean() && v->get<bool>();
    case JsonExpr::kIsFalse: return v && v->is_boolean() && !v->get<bool>();
    default: break;
  }
  if (!v) return false;
  if (v->is_number()) return CompareValue(v->dump(), v->get<double>(), e.op, e.operand);
  if (v->is_string()) return CompareValue(v->get_ref<const std::string&>(), std::nullopt, e.op, e.operand);
  if (v->is_boolean()) return CompareValue(v->get<bool>() ? "true" : "false", std::nullopt, e.op, e.operand);
  return false;
}

// ---- space-delimited patterns

struct SpaceField {
  bool ellipsis = false;
  std::string name;
  std::optional<Op> op;
  Operand operand;
};

Result<std::vector<SpaceField>> ParseSpaceFields(std::string_view body) {
  Lexer lexer(body);
  std::vector<SpaceField> fields;
  ANNEX_ASSIGN_OR_RETURN(Token t, lexer.Next());
  while (t.kind != Token::kEnd) {
    if (t.kind != Token::kWord) return Invalid("expected a field name, got '" + t.text + "'");
    SpaceField f;
    f.ellipsis = t.text == "...";
    f.name = t.text;
    ANNEX_ASSIGN_OR_RETURN(t, lexer.Next());
    if (t.kind == Token::kOp) {
      if (f.ellipsis) return Invalid("... takes no condition");
      ANNEX_ASSIGN_OR_RETURN(f.op, ParseOp(t.text));
      ANNEX_ASSIGN_OR_RETURN(t, lexer.Next());
      ANNEX_ASSIGN_OR_RETURN(f.operand, MakeOperand(t, *f.op));
      ANNEX_ASSIGN_OR_RETURN(t, lexer.Next());
    }
    fields.push_back(std::move(f));
    if (t.kind == Token::kComma) {
      ANNEX_ASSIGN_OR_RETURN(t, lexer.Next());
    } else if (t.kind != Token::kEnd) {
      return Invalid("expected ',' between fields");
    }
  }
  if (fields.empty()) return Invalid("no fields between [ and ]");
  return fields;
}

// Splits a message on spaces; "…" and […] are single fields (without their delimiters).
std::vector<std::string_view> SplitFields(std::string_view m) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < m.size()) {
    if (m[i] == ' ') {
      ++i;
      continue;
    }
    char close = m[i] == '"' ? '"' : m[i] == '[' ? ']' : 0;
    if (close) {
      size_t end = m.find(close, i + 1);
      if (end != std::string_view::npos) {
        out.push_back(m.substr(i + 1, end - i - 1));
        i = end + 1;
        continue;
      }
    }
    size_t end = m.find(' ', i);
    if (end == std::string_view::npos) end = m.size();
    out.push_back(m.substr(i, end - i));
    i = end;
  }
  return out;
}

bool MatchFields(const std::vector<SpaceField>& fields, size_t f, const std::vector<std::string_view>& words, size_t w) {
  if (f == fields.size()) return w == words.size();
  const SpaceField& field = fields[f];
  if (field.ellipsis) {
    for (size_t k = w; k <= words.size(); ++k) {
      if (MatchFields(fields, f + 1, words, k)) return true;
    }
    return false;
  }
  if (w == words.size()) return false;
  if (field.op && !CompareValue(words[w], ParseNumber(words[w]), *field.op, field.operand)) return false;
  return MatchFields(fields, f + 1, words, w + 1);
}

// ---- term patterns

struct Terms {
  std::vector<std::string> required, excluded, optional;
};

Result<Terms> ParseTerms(std::string_view s) {
  Terms terms;
  size_t i = 0;
  while (i < s.size()) {
    if (std::isspace(static_cast<unsigned char>(s[i]))) {
      ++i;
      continue;
    }
    char sign = 0;
    if (s[i] == '-' || s[i] == '?') sign = s[i++];
    std::string term;
    if (i < s.size() && s[i] == '"') {
      size_t end = s.find('"', i + 1);
      if (end == std::string_view::npos) return Invalid("unterminated quoted term");
      term = std::string(s.substr(i + 1, end - i - 1));
      i = end + 1;
    } else {
      size_t end = i;
      while (end < s.size() && !std::isspace(static_cast<unsigned char>(s[end]))) ++end;
      term = std::string(s.substr(i, end - i));
      i = end;
    }
    if (term.empty()) {
      if (sign) return Invalid("'" + std::string(1, sign) + "' without a term");
      continue;  // "" alone: no constraint
    }
    (sign == '-' ? terms.excluded : sign == '?' ? terms.optional : terms.required).push_back(std::move(term));
  }
  return terms;
}

bool MatchTerms(const Terms& t, std::string_view m) {
  for (const auto& term : t.required) {
    if (m.find(term) == std::string_view::npos) return false;
  }
  for (const auto& term : t.excluded) {
    if (m.find(term) != std::string_view::npos) return false;
  }
  if (t.optional.empty()) return true;
  for (const auto& term : t.optional) {
    if (m.find(term) != std::string_view::npos) return true;
  }
  return false;
}

}  // namespace

struct FilterPattern::Impl {
  enum Kind { kAll, kTerms, kJson, kSpace } kind = kAll;
  Terms terms;
  std::unique_ptr<JsonExpr> json;
  std::vector<SpaceField> fields;
};

FilterPattern::FilterPattern(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
FilterPattern::FilterPattern(FilterPattern&&) noexcept = default;
FilterPattern& FilterPattern::operator=(FilterPattern&&) noexcept = default;
FilterPattern::~FilterPattern() = default;

Result<FilterPattern> FilterPattern::Parse(std::string_view pattern) {
  auto impl = std::make_unique<Impl>();
  std::string_view p = Trim(pattern);
  if (p.empty() || p == "\"\"") return FilterPattern(std::move(impl));
  if (p.front() == '{') {
    if (p.back() != '}') return Invalid("a JSON pattern ends with }");
    impl->kind = Impl::kJson;
    ANNEX_ASSIGN_OR_RETURN(impl->json, JsonParser(p.substr(1, p.size() - 2)).Parse());
  } else if (p.front() == '[') {
    if (p.back() != ']') return Invalid("a space-delimited pattern ends with ]");
    impl->kind = Impl::kSpace;
    ANNEX_ASSIGN_OR_RETURN(impl->fields, ParseSpaceFields(p.substr(1, p.size() - 2)));
  } else {
    impl->kind = Impl::kTerms;
    ANNEX_ASSIGN_OR_RETURN(impl->terms, ParseTerms(p));
    if (impl->terms.required.empty() && impl->terms.excluded.empty() && impl->terms.optional.empty()) {
      impl->kind = Impl::kAll;
    }
  }
  return FilterPattern(std::move(impl));
}

bool FilterPattern::matches_everything() const { return impl_->kind == Impl::kAll; }

bool FilterPattern::Matches(std::string_view message) const {
  switch (impl_->kind) {
    case Impl::kAll:
      return true;
    case Impl::kTerms:
      return MatchTerms(impl_->terms, message);
    case Impl::kSpace:
      return MatchFields(impl_->fields, 0, SplitFields(message), 0);
    case Impl::kJson: {
      std::string_view body = Trim(message);
      if (body.empty() || (body.front() != '{' && body.front() != '[')) return false;
      Json doc = Json::parse(body, nullptr, /*allow_exceptions=*/false);
      if (doc.is_discarded()) return false;
      return Evaluate(*impl_->json, doc);
    }
  }
  return false;
}

}  // namespace annex::logs
