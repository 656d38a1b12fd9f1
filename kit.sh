#!/usr/bin/env bash
# The course kit's two commands (each creates/updates the virtual environment first):
#   ./kit.sh run [--quick] [--only 00 03 ...]   execute every notebook headless -> reports/summary.md
#   ./kit.sh test [pytest args]                 ruff (lint + format check), unit tests of helpers and
#                                               every notebook under nbval, quick mode; the shipped
#                                               models also load in .venv-oldest (Colab's TF/Keras);
#                                               installs bubblewrap if missing (the grader's sandbox)
# Environment: PYTHON (interpreter for the venv, default python3), KIT_VENV (default .venv).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
VENV="${KIT_VENV:-.venv}"
PYTHON="${PYTHON:-python3}"

setup_env() {
  if [ ! -x "$VENV/bin/python" ]; then
    echo "kit: creating virtual environment $VENV with $("$PYTHON" --version 2>&1)"
    "$PYTHON" -m venv "$VENV"
  fi
  local stamp="$VENV/.kit-installed" want
  want=$(cat requirements.txt pyproject.toml | sha256sum | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "kit: installing requirements.txt and helpers into $VENV"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r requirements.txt
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-deps -e .
    echo "$want" > "$stamp"
  fi
  export PATH="$PWD/$VENV/bin:$PATH"   # notebook kernels start from this environment
  export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-3}"
}

# The oldest TensorFlow/Keras the kit supports (Colab's), for tests/test_oldest_keras.py.
setup_oldest() {
  local venv="${KIT_OLDEST_VENV:-.venv-oldest}" stamp want
  stamp="$venv/.kit-installed"
  want=$(sha256sum requirements-oldest.txt | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "kit: installing requirements-oldest.txt into $venv"
    [ -x "$venv/bin/python" ] || "$PYTHON" -m venv "$venv"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check -r requirements-oldest.txt
    echo "$want" > "$stamp"
  fi
  export KIT_OLDEST_PYTHON="$PWD/$venv/bin/python"
}

# The grader's sandbox (helpers/kit/assign/sandbox.py) needs bubblewrap; its tests run it for real.
setup_sandbox() {
  command -v bwrap >/dev/null && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "kit: installing bubblewrap (the grader's sandbox) with apt-get"
    apt-get install -y -q bubblewrap >/dev/null 2>&1 \
      || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q bubblewrap >/dev/null 2>&1; } \
      || echo "kit: could not install bubblewrap; the sandbox tests will fail (install it: apt-get install bubblewrap)" >&2
  else
    echo "kit: bubblewrap (bwrap) is missing: the sandbox tests will fail; install it, e.g. sudo apt-get install bubblewrap" >&2
  fi
}

cmd="${1:-}"
[ $# -gt 0 ] && shift
case "$cmd" in
  run)
    mode=full
    args=()
    for a in "$@"; do
      if [ "$a" = "--quick" ]; then mode=quick; else args+=("$a"); fi
    done
    setup_env
    KIT_MODE="$mode" python scripts/run_notebooks.py --mode "$mode" "${args[@]+"${args[@]}"}"
    ;;
  test)
    setup_env
    setup_oldest
    setup_sandbox
    echo "kit: ruff check and ruff format --check (line length 100, see pyproject.toml)"
    ruff check --quiet . && ruff format --check --quiet .
    # unit tests on two processes (a test file stays on one), then the notebooks under nbval
    KIT_MODE=quick python -m pytest -q -n 2 --dist loadfile tests "$@"
    KIT_MODE=quick python -m pytest --nbval-lax -q notebooks "$@"
    ;;
  *)
    echo "usage: ./kit.sh run [--quick] [--only NN ...]   |   ./kit.sh test [pytest args]" >&2
    exit 2
    ;;
esac
