"""A throwaway PostgreSQL server for the test suite (DESIGN.md §3, like ``s3_server.py``).

``start_pg_server()`` runs ``initdb`` into a fresh temp folder and starts ``postgres``
on 127.0.0.1 with a free port, its unix socket in that folder and durability turned
off (fsync, full-page writes, synchronous commit: the data is thrown away), waits
until it accepts connections and returns a ``PgServer``; ``PgServer.stop()`` shuts
it down and removes the folder. Its ``url(dbname)`` is a SQLAlchemy URL
(``postgresql+psycopg://...``); ``create_database``/``drop_database`` make one
database per test.

Binaries: ``$AUTOLEARN_TEST_PG_BIN``, ``pg_config --bindir``,
``/usr/lib/postgresql/<newest>/bin``, then ``PATH``. PostgreSQL refuses to run as
root, so as root the server runs as the ``postgres`` OS user (which the Debian package
creates). ``scripts/test-services.sh`` installs the package for ``make test``.

Run it by hand with ``python tests/pg_server.py``: it prints the URL and serves until
Ctrl-C.
"""

from __future__ import annotations

import atexit
import json
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from service_proc import (
    die_with_parent,
    free_port,
    pid_alive,
    start_with_retries,
    stop_process,
)

BIN_ENV = "AUTOLEARN_TEST_PG_BIN"
RUN_AS = "postgres"  # the OS user that runs the server when the tests run as root
SUPERUSER = "autolearn"
_PREFIX = "autolearn-pg-"
INSTALL_HINT = (
    "install the PostgreSQL server: `scripts/test-services.sh` (run by `make test`; as "
    "root it runs `apt-get install postgresql`), `sudo apt-get install postgresql` on "
    f"Debian/Ubuntu, or set {BIN_ENV}=/path/to/postgresql/bin (the folder with initdb)"
)


class PgServerError(RuntimeError):
    """The test PostgreSQL server could not be found or started."""


def _has_server(folder: Path) -> bool:
    return all(os.access(folder / name, os.X_OK) for name in ("initdb", "postgres"))


def _version_key(folder: Path) -> tuple[int, ...]:
    digits = "".join(c if c.isdigit() else " " for c in folder.parent.name).split()
    return tuple(int(d) for d in digits)


def find_bindir() -> Path | None:
    """The folder holding ``initdb`` and ``postgres`` (see the module docstring)."""
    explicit = os.environ.get(BIN_ENV)
    if explicit:
        return Path(explicit) if _has_server(Path(explicit)) else None
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        if out.returncode == 0 and out.stdout.strip():
            candidates.append(Path(out.stdout.strip()))
    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version_key, reverse=True)
    candidates += debian
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    return next((c for c in candidates if _has_server(c)), None)


@dataclass
class PgServer:
    """A running PostgreSQL server; ``stop()`` ends it and removes its folder."""

    host: str
    port: int
    password: str
    workdir: Path
    process: subprocess.Popen[bytes]
    bindir: Path
    startup_s: float = 0.0
    user: str = SUPERUSER

    @property
    def log_path(self) -> Path:
        return self.workdir / "postgres.log"

    def url(self, dbname: str = "postgres") -> str:
        """SQLAlchemy URL of ``dbname`` on this server (psycopg 3 driver)."""
        return f"postgresql+psycopg://{self.user}:{self.password}@{self.host}:{self.port}/{dbname}"

    def connect(self, dbname: str = "postgres", **kwargs: Any) -> Any:
        """A psycopg connection (autocommit) for administration."""
        import psycopg

        params: dict[str, Any] = {"connect_timeout": 5, **kwargs}
        return psycopg.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            dbname=dbname,
            autocommit=True,
            **params,
        )

    def create_database(self, name: str) -> str:
        """Create database ``name`` (an identifier: letters, digits, _); returns its URL."""
        _check_identifier(name)
        with self.connect() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop ``name``, ending any connection still open to it (a test's engine pool)."""
        _check_identifier(name)
        with self.connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, grace: float = 10.0) -> None:
        """Fast shutdown (SIGINT: ends sessions, no waiting for clients), SIGKILL after
        ``grace`` seconds; removes the folder."""
        stop_process(self.process, grace, signal.SIGINT)
        atexit.unregister(self.stop)
        shutil.rmtree(self.workdir, ignore_errors=True)


def _check_identifier(name: str) -> None:
    if not name or not all(c.isalnum() or c == "_" for c in name):
        raise ValueError(f"not a plain database name: {name!r}")


@dataclass(frozen=True)
class _Account:
    """Who runs the server: ourselves, or ``postgres`` when we are root."""

    uid: int | None = None
    gid: int | None = None

    def popen_kwargs(self) -> dict[str, Any]:
        if self.uid is None:
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": []}


def _account() -> _Account:
    if os.geteuid() != 0:
        return _Account()
    try:
        entry = pwd.getpwnam(RUN_AS)
    except KeyError:
        raise PgServerError(
            "the tests run as root, PostgreSQL refuses to run as root, and there is no "
            f"'{RUN_AS}' OS user to run it as: create one (`useradd --system {RUN_AS}`) "
            "or install the Debian package, which does (`apt-get install postgresql`)"
        ) from None
    return _Account(uid=entry.pw_uid, gid=entry.pw_gid)


def _chown_tree(root: Path, account: _Account) -> None:
    if account.uid is None or account.gid is None:
        return
    for path in [root, *root.rglob("*")]:
        os.chown(path, account.uid, account.gid)


def _age_s(path: Path) -> float:
    try:
        return time.time() - path.stat().st_mtime
    except OSError:
        return 0.0


def reap_stale_servers() -> None:
    """Remove the folders of earlier runs whose server is gone (a test process that was
    SIGKILLed cannot clean up; its server shut down with it)."""
    folders = {*Path(tempfile.gettempdir()).glob(f"{_PREFIX}*"), *Path("/tmp").glob(f"{_PREFIX}*")}
    for folder in folders:
        try:
            pid = int(json.loads((folder / "server.json").read_text())["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            if _age_s(folder) > 3600:  # a start that crashed before writing server.json
                shutil.rmtree(folder, ignore_errors=True)
            continue  # still starting, or not ours
        if not pid_alive(pid):
            shutil.rmtree(folder, ignore_errors=True)


def start_pg_server(
    bindir: Path | None = None, timeout: float = 60.0, attempts: int = 3
) -> PgServer:
    """initdb + postgres in a temp folder; waits until it answers. A start that dies early
    (a port taken between choosing and binding it) is retried with another port."""
    bindir = bindir or find_bindir()
    if bindir is None:
        raise PgServerError(
            f"PostgreSQL server binaries (initdb, postgres) not found: {INSTALL_HINT}"
        )
    account = _account()
    reap_stale_servers()
    found = bindir
    return start_with_retries(
        lambda: _start_once(found, account, timeout), attempts, _EarlyExit, "PostgreSQL"
    )


class _EarlyExit(PgServerError):
    pass


def _initdb(bindir: Path, workdir: Path, password: str, account: _Account) -> Path:
    """A fresh cluster in ``workdir/data``: superuser ``autolearn`` with ``password``
    over TCP, trust over the private unix socket."""
    pwfile = workdir / "pwfile"
    pwfile.write_text(password + "\n")
    data = workdir / "data"
    _chown_tree(workdir, account)
    cmd = [
        str(bindir / "initdb"),
        f"--pgdata={data}",
        f"--username={SUPERUSER}",
        f"--pwfile={pwfile}",
        "--auth-local=trust",
        "--auth-host=scram-sha-256",
        "--encoding=UTF8",
        "--locale=C",
        "--no-sync",
    ]
    env = {**os.environ, "LC_ALL": "C", "TZ": "UTC"}
    out = subprocess.run(
        cmd, capture_output=True, text=True, env=env, cwd=workdir, **account.popen_kwargs()
    )
    pwfile.unlink()
    if out.returncode != 0:
        raise PgServerError(f"initdb failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    return data


def _start_once(bindir: Path, account: _Account, timeout: float) -> PgServer:
    # As another user the server must reach its folder: /tmp, not a private $TMPDIR.
    workdir = Path(tempfile.mkdtemp(prefix=_PREFIX, dir="/tmp" if account.uid else None))
    password = secrets.token_hex(16)
    try:
        data = _initdb(bindir, workdir, password, account)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    port = free_port()
    settings = {
        "listen_addresses": "127.0.0.1",
        "port": str(port),
        "unix_socket_directories": str(workdir),
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
        "max_connections": "200",
        "shared_buffers": "32MB",
        "timezone": "UTC",
        "log_min_messages": "warning",
    }
    cmd = [str(bindir / "postgres"), "-D", str(data)]
    for key, value in settings.items():
        cmd += ["-c", f"{key}={value}"]
    log = (workdir / "postgres.log").open("wb")
    _chown_tree(workdir, account)
    started = time.monotonic()
    try:
        proc = subprocess.Popen(
            cmd,
            cwd=workdir,
            env={**os.environ, "LC_ALL": "C"},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent(signal.SIGINT),  # a fast shutdown
            **account.popen_kwargs(),
        )
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    finally:
        log.close()
    (workdir / "server.json").write_text(json.dumps({"pid": proc.pid, "port": port}))
    server = PgServer("127.0.0.1", port, password, workdir, proc, bindir)
    atexit.register(server.stop)
    try:
        _wait_ready(server, timeout)
    except BaseException:
        server.stop()
        raise
    server.startup_s = time.monotonic() - started
    return server


def _wait_ready(server: PgServer, timeout: float) -> None:
    import psycopg

    deadline = time.monotonic() + timeout
    last = "no answer yet"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise _EarlyExit(
                f"postgres exited with code {server.process.returncode}:\n{server.log_tail()}"
            )
        try:
            with server.connect(connect_timeout=2) as conn:
                conn.execute("SELECT 1")
            return
        except psycopg.OperationalError as exc:
            last = str(exc).strip()
        time.sleep(0.1)
    raise PgServerError(
        f"PostgreSQL on port {server.port} did not answer within {timeout:.0f}s "
        f"(last: {last});\n{server.log_tail()}"
    )


if __name__ == "__main__":
    srv = start_pg_server()
    print(f"AUTOLEARN_DATABASE_URL={srv.url()}")
    print(f"# started in {srv.startup_s:.1f}s, data in {srv.workdir}")
    try:
        srv.process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        srv.stop()
