// The server's device slots (remote_devices.hpp) and the Service's leased
// jobs: which device a job gets, one job at a time per card, a card that
// fails, the queue, and csim answers equal to a local csim run.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <thread>

#include "fpgaio/deflate_units.hpp"
#include "fpgaio/remote.hpp"
#include "helpers.hpp"

namespace rm = fpgaio::remote;
using fpgaio::Bytes;
using fpgaio::DeviceKind;
using fpgaio::Error;
using fpgaio::ErrorKind;

namespace {

// Polls `cond` (no timing in the verdict: the bound only ends a hung test).
template <class F>
bool eventually(F cond) {
  for (int i = 0; i < 20000; ++i) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return false;
}

const rm::DeviceStatus& status_of(const std::vector<rm::DeviceStatus>& v, const std::string& name) {
  for (const auto& d : v)
    if (d.device.name == name) return d;
  throw std::runtime_error("no device " + name);
}

rm::Request compress_request(const Bytes& body, std::size_t block) {
  rm::Request r;
  r.path = "/v1/gzip/compress";
  r.query = {{"block", std::to_string(block)}};
  r.body = body;
  return r;
}

}  // namespace

TEST(RemoteDevices, CardsFirstThenCoresAndKernelsDecide) {
  rm::DevicePool pool("cpu,csim:0", 1);  // listed CPU first: a free card still goes first
  auto st = pool.status();
  ASSERT_EQ(st.size(), 2u);
  EXPECT_EQ(pool.slots(), 2u);
  EXPECT_EQ(status_of(st, "csim:0").slots, 1u);
  EXPECT_EQ(status_of(st, "cpu").slots, 1u);
  auto a = pool.acquire("deflate", 0);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->device().name, "csim:0");
  auto b = pool.acquire("deflate", 0);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->device().name, "cpu");
  // Both busy and no room to wait: the caller answers 503.
  EXPECT_FALSE(pool.acquire("deflate", 0));
  EXPECT_EQ(pool.busy(), 2u);
  b.reset();
  // csim does not inflate: only the CPU takes an inflate job.
  auto c = pool.acquire("inflate", 0);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->device().name, "cpu");
  c.reset();
  a.reset();
  auto d = pool.acquire("deflate", 0);
  EXPECT_EQ(d->device().name, "csim:0");
  st = pool.status();
  EXPECT_EQ(status_of(st, "csim:0").jobs, 2u);
  EXPECT_EQ(status_of(st, "cpu").jobs, 2u);
  EXPECT_EQ(status_of(st, "csim:0").busy_max, 1u);
}

TEST(RemoteDevices, ListErrorsAreUsageErrorsNamingTheList) {
  for (const char* bad : {"1", "csim:0,2", "cpu,cpu", "cpu,", "nosuch", "xrt:7"}) {
    try {
      rm::DevicePool p(bad, 0);
      FAIL() << bad;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("--device"), std::string::npos) << bad << ": " << e.what();
    }
  }
  // --slots counts the CPU's slots: a list without the CPU has none to count.
  EXPECT_THROW(rm::DevicePool("csim:0", 3), Error);
  // A list with no device for a kind of job: Error(device), not a wait.
  rm::DevicePool card("csim:0", 0);
  try {
    card.acquire("inflate", 10);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::device);
    EXPECT_NE(std::string(e.what()).find("no device of this server in service runs 'inflate'"), std::string::npos);
  }
}

TEST(RemoteDevices, NeverTwoJobsOnACardAtOnce) {
  // 8 threads x 50 jobs on 1 card + 2 cores: whoever holds the card's
  // lease is alone on it, whatever the interleaving.
  rm::DevicePool pool("csim:0,cpu", 2);
  std::atomic<int> on_card{0}, on_cpu{0}, card_max{0}, cpu_max{0}, jobs{0};
  auto bump = [](std::atomic<int>& n, std::atomic<int>& mx) {
    int v = ++n;
    int m = mx.load();
    while (v > m && !mx.compare_exchange_weak(m, v)) {
    }
  };
  std::vector<std::thread> ts;
  for (int t = 0; t < 8; ++t)
    ts.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        auto l = pool.acquire("deflate", 1000);
        ASSERT_TRUE(l);
        bool card = !l->is_cpu();
        bump(card ? on_card : on_cpu, card ? card_max : cpu_max);
        std::this_thread::yield();
        --(card ? on_card : on_cpu);
        ++jobs;
      }
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(jobs.load(), 400);
  EXPECT_EQ(card_max.load(), 1);
  EXPECT_LE(cpu_max.load(), 2);
  auto st = pool.status();
  EXPECT_EQ(status_of(st, "csim:0").busy_max, 1u);
  EXPECT_LE(status_of(st, "cpu").busy_max, 2u);
  EXPECT_EQ(status_of(st, "csim:0").jobs + status_of(st, "cpu").jobs, 400u);
}

TEST(RemoteDevices, StateStaysWithTheSlotFromJobToJob) {
  rm::DevicePool pool("csim:0", 0);
  int made = 0;
  for (int i = 0; i < 3; ++i) {
    auto l = pool.acquire("deflate", 0);
    int& n = l->state<int>("count", [&] {
      ++made;
      return std::make_unique<int>(0);
    });
    ++n;
    EXPECT_EQ(n, i + 1);
    // The card's units were opened with the pool.
    EXPECT_GE(rm::card_deflate_units(*l).size(), 1u);
  }
  EXPECT_EQ(made, 1);
}

TEST(RemoteDevices, CsimServerAnswersAreTheLocalCsimBytes) {
  rm::ServerConfig cfg;
  cfg.devices = "csim:0";
  rm::Service svc(cfg);
  Bytes data = testutil::text_data(300000);
  const std::size_t block = 16384;
  // Local: fpga-gzip --device csim:0 (the device opened as fpga-gzip opens it).
  auto opened = fpgaio::open_deflate_device("csim:0", 0);
  std::vector<fpgaio::DeflateUnit*> raw;
  for (auto& u : opened.units) raw.push_back(u.get());
  fpgaio::UnitPool units(raw);
  fpgaio::gzip::CompressOptions co;
  co.block_size = block;
  co.units = &units;
  Bytes local = fpgaio::gzip::compress_buffer(data.data(), data.size(), co);
  auto r = svc.handle(compress_request(data, block), "t");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body, local);
  // Not the CPU's bytes: the answer really came from the kernel's code.
  fpgaio::gzip::CompressOptions cpu;
  cpu.block_size = block;
  EXPECT_NE(r.body, fpgaio::gzip::compress_buffer(data.data(), data.size(), cpu));
  Bytes back;
  testutil::decode(r.body, back);
  EXPECT_EQ(back, data);
}

TEST(RemoteDevices, ACardThatFailsIsRedoneOnTheCpuWhenListed) {
  rm::ServerConfig cfg;
  cfg.devices = "csim:0,cpu";
  cfg.slots = 1;
  std::vector<std::string> logged;
  std::mutex mu;
  cfg.log = [&](const std::string& l) {
    std::lock_guard<std::mutex> lk(mu);
    logged.push_back(l);
  };
  rm::Service svc(cfg);
  std::vector<std::string> ran;
  auto job = [&](rm::DevicePool::Lease& l) -> rm::Response {
    ran.push_back(l.device().name);
    if (!l.is_cpu()) throw Error(ErrorKind::device, "csim:0/cu0: block 1 (5 bytes): broken on purpose");
    rm::Response r;
    r.body = {'o', 'k'};
    return r;
  };
  std::string dev;
  auto r = svc.run_leased("deflate", job, &dev);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(dev, "cpu");
  EXPECT_EQ(ran, (std::vector<std::string>{"csim:0", "cpu"}));
  auto st = svc.devices().status();
  EXPECT_EQ(status_of(st, "csim:0").errors, 1u);
  EXPECT_EQ(status_of(st, "csim:0").redone, 1u);
  EXPECT_FALSE(status_of(st, "csim:0").in_service);
  EXPECT_EQ(status_of(st, "csim:0").problem, "csim:0/cu0: block 1 (5 bytes): broken on purpose");
  ASSERT_EQ(logged.size(), 1u);
  EXPECT_EQ(logged[0], "csim:0/cu0: block 1 (5 bytes): broken on purpose; csim:0 is out of service, the job runs "
                       "again on the CPU");
  // Out of service: the next job goes straight to the CPU.
  ran.clear();
  EXPECT_EQ(svc.run_leased("deflate", job).status, 200);
  EXPECT_EQ(ran, (std::vector<std::string>{"cpu"}));
  // The metrics say it with labels.
  rm::Request m;
  m.method = "GET";
  m.path = "/metrics";
  auto mr = svc.handle(m, "t");
  std::string text(mr.body.begin(), mr.body.end());
  EXPECT_NE(text.find("fpga_remote_device_errors_total{device=\"csim:0\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("fpga_remote_device_redone_total{device=\"csim:0\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("fpga_remote_device_up{device=\"csim:0\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("fpga_remote_device_jobs_total{device=\"cpu\"} 2\n"), std::string::npos);
}

TEST(RemoteDevices, ACardThatFailsWithoutTheCpuIsA500DeviceError) {
  rm::ServerConfig cfg;
  cfg.devices = "csim:0";
  rm::Service svc(cfg);
  auto job = [&](rm::DevicePool::Lease&) -> rm::Response {
    throw Error(ErrorKind::device, "csim:0/cu0: broken on purpose");
  };
  auto r = svc.run_leased("deflate", job);
  EXPECT_EQ(r.status, 500);
  auto e = rm::error_from_response(r);
  EXPECT_EQ(e.kind(), ErrorKind::device);
  EXPECT_EQ(std::string(e.what()), "csim:0/cu0: broken on purpose");
  // Nothing left in service: every later job says why, and health is not ready.
  r = svc.run_leased("deflate", job);
  EXPECT_EQ(r.status, 500);
  EXPECT_NE(std::string(rm::error_from_response(r).what()).find("csim:0 is out of service: csim:0/cu0: broken"),
            std::string::npos);
  rm::Request h;
  h.method = "GET";
  h.path = "/v1/health";
  auto hr = svc.handle(h, "t");
  EXPECT_NE(std::string(hr.body.begin(), hr.body.end()).find("\"ready\":false"), std::string::npos);
  // Corrupt input is the job's error, not the card's: it stays in service.
  rm::ServerConfig c2;
  c2.devices = "csim:0";
  rm::Service s2(c2);
  auto bad = s2.run_leased("deflate", [](rm::DevicePool::Lease&) -> rm::Response {
    throw Error(ErrorKind::corrupt, "not in gzip format");
  });
  EXPECT_EQ(bad.status, 422);
  EXPECT_TRUE(s2.devices().status()[0].in_service);
}

TEST(RemoteDevices, QueueBehindTheCardThen503) {
  rm::ServerConfig cfg;
  cfg.devices = "csim:0";
  cfg.queue = 1;
  rm::Service svc(cfg);
  std::promise<void> go;
  std::shared_future<void> gate = go.get_future().share();
  std::atomic<int> started{0};
  auto job = [&](rm::DevicePool::Lease&) -> rm::Response {
    ++started;
    gate.wait();
    return rm::Response{};
  };
  auto first = std::async(std::launch::async, [&] { return svc.run_leased("deflate", job).status; });
  ASSERT_TRUE(eventually([&] { return started.load() == 1; }));
  auto second = std::async(std::launch::async, [&] { return svc.run_leased("deflate", job).status; });
  ASSERT_TRUE(eventually([&] { return svc.devices().waiting() == 1; }));
  // The card is held and one job waits: the next is refused at once.
  auto third = svc.run_leased("deflate", job);
  EXPECT_EQ(third.status, 503);
  EXPECT_EQ(third.retry_after, 1u);
  EXPECT_EQ(started.load(), 1);  // the waiting job did not start beside the first
  go.set_value();
  EXPECT_EQ(first.get(), 200);
  EXPECT_EQ(second.get(), 200);
  EXPECT_EQ(started.load(), 2);
  EXPECT_EQ(svc.devices().status()[0].busy_max, 1u);
}
