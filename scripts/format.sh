#!/usr/bin/env bash
# Formats every C++ file of the project in place (clang-format, .clang-format at the root).
# With --check, lists the files that are not formatted and exits 1 if there are any. New files
# count too (tracked or not, unless .gitignore leaves them out).
set -euo pipefail
cd "$(dirname "$0")/.."
files=$(git ls-files --cached --others --exclude-standard '*.cc' '*.h')
if [ "${1:-}" = "--check" ]; then
  bad=0
  for f in $files; do
    clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || { echo "$f"; bad=1; }
  done
  exit $bad
fi
clang-format -i $files
