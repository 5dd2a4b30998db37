// Run jobs on N threads and deliver their results in submission order, with
// a bounded number in flight (so memory stays bounded whatever the input).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

namespace fpgaio {

// The number of online CPUs (at least 1).
unsigned online_cpus();

// The threads a tool uses when not told how many (-p): inside a Slurm job
// step (SLURM_JOB_ID set) that asked for --cpus-per-task, its
// SLURM_CPUS_PER_TASK, the cores Slurm gave the task; else online_cpus().
unsigned default_threads();

template <class Result>
class OrderedPool {
 public:
  using Job = std::function<Result()>;
  using Consumer = std::function<void(Result&)>;

  // `window` is the most jobs submitted but not yet consumed; consume() runs
  // in the thread that calls submit()/drain(), in submission order.
  OrderedPool(unsigned threads, std::size_t window, Consumer consume)
      : slots_(window ? window : 1), consume_(std::move(consume)) {
    if (threads == 0) threads = 1;
    for (unsigned i = 0; i < threads; ++i) workers_.emplace_back([this] { work(); });
  }

  ~OrderedPool() {
    {
      std::lock_guard<std::mutex> lk(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
  }

  OrderedPool(const OrderedPool&) = delete;
  OrderedPool& operator=(const OrderedPool&) = delete;

  // Queues a job; first delivers finished results while the window is full.
  // Rethrows (in order) the exception of a failed job.
  void submit(Job job) {
    std::unique_lock<std::mutex> lk(mu_);
    if (broken_) throw std::logic_error("OrderedPool: submit after a delivery failed");
    while (next_submit_ - next_consume_ >= slots_.size()) deliver_one(lk);
    Slot& s = slots_[next_submit_ % slots_.size()];
    s.state = State::pending;
    queue_.emplace_back(next_submit_++, std::move(job));
    cv_.notify_all();
    // Deliver whatever is already done, so output flows while input is read.
    while (!broken_ && next_consume_ < next_submit_ && slots_[next_consume_ % slots_.size()].state != State::pending)
      deliver_one(lk);
  }

  // Delivers the oldest result, waiting for it; false when none is in flight.
  // For callers that bound the window by something other than a job count.
  bool deliver_next() {
    std::unique_lock<std::mutex> lk(mu_);
    if (broken_ || next_consume_ == next_submit_) return false;
    deliver_one(lk);
    return true;
  }

  // Waits for every submitted job and delivers the rest of the results.
  // After a delivery threw (a failed job, or the consumer), there is nothing
  // more to deliver: the jobs not started were dropped, and drain() returns
  // at once (it waited for them forever: `fpga-gzip -dc | head` hung when
  // the writer's EPIPE came while jobs were queued).
  void drain() {
    std::unique_lock<std::mutex> lk(mu_);
    while (!broken_ && next_consume_ < next_submit_) deliver_one(lk);
  }

 private:
  enum class State { empty, pending, done, failed };
  struct Slot {
    State state = State::empty;
    std::optional<Result> result;
    std::exception_ptr error;
  };

  void deliver_one(std::unique_lock<std::mutex>& lk) {
    Slot& s = slots_[next_consume_ % slots_.size()];
    done_cv_.wait(lk, [&] { return s.state != State::pending; });
    if (s.state == State::failed) {
      broken_ = true;
      // Stop: drop queued work so the pool winds down promptly.
      queue_.clear();
      std::rethrow_exception(s.error);
    }
    Result r = std::move(*s.result);
    s.result.reset();
    s.state = State::empty;
    ++next_consume_;
    lk.unlock();
    try {
      consume_(r);
    } catch (...) {
      lk.lock();
      broken_ = true;
      queue_.clear();
      throw;
    }
    lk.lock();
  }

  void work() {
    std::unique_lock<std::mutex> lk(mu_);
    for (;;) {
      cv_.wait(lk, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;
      auto [seq, job] = std::move(queue_.front());
      queue_.pop_front();
      lk.unlock();
      std::optional<Result> r;
      std::exception_ptr err;
      try {
        r.emplace(job());
      } catch (...) {
        err = std::current_exception();
      }
      lk.lock();
      Slot& s = slots_[seq % slots_.size()];
      if (err) {
        s.error = err;
        s.state = State::failed;
      } else {
        s.result = std::move(r);
        s.state = State::done;
      }
      done_cv_.notify_all();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_, done_cv_;
  std::deque<std::pair<std::uint64_t, Job>> queue_;
  std::vector<Slot> slots_;
  std::uint64_t next_submit_ = 0, next_consume_ = 0;
  bool stop_ = false;
  bool broken_ = false;  // a delivery threw: the queue was dropped, nothing more is delivered
  Consumer consume_;
  std::vector<std::thread> workers_;
};

}  // namespace fpgaio
