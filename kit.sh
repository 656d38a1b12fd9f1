#!/usr/bin/env bash
# The course kit's two commands (each creates/updates the virtual environment first):
#   ./kit.sh run [--quick] [--only 00 03 ...]   execute every notebook headless -> reports/summary.md
#   ./kit.sh test [pytest args]                 ruff (lint + format check), unit tests of helpers and
#                                               every notebook under nbval, quick mode; the shipped
#                                               models also load in .venv-oldest (Colab-like, below);
#                                               installs bubblewrap if missing (the grader's sandbox)
#   ./kit.sh colab-check                        rebuild .venv-oldest from Colab's pip freeze, run the
#                                               Colab bootstrap's install there, then every notebook
#                                               (nbval, quick mode) and the unit tests on it
# Environment: PYTHON (interpreter for .venv, default python3), KIT_VENV (default .venv),
#              KIT_COLAB_PYTHON (Python 3.13 like Colab's; default python3.13 or pyenv's 3.13),
#              KIT_OLDEST_VENV (default .venv-oldest), KIT_COLAB_FRESH=1 (rebuild it from scratch).
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

# The Colab-like environment, also the oldest TensorFlow/Keras the kit supports (Colab's): the
# preinstalled packages a notebook meets (requirements-oldest.txt) at the versions of Colab's pip
# freeze (ci/colab-constraints.txt), then the Colab bootstrap's own install on top of them
# (scripts/colab_bootstrap.py), on Python 3.13 as on Colab. Rebuilt from scratch when an input
# changes or KIT_COLAB_FRESH=1.
colab_python() {
  local found is_313='import sys; sys.exit(sys.version_info[:2] != (3, 13))'
  if [ -n "${KIT_COLAB_PYTHON:-}" ]; then
    "$KIT_COLAB_PYTHON" -c "$is_313" 2>/dev/null && { echo "$KIT_COLAB_PYTHON"; return 0; }
    echo "kit: KIT_COLAB_PYTHON=$KIT_COLAB_PYTHON is not a Python 3.13 interpreter" >&2
    return 1
  fi
  for found in python3.13 "$(pyenv root 2>/dev/null || echo ~/.pyenv)"/versions/3.13*/bin/python3.13; do
    "$found" -c "$is_313" 2>/dev/null && { echo "$found"; return 0; }
  done
  echo "kit: Python 3.13 (Colab's) not found for .venv-oldest: install it (e.g. pyenv install 3.13)" \
    "or set KIT_COLAB_PYTHON to its interpreter" >&2
  return 1
}

setup_oldest() {
  local venv="${KIT_OLDEST_VENV:-.venv-oldest}" stamp want started py colab_py
  local pip_q=(-m pip install -q --disable-pip-version-check)
  case "$venv" in /*) ;; *) venv="$PWD/$venv" ;; esac
  py="$venv/bin/python"
  stamp="$venv/.kit-installed"
  want=$(cat requirements-oldest.txt ci/colab-constraints.txt requirements.txt pyproject.toml \
    scripts/colab_bootstrap.py | sha256sum | cut -d' ' -f1)
  if [ "${KIT_COLAB_FRESH:-0}" = 1 ] || [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "kit: building $venv: Colab's preinstalled packages (requirements-oldest.txt, ci/colab-constraints.txt)"
    rm -rf "$venv"
    colab_py=$(colab_python)
    "$colab_py" -m venv "$venv"
    "$py" "${pip_q[@]}" "$(grep -m1 '^pip==' requirements-oldest.txt)"
    "$py" "${pip_q[@]}" -r requirements-oldest.txt -c ci/colab-constraints.txt
    colab_only "$py"
    "$py" -m pip list --format=freeze --disable-pip-version-check > "$venv/.colab-freeze-before.txt"
    "$py" -m pip check --disable-pip-version-check > "$venv/.colab-pip-check-before.txt" || true
    echo "kit: the Colab bootstrap's install (scripts/colab_bootstrap.py) into $venv"
    started=$SECONDS
    # colab-check times it as on a fresh Colab VM, without pip's download cache (any value of
    # PIP_NO_CACHE_DIR turns the cache off, so it is set only then)
    if [ "${KIT_BOOTSTRAP_NO_CACHE:-0}" = 1 ]; then
      PIP_NO_CACHE_DIR=1 "$py" scripts/colab_bootstrap.py --kit .
    else
      "$py" scripts/colab_bootstrap.py --kit .
    fi
    echo "kit: bootstrap took $((SECONDS - started)) s" | tee "$venv/.colab-bootstrap-time.txt"
    echo "$want" > "$stamp"
  fi
  colab_unchanged "$venv"
  export KIT_OLDEST_PYTHON="$py"
}

# The normalized names of `name==version` lines on stdin, sorted (tf_keras -> tf-keras).
pkg_names() { cut -d= -f1 | tr 'A-Z_.' 'a-z--' | sort -u; }

# Remove what pip added that Colab does not have (its freeze lacks jedi, which its ipython 7.34.0
# requires: Colab's own `pip check` reports that), so the environment is Colab's, gaps included.
colab_only() {
  local py="$1" extra
  extra=$(comm -23 <("$py" -m pip list --format=freeze --disable-pip-version-check | pkg_names) \
    <(grep -v '^#' ci/colab-constraints.txt | pkg_names))
  if [ -n "$extra" ]; then
    echo "kit: removing what Colab does not have:" $extra
    "$py" -m pip uninstall -y -q $extra
  fi
}

# Fail if the bootstrap changed one of the preinstalled packages or `pip check` finds a new problem.
colab_unchanged() {
  local venv="$1" changed new_problems
  changed=$(comm -23 <(sort "$venv/.colab-freeze-before.txt") \
    <("$venv/bin/python" -m pip list --format=freeze --disable-pip-version-check | sort))
  if [ -n "$changed" ]; then
    echo "kit: the bootstrap changed Colab's preinstalled packages (before:" $changed ")" >&2
    return 1
  fi
  new_problems=$(comm -13 <(sort "$venv/.colab-pip-check-before.txt") \
    <("$venv/bin/python" -m pip check --disable-pip-version-check | grep -v '^No broken' | sort))
  if [ -n "$new_problems" ]; then
    echo "kit: pip check in $venv finds problems the bootstrap made: $new_problems" >&2
    return 1
  fi
  echo "kit: $venv: no preinstalled package changed; pip check: no new problem" \
    "(Colab's own: $(grep -c . "$venv/.colab-pip-check-before.txt" || true))"
}

# ./kit.sh colab-check: every notebook (nbval, quick mode) and the unit tests on a fresh .venv-oldest.
colab_check() {
  local started=$SECONDS py nb t failed=0 log=reports/quick/colab-check.txt
  KIT_COLAB_FRESH="${KIT_COLAB_FRESH:-1}" KIT_BOOTSTRAP_NO_CACHE=1 setup_oldest
  setup_sandbox
  py="$KIT_OLDEST_PYTHON"
  # the test tools are not Colab's: installed after the comparison, still held at Colab's versions
  "$py" -m pip install -q --disable-pip-version-check -c ci/colab-constraints.txt \
    $(grep -E '^(nbval|pytest-xdist)[<>=]' requirements.txt | cut -d' ' -f1)
  export PATH="$(dirname "$py"):$PATH" TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-3}"
  mkdir -p reports/quick
  "$py" -c 'import sys, tensorflow as tf, keras; print(f"colab-check: Python {sys.version.split()[0]}, TensorFlow {tf.__version__}, Keras {keras.__version__}")' | tee "$log"
  cat "$(dirname "$py")/../.colab-bootstrap-time.txt" >> "$log"
  # no artifacts/ of this machine (saved by the kit's newer Keras): an empty folder, as on a fresh VM
  # (inside the checkout: notebooks print saved paths relative to it)
  mkdir -p artifacts
  KIT_ARTIFACTS="$(mktemp -d -p "$PWD/artifacts" colab-check.XXXXXX)"
  export KIT_ARTIFACTS
  for nb in notebooks/[0-9][0-9]_*.ipynb; do
    t=$SECONDS
    if KIT_MODE=quick "$py" -m pytest --nbval-lax -q "$nb"; then r=passed; else r=FAILED; failed=1; fi
    echo "colab-check: $(basename "$nb") $r in $((SECONDS - t)) s" | tee -a "$log"
  done
  t=$SECONDS
  if KIT_MODE=quick "$py" -m pytest -q -n 2 --dist loadfile tests; then r=passed; else r=FAILED; failed=1; fi
  echo "colab-check: unit tests $r in $((SECONDS - t)) s" | tee -a "$log"
  rm -rf "$KIT_ARTIFACTS"
  echo "colab-check: total $((SECONDS - started)) s" | tee -a "$log"
  return "$failed"
}

# Every notebook under nbval in quick mode, on two processes: the notebooks that reuse models an
# earlier one saved (02 loads 01's MLP, 03 reads 02's results, 05 fine-tunes 03's ResNet, 08 quantizes
# them) run in that order in one; all the others (a new notebook too) in the second. The first streams
# its output; the second's follows when both are done.
NBVAL_CHAIN="01 02 03 05 08"
nbval_two() {
  local nb chain=() rest=() log status=0
  for nb in notebooks/[0-9][0-9]_*.ipynb; do
    case " $NBVAL_CHAIN " in
      *" $(basename "$nb" | cut -c1-2) "*) chain+=("$nb") ;;
      *) rest+=("$nb") ;;
    esac
  done
  log="$(mktemp)"
  KIT_MODE=quick python -m pytest --nbval-lax -q "${rest[@]}" "$@" >"$log" 2>&1 &
  local other=$!
  trap 'kill "$other" 2>/dev/null; exit 130' INT TERM  # a background job does not get Ctrl-C
  KIT_MODE=quick python -m pytest --nbval-lax -q "${chain[@]}" "$@" || status=1
  wait "$other" || status=1
  trap - INT TERM
  echo "kit: nbval of ${rest[*]}:"
  cat "$log"
  rm -f "$log"
  return "$status"
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
    nbval_two "$@"
    ;;
  colab-check)
    colab_check
    ;;
  *)
    echo "usage: ./kit.sh run [--quick] [--only NN ...]  |  ./kit.sh test [pytest args]  |  ./kit.sh colab-check" >&2
    exit 2
    ;;
esac
