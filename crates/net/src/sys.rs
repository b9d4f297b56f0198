//! The only unsafe code of `lessor-net`: installing a neighbour (ARP) entry with the
//! `SIOCSARP` ioctl, lowering a thread's priority with setpriority(2), and reading and setting
//! a thread's capabilities with capget(2)/capset(2), which neither nix nor socket2 wraps.
#![allow(unsafe_code)]

use std::io;
use std::net::Ipv4Addr;
use std::os::fd::{AsFd, AsRawFd};

/// Installs (or replaces) the neighbour entry `address -> hardware` on `device`, as dnsmasq does
/// before unicasting a DHCPOFFER/DHCPACK to a client that has no address yet (RFC 2131 §4.1).
/// `socket` is any AF_INET socket; the entry is complete (`ATF_COM`) and not permanent, so the
/// kernel ages it out like a learned one. Needs CAP_NET_ADMIN.
pub fn set_arp_entry(
    socket: &impl AsFd,
    device: &str,
    address: Ipv4Addr,
    hardware: [u8; 6],
) -> io::Result<()> {
    let name = device.as_bytes();
    if name.is_empty() || name.len() >= libc::IFNAMSIZ {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "interface name empty or too long",
        ));
    }
    // arp_pa is a sockaddr_in laid over a sockaddr: port (2 bytes) then the address.
    let mut protocol = libc::sockaddr {
        sa_family: libc::AF_INET as libc::sa_family_t,
        sa_data: [0; 14],
    };
    for (slot, byte) in protocol.sa_data[2..6].iter_mut().zip(address.octets()) {
        *slot = byte as libc::c_char;
    }
    let mut link = libc::sockaddr {
        sa_family: libc::ARPHRD_ETHER as libc::sa_family_t,
        sa_data: [0; 14],
    };
    for (slot, byte) in link.sa_data.iter_mut().zip(hardware) {
        *slot = byte as libc::c_char;
    }
    let mut dev = [0 as libc::c_char; 16];
    for (slot, byte) in dev.iter_mut().zip(name) {
        *slot = *byte as libc::c_char;
    }
    let request = libc::arpreq {
        arp_pa: protocol,
        arp_ha: link,
        arp_flags: libc::ATF_COM,
        arp_netmask: libc::sockaddr {
            sa_family: 0,
            sa_data: [0; 14],
        },
        arp_dev: dev,
    };
    let fd = socket.as_fd().as_raw_fd();
    // SAFETY: `fd` is a valid open socket borrowed for the duration of the call; SIOCSARP reads
    // a `struct arpreq`, and `request` is a fully initialised `libc::arpreq` (the kernel's
    // layout) that outlives the call. The kernel only reads it.
    let rc = unsafe { libc::ioctl(fd, libc::SIOCSARP as _, &request as *const libc::arpreq) };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Sets the calling thread's nice value to `nice` (Linux: a thread's nice value is its own,
/// set through setpriority(2) with the thread id). Raising it (a lower priority) needs no
/// privilege.
pub fn set_thread_nice(nice: i32) -> io::Result<()> {
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::gettid() };
    let who = libc::id_t::try_from(tid).map_err(|_| io::Error::other("negative thread id"))?;
    // SAFETY: plain system call on integers; no memory is passed.
    let rc = unsafe { libc::setpriority(libc::PRIO_PROCESS, who, nice) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// A thread's capability sets, one bit per capability number (`1 << CAP_NET_ADMIN`...).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CapabilitySets {
    pub effective: u64,
    pub permitted: u64,
    pub inheritable: u64,
}

/// `_LINUX_CAPABILITY_VERSION_3`: 64-bit sets as two 32-bit halves.
const CAPABILITY_VERSION_3: u32 = 0x2008_0522;

/// `struct __user_cap_header_struct`.
#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

/// `struct __user_cap_data_struct`; version 3 takes two, low half first.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// The calling thread's capabilities (capget(2)).
pub fn capabilities() -> io::Result<CapabilitySets> {
    let mut header = CapHeader {
        version: CAPABILITY_VERSION_3,
        pid: 0,
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: capget reads `header` and writes two `CapData` (the kernel's
    // `__user_cap_data_struct`, version 3); both are live, properly laid out (#[repr(C)]) and
    // writable for the call.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_capget,
            &mut header as *mut CapHeader,
            data.as_mut_ptr(),
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    let join = |low: u32, high: u32| u64::from(low) | (u64::from(high) << 32);
    Ok(CapabilitySets {
        effective: join(data[0].effective, data[1].effective),
        permitted: join(data[0].permitted, data[1].permitted),
        inheritable: join(data[0].inheritable, data[1].inheritable),
    })
}

/// Sets the calling thread's capabilities (capset(2)): only that thread's; threads it starts
/// afterwards inherit them. Raising one not in the permitted set fails (EPERM).
pub fn set_capabilities(sets: CapabilitySets) -> io::Result<()> {
    let mut header = CapHeader {
        version: CAPABILITY_VERSION_3,
        pid: 0,
    };
    let half = |shift: u32| CapData {
        effective: (sets.effective >> shift) as u32,
        permitted: (sets.permitted >> shift) as u32,
        inheritable: (sets.inheritable >> shift) as u32,
    };
    let data = [half(0), half(32)];
    // SAFETY: capset reads `header` (it may write the version back on a mismatch) and reads two
    // `CapData`; both are live and laid out as the kernel's structs (#[repr(C)], version 3).
    let rc = unsafe {
        libc::syscall(
            libc::SYS_capset,
            &mut header as *mut CapHeader,
            data.as_ptr(),
        )
    };
    if rc != 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The nice value of the calling thread, from /proc/thread-self/stat (field 19).
    fn nice_of_this_thread() -> i32 {
        let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
        // The command name (field 2) may hold spaces: count from its closing parenthesis.
        let after = &stat[stat.rfind(')').unwrap() + 2..];
        after.split(' ').nth(16).unwrap().parse().unwrap()
    }

    #[test]
    fn capabilities_read_as_proc_shows_them_and_setting_them_unchanged_works() {
        let sets = capabilities().unwrap();
        let status = std::fs::read_to_string("/proc/thread-self/status").unwrap();
        let field = |name: &str| {
            let line = status.lines().find(|l| l.starts_with(name)).unwrap();
            u64::from_str_radix(line[name.len()..].trim(), 16).unwrap()
        };
        assert_eq!(sets.effective, field("CapEff:"));
        assert_eq!(sets.permitted, field("CapPrm:"));
        assert_eq!(sets.inheritable, field("CapInh:"));
        // On another thread: what a thread sets is its own.
        let lowered = std::thread::spawn(move || {
            set_capabilities(sets).unwrap();
            let none = CapabilitySets::default();
            set_capabilities(none).unwrap();
            let after = capabilities().unwrap();
            // Nothing permitted any more: raising again is refused.
            let raised = set_capabilities(sets);
            (after, raised.is_err() || sets.permitted == 0)
        })
        .join()
        .unwrap();
        assert_eq!(lowered, (CapabilitySets::default(), true));
        assert_eq!(capabilities().unwrap(), sets);
    }

    #[test]
    fn set_thread_nice_lowers_only_the_calling_thread() {
        let before = nice_of_this_thread();
        // Higher than the current value: no privilege needed whatever the runner's nice.
        let want = (before + 3).min(19);
        let inner = std::thread::spawn(move || {
            set_thread_nice(want).unwrap();
            nice_of_this_thread()
        })
        .join()
        .unwrap();
        assert_eq!(inner, want);
        assert_eq!(nice_of_this_thread(), before);
    }
}
