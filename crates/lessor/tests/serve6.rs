//! `lessor serve` with a config that has only `[dhcp6]`: a relay (this test, on [::1] from an
//! unprivileged port, saying so with the Relay Source Port option of RFC 8357) forwards a
//! client's SOLICIT and REQUEST; the ADVERTISE and the REPLY come back in RELAY-REPL.

mod common;

use common::Server;
use lessor_wire::v6::{ClientServerMessage, DhcpOption, Duid, MessageType, RelayMessage, Repr};
use std::net::{Ipv6Addr, SocketAddr, UdpSocket};
use std::time::Duration;

fn relayed(inner: Repr) -> Vec<u8> {
    Repr::Relay(RelayMessage {
        msg_type: MessageType::RelayForw,
        hop_count: 0,
        link_address: "2001:db8:1::1".parse().unwrap(),
        peer_address: "fe80::c1".parse().unwrap(),
        options: vec![
            DhcpOption::Other {
                code: 135,
                data: vec![0, 0],
            },
            DhcpOption::RelayMsg(Box::new(inner)),
        ],
    })
    .to_vec()
}

fn client(t: MessageType, extra: Vec<DhcpOption>) -> Vec<u8> {
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
        DhcpOption::Oro(vec![23]),
    ];
    options.extend(extra);
    relayed(Repr::ClientServer(ClientServerMessage {
        msg_type: t,
        transaction_id: 7,
        options,
    }))
}

fn answer(socket: &UdpSocket) -> ClientServerMessage {
    let mut buf = [0u8; 2048];
    let (n, _) = socket.recv_from(&mut buf).expect("an answer");
    Repr::from_bytes(&buf[..n])
        .unwrap()
        .client_message()
        .unwrap()
        .clone()
}

#[test]
fn serve_with_only_dhcp6_answers_a_relayed_client() {
    let dir = std::env::temp_dir().join(format!("lessor-cli-serve6-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let port = UdpSocket::bind("[::1]:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = dir.join("lessor.toml");
    std::fs::write(
        &config,
        format!(
            r#"[server]
store = "{store}"

[dhcp6]
server-duid = "00:02:00:00:ab:11:01:02:03:04"
listen = ["::1"]
port = {port}
options = {{ dns-servers = ["2001:db8::53"] }}

[[dhcp6.link]]
prefix = "2001:db8:1::/64"
pools = ["2001:db8:1::1000-2001:db8:1::1fff"]
"#,
            store = dir.join("lessor.db").display()
        ),
    )
    .unwrap();
    let _server = Server::start(&dir, &config, "dhcp6: listening on");
    let relay = UdpSocket::bind("[::1]:0").unwrap();
    relay
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let to = SocketAddr::from((Ipv6Addr::LOCALHOST, port));
    relay
        .send_to(&client(MessageType::Solicit, vec![]), to)
        .unwrap();
    let advertise = answer(&relay);
    assert_eq!(advertise.msg_type, MessageType::Advertise);
    let dns = DhcpOption::Other {
        code: 23,
        data: "2001:db8::53"
            .parse::<Ipv6Addr>()
            .unwrap()
            .octets()
            .to_vec(),
    };
    assert!(advertise.options.contains(&dns), "{advertise:?}");
    let server_id =
        DhcpOption::ServerId(Duid::parse(&[0, 2, 0, 0, 0xab, 0x11, 1, 2, 3, 4]).unwrap());
    assert!(advertise.options.contains(&server_id));
    relay
        .send_to(&client(MessageType::Request, vec![server_id]), to)
        .unwrap();
    let reply = answer(&relay);
    assert_eq!(reply.msg_type, MessageType::Reply);
    let leased = reply.options.iter().find_map(|o| match o {
        DhcpOption::IaNa { options, .. } => options.first().cloned(),
        _ => None,
    });
    assert!(
        matches!(leased, Some(DhcpOption::IaAddr { address, .. }) if address == "2001:db8:1::1000".parse::<Ipv6Addr>().unwrap()),
        "{reply:?}"
    );
}
