#!/usr/bin/env bash
# Makes sure the services that the test suite starts by itself can be started:
# PostgreSQL's server binaries (initdb, postgres). `make test` runs this before pytest.
#
# The suite starts and stops its own throwaway servers (tests/pg_server.py,
# tests/s3_server.py, tests/ray_server.py); SeaweedFS and Ray come from the venv
# (the dev extra), so only PostgreSQL needs the system's package manager.
# As root with apt-get (CI: a fresh Debian), the `postgresql` package is installed;
# otherwise the script says what to install and fails.
set -euo pipefail

find_initdb() {
    if [[ -n "${AUTOLEARN_TEST_PG_BIN:-}" && -x "$AUTOLEARN_TEST_PG_BIN/initdb" ]]; then
        echo "$AUTOLEARN_TEST_PG_BIN/initdb"
        return 0
    fi
    if command -v pg_config >/dev/null 2>&1; then
        local bindir
        bindir="$(pg_config --bindir 2>/dev/null || true)"
        if [[ -n "$bindir" && -x "$bindir/initdb" && -x "$bindir/postgres" ]]; then
            echo "$bindir/initdb"
            return 0
        fi
    fi
    local candidate
    for candidate in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [[ -x "$candidate/initdb" && -x "$candidate/postgres" ]]; then
            echo "$candidate/initdb"
            return 0
        fi
    done
    command -v initdb 2>/dev/null
}

# Debian's postinst would start a cluster on port 5432 through invoke-rc.d; the tests
# need only the binaries. policy-rc.d answering 101 ("action forbidden") prevents it.
install_postgresql() {
    local policy=/usr/sbin/policy-rc.d made_policy=0
    if [[ ! -e "$policy" ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy"
        chmod +x "$policy"
        made_policy=1
    fi
    export DEBIAN_FRONTEND=noninteractive
    local status=0
    if ! apt-get install -y --no-install-recommends postgresql; then
        apt-get update && apt-get install -y --no-install-recommends postgresql || status=$?
    fi
    if [[ "$made_policy" == 1 ]]; then
        rm -f "$policy"
    fi
    return "$status"
}

if initdb="$(find_initdb)"; then
    echo "test services: PostgreSQL server binaries at $(dirname "$initdb")"
    exit 0
fi

if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "test services: installing PostgreSQL (apt-get install postgresql)"
    install_postgresql
    if initdb="$(find_initdb)"; then
        echo "test services: PostgreSQL server binaries at $(dirname "$initdb")"
        exit 0
    fi
    echo "test services: apt-get installed postgresql but initdb is still missing" >&2
    exit 1
fi

cat >&2 <<'EOF'
test services: PostgreSQL server binaries (initdb, postgres) not found.
The database tests run on SQLite and on a throwaway PostgreSQL server that the suite
starts itself; install the server package and run `make test` again:
  Debian/Ubuntu:  sudo apt-get install postgresql
  Fedora:         sudo dnf install postgresql-server
  macOS:          brew install postgresql
or point AUTOLEARN_TEST_PG_BIN at the folder that holds initdb and postgres.
EOF
exit 1
