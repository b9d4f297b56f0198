//! Who else holds a UDP port, before a server binds it.
//!
//! Server sockets share their port (SO_REUSEADDR: listen and interface sockets), and with it
//! Linux lets any other process bind the same port too: a second `lessor serve`, or an ISC dhcpd
//! left running, would then get part of the datagrams and hand out the same addresses. So before
//! binding a DHCP port the server looks for sockets of other processes on it: the kernel lists
//! every UDP socket of this network namespace in /proc/net/udp and /proc/net/udp6 (local address
//! and port, inode); a socket whose inode is not one of this process's descriptors
//! (/proc/self/fd) is another process's, found by scanning /proc/PID/fd (its name from
//! /proc/PID/comm; needs root or the same user to see other processes' descriptors, else the pid
//! is unknown but the socket still counts).
//!
//! Two bindings overlap when their addresses are equal or either is the wildcard. An IPv6 socket
//! bound to `::` may take IPv4 too (unless IPV6_V6ONLY, which /proc does not show), so it counts
//! against IPv4 bindings; an IPv4-mapped IPv6 address counts as its IPv4 address.

use std::collections::HashSet;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;

/// One socket of /proc/net/udp or /proc/net/udp6.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdpEntry {
    pub local: SocketAddr,
    /// The socket's inode (`socket:[INODE]` in /proc/PID/fd); 0 for a socket being torn down.
    pub inode: u64,
}

/// Why a line of /proc/net/udp{,6} could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineError {
    /// Fewer than the ten fields up to the inode.
    Fields(usize),
    /// The local address is not `HEX:PORT` with 8 (IPv4) or 32 (IPv6) hex digits.
    Address,
    Port,
    Inode,
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LineError::Fields(n) => write!(f, "{n} fields, expected at least 10"),
            LineError::Address => write!(f, "local address is not 8 or 32 hex digits"),
            LineError::Port => write!(f, "local port is not 4 hex digits"),
            LineError::Inode => write!(f, "inode is not a number"),
        }
    }
}

/// Parses one socket line of /proc/net/udp or /proc/net/udp6 (not the header). The kernel
/// prints the address as 32-bit words in host byte order (`%08X` each), the port in hex.
pub fn parse_line(line: &str) -> Result<UdpEntry, LineError> {
    let fields: Vec<&str> = line.split_ascii_whitespace().take(10).collect();
    if fields.len() < 10 {
        return Err(LineError::Fields(fields.len()));
    }
    let (address, port) = fields[1].split_once(':').ok_or(LineError::Address)?;
    if port.len() != 4 {
        return Err(LineError::Port);
    }
    let port = u16::from_str_radix(port, 16).map_err(|_| LineError::Port)?;
    // ASCII only, so the word slices below fall on character boundaries.
    if !address.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(LineError::Address);
    }
    let ip = match address.len() {
        8 => IpAddr::V4(Ipv4Addr::from(word(address)?.to_ne_bytes())),
        32 => {
            let mut octets = [0u8; 16];
            for (i, chunk) in octets.chunks_exact_mut(4).enumerate() {
                chunk.copy_from_slice(&word(&address[i * 8..i * 8 + 8])?.to_ne_bytes());
            }
            IpAddr::V6(Ipv6Addr::from(octets))
        }
        _ => return Err(LineError::Address),
    };
    let inode = fields[9].parse().map_err(|_| LineError::Inode)?;
    Ok(UdpEntry {
        local: SocketAddr::new(ip, port),
        inode,
    })
}

/// Eight hex digits as the kernel printed a 32-bit word.
fn word(hex: &str) -> Result<u32, LineError> {
    if hex.len() != 8 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(LineError::Address);
    }
    u32::from_str_radix(hex, 16).map_err(|_| LineError::Address)
}

/// The sockets of a /proc/net/udp{,6} text; lines that do not parse are left out.
pub fn parse_table(text: &str) -> Vec<UdpEntry> {
    text.lines()
        .skip(1)
        .filter_map(|line| parse_line(line).ok())
        .collect()
}

/// Whether a socket bound to `held` takes datagrams for a binding of `wanted` (same port).
pub fn overlaps(wanted: IpAddr, held: IpAddr) -> bool {
    let held = match held {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(held, IpAddr::V4),
        v4 => v4,
    };
    match (wanted, held) {
        (IpAddr::V4(w), IpAddr::V4(h)) => w.is_unspecified() || h.is_unspecified() || w == h,
        // A dual-stack `::` socket.
        (IpAddr::V4(_), IpAddr::V6(h)) => h.is_unspecified(),
        (IpAddr::V6(w), IpAddr::V6(h)) => w.is_unspecified() || h.is_unspecified() || w == h,
        (IpAddr::V6(w), IpAddr::V4(_)) => w.is_unspecified(),
    }
}

/// A socket of another process on the port asked about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// Where it is bound.
    pub local: SocketAddr,
    /// Its process, when /proc shows it.
    pub pid: Option<u32>,
    /// That process's name (/proc/PID/comm).
    pub command: Option<String>,
}

impl fmt::Display for Holder {
    /// "udp port 67 on 0.0.0.0 is held by another process (pid 812, dhcpd)".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "udp port {} on {} is held by another process (",
            self.local.port(),
            self.local.ip()
        )?;
        match self.pid {
            Some(pid) => write!(f, "pid {pid}")?,
            None => write!(f, "pid unknown")?,
        }
        if let Some(command) = &self.command {
            write!(f, ", {command}")?;
        }
        write!(f, ")")
    }
}

/// The first socket of another process that would share `port` with a binding of `address`,
/// in this network namespace. Unreadable /proc files count as no socket: the check never
/// stops a server that could bind.
pub fn other_holder(address: IpAddr, port: u16) -> Option<Holder> {
    let mut entries = Vec::new();
    for table in ["/proc/net/udp", "/proc/net/udp6"] {
        if let Ok(text) = std::fs::read_to_string(table) {
            entries.extend(parse_table(&text));
        }
    }
    let mut candidates = entries
        .into_iter()
        .filter(|e| e.local.port() == port && e.inode != 0 && overlaps(address, e.local.ip()))
        .peekable();
    candidates.peek()?;
    let own = socket_inodes(Path::new("/proc/self/fd"));
    let theirs = candidates.find(|e| !own.contains(&e.inode))?;
    let (pid, command) = match owner_of(theirs.inode) {
        Some((pid, command)) => (Some(pid), command),
        None => (None, None),
    };
    Some(Holder {
        local: theirs.local,
        pid,
        command,
    })
}

/// The socket inodes among the descriptors listed in `fd_dir` (a /proc/PID/fd).
fn socket_inodes(fd_dir: &Path) -> HashSet<u64> {
    let Ok(entries) = std::fs::read_dir(fd_dir) else {
        return HashSet::new();
    };
    entries
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter_map(|target| socket_inode(target.to_str()?))
        .collect()
}

/// The inode of a descriptor's link text `socket:[INODE]`.
fn socket_inode(link: &str) -> Option<u64> {
    link.strip_prefix("socket:[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

/// The process (other than this one) holding socket `inode`, and its name.
fn owner_of(inode: u64) -> Option<(u32, Option<String>)> {
    let me = std::process::id();
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == me || !socket_inodes(&entry.path().join("fd")).contains(&inode) {
            continue;
        }
        let command = std::fs::read_to_string(entry.path().join("comm"))
            .ok()
            .map(|c| c.trim_end().chars().filter(|c| !c.is_control()).collect());
        return Some((pid, command));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket;

    const HEADER: &str = "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when \
                          retrnsmt   uid  timeout inode ref pointer drops";

    #[test]
    fn ipv4_lines_read_in_host_byte_order() {
        // 127.0.0.1:67 and 0.0.0.0:68 as a little-endian kernel prints them.
        let text = format!(
            "{HEADER}\n\
             \x20 29: 0100007F:0043 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4242 2 0000000000000000 0\n\
             \x20 30: 00000000:0044 00000000:0000 07 00000000:00000000 00:00000000 00000000   101        0 17 2 0000000000000000 0\n"
        );
        let entries = parse_table(&text);
        let expected_lo = if cfg!(target_endian = "little") {
            Ipv4Addr::LOCALHOST
        } else {
            Ipv4Addr::new(1, 0, 0, 127)
        };
        assert_eq!(
            entries,
            vec![
                UdpEntry {
                    local: SocketAddr::new(IpAddr::V4(expected_lo), 67),
                    inode: 4242
                },
                UdpEntry {
                    local: "0.0.0.0:68".parse().unwrap(),
                    inode: 17
                },
            ]
        );
    }

    #[test]
    #[cfg(target_endian = "little")]
    fn ipv6_lines_read_word_by_word() {
        // 2001:db8::1 port 547 and :: port 547, as a little-endian kernel prints them.
        let line = "  5: B80D0120000000000000000001000000:0223 00000000000000000000000000000000:0000 \
                    07 00000000:00000000 00:00000000 00000000     0        0 99 2 0000000000000000 0";
        assert_eq!(
            parse_line(line),
            Ok(UdpEntry {
                local: "[2001:db8::1]:547".parse().unwrap(),
                inode: 99
            })
        );
        let any = "  6: 00000000000000000000000000000000:0223 00000000000000000000000000000000:0000 \
                   07 00000000:00000000 00:00000000 00000000     0        0 100 2 0000000000000000 0";
        assert_eq!(parse_line(any).unwrap().local, "[::]:547".parse().unwrap());
    }

    #[test]
    fn malformed_lines_are_typed_errors() {
        assert_eq!(parse_line(""), Err(LineError::Fields(0)));
        assert_eq!(parse_line(HEADER), Err(LineError::Address));
        let with = |local: &str, inode: &str| {
            format!("0: {local} 00000000:0000 07 00000000:00000000 00:00000000 00000000 0 0 {inode} 2 0 0")
        };
        assert_eq!(
            parse_line(&with("0100007F0043", "1")),
            Err(LineError::Address)
        );
        assert_eq!(
            parse_line(&with("0100007:0043", "1")),
            Err(LineError::Address)
        );
        assert_eq!(
            parse_line(&with("+100007F:0043", "1")),
            Err(LineError::Address)
        );
        assert_eq!(parse_line(&with("0100007F:43", "1")), Err(LineError::Port));
        assert_eq!(
            parse_line(&with("0100007F:00G3", "1")),
            Err(LineError::Port)
        );
        assert_eq!(
            parse_line(&with("0100007F:0043", "x")),
            Err(LineError::Inode)
        );
        assert_eq!(
            parse_line(&with("0100007F:0043", "-1")),
            Err(LineError::Inode)
        );
        // Multi-byte text never panics on slicing.
        for local in [
            "ééééééééééééééé\u{e9}:0043",
            "aéééééééééééééééa:0043",
            "aééé\u{e9}a:0043",
        ] {
            assert_eq!(
                parse_line(&with(local, "1")),
                Err(LineError::Address),
                "{local}"
            );
        }
    }

    #[test]
    fn overlap_is_equal_or_wildcard_on_either_side() {
        let v4 = |s: &str| IpAddr::V4(s.parse().unwrap());
        let v6 = |s: &str| IpAddr::V6(s.parse().unwrap());
        assert!(overlaps(v4("0.0.0.0"), v4("192.0.2.1")));
        assert!(overlaps(v4("192.0.2.1"), v4("0.0.0.0")));
        assert!(overlaps(v4("192.0.2.1"), v4("192.0.2.1")));
        assert!(!overlaps(v4("192.0.2.1"), v4("192.0.2.2")));
        assert!(overlaps(v4("192.0.2.1"), v6("::")));
        assert!(overlaps(v4("192.0.2.1"), v6("::ffff:192.0.2.1")));
        assert!(!overlaps(v4("192.0.2.1"), v6("2001:db8::1")));
        assert!(overlaps(v6("2001:db8::1"), v6("::")));
        assert!(!overlaps(v6("2001:db8::1"), v6("2001:db8::2")));
        assert!(!overlaps(v6("2001:db8::1"), v4("0.0.0.0")));
    }

    #[test]
    fn holders_say_where_and_who() {
        let h = Holder {
            local: "0.0.0.0:67".parse().unwrap(),
            pid: Some(812),
            command: Some("dhcpd".into()),
        };
        assert_eq!(
            h.to_string(),
            "udp port 67 on 0.0.0.0 is held by another process (pid 812, dhcpd)"
        );
        let unknown = Holder {
            pid: None,
            command: None,
            ..h
        };
        assert_eq!(
            unknown.to_string(),
            "udp port 67 on 0.0.0.0 is held by another process (pid unknown)"
        );
    }

    #[test]
    fn descriptor_links_name_their_socket_inode() {
        assert_eq!(socket_inode("socket:[4242]"), Some(4242));
        assert_eq!(socket_inode("pipe:[4242]"), None);
        assert_eq!(socket_inode("socket:[x]"), None);
        assert_eq!(socket_inode("/dev/null"), None);
    }

    #[test]
    fn this_process_sockets_do_not_count() {
        let own = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = own.local_addr().unwrap().port();
        assert_eq!(other_holder(IpAddr::V4(Ipv4Addr::LOCALHOST), port), None);
        assert_eq!(other_holder(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port), None);
    }

    #[test]
    fn another_process_socket_is_found_with_its_pid_and_name() {
        // A child process holding a UDP socket: python3 is on every test host of this project
        // (the e2e suite); without it there is nothing to show.
        let Ok(mut child) = std::process::Command::new("python3")
            .args([
                "-c",
                "import socket,sys; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); \
                 s.bind(('127.0.0.1',0)); print(s.getsockname()[1], flush=True); sys.stdin.read()",
            ])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
        else {
            eprintln!("python3 not available: skipped");
            return;
        };
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().unwrap()),
            &mut line,
        )
        .unwrap();
        let port: u16 = line.trim().parse().unwrap();
        let found = other_holder(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port);
        // Another address on the same port does not overlap.
        let elsewhere = other_holder(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)), port);
        drop(child.stdin.take());
        child.wait().unwrap();
        let found = found.expect("the child's socket");
        assert_eq!(
            found.local,
            SocketAddr::new(Ipv4Addr::LOCALHOST.into(), port)
        );
        assert_eq!(found.pid, Some(child.id()));
        let command = found.command.unwrap_or_default();
        assert!(command.starts_with("python3"), "{command}");
        assert_eq!(elsewhere, None);
    }
}
