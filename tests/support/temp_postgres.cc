#include "temp_postgres.hh"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libpq-fe.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

namespace provledger::testing {
namespace fs = std::filesystem;
namespace {

std::string FindBindir() {
  if (const char* e = std::getenv("PROVLEDGER_PG_BINDIR"); e && *e) return e;
  std::string best;
  int best_version = -1;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    const std::string name = entry.path().filename().string();
    const int v = std::atoi(name.c_str());
    if (v > best_version && fs::exists(entry.path() / "bin" / "postgres")) {
      best_version = v;
      best = (entry.path() / "bin").string();
    }
  }
  if (best.empty()) throw std::runtime_error("no PostgreSQL server binaries under /usr/lib/postgresql");
  return best;
}

bool IsRoot() { return ::geteuid() == 0; }

constexpr int kStartAttempts = 8;

// Runs argv (as postgres when root) and returns its exit status; output
// (stdout+stderr) into *output.
int Run(std::vector<std::string> argv, std::string* output) {
  if (IsRoot()) argv.insert(argv.begin(), {"runuser", "-u", "postgres", "--"});
  int fds[2];
  if (::pipe(fds) != 0) throw std::runtime_error("pipe failed");
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    ::dup2(fds[1], 1);
    ::dup2(fds[1], 2);
    ::close(fds[0]);
    ::close(fds[1]);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, 0);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    std::fprintf(stderr, "exec %s: %s\n", args[0], std::strerror(errno));
    ::_exit(127);
  }
  ::close(fds[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)) {
    if (n > 0) out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (output) *output = out;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void ChownToPostgres(const std::string& path) {
  if (!IsRoot()) return;
  struct passwd* pw = ::getpwnam("postgres");
  if (!pw) throw std::runtime_error("running as root but there is no 'postgres' user");
  if (::chown(path.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
    throw std::runtime_error("chown " + path + ": " + std::strerror(errno));
  }
}

std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

std::pair<int, int> EphemeralPortRange() {
  std::ifstream in("/proc/sys/net/ipv4/ip_local_port_range");
  int lo = 0, hi = 0;
  if (in >> lo >> hi && lo > 0 && hi >= lo && hi <= 65535) return {lo, hi};
  return {32768, 60999};
}

int PortOutsideRange(std::uint64_t n, std::pair<int, int> ephemeral) {
  constexpr int kLow = 20000, kHigh = 65535;
  std::vector<std::pair<int, int>> ranges;
  if (ephemeral.first - 1 >= kLow) ranges.emplace_back(kLow, std::min(ephemeral.first - 1, kHigh));
  if (ephemeral.second + 1 <= kHigh) ranges.emplace_back(std::max(ephemeral.second + 1, kLow), kHigh);
  if (ranges.empty()) ranges.emplace_back(kLow, kHigh);
  std::uint64_t total = 0;
  for (const auto& [lo, hi] : ranges) total += static_cast<std::uint64_t>(hi - lo + 1);
  n %= total;
  for (const auto& [lo, hi] : ranges) {
    const auto size = static_cast<std::uint64_t>(hi - lo + 1);
    if (n < size) return lo + static_cast<int>(n);
    n -= size;
  }
  return kLow;   // not reached
}

namespace {

bool CanBind(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

int FreeLoopbackPort() {
  static std::mt19937_64 rng{std::random_device{}() ^ static_cast<std::uint64_t>(::getpid())};
  const auto ephemeral = EphemeralPortRange();
  for (int i = 0; i < 200; ++i) {
    const int port = PortOutsideRange(rng(), ephemeral);
    if (CanBind(port)) return port;
  }
  throw std::runtime_error("no free loopback port outside the ephemeral range");
}

TempPostgres::TempPostgres() : TempPostgres(Options{}) {}

TempPostgres::TempPostgres(Options options) : options_(std::move(options)), bindir_(FindBindir()) {
  std::string tmpl = (fs::temp_directory_path() / "provledger-pg-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  try {
    ::chmod(dir_.c_str(), 0700);
    ChownToPostgres(dir_);
    fs::create_directory(socket_dir());
    ChownToPostgres(socket_dir());
    InitDb();
    std::string error;
    std::size_t next_try = 0;
    for (int attempt = 1;; ++attempt) {
      port_ = next_try < options_.try_ports.size() ? options_.try_ports[next_try++] : FreeLoopbackPort();
      WriteConfig();
      const int rc = TryStart(&error);
      if (rc == 0) return;
      // Another process took the port between the choice and the bind: another port.
      if (rc != 2 || attempt == kStartAttempts) break;
      std::fprintf(stderr, "TempPostgres: port %d is in use; retrying on another port\n", port_);
    }
    throw std::runtime_error("PostgreSQL did not start: " + error + "\n--- server log ---\n" + LogTail());
  } catch (...) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
    throw;
  }
}

TempPostgres::~TempPostgres() {
  try {
    Stop();
  } catch (...) {
  }
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

void TempPostgres::InitDb() {
  std::string out;
  const int rc = Run({bindir_ + "/initdb", "-D", dir_ + "/data", "-A", "trust", "-U", "postgres",
                      "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"},
                     &out);
  if (rc != 0) throw std::runtime_error("initdb failed (exit " + std::to_string(rc) + "):\n" + out);
  std::ofstream hba(dir_ + "/data/pg_hba.conf", std::ios::trunc);
  for (const auto& l : options_.hba_lines) hba << l << "\n";
  hba << "local all all trust\n"
      << "host all all 127.0.0.1/32 trust\n";
  if (!hba) throw std::runtime_error("cannot write pg_hba.conf");
}

void TempPostgres::WriteConfig() {
  // postgresql.auto.conf is read last, so these win over postgresql.conf.
  std::ofstream conf(dir_ + "/data/postgresql.auto.conf", std::ios::trunc);
  conf << "listen_addresses = '127.0.0.1'\n"
       << "port = " << port_ << "\n"
       << "unix_socket_directories = " << Quote(socket_dir()) << "\n"
       << "fsync = off\n"
       << "synchronous_commit = off\n"
       << "full_page_writes = off\n"
       << "shared_preload_libraries = 'pg_stat_statements'\n"
       << "max_connections = 60\n"
       << "logging_collector = off\n"
       << "log_min_messages = warning\n";
  for (const auto& s : options_.settings) conf << s << "\n";
  if (!conf) throw std::runtime_error("cannot write postgresql.auto.conf");
  conf.close();
  ChownToPostgres(dir_ + "/data/postgresql.auto.conf");
}

int TempPostgres::TryStart(std::string* error) {
  std::error_code ec;
  std::uintmax_t log_before = fs::file_size(dir_ + "/server.log", ec);
  if (ec) log_before = 0;
  std::string out;
  const int rc = Run({bindir_ + "/pg_ctl", "-D", dir_ + "/data", "-l", dir_ + "/server.log", "-w",
                      "-t", "60", "start"},
                     &out);
  if (rc != 0) {
    *error = "pg_ctl start exit " + std::to_string(rc) + ": " + out;
    // A failed start may leave a postmaster behind only if it got going;
    // pg_ctl -w reports failure when it exited, so nothing to stop here.
    std::string log;
    try {
      log = ReadFile(dir_ + "/server.log");
    } catch (...) {
    }
    if (log.size() > log_before) log = log.substr(static_cast<std::size_t>(log_before));
    for (const char* bind_error : {"could not bind", "Address already in use", "could not create any TCP/IP sockets"}) {
      if (log.find(bind_error) != std::string::npos) return 2;
    }
    return 1;
  }
  running_ = true;
  return 0;
}

void TempPostgres::Start() {
  if (running_) return;
  // Same port (clients know it): a bind failure is retried a few times.
  std::string error;
  for (int attempt = 1;; ++attempt) {
    const int rc = TryStart(&error);
    if (rc == 0) return;
    if (rc != 2 || attempt == 5) break;
    ::sleep(1);
  }
  throw std::runtime_error("PostgreSQL did not restart: " + error + "\n--- server log ---\n" + LogTail());
}

void TempPostgres::Stop() {
  if (!running_) return;
  std::string out;
  const int rc = Run({bindir_ + "/pg_ctl", "-D", dir_ + "/data", "-m", "fast", "-w", "-t", "60", "stop"}, &out);
  if (rc != 0) throw std::runtime_error("pg_ctl stop failed: " + out);
  running_ = false;
}

std::string TempPostgres::Dsn(const std::string& db, const std::string& user) const {
  return "host=127.0.0.1 port=" + std::to_string(port_) + " dbname=" + db + " user=" + user;
}

void TempPostgres::Exec(const std::string& db, const std::string& sql) {
  PGconn* c = PQconnectdb(Dsn(db).c_str());
  if (PQstatus(c) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(c);
    PQfinish(c);
    throw std::runtime_error("cannot connect to " + Dsn(db) + ": " + msg);
  }
  PGresult* r = PQexec(c, sql.c_str());
  const ExecStatusType st = PQresultStatus(r);
  std::string msg = PQresultErrorMessage(r);
  PQclear(r);
  PQfinish(c);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    throw std::runtime_error("SQL failed in " + db + ": " + msg + "SQL: " + sql.substr(0, 300));
  }
}

void TempPostgres::CreateDatabase(const std::string& name, const std::string& extra) {
  Exec("postgres", "CREATE DATABASE \"" + name + "\" " + extra);
}

void TempPostgres::RunSqlFile(const std::string& db, const std::string& path) {
  Exec(db, ReadFile(path));
}

std::string TempPostgres::LogTail(std::size_t bytes) const {
  try {
    std::string log = ReadFile(dir_ + "/server.log");
    return log.size() > bytes ? log.substr(log.size() - bytes) : log;
  } catch (...) {
    return "(no server log)";
  }
}

}  // namespace provledger::testing
