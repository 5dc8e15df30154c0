// Files of the coverage report: atomic writes, the previous report in the
// output directory, and the commit on a branch of a local git checkout.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace provledger::report {

class OutputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Writes `content` to `path` atomically: a temporary file in the same
// directory, fsync, rename over `path`, fsync of the directory. On failure
// the temporary file is removed and `path` is untouched. Throws OutputError.
void WriteFileAtomic(const std::string& path, const std::string& content);

// The newest coverage-YYYYMMDD.json in `dir` dated before `date`
// (YYYY-MM-DD), or nullopt. Other files are ignored. Throws OutputError when
// the directory exists but cannot be read.
std::optional<std::string> FindPrevious(const std::string& dir, const std::string& date);

std::string ReadFile(const std::string& path);   // throws OutputError

// Commits `files` (paths inside the work tree of the git checkout `git_dir`)
// on `branch`: its tip as parent when the branch exists, else HEAD (an
// unborn HEAD gives a root commit). Uses the git command with a temporary
// index, so neither the checkout's index, work tree nor HEAD is touched.
// Author/committer: the repository's user.name/user.email when set, else
// "provledger_report <provledger-report@localhost>". Returns the new commit
// id. Throws OutputError with git's message.
// Checks, before anything is read, that `git_dir` is a git checkout and that
// `output_dir` lies inside its work tree. Throws OutputError.
void CheckGitTarget(const std::string& git_dir, const std::string& output_dir);

std::string CommitFiles(const std::string& git_dir, const std::string& branch,
                        const std::vector<std::string>& files, const std::string& message);

}  // namespace provledger::report
