// TempPostgres: a throwaway PostgreSQL server for tests. The constructor
// runs initdb into a fresh temp dir (trust auth for 127.0.0.1 and a unix
// socket dir inside the temp dir), starts the server on a free loopback
// port (outside the kernel's ephemeral range; a start that cannot bind its
// port is retried on another one, up to 8 times) and waits until it accepts
// connections; the destructor stops it (by
// its own data dir/pid) and removes the dir. Stop()/Start() restart the SAME
// data dir on the SAME port (outage tests).
//
// Server settings: listen_addresses=127.0.0.1, fsync/synchronous_commit/
// full_page_writes off (speed; data is thrown away), shared_preload_libraries
// =pg_stat_statements (benchmarks), plus Options::settings.
//
// PostgreSQL refuses to run as root: when euid == 0 every server command
// runs through `runuser -u postgres --` and the dir is chowned to postgres.
// Binaries: $PROVLEDGER_PG_BINDIR, else the newest /usr/lib/postgresql/*/bin.
//
// Errors throw std::runtime_error (with the server log tail when the server
// does not start). Not thread-safe; one object per server.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace provledger::testing {

class TempPostgres {
 public:
  struct Options {
    // pg_hba.conf lines placed BEFORE the default trust lines, e.g.
    // "host all pwuser 127.0.0.1/32 scram-sha-256".
    std::vector<std::string> hba_lines;
    // Extra postgresql.conf lines, e.g. "max_connections = 20".
    std::vector<std::string> settings;
    // Ports tried first, as given and without the free check (tests of the
    // bind retry); then ports from FreeLoopbackPort().
    std::vector<int> try_ports;
  };

  TempPostgres();
  explicit TempPostgres(Options options);
  ~TempPostgres();
  TempPostgres(const TempPostgres&) = delete;
  TempPostgres& operator=(const TempPostgres&) = delete;

  int port() const { return port_; }
  const std::string& dir() const { return dir_; }          // temp dir (data/, sock/, server.log)
  std::string socket_dir() const { return dir_ + "/sock"; }
  bool running() const { return running_; }

  // libpq key=value DSN over TCP loopback (superuser "postgres", no password).
  std::string Dsn(const std::string& db = "postgres", const std::string& user = "postgres") const;

  // CREATE DATABASE name <extra> (e.g. "ENCODING 'SQL_ASCII' TEMPLATE template0").
  void CreateDatabase(const std::string& name, const std::string& extra = "");
  // Runs `sql` (may hold several statements) in `db` as superuser.
  void Exec(const std::string& db, const std::string& sql);
  // Runs the SQL file at `path` in `db`.
  void RunSqlFile(const std::string& db, const std::string& path);

  // Fast shutdown; waits until the server is gone. No-op when stopped.
  void Stop();
  // Starts the same data dir on the same port; waits until ready.
  void Start();

  // The last `bytes` of the server log.
  std::string LogTail(std::size_t bytes = 4000) const;

 private:
  void InitDb();
  void WriteConfig();
  // 0 = running; 2 = the port could not be bound; 1 = another failure.
  int TryStart(std::string* error);

  Options options_;
  std::string bindir_;
  std::string dir_;
  int port_ = 0;
  bool running_ = false;
};

// The kernel's ephemeral port range (/proc/sys/net/ipv4/ip_local_port_range;
// 32768-60999 when unreadable): outgoing connections take their local ports
// there, so a server port chosen inside it can be taken before the bind.
std::pair<int, int> EphemeralPortRange();

// Port number `n` (any value; taken modulo the candidates) of the candidates
// for servers: [20000, lo) and (hi, 65535] for the ephemeral range [lo, hi];
// all of [20000, 65535] when both are empty. Pure (tested).
int PortOutsideRange(std::uint64_t n, std::pair<int, int> ephemeral);

// A random TCP port on 127.0.0.1 outside the ephemeral range that could be
// bound just now (checked by binding it; another process may still take it
// before the server binds: TempPostgres retries on a bind failure).
int FreeLoopbackPort();

}  // namespace provledger::testing
