// A bounded pool of PostgreSQL connections for one process, and transactions
// that survive what a shared database does to its clients: serialization
// failures and deadlocks are retried, a dropped connection (a restarted
// server, a failover) is reopened and the transaction run again — as long as
// COMMIT was not yet sent, so nothing is ever applied twice.
#pragma once

#include <libpq-fe.h>

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace izwi::store {

// One statement's result; rows of text values (bytea decoded to bytes).
class PgResult {
 public:
  explicit PgResult(PGresult* r) : r_(r, PQclear) {}
  int rows() const { return PQntuples(r_.get()); }
  bool null(int row, int col) const { return PQgetisnull(r_.get(), row, col) != 0; }
  std::string text(int row, int col) const;
  std::string bytes(int row, int col) const;  // a bytea column
  long long integer(int row, int col) const;
  double real(int row, int col) const;
  long long affected() const;  // rows an INSERT/UPDATE/DELETE touched

 private:
  std::shared_ptr<PGresult> r_;
};

// A double as PostgreSQL reads it back exactly (17 significant digits).
std::string pg_number(double v);

// A statement's parameter: text, or bytes sent as binary (bytea).
struct PgParam {
  std::string value;
  bool binary = false;
  static PgParam bytes(std::string b) { return {std::move(b), true}; }
};

// Inside a transaction: runs statements; throws on any error.
class PgTransaction {
 public:
  explicit PgTransaction(PGconn* c) : c_(c) {}
  PgResult exec(const char* sql, const std::vector<PgParam>& params = {});

 private:
  PGconn* c_;
};

class PgPool {
 public:
  PgPool(std::string url, int max_connections);
  ~PgPool();
  PgPool(const PgPool&) = delete;
  PgPool& operator=(const PgPool&) = delete;

  const std::string& url() const { return url_; }
  // Runs `body` in a transaction (BEGIN … COMMIT), retrying as described above
  // for up to about 15 s; about 2 s while no connection has ever been made,
  // as a server that has never answered is more likely a wrong URL or one not
  // started than a restart (and a command should not sit silent for 15 s to
  // say so). Errors are izwi::Error (kIo), with the server's message.
  void transaction(const std::function<void(PgTransaction&)>& body);
  // One "SELECT 1", no retries: whether the server answers now.
  bool ping();
  // Opens one connection now, so a wrong URL or an unreachable server is
  // reported at start-up with what libpq said.
  void check_connection();

 private:
  PGconn* acquire();
  void release(PGconn* c, bool broken);
  PGconn* connect();

  std::string url_;
  int max_;
  int open_ = 0;
  bool connected_once_ = false;  // under mu_
  std::vector<PGconn*> idle_;
  std::mutex mu_;
  std::condition_variable cv_;
};

}  // namespace izwi::store
