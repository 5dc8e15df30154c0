#include "http/request.hh"

#include <charconv>
#include <ctime>

namespace provledger::http {

namespace {

bool IsTchar(unsigned char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '.': case '^': case '_': case '`': case '|': case '~':
      return true;
    default:
      return false;
  }
}

bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s) {
    if (!IsTchar(c)) return false;
  }
  return true;
}

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Visible ASCII that may appear in a request-target (RFC 3986 characters);
// no spaces, controls, or bytes >= 0x80.
bool IsTargetChar(unsigned char c) { return c > 0x20 && c < 0x7f && c != '"' && c != '<' && c != '>' && c != '\\' && c != '^' && c != '`' && c != '{' && c != '|' && c != '}'; }

ParseResult Error(int status, std::string why) {
  ParseResult r;
  r.state = ParseState::kError;
  r.error_status = status;
  r.error = std::move(why);
  return r;
}

// Percent-decodes a path; false on an invalid escape or a decoded control.
bool DecodePath(std::string_view raw, std::string& out) {
  out.clear();
  out.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (c == '%') {
      if (i + 2 >= raw.size()) return false;
      const int hi = HexValue(raw[i + 1]);
      const int lo = HexValue(raw[i + 2]);
      if (hi < 0 || lo < 0) return false;
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    }
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return false;
    out.push_back(c);
  }
  return true;
}

// Finds the end of the next line starting at `pos`: the index of its '\n'.
std::size_t LineEnd(std::string_view buf, std::size_t pos) { return buf.find('\n', pos); }

// The line [pos, nl) without a trailing CR.
std::string_view LineAt(std::string_view buf, std::size_t pos, std::size_t nl) {
  std::string_view line = buf.substr(pos, nl - pos);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

}  // namespace

std::optional<std::string_view> Request::Header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return std::string_view(value);
  }
  return std::nullopt;
}

Response Response::Text(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

ParseResult ParseRequest(std::string_view buf, const RequestLimits& limits) {
  // RFC 9112 2.2: ignore at least one empty line before the request line.
  std::size_t start = 0;
  while (start < buf.size() && start < 4 && (buf[start] == '\r' || buf[start] == '\n')) ++start;

  // --- request line
  const std::size_t nl = LineEnd(buf, start);
  if (nl == std::string_view::npos) {
    if (buf.size() - start > limits.max_target_bytes) return Error(414, "request line too long");
    if (buf.size() > limits.max_header_bytes) return Error(431, "request header too large");
    return {};
  }
  if (nl - start > limits.max_target_bytes) return Error(414, "request line too long");
  const std::string_view line = LineAt(buf, start, nl);
  const std::size_t sp1 = line.find(' ');
  const std::size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
    return Error(400, "malformed request line");
  }
  const std::string_view method = line.substr(0, sp1);
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (!IsToken(method)) return Error(400, "malformed method");
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[6] != '.' || version[5] < '0' ||
      version[5] > '9' || version[7] < '0' || version[7] > '9') {
    return Error(400, "malformed HTTP version");
  }
  if (version[5] != '1') return Error(505, "HTTP version not supported");
  if (target.empty()) return Error(400, "empty request target");
  for (unsigned char c : target) {
    if (!IsTargetChar(c)) return Error(400, "invalid character in request target");
  }

  Request req;
  req.method = std::string(method);
  req.target = std::string(target);
  req.minor_version = version[7] == '0' ? 0 : 1;

  std::string_view path_and_query;
  if (target == "*") {
    if (method != "OPTIONS") return Error(400, "\"*\" is only valid with OPTIONS");
    req.path.assign(1, '*');
  } else if (target.front() == '/') {
    path_and_query = target;
  } else {
    // absolute-form: scheme "://" authority [path-abempty] ["?" query]
    const std::size_t scheme_end = target.find("://");
    if (scheme_end == std::string_view::npos ||
        !(EqualsIgnoreCase(target.substr(0, scheme_end), "http") ||
          EqualsIgnoreCase(target.substr(0, scheme_end), "https"))) {
      return Error(400, "request target must be origin-form, absolute-form or *");
    }
    const std::string_view rest = target.substr(scheme_end + 3);
    const std::size_t path_start = rest.find_first_of("/?");
    const std::string_view authority = rest.substr(0, path_start);
    if (authority.empty() || authority.find('@') != std::string_view::npos) {
      return Error(400, "invalid authority in absolute-form target");
    }
    if (path_start == std::string_view::npos) {
      path_and_query = "/";
    } else if (rest[path_start] == '?') {
      path_and_query = rest.substr(path_start);  // "?q": path "/" is added below
    } else {
      path_and_query = rest.substr(path_start);
    }
  }
  if (req.path != "*") {
    const std::size_t q = path_and_query.find('?');
    std::string_view raw_path = path_and_query.substr(0, q);
    if (q != std::string_view::npos) req.query = std::string(path_and_query.substr(q + 1));
    if (raw_path.empty()) raw_path = "/";
    if (path_and_query.find('#') != std::string_view::npos) return Error(400, "fragment in request target");
    if (!DecodePath(raw_path, req.path)) return Error(400, "invalid percent-encoding or control character in path");
  }

  // --- header fields
  std::size_t pos = nl + 1;
  bool host_seen = false;
  std::optional<std::uint64_t> content_length;
  bool connection_close = false;
  bool connection_keep_alive = false;
  for (;;) {
    const std::size_t end = LineEnd(buf, pos);
    if (end == std::string_view::npos) {
      if (buf.size() > limits.max_header_bytes) return Error(431, "request header too large");
      return {};
    }
    if (end + 1 > limits.max_header_bytes) return Error(431, "request header too large");
    const std::string_view field = LineAt(buf, pos, end);
    pos = end + 1;
    if (field.empty()) break;
    if (req.headers.size() >= limits.max_header_fields) return Error(431, "too many header fields");
    if (field.front() == ' ' || field.front() == '\t') return Error(400, "obsolete line folding");
    const std::size_t colon = field.find(':');
    if (colon == std::string_view::npos) return Error(400, "header field without colon");
    const std::string_view name = field.substr(0, colon);
    if (!IsToken(name)) return Error(400, "malformed header field name");
    const std::string_view value = TrimOws(field.substr(colon + 1));
    for (char c : value) {
      if (c == '\0' || c == '\r' || c == '\n') return Error(400, "invalid character in header field value");
    }
    std::string lname(name);
    for (char& c : lname) c = Lower(c);
    if (lname == "host") {
      if (host_seen) return Error(400, "more than one Host header");
      host_seen = true;
    } else if (lname == "content-length") {
      std::uint64_t n = 0;
      const auto r = std::from_chars(value.data(), value.data() + value.size(), n);
      if (value.empty() || r.ec != std::errc() || r.ptr != value.data() + value.size()) {
        return Error(400, "malformed Content-Length");
      }
      if (content_length && *content_length != n) return Error(400, "conflicting Content-Length");
      content_length = n;
    } else if (lname == "transfer-encoding") {
      return Error(501, "Transfer-Encoding is not supported");
    } else if (lname == "connection") {
      // A comma-separated list of options.
      std::string_view rest = value;
      while (!rest.empty()) {
        const std::size_t comma = rest.find(',');
        const std::string_view opt = TrimOws(rest.substr(0, comma));
        if (EqualsIgnoreCase(opt, "close")) connection_close = true;
        if (EqualsIgnoreCase(opt, "keep-alive")) connection_keep_alive = true;
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
      }
    }
    req.headers.emplace_back(std::move(lname), std::string(value));
  }
  if (req.minor_version == 1 && !host_seen) return Error(400, "missing Host header");
  req.keep_alive = req.minor_version == 1 ? !connection_close : (connection_keep_alive && !connection_close);

  // --- body
  const std::uint64_t length = content_length.value_or(0);
  if (length > limits.max_body_bytes) return Error(413, "request body too large");
  if (buf.size() - pos < length) return {};
  req.body = std::string(buf.substr(pos, static_cast<std::size_t>(length)));

  ParseResult r;
  r.state = ParseState::kComplete;
  r.consumed = pos + static_cast<std::size_t>(length);
  r.request = std::move(req);
  return r;
}

std::string_view ReasonPhrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

namespace {
bool SafeHeaderText(std::string_view s) {
  for (char c : s) {
    if (c == '\r' || c == '\n' || c == '\0') return false;
  }
  return true;
}
}  // namespace

std::string SerializeHead(const Response& response, std::string_view http_date, bool close) {
  const int status = response.status >= 100 && response.status <= 999 ? response.status : 500;
  std::string out;
  out.reserve(256);
  out += "HTTP/1.1 ";
  out += std::to_string(status);
  out += ' ';
  out += ReasonPhrase(status);
  out += "\r\n";
  if (!response.content_type.empty() && SafeHeaderText(response.content_type)) {
    out += "Content-Type: ";
    out += response.content_type;
    out += "\r\n";
  }
  for (const auto& [name, value] : response.headers) {
    if (!IsToken(name) || !SafeHeaderText(value)) continue;
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  }
  out += "Content-Length: ";
  out += std::to_string(response.Body().size());
  out += "\r\n";
  if (!http_date.empty()) {
    out += "Date: ";
    out += http_date;
    out += "\r\n";
  }
  if (close) out += "Connection: close\r\n";
  out += "\r\n";
  return out;
}

std::string FormatHttpDate(std::int64_t unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  char date[64];
  if (gmtime_r(&t, &tm) == nullptr || std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm) == 0) {
    return {};
  }
  return date;
}

}  // namespace provledger::http
