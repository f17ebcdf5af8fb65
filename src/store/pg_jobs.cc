// The job queue in PostgreSQL. A claim is one UPDATE over a row chosen with
// FOR UPDATE SKIP LOCKED: concurrent workers each take a different item and
// never wait for one another. Times are the server's clock.
#include "core/error.h"
#include "store/job_backend.h"
#include "store/pg_pool.h"

namespace izwi::store {

namespace {

constexpr const char* kNow = "extract(epoch from clock_timestamp())";

class PgJobs final : public JobRepository {
 public:
  explicit PgJobs(std::shared_ptr<PgPool> pool) : pool_(std::move(pool)) {}

  void create(const std::string& id, const std::string& params_json,
              const std::vector<std::string>& inputs) override {
    pool_->transaction([&](PgTransaction& t) {
      t.exec(
          "INSERT INTO jobs(id, created_at, created, params) VALUES($1, "
          "to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
          "extract(epoch from clock_timestamp()), $2)",
          {{id}, {params_json}});
      for (size_t i = 0; i < inputs.size(); ++i)
        t.exec("INSERT INTO job_items(job_id, idx, input) VALUES($1, $2, $3)",
               {{id}, {std::to_string(i)}, {inputs[i]}});
    });
  }

  std::optional<JobRecord> find(const std::string& id) override {
    std::optional<JobRecord> out;
    pool_->transaction([&](PgTransaction& t) {
      out.reset();
      const PgResult j =
          t.exec("SELECT id, created_at, params, cancelled FROM jobs WHERE id = $1", {{id}});
      if (j.rows() == 0) return;
      JobRecord r;
      r.id = j.text(0, 0);
      r.created_at = j.text(0, 1);
      r.params_json = j.text(0, 2);
      r.cancelled = j.text(0, 3) == "t";
      const PgResult it = t.exec(
          "SELECT idx, status, attempts, duration_s, error FROM job_items WHERE job_id = $1 "
          "ORDER BY idx",
          {{id}});
      for (int i = 0; i < it.rows(); ++i)
        r.items.push_back({static_cast<int>(it.integer(i, 0)), it.text(i, 1),
                           static_cast<int>(it.integer(i, 2)), it.real(i, 3), it.text(i, 4)});
      out = std::move(r);
    });
    return out;
  }

  bool cancel(const std::string& id) override {
    bool found = false;
    pool_->transaction([&](PgTransaction& t) {
      found = t.exec("UPDATE jobs SET cancelled = true WHERE id = $1", {{id}}).affected() > 0;
      // Never claimed again; a worker speaking one loses it at its next renewal.
      t.exec(
          "UPDATE job_items SET status = 'cancelled' WHERE job_id = $1 AND status IN ('queued', "
          "'running')",
          {{id}});
    });
    return found;
  }

  std::optional<JobClaim> claim(const std::string& worker, double lease_s) override {
    std::optional<JobClaim> out;
    pool_->transaction([&](PgTransaction& t) {
      out.reset();
      // An utterance whose worker's lease ended first (its worker died), else
      // the oldest queued one; either way a row no other worker has locked.
      for (const char* pick :
           {"status = 'running' AND lease_until < extract(epoch from clock_timestamp()) ORDER BY "
            "lease_until",
            "status = 'queued' ORDER BY seq"}) {
        const std::string sql =
            std::string("UPDATE job_items i SET status = 'running', worker = $1, lease_until = ") +
            kNow +
            " + $2, attempts = i.attempts + 1 FROM (SELECT job_id, idx FROM job_items WHERE " +
            pick +
            " LIMIT 1 FOR UPDATE SKIP LOCKED) next WHERE i.job_id = next.job_id AND i.idx = "
            "next.idx RETURNING i.job_id, i.idx, i.input, (SELECT params FROM jobs WHERE id = "
            "i.job_id)";
        const PgResult r = t.exec(sql.c_str(), {{worker}, {pg_number(lease_s)}});
        if (r.rows() > 0) {
          out = JobClaim{r.text(0, 0), static_cast<int>(r.integer(0, 1)), r.text(0, 2),
                         r.text(0, 3), worker};
          return;
        }
      }
    });
    return out;
  }

  bool renew(const JobClaim& c, double lease_s) override {
    const std::string sql = std::string("UPDATE job_items SET lease_until = ") + kNow +
                            " + $4 WHERE job_id = $1 AND idx = $2 AND worker = $3 AND status = "
                            "'running'";
    return mine(sql, c, std::vector<PgParam>{PgParam{pg_number(lease_s)}});
  }

  bool finish(const JobClaim& c, const std::string& audio, double duration_s) override {
    return mine(
        "UPDATE job_items SET status = 'done', output = $4, duration_s = $5 WHERE job_id = $1 AND "
        "idx = $2 AND worker = $3 AND status = 'running'",
        c, std::vector<PgParam>{PgParam::bytes(audio), PgParam{pg_number(duration_s)}});
  }

  bool fail(const JobClaim& c, const std::string& error) override {
    return mine(
        "UPDATE job_items SET status = 'failed', error = $4 WHERE job_id = $1 AND idx = $2 AND "
        "worker = $3 AND status = 'running'",
        c, std::vector<PgParam>{PgParam{error}});
  }

  std::optional<std::string> output(const std::string& id, int index) override {
    std::optional<std::string> out;
    pool_->transaction([&](PgTransaction& t) {
      const PgResult r =
          t.exec("SELECT output FROM job_items WHERE job_id = $1 AND idx = $2 AND status = 'done'",
                 {{id}, {std::to_string(index)}});
      out = r.rows() > 0 ? std::optional<std::string>(r.bytes(0, 0)) : std::nullopt;
    });
    return out;
  }

  int64_t queued_items() override {
    int64_t n = 0;
    pool_->transaction([&](PgTransaction& t) {
      const std::string sql =
          std::string(
              "SELECT (SELECT count(*) FROM job_items WHERE status = 'queued') + (SELECT count(*) "
              "FROM job_items WHERE status = 'running' AND lease_until < ") +
          kNow + ")";
      n = t.exec(sql.c_str()).integer(0, 0);
    });
    return n;
  }

 private:
  bool mine(const std::string& sql, const JobClaim& c, std::vector<PgParam> extra) {
    std::vector<PgParam> params = {{c.job}, {std::to_string(c.index)}, {c.worker}};
    for (auto& p : extra) params.push_back(std::move(p));
    bool ok = false;
    pool_->transaction([&](PgTransaction& t) { ok = t.exec(sql.c_str(), params).affected() > 0; });
    return ok;
  }

  std::shared_ptr<PgPool> pool_;
};

}  // namespace

std::unique_ptr<JobRepository> make_postgres_jobs(std::shared_ptr<PgPool> pool) {
  return std::make_unique<PgJobs>(std::move(pool));
}

}  // namespace izwi::store
