#include "report/output.hh"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

extern char** environ;

namespace provledger::report {
namespace fs = std::filesystem;

namespace {

std::string Errno(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// Runs git with `args` (no shell); returns stdout. `env` entries are added to
// the environment. Throws OutputError with git's stderr on a non-zero exit.
std::string Git(const std::vector<std::string>& args, const std::vector<std::string>& env = {}) {
  std::vector<std::string> argv_s = {"git"};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_s;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv = *e;
    bool overridden = false;
    for (const auto& add : env) {
      if (kv.compare(0, add.find('=') + 1, add, 0, add.find('=') + 1) == 0) overridden = true;
    }
    if (!overridden) env_s.push_back(kv);
  }
  env_s.insert(env_s.end(), env.begin(), env.end());
  std::vector<char*> envp;
  for (auto& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);

  char out_tpl[] = "/tmp/provledger_report_git_outXXXXXX";
  char err_tpl[] = "/tmp/provledger_report_git_errXXXXXX";
  Fd out{::mkstemp(out_tpl)}, err{::mkstemp(err_tpl)};
  if (out.fd < 0 || err.fd < 0) throw OutputError(Errno("cannot create a temporary file for", "git"));
  ::unlink(out_tpl);
  ::unlink(err_tpl);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out.fd, 1);
  posix_spawn_file_actions_adddup2(&fa, err.fd, 2);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, "git", &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) throw OutputError(std::string("cannot run git: ") + std::strerror(rc));
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw OutputError(Errno("waitpid failed for", "git"));
  }
  auto slurp = [](int fd) {
    std::string s;
    ::lseek(fd, 0, SEEK_SET);
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0) s.append(buf, static_cast<std::size_t>(n));
    return s;
  };
  std::string o = slurp(out.fd);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::string e = slurp(err.fd);
    while (!e.empty() && (e.back() == '\n' || e.back() == ' ')) e.pop_back();
    std::string cmd = "git";
    for (const auto& a : args) cmd += " " + a;
    throw OutputError(cmd + " failed: " + (e.empty() ? std::string("exit status ") + std::to_string(WEXITSTATUS(status)) : e));
  }
  while (!o.empty() && o.back() == '\n') o.pop_back();
  return o;
}

}  // namespace

void WriteFileAtomic(const std::string& path, const std::string& content) {
  const fs::path p(path);
  const fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
  std::string tmp = (dir / ("." + p.filename().string() + ".tmpXXXXXX")).string();
  Fd f{::mkstemp(tmp.data())};
  if (f.fd < 0) throw OutputError(Errno("cannot create a temporary file in", dir.string()));
  auto fail = [&](const std::string& what) {
    std::string msg = Errno(what, tmp);
    ::unlink(tmp.c_str());
    throw OutputError(msg);
  };
  ::fchmod(f.fd, 0644);
  std::size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(f.fd, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("cannot write");
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(f.fd) != 0) fail("cannot fsync");
  if (::close(f.fd) != 0) {
    f.fd = -1;
    fail("cannot close");
  }
  f.fd = -1;
  if (::rename(tmp.c_str(), path.c_str()) != 0) fail("cannot rename to " + path + ":");
  Fd d{::open(dir.c_str(), O_RDONLY | O_DIRECTORY)};
  if (d.fd >= 0) ::fsync(d.fd);
}

std::optional<std::string> FindPrevious(const std::string& dir, const std::string& date) {
  std::string want = date;
  want.erase(std::remove(want.begin(), want.end(), '-'), want.end());
  std::error_code ec;
  if (!fs::exists(dir, ec)) return std::nullopt;
  std::optional<std::string> best;
  std::string best_date;
  fs::directory_iterator it(dir, ec);
  if (ec) throw OutputError("cannot read output directory " + dir + ": " + ec.message());
  for (const auto& e : it) {
    // coverage-YYYYMMDD.json: 8 digits between the fixed prefix and suffix.
    const std::string name = e.path().filename().string();
    constexpr std::string_view kPrefix = "coverage-", kSuffix = ".json";
    if (name.size() != kPrefix.size() + 8 + kSuffix.size() || !name.starts_with(kPrefix) ||
        !name.ends_with(kSuffix)) {
      continue;
    }
    const std::string d = name.substr(kPrefix.size(), 8);
    if (!std::all_of(d.begin(), d.end(), [](char c) { return c >= '0' && c <= '9'; })) continue;
    if (d < want && d > best_date) {
      best_date = d;
      best = e.path().string();
    }
  }
  return best;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw OutputError(Errno("cannot read", path));
  std::ostringstream s;
  s << in.rdbuf();
  if (in.bad()) throw OutputError(Errno("cannot read", path));
  return s.str();
}

void CheckGitTarget(const std::string& git_dir, const std::string& output_dir) {
  const std::string top = Git({"-C", git_dir, "rev-parse", "--show-toplevel"});
  std::error_code ec;
  const fs::path top_real = fs::canonical(top, ec);
  if (ec) throw OutputError("cannot resolve the work tree " + top + ": " + ec.message());
  const fs::path out = fs::weakly_canonical(fs::absolute(output_dir), ec);
  if (ec) throw OutputError("cannot resolve " + output_dir + ": " + ec.message());
  const fs::path rel = out.lexically_relative(top_real);
  if (rel.empty() || rel.begin()->string() == "..") {
    throw OutputError("--output-dir " + output_dir + " is outside the work tree of " + top +
                      " (--git-dir); the report must be written inside the checkout");
  }
}

std::string CommitFiles(const std::string& git_dir, const std::string& branch,
                        const std::vector<std::string>& files, const std::string& message) {
  std::error_code ec;
  const std::string top = Git({"-C", git_dir, "rev-parse", "--show-toplevel"});
  const fs::path top_real = fs::canonical(top, ec);
  if (ec) throw OutputError("cannot resolve the work tree " + top + ": " + ec.message());
  Git({"-C", git_dir, "check-ref-format", "--branch", branch});

  char idx_tpl[] = "/tmp/provledger_report_indexXXXXXX";
  Fd idx{::mkstemp(idx_tpl)};
  if (idx.fd < 0) throw OutputError(Errno("cannot create a temporary index", "/tmp"));
  const std::string index = idx_tpl;
  ::unlink(index.c_str());   // git creates it; only the name is needed
  struct Cleanup {
    std::string path;
    ~Cleanup() { ::unlink(path.c_str()); }
  } cleanup{index};
  const std::vector<std::string> env = {"GIT_INDEX_FILE=" + index};

  std::string parent;
  try {
    parent = Git({"-C", git_dir, "rev-parse", "--verify", "--quiet", "refs/heads/" + branch + "^{commit}"});
  } catch (const OutputError&) {
    try {
      parent = Git({"-C", git_dir, "rev-parse", "--verify", "--quiet", "HEAD^{commit}"});
    } catch (const OutputError&) {
      parent.clear();   // unborn HEAD: a root commit
    }
  }
  if (!parent.empty()) Git({"-C", git_dir, "read-tree", parent}, env);
  for (const std::string& f : files) {
    const fs::path real = fs::canonical(f, ec);
    if (ec) throw OutputError("cannot resolve " + f + ": " + ec.message());
    const fs::path rel = real.lexically_relative(top_real);
    if (rel.empty() || rel.begin()->string() == "..") {
      throw OutputError(f + " is outside the work tree of " + top + " (--output-dir must be inside --git-dir)");
    }
    const std::string blob = Git({"-C", git_dir, "hash-object", "-w", "--", real.string()});
    Git({"-C", git_dir, "update-index", "--add", "--cacheinfo", "100644," + blob + "," + rel.string()}, env);
  }
  const std::string tree = Git({"-C", git_dir, "write-tree"}, env);
  auto config = [&](const std::string& key) {
    try {
      return Git({"-C", git_dir, "config", "--get", key});
    } catch (const OutputError&) {
      return std::string();
    }
  };
  std::string name = config("user.name"), email = config("user.email");
  if (name.empty()) name = "provledger_report";
  if (email.empty()) email = "provledger-report@localhost";
  const std::vector<std::string> ident_env = {"GIT_AUTHOR_NAME=" + name, "GIT_AUTHOR_EMAIL=" + email,
                                              "GIT_COMMITTER_NAME=" + name, "GIT_COMMITTER_EMAIL=" + email};
  // The message goes through a file (-F) so that no length or quoting limit applies.
  char msg_tpl[] = "/tmp/provledger_report_msgXXXXXX";
  Fd msg{::mkstemp(msg_tpl)};
  if (msg.fd < 0) throw OutputError(Errno("cannot create a temporary file", "/tmp"));
  Cleanup msg_cleanup{msg_tpl};
  if (::write(msg.fd, message.data(), message.size()) != static_cast<ssize_t>(message.size())) {
    throw OutputError(Errno("cannot write", msg_tpl));
  }
  std::vector<std::string> args = {"-C", git_dir, "commit-tree", tree, "-F", msg_tpl};
  if (!parent.empty()) {
    args.push_back("-p");
    args.push_back(parent);
  }
  const std::string commit = Git(args, ident_env);
  std::vector<std::string> update = {"-C", git_dir, "update-ref", "-m", "provledger_report", "refs/heads/" + branch, commit};
  Git(update);
  return commit;
}

}  // namespace provledger::report
