// The job queue's records: a job is a list of utterances (items) with shared
// parameters; workers claim one item at a time under a lease. Same database
// as the voices (schema version 2): SQLite for one process, PostgreSQL for
// any number of `izwi worker` / `izwi serve` processes.
//
// Exactly-once outputs: an item is claimed by setting its worker and lease
// end in one statement (PostgreSQL: SELECT … FOR UPDATE SKIP LOCKED, so
// workers never wait on each other). A worker that dies stops renewing; once
// its lease ends another worker claims the item again. A finish is accepted
// only from the worker that holds the claim, so an item's output is written
// once, even if a worker that lost its lease finishes late.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace izwi::store {

struct JobItemState {
  int index = 0;
  std::string status;  // queued, running, done, failed, cancelled
  int attempts = 0;    // claims so far (more than 1: a lease ran out and it was taken again)
  double duration_s = 0;
  std::string error;
};

struct JobRecord {
  std::string id, created_at, params_json;
  bool cancelled = false;
  std::vector<JobItemState> items;
};

struct JobClaim {
  std::string job;
  int index = 0;
  std::string input_json, params_json;
  std::string worker;
};

class JobRepository {
 public:
  virtual ~JobRepository() = default;
  virtual void create(const std::string& id, const std::string& params_json,
                      const std::vector<std::string>& inputs_json) = 0;
  virtual std::optional<JobRecord> find(const std::string& id) = 0;
  // Marks the job cancelled: its unclaimed items are never claimed. False if no such job.
  virtual bool cancel(const std::string& id) = 0;
  // The oldest job's next item that is queued or whose lease ran out.
  virtual std::optional<JobClaim> claim(const std::string& worker, double lease_s) = 0;
  // False once the claim is lost (the lease ran out and another worker took it).
  virtual bool renew(const JobClaim& c, double lease_s) = 0;
  virtual bool finish(const JobClaim& c, const std::string& audio, double duration_s) = 0;
  virtual bool fail(const JobClaim& c, const std::string& error) = 0;
  virtual std::optional<std::string> output(const std::string& id, int index) = 0;
  // Items waiting for a worker (queued, or leases run out), over every job.
  virtual int64_t queued_items() = 0;
};

class PgPool;
// Made by open_sqlite_backend / open_postgres_backend (voice_backend.h),
// after the voice repository has brought the schema up to date.
std::unique_ptr<JobRepository> make_sqlite_jobs(const std::string& db_path);
std::unique_ptr<JobRepository> make_postgres_jobs(std::shared_ptr<PgPool> pool);

}  // namespace izwi::store
