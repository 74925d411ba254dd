#!/usr/bin/env bash
# Makes sure the services that the test suite starts by itself can be started:
# PostgreSQL's server binaries (initdb, postgres) and Chromium for the console's browser
# tests (tests/e2e). `make test` runs this before pytest.
#
# The suite starts and stops its own throwaway servers (tests/pg_server.py,
# tests/s3_server.py, tests/ray_server.py) and its own headless browser. SeaweedFS, Ray
# and Playwright come from the venv (the dev extra), so only PostgreSQL and Chromium need
# the system's package manager (`playwright install` downloads its browsers from the
# internet; the tests use Debian's chromium instead).
# As root with apt-get (CI: a fresh Debian), the `postgresql`, `chromium` and
# `chromium-driver` packages are installed (no daemon is started); otherwise the script
# says what to install and fails.
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

can_apt() {
    [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1
}

ensure_postgresql() {
    local initdb
    if initdb="$(find_initdb)"; then
        echo "test services: PostgreSQL server binaries at $(dirname "$initdb")"
        return 0
    fi
    if can_apt; then
        echo "test services: installing PostgreSQL (apt-get install postgresql)"
        install_postgresql
        if initdb="$(find_initdb)"; then
            echo "test services: PostgreSQL server binaries at $(dirname "$initdb")"
            return 0
        fi
        echo "test services: apt-get installed postgresql but initdb is still missing" >&2
        return 1
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
    return 1
}

# The browser tests (tests/e2e/conftest.py) launch $AUTOLEARN_TEST_CHROMIUM, by default
# /usr/bin/chromium (Debian's package), headless through Playwright.
CHROMIUM="${AUTOLEARN_TEST_CHROMIUM:-/usr/bin/chromium}"

# Fonts: Liberation for Latin text and WenQuanYi Zen Hei for the Chinese words some
# console strings carry, so that the screenshots (docs/screenshots) show real glyphs.
install_chromium() {
    export DEBIAN_FRONTEND=noninteractive
    local pkgs=(chromium chromium-driver fonts-liberation fonts-wqy-zenhei)
    if ! apt-get install -y --no-install-recommends "${pkgs[@]}"; then
        apt-get update && apt-get install -y --no-install-recommends "${pkgs[@]}"
    fi
}

ensure_chromium() {
    if [[ -x "$CHROMIUM" ]]; then
        echo "test services: Chromium at $CHROMIUM"
        return 0
    fi
    if can_apt; then
        echo "test services: installing Chromium (apt-get install chromium chromium-driver)"
        install_chromium
        if [[ -x "$CHROMIUM" ]]; then
            echo "test services: Chromium at $CHROMIUM"
            return 0
        fi
        echo "test services: apt-get installed chromium but $CHROMIUM is still missing" >&2
        return 1
    fi
    cat >&2 <<EOF
test services: Chromium not found at $CHROMIUM.
The console's browser tests (tests/e2e) drive a headless Chromium through Playwright;
install it and run 'make test' again:
  Debian/Ubuntu:  sudo apt-get install chromium chromium-driver
or point AUTOLEARN_TEST_CHROMIUM at a Chromium or Chrome binary
(or leave the browser tests out: make test PYTEST_ARGS='-m "not e2e"').
EOF
    return 1
}

status=0
ensure_postgresql || status=1
ensure_chromium || status=1
exit "$status"
