"""tshark capture inside a namespace, and decoding of the resulting pcap."""
from __future__ import annotations

import json
import os
import subprocess
import time
import re
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

from .netns import Namespace
from .procs import Proc, ProcessManager
from .util import HarnessError, run, wait_for


@dataclass
class Capture:
    proc: Proc
    pcap: Path
    settle: float = 1.5  # let the kernel hand over buffered packets before stopping

    def stop(self, timeout: float = 10.0, settle: Optional[float] = None) -> Path:
        """SIGINT lets tshark flush the pcap; bounded, SIGKILL after timeout.
        Sleeps `settle` first: packets can sit in the kernel's capture ring
        for a moment and would be lost by an immediate stop."""
        if self.proc.alive():
            time.sleep(self.settle if settle is None else settle)
            # Signal tshark itself, not its process group: tshark then stops its
            # dumpcap child cleanly, which flushes packets still in the buffer.
            try:
                os.kill(self.proc.pid, signal.SIGINT)
                self.proc.popen.wait(timeout=timeout)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
            self.proc.stop(timeout=timeout)
        return self.pcap

    def __enter__(self) -> "Capture":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start_capture(pm: ProcessManager, ns: Namespace, ifname: str, pcap: Path,
                  capture_filter: str = "udp port 67 or udp port 68", name: str = "tshark",
                  timeout: float = 15.0) -> Capture:
    """Capture on ns/ifname with a BPF capture filter into a (classic) pcap file."""
    pcap.parent.mkdir(parents=True, exist_ok=True)
    pcap.unlink(missing_ok=True)  # a stale file would look like a started capture
    p = pm.start(ns, name, ["tshark", "-n", "-q", "-i", ifname, "-f", capture_filter,
                            "-F", "pcap", "-w", str(pcap)])
    p.wait_output("Capturing on", timeout=timeout)
    # "Capturing on" comes before dumpcap has the interface open: packets sent at
    # once can be missed. dumpcap creates the pcap only after opening the
    # interface and setting the filter, and tshark then logs "Capture started".
    def started() -> bool:
        if not p.alive():
            raise HarnessError(f"{name} exited before the capture started:\n{p.output()[-3000:]}")
        return "Capture started" in p.output() or (pcap.exists() and pcap.stat().st_size >= 24)
    wait_for(started, timeout=timeout, interval=0.02, what=f"{name} capture to start")
    return Capture(p, pcap)


def stop_captures(caps: Dict[str, Capture]) -> Dict[str, Path]:
    """Stop several captures with one settle delay; returns name -> pcap."""
    if caps:
        time.sleep(max(c.settle for c in caps.values()))
    return {k: c.stop(settle=0) for k, c in caps.items()}


def dhcp_options(bootp_hex: str) -> Dict[int, bytes]:
    """code -> raw value bytes of a BOOTP/DHCP message (fixed header, cookie,
    options; instances of one code concatenated as RFC 3396 says)."""
    b = bytes.fromhex(bootp_hex.replace(":", ""))
    assert b[236:240] == b"\x63\x82\x53\x63", "no DHCP magic cookie"
    i, out = 240, {}
    while i < len(b):
        code = b[i]
        if code == 255:
            break
        if code == 0:
            i += 1
            continue
        n = b[i + 1]
        out[code] = out.get(code, b"") + b[i + 2:i + 2 + n]
        i += 2 + n
    return out


def _tshark_read(pcap: Path, *args: str, timeout: float = 30.0) -> str:
    # -o: decode DHCP on its standard ports regardless of profile.
    cp = run(["tshark", "-n", "-r", str(pcap)] + list(args), timeout=timeout, check=False)
    if cp.returncode != 0:
        raise HarnessError(f"tshark -r {pcap} {' '.join(args)} failed: {cp.stderr}")
    return cp.stdout


def packets(pcap: Path, display_filter: str = "") -> List[dict]:
    """Full decode as tshark's JSON (list of {_source: {layers: ...}})."""
    args = ["-T", "json"] + (["-Y", display_filter] if display_filter else [])
    out = _tshark_read(pcap, *args)
    return json.loads(out) if out.strip() else []


def packets_raw(pcap: Path, display_filter: str = "") -> List[dict]:
    """Like packets(), with each layer's raw bytes too (`<layer>_raw`: hex, offset, length...)."""
    args = ["-T", "json", "-x"] + (["-Y", display_filter] if display_filter else [])
    out = _tshark_read(pcap, *args)
    return json.loads(out) if out.strip() else []


def fields(pcap: Path, names: List[str], display_filter: str = "") -> List[List[str]]:
    """One row per packet with the given tshark fields (e.g. dhcp.option.dhcp)."""
    args = ["-T", "fields", "-E", "separator=\t", "-E", "occurrence=a", "-E", "aggregator=,"]
    for n in names:
        args += ["-e", n]
    if display_filter:
        args += ["-Y", display_filter]
    return [line.split("\t") for line in _tshark_read(pcap, *args).splitlines()]


def count(pcap: Path, display_filter: str = "") -> int:
    return len(fields(pcap, ["frame.number"], display_filter))


@dataclass
class DecodeReport:
    frames: int
    malformed: List[str] = field(default_factory=list)
    expert: List[str] = field(default_factory=list)   # warnings and errors only

    @property
    def ok(self) -> bool:
        return not self.malformed and not self.expert

    def __str__(self) -> str:
        return (f"{self.frames} frames; malformed: {self.malformed or 'none'}; "
                f"expert warnings/errors: {self.expert or 'none'}")


def check_decode(pcap: Path, display_filter: str = "") -> DecodeReport:
    """Decode every packet verbosely; report malformed packets and every expert
    info of severity warning or error."""
    flt = ["-Y", display_filter] if display_filter else []
    frames = count(pcap, display_filter)
    malformed = [l.strip() for l in _tshark_read(pcap, "-V", *flt).splitlines()
                 # not a status-code value name such as "MalformedQuery" (RFC 6926 option 151)
                 if re.search(r"malformed(?!query)", l, re.I)]
    expert = []
    expert_filter = f"_ws.expert && ({display_filter})" if display_filter else "_ws.expert"
    for row in fields(pcap, ["frame.number", "_ws.expert.severity", "_ws.expert.message"], expert_filter):
        sevs = row[1].split(",") if len(row) > 1 else []
        msgs = row[2].split(",") if len(row) > 2 else []
        for i, sev in enumerate(sevs):
            # PI_WARN = 0x00600000, PI_ERROR = 0x00800000 (tshark may print names or numbers)
            if re.search(r"warn|error", sev, re.I) or (sev.strip().isdigit() and int(sev) >= 0x00600000) \
                    or (sev.strip().startswith("0x") and int(sev, 16) >= 0x00600000):
                expert.append(f"frame {row[0]}: {msgs[i] if i < len(msgs) else sev}")
    return DecodeReport(frames, malformed, expert)
