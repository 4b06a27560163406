#!/usr/bin/env bash
# The one test command (see README.md): unit tests, end-to-end tests against the real
# server over real sockets (sqllogictest files, protocol, crash recovery), and the psql
# session test under integration/.
set -euo pipefail
cd "$(dirname "$0")"
cargo build --bins
cargo test --all-targets -- --test-threads=2
integration/psql/run.sh
