#!/usr/bin/env bash
# Measures what CI measures: a clean clone of HEAD, a new virtual environment, then .ci/run.
# Prints the wall time of the whole thing and of the pytest part.  Usage: benchmarks/ci_wall_time.sh
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
git clone -q "$repo" "$work/kit"
cd "$work/kit"
start=$(date +%s)
./.ci/run 2>&1 | tee "$work/ci.log" | tail -n 3
end=$(date +%s)
pytest_line=$(grep -Eo "in [0-9.]+s( \([0-9:]+\))?" "$work/ci.log" | tail -n 1 || true)
echo "CI wall time (clone excluded, venv creation + install + tests): $((end - start)) s"
echo "pytest reported: ${pytest_line:-?}"
