// LineAssembler: turns a byte stream (one TCP connection) into runs of complete statsd lines,
// with a bound on line length so that a client that never sends '\n' costs at most `max_line`
// bytes of buffer. Owned by the thread that reads the connection (the TcpReceiver's). No I/O.
#pragma once

#include <cstddef>
#include <cstring>
#include <string>

namespace cstatsd::ingest {

class LineAssembler {
 public:
  explicit LineAssembler(size_t max_line) : max_line_(max_line) {}

  // Feeds received bytes. `lines(char* data, size_t len)` gets runs of complete lines, each run
  // ending with '\n' (the bytes of `data` where possible, else the assembled line; both may be
  // modified by the callee); `too_long()` is called once for each line longer than max_line,
  // whose bytes are then skipped up to its '\n'. Only the unterminated tail is kept.
  template <typename Lines, typename TooLong>
  void Feed(char* data, size_t len, Lines&& lines, TooLong&& too_long) {
    char* p = data;
    char* const end = data + len;
    if (skipping_) {
      char* nl = Find(p, end);
      if (nl == nullptr) return;
      p = nl + 1;
      skipping_ = false;
    }
    if (!tail_.empty() && p < end) {
      // The rest of the line begun by an earlier read.
      char* nl = Find(p, end);
      const size_t n = static_cast<size_t>((nl == nullptr ? end : nl) - p);
      if (tail_.size() + n > max_line_) {
        too_long();
        Drop();
        skipping_ = nl == nullptr;
      } else {
        tail_.append(p, n);
        if (nl == nullptr) return;
        tail_.push_back('\n');
        lines(tail_.data(), tail_.size());
        Drop();
      }
      if (nl == nullptr) return;
      p = nl + 1;
    }
    // Complete lines straight from the read buffer.
    char* last = FindLast(p, end);
    if (last != nullptr) {
      lines(p, static_cast<size_t>(last + 1 - p));
      p = last + 1;
    }
    const size_t rest = static_cast<size_t>(end - p);
    if (rest == 0) return;
    if (rest > max_line_) {
      too_long();
      skipping_ = true;
      return;
    }
    tail_.append(p, rest);
  }

  // End of the stream: the unterminated last line (if any, and not over-long) is a line.
  template <typename Lines>
  void Finish(Lines&& lines) {
    if (!skipping_ && !tail_.empty()) lines(tail_.data(), tail_.size());
    Drop();
    skipping_ = false;
  }

  size_t buffered() const { return tail_.size(); }
  size_t capacity() const { return tail_.capacity(); }
  bool skipping() const { return skipping_; }

 private:
  static char* Find(char* p, char* end) {
    return static_cast<char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
  }
  static char* FindLast(char* p, char* end) {
    return p == end ? nullptr : static_cast<char*>(memrchr(p, '\n', static_cast<size_t>(end - p)));
  }
  // Forgets the tail; a large buffer is released so that idle connections hold little memory.
  void Drop() {
    if (tail_.capacity() > kKeepCapacity) {
      std::string().swap(tail_);
    } else {
      tail_.clear();
    }
  }

  static constexpr size_t kKeepCapacity = 4096;
  size_t max_line_;
  std::string tail_;  // bytes of the unterminated last line, at most max_line_
  bool skipping_ = false;
};

}  // namespace cstatsd::ingest
