//! The ceiling for `lessor perf leasequery` on one machine: a trivial UDP responder.
//!
//! ```text
//! cargo run --release -p lessor-perf --example udp_echo -- 127.0.0.1:6769 [--threads N]
//! cargo run --release -p lessor-perf --example udp_echo -- '[::1]:5547' [--threads N]
//! ```
//!
//! The bind address's family says which queries it answers. For each datagram it turns the
//! bytes into an answer-shaped reply in place and sends them back to the source: the same size
//! as the query, no lookup, no allocation. What it measures is the kernel's UDP round trip plus
//! the generator, which is the most any server can reach with this tool on this machine. With
//! `--threads N`, N threads share the socket.
//!
//! - DHCPv4: a DHCPLEASEUNKNOWN (op = 2, option 53 = 12 when it is the first option, as
//!   `lessor perf leasequery` writes it).
//! - DHCPv6: a LEASEQUERY-REPLY (msg-type 15) keeping the transaction-id and the options; the
//!   query's OPTION_LQ_QUERY (44) becomes an OPTION_CLIENT_DATA (45) of the same length, so the
//!   generator counts the reply as active, as it would a server's with the binding.

use std::net::UdpSocket;
use std::sync::Arc;

/// LEASEQUERY-REPLY (RFC 5007 §4.2).
const LEASEQUERY_REPLY: u8 = 15;
/// OPTION_LQ_QUERY and OPTION_CLIENT_DATA (RFC 5007 §4.1.2).
const OPTION_LQ_QUERY: u16 = 44;
const OPTION_CLIENT_DATA: u16 = 45;

fn main() {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:6769".into());
    let mut threads = 1usize;
    while let Some(a) = args.next() {
        if a == "--threads" {
            threads = args.next().and_then(|n| n.parse().ok()).unwrap_or(1).max(1);
        }
    }
    let socket = Arc::new(UdpSocket::bind(&addr).expect("bind"));
    let v6 = socket.local_addr().expect("local address").is_ipv6();
    eprintln!(
        "udp_echo: {} thread(s) on {addr} ({})",
        threads,
        if v6 { "DHCPv6" } else { "DHCPv4" }
    );
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let socket = Arc::clone(&socket);
            std::thread::spawn(move || serve(&socket, if v6 { answer6 } else { answer4 }))
        })
        .collect();
    for w in workers {
        let _ = w.join();
    }
}

fn serve(socket: &UdpSocket, answer: fn(&mut [u8])) {
    let mut buf = [0u8; 2048];
    loop {
        let Ok((n, from)) = socket.recv_from(&mut buf) else {
            continue;
        };
        let reply = &mut buf[..n];
        answer(reply);
        let _ = socket.send_to(reply, from);
    }
}

/// A DHCPLEASEQUERY made a DHCPLEASEUNKNOWN.
fn answer4(reply: &mut [u8]) {
    if let Some(op) = reply.first_mut() {
        *op = 2;
    }
    // Header 236 + cookie 4: the first option is 53 (length 1) in the generator's queries.
    if let Some(kind) = reply.get_mut(242) {
        *kind = 12;
    }
}

/// A LEASEQUERY made a LEASEQUERY-REPLY with CLIENT_DATA: msg-type, then the top-level
/// options walked (bounded by the datagram) to rename the LQ_QUERY.
fn answer6(reply: &mut [u8]) {
    if let Some(kind) = reply.first_mut() {
        *kind = LEASEQUERY_REPLY;
    }
    let mut at = 4;
    while let Some(header) = reply.get(at..at + 4) {
        let code = u16::from_be_bytes([header[0], header[1]]);
        let len = usize::from(u16::from_be_bytes([header[2], header[3]]));
        if code == OPTION_LQ_QUERY {
            reply[at..at + 2].copy_from_slice(&OPTION_CLIENT_DATA.to_be_bytes());
            break;
        }
        at += 4 + len;
    }
}
