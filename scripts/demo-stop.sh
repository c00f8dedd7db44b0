#!/usr/bin/env bash
# scripts/demo-stop.sh: stop the app instances that scripts/demo.sh left running
# (npm run demo:stop). Only processes recorded in .demo/*.pid that still run dist/main.js are
# signalled, so a recycled pid never hits an unrelated program.
#
# Usage: bash scripts/demo-stop.sh [--quiet]
set -euo pipefail

ROOT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEMO_DIR=$ROOT_DIR/.demo
QUIET=0
[[ ${1:-} == --quiet ]] && QUIET=1

say() { [[ $QUIET == 1 ]] || printf 'demo: %s\n' "$*"; }

is_demo_app() {
  local pid=$1
  kill -0 "$pid" 2>/dev/null || return 1
  # /proc is Linux; elsewhere fall back to ps.
  local cmd
  if [[ -r /proc/$pid/cmdline ]]; then
    cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline")
  else
    cmd=$(ps -o command= -p "$pid" 2>/dev/null || true)
  fi
  [[ $cmd == *dist/main.js* ]]
}

stopped=0
shopt -s nullglob
for pidfile in "$DEMO_DIR"/app-*.pid; do
  pid=$(cat "$pidfile" 2>/dev/null || true)
  name=$(basename "$pidfile" .pid)
  if [[ $pid =~ ^[0-9]+$ ]] && is_demo_app "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    # Graceful shutdown drains in-flight requests (SHUTDOWN_GRACE_MS, 20 s by default).
    for _ in $(seq 1 100); do
      is_demo_app "$pid" || break
      sleep 0.25
    done
    if is_demo_app "$pid"; then
      kill -KILL "$pid" 2>/dev/null || true
      say "killed $name (pid $pid) after it ignored SIGTERM for 25 s"
    else
      say "stopped $name (pid $pid)"
    fi
    stopped=$((stopped + 1))
  fi
  rm -f "$pidfile"
done
[[ $stopped -gt 0 ]] || say "no demo instances running"
