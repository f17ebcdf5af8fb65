// The server's admission queue: slots, the waiting line, and the memory
// budget (requests wait until their estimate fits beside the running ones;
// one larger than the whole budget is refused at once).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "server/admission.h"
#include "server/api_error.h"

namespace izwi::server {
namespace {

constexpr size_t kMiB = size_t{1} << 20;

int status_of(Admission& a, size_t bytes) {
  try {
    a.enter(nullptr, bytes);
    return 200;
  } catch (const ApiError& e) {
    return e.status;
  }
}

TEST(Admission, ARequestLargerThanTheBudgetIsRefusedWithAClearMessage) {
  Admission a(4, 4, 100 * kMiB);
  try {
    a.enter(nullptr, 300 * kMiB);
    FAIL() << "admitted 300 MiB into a 100 MiB budget";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status, 413);
    EXPECT_EQ(e.code, "request_too_large");
    const std::string m = e.what();
    EXPECT_NE(m.find("about 300 MiB"), std::string::npos) << m;
    EXPECT_NE(m.find("allows 100 MiB"), std::string::npos) << m;
    EXPECT_NE(m.find("--memory-budget-mb"), std::string::npos) << m;
    EXPECT_NE(m.find("stream"), std::string::npos) << m;
  }
  EXPECT_EQ(a.running(), 0);
  EXPECT_EQ(a.reserved_bytes(), 0u);
}

TEST(Admission, ARequestWaitsUntilItFitsBesideTheRunningOnes) {
  Admission a(4, 4, 100 * kMiB);
  auto first = a.enter(nullptr, 70 * kMiB);
  EXPECT_EQ(a.reserved_bytes(), 70 * kMiB);
  std::atomic<bool> admitted{false};
  std::thread second([&] {
    auto t = a.enter(nullptr, 50 * kMiB);  // 70 + 50 > 100: waits
    admitted = true;
    EXPECT_EQ(a.reserved_bytes(), 50 * kMiB);
  });
  for (int i = 0; i < 100 && a.waiting() == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(a.waiting(), 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  EXPECT_FALSE(admitted.load());  // slots are free; memory is not
  first.reset();
  second.join();
  EXPECT_TRUE(admitted.load());
  EXPECT_EQ(a.reserved_bytes(), 0u);
  EXPECT_EQ(a.running(), 0);
}

TEST(Admission, SmallRequestsShareTheBudget) {
  Admission a(8, 0, 100 * kMiB);
  auto t1 = a.enter(nullptr, 40 * kMiB);
  auto t2 = a.enter(nullptr, 40 * kMiB);
  EXPECT_EQ(a.running(), 2);
  // No place in the queue and no room now: turned away like a full queue.
  EXPECT_EQ(status_of(a, 40 * kMiB), 429);
  t1.reset();
  EXPECT_EQ(status_of(a, 40 * kMiB), 200);
}

TEST(Admission, WithoutABudgetOnlySlotsCount) {
  Admission a(1, 0, 0);
  auto t = a.enter(nullptr, size_t{1} << 50);
  EXPECT_EQ(status_of(a, 1), 429);
}

TEST(Admission, TheBudgetOption) {
  EXPECT_EQ(memory_budget_bytes(-1), 0u);
  EXPECT_EQ(memory_budget_bytes(512), 512 * kMiB);
  // Auto: half of what /proc/meminfo says is available, so some, and less
  // than the machine has.
  const size_t automatic = memory_budget_bytes(0);
  EXPECT_GT(automatic, 16 * kMiB);
  EXPECT_LT(automatic, size_t{1} << 45);
}

}  // namespace
}  // namespace izwi::server
