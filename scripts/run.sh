#!/usr/bin/env bash
# run.sh: installs what is needed, builds govpool, and runs it on embedded defaults on this
# machine: the controller on SQLite, serving on 127.0.0.1:8080, printing its URL and the first
# admin token. Ctrl-C (or SIGTERM) stops everything it started.
#
# Environment: GOVPOOL_HOME (state, default /var/tmp/govpool-demo), GOVPOOL_LISTEN
# (default 127.0.0.1:8080).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
home="${GOVPOOL_HOME:-/var/tmp/govpool-demo}"
listen="${GOVPOOL_LISTEN:-127.0.0.1:8080}"

"$root/scripts/setup.sh"
"$root/scripts/build.sh" "$root/build/release"
bin="$root/build/release"

mkdir -p "$home"
pids=()
cleanup() {
  trap - EXIT INT TERM
  echo
  echo "run: stopping"
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

"$bin/controller/govpool-controller" --listen "$listen" --state-dir "$home/controller" \
  >"$home/controller.out" 2>"$home/controller.log" &
pids+=($!)
url="http://$listen"
for _ in $(seq 1 100); do
  curl -fsS "$url/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "$url/healthz" >/dev/null || { cat "$home/controller.log"; exit 1; }
token="$(cat "$home/controller/admin-token")"

cat <<TXT

govpool is running.
  controller URL : $url
  admin token    : $token
  token file     : $home/controller/admin-token (mode 0600)
  logs           : $home/controller.log

Try:
  export GOVPOOL_URL=$url GOVPOOL_TOKEN=\$(cat $home/controller/admin-token)
  $bin/cli/govpoolctl department create finance --quota instances=10
  curl -H "Authorization: Bearer \$GOVPOOL_TOKEN" $url/v1/departments

Press Ctrl-C to stop.
TXT
wait "${pids[0]}"
