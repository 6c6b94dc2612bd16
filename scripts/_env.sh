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
  if [ ! -f "$stamp" ] || [ "$ROOT/pyproject.toml" -nt "$stamp" ] || [ "$ROOT/constraints.txt" -nt "$stamp" ]; then
    echo "==> installing tenure and its dependencies ($extras)"
    local target="$ROOT"
    [ "$extras" = "base" ] || target="$ROOT[$extras]"
    # the versions CI tested (constraints.txt, refreshed on purpose by scripts/lock)
    "$VENV/bin/python" -m pip install --quiet -c "$ROOT/constraints.txt" -e "$target" 2>&1 \
      | grep -v "^WARNING: Location" || true
    "$VENV/bin/python" -c "import tenure" # fail loudly if the install did not work
    touch "$stamp"
  fi
  ensure_htmx
  ensure_swagger_ui
}

# htmx for the web pages (not on PyPI): fetched once from the npm registry into a git-ignored
# folder. Optional: pages work without it, so a machine without npm (or offline) just skips it.
ensure_htmx() {
  local dest="$ROOT/src/tenure/web/static/vendor/htmx.min.js"
  [ -f "$dest" ] && return 0
  command -v npm >/dev/null 2>&1 || { echo "==> npm not found: pages run without htmx"; return 0; }
  local tmp
  tmp="$(mktemp -d)"
  echo "==> fetching htmx.org@2 from the npm registry"
  if (cd "$tmp" && npm pack --silent htmx.org@2 >/dev/null 2>&1) && tar -xzf "$tmp"/htmx.org-*.tgz -C "$tmp" \
      && [ -f "$tmp/package/dist/htmx.min.js" ]; then
    mkdir -p "$(dirname "$dest")"
    cp "$tmp/package/dist/htmx.min.js" "$dest.tmp" && mv "$dest.tmp" "$dest"
  else
    echo "==> could not fetch htmx: pages run without it"
  fi
  rm -rf "$tmp"
}

# Swagger UI for the API docs page (/api/docs): tenure's CSP forbids CDNs and inline scripts, so
# its files are served by tenure. Fetched once from the npm registry (swagger-ui-dist) into a
# git-ignored folder; without it /api/docs links the OpenAPI document instead.
ensure_swagger_ui() {
  local dest="$ROOT/src/tenure/http/static/vendor/swagger-ui"
  [ -f "$dest/swagger-ui-bundle.js" ] && [ -f "$dest/swagger-ui.css" ] && return 0
  command -v npm >/dev/null 2>&1 || { echo "==> npm not found: /api/docs runs without Swagger UI"; return 0; }
  local tmp
  tmp="$(mktemp -d)"
  echo "==> fetching swagger-ui-dist@5 from the npm registry"
  if (cd "$tmp" && npm pack --silent swagger-ui-dist@5 >/dev/null 2>&1) \
      && tar -xzf "$tmp"/swagger-ui-dist-*.tgz -C "$tmp" && [ -f "$tmp/package/swagger-ui-bundle.js" ]; then
    mkdir -p "$dest"
    cp "$tmp/package/swagger-ui.css" "$dest/swagger-ui.css"
    cp "$tmp/package/LICENSE" "$dest/LICENSE.txt" 2>/dev/null || true
    cp "$tmp/package/swagger-ui-bundle.js" "$dest/swagger-ui-bundle.js.tmp" \
      && mv "$dest/swagger-ui-bundle.js.tmp" "$dest/swagger-ui-bundle.js"
  else
    echo "==> could not fetch Swagger UI: /api/docs links the OpenAPI document instead"
  fi
  rm -rf "$tmp"
}
