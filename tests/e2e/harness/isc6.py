"""ISC `dhcrelay -6` and `dhclient -6` in namespaces, each with its own files under the test's
directory (the DHCPv6 side of isc.py).

dhclient -6 runs with `-sf` a script of the harness's own: it logs every call (reason and the
`new_*`/`old_*` variables) and only adds or removes the leased address on the namespace's
interface; it never touches resolv.conf or the hostname. The script runs once per IA: an
address (IA_NA) and a prefix (IA_PD) give two BOUND6 calls."""
from __future__ import annotations

import shlex
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional

from . import addressing
from .isc import _bin
from .netns import NETNS_ETC, Namespace
from .procs import Proc, ProcessManager
from .util import HarnessError, wait_for


# ---------------------------------------------------------------- dhcrelay -6

@dataclass
class Dhcrelay6:
    proc: Proc
    pidfile: Path


def start_dhcrelay6(pm: ProcessManager, ns: Namespace, lower: str, upper: str, server: str,
                    workdir: Path, *, interface_id: bool = True, lower_index: Optional[int] = None,
                    name: str = "dhcrelay6", timeout: float = 10.0) -> Dhcrelay6:
    """dhcrelay -6 -d [-I] -l LOWER[#index] -u SERVER%UPPER: relays to the server's unicast
    address. ISC dhcrelay's interface-id (option 18) is the lower interface's `#index` as 4 octets
    in host order (01000000 on x86 for the first -l)."""
    workdir.mkdir(parents=True, exist_ok=True)
    pidfile = workdir / f"{name}.pid"
    argv = [_bin("dhcrelay"), "-6", "-d", "-pf", str(pidfile)]
    if interface_id:
        argv.append("-I")
    argv += ["-l", lower if lower_index is None else f"{lower}#{lower_index}",
             "-u", f"{addressing.check_allowed(server)}%{upper}"]
    p = pm.start(ns, name, argv)
    p.wait_output(f"Sending on   Socket/{lower}", timeout=timeout)
    p.wait_output(f"Sending on   Socket/{upper}", timeout=timeout)
    return Dhcrelay6(p, pidfile)


# ---------------------------------------------------------------- dhclient -6

DHCLIENT6_SCRIPT = r"""#!/bin/sh
# Test dhclient-script (-6): logs every call, configures only the namespace's own interface.
LOG={log}
line="reason=$reason interface=$interface"
for v in new_ip6_address new_ip6_prefixlen new_ip6_prefix new_iaid new_preferred_life new_max_life \
         new_renew new_rebind new_dhcp6_server_id new_dhcp6_client_id new_dhcp6_name_servers \
         old_ip6_address old_ip6_prefix; do
  # one word per value (a list such as name servers is joined by commas)
  eval "val=\${{$v}}"
  val=$(echo $val | tr ' ' ',')
  [ -n "$val" ] && line="$line $v=$val"
done
echo "$line" >> "$LOG"
case "$reason" in
  PREINIT6) ip link set dev "$interface" up ;;
  BOUND6|RENEW6|REBIND6|REBOOT6)
    if [ -n "$new_ip6_address" ]; then
      ip -6 addr replace "$new_ip6_address/${{new_ip6_prefixlen:-128}}" dev "$interface" \
        valid_lft "${{new_max_life:-forever}}" preferred_lft "${{new_preferred_life:-forever}}"
    fi ;;
  EXPIRE6|RELEASE6|STOP6)
    [ -n "$old_ip6_address" ] && ip -6 addr del "$old_ip6_address/${{old_ip6_prefixlen:-128}}" dev "$interface" ;;
esac
exit 0
"""


@dataclass
class Dhclient6:
    ns: Namespace
    ifname: str
    workdir: Path
    name: str
    ia_args: List[str]                 # e.g. ["-N", "-P"]: an address and a prefix
    proc: Optional[Proc] = None
    runs: int = 0

    @property
    def conf(self) -> Path: return self.workdir / f"{self.name}.conf"
    @property
    def leasefile(self) -> Path: return self.workdir / f"{self.name}.leases"
    @property
    def pidfile(self) -> Path: return self.workdir / f"{self.name}.pid"
    @property
    def script(self) -> Path: return self.workdir / f"{self.name}-script.sh"
    @property
    def script_log(self) -> Path: return self.workdir / f"{self.name}-script.log"

    def _common(self) -> List[str]:
        return ["-6", "-v", "-cf", str(self.conf), "-lf", str(self.leasefile), "-pf", str(self.pidfile),
                "-sf", str(self.script)] + self.ia_args

    def events(self) -> List[Dict[str, str]]:
        """Each dhclient-script call, as a dict (reason, new_ip6_address, new_ip6_prefix, ...)."""
        try:
            lines = self.script_log.read_text().splitlines()
        except FileNotFoundError:
            return []
        return [dict(kv.split("=", 1) for kv in line.split() if "=" in kv) for line in lines]

    def wait_events(self, reasons: tuple, n: int = 1, after: int = 0, timeout: float = 20.0,
                    pred=lambda ev: True) -> List[Dict[str, str]]:
        """Wait for n script calls with one of `reasons` (and pred) among events[after:]."""
        def got():
            evs = [ev for ev in self.events()[after:] if ev.get("reason") in reasons and pred(ev)]
            if len(evs) >= n:
                return evs[:n]
            if self.proc is not None and not self.proc.alive() and self.proc.popen.returncode not in (0, None):
                raise HarnessError(f"dhclient -6 exited {self.proc.popen.returncode}")
            return None
        try:
            return wait_for(got, timeout=timeout, what=f"{n} dhclient-script call(s) in {reasons}")
        except HarnessError as e:
            out = self.proc.output()[-3000:] if self.proc else ""
            raise HarnessError(f"{e}\n--- dhclient -6 output ---\n{out}") from None

    def start(self, pm: ProcessManager) -> Proc:
        """dhclient -6 -d -1: get the lease (fail after the conf timeout) and stay in the
        foreground to renew it."""
        if self.proc is not None and self.proc.alive():
            raise HarnessError("dhclient -6 already running")
        self.runs += 1
        self.proc = pm.start(self.ns, self.name, [_bin("dhclient")] + self._common() + ["-d", "-1", self.ifname])
        return self.proc

    def acquire(self, pm: ProcessManager, timeout: float = 25.0) -> List[Dict[str, str]]:
        """Start and wait for a BOUND6/REBOOT6 call per requested IA."""
        n = len(self.events())
        self.start(pm)
        return self.wait_events(("BOUND6", "REBOOT6"), n=len(self.ia_args), after=n, timeout=timeout)

    def stop(self) -> None:
        """Die without releasing (a crash or reboot): the lease file stays."""
        if self.proc is not None:
            self.proc.stop(signal.SIGKILL)

    def release(self, pm: ProcessManager, timeout: float = 20.0) -> List[Dict[str, str]]:
        """dhclient -6 -r: stops the running dhclient (pid file) and sends RELEASE; returns the
        RELEASE6 script calls (one per IA)."""
        n = len(self.events())
        pm.run(self.ns, f"{self.name}-release", [_bin("dhclient")] + self._common() + ["-r", self.ifname],
               timeout=timeout)
        if self.proc is not None:
            self.proc.wait(timeout)
        return self.wait_events(("RELEASE6",), n=len(self.ia_args), after=n, timeout=timeout)


def make_dhclient6(ns: Namespace, ifname: str, workdir: Path, *, name: str = "dhclient6",
                   address: bool = True, prefix: bool = False, timeout_s: int = 20,
                   extra_conf: str = "", duid: Optional[bytes] = None) -> Dhclient6:
    """Prepare (not start) dhclient -6 asking for an address (-N) and/or a prefix (-P). `duid`:
    the client's DUID, written to its lease file as `default-duid` (else dhclient makes a
    DUID-LLT of its own on first start)."""
    if not (NETNS_ETC / ns.name / "resolv.conf").exists():
        raise HarnessError(f"/etc/netns/{ns.name}/resolv.conf missing: dhclient could touch the host's")
    if not (address or prefix):
        raise HarnessError("dhclient -6 needs an address or a prefix to ask for")
    workdir.mkdir(parents=True, exist_ok=True)
    ia = (["-N"] if address else []) + (["-P"] if prefix else [])
    c = Dhclient6(ns, ifname, workdir, name, ia)
    c.conf.write_text("# generated by tests/e2e/harness/isc6.py\n"
                      f"timeout {timeout_s};\nretry 1;\ninitial-interval 1;\n" + extra_conf)
    if duid is not None:
        octal = "".join(f"\\{b:03o}" for b in duid)
        c.leasefile.write_text(f'default-duid "{octal}";\n')
    c.script.write_text(DHCLIENT6_SCRIPT.format(log=shlex.quote(str(c.script_log))))
    c.script.chmod(0o755)
    return c
