#!/usr/bin/env bash
# Creates .venv/ with Python 3.10 and the locked dependencies. Idempotent: a
# second run with an unchanged lock and setup.py returns at once.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv
LOCK=requirements/lock.txt
UV_VERSION=0.13.9
STAMP="$VENV/.seqgen-installed"
# How the packages are installed, part of the stamp: a venv set up another way
# is synced again. Bytecode is compiled at install time because Python only
# reads .pyc files where PYTHONDONTWRITEBYTECODE is set (as on our CI machines):
# without them every process compiles TensorFlow and TFX from source again:
# `import tfx.v1` took 41.9 s of CPU instead of 15.7 (benchmarks/import_time.py).
INSTALL_OPTIONS="--compile-bytecode"

stamp() { { cat "$LOCK" setup.py; echo "$INSTALL_OPTIONS"; } | sha256sum; }

say() { echo "[setup] $*"; }

is_python310() { [ -n "$1" ] && "$1" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' 2>/dev/null; }

find_uv() {
  if command -v uv >/dev/null 2>&1; then command -v uv; return; fi
  if [ -x "$VENV/bin/uv" ]; then echo "$VENV/bin/uv"; return; fi
  return 1
}

find_python310() {
  local candidate
  for candidate in "${PYTHON310:-}" "$(command -v python3.10 || true)"; do
    if is_python310 "$candidate"; then echo "$candidate"; return; fi
  done
  local root
  root=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
  for candidate in "$root"/versions/3.10.*/bin/python; do
    if is_python310 "$candidate"; then echo "$candidate"; return; fi
  done
  local uv
  if uv=$(find_uv); then
    candidate=$("$uv" python find 3.10 2>/dev/null || true)
    if is_python310 "$candidate"; then echo "$candidate"; return; fi
    say "no Python 3.10 found; trying 'uv python install 3.10'" >&2
    if "$uv" python install 3.10 >&2; then
      candidate=$("$uv" python find 3.10 2>/dev/null || true)
      if is_python310 "$candidate"; then echo "$candidate"; return; fi
    fi
  fi
  return 1
}

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$(stamp)" ] && is_python310 "$VENV/bin/python"; then
  exit 0
fi

if ! is_python310 "$VENV/bin/python"; then
  if ! PY=$(find_python310); then
    cat >&2 <<MSG
[setup] error: Python 3.10 is required (TFX 1.16 supports Python >=3.9,<3.11) and none was found.
[setup] Looked at: \$PYTHON310, python3.10 on PATH, pyenv's versions/3.10.*, and 'uv python find 3.10'.
[setup] Install one (e.g. 'pyenv install 3.10' or 'uv python install 3.10'), or point PYTHON310 at it:
[setup]   PYTHON310=/path/to/python3.10 make setup
MSG
    exit 1
  fi
  say "creating $VENV with $PY"
  rm -rf "$VENV"
  "$PY" -m venv "$VENV"
fi

if ! UV=$(find_uv); then
  say "installing uv $UV_VERSION into $VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
  UV="$VENV/bin/uv"
fi

say "installing the locked dependencies ($LOCK) with $UV"
"$UV" pip sync --python "$VENV/bin/python" $INSTALL_OPTIONS "$LOCK"
say "installing tfx-seqgen in editable mode"
"$UV" pip install --python "$VENV/bin/python" --no-deps -e .
stamp > "$STAMP"
say "ready: $VENV ($("$VENV/bin/python" --version))"
