// CaptureWriter: `--capture FILE` (docs/capture.md). Owns one CaptureRing per worker and the
// capture files; its thread (Run, created by the server) moves the rings' datagrams, oldest
// first, into pcapng files of at most `max_file_bytes`, keeping `files` of them (FILE, FILE.1 ...
// FILE.<files-1>). A failed write stops the capture (one log line, a counter), never the server.
// Open, AddRing and Stop are the server's controlling thread's; the counters any thread's.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "capture/capture_ring.h"
#include "capture/pcapng.h"
#include "core/result.h"

namespace cstatsd::capture {

struct CaptureOptions {
  std::string path;                         // capture: the current file
  uint64_t max_file_bytes = 64ULL << 20;    // capture-max-size: bytes per file (at least 1 record)
  int files = 4;                            // capture-files: files kept, the current one included
  size_t ring_bytes = 8 << 20;              // per worker: datagrams waiting for the writer
  std::chrono::milliseconds idle_wait{10};  // the writer's pause when every ring is empty
};

struct CaptureCounters {
  uint64_t written_datagrams = 0;
  uint64_t written_bytes = 0;  // file bytes, headers included
  uint64_t dropped_datagrams = 0;
  uint64_t write_errors = 0;
};

class CaptureWriter {
 public:
  // Opens FILE (mode 0600), moving an existing one to FILE.1 first so that a restart keeps the
  // previous capture. `local` is the server's socket address (the synthesized destination).
  static Result<std::unique_ptr<CaptureWriter>> Open(CaptureOptions options, Endpoint local);
  ~CaptureWriter();
  CaptureWriter(const CaptureWriter&) = delete;
  CaptureWriter& operator=(const CaptureWriter&) = delete;

  // Before Run: a ring for one more worker, owned by the writer.
  CaptureRing* AddRing();

  // Thread body: returns after Stop() once every ring is empty and the file is written.
  void Run();
  // After the workers have stopped, so that Run writes everything they queued.
  void Stop();

  CaptureCounters counters() const;

 private:
  explicit CaptureWriter(CaptureOptions options, Endpoint local);
  Status OpenCurrent();  // rotates the existing files, creates FILE, writes its header
  bool Drain();          // false when every ring was empty
  void Append(const CaptureRing::Entry& e);
  void WriteBuffer();
  void Fail(std::string_view what, std::string_view error);  // stops capturing, logs once

  const CaptureOptions options_;
  const Endpoint local_;
  std::vector<std::unique_ptr<CaptureRing>> rings_;
  int fd_ = -1;
  uint64_t file_bytes_ = 0;    // the current file's bytes, buffered ones included
  uint64_t file_packets_ = 0;  // records in the current file
  std::string buffer_;         // blocks not yet written
  uint64_t buffered_packets_ = 0;
  bool failed_ = false;
  Endpoint source_;  // scratch

  std::atomic<uint64_t> written_datagrams_{0};
  std::atomic<uint64_t> written_bytes_{0};
  std::atomic<uint64_t> dropped_{0};  // after a failure (the rings count theirs)
  std::atomic<uint64_t> write_errors_{0};

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // guarded by mu_
};

}  // namespace cstatsd::capture
