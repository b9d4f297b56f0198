//! The only unsafe code of `lessor-server`: installing a neighbour (ARP) entry with the
//! `SIOCSARP` ioctl, which neither nix nor socket2 wraps.
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
