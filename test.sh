#!/usr/bin/env bash
# The one test command (see README.md): unit tests, end-to-end tests against the real
# server over real sockets (sqllogictest files, protocol, crash recovery, auth, BI-tool
# catalog queries), the psql session test, and the real-client suites under
# integration/clients/ (each installs its client when missing: see docs/clients.md).
set -euo pipefail
cd "$(dirname "$0")"
cargo build --bins
cargo test --all-targets -- --test-threads=2
integration/psql/run.sh
integration/clients/python/run.sh
integration/clients/jdbc/run.sh
integration/clients/node/run.sh
