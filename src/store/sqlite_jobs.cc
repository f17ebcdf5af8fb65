// The job queue in SQLite: its own connection to voices.db (the voice
// repository made the tables). BEGIN IMMEDIATE makes a claim one writer's at
// a time, which is all SKIP LOCKED buys on PostgreSQL.
#include <chrono>

#include "store/job_backend.h"
#include "store/sqlite_db.h"

namespace izwi::store {

namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

class SqliteJobs final : public JobRepository, SqliteConnection {
 public:
  explicit SqliteJobs(const std::string& path) : SqliteConnection(path) {}

  void create(const std::string& id, const std::string& params_json,
              const std::vector<std::string>& inputs) override {
    std::lock_guard<std::mutex> lock(mu_);
    transaction([&] {
      Stmt j = prepare(
          "INSERT INTO jobs(id, created_at, created, params) "
          "VALUES(?, strftime('%Y-%m-%dT%H:%M:%SZ','now'), ?, ?)");
      bind_text(j.get(), 1, id);
      sqlite3_bind_double(j.get(), 2, now_s());
      bind_text(j.get(), 3, params_json);
      step_done(j.get());
      for (size_t i = 0; i < inputs.size(); ++i) {
        Stmt it = prepare("INSERT INTO job_items(job_id, idx, input) VALUES(?, ?, ?)");
        bind_text(it.get(), 1, id);
        sqlite3_bind_int(it.get(), 2, static_cast<int>(i));
        bind_text(it.get(), 3, inputs[i]);
        step_done(it.get());
      }
      return 0;
    });
  }

  std::optional<JobRecord> find(const std::string& id) override {
    std::lock_guard<std::mutex> lock(mu_);
    Stmt j = prepare("SELECT id, created_at, params, cancelled FROM jobs WHERE id = ?");
    bind_text(j.get(), 1, id);
    if (sqlite3_step(j.get()) != SQLITE_ROW) return std::nullopt;
    JobRecord r;
    r.id = text(j.get(), 0);
    r.created_at = text(j.get(), 1);
    r.params_json = text(j.get(), 2);
    r.cancelled = sqlite3_column_int(j.get(), 3) != 0;
    Stmt it = prepare(
        "SELECT idx, status, attempts, duration_s, error FROM job_items WHERE job_id = ? "
        "ORDER BY idx");
    bind_text(it.get(), 1, id);
    while (sqlite3_step(it.get()) == SQLITE_ROW)
      r.items.push_back({sqlite3_column_int(it.get(), 0), text(it.get(), 1),
                         sqlite3_column_int(it.get(), 2), sqlite3_column_double(it.get(), 3),
                         text(it.get(), 4)});
    return r;
  }

  bool cancel(const std::string& id) override {
    std::lock_guard<std::mutex> lock(mu_);
    return transaction([&] {
      Stmt s = prepare("UPDATE jobs SET cancelled = 1 WHERE id = ?");
      bind_text(s.get(), 1, id);
      step_done(s.get());
      const bool found = sqlite3_changes(db_.get()) > 0;
      // Never claimed again; a worker speaking one loses it at its next renewal.
      Stmt items = prepare(
          "UPDATE job_items SET status = 'cancelled' WHERE job_id = ? AND status IN ('queued', "
          "'running')");
      bind_text(items.get(), 1, id);
      step_done(items.get());
      return found;
    });
  }

  std::optional<JobClaim> claim(const std::string& worker, double lease_s) override {
    std::lock_guard<std::mutex> lock(mu_);
    return transaction([&]() -> std::optional<JobClaim> {
      const double now = now_s();
      Stmt s = prepare(
          "UPDATE job_items SET status = 'running', worker = ?1, lease_until = ?2 + ?3, "
          "attempts = attempts + 1 "
          "WHERE (job_id, idx) = (SELECT job_id, idx FROM job_items WHERE status = 'queued' OR "
          "(status = 'running' AND lease_until < ?2) ORDER BY status = 'queued', rowid LIMIT 1) "
          "RETURNING job_id, idx, input, (SELECT params FROM jobs WHERE id = job_id)");
      bind_text(s.get(), 1, worker);
      sqlite3_bind_double(s.get(), 2, now);
      sqlite3_bind_double(s.get(), 3, lease_s);
      if (sqlite3_step(s.get()) != SQLITE_ROW) return std::nullopt;
      JobClaim c{text(s.get(), 0), sqlite3_column_int(s.get(), 1), text(s.get(), 2),
                 text(s.get(), 3), worker};
      while (sqlite3_step(s.get()) == SQLITE_ROW) {
      }
      return c;
    });
  }

  bool renew(const JobClaim& c, double lease_s) override {
    std::lock_guard<std::mutex> lock(mu_);
    Stmt s = prepare(
        "UPDATE job_items SET lease_until = ? WHERE job_id = ? AND idx = ? AND worker = ? AND "
        "status = 'running'");
    sqlite3_bind_double(s.get(), 1, now_s() + lease_s);
    return mine(s, c, 2);
  }

  bool finish(const JobClaim& c, const std::string& audio, double duration_s) override {
    std::lock_guard<std::mutex> lock(mu_);
    Stmt s = prepare(
        "UPDATE job_items SET status = 'done', output = ?, duration_s = ? WHERE job_id = ? AND "
        "idx = ? AND worker = ? AND status = 'running'");
    bind_blob(s.get(), 1, audio);
    sqlite3_bind_double(s.get(), 2, duration_s);
    return mine(s, c, 3);
  }

  bool fail(const JobClaim& c, const std::string& error) override {
    std::lock_guard<std::mutex> lock(mu_);
    Stmt s = prepare(
        "UPDATE job_items SET status = 'failed', error = ? WHERE job_id = ? AND idx = ? AND "
        "worker = ? AND status = 'running'");
    bind_text(s.get(), 1, error);
    return mine(s, c, 2);
  }

  std::optional<std::string> output(const std::string& id, int index) override {
    std::lock_guard<std::mutex> lock(mu_);
    Stmt s =
        prepare("SELECT output FROM job_items WHERE job_id = ? AND idx = ? AND status = 'done'");
    bind_text(s.get(), 1, id);
    sqlite3_bind_int(s.get(), 2, index);
    if (sqlite3_step(s.get()) != SQLITE_ROW) return std::nullopt;
    return std::string(blob(s.get(), 0));
  }

  int64_t queued_items() override {
    std::lock_guard<std::mutex> lock(mu_);
    Stmt s = prepare(
        "SELECT count(*) FROM job_items WHERE status = 'queued' OR (status = 'running' AND "
        "lease_until < ?)");
    sqlite3_bind_double(s.get(), 1, now_s());
    return sqlite3_step(s.get()) == SQLITE_ROW ? sqlite3_column_int64(s.get(), 0) : 0;
  }

 private:
  // Binds the claim's (job, index, worker) from parameter `first` on and runs
  // the update: true if the row was still this worker's.
  bool mine(const Stmt& s, const JobClaim& c, int first) {
    bind_text(s.get(), first, c.job);
    sqlite3_bind_int(s.get(), first + 1, c.index);
    bind_text(s.get(), first + 2, c.worker);
    step_done(s.get());
    return sqlite3_changes(db_.get()) > 0;
  }
};

}  // namespace

std::unique_ptr<JobRepository> make_sqlite_jobs(const std::string& db_path) {
  return std::make_unique<SqliteJobs>(db_path);
}

}  // namespace izwi::store
