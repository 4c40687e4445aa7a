#!/usr/bin/env bash
# Checks the Grafana dashboards in ops/grafana/dashboards (Grafana itself is not packaged in
# Debian): each is JSON with a schema version Grafana 9+ reads, a unique uid, a `datasource`
# variable that every panel and query uses, unique panel ids, queries that promtool parses
# (template variables replaced), every variable they use defined, and every metric they read
# either declared by the controller (controller/metrics.h) or an agent (agent/agent_metrics.h), or
# recorded by
# ops/prometheus/govpool.rules.yml. Usage: check_dashboards.sh REPO_ROOT PROMTOOL
set -euo pipefail
root="$1"
promtool="$2"
dir="$root/ops/grafana/dashboards"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL $*" >&2; failures=$((failures + 1)); }

declared="$(grep -ho '"govpool_[a-z0-9_]*"' "$root/controller/metrics.h" "$root/agent/agent_metrics.h" | tr -d '"' | sort -u)"
recorded="$(sed -n 's/^ *- record: *//p' "$root/ops/prometheus/govpool.rules.yml" | sort -u)"
shopt -s nullglob
files=("$dir"/*.json)
[ ${#files[@]} -ge 4 ] || fail "expected the four dashboards in $dir, found ${#files[@]}"
uids=""
for f in "${files[@]}"; do
  name="$(basename "$f")"
  jq -e . "$f" >/dev/null 2>&1 || { fail "$name: not JSON"; continue; }
  [ "$(jq '.schemaVersion >= 36' "$f")" = true ] || fail "$name: schemaVersion below 36"
  uids+="$(jq -r .uid "$f")"$'\n'
  [ "$(jq '[.templating.list[] | select(.name == "datasource" and .type == "datasource")] | length' "$f")" = 1 ] ||
    fail "$name: no datasource variable"
  # All panels, rows' nested panels included.
  jq '[.panels[], (.panels[] | .panels? // [] | .[])]' "$f" >"$work/panels.json"
  dup="$(jq -r '[.[].id] | group_by(.) | map(select(length > 1) | .[0]) | .[]' "$work/panels.json")"
  [ -z "$dup" ] || fail "$name: panel ids used twice: $dup"
  bad="$(jq -r '.[] | select(.type != "row") | select(.datasource.uid != "${datasource}" or
                 ([.targets[]? | select(.datasource.uid != "${datasource}")] | length) > 0) | .title' "$work/panels.json")"
  [ -z "$bad" ] || fail "$name: panels not on the datasource variable: $bad"
  empty="$(jq -r '.[] | select(.type != "row") | select(([.targets[]? | select((.expr // "") != "")] | length) == 0) | .title' "$work/panels.json")"
  [ -z "$empty" ] || fail "$name: panels without a query: $empty"
  vars="$(jq -r '.templating.list[].name' "$f")"
  # Every query, with template variables replaced, as a recording rule for promtool to parse.
  : >"$work/exprs"
  jq -r '.[] | .targets[]? | .expr' "$work/panels.json" >"$work/exprs"
  for used in $(grep -o '\$[a-z_]*' "$work/exprs" | tr -d '$' | sort -u); do
    grep -qx "$used" <<<"$vars" || fail "$name: queries use \$$used, which is not a variable"
  done
  jq -R -s --arg name "$name" '{groups: [{name: $name, rules: [split("\n")[] | select(. != "") |
      gsub("\\$[a-z_]+"; ".*") | {record: "dashboard:query", expr: .}]}]}' "$work/exprs" >"$work/rules.json"
  "$promtool" check rules "$work/rules.json" >"$work/promtool.out" 2>&1 ||
    { fail "$name: promtool cannot parse its queries"; cat "$work/promtool.out" >&2; }
  for metric in $(grep -o 'govpool[_:][a-z0-9_:]*' "$work/exprs" | sort -u); do
    case "$metric" in
      govpool:*) grep -qx "$metric" <<<"$recorded" || fail "$name: $metric is not recorded by govpool.rules.yml" ;;
      *) base="${metric%_bucket}"; base="${base%_count}"; base="${base%_sum}"
         grep -qx "$base" <<<"$declared" || fail "$name: $metric is not a controller or agent metric" ;;
    esac
  done
  echo "ok $name: $(jq '[.[] | select(.type != "row")] | length' "$work/panels.json") panels, $(wc -l <"$work/exprs") queries"
done
dup_uid="$(sort <<<"$uids" | uniq -d | grep -v '^$' || true)"
[ -z "$dup_uid" ] || fail "uids used twice: $dup_uid"
[ "$failures" -eq 0 ] || { echo "$failures failure(s)" >&2; exit 1; }
