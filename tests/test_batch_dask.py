"""`acuvoice batch` on a Dask distributed cluster: a LocalCluster of processes, and a
scheduler with two workers started as real processes on loopback. A worker is killed in the
middle of a render; every render must still finish exactly once, leave no temporary file
and no orphan ffmpeg, and a rerun must render nothing.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from acuvoice.batch import BatchReport, dask_executor, is_complete, load_catalog, run_batch
from tests.support import require


@pytest.fixture(autouse=True)
def _needs_distributed() -> None:
    # scripts/test installs the dask extra, so in CI a missing one fails (never skips).
    found = importlib.util.find_spec("distributed") is not None
    require(found, "dask distributed", "pip install 'acuvoice[dask]'")


CATALOG = """\
acuvoice_catalog: 1
routines: [desk-break, nausea]
variants:
  target: [6m, 7m, 8m]
  voice: [fake]
  format: [mp3]
defaults:
  bundle: false
"""


def ffmpeg_under(path: Path) -> list[int]:
    """Processes running ffmpeg on a file under ``path``."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if cmd and cmd[0].endswith(b"ffmpeg") and any(str(path).encode() in c for c in cmd):
            found.append(int(proc.name))
    return found


def leftovers(out: Path) -> list[Path]:
    return [p for p in out.glob("*/.*")] + [p for p in out.glob("*/*.part")]


def check_finished(out: Path, report_text: str | None = None) -> None:
    folders = [f for f in out.iterdir() if f.is_dir() and not f.name.startswith(".")]
    assert len(folders) == 6, folders  # one folder per render: each made exactly once
    for folder in folders:
        key_start = folder.name.rsplit("-", 1)[1]
        manifest = (folder / "manifest.json").read_text(encoding="utf-8")
        assert f'"key": "{key_start}' in manifest
        key = manifest.split('"key": "', 1)[1].split('"', 1)[0]
        assert is_complete(folder, key)
        assert len(list(folder.glob("*.mp3"))) == 1
    assert not leftovers(out), leftovers(out)
    deadline = time.time() + 10  # a killed render's encoder dies with it
    while ffmpeg_under(out) and time.time() < deadline:
        time.sleep(0.2)
    assert not ffmpeg_under(out)


def kill_a_busy_worker(processing: dict[str, list[str]], pids: dict[str, int]) -> bool:
    for address, tasks in processing.items():
        if tasks and address in pids:
            os.kill(pids[address], signal.SIGKILL)
            return True
    return False


@pytest.fixture
def cluster() -> Iterator[object]:
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=50,
        ) as local,
        Client(local, set_as_default=False) as client,
    ):
        yield client


@pytest.mark.slow
def test_a_local_cluster_finishes_every_render_once_despite_a_killed_worker(
    cluster: object, tmp_path: Path
) -> None:
    from distributed import Client

    assert isinstance(cluster, Client)
    (tmp_path / "catalog.yaml").write_text(CATALOG, encoding="utf-8")
    catalog = load_catalog(tmp_path / "catalog.yaml")
    out = tmp_path / "out"
    result: dict[str, BatchReport] = {}

    def batch() -> None:
        with cluster.get_executor(pure=False) as ex:  # type: ignore[no-untyped-call]
            result["report"] = run_batch(catalog, out, executor=ex, cache_dir=tmp_path / "c")

    runner = threading.Thread(target=batch)
    runner.start()
    killed = False
    deadline = time.time() + 120
    while not killed and runner.is_alive() and time.time() < deadline:
        if list(out.glob("*/.acuvoice-*")):  # a render is writing its files
            pids = cluster.run(os.getpid)  # type: ignore[no-untyped-call]
            killed = kill_a_busy_worker(cluster.processing(), pids)  # type: ignore[no-untyped-call]
        time.sleep(0.05)
    runner.join(timeout=300)
    assert killed, "no render was caught in the middle"
    report = result["report"]
    assert report.ok, [r.reason for r in report.results if r.reason]
    assert report.count("rendered") == 6
    check_finished(out)
    # A rerun renders nothing.
    with cluster.get_executor(pure=False) as ex:  # type: ignore[no-untyped-call]
        again = run_batch(catalog, out, executor=ex, cache_dir=tmp_path / "c")
    assert again.count("reused") == 6 and again.count("rendered") == 0


@pytest.mark.slow
def test_a_scheduler_and_two_worker_processes_on_loopback(tmp_path: Path) -> None:
    dask = Path(sys.executable).with_name("dask")
    acuvoice = Path(sys.executable).with_name("acuvoice")
    require(dask.exists(), "the dask command", "pip install 'acuvoice[dask]'")
    env = {**os.environ, "ACUVOICE_CACHE_DIR": str(tmp_path / "cache")}
    scheduler_file = tmp_path / "scheduler.json"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": env}
    procs = [
        subprocess.Popen(
            [
                str(dask),
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--no-dashboard",
                "--scheduler-file",
                str(scheduler_file),
            ],
            **quiet,
        )
    ]
    try:
        deadline = time.time() + 60
        while not scheduler_file.exists() and time.time() < deadline:
            time.sleep(0.1)
        workers = [
            subprocess.Popen(
                [
                    str(dask),
                    "worker",
                    "--scheduler-file",
                    str(scheduler_file),
                    "--nthreads",
                    "1",
                    "--no-nanny",
                    "--no-dashboard",
                    "--host",
                    "127.0.0.1",
                ],
                **quiet,
            )
            for _ in range(2)
        ]
        procs += workers
        (tmp_path / "catalog.yaml").write_text(CATALOG, encoding="utf-8")
        out = tmp_path / "out"
        command = [str(acuvoice), "batch", "catalog.yaml", "-o", "out",
                   "--scheduler-file", str(scheduler_file)]  # fmt: skip
        batch = subprocess.Popen(
            command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        deadline = time.time() + 120
        while not list(out.glob("*/.acuvoice-*")) and time.time() < deadline:
            time.sleep(0.05)
        workers[0].kill()  # the first worker dies, whatever it was doing
        stdout, stderr = batch.communicate(timeout=300)
        assert batch.returncode == 0, stderr
        assert "6 rendered, 0 reused, 0 failed" in stdout
        check_finished(out)
        rerun = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
        assert rerun.returncode == 0, rerun.stderr
        assert "0 rendered, 6 reused, 0 failed" in rerun.stdout
    finally:
        for p in procs:
            p.kill()
            p.wait()


@pytest.mark.slow
def test_the_web_servers_renders_can_run_on_the_cluster(cluster: object, tmp_path: Path) -> None:
    from distributed import Client
    from fastapi.testclient import TestClient

    from acuvoice.web.server import Settings, create_app
    from tests.test_web_api import SHORT, wait

    assert isinstance(cluster, Client)
    address = cluster.scheduler.address  # type: ignore[union-attr]
    with dask_executor(address) as ex:  # what `acuvoice serve --scheduler ADDRESS` makes
        settings = Settings(data=tmp_path / "data", workers=2, executor=ex)
        with TestClient(create_app(settings)) as web:
            answer = web.post(
                "/api/renders", json={"yaml": SHORT, "engine": "fake", "target": "2m"}
            )
            assert answer.status_code == 202, answer.text
            status = wait(web, answer.json()["id"], timeout=180)
            assert status["state"] == "done", status
            files = {f["name"] for f in status["files"]}
            assert "manifest.json" in files and any(n.endswith(".mp3") for n in files)
    ran_on = cluster.run(os.getpid)  # type: ignore[no-untyped-call]
    assert os.getpid() not in ran_on.values()  # the workers are other processes
