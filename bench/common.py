"""Shared helpers: machine facts, percentiles, RSS sampling, a lazily started real stack."""

from __future__ import annotations

import datetime as dt
import os
import platform
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_CONFIG_DIR", str(ROOT / "var" / "ultralytics"))
os.environ.setdefault("MPLBACKEND", "Agg")

MB = 1024 * 1024


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def percentile(values, q: float) -> float:
    """Linear-interpolated percentile (q in 0-100) of a non-empty sequence."""
    data = sorted(values)
    if not data:
        return float("nan")
    if len(data) == 1:
        return float(data[0])
    pos = (len(data) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(data) - 1)
    return float(data[lo] + (data[hi] - data[lo]) * (pos - lo))


def summary_ms(seconds: list[float]) -> dict:
    ms = [1000.0 * s for s in seconds]
    return {"n": len(ms), "p50": percentile(ms, 50), "p95": percentile(ms, 95),
            "p99": percentile(ms, 99), "mean": sum(ms) / len(ms) if ms else float("nan"),
            "max": max(ms) if ms else float("nan")}


def _read_cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(*dists: str) -> str:
    """The installed version of the first of these distributions that is present."""
    from importlib.metadata import PackageNotFoundError, version

    for dist in dists:
        try:
            return version(dist)
        except PackageNotFoundError:
            continue
    return "not installed"


def machine_info() -> dict:
    import psutil

    return {
        "cpu_model": _read_cpu_model(),
        "cores": os.cpu_count(),
        "ram_gib": round(psutil.virtual_memory().total / 1024**3, 1),
        "python": platform.python_version(),
        "torch": _version("torch"),
        "tensorflow": _version("tensorflow", "tensorflow-cpu", "tensorflow_cpu"),
        "keras": _version("keras"),
        "onnxruntime": _version("onnxruntime"),
        "ultralytics": _version("ultralytics"),
        "platform": platform.platform(),
        "loadavg_start": [round(x, 2) for x in os.getloadavg()],
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def _per_process(pid: int, read) -> list[int]:
    """`read(process)` for a process and all its descendants (processes gone are skipped)."""
    import psutil

    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []
    values = []
    for proc in procs:
        try:
            values.append(read(proc))
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return values


def tree_rss(pid: int) -> int:
    """RSS in bytes of a process and all its descendants (0 if it is gone)."""
    return sum(_per_process(pid, lambda proc: proc.memory_info().rss))


def max_process_rss(pid: int) -> int:
    """The largest RSS of a single process in the tree rooted at pid."""
    return max(_per_process(pid, lambda proc: proc.memory_info().rss), default=0)


def tree_pss(pid: int) -> int:
    """PSS in bytes of a process tree: shared (copy-on-write) pages counted once, split."""
    return sum(_per_process(pid, lambda proc: getattr(proc.memory_full_info(), "pss", 0)))


class RssSampler:
    """Samples the tree RSS of named pids every `interval` seconds in a background thread
    (and, every `pss_every`-th round when set, the tree PSS, which is costlier to read)."""

    def __init__(self, pids: dict[str, int], interval: float = 0.05, pss_every: int = 0):
        self.pids = pids
        self.interval = interval
        self.pss_every = pss_every
        self.samples: dict[str, list[int]] = {name: [] for name in pids}
        self.single_max: dict[str, int] = dict.fromkeys(pids, 0)
        self.pss_max: dict[str, int] = dict.fromkeys(pids, 0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        rounds = 0
        while not self._stop.is_set():
            for name, pid in self.pids.items():
                self.samples[name].append(tree_rss(pid))
                self.single_max[name] = max(self.single_max[name], max_process_rss(pid))
                if self.pss_every and rounds % self.pss_every == 0:
                    self.pss_max[name] = max(self.pss_max[name], tree_pss(pid))
            rounds += 1
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(5)

    def peak(self, name: str) -> int:
        return max(self.samples[name], default=0)


def procfile_web_args(procfile: Path = ROOT / "Procfile") -> list[str]:
    """The Procfile web line's gunicorn process settings (workers, threads, worker class), so
    the benchmarks measure the web layout the deployment runs."""
    for line in procfile.read_text().splitlines():
        if line.startswith("web:"):
            words = line.split()
            out: list[str] = []
            for flag in ("--workers", "--threads", "--worker-class", "--backlog"):
                if flag in words:
                    out += [flag, words[words.index(flag) + 1]]
            return out
    raise RuntimeError("no web line in the Procfile")


def _bench_stack_class():
    from tests.support.stack import BIN, Stack, wait_until

    class BenchStack(Stack):
        """The e2e stack with the Procfile's gunicorn layout (the tests keep a small one)."""

        def start_web(self):
            import requests

            process = self._spawn("web", [
                str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{self.web_port}",
                *procfile_web_args(), "--timeout", "120", "wsgi:app",
            ])
            wait_until(lambda: requests.get(self.url + "/healthz", timeout=1).ok, 60,
                       message="web up")
            return process

    return BenchStack


class StackHolder:
    """Starts one real stack (as the e2e tests do) on first use; stopped by `stop()`."""

    def __init__(self, extra_env: dict | None = None, database_url: str | None = None):
        self.extra_env = extra_env or {}
        self.database_url = database_url
        self.stack = None
        self.base_dir: Path | None = None
        self.error: str | None = None

    def get(self):
        if self.stack is not None:
            return self.stack
        if self.error:
            raise RuntimeError(self.error)
        stack_class = _bench_stack_class()
        self.base_dir = Path(tempfile.mkdtemp(prefix="bench-stack-"))
        stack = stack_class(self.base_dir, database_url=self.database_url,
                            extra_env=dict(self.extra_env),
                      worker_queues=stack_class.PRODUCTION_WORKERS, preload_models=True)
        log(f"starting the stack in {self.base_dir} (redis, migrations, workers, gunicorn)")
        t0 = time.perf_counter()
        try:
            stack.start()
        except Exception as exc:
            logs = "\n".join(f"---- {name} ----\n{stack.logs(name)[-2000:]}"
                             for name in list(stack.processes))
            stack.stop()
            self.error = f"stack failed to start: {exc!r}\n{logs}"
            raise RuntimeError(self.error) from exc
        self.stack = stack
        log(f"stack up in {time.perf_counter() - t0:.1f}s at {stack.url}")
        return stack

    def stop(self) -> None:
        if self.stack is not None:
            log("stopping the stack")
            try:
                self.stack.stop()
            finally:
                self.stack.cleanup()
                self.stack = None
        elif self.base_dir is not None:
            import shutil

            shutil.rmtree(self.base_dir, ignore_errors=True)


#: a database on the server where a benchmark's throwaway PostgreSQL database is made
POSTGRES_ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL",
                                    "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def postgres_database():
    """A new, empty PostgreSQL database for one benchmark stack, dropped afterwards; raises
    when no PostgreSQL server answers at BENCH_POSTGRES_URL."""
    from tests.support.postgres import throwaway_database

    return throwaway_database(POSTGRES_ADMIN_URL, "bench")


def error_text(exc: BaseException) -> str:
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()
