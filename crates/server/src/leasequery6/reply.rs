//! The LEASEQUERY-REPLY (RFC 5007 §4.4.1, §4.4.2): OPTION_CLIENTID echoed, OPTION_SERVERID,
//! then one of OPTION_CLIENT_DATA, OPTION_LQ_CLIENT_LINK, OPTION_STATUS_CODE, or nothing (no
//! client matched). Encoded, relay wrapping included, within [`MAX_DATAGRAM`] octets
//! ([`fit`], docs/protocol.md decision 24).

use super::client_data;
use super::validate::Query6;
use crate::config::{ConfiguredOption6, Link6};
use crate::dhcp6::options::merged;
use crate::dhcp6::relay;
use crate::router6::Message6;
use lessor_store::v6::binding::Binding6;
use lessor_store::Timestamp;
use lessor_wire::v6::{
    ClientServerMessage, DhcpOption, Duid, MessageType, Repr, OPTION_CLIENTID, OPTION_CLT_TIME,
    OPTION_IAADDR, OPTION_IAPREFIX, OPTION_LQ_RELAY_DATA,
};
use std::net::Ipv6Addr;
use std::sync::Arc;

/// The largest datagram a reply is: the IPv6 minimum MTU (1280, RFC 8200 §5) less the IPv6 and
/// UDP headers, so no reply needs fragmenting on any path (docs/protocol.md decision 24).
pub const MAX_DATAGRAM: usize = 1232;

/// What the reply is built from besides the query.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub server_duid: &'a [u8],
    pub links: &'a [Link6],
    pub global_options: &'a [ConfiguredOption6],
    /// `[leasequery6] sensitive-options` (§4.4.2).
    pub sensitive: &'a [u16],
}

/// A DUID as an option: typed when it parses, else as the octets kept.
fn duid_option(code: u16, duid: &[u8]) -> DhcpOption {
    match (code, Duid::parse(duid)) {
        (OPTION_CLIENTID, Ok(d)) => DhcpOption::ClientId(d),
        _ => DhcpOption::Other {
            code,
            data: duid.to_vec(),
        },
    }
}

/// The server's OPTION_SERVERID.
fn server_id(duid: &[u8]) -> DhcpOption {
    match Duid::parse(duid) {
        Ok(d) => DhcpOption::ServerId(d),
        Err(_) => DhcpOption::Other {
            code: lessor_wire::v6::OPTION_SERVERID,
            data: duid.to_vec(),
        },
    }
}

/// A LEASEQUERY-REPLY to `q` carrying `body`.
pub fn reply(q: &Query6<'_>, server_duid: &[u8], body: Vec<DhcpOption>) -> Repr {
    let mut options = Vec::with_capacity(2 + body.len());
    options.push(q.client_id.clone());
    options.push(server_id(server_duid));
    options.extend(body);
    Repr::ClientServer(ClientServerMessage {
        msg_type: MessageType::LeasequeryReply,
        transaction_id: q.transaction_id,
        options,
    })
}

/// OPTION_STATUS_CODE.
pub fn status(code: u16, message: &str) -> DhcpOption {
    DhcpOption::StatusCode {
        code,
        message: message.as_bytes().to_vec(),
    }
}

/// OPTION_CLIENT_DATA for one client's active `bindings` on `links[link]` (most recent first,
/// not empty): its CLIENTID; every address and prefix with the lifetimes left at `now`;
/// CLT_TIME, seconds since the most recent transaction (relative, §4.1.2.3); the configured
/// options `oro` asks for that are not sensitive (§4.4.2); LQ_RELAY_DATA when `oro` asks for
/// it, it is not sensitive and the most recent binding kept its relay chain (§4.1.2.4).
pub fn client_data(
    ctx: &Context<'_>,
    link: usize,
    bindings: &[Arc<Binding6>],
    oro: &[u16],
    now: Timestamp,
) -> DhcpOption {
    let mut options = Vec::with_capacity(bindings.len() + 4);
    let duid = bindings.first().and_then(|b| b.duid()).unwrap_or_default();
    options.push(duid_option(OPTION_CLIENTID, duid));
    // The answer holds active bindings only: each still has a valid lifetime.
    options.extend(
        bindings
            .iter()
            .filter_map(|b| client_data::resource(b, now)),
    );
    let cltt = bindings.iter().map(|b| b.cltt).max().unwrap_or(now);
    options.push(DhcpOption::CltTime(
        u32::try_from(now.saturating_sub(cltt)).unwrap_or(u32::MAX),
    ));
    let asked: Vec<u16> = oro
        .iter()
        .copied()
        .filter(|c| !ctx.sensitive.contains(c) && !is_lq_data(*c))
        .collect();
    let l = &ctx.links[link];
    let reservation = l
        .reservations
        .iter()
        .find(|r| r.duid == duid)
        .map(|r| r.options.as_slice())
        .unwrap_or_default();
    options.extend(merged(
        &asked,
        &[reservation, &l.options, ctx.global_options],
    ));
    if oro.contains(&OPTION_LQ_RELAY_DATA) && !ctx.sensitive.contains(&OPTION_LQ_RELAY_DATA) {
        if let Some(d) = bindings.first().and_then(|b| client_data::relay_data(b)) {
            options.push(d);
        }
    }
    DhcpOption::ClientData(options)
}

/// Codes that client data carries by the RFC's rules, never as configured options.
fn is_lq_data(code: u16) -> bool {
    matches!(
        code,
        OPTION_CLIENTID | OPTION_IAADDR | OPTION_IAPREFIX | OPTION_CLT_TIME | OPTION_LQ_RELAY_DATA
    )
}

/// OPTION_LQ_CLIENT_LINK.
pub fn client_link(links: Vec<Ipv6Addr>) -> DhcpOption {
    DhcpOption::LqClientLink(links)
}

/// How [`fit`] encoded a reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fitted {
    /// As built.
    Whole(Vec<u8>),
    /// Client data without its configured options, or without LQ_RELAY_DATA too.
    Truncated(Vec<u8>),
    /// Client data that does not fit even so: the reply carries UnspecFail instead.
    TooLarge(Vec<u8>),
    /// Not even that fits (Interface-Ids of relays that fill the datagram): not sent.
    Unsendable,
}

/// `reply`, wrapped back through `msg`'s relay chain, encoded in at most [`MAX_DATAGRAM`]
/// octets (docs/protocol.md decision 24): when it does not fit, the client data loses its
/// configured options, then LQ_RELAY_DATA; when even that does not fit, the client data is
/// replaced by STATUS_CODE UnspecFail, pointing to bulk leasequery; when not even that fits
/// (the relays' Interface-Ids echoed take the room), [`Fitted::Unsendable`].
pub fn fit(msg: &Message6, mut reply: Repr) -> Fitted {
    let encode = |r: &Repr| {
        let v = relay::wrap(msg, r.clone()).try_to_vec().ok()?;
        (v.len() <= MAX_DATAGRAM).then_some(v)
    };
    if let Some(v) = encode(&reply) {
        return Fitted::Whole(v);
    }
    for keep in [(|c: u16| is_lq_data(c)) as fn(u16) -> bool, |c: u16| {
        is_lq_data(c) && c != OPTION_LQ_RELAY_DATA
    }] {
        for o in reply.options_mut() {
            if let DhcpOption::ClientData(inner) = o {
                inner.retain(|i| keep(i.code()));
            }
        }
        if let Some(v) = encode(&reply) {
            return Fitted::Truncated(v);
        }
    }
    reply
        .options_mut()
        .retain(|o| !matches!(o, DhcpOption::ClientData(_)));
    reply.options_mut().push(status(
        lessor_wire::v6::status::UNSPEC_FAIL,
        "client data larger than a datagram; ask by bulk leasequery (RFC 5460)",
    ));
    match encode(&reply) {
        Some(v) => Fitted::TooLarge(v),
        None => Fitted::Unsendable,
    }
}
