#!/usr/bin/env bash
# Installs the pinned Grafana schema package and TypeScript (package.json +
# package-lock.json beside this script) into DEST with `npm ci`, for
# tests/rules/check_grafana_schema.py. DEST must be outside the source tree or
# git-ignored (scripts/test uses <build dir>/grafana-schema). Does nothing when
# DEST already holds exactly this lock file's install.
set -euo pipefail
dest=${1:?usage: install.sh DEST}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mkdir -p "$dest"
if [ -f "$dest/node_modules/.package-lock.json" ] && cmp -s "$here/package-lock.json" "$dest/package-lock.json" \
   && [ -x "$dest/node_modules/.bin/tsc" ] && [ -f "$dest/node_modules/@grafana/schema/package.json" ]; then
  exit 0
fi
cp "$here/package.json" "$here/package-lock.json" "$dest/"
cd "$dest"
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
