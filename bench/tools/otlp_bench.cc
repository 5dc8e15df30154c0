// otlp_bench: the otlp_file trace store's read path (issue 14): spans per
// second parsed and applied from a file, CPU per million spans, peak RSS.
//
//   otlp_bench gen PATH MB [--spans-per-line K] [--seed S]
//       writes ~MB megabytes of Collector-style OTLP/JSON lines (K spans per
//       ExportTraceServiceRequest, default 50; resource + span attributes as
//       an instrumented API writes them, every span an operation).
//   otlp_bench read PATH [--no-engine] [--batch-size N]
//       reads PATH from the start with source::OtlpFileSource (max_rows_per_poll
//       200000, as the exporter) and applies every page to a compute::Engine
//       (--no-engine: pages are dropped), polling until the file is read.
//       Prints one JSON object: spans, seconds (wall), cpu_seconds
//       (user+sys), spans_per_s, cpu_s_per_million, peak_rss_mb (ru_maxrss).
//   otlp_bench parse PATH [--nlohmann]
//       line parsing alone (no file source, no engine) over the file read in
//       1 MiB chunks: decode::OtlpParser (simdjson DOM), or --nlohmann: the
//       same lines through nlohmann::json::parse and a walk to the spans'
//       attributes (the other JSON library the project ships), for comparison.
//
// Build (release libs of a meson build dir B): see bench/lib/build.sh.
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "compute/engine.hh"
#include "decode/otlp.hh"
#include "source/otlp_file_source.hh"

using namespace provledger;

namespace {

struct Rng {
  std::uint64_t s;
  std::uint64_t Next() {
    std::uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
};

std::string Hex(Rng& r, int n) {
  static const char* d = "0123456789abcdef";
  std::string s;
  while (static_cast<int>(s.size()) < n) {
    std::uint64_t v = r.Next();
    for (int i = 0; i < 16 && static_cast<int>(s.size()) < n; ++i, v >>= 4) s += d[v & 15];
  }
  return s;
}

std::string Attr(const std::string& k, const std::string& v) {
  return R"({"key":")" + k + R"(","value":{"stringValue":")" + v + R"("}})";
}

int Gen(const std::string& path, std::int64_t mb, int per_line, std::uint64_t seed) {
  Rng r{seed};
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  const std::int64_t want = mb * 1024 * 1024;
  std::int64_t written = 0, spans = 0;
  std::int64_t t = 1700000000000000000LL;
  while (written < want) {
    const std::string tenant = "tenant-" + std::to_string(r.Next() % 500);
    std::string line = R"({"resourceSpans":[{"resource":{"attributes":[)" + Attr("service.name", "attest-api") + "," +
                       Attr("host.name", "api-7f9c-" + Hex(r, 5)) + "," + Attr("provledger.tenant", tenant) +
                       R"(]},"scopeSpans":[{"scope":{"name":"provledger-api","version":"1.4.2"},"spans":[)";
    for (int i = 0; i < per_line; ++i) {
      if (i) line += ',';
      t += 1000 + static_cast<std::int64_t>(r.Next() % 100000);
      line += R"({"traceId":")" + Hex(r, 32) + R"(","spanId":")" + Hex(r, 16) + R"(","parentSpanId":")" +
              Hex(r, 16) + R"(","name":"POST /v1/attest","kind":2,"startTimeUnixNano":")" + std::to_string(t) +
              R"(","endTimeUnixNano":")" + std::to_string(t + 4000000) + R"(","attributes":[)" +
              Attr("provledger.op_id", "op-" + Hex(r, 16)) + "," +
              Attr("provledger.attested_hash", Hex(r, 64)) + "," + Attr("http.request.method", "POST") + "," +
              R"({"key":"http.response.status_code","value":{"intValue":"200"}}],"status":{}})";
      ++spans;
    }
    line += R"(]}],"schemaUrl":"https://opentelemetry.io/schemas/1.21.0"}]})";
    line += '\n';
    out << line;
    written += static_cast<std::int64_t>(line.size());
  }
  std::printf("{\"bytes\": %lld, \"spans\": %lld}\n", static_cast<long long>(written), static_cast<long long>(spans));
  return 0;
}

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

double PeakRssMb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}

void Report(std::uint64_t spans, double wall, double cpu) {
  std::printf(
      "{\"spans\": %llu, \"seconds\": %.3f, \"cpu_seconds\": %.3f, \"spans_per_s\": %.0f, "
      "\"cpu_s_per_million\": %.3f, \"peak_rss_mb\": %.1f}\n",
      static_cast<unsigned long long>(spans), wall, cpu, static_cast<double>(spans) / wall,
      cpu / (static_cast<double>(spans) / 1e6), PeakRssMb());
}

int Read(const std::string& path, bool engine_on, std::int64_t batch) {
  config::TraceStore t;
  t.name = "otel";
  t.kind = config::TraceKind::kOtlpFile;
  t.otlp.path = path;
  t.batch_size = batch;
  source::SourceOptions o;
  o.log = [](source::LogLevel, std::string_view, const source::LogFields&) {};
  source::OtlpFileSource src(t, o);
  compute::EngineOptions eo;
  eo.sources = {{"otel", SourceKind::kTraces, ""}};
  eo.window = 3600LL * 1000000 * 24 * 365 * 100;   // keep every operation (worst case memory)
  compute::Engine engine(eo);
  std::uint64_t spans = 0;
  src.SetSink([&](source::Batch&& b) {
    auto& tb = std::get<TraceBatch>(b);
    spans += tb.spans.size();
    if (engine_on) engine.ApplyTrace(tb);
  });
  const auto t0 = std::chrono::steady_clock::now();
  const double c0 = CpuSeconds();
  for (;;) {
    auto r = src.Poll();
    if (!r.report.success) {
      std::fprintf(stderr, "poll failed: %s\n", r.report.error.c_str());
      return 1;
    }
    if (!r.more) break;
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  Report(spans, wall, CpuSeconds() - c0);
  return 0;
}

int Parse(const std::string& path, bool nl) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return 1;
  decode::OtlpParser parser(decode::OtlpKeys{}, decode::Limits{});
  std::vector<SpanRow> rows;
  std::string carry;
  std::vector<char> buf((1 << 20) + decode::kOtlpPadding);
  std::uint64_t spans = 0;
  const auto t0 = std::chrono::steady_clock::now();
  const double c0 = CpuSeconds();
  auto line_fn = [&](std::string_view line) {
    if (nl) {
      auto j = nlohmann::json::parse(line);
      for (const auto& rs : j["resourceSpans"]) {
        for (const auto& ss : rs["scopeSpans"]) {
          for (const auto& sp : ss["spans"]) {
            for (const auto& a : sp["attributes"]) {
              if (a["key"] == "provledger.op_id") ++spans;
            }
          }
        }
      }
    } else {
      rows.clear();
      parser.Parse(line, rows);
      spans += rows.size();
    }
  };
  std::size_t n;
  while ((n = std::fread(buf.data(), 1, 1 << 20, f)) > 0) {
    const char* s = buf.data();
    const char* e = s + n;
    while (const char* nlp = static_cast<const char*>(std::memchr(s, '\n', static_cast<std::size_t>(e - s)))) {
      if (!carry.empty()) {
        carry.append(s, nlp);
        const std::size_t len = carry.size();
        carry.append(decode::kOtlpPadding, '\0');
        line_fn(std::string_view(carry.data(), len));
        carry.clear();
      } else {
        line_fn(std::string_view(s, static_cast<std::size_t>(nlp - s)));
      }
      s = nlp + 1;
    }
    carry.append(s, e);
  }
  std::fclose(f);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  Report(spans, wall, CpuSeconds() - c0);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: otlp_bench gen PATH MB [--spans-per-line K] | read PATH [--no-engine] | parse PATH [--nlohmann]\n");
    return 2;
  }
  const std::string cmd = argv[1], path = argv[2];
  auto flag = [&](const char* name) {
    for (int i = 3; i < argc; ++i) {
      if (std::strcmp(argv[i], name) == 0) return true;
    }
    return false;
  };
  auto opt = [&](const char* name, std::int64_t def) {
    for (int i = 3; i + 1 < argc; ++i) {
      if (std::strcmp(argv[i], name) == 0) return std::atoll(argv[i + 1]);
    }
    return static_cast<long long>(def);
  };
  if (cmd == "gen") {
    if (argc < 4) return 2;
    return Gen(path, std::atoll(argv[3]), static_cast<int>(opt("--spans-per-line", 50)),
               static_cast<std::uint64_t>(opt("--seed", 1)));
  }
  if (cmd == "read") return Read(path, !flag("--no-engine"), opt("--batch-size", 5000));
  if (cmd == "parse") return Parse(path, flag("--nlohmann"));
  return 2;
}
