#include "config/yaml_document.hh"

#include <yaml-cpp/eventhandler.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>

namespace provledger::config {
namespace {

// Records where the document it is fed starts; builds nothing.
class DocumentStart : public YAML::EventHandler {
 public:
  YAML::Mark mark;
  void OnDocumentStart(const YAML::Mark& m) override { mark = m; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

void SetPosition(YamlDocument& d, const YAML::Mark& m) {
  d.line = m.line >= 0 ? m.line + 1 : 1;
  d.column = m.column >= 0 ? m.column + 1 : 1;
}

}  // namespace

YamlDocument LoadSingleYamlDocument(std::string_view text, std::size_t max_bytes) {
  YamlDocument d;
  if (text.size() > max_bytes) {
    d.message = "file is " + std::to_string(text.size()) + " bytes; the limit is " + std::to_string(max_bytes);
    return d;
  }
  const std::string copy(text);
  try {
    d.root = YAML::Load(copy);   // the first document only
    // Count documents without building them, and stop at the second: never
    // more than two pulls, whatever the text.
    std::istringstream in(copy);
    YAML::Parser parser(in);
    DocumentStart first;
    DocumentStart second;
    if (parser.HandleNextDocument(first) && parser.HandleNextDocument(second)) {
      SetPosition(d, second.mark);
      d.message = "only one YAML document is allowed in this file";
      return d;
    }
  } catch (const YAML::Exception& e) {
    SetPosition(d, e.mark);
    d.message = "YAML syntax error: " + e.msg;
    return d;
  }
  d.ok = true;
  return d;
}

std::string ReadBoundedFile(const std::string& path, std::size_t max_bytes, std::string& out,
                            std::string_view what) {
  out.clear();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "cannot read " + std::string(what) + ": " + std::strerror(errno);
  char buf[65536];
  std::string error;
  while (out.size() <= max_bytes) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      error = "cannot read " + std::string(what) + ": " + std::strerror(errno);
      break;
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  if (error.empty() && out.size() > max_bytes) error = std::string(what) + " is larger than " + std::to_string(max_bytes) + " bytes";
  if (!error.empty()) out.clear();
  return error;
}

}  // namespace provledger::config
