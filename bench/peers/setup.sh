#!/usr/bin/env bash
# Prepares the peer-comparison benchmarks (see README.md beside this file).
#
# The peers (DBOS Transact, Emmett) are installed into a scratch directory
# outside the repository, so that Orrery's own package.json and lock file never
# see them. Every run also drops and recreates the two scratch databases, so
# that each measurement starts from empty tables like Orrery's own benchmarks.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dir="${PEERS_DIR:-/tmp/orrery-peers}"

# Pinned versions: the figures in BENCHMARKS.md name them, so a later rerun
# must install the same ones.
DBOS_VERSION=5.3.0
EMMETT_VERSION=0.42.0

mkdir -p "$dir"
cp "$here/measure.mjs" "$here/dbos.mjs" "$here/emmett.mjs" "$dir/"

# A package.json of its own: "type": "module" for the .mjs scripts' imports,
# and so that npm does not climb up into some other project's package.json.
cat >"$dir/package.json" <<'EOF'
{
  "name": "orrery-peers",
  "private": true,
  "type": "module"
}
EOF

(
  cd "$dir"
  npm install --no-audit --no-fund \
    "@dbos-inc/dbos-sdk@$DBOS_VERSION" \
    "@event-driven-io/emmett@$EMMETT_VERSION" \
    "@event-driven-io/emmett-postgresql@$EMMETT_VERSION" \
    postgres
)

# Fresh, empty databases on the local Postgres (loopback only, trust auth).
# `test` is just a database that exists to connect to while dropping the others.
for db in peers_dbos peers_emmett; do
  PGOPTIONS="-c client_min_messages=warning" psql -h 127.0.0.1 -U postgres -d test -v ON_ERROR_STOP=1 -q \
    -c "drop database if exists $db with (force)" \
    -c "create database $db"
done

echo "peers ready in $dir:"
(cd "$dir" && npm ls --depth=0)
