"""Prefect's environment, set before prefect is imported (Prefect reads its settings once, at import).

Default: the local ephemeral API on SQLite, fully offline — PREFECT_HOME under the configured cache dir (its
database, settings and logs), server analytics off, a startup timeout that suits slow machines, and
PREFECT_API_URL left unset so that Prefect starts its own temporary server. Every variable the user has set
already wins: export PREFECT_API_URL=http://host:4200/api to run against a real Prefect server.
"""
from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

if TYPE_CHECKING:  # pragma: no cover
    from pipeline.config import Settings

_DONE: dict[str, str] | None = None


def prefect_environment(settings: "Settings") -> dict[str, str]:
    """The variables configure_prefect sets (where the user has not set them)."""
    home = settings.flows.prefect_home
    home_path = settings.resolve(home) if home else settings.cache_dir / "prefect"
    return {
        "PREFECT_HOME": str(home_path),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_CLOUD_ENABLE_ORCHESTRATION_TELEMETRY": "false",
        "PREFECT_SERVER_EPHEMERAL_ENABLED": "true",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": str(settings.flows.server_startup_timeout),
    }


def configure_prefect(settings: "Settings | None" = None) -> dict[str, str]:
    """Set Prefect's variables (setdefault: the user's own values win) and create PREFECT_HOME; idempotent.
    Call it before the first `import prefect`; flows/__init__.py does."""
    global _DONE
    if _DONE is not None:
        return _DONE
    if settings is None:
        from pipeline.config import get_settings

        settings = get_settings()
    env = prefect_environment(settings)
    new = [k for k in env if k not in os.environ]
    for k, v in env.items():
        os.environ.setdefault(k, v)
    Path(os.environ["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)
    if new and "prefect" in sys.modules:  # too late for Prefect's own settings: say so rather than silently differ
        import warnings

        warnings.warn("prefect was imported before flows.configure_prefect(): PREFECT_HOME, telemetry and the "
                      "server startup timeout may not apply", RuntimeWarning, stacklevel=2)
    _DONE = {k: os.environ[k] for k in env}
    return _DONE


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as r:  # noqa: S310 - a local URL
            return r.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


@contextlib.contextmanager
def local_server(settings: "Settings", port: int | None = None) -> Iterator[str]:
    """A Prefect server with its scheduler (which the ephemeral API lacks) for `jianbao serve`, on 127.0.0.1 and
    SQLite under PREFECT_HOME; started as a subprocess and stopped on exit. Yields the API URL and sets
    PREFECT_API_URL for this process (before prefect is imported). With PREFECT_API_URL set already, that server
    is used and nothing is started."""
    configure_prefect(settings)
    existing = os.environ.get("PREFECT_API_URL")
    if existing:
        yield existing
        return
    if "prefect" in sys.modules:
        raise RuntimeError("local_server() must run before prefect is imported")
    port = port or settings.flows.server_port
    url = f"http://127.0.0.1:{port}/api"
    if not _port_free(port):
        if _healthy(url):  # a Prefect server of ours (or the user's) is already there: use it
            os.environ["PREFECT_API_URL"] = url
            try:
                yield url
            finally:
                os.environ.pop("PREFECT_API_URL", None)
            return
        raise RuntimeError(f"port {port} on 127.0.0.1 is taken by something that is not a Prefect server; "
                           f"set [flows] server_port or PREFECT_API_URL")
    log = Path(os.environ["PREFECT_HOME"]) / "server.log"
    with open(log, "ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
                                 "--port", str(port)], stdout=out, stderr=subprocess.STDOUT,
                                env={**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false"})
    try:
        deadline = time.monotonic() + settings.flows.server_startup_timeout
        while not _healthy(url):
            if proc.poll() is not None:
                raise RuntimeError(f"the local Prefect server exited with code {proc.returncode}; see {log}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the local Prefect server did not answer within "
                                   f"{settings.flows.server_startup_timeout} s ([flows] server_startup_timeout); "
                                   f"see {log}")
            time.sleep(0.5)
        os.environ["PREFECT_API_URL"] = url
        yield url
    finally:
        os.environ.pop("PREFECT_API_URL", None)
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
