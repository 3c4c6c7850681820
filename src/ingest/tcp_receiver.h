// TcpReceiver: statsd lines over TCP (a cstatsd extension; gostatsd has no TCP input). One
// thread polls the listening socket, every connection and its Worker's wake-up eventfd; complete
// lines are fed to that Worker (which owns the maps and the hand-over, as for UDP); a partial
// last line waits for the rest. With a TLS context every connection is TLS (handshake included
// in the same non-blocking loop). Run() is the thread body; the Worker's Stop() ends it.
#pragma once

#include <poll.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "ingest/worker.h"
#include "tls/tls.h"

namespace cstatsd::ingest {

// A listening TCP socket on host:port ("127.0.0.1:0" picks a port).
Result<int> OpenTcpListener(const std::string& address);

class TcpReceiver {
 public:
  // `max_line`: a line longer than this is a bad line (the connection goes on after it).
  TcpReceiver(int listen_fd, Worker* worker, size_t max_line,
              std::shared_ptr<tls::TlsContext> tls = {}, size_t max_connections = 1024);
  ~TcpReceiver();

  void Run();

 private:
  struct Connection {
    int fd;
    std::string sender;
    std::string buffer;     // bytes of an incomplete last line
    bool skipping = false;  // inside an over-long line: drop bytes up to the next '\n'
    std::optional<tls::TlsStream> tls;
    short wait_for = POLLIN;  // POLLOUT while a TLS handshake waits to write
  };

  void Accept();
  bool ReadFrom(Connection& c);  // false when the connection is finished
  // One read: >0 bytes, 0 when there is nothing more for now, -1 when the connection ended.
  ssize_t ReadSome(Connection& c, bool& ended);
  void Consume(Connection& c, std::string_view data);

  int listen_fd_;
  Worker* worker_;
  size_t max_line_;
  std::shared_ptr<tls::TlsContext> tls_;
  size_t max_connections_;
  std::vector<Connection> connections_;
  std::vector<char> chunk_;
};

}  // namespace cstatsd::ingest
