# Sourced by bench/run and bench/profile: installs the Debian packages the
# bench needs and builds the exporter, the simulator, bench/tools/poll_bench
# and bench/tools/engine_mem in $BUILD. Expects ROOT and BUILD.
need_pkgs=()
command -v wrk >/dev/null || need_pkgs+=(wrk)
command -v prometheus-sql-exporter >/dev/null || need_pkgs+=(prometheus-sql-exporter)
command -v prometheus-postgres-exporter >/dev/null || need_pkgs+=(prometheus-postgres-exporter)
command -v valgrind >/dev/null || need_pkgs+=(valgrind)
command -v psql >/dev/null || need_pkgs+=(postgresql-client-15)
[[ -x /usr/lib/postgresql/15/bin/postgres ]] || need_pkgs+=(postgresql-15)
for b in meson ninja c++ pkg-config python3; do command -v $b >/dev/null || need_pkgs+=("$b"); done
if ((${#need_pkgs[@]})); then
  echo "bench: installing ${need_pkgs[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # The packages' services are not wanted: the bench starts its own instances.
  apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi
if ! command -v perf >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends linux-perf >/dev/null 2>&1 \
    || echo "bench: linux-perf not installed (optional)" >&2
fi

# Release build. GCC 12 -O3 raises a false -Wrestrict on "lit" + std::string&&
# (src/source/flags_spec.cc); keep -Werror for everything else.
if [[ ! -f $BUILD/build.ninja ]]; then
  meson setup "$BUILD" "$ROOT" --buildtype=release -Dwerror=true -Dcpp_args=-Wno-error=restrict >&2
fi
ninja -C "$BUILD" -j2 src/app/provledger_exporter tools/provledger_sim >&2

# poll_bench links the exporter's own static libraries (see bench/tools/poll_bench.cc).
mkdir -p "$BUILD/bench"
pb_src=$ROOT/bench/tools/poll_bench.cc
pb_bin=$BUILD/bench/poll_bench
libs=(source config compute render decode pq core)
newest=$pb_src
for l in "${libs[@]}"; do [[ $BUILD/src/$l/lib$l.a -nt $newest ]] && newest=$BUILD/src/$l/lib$l.a; done
if [[ ! -x $pb_bin || $newest -nt $pb_bin ]]; then
  ninja -C "$BUILD" -j2 $(for l in "${libs[@]}"; do echo "src/$l/lib$l.a"; done) >&2
  c++ -std=c++20 -O2 -g -Wall -Wextra -Werror -I "$ROOT/src" -I "$BUILD" -I "$BUILD/src" \
    $(pkg-config --cflags libpq) "$pb_src" -o "$pb_bin" \
    $(for l in "${libs[@]}"; do echo "$BUILD/src/$l/lib$l.a"; done) \
    $(pkg-config --libs libpq yaml-cpp spdlog fmt prometheus-cpp-core zlib) -lpthread
fi

em_bin=$BUILD/bench/engine_mem
if [[ ! -x $em_bin || $ROOT/bench/tools/engine_mem.cc -nt $em_bin || $BUILD/src/compute/libcompute.a -nt $em_bin ]]; then
  c++ -std=c++20 -O2 -Wall -Wextra -Werror -I "$ROOT/src" -I "$BUILD" "$ROOT/bench/tools/engine_mem.cc" -o "$em_bin" \
    "$BUILD/src/compute/libcompute.a" "$BUILD/src/core/libcore.a"
fi


db_bin=$BUILD/bench/decode_bench
if [[ ! -x $db_bin || $ROOT/bench/tools/decode_bench.cc -nt $db_bin || $BUILD/src/decode/libdecode.a -nt $db_bin ]]; then
  ninja -C "$BUILD" -j2 src/decode/libdecode.a src/core/libcore.a >&2
  c++ -std=c++20 -O2 -g -Wall -Wextra -Werror -I "$ROOT/src" -I "$BUILD" "$ROOT/bench/tools/decode_bench.cc" \
    -o "$db_bin" "$BUILD/src/decode/libdecode.a" "$BUILD/src/core/libcore.a"
fi

# otlp_bench: the otlp_file trace store's read path (bench/tools/otlp_bench.cc).
ob_bin=$BUILD/bench/otlp_bench
ob_libs=(source config compute decode pq core)
if [[ ! -x $ob_bin || $ROOT/bench/tools/otlp_bench.cc -nt $ob_bin || $BUILD/src/source/libsource.a -nt $ob_bin ]]; then
  ninja -C "$BUILD" -j2 $(for l in "${ob_libs[@]}"; do echo "src/$l/lib$l.a"; done) >&2
  c++ -std=c++20 -O2 -g -Wall -Wextra -Werror -I "$ROOT/src" -I "$BUILD" "$ROOT/bench/tools/otlp_bench.cc" -o "$ob_bin" \
    $(for l in "${ob_libs[@]}"; do echo "$BUILD/src/$l/lib$l.a"; done) \
    $(pkg-config --libs libpq yaml-cpp spdlog fmt simdjson libzstd) -lpthread
fi
