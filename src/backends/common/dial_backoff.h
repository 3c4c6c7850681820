// DialBackoff: when a socket backend may dial again after failed dials
// (docs/compatibility.md#decision-5): not before `initial` after the first failure, the wait
// doubling with every further failed dial up to `max`; a successful dial resets it. A dial that
// fails while the wait has not run out (the one immediate retry of a flush, or a dial at shutdown)
// does not lengthen it. Owned by a TcpClient on its backend's thread; Interrupt() may be called
// from any thread (shutdown) and ends the current wait and every later one.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace cstatsd::backends {

class DialBackoff {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::milliseconds kInitial{500};
  static constexpr std::chrono::milliseconds kMax{30000};

  explicit DialBackoff(std::chrono::nanoseconds initial = kInitial,
                       std::chrono::nanoseconds max = kMax)
      : initial_(initial), max_(max) {}

  // A dial failed at `now`: unless now is before next_dial(), the next dial waits until now +
  // the current delay, which doubles.
  void Failed(Clock::time_point now = Clock::now());
  // A dial succeeded: the next failure waits `initial` again.
  void Succeeded();
  // When the next dial may start (epoch when it may start at once).
  Clock::time_point next_dial() const;
  // The delay the next failure will impose.
  std::chrono::nanoseconds delay() const;

  // Blocks until next_dial() or Interrupt(). Returns false when interrupted.
  bool Wait();
  void Interrupt();
  bool interrupted() const;

 private:
  const std::chrono::nanoseconds initial_;
  const std::chrono::nanoseconds max_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::chrono::nanoseconds delay_{initial_};
  Clock::time_point next_dial_{};
  bool interrupted_ = false;
};

}  // namespace cstatsd::backends
