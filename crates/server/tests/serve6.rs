//! `serve` with only `[dhcp6]`, over loopback: a relay (this test, on an unprivileged port,
//! saying so with OPTION_RELAY_SOURCE_PORT) forwards a client's SOLICIT and REQUEST to [::1];
//! the ADVERTISE and the REPLY come back in RELAY-REPL, the binding is in the store after the
//! stop, and the DUID the server generated is kept in the store's meta table.

#[path = "../src/testlog.rs"]
mod testlog;
use testlog::Captured;

use lessor_server::config::{
    self, AddressPool6, Dhcp6, Lifetimes6, Link6, PrefixPool6, Seconds, ServerDuid,
};
use lessor_server::dhcp6::duid;
use lessor_server::serve;
use lessor_store::v6::binding::State6;
use lessor_store::Store;
use lessor_wire::v6::{ClientServerMessage, DhcpOption, Duid, MessageType, RelayMessage, Repr};
use std::net::{Ipv6Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn a(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

fn free_port() -> u16 {
    UdpSocket::bind("[::1]:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn dhcp6(port: u16) -> Dhcp6 {
    Dhcp6 {
        server_duid: ServerDuid::Generated,
        listen: vec![Ipv6Addr::LOCALHOST],
        interfaces: vec![],
        port,
        rapid_commit: false,
        decline_probation: Seconds(3600),
        receive_threads: Some(1),
        segment_replies: true,
        rate_limit: Default::default(),
        options: vec![],
        links: vec![Link6 {
            prefix: "2001:db8:1::/64".parse().unwrap(),
            interface_ids: vec![],
            interface: None,
            lifetimes: Lifetimes6 {
                preferred: Seconds(1800),
                valid: Seconds(3600),
                renew_time: Seconds(900),
                rebind_time: Seconds(1440),
            },
            address_pools: vec![AddressPool6 {
                first: a("2001:db8:1::100"),
                last: a("2001:db8:1::1ff"),
                options: vec![],
            }],
            prefix_pools: vec![PrefixPool6 {
                prefix: "2001:db8:100::/48".parse().unwrap(),
                delegated_len: 56,
                options: vec![],
            }],
            reservations: vec![],
            options: vec![],
        }],
    }
}

fn relayed(inner: Repr) -> Vec<u8> {
    Repr::Relay(RelayMessage {
        msg_type: MessageType::RelayForw,
        hop_count: 0,
        link_address: a("2001:db8:1::1"),
        peer_address: a("fe80::c1"),
        options: vec![
            DhcpOption::InterfaceId(b"port-1".to_vec()),
            // RFC 8357: answer to the port this relay sends from.
            DhcpOption::Other {
                code: 135,
                data: vec![0, 0],
            },
            DhcpOption::RelayMsg(Box::new(inner)),
        ],
    })
    .to_vec()
}

fn client(t: MessageType, extra: Vec<DhcpOption>) -> Repr {
    let mut options = vec![
        DhcpOption::ClientId(Duid::Ll {
            hardware_type: 1,
            link_layer_address: vec![2, 0, 0, 0, 0, 1],
        }),
        DhcpOption::IaNa {
            iaid: 1,
            t1: 0,
            t2: 0,
            options: vec![],
        },
        DhcpOption::IaPd {
            iaid: 2,
            t1: 0,
            t2: 0,
            options: vec![],
        },
    ];
    options.extend(extra);
    Repr::ClientServer(ClientServerMessage {
        msg_type: t,
        transaction_id: 0x00ab_cdef,
        options,
    })
}

/// The client message inside a RELAY-REPL, checking the interface-id came back.
fn answer(socket: &UdpSocket) -> ClientServerMessage {
    let mut buf = [0u8; 2048];
    let (n, _) = socket
        .recv_from(&mut buf)
        .expect("an answer within the timeout");
    let repr = Repr::from_bytes(&buf[..n]).unwrap();
    let Repr::Relay(r) = &repr else {
        panic!("not a RELAY-REPL: {repr:?}");
    };
    assert_eq!(r.msg_type, MessageType::RelayRepl);
    assert!(r
        .options
        .contains(&DhcpOption::InterfaceId(b"port-1".to_vec())));
    repr.client_message().unwrap().clone()
}

fn wait_for(lines: &Captured, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if lines.text().contains(what) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("no log line with {what:?}: {}", lines.text());
}

#[test]
fn serve_with_only_dhcp6_answers_a_relayed_solicit_and_request() {
    let dir = std::env::temp_dir().join(format!("lessor-serve6-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("leases.db");
    let text = format!(
        "[server]\nstore = \"{}\"\nstats-interval = \"0s\"\n",
        db.display()
    );
    let mut config = config::parse(&text, "serve6.toml").unwrap();
    let port = free_port();
    config.dhcp6 = Some(dhcp6(port));

    let lines = Captured::default();
    let stop = Arc::new(AtomicBool::new(false));
    let server = {
        let (lines, stop) = (lines.clone(), Arc::clone(&stop));
        std::thread::spawn(move || {
            tracing::subscriber::with_default(lines.subscriber(), || serve::run(&config, &stop))
        })
    };
    wait_for(&lines, "dhcp6: listening on");

    let relay = UdpSocket::bind("[::1]:0").unwrap();
    relay
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let to = SocketAddr::from((Ipv6Addr::LOCALHOST, port));
    relay
        .send_to(&relayed(client(MessageType::Solicit, vec![])), to)
        .unwrap();
    let advertise = answer(&relay);
    assert_eq!(advertise.msg_type, MessageType::Advertise);
    assert_eq!(advertise.transaction_id, 0x00ab_cdef);
    let server_id = advertise
        .options
        .iter()
        .find(|o| matches!(o, DhcpOption::ServerId(_)))
        .cloned()
        .expect("a Server Identifier");
    let leased = |m: &ClientServerMessage| -> Vec<DhcpOption> {
        m.options
            .iter()
            .filter_map(|o| match o {
                DhcpOption::IaNa { options, .. } | DhcpOption::IaPd { options, .. } => {
                    options.first().cloned()
                }
                _ => None,
            })
            .collect()
    };
    let offered = leased(&advertise);
    assert!(matches!(
        offered.as_slice(),
        [DhcpOption::IaAddr { .. }, DhcpOption::IaPrefix { .. }]
    ));

    relay
        .send_to(
            &relayed(client(MessageType::Request, vec![server_id.clone()])),
            to,
        )
        .unwrap();
    let reply = answer(&relay);
    assert_eq!(reply.msg_type, MessageType::Reply);
    assert_eq!(leased(&reply), offered);

    stop.store(true, Ordering::Relaxed);
    server.join().unwrap().unwrap();
    let said = lines.text();
    assert!(said.contains("(generated, kept in the store)"), "{said}");
    // The events carry what their lines say as fields.
    let events = lines.events();
    let loaded = events
        .iter()
        .find(|e| e.message.contains("DHCPv6 binding(s) loaded"))
        .expect("the store-loaded event");
    assert_eq!(loaded.field("bindings"), Some("0"), "{loaded:?}");
    let duid = events
        .iter()
        .find(|e| e.message.starts_with("dhcp6: server DUID"))
        .expect("the DUID event");
    assert_eq!(duid.field("source"), Some("generated, kept in the store"));
    assert!(
        said.contains("stats dhcp6: advertises=1 replies-durable=1"),
        "{said}"
    );
    assert!(
        said.contains("relayed-solicit=1 relayed-request=1"),
        "{said}"
    );

    // The binding is durable, and the DUID kept is the one the server answered with.
    let (store, report) = Store::open_sqlite(&db).unwrap();
    assert_eq!(report.v6.loaded, 2);
    let DhcpOption::IaAddr { address, .. } = &offered[0] else {
        unreachable!()
    };
    let b = store
        .v6()
        .get(lessor_store::v6::binding::Key6::address_key(*address))
        .unwrap();
    assert_eq!(b.state, State6::Active);
    assert_eq!(b.relay_peer, Some(Ipv6Addr::LOCALHOST));
    assert_eq!(b.interface_id(), Some(&b"port-1"[..]));
    let DhcpOption::ServerId(d) = server_id else {
        unreachable!()
    };
    assert_eq!(
        report.meta.get(duid::META_KEY).map(String::as_str),
        Some(duid::to_hex(&d.to_vec()).as_str())
    );
    store.close().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn serve_with_both_families_runs_both() {
    let dir = std::env::temp_dir().join(format!("lessor-serve46-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("leases.db");
    let port4 = UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let text = format!(
        r#"
[server]
store = "{}"
stats-interval = "0s"

[dhcp4]
server-identifier = "127.0.0.1"
listen = ["127.0.0.1"]
port = {port4}

[[dhcp4.subnet]]
prefix = "192.0.2.0/24"
pools = ["192.0.2.100-192.0.2.110"]
"#,
        db.display()
    );
    let mut config = config::parse(&text, "serve46.toml").unwrap();
    let port = free_port();
    let mut d = dhcp6(port);
    d.server_duid = ServerDuid::Configured(vec![0, 2, 0, 0, 0xab, 0x11, 1, 2, 3, 4]);
    config.dhcp6 = Some(d);
    let lines = Captured::default();
    let stop = Arc::new(AtomicBool::new(false));
    let server = {
        let (lines, stop) = (lines.clone(), Arc::clone(&stop));
        std::thread::spawn(move || {
            tracing::subscriber::with_default(lines.subscriber(), || serve::run(&config, &stop))
        })
    };
    wait_for(&lines, "dhcp6: listening on");
    wait_for(&lines, "dhcp4: listening on");
    let relay = UdpSocket::bind("[::1]:0").unwrap();
    relay
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    relay
        .send_to(
            &relayed(client(MessageType::Solicit, vec![])),
            SocketAddr::from((Ipv6Addr::LOCALHOST, port)),
        )
        .unwrap();
    assert_eq!(answer(&relay).msg_type, MessageType::Advertise);
    stop.store(true, Ordering::Relaxed);
    server.join().unwrap().unwrap();
    let said = lines.text();
    assert!(
        said.contains("dhcp6: server DUID 00:02:00:00:ab:11:01:02:03:04 (configured)"),
        "{said}"
    );
    assert!(
        said.contains("stats router6: received-relay-forw=1"),
        "{said}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_unreadable_lease6_row_quarantines_the_links_and_the_quarantine_is_kept() {
    use lessor_store::v6::binding::{Binding6, IaType};
    use lessor_store::Completion;
    let dir = std::env::temp_dir().join(format!("lessor-serve6q-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("leases.db");
    let now = lessor_net::clock::wall_now();
    {
        let (store, _) = Store::open_sqlite(&db).unwrap();
        for n in [0x100u128, 0x101] {
            let b = Binding6::new(
                Ipv6Addr::from(u128::from(a("2001:db8:1::")) + n),
                128,
                IaType::Na,
                &[0, 3, 0, 1, n as u8],
                1,
                "2001:db8:1::/64".parse().unwrap(),
                State6::Active,
            )
            .unwrap()
            .with_times(
                now - 60,
                now + 600,
                now + 1200,
                now + 300,
                now + 500,
                now - 60,
            );
            store.v6().upsert(b, Completion::none());
        }
        store.close().unwrap();
    }
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute(
            "UPDATE lease6 SET state = 'bogus' WHERE prefix_len = 128 AND iaid = 1 \
             AND rowid = (SELECT min(rowid) FROM lease6)",
            [],
        )
        .unwrap();
    let text = format!(
        "[server]\nstore = \"{}\"\nstats-interval = \"0s\"\n",
        db.display()
    );
    let mut config = config::parse(&text, "serve6q.toml").unwrap();
    config.dhcp6 = Some(dhcp6(free_port()));
    let lines = Captured::default();
    let stop = Arc::new(AtomicBool::new(false));
    let server = {
        let (lines, stop) = (lines.clone(), Arc::clone(&stop));
        std::thread::spawn(move || {
            tracing::subscriber::with_default(lines.subscriber(), || serve::run(&config, &stop))
        })
    };
    wait_for(&lines, "dhcp6: listening on");
    stop.store(true, Ordering::Relaxed);
    server.join().unwrap().unwrap();
    let said = lines.text();
    assert!(
        said.contains(
            "warning: store: 1 lease6 row(s) unreadable; quarantining 2001:db8:1::/64 until"
        ),
        "{said}"
    );
    let (store, report) = Store::open_sqlite(&db).unwrap();
    assert!(
        report
            .meta
            .get(lessor_server::dhcp6::quarantine::META_KEY)
            .is_some_and(|v| v.starts_with("2001:db8:1::/64=")),
        "{:?}",
        report.meta
    );
    store.close().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

/// A LEASEQUERY-REPLY's OPTION_CLIENT_DATA.
fn client_data(m: &ClientServerMessage) -> Option<Vec<DhcpOption>> {
    m.options.iter().find_map(|o| match o {
        DhcpOption::ClientData(v) => Some(v.clone()),
        _ => None,
    })
}

#[test]
fn serve_answers_leasequery6_direct_and_relayed() {
    use lessor_wire::v6::QueryType;
    let dir = std::env::temp_dir().join(format!("lessor-serve-lq6-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("leases.db");
    let text = format!(
        "[server]\nstore = \"{}\"\nstats-interval = \"0s\"\n\n[dhcp6]\nlisten = [\"2001:db8::1\"]\n\n[leasequery6]\nrequesters = [\"::1/128\", \"fe80::c1/128\"]\n",
        db.display()
    );
    let mut config = config::parse(&text, "serve-lq6.toml").unwrap();
    let port = free_port();
    config.dhcp6 = Some(dhcp6(port));
    let lines = Captured::default();
    let stop = Arc::new(AtomicBool::new(false));
    let server = {
        let (lines, stop) = (lines.clone(), Arc::clone(&stop));
        std::thread::spawn(move || {
            tracing::subscriber::with_default(lines.subscriber(), || serve::run(&config, &stop))
        })
    };
    wait_for(&lines, "dhcp6: listening on");
    let to = SocketAddr::from((Ipv6Addr::LOCALHOST, port));
    let relay = UdpSocket::bind("[::1]:0").unwrap();
    relay
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    relay
        .send_to(&relayed(client(MessageType::Solicit, vec![])), to)
        .unwrap();
    let server_id = answer(&relay)
        .options
        .into_iter()
        .find(|o| matches!(o, DhcpOption::ServerId(_)))
        .unwrap();
    relay
        .send_to(&relayed(client(MessageType::Request, vec![server_id])), to)
        .unwrap();
    let reply = answer(&relay);
    let address = reply
        .options
        .iter()
        .find_map(|o| match o {
            DhcpOption::IaNa { options, .. } => options.iter().find_map(|i| match i {
                DhcpOption::IaAddr { address, .. } => Some(*address),
                _ => None,
            }),
            _ => None,
        })
        .expect("an address");

    let requester = UdpSocket::bind("[::1]:0").unwrap();
    requester
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let query_numbered = |oro: Vec<u16>, transaction_id: u32| {
        Repr::ClientServer(ClientServerMessage {
            msg_type: MessageType::Leasequery,
            transaction_id,
            options: vec![
                DhcpOption::ClientId(Duid::Ll {
                    hardware_type: 1,
                    link_layer_address: vec![2, 0, 0, 0, 0, 0x99],
                }),
                DhcpOption::LqQuery {
                    query_type: QueryType::ByAddress,
                    link_address: Ipv6Addr::UNSPECIFIED,
                    options: vec![
                        DhcpOption::IaAddr {
                            address,
                            preferred_lifetime: 0,
                            valid_lifetime: 0,
                            options: vec![],
                        },
                        DhcpOption::Oro(oro),
                    ],
                },
            ],
        })
    };
    let query = |oro: Vec<u16>| query_numbered(oro, 0x0001_0203);
    // Direct: the answer comes to the source port (docs/protocol.md decision 8).
    requester.send_to(&query(vec![47]).to_vec(), to).unwrap();
    let mut buf = [0u8; 2048];
    let (n, _) = requester.recv_from(&mut buf).expect("a LEASEQUERY-REPLY");
    let Repr::ClientServer(r) = Repr::from_bytes(&buf[..n]).unwrap() else {
        panic!("not a LEASEQUERY-REPLY");
    };
    assert_eq!(r.msg_type, MessageType::LeasequeryReply);
    assert_eq!(r.transaction_id, 0x0001_0203);
    let data = client_data(&r).expect("client data");
    assert_eq!(data.iter().filter(|o| o.code() == 5).count(), 1);
    assert_eq!(data.iter().filter(|o| o.code() == 26).count(), 1);
    assert!(data.iter().any(|o| matches!(
        o,
        DhcpOption::LqRelayData { peer_address, .. } if *peer_address == Ipv6Addr::LOCALHOST
    )));
    // Relayed (the requester behind the relay is fe80::c1): back in RELAY-REPL to the relay's
    // source port (RFC 8357 option).
    relay.send_to(&relayed(query(vec![])), to).unwrap();
    let r = answer(&relay);
    assert_eq!(r.msg_type, MessageType::LeasequeryReply);
    assert!(client_data(&r).is_some());

    // A burst, as an access concentrator sends after a reboot: the server reads several at once
    // and (segment-replies on) sends their equal-sized replies in one segmented send. Each
    // arrives as its own datagram, once.
    let burst: Vec<u32> = (0..40).map(|i| 0x0050_0000 + i).collect();
    for &id in &burst {
        requester
            .send_to(&query_numbered(vec![], id).to_vec(), to)
            .unwrap();
    }
    let mut answered = Vec::new();
    for _ in &burst {
        let (n, _) = requester
            .recv_from(&mut buf)
            .expect("a reply to each of the burst");
        let Repr::ClientServer(r) = Repr::from_bytes(&buf[..n]).unwrap() else {
            panic!("not a LEASEQUERY-REPLY");
        };
        assert_eq!(r.msg_type, MessageType::LeasequeryReply);
        assert!(client_data(&r).is_some());
        answered.push(r.transaction_id);
    }
    answered.sort_unstable();
    assert_eq!(answered, burst);

    stop.store(true, Ordering::Relaxed);
    server.join().unwrap().unwrap();
    let said = lines.text();
    assert!(
        said.contains("stats leasequery6: received=42 relayed=1 by-address=42 client-data=42"),
        "{said}"
    );
    // How many of the burst left segmented depends on how many one read found queued.
    assert!(said.contains(" segmented="), "{said}");
    let _ = std::fs::remove_dir_all(&dir);
}
