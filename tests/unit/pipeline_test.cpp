// Unit tests of the ordered pool: order, bounded window, errors.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <thread>

#include "fpgaio/pipeline.hpp"

using fpgaio::OrderedPool;

TEST(OrderedPool, DeliversInSubmissionOrder) {
  std::vector<int> seen;
  OrderedPool<int> pool(4, 6, [&](int& r) { seen.push_back(r); });
  for (int i = 0; i < 500; ++i) {
    pool.submit([i] {
      if (i % 7 == 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
      return i;
    });
  }
  pool.drain();
  ASSERT_EQ(seen.size(), 500u);
  for (int i = 0; i < 500; ++i) EXPECT_EQ(seen[i], i);
}

TEST(OrderedPool, NeverMoreThanTheWindowInFlight) {
  std::atomic<int> live{0}, peak{0};
  const int window = 3;
  OrderedPool<int> pool(2, window, [&](int&) { --live; });
  for (int i = 0; i < 200; ++i) {
    ++live;
    int now = live.load();
    if (now > peak) peak = now;
    pool.submit([] { return 0; });
  }
  pool.drain();
  EXPECT_LE(peak.load(), window + 1);  // +1: counted just before submit waits
  EXPECT_EQ(live.load(), 0);
}

TEST(OrderedPool, FirstErrorInOrderIsRethrownAfterEarlierResults) {
  std::vector<int> seen;
  OrderedPool<int> pool(3, 8, [&](int& r) { seen.push_back(r); });
  auto run = [&] {
    for (int i = 0; i < 100; ++i) {
      pool.submit([i]() -> int {
        if (i == 40 || i == 60) throw std::runtime_error("job " + std::to_string(i));
        return i;
      });
    }
    pool.drain();
  };
  try {
    run();
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "job 40");
  }
  ASSERT_EQ(seen.size(), 40u);
  for (int i = 0; i < 40; ++i) EXPECT_EQ(seen[i], i);
}

TEST(OnlineCpus, AtLeastOne) { EXPECT_GE(fpgaio::online_cpus(), 1u); }

TEST(OrderedPool, DeliverNextHandsOverTheOldestResult) {
  std::vector<int> seen;
  OrderedPool<int> pool(3, 10, [&](int& r) { seen.push_back(r); });
  EXPECT_FALSE(pool.deliver_next());  // nothing in flight
  for (int i = 0; i < 5; ++i) pool.submit([i] {
      std::this_thread::sleep_for(std::chrono::milliseconds(5 - i));
      return i;
    });
  std::size_t before = seen.size();
  ASSERT_TRUE(pool.deliver_next());
  ASSERT_EQ(seen.size(), before + 1);
  EXPECT_EQ(seen.back(), static_cast<int>(before));
  pool.drain();
  EXPECT_EQ(seen, (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_FALSE(pool.deliver_next());
}

// A consumer that throws (the writer's EPIPE) while jobs are still queued:
// the queued ones are dropped, and drain() afterwards (the decoder's error
// path does it) returns instead of waiting for them forever.
TEST(OrderedPool, DrainAfterTheConsumerThrewReturnsWithJobsStillQueued) {
  std::atomic<int> started{0};
  auto pool = std::make_unique<OrderedPool<int>>(1, 8, [&](int& r) {
    if (r == 1) throw std::runtime_error("write error: Broken pipe");
  });
  try {
    for (int i = 0; i < 8; ++i)
      pool->submit([i, &started]() -> int {
        ++started;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        return i;
      });
    pool->drain();
    FAIL() << "the consumer's error was not thrown";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "write error: Broken pipe");
  }
  // Jobs were still queued when it threw (one worker, 20 ms each).
  EXPECT_LT(started.load(), 8);
  std::atomic<bool> drained{false};
  std::thread t([&] {
    pool->drain();
    EXPECT_FALSE(pool->deliver_next());
    drained = true;
  });
  for (int i = 0; i < 500 && !drained; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_TRUE(drained.load()) << "drain() waited for dropped jobs";
  t.join();
  EXPECT_THROW(pool->submit([] { return 0; }), std::logic_error);
}
