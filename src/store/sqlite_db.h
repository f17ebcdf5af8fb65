// One SQLite connection with what izwi's stores do on it: WAL and FULL
// synchronous (an acknowledged write survives a power cut), foreign keys,
// statements that throw izwi::Error naming the database, and transactions
// (BEGIN IMMEDIATE: writers take the lock up front instead of failing on
// upgrade). A connection is used by one thread at a time: callers hold mu_.
#pragma once

#include <sqlite3.h>

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "core/error.h"

namespace izwi::store {

class SqliteConnection {
 public:
  struct DbClose {
    void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
  };
  struct StmtFinalize {
    void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
  };
  using Stmt = std::unique_ptr<sqlite3_stmt, StmtFinalize>;

  explicit SqliteConnection(const std::string& path) : path_(path) {
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
        SQLITE_OK) {
      const std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
      sqlite3_close_v2(db);
      fail(ErrorKind::kIo, "cannot open the voice store '", path, "': ", msg);
    }
    db_.reset(db);
    sqlite3_busy_timeout(db, 5000);
    exec("PRAGMA journal_mode=WAL");
    exec("PRAGMA synchronous=FULL");
    exec("PRAGMA foreign_keys=ON");
  }

 protected:
  Stmt prepare(const char* sql) const {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db_.get(), sql, -1, &s, nullptr) != SQLITE_OK)
      fail(ErrorKind::kInternal, "store (", path_, "): ", sqlite3_errmsg(db_.get()));
    return Stmt(s);
  }
  void exec(const char* sql) const {
    char* err = nullptr;
    if (sqlite3_exec(db_.get(), sql, nullptr, nullptr, &err) != SQLITE_OK) {
      const std::string msg = err ? err : "?";
      sqlite3_free(err);
      fail(kind(), "store (", path_, "): ", msg);
    }
  }
  void step_done(sqlite3_stmt* s) const {
    if (sqlite3_step(s) != SQLITE_DONE)
      fail(kind(), "store (", path_, "): ", sqlite3_errmsg(db_.get()));
  }
  // The last statement's failure: kNoSpace when the disk (or database) was full.
  ErrorKind kind() const {
    return (sqlite3_errcode(db_.get()) & 0xFF) == SQLITE_FULL ? ErrorKind::kNoSpace
                                                              : ErrorKind::kIo;
  }
  static void bind_text(sqlite3_stmt* s, int i, const std::string& v) {
    sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  static void bind_blob(sqlite3_stmt* s, int i, const std::string& v) {
    sqlite3_bind_blob(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  static std::string text(sqlite3_stmt* s, int i) {
    const unsigned char* t = sqlite3_column_text(s, i);
    return t ? reinterpret_cast<const char*>(t) : "";
  }
  static std::string_view blob(sqlite3_stmt* s, int i) {
    const void* p = sqlite3_column_blob(s, i);
    const int n = sqlite3_column_bytes(s, i);
    return p ? std::string_view(static_cast<const char*>(p), static_cast<size_t>(n))
             : std::string_view();
  }
  std::vector<std::string> strings(const char* sql, const std::vector<std::string>& args) const {
    Stmt s = prepare(sql);
    for (size_t i = 0; i < args.size(); ++i) bind_text(s.get(), static_cast<int>(i + 1), args[i]);
    std::vector<std::string> out;
    while (sqlite3_step(s.get()) == SQLITE_ROW) out.push_back(text(s.get(), 0));
    return out;
  }

  template <typename F>
  std::invoke_result_t<F> transaction(F&& body) {
    exec("BEGIN IMMEDIATE");
    try {
      auto result = body();
      exec("COMMIT");
      return result;
    } catch (...) {
      sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
  }

  std::string path_;
  std::unique_ptr<sqlite3, DbClose> db_;
  std::mutex mu_;
};

}  // namespace izwi::store
