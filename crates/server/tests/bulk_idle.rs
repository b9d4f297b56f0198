//! The bulk leasequery listener blocks instead of polling on a timer: an idle connection costs
//! no wakeups, and data-timeout / idle-timeout fire on time. One test in its own binary, so that
//! no other test's threads are counted. 127.0.0.1 only.

use lessor_server::bulk4::{self as tcp4, Settings};
use lessor_server::bulk4::{CloseReason, Params};
use lessor_server::config;
use lessor_server::leasequery4::access::AllowList;
use lessor_store::Store;
use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

const CONFIG: &str = r#"
[dhcp4]
server-identifier = "192.0.2.1"
listen = ["192.0.2.1"]

[[dhcp4.subnet]]
prefix = "198.18.0.0/15"
pools = ["198.18.0.1-198.19.255.254"]

[leasequery4]
requesters = ["127.0.0.0/8"]

[leasequery4.bulk]
listen = ["127.0.0.1"]
port = 0
data-timeout = "1s"
idle-timeout = "2s"
"#;

/// Context switches of this process's bulk leasequery threads (every wakeup is one).
fn bulk_thread_switches() -> u64 {
    let mut total = 0;
    for task in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if !comm.starts_with("bulk4-") {
            continue;
        }
        let status = std::fs::read_to_string(task.path().join("status")).unwrap_or_default();
        for line in status.lines() {
            if let Some(v) = line
                .strip_prefix("voluntary_ctxt_switches:")
                .or_else(|| line.strip_prefix("nonvoluntary_ctxt_switches:"))
            {
                total += v.trim().parse::<u64>().unwrap_or(0);
            }
        }
    }
    total
}

/// Reads until EOF (or reset) and returns when it came.
fn wait_eof(s: &mut TcpStream) -> Instant {
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut buf = [0u8; 512];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return Instant::now(),
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return Instant::now(),
            Err(e) => panic!("read: {e}"),
        }
    }
}

#[test]
fn idle_connections_sleep_and_timeouts_are_exact() {
    let c = config::parse(CONFIG, "test.toml").expect("config");
    let params = Params::from_config(&c, Ipv4Addr::new(192, 0, 2, 1)).unwrap();
    let settings = Settings {
        params,
        allow: AllowList::new(c.leasequery4.unwrap().requesters),
        max_connections: 10,
        max_per_requester: 2,
    };
    let store = Arc::new(Store::in_memory());
    let running = tcp4::start(settings, &["127.0.0.1:0".parse().unwrap()], store).unwrap();
    let addr = running.local_addrs()[0];

    // An idle connection: the listener and the connection's thread sleep in poll(2).
    let mut idle = TcpStream::connect(addr).unwrap();
    let connected = Instant::now();
    std::thread::sleep(Duration::from_millis(300));
    let before = bulk_thread_switches();
    std::thread::sleep(Duration::from_millis(1000));
    let woke = bulk_thread_switches() - before;
    // A 10 ms sleep-poll would show about 200 here.
    assert!(woke <= 3, "{woke} wakeups in 1 s of idleness");

    // idle-timeout (2 s) closes it on time, not a polling interval late.
    let idle_for = wait_eof(&mut idle) - connected;
    assert!(
        idle_for >= Duration::from_millis(1990) && idle_for < Duration::from_millis(2150),
        "idle-timeout after {idle_for:?}"
    );

    // data-timeout (1 s): half a frame, then silence.
    let mut half = TcpStream::connect(addr).unwrap();
    half.write_all(&[0, 200, 1, 1, 6]).unwrap();
    let sent = Instant::now();
    let data_for = wait_eof(&mut half) - sent;
    assert!(
        data_for >= Duration::from_millis(990) && data_for < Duration::from_millis(1150),
        "data-timeout after {data_for:?}"
    );

    let counters = Arc::clone(running.counters());
    running.shutdown();
    assert_eq!(counters.accepted.get(), 2);
    assert_eq!(counters.closed(CloseReason::IdleTimeout), 1);
    assert_eq!(counters.closed(CloseReason::DataTimeout), 1);
    assert_eq!(counters.closed_total(), 2);
}
