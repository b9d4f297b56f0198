"""Small bounded helpers shared by the harness."""
from __future__ import annotations

import subprocess
import time
from typing import Callable, Optional, Sequence, TypeVar

T = TypeVar("T")

DEFAULT_CMD_TIMEOUT = 20.0


class HarnessError(RuntimeError):
    pass


def run(cmd: Sequence[str], *, timeout: float = DEFAULT_CMD_TIMEOUT, check: bool = True,
        input: Optional[str] = None) -> subprocess.CompletedProcess:
    """Run a short command to completion, bounded in time, capturing output."""
    try:
        cp = subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout, input=input)
    except subprocess.TimeoutExpired as e:
        raise HarnessError(f"command timed out after {timeout}s: {' '.join(cmd)}") from e
    if check and cp.returncode != 0:
        raise HarnessError(
            f"command failed ({cp.returncode}): {' '.join(cmd)}\nstdout: {cp.stdout}\nstderr: {cp.stderr}")
    return cp


def wait_for(pred: Callable[[], Optional[T]], *, timeout: float, interval: float = 0.1,
             what: str = "condition") -> T:
    """Poll pred() until it returns a truthy value; raise HarnessError after timeout."""
    deadline = time.monotonic() + timeout
    last_exc: Optional[BaseException] = None
    while True:
        try:
            v = pred()
            if v:
                return v
        except Exception as e:  # noqa: BLE001 - reported on timeout
            last_exc = e
        if time.monotonic() >= deadline:
            msg = f"timed out after {timeout}s waiting for {what}"
            if last_exc is not None:
                msg += f" (last error: {last_exc!r})"
            raise HarnessError(msg)
        time.sleep(interval)
