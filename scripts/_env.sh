# Shared set-up for scripts/demo and scripts/test: a project-local virtualenv with tenure installed.
# Idempotent: re-running only installs what changed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="${PYTHON:-python3}"

ensure_venv() {
  local extras="$1"
  if [ ! -x "$VENV/bin/python" ]; then
    echo "==> creating virtualenv in .venv"
    "$PY" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
  fi
  local stamp="$VENV/.tenure-installed-$extras"
  if [ ! -f "$stamp" ] || [ "$ROOT/pyproject.toml" -nt "$stamp" ]; then
    echo "==> installing tenure and its dependencies ($extras)"
    local target="$ROOT"
    [ "$extras" = "base" ] || target="$ROOT[$extras]"
    "$VENV/bin/python" -m pip install --quiet -e "$target" 2>&1 | grep -v "^WARNING: Location" || true
    "$VENV/bin/python" -c "import tenure" # fail loudly if the install did not work
    touch "$stamp"
  fi
}
