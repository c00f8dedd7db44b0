#!/usr/bin/env bash
# scripts/demo.sh: couponlock from a fresh clone to a proven, running API in one command
# (npm run demo). Re-runnable: it reuses what is already there and replaces its own instances.
#
#   1. installs dependencies (npm ci, only when node_modules is missing or stale);
#   2. brings up PostgreSQL and Redis (scripts/services.sh);
#   3. writes .env from .env.example if missing, builds, runs the migrations once;
#   4. starts two app instances (ports 3000 and 3001), logs and pids in .demo/;
#   5. runs the hot-coupon proof (limit 50, 1000 concurrent redeems) and the stock proof across
#      both instances, with k6 when it is on the PATH, else with the Node harness (load/);
#   6. prints the verdict table and leaves the API running (stop: npm run demo:stop), with the
#      live storm page at /demo (the instances run with the teaching-aid naive routes on).
#
# Environment: DEMO_PORTS (default 3000,3001), DEMO_CONCURRENCY (Node harness, default 64).
# Exit code: 0 when every proof holds; 1 when one fails or a step cannot be completed.
set -euo pipefail

ROOT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT_DIR"
DEMO_DIR=$ROOT_DIR/.demo
IFS=, read -r -a PORTS <<<"${DEMO_PORTS:-3000,3001}"
for port in "${PORTS[@]}"; do
  [[ $port =~ ^[0-9]+$ ]] || { echo "demo: DEMO_PORTS must be comma-separated port numbers" >&2; exit 1; }
done
CONCURRENCY=${DEMO_CONCURRENCY:-64}
STEPS=6
DEMO_START=$SECONDS
STEP_START=$SECONDS

if [[ -t 1 ]]; then
  BOLD=$'\033[1m' GREEN=$'\033[32m' RED=$'\033[31m' RESET=$'\033[0m'
else
  BOLD='' GREEN='' RED='' RESET=''
fi

step() {
  STEP_START=$SECONDS
  printf '\n%s[%s/%s] %s%s\n' "$BOLD" "$1" "$STEPS" "$2" "$RESET"
}
ok() { printf '    %s✓%s %s (%ss)\n' "$GREEN" "$RESET" "$*" "$((SECONDS - STEP_START))"; }
info() { printf '    %s\n' "$*"; }
die() {
  printf '\n%sdemo: error: %s%s\n' "$RED" "$*" "$RESET" >&2
  exit 1
}

# Reads a setting: the environment first, then .env (same precedence as the app).
setting() {
  local name=$1 value
  value=${!name:-}
  if [[ -z $value && -f .env ]]; then
    value=$(grep -E "^${name}=" .env | tail -n 1 | cut -d= -f2- || true)
  fi
  printf '%s' "$value"
}

# Does something answer on localhost:$1?
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

http_ok() {
  if command -v curl >/dev/null 2>&1; then
    curl -fsS -o /dev/null --max-time 2 "$1" 2>/dev/null
  else
    node -e 'fetch(process.argv[1]).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))' "$1"
  fi
}

# ------------------------------------------------------------------------------------ 1
step 1 'Dependencies'
command -v node >/dev/null 2>&1 || die 'Node.js is not installed (need >= 20.19): https://nodejs.org'
node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' ||
  die "Node.js $(node -v) is too old; couponlock needs >= 20.19"
LOCK_HASH=$(node -e 'process.stdout.write(require("crypto").createHash("sha256").update(require("fs").readFileSync("package-lock.json")).digest("hex"))')
STAMP=node_modules/.couponlock-stamp
if [[ -f $STAMP && $(cat "$STAMP") == "$LOCK_HASH" ]]; then
  ok "node_modules matches package-lock.json"
elif [[ -d node_modules && -f node_modules/.package-lock.json && node_modules/.package-lock.json -nt package-lock.json ]] &&
  npm ls --depth=0 >/dev/null 2>&1; then
  # Installed by hand after the last lockfile change: adopt it instead of reinstalling.
  printf '%s' "$LOCK_HASH" >"$STAMP"
  ok "node_modules is up to date with package-lock.json"
else
  info 'installing with npm ci (a minute or two on a fresh machine)...'
  npm ci --no-audit --no-fund
  printf '%s' "$LOCK_HASH" >"$STAMP"
  ok 'dependencies installed'
fi

# ------------------------------------------------------------------------------------ 2
step 2 'PostgreSQL and Redis'
bash scripts/services.sh | sed 's/^/    /'
ok 'services ready'

# ------------------------------------------------------------------------------------ 3
step 3 'Configuration, build, migrations'
if [[ ! -f .env ]]; then
  cp .env.example .env
  info 'created .env from .env.example (development keys: dev-admin-key, dev-storefront-key)'
fi
if [[ ! -f dist/main.js ]] ||
  [[ -n $(find src packages/lock/src tsconfig.json tsconfig.build.json package-lock.json -newer dist/main.js -print -quit) ]]; then
  info 'building (tsc)...'
  npm run --silent build
else
  info 'build is up to date'
fi
node dist/database/migrate.js | sed 's/^/    /'
ok 'built and migrated'

# ------------------------------------------------------------------------------------ 4
step 4 "Two app instances on ports ${PORTS[*]}"
mkdir -p "$DEMO_DIR"
bash scripts/demo-stop.sh | sed 's/^/    /'
for port in "${PORTS[@]}"; do
  if port_in_use "$port"; then
    die "port $port is used by another program; free it or choose other ports, e.g. DEMO_PORTS=$((PORTS[0] + 100)),$((PORTS[0] + 101)) npm run demo"
  fi
done
BASE_URLS=$(printf 'http://localhost:%s,' "${PORTS[@]}")
BASE_URLS=${BASE_URLS%,}
DETACH=()
command -v setsid >/dev/null 2>&1 && DETACH=(setsid)
for port in "${PORTS[@]}"; do
  # setsid: the instances outlive this script and a Ctrl-C in this terminal.
  # No rate limits: the demo's load proofs flood one API key on purpose. The naive routes (a
  # teaching aid, never mounted in production) carry the live storm page, which storms both.
  PORT=$port NAIVE_ROUTES_ENABLED=true DEMO_BASE_URLS=$BASE_URLS DATABASE_MIGRATIONS_RUN=false \
    RATE_LIMITS_ENABLED=false \
    "${DETACH[@]}" nohup node dist/main.js >"$DEMO_DIR/app-$port.log" 2>&1 </dev/null &
  echo $! >"$DEMO_DIR/app-$port.pid"
done
for port in "${PORTS[@]}"; do
  printf '    waiting for http://localhost:%s/health ' "$port"
  pid=$(cat "$DEMO_DIR/app-$port.pid")
  deadline=$((SECONDS + 60))
  until http_ok "http://localhost:$port/health"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      printf '\n'
      tail -n 20 "$DEMO_DIR/app-$port.log" >&2 || true
      die "the instance on port $port exited (log: .demo/app-$port.log)"
    fi
    ((SECONDS < deadline)) || die "no healthy answer on port $port after 60 s (log: .demo/app-$port.log)"
    printf '.'
    sleep 0.5
  done
  printf ' up (pid %s, log .demo/app-%s.log)\n' "$pid" "$port"
done
ok 'both instances healthy'

# ------------------------------------------------------------------------------------ 5
step 5 'Proofs across both instances: hot coupon (limit 50, 20x oversubscribed) and stock'
API_KEY=$(setting API_KEY)
[[ -n $API_KEY ]] || API_KEY=$(setting STOREFRONT_API_KEYS)
ADMIN_API_KEY=$(setting ADMIN_API_KEY)
[[ -n $ADMIN_API_KEY ]] || ADMIN_API_KEY=$(setting ADMIN_API_KEYS)
export API_KEY=${API_KEY%%,*} ADMIN_API_KEY=${ADMIN_API_KEY%%,*}
set +e
if command -v k6 >/dev/null 2>&1; then
  info "k6 found ($(k6 version 2>/dev/null | head -n 1)): running k6/redeem-hot-coupon.js and k6/stock-decrement.js"
  mkdir -p k6/results
  # LATENCY_RATE=0: the table reports the latency of the proof storm itself (as the Node
  # harness does) instead of a separate 20 s latency scenario. A shorter phase budget starts
  # the stock drain after ~30 s instead of ~70 s.
  k6 run -e BASE_URLS="$BASE_URLS" -e LATENCY_RATE=0 k6/redeem-hot-coupon.js
  hot_rc=$?
  k6 run -e BASE_URLS="$BASE_URLS" -e PHASE1_MAX_DURATION_S=20 k6/stock-decrement.js
  stock_rc=$?
  step 6 'Verdict'
  node -r ts-node/register/transpile-only load/k6-summary.ts \
    "redeem-hot-coupon=$hot_rc" "stock-decrement=$stock_rc"
  proof_rc=$?
else
  info 'k6 not found: using the Node harness (same scenarios, same checks)'
  node -r ts-node/register/transpile-only load/run.ts --base-urls="$BASE_URLS" \
    --concurrency="$CONCURRENCY" --json="$DEMO_DIR/verdicts.json" \
    --heading="${BOLD}[6/$STEPS] Verdict${RESET}" hot-coupon:20 stock
  proof_rc=$?
fi
set -e

# ------------------------------------------------------------------------------------ done
printf '\n'
if [[ $proof_rc == 0 ]]; then
  printf '%sEvery proof holds.%s Demo took %ss.\n' "$GREEN$BOLD" "$RESET" "$((SECONDS - DEMO_START))"
else
  printf '%sA PROOF FAILED (exit %s); see above.%s Demo took %ss.\n' "$RED$BOLD" "$proof_rc" "$RESET" "$((SECONDS - DEMO_START))"
fi
first=${PORTS[0]}
urls=$(printf 'http://localhost:%s and ' "${PORTS[@]}")
printf 'API running: %s — docs: http://localhost:%s/docs — stop with: npm run demo:stop\n' \
  "${urls% and }" "$first"
if http_ok "http://localhost:$first/demo/"; then
  printf 'Live storm page: http://localhost:%s/demo (asks for an admin key: ADMIN_API_KEYS in .env)\n' "$first"
else
  printf 'Live storm page: not mounted (it needs NAIVE_ROUTES_ENABLED=true and NODE_ENV other than production)\n'
fi
exit "$proof_rc"
