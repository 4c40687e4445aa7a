#!/usr/bin/env bash
# lint-openapi.sh: lints api/openapi/govpool.yaml with Redocly CLI's `recommended` rules and
# fails on any error (warnings are printed). The CLI is installed once, at a pinned version,
# into build/tools/ (git-ignored) and reused from there; only that first run needs npm and the
# npm registry. Needs node >= 14.19 (Debian 12's nodejs will do; scripts/setup.sh installs it).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

# The newest 1.x whose `engines` accepts Debian 12's node 18 and npm 9.2; 1.28 and later ask for
# node >= 18.17. Change it here (and check `npm view @redocly/cli@<version> engines`).
version=1.27.2
tool="$root/build/tools/redocly-cli-$version"
redocly="$tool/node_modules/.bin/redocly"

if ! command -v node >/dev/null; then
  echo "lint-openapi: node is missing; run scripts/setup.sh" >&2
  exit 1
fi
if [ ! -x "$redocly" ]; then
  if ! command -v npm >/dev/null; then
    echo "lint-openapi: npm is missing; run scripts/setup.sh" >&2
    exit 1
  fi
  echo "lint-openapi: installing @redocly/cli@$version into ${tool#"$root"/}"
  # Into a fresh directory first, so an interrupted install is never taken for a finished one.
  tmp="$tool.tmp.$$"
  trap 'rm -rf "$tmp"' EXIT
  rm -rf "$tmp"
  mkdir -p "$tmp"
  echo '{"private": true}' >"$tmp/package.json"
  npm install --prefix "$tmp" --save-exact --ignore-scripts --no-audit --no-fund --loglevel=error \
    "@redocly/cli@$version" >/dev/null
  rm -rf "$tool"
  mv "$tmp" "$tool"
  trap - EXIT
fi

# No usage report to Redocly and no look-up of newer versions: the lint runs offline.
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true
exec "$redocly" lint --extends recommended --format stylish api/openapi/govpool.yaml
