// Beyond one machine: three `izwi serve` replicas on one real PostgreSQL
// server (tests/pg_server.h), behind a real nginx running the project's own
// deploy/nginx/izwi.conf (tests/nginx_server.h). A voice created through
// nginx is used by every replica; a replica killed with SIGKILL mid-run costs
// only the requests it had in flight; PostgreSQL restarted mid-run costs none
// once it is back; no acknowledged voice is ever lost.
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli_run.h"
#include "fake_hub.h"
#include "izwi/izwi.h"
#include "nginx_server.h"
#include "pg_server.h"
#include "server_process.h"
#include "test_util.h"

namespace izwi {
namespace {

using json = nlohmann::json;
using test::ServerProcess;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Speech requests (saved voice "shared") through nginx, by the given count of
// threads, until told to stop; each remembers when it started and how it ended.
class Traffic {
 public:
  struct Outcome {
    double started, ended;
    int status;  // 0: no answer
  };
  Traffic(int port, int threads) {
    for (int i = 0; i < threads; ++i)
      workers_.emplace_back([this, port, i] {
        httplib::Client c("127.0.0.1", port);
        c.set_read_timeout(60, 0);
        int n = 0;
        while (!stop_) {
          const json body = {{"input", "Hello there."},
                             {"voice", "shared"},
                             {"response_format", "wav"},
                             {"seed", 100 * i + n++}};
          const double t = seconds_since(t0_);
          auto r = c.Post("/v1/audio/speech", body.dump(), "application/json");
          std::lock_guard<std::mutex> lock(mu_);
          outcomes_.push_back({t, seconds_since(t0_), r ? r->status : 0});
        }
      });
  }
  ~Traffic() { finish(); }
  double now() const { return seconds_since(t0_); }
  // Waits until `n` requests that started after `t` have ended (at most 120 s:
  // a sanitizer build is slow, and the tests count requests, not seconds).
  void wait_for_ended_after(double t, int n) {
    for (int i = 0; i < 1200; ++i) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        int ended = 0;
        for (const auto& o : outcomes_) ended += o.started > t;
        if (ended >= n) return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  std::vector<Outcome> finish() {
    stop_ = true;
    for (auto& w : workers_)
      if (w.joinable()) w.join();
    return outcomes_;
  }

 private:
  Clock::time_point t0_ = Clock::now();
  std::atomic<bool> stop_{false};
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::vector<Outcome> outcomes_;
};

struct Replicas : ::testing::Test {
  static void SetUpTestSuite() {
    models_ = new test::TempDir();
    test::FakeHub hub{{{"Qwen/Qwen3-TTS-12Hz-0.6B-Base", test::golden_model()}}};
    StoreOptions o;
    o.models_dir = models_->file("models");
    o.endpoint = hub.endpoint();
    ModelStore(o).pull("qwen3-tts-0.6b-base");
  }
  static void TearDownTestSuite() {
    delete models_;
    models_ = nullptr;
  }

  void SetUp() override {
    url_ = pg().new_database("replicas");
    for (int i = 0; i < 3; ++i) {
      replicas_.push_back(std::make_unique<ServerProcess>(
          std::vector<std::string>{"IZWI_MODELS_DIR=" + models_->file("models"),
                                   "IZWI_DATA_DIR=" + dir_.file("unused"),
                                   "IZWI_DATABASE_URL=" + url_},
          std::vector<std::string>{"--max-audio-seconds", "1", "--queue", "16",
                                   "--database-connections", "3"},
          dir_.file("replica" + std::to_string(i) + ".log")));
      ASSERT_TRUE(replicas_.back()->started()) << replicas_.back()->log();
    }
    std::vector<int> ports;
    for (auto& r : replicas_) ports.push_back(r->port());
    nginx_ = std::make_unique<test::NginxServer>(
        std::string(IZWI_SOURCE_DIR) + "/deploy/nginx/izwi.conf", ports,
        test::PgServer::free_port(), dir_.file("nginx"));
  }

  httplib::Client through_nginx() const {
    httplib::Client c("127.0.0.1", nginx_->port());
    c.set_read_timeout(60, 0);
    return c;
  }
  httplib::Result create_voice(const std::string& name) const {
    const Audio ref{test::load_f32("spk_in_wav"), 24000, 1};
    httplib::MultipartFormDataItems form = {
        {"name", name, "", ""},
        {"audio", encode_audio(ref, AudioFormat::kWav), "reference.wav", "audio/wav"},
        {"consent", "the speaker, 2026-12-02", "", ""}};
    return through_nginx().Post("/v1/voices", form);
  }
  static std::vector<float> samples(const httplib::Result& r) {
    return read_audio_memory(r->body.data(), r->body.size()).samples;
  }
  std::string logs() const {
    std::string all;
    for (auto& r : replicas_) all += r->log();
    return all + nginx_->error_log();
  }

  static test::TempDir* models_;
  // Started on first use (not at load time: test discovery runs this binary too).
  static test::PgServer& pg() {
    static test::PgServer server;
    return server;
  }
  test::TempDir dir_;
  std::string url_;
  std::vector<std::unique_ptr<ServerProcess>> replicas_;
  std::unique_ptr<test::NginxServer> nginx_;
};
test::TempDir* Replicas::models_ = nullptr;

TEST_F(Replicas, AVoiceMadeThroughNginxSpeaksTheSameOnEveryReplica) {
  auto made = create_voice("shared");
  ASSERT_TRUE(made) << logs();
  ASSERT_EQ(made->status, 201) << made->body;
  const json body = {
      {"input", "Hi."}, {"voice", "shared"}, {"response_format", "wav"}, {"seed", 4}};
  std::vector<float> first;
  for (auto& r : replicas_) {
    auto res = r->client().Post("/v1/audio/speech", body.dump(), "application/json");
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << res->body;
    if (first.empty())
      first = samples(res);
    else
      EXPECT_EQ(samples(res), first) << "replica on port " << r->port();
  }
  // Through nginx the requests spread over the replicas (each one's own metrics).
  for (int i = 0; i < 9; ++i) {
    auto res = through_nginx().Post("/v1/audio/speech", body.dump(), "application/json");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200) << res->body;
    EXPECT_EQ(samples(res), first);
  }
  for (auto& r : replicas_) {
    auto m = r->client().Get("/metrics");
    ASSERT_TRUE(m && m->status == 200);
    EXPECT_NE(m->body.find(R"(route="/v1/audio/speech",method="POST",status="200"} )"),
              std::string::npos)
        << "replica on port " << r->port() << " served no speech";
  }
}

TEST_F(Replicas, AKilledReplicaCostsOnlyItsRequestsInFlightAndNoVoice) {
  ASSERT_EQ(create_voice("shared")->status, 201);
  std::vector<std::string> acknowledged;
  // The kill is sent at kill_at; the replica is gone (reaped: its sockets
  // closed) by dead_at. A request nginx passed it in between was in flight
  // there: the kernel still completes connections to a dying process's
  // listening socket until its files are closed, after its memory is torn
  // down, and resets them then (seen: a POST sent 1 ms after kill_at, reset).
  double kill_at = 0, dead_at = 0;
  std::vector<Traffic::Outcome> outcomes;
  {
    Traffic traffic(nginx_->port(), 3);
    // Voices created while the traffic runs, one killed mid-way.
    for (int i = 0; i < 6; ++i) {
      if (i == 3) {
        kill_at = traffic.now();
        replicas_[1]->stop(SIGKILL);
        dead_at = traffic.now();
      }
      const std::string name = "v" + std::to_string(i);
      auto r = create_voice(name);
      if (r && r->status == 201) acknowledged.push_back(name);
    }
    traffic.wait_for_ended_after(dead_at, 6);
    outcomes = traffic.finish();
  }
  int after = 0, failed_after = 0, in_flight_failed = 0;
  for (const auto& o : outcomes) {
    if (o.started > dead_at) {
      ++after;
      failed_after += o.status != 200;
    } else if (o.status != 200) {
      ++in_flight_failed;
      EXPECT_GE(o.ended, kill_at) << "a request failed before the kill";
    }
  }
  std::printf(
      "replica killed at %.2f s, gone at %.2f s: %zu requests, %d after (%d failed), %d in "
      "flight lost; %zu voices acknowledged\n",
      kill_at, dead_at, outcomes.size(), after, failed_after, in_flight_failed,
      acknowledged.size());
  EXPECT_GE(after, 6);
  EXPECT_EQ(failed_after, 0) << logs();
  EXPECT_EQ(acknowledged.size(), 6u) << "voice creation through nginx with a replica down";
  for (const auto& name : acknowledged) {
    auto v = through_nginx().Get("/v1/voices/" + name);
    ASSERT_TRUE(v);
    EXPECT_EQ(v->status, 200) << name;
  }
  const auto verify = test::run_izwi_env("IZWI_DATABASE_URL=" + url_ + " ", "voices verify");
  EXPECT_EQ(verify.status, 0) << verify.output;
}

TEST_F(Replicas, PostgresRestartedMidRunIsCaughtUpAndServingResumes) {
  ASSERT_EQ(create_voice("shared")->status, 201);
  double down_at = 0, up_at = 0;
  std::vector<Traffic::Outcome> outcomes;
  {
    Traffic traffic(nginx_->port(), 2);
    std::this_thread::sleep_for(std::chrono::seconds(1));
    down_at = traffic.now();
    pg().stop();
    // While it is down a replica says it is not ready.
    auto ready = replicas_[0]->client().Get("/readyz");
    ASSERT_TRUE(ready);
    EXPECT_EQ(ready->status, 503);
    EXPECT_NE(ready->body.find("voice database unreachable"), std::string::npos) << ready->body;
    std::this_thread::sleep_for(std::chrono::seconds(1));
    pg().start();
    up_at = traffic.now();
    traffic.wait_for_ended_after(up_at, 4);
    outcomes = traffic.finish();
  }
  int after = 0, failed_after = 0;
  for (const auto& o : outcomes)
    if (o.started > up_at) {
      ++after;
      failed_after += o.status != 200;
    }
  int during = 0, ok_during = 0;
  for (const auto& o : outcomes)
    if (o.started >= down_at && o.started <= up_at) {
      ++during;
      ok_during += o.status == 200;
    }
  std::printf(
      "PostgreSQL down %.2f-%.2f s: %d requests started meanwhile (%d ok: retried until "
      "it was back), %d after (%d failed)\n",
      down_at, up_at, during, ok_during, after, failed_after);
  EXPECT_GE(after, 4);
  EXPECT_EQ(failed_after, 0) << logs();
  for (auto& r : replicas_) {
    auto ready = r->client().Get("/readyz");
    ASSERT_TRUE(ready);
    EXPECT_EQ(ready->status, 200) << ready->body;
  }
  ASSERT_EQ(create_voice("after-restart")->status, 201);
}

// An `izwi worker` process on the test's database.
class WorkerProcess {
 public:
  WorkerProcess(const std::vector<std::string>& env, const std::string& name,
                const std::string& log_path)
      : pid_(test::spawn_izwi(
            {"worker", "--lease-seconds", "2", "--poll-seconds", "0.1", "--name", name}, env,
            log_path)) {}
  ~WorkerProcess() { stop(SIGKILL); }
  // Sends `sig` and waits for the exit.
  void stop(int sig) {
    if (pid_ <= 0) return;
    kill(pid_, sig);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
};

// A batch job of many utterances, two workers, one killed with SIGKILL while
// it speaks: the job finishes; every utterance's audio exists exactly once;
// only the utterance the dead worker held was claimed twice (after its lease).
TEST_F(Replicas, AJobSurvivesAWorkerKilledMidJob) {
  ASSERT_EQ(create_voice("shared")->status, 201);
  json job = {{"voice", "shared"}, {"seed", 1}, {"max_seconds", 0.6}, {"inputs", json::array()}};
  const int n = 16;
  for (int i = 0; i < n; ++i)
    job["inputs"].push_back("Utterance number " + std::to_string(i) + ".");
  auto made = through_nginx().Post("/v1/jobs", job.dump(), "application/json");
  ASSERT_TRUE(made);
  ASSERT_EQ(made->status, 202) << made->body;
  const std::string id = json::parse(made->body)["id"];
  const std::vector<std::string> env = {"IZWI_MODELS_DIR=" + models_->file("models"),
                                        "IZWI_DATABASE_URL=" + url_};
  WorkerProcess a(env, "worker-a", dir_.file("worker-a.log"));
  WorkerProcess b(env, "worker-b", dir_.file("worker-b.log"));
  auto status = [&] {
    auto r = through_nginx().Get("/v1/jobs/" + id);
    EXPECT_TRUE(r && r->status == 200);
    return r ? json::parse(r->body) : json();
  };
  // Kill worker a while it holds an utterance, a few utterances in.
  bool killed = false;
  for (int i = 0; i < 600 && !killed; ++i) {
    const json s = status();
    int done = s["progress"]["done"];
    bool a_holds = false;
    for (const auto& item : s["items"]) a_holds |= item["status"] == "running";
    if (done >= 3 && a_holds) {
      a.stop(SIGKILL);
      killed = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(killed);
  json s;
  for (int i = 0; i < 1200; ++i) {
    s = status();
    if (s["status"] == "done" || s["status"] == "failed") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(s["status"], "done") << s.dump();
  int claims = 0;
  for (const auto& item : s["items"]) claims += item["attempts"].get<int>();
  std::printf("job of %d utterances, worker killed mid-job: %d claims (%d taken over)\n", n, claims,
              claims - n);
  EXPECT_LE(claims, n + 1) << "only the dead worker's utterance is spoken twice";
  for (int i = 0; i < n; ++i) {
    auto wav = through_nginx().Get("/v1/jobs/" + id + "/audio?index=" + std::to_string(i));
    ASSERT_TRUE(wav);
    ASSERT_EQ(wav->status, 200) << i;
    EXPECT_GT(read_audio_memory(wav->body.data(), wav->body.size()).samples.size(), 0u);
  }
  // Exactly once: one stored output per utterance, in the database itself.
  const std::string count_sql =
      "SELECT count(*) FROM job_items WHERE job_id = '" + id + "' AND output IS NOT NULL";
  EXPECT_EQ(pg().query(count_sql, url_.substr(url_.rfind('/') + 1)), std::to_string(n));
}

}  // namespace
}  // namespace izwi
