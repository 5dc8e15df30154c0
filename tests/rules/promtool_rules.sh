#!/usr/bin/env bash
# promtool checks of the shipped rules (suite 'rules'):
#   promtool_rules.sh check   promtool check rules --lint=all --lint-fatal alerts/rules.yml
#   promtool_rules.sh test    promtool test rules tests/rules/rules_test.yml
# promtool 2.42 supports --lint-fatal (lint problems exit 3). Fails, never skips,
# when promtool is missing.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
command -v promtool >/dev/null 2>&1 || { echo "promtool not found (Debian package prometheus)" >&2; exit 1; }
case ${1:-} in
  check) exec promtool check rules --lint=all --lint-fatal "$root/alerts/rules.yml" ;;
  test) exec promtool test rules "$root/tests/rules/rules_test.yml" ;;
  *) echo "usage: $0 check|test" >&2; exit 2 ;;
esac
