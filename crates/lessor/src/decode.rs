//! `lessor decode`: print a captured DHCPv4 or DHCPv6 message the way Lessor reads it, so an
//! operator can see what a relay or requestor actually sent (option 82 sub-options, relay chains,
//! leasequery options) without a packet analyser.

use lessor_wire::{v4, v6};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Family {
    /// DHCPv4 when the magic cookie is at octet 236, else DHCPv6.
    Auto,
    V4,
    V6,
}

/// Where the message comes from: a file of raw octets (the UDP payload), or hex text.
pub fn run(file: Option<PathBuf>, hex: Option<String>, family: Family) -> ExitCode {
    let bytes = match (file, hex) {
        (_, Some(text)) => match lessor_wire::hex::parse(&text) {
            Ok(b) => b,
            Err(e) => return fail(&format!("--hex: {e}")),
        },
        (Some(path), None) => match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) => return fail(&format!("{}: cannot read: {e}", path.display())),
        },
        (None, None) => return fail("give a FILE of raw message octets or --hex HEX"),
    };
    let family = match family {
        Family::Auto if bytes.get(236..240) == Some(&v4::MAGIC_COOKIE[..]) => Family::V4,
        Family::Auto => Family::V6,
        f => f,
    };
    let text = match family {
        Family::V4 => v4::Repr::from_bytes(&bytes).map(|r| describe_v4(&r, bytes.len())),
        _ => v6::Repr::from_bytes(&bytes).map(|r| {
            let mut out = format!("DHCPv6 ({} octets)\n", bytes.len());
            describe_v6(&r, 1, &mut out);
            out
        }),
    };
    match text {
        Ok(t) => {
            print!("{t}");
            ExitCode::SUCCESS
        }
        Err(e) => fail(&format!(
            "not a valid {} message: {e}",
            if family == Family::V4 {
                "DHCPv4"
            } else {
                "DHCPv6"
            }
        )),
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("lessor decode: {message}");
    ExitCode::FAILURE
}

/// Printable ASCII in quotes (circuit-ids are often text), everything else as colon hex.
fn octets(data: &[u8]) -> String {
    let hex = lessor_wire::hex::colon(data);
    if !data.is_empty() && data.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
        format!("{:?} ({hex})", String::from_utf8_lossy(data))
    } else if data.is_empty() {
        "(empty)".into()
    } else {
        hex
    }
}

fn list<T: ToString>(items: &[T]) -> String {
    items
        .iter()
        .map(T::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn v4_option_name(code: u8) -> &'static str {
    match code {
        1 => "subnet-mask",
        3 => "routers",
        6 => "domain-name-servers",
        12 => "host-name",
        15 => "domain-name",
        50 => "requested-ip-address",
        51 => "ip-address-lease-time",
        53 => "dhcp-message-type",
        54 => "server-identifier",
        55 => "parameter-request-list",
        57 => "maximum-message-size",
        58 => "renewal-time (T1)",
        59 => "rebinding-time (T2)",
        60 => "vendor-class-identifier",
        61 => "client-identifier",
        82 => "relay-agent-information",
        91 => "client-last-transaction-time",
        92 => "associated-ip",
        118 => "subnet-selection",
        151 => "status-code",
        152 => "base-time",
        153 => "start-time-of-state",
        154 => "query-start-time",
        155 => "query-end-time",
        156 => "dhcp-state",
        157 => "data-source",
        _ => "option",
    }
}

fn relay_sub_option_name(code: u8) -> &'static str {
    v4::code::relay::name(code).unwrap_or("sub-option")
}

fn describe_v4(r: &v4::Repr, len: usize) -> String {
    let mut out = String::new();
    let kind = r
        .message_type()
        .map_or("BOOTP (no message type)".to_string(), |t| t.to_string());
    let op = match r.op {
        1 => "BOOTREQUEST",
        2 => "BOOTREPLY",
        _ => "?",
    };
    let chaddr = r
        .client_hw_addr()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":");
    let _ = writeln!(out, "DHCPv4 {kind} ({len} octets)");
    let _ = writeln!(
        out,
        "  op {} ({op})  htype {}  hlen {}  hops {}  xid 0x{:08x}  secs {}  flags 0x{:04x}",
        r.op, r.htype, r.hlen, r.hops, r.xid, r.secs, r.flags
    );
    let _ = writeln!(
        out,
        "  ciaddr {}  yiaddr {}  siaddr {}  giaddr {}",
        r.ciaddr, r.yiaddr, r.siaddr, r.giaddr
    );
    let _ = writeln!(
        out,
        "  chaddr {}",
        if chaddr.is_empty() {
            "(none)".into()
        } else {
            chaddr
        }
    );
    for o in &r.options {
        use v4::DhcpOption as O;
        let value = match o {
            O::SubnetMask(a)
            | O::RequestedIpAddress(a)
            | O::ServerIdentifier(a)
            | O::SubnetSelection(a) => a.to_string(),
            O::Router(l) | O::DomainNameServer(l) | O::AssociatedIp(l) => list(l),
            O::IpAddressLeaseTime(s)
            | O::RenewalTime(s)
            | O::RebindingTime(s)
            | O::ClientLastTransactionTime(s)
            | O::StartTimeOfState(s)
            | O::QueryStartTime(s)
            | O::QueryEndTime(s) => format!("{s} s"),
            O::BaseTime(t) => format!("{t} (seconds since 1970)"),
            O::MessageType(t) => t.to_string(),
            O::ParameterRequestList(codes) => list(codes),
            O::RelayAgentInformation(rai) => {
                let subs: Vec<String> = rai
                    .sub_options()
                    .map(|s| match s {
                        Ok(s) if s.code == v4::code::relay::LINK_SELECTION && s.data.len() == 4 => {
                            format!(
                                "{} {}",
                                relay_sub_option_name(s.code),
                                std::net::Ipv4Addr::new(s.data[0], s.data[1], s.data[2], s.data[3])
                            )
                        }
                        Ok(s) => format!("{} {}", relay_sub_option_name(s.code), octets(s.data)),
                        Err(e) => format!("malformed: {e}"),
                    })
                    .collect();
                subs.join("; ")
            }
            O::StatusCode(s) => match s.decode_rfc6926() {
                Ok((status, text)) => format!("{status:?} {text:?} (RFC 6926 layout)"),
                Err(_) => octets(s.as_bytes()),
            },
            O::DhcpState(s) => format!("{s:?}"),
            O::DataSource(d) => {
                format!("0x{:02x}{}", d.0, if d.remote() { " (remote)" } else { "" })
            }
            O::HostName(b)
            | O::VendorClassIdentifier(b)
            | O::ClientIdentifier(b)
            | O::Other { data: b, .. } => octets(b),
        };
        let _ = writeln!(
            out,
            "  {:>3} {}: {value}",
            o.code(),
            v4_option_name(o.code())
        );
    }
    out
}

fn describe_v6(r: &v6::Repr, depth: usize, out: &mut String) {
    let pad = "  ".repeat(depth);
    match r {
        v6::Repr::ClientServer(m) => {
            let _ = writeln!(
                out,
                "{pad}{} transaction-id 0x{:06x}",
                m.msg_type, m.transaction_id
            );
        }
        v6::Repr::Relay(m) => {
            let _ = writeln!(
                out,
                "{pad}{} hop-count {} link-address {} peer-address {}",
                m.msg_type, m.hop_count, m.link_address, m.peer_address
            );
        }
    }
    describe_v6_options(r.options(), depth + 1, out);
}

fn describe_v6_options(options: &[v6::DhcpOption], depth: usize, out: &mut String) {
    use v6::DhcpOption as O;
    let pad = "  ".repeat(depth);
    for o in options {
        let code = o.code();
        let (name, value): (&str, String) = match o {
            O::ClientId(d) => ("CLIENTID", d.to_string()),
            O::ServerId(d) => ("SERVERID", d.to_string()),
            O::RelayId(d) => ("RELAY_ID", d.to_string()),
            O::IaNa { iaid, t1, t2, .. } => ("IA_NA", format!("iaid {iaid} T1 {t1} T2 {t2}")),
            O::IaTa { iaid, .. } => ("IA_TA", format!("iaid {iaid}")),
            O::IaPd { iaid, t1, t2, .. } => ("IA_PD", format!("iaid {iaid} T1 {t1} T2 {t2}")),
            O::IaAddr { address, preferred_lifetime, valid_lifetime, .. } => {
                ("IAADDR", format!("{address} preferred {preferred_lifetime} valid {valid_lifetime}"))
            }
            O::IaPrefix { prefix, prefix_length, preferred_lifetime, valid_lifetime, .. } => (
                "IAPREFIX",
                format!("{prefix}/{prefix_length} preferred {preferred_lifetime} valid {valid_lifetime}"),
            ),
            O::Oro(codes) => ("ORO", list(codes)),
            O::StatusCode { code, message } => (
                "STATUS_CODE",
                format!("{} ({code}) {:?}", v6::status::name(*code).unwrap_or("?"), String::from_utf8_lossy(message)),
            ),
            O::RelayMsg(_) => ("RELAY_MSG", String::new()),
            O::InterfaceId(id) => ("INTERFACE_ID", octets(id)),
            O::RemoteId { enterprise_number, remote_id } => {
                ("REMOTE_ID", format!("enterprise {enterprise_number} {}", octets(remote_id)))
            }
            O::LqQuery { query_type, link_address, .. } => ("LQ_QUERY", format!("{query_type:?} link-address {link_address}")),
            O::ClientData(_) => ("CLIENT_DATA", String::new()),
            O::CltTime(s) => ("CLT_TIME", format!("{s} s")),
            O::LqRelayData { peer_address, .. } => ("LQ_RELAY_DATA", format!("peer-address {peer_address}")),
            O::LqClientLink(links) => ("LQ_CLIENT_LINK", list(links)),
            O::LqBaseTime(t) => ("LQ_BASE_TIME", t.to_string()),
            O::LqStartTime(t) => ("LQ_START_TIME", t.to_string()),
            O::LqEndTime(t) => ("LQ_END_TIME", t.to_string()),
            O::Other { code: 8, data } if data.len() == 2 => {
                ("ELAPSED_TIME", format!("{} centiseconds", u16::from_be_bytes([data[0], data[1]])))
            }
            O::Other { data, .. } => ("option", octets(data)),
        };
        let _ = writeln!(
            out,
            "{pad}{code:>3} {name}{}{value}",
            if value.is_empty() { "" } else { ": " }
        );
        match o {
            O::RelayMsg(m) => describe_v6(m, depth + 2, out),
            O::LqRelayData { relay_message, .. } => describe_v6(relay_message, depth + 2, out),
            _ => {
                if let Some(inner) = o.encapsulated() {
                    describe_v6_options(inner, depth + 2, out);
                }
            }
        }
    }
}
