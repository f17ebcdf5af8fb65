#include "store/pg_pool.h"

#include <chrono>
#include <cstring>
#include <thread>

#include "core/error.h"
#include "store/voice_backend.h"

namespace izwi::store {

namespace {

// What went wrong in a statement, kept apart from izwi::Error until the
// retry loop has decided whether to try again.
struct PgFailure {
  std::string message;
  std::string sqlstate;  // "" when the connection itself failed
  bool connection_lost = false;
};

bool retryable(const PgFailure& f) {
  // 40001 serialization failure, 40P01 deadlock, 23505 a concurrent insert of
  // the same key (the retried body sees the row and decides), 57P01-03 the
  // server shutting down or restarting, 08xxx connection exceptions.
  return f.connection_lost || f.sqlstate == "40001" || f.sqlstate == "40P01" ||
         f.sqlstate == "23505" || f.sqlstate.rfind("57P0", 0) == 0 ||
         f.sqlstate.rfind("08", 0) == 0;
}

std::string trimmed(const char* s) {
  std::string m = s ? s : "";
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
  return m;
}

}  // namespace

std::string pg_number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

std::string PgResult::text(int row, int col) const {
  const char* v = PQgetvalue(r_.get(), row, col);
  return v ? std::string(v, static_cast<size_t>(PQgetlength(r_.get(), row, col))) : "";
}

std::string PgResult::bytes(int row, int col) const {
  if (null(row, col)) return "";
  size_t n = 0;
  unsigned char* b =
      PQunescapeBytea(reinterpret_cast<const unsigned char*>(PQgetvalue(r_.get(), row, col)), &n);
  if (!b) fail(ErrorKind::kInternal, "PostgreSQL: cannot decode a bytea value");
  std::string out(reinterpret_cast<const char*>(b), n);
  PQfreemem(b);
  return out;
}

long long PgResult::integer(int row, int col) const {
  return std::stoll(text(row, col));
}

double PgResult::real(int row, int col) const {
  return std::stod(text(row, col));
}

long long PgResult::affected() const {
  const char* n = PQcmdTuples(r_.get());
  return (n && *n) ? std::stoll(n) : 0;
}

PgResult PgTransaction::exec(const char* sql, const std::vector<PgParam>& params) {
  std::vector<const char*> values;
  std::vector<int> lengths, formats;
  for (const PgParam& p : params) {
    values.push_back(p.value.data());
    lengths.push_back(static_cast<int>(p.value.size()));
    formats.push_back(p.binary ? 1 : 0);
  }
  // Without parameters, the simple protocol (which also runs several
  // statements, as a schema does); with them, the extended one.
  PGresult* r = params.empty() ? PQexec(c_, sql)
                               : PQexecParams(c_, sql, static_cast<int>(params.size()), nullptr,
                                              values.data(), lengths.data(), formats.data(), 0);
  const ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return PgResult(r);
  PgFailure f;
  const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  f.sqlstate = state ? state : "";
  f.message = trimmed(r ? PQresultErrorMessage(r) : PQerrorMessage(c_));
  if (f.message.empty()) f.message = trimmed(PQerrorMessage(c_));
  f.connection_lost = PQstatus(c_) != CONNECTION_OK;
  if (r) PQclear(r);
  throw f;
}

PgPool::PgPool(std::string url, int max_connections)
    : url_(std::move(url)), max_(max_connections < 1 ? 1 : max_connections) {}

PgPool::~PgPool() {
  for (PGconn* c : idle_) PQfinish(c);
}

PGconn* PgPool::connect() {
  // Our defaults first: what the URL says overrides them.
  const char* keys[] = {"connect_timeout", "application_name", "dbname", nullptr};
  const char* vals[] = {"5", "izwi", url_.c_str(), nullptr};
  PGconn* c = PQconnectdbParams(keys, vals, 1);
  if (!c) fail(ErrorKind::kIo, "PostgreSQL: out of memory");
  if (PQstatus(c) != CONNECTION_OK) {
    PgFailure f{"cannot connect: " + trimmed(PQerrorMessage(c)), "", true};
    PQfinish(c);
    throw f;
  }
  // Fail rather than hang on a lock another client holds for long.
  PGresult* r = PQexec(c, "SET lock_timeout = '10s'");
  if (r) PQclear(r);
  std::lock_guard<std::mutex> lock(mu_);
  connected_once_ = true;
  return c;
}

PGconn* PgPool::acquire() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return !idle_.empty() || open_ < max_; });
  if (!idle_.empty()) {
    PGconn* c = idle_.back();
    idle_.pop_back();
    return c;
  }
  ++open_;
  lock.unlock();
  try {
    return connect();
  } catch (...) {
    lock.lock();
    --open_;
    cv_.notify_one();
    throw;
  }
}

void PgPool::release(PGconn* c, bool broken) {
  std::lock_guard<std::mutex> lock(mu_);
  if (broken || PQstatus(c) != CONNECTION_OK || PQtransactionStatus(c) != PQTRANS_IDLE) {
    PQfinish(c);
    --open_;
  } else {
    idle_.push_back(c);
  }
  cv_.notify_one();
}

bool PgPool::ping() {
  // Twice: an idle pooled connection may be dead from before a restart of
  // the server; the second try then opens a fresh one.
  for (int attempt = 0; attempt < 2; ++attempt) {
    PGconn* c = nullptr;
    try {
      c = acquire();
    } catch (const PgFailure&) {
      return false;
    }
    PGresult* r = PQexec(c, "SELECT 1");
    const bool ok = r && PQresultStatus(r) == PGRES_TUPLES_OK;
    if (r) PQclear(r);
    release(c, !ok);
    if (ok) return true;
  }
  return false;
}

void PgPool::check_connection() {
  transaction([](PgTransaction& t) { t.exec("SELECT 1"); });
}

void PgPool::transaction(const std::function<void(PgTransaction&)>& body) {
  const auto start = std::chrono::steady_clock::now();
  int delay_ms = 50;
  for (int attempt = 1;; ++attempt) {
    PGconn* c = nullptr;
    bool committing = false;
    try {
      c = acquire();
      PgTransaction t(c);
      t.exec("BEGIN");
      body(t);
      committing = true;
      t.exec("COMMIT");
      release(c, false);
      return;
    } catch (const PgFailure& f) {
      bool broken = true;
      if (c) {
        if (PQstatus(c) == CONNECTION_OK) {
          PGresult* r = PQexec(c, "ROLLBACK");
          if (r) PQclear(r);
          broken = false;
        }
        release(c, broken);
      }
      // A COMMIT whose answer was lost may have been applied: never run it twice.
      const bool unknown_outcome = committing && f.connection_lost;
      // 53100 disk_full: the database server's disk.
      const auto patience = [&] {
        std::lock_guard<std::mutex> lock(mu_);
        return std::chrono::seconds(connected_once_ ? 15 : 2);
      }();
      if (unknown_outcome || !retryable(f) || std::chrono::steady_clock::now() > start + patience)
        fail(f.sqlstate == "53100" ? ErrorKind::kNoSpace : ErrorKind::kIo,
             "voice store (PostgreSQL ", redact_url(url_), "): ", f.message,
             unknown_outcome ? " (the connection dropped during COMMIT: check whether the change "
                               "was applied)"
                             : "",
             attempt > 1 ? " (after " + std::to_string(attempt) + " attempts)" : "");
      std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
      delay_ms = std::min(delay_ms * 2, 1000);
    } catch (...) {
      if (c) {
        PGresult* r = PQexec(c, "ROLLBACK");
        if (r) PQclear(r);
        release(c, false);
      }
      throw;
    }
  }
}

}  // namespace izwi::store
