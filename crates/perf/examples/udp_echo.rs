//! The ceiling for `lessor perf leasequery` on one machine: a trivial UDP responder.
//!
//! ```text
//! cargo run --release -p lessor-perf --example udp_echo -- 127.0.0.1:6769 [--threads N]
//! ```
//!
//! For each datagram it turns the bytes into a DHCPLEASEUNKNOWN-shaped answer in place (op = 2,
//! option 53 = 12 when it is the first option, as `lessor perf leasequery` writes it) and sends
//! them back to the source: the same size as the query, no lookup, no allocation. What it
//! measures is the kernel's UDP round trip plus the generator, which is the most any server can
//! reach with this tool on this machine. With `--threads N`, N threads share the socket.

use std::net::UdpSocket;
use std::sync::Arc;

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
    eprintln!("udp_echo: {} thread(s) on {addr}", threads);
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let socket = Arc::clone(&socket);
            std::thread::spawn(move || serve(&socket))
        })
        .collect();
    for w in workers {
        let _ = w.join();
    }
}

fn serve(socket: &UdpSocket) {
    let mut buf = [0u8; 2048];
    loop {
        let Ok((n, from)) = socket.recv_from(&mut buf) else {
            continue;
        };
        let reply = &mut buf[..n];
        if let Some(op) = reply.first_mut() {
            *op = 2;
        }
        // Header 236 + cookie 4: the first option is 53 (length 1) in the generator's queries.
        if let Some(kind) = reply.get_mut(242) {
            *kind = 12;
        }
        let _ = socket.send_to(reply, from);
    }
}
