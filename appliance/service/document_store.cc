#include "appliance/service/document_store.h"

#include <algorithm>
#include <cstdio>

namespace annex::service {
namespace {

Result<Json> Decode(std::string_view key, std::string_view value) {
  Json doc = Json::parse(value, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Status::Corruption("document store: undecodable document at " + std::string(key));
  return doc;
}

}  // namespace

std::string DocumentKey(std::initializer_list<std::string_view> parts) {
  std::string key;
  for (std::string_view p : parts) {
    if (!key.empty()) key += '/';
    key += p;
  }
  return key;
}

std::string RevisionKey(int64_t revision) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%010lld", static_cast<long long>(revision));
  return buf;
}

Result<std::unique_ptr<DocumentStore>> DocumentStore::Open(const std::string& dir, std::vector<DocumentKind> kinds) {
  ANNEX_ASSIGN_OR_RETURN(auto env, store::LmdbEnv::Open(dir));
  std::vector<store::Table> tables;
  for (const DocumentKind& k : kinds) {
    ANNEX_ASSIGN_OR_RETURN(store::Table t, env->OpenTable(k.table));
    tables.push_back(t);
  }
  ANNEX_ASSIGN_OR_RETURN(auto feed, ResourceFeed::Open(*env));
  return std::unique_ptr<DocumentStore>(
      new DocumentStore(std::move(env), std::move(kinds), std::move(tables), std::move(feed)));
}

Status DocumentStore::Write(store::WriteTxn& txn, Kind kind, std::string_view key, const Json* doc) {
  if (doc) {
    ANNEX_RETURN_IF_ERROR(txn.Put(table(kind), key, doc->dump()));
  } else {
    Status s = txn.Delete(table(kind), key);
    if (!s.ok() && s.code() != StatusCode::kNotFound) return s;
  }
  return feed_->Changed(txn, kinds_[kind].feed_kind, key, /*deleted=*/doc == nullptr);
}

Result<std::optional<Json>> DocumentStore::Get(Kind kind, std::string_view key) const {
  ANNEX_ASSIGN_OR_RETURN(store::ReadTxn txn, env_->BeginRead());
  return Get(txn, kind, key);
}

Result<std::optional<Json>> DocumentStore::Get(const store::ReadTxn& txn, Kind kind, std::string_view key) const {
  ANNEX_ASSIGN_OR_RETURN(auto value, txn.Get(table(kind), key));
  if (!value) return std::optional<Json>();
  ANNEX_ASSIGN_OR_RETURN(Json doc, Decode(key, *value));
  return std::optional<Json>(std::move(doc));
}

Result<std::vector<std::pair<std::string, Json>>> DocumentStore::Scan(Kind kind, std::string_view prefix,
                                                                 std::string_view after, size_t limit) const {
  std::vector<std::pair<std::string, Json>> out;
  ANNEX_ASSIGN_OR_RETURN(store::ReadTxn txn, env_->BeginRead());
  ANNEX_ASSIGN_OR_RETURN(store::Cursor c, txn.OpenCursor(table(kind)));
  // LMDB refuses an empty key to seek to: an empty prefix starts at the first.
  // From past `after`, never before the prefix (a token from elsewhere).
  std::string from = after.empty() ? std::string(prefix) : std::max(std::string(prefix), std::string(after) + '\0');
  Status s = from.empty() ? c.SeekFirst() : c.Seek(from);
  for (; s.ok() && c.Valid() && c.key().starts_with(prefix) && out.size() < limit; s = c.Next()) {
    ANNEX_ASSIGN_OR_RETURN(Json doc, Decode(c.key(), c.value()));
    out.emplace_back(std::string(c.key()), std::move(doc));
  }
  ANNEX_RETURN_IF_ERROR(s);
  return out;
}

Result<std::optional<std::pair<std::string, Json>>> DocumentStore::Last(Kind kind, std::string_view prefix) const {
  ANNEX_ASSIGN_OR_RETURN(store::ReadTxn txn, env_->BeginRead());
  ANNEX_ASSIGN_OR_RETURN(store::Cursor c, txn.OpenCursor(table(kind)));
  // Keys under the prefix end before prefix + 0xff (names are ASCII).
  ANNEX_RETURN_IF_ERROR(c.SeekBefore(std::string(prefix) + "\xff"));
  if (!c.Valid() || !c.key().starts_with(prefix)) return std::optional<std::pair<std::string, Json>>();
  ANNEX_ASSIGN_OR_RETURN(Json doc, Decode(c.key(), c.value()));
  return std::optional<std::pair<std::string, Json>>(std::make_pair(std::string(c.key()), std::move(doc)));
}

Status DocumentStore::Put(Kind kind, std::string_view key, const Json& doc) {
  ANNEX_ASSIGN_OR_RETURN(store::WriteTxn txn, env_->BeginWrite());
  ANNEX_RETURN_IF_ERROR(Write(txn, kind, key, &doc));
  return txn.Commit();
}

Status DocumentStore::PutAll(Kind kind, const std::vector<std::pair<std::string, Json>>& docs) {
  ANNEX_ASSIGN_OR_RETURN(store::WriteTxn txn, env_->BeginWrite());
  for (const auto& [key, doc] : docs) ANNEX_RETURN_IF_ERROR(Write(txn, kind, key, &doc));
  return txn.Commit();
}

Status DocumentStore::Delete(Kind kind, std::string_view key) {
  ANNEX_ASSIGN_OR_RETURN(store::WriteTxn txn, env_->BeginWrite());
  ANNEX_RETURN_IF_ERROR(Write(txn, kind, key, nullptr));
  return txn.Commit();
}

Result<std::optional<Json>> DocumentStore::Update(Kind kind, std::string_view key,
                                             const std::function<Status(std::optional<Json>&)>& change) {
  ANNEX_ASSIGN_OR_RETURN(store::WriteTxn txn, env_->BeginWrite());
  ANNEX_ASSIGN_OR_RETURN(auto value, txn.Get(table(kind), key));
  std::optional<Json> doc;
  if (value) {
    ANNEX_ASSIGN_OR_RETURN(Json current, Decode(key, *value));
    doc = std::move(current);
  }
  bool existed = doc.has_value();
  ANNEX_RETURN_IF_ERROR(change(doc));
  if (doc || existed) ANNEX_RETURN_IF_ERROR(Write(txn, kind, key, doc ? &*doc : nullptr));
  ANNEX_RETURN_IF_ERROR(txn.Commit());
  return doc;
}

Result<Json> DocumentStore::AppendRevision(Kind kind, std::string_view family_prefix,
                                           const std::function<Result<Json>(int64_t)>& make) {
  ANNEX_ASSIGN_OR_RETURN(store::WriteTxn txn, env_->BeginWrite());
  int64_t last = 0;
  {
    ANNEX_ASSIGN_OR_RETURN(store::Cursor c, txn.OpenCursor(table(kind)));
    ANNEX_RETURN_IF_ERROR(c.SeekBefore(std::string(family_prefix) + "\xff"));
    if (c.Valid() && c.key().starts_with(family_prefix)) {
      last = std::strtoll(std::string(c.key().substr(family_prefix.size())).c_str(), nullptr, 10);
    }
  }  // the cursor closes before the commit
  ANNEX_ASSIGN_OR_RETURN(Json doc, make(last + 1));
  ANNEX_RETURN_IF_ERROR(
      Write(txn, kind, std::string(family_prefix) + RevisionKey(last + 1), &doc));
  ANNEX_RETURN_IF_ERROR(txn.Commit());
  return doc;
}

}  // namespace annex::service
