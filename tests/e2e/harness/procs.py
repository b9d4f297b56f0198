"""Start processes inside a namespace with their output captured to a
per-test log directory; everything started is killed at teardown."""
from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence

from .netns import Namespace
from .util import HarnessError, wait_for


@dataclass
class Proc:
    name: str
    argv: List[str]
    popen: subprocess.Popen
    stdout_path: Path
    stderr_path: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def output(self) -> str:
        """stdout + stderr so far."""
        out = []
        for p in (self.stdout_path, self.stderr_path):
            try:
                out.append(p.read_text(errors="replace"))
            except FileNotFoundError:
                pass
        return "".join(out)

    def wait_output(self, needle: str, timeout: float = 10.0) -> None:
        """Wait until needle appears in the output; fail early if the process dies."""
        def pred():
            if needle in self.output():
                return True
            if not self.alive():
                raise HarnessError(f"{self.name} exited ({self.popen.returncode}) before "
                                   f"printing {needle!r}:\n{self.output()[-3000:]}")
            return False
        try:
            wait_for(pred, timeout=timeout, what=f"{needle!r} in {self.name} output")
        except HarnessError as e:
            raise HarnessError(f"{e}\n--- {self.name} output ---\n{self.output()[-3000:]}") from None

    def send_signal(self, sig: int) -> None:
        if self.alive():
            try:
                os.killpg(self.popen.pid, sig)
            except ProcessLookupError:
                pass

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 5.0) -> Optional[int]:
        """Signal the process group, wait, then SIGKILL. Returns the exit code."""
        if self.alive():
            self.send_signal(sig)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.send_signal(signal.SIGKILL)
                try:
                    self.popen.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    pass
        return self.popen.returncode

    def wait(self, timeout: float) -> int:
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise HarnessError(f"{self.name} still running after {timeout}s:\n{self.output()[-3000:]}") from None


class ProcessManager:
    """Owns every process a test starts. Use as a context manager or call
    stop_all() in a finalizer."""

    def __init__(self, logdir: Path) -> None:
        self.logdir = Path(logdir)
        self.logdir.mkdir(parents=True, exist_ok=True)
        self.procs: List[Proc] = []
        self._names: dict = {}

    def _unique(self, name: str) -> str:
        n = self._names.get(name, 0)
        self._names[name] = n + 1
        return name if n == 0 else f"{name}.{n}"

    def start(self, ns: Optional[Namespace], name: str, argv: Sequence[str],
              env: Optional[dict] = None) -> Proc:
        """Start argv (inside ns if given) in its own process group."""
        name = self._unique(name)
        full = (ns.exec_prefix if ns else []) + list(argv)
        out = self.logdir / f"{name}.stdout"
        err = self.logdir / f"{name}.stderr"
        (self.logdir / f"{name}.cmd").write_text(" ".join(full) + "\n")
        with open(out, "wb") as fo, open(err, "wb") as fe:
            popen = subprocess.Popen(full, stdout=fo, stderr=fe, stdin=subprocess.DEVNULL,
                                     start_new_session=True, env=env)
        p = Proc(name, full, popen, out, err)
        self.procs.append(p)
        return p

    def run(self, ns: Optional[Namespace], name: str, argv: Sequence[str],
            timeout: float = 20.0, check: bool = True, env: Optional[dict] = None) -> Proc:
        """Start and wait for completion (bounded), logs kept like start()."""
        p = self.start(ns, name, argv, env=env)
        try:
            rc = p.wait(timeout)
        except HarnessError:
            p.stop(signal.SIGKILL)
            raise
        if check and rc != 0:
            raise HarnessError(f"{name} failed with {rc}:\n{p.output()[-3000:]}")
        return p

    def stop_all(self) -> None:
        for p in reversed(self.procs):
            p.stop()

    def __enter__(self) -> "ProcessManager":
        return self

    def __exit__(self, *exc) -> None:
        self.stop_all()
