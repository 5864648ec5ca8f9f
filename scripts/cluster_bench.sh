#!/bin/bash
# Starts N `baton server --cluster` nodes (0: one plain server) on a fresh schema of the local
# PostgreSQL, runs `baton bench api --servers …` against them, stops them and drops the schema.
# Figures and how to read them: BENCHMARKS.md ("Cluster: starts over HTTP").
#   cargo build --release -p baton && scripts/cluster_bench.sh 2 --route owner
set -u
N=$1
B=${BATON:-target/release/baton}
S=bbench_${N}_$$_$RANDOM
DB="postgres://postgres@127.0.0.1:5432/test?schema=$S"
PIDS=()
URLS=()
if [ "$N" = 0 ]; then
  $B server --bind 127.0.0.1:18180 --db "$DB" --work-dir ${TMPDIR:-/tmp}/bbench_w0 2>${TMPDIR:-/tmp}/bbench_0.log & PIDS+=($!)
  URLS+=(http://127.0.0.1:18180)
else
  for i in $(seq 1 $N); do
    p=$((18180+i))
    $B server --bind 127.0.0.1:$p --db "$DB" --cluster --node-id n$i --groups 64 --lease-ms 5000 --heartbeat-ms 1000 --work-dir ${TMPDIR:-/tmp}/bbench_w$i 2>${TMPDIR:-/tmp}/bbench_$i.log & PIDS+=($!)
    URLS+=(http://127.0.0.1:$p)
  done
fi
sleep 6
IFS=,; SERVERS="${URLS[*]}"; unset IFS
shift
$B bench api --servers "$SERVERS" --workflows 16 --concurrency 32 --requests 6000 --seconds 15 "$@" | tail -4
for p in "${PIDS[@]}"; do kill -TERM $p; done
wait
psql -q postgres://postgres@127.0.0.1:5432/test -c "DROP SCHEMA $S CASCADE" >/dev/null 2>&1
