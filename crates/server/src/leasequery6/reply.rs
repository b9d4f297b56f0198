//! The LEASEQUERY-REPLY (RFC 5007 §4.4.1, §4.4.2): OPTION_CLIENTID echoed, OPTION_SERVERID,
//! then one of OPTION_CLIENT_DATA ([`super::client_data`]), OPTION_LQ_CLIENT_LINK, OPTION_STATUS_CODE, or nothing (no
//! client matched). Encoded, relay wrapping included, within [`MAX_DATAGRAM`] octets
//! ([`fit`], docs/protocol.md decision 24).

use super::client_data::is_lq_data;
use super::validate::Query6;
use crate::dhcp6::relay;
use crate::router6::Message6;
use lessor_wire::v6::{
    ClientServerMessage, DhcpOption, Duid, MessageType, Repr, OPTION_LQ_RELAY_DATA,
};
use std::net::Ipv6Addr;

/// The largest datagram a reply is: the IPv6 minimum MTU (1280, RFC 8200 §5) less the IPv6 and
/// UDP headers, so no reply needs fragmenting on any path (docs/protocol.md decision 24).
pub const MAX_DATAGRAM: usize = 1232;

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
pub fn fit(msg: &Message6, reply: Repr) -> Fitted {
    // Encoded as built, not a copy: nearly every reply fits at the first try, and a copy of
    // its options (then their drop) was about 15 % of a query's instructions (docs/benchmarks.md,
    // issue 14, "After the lookup work"). One that does not fit is taken back out of its
    // RELAY-REPLs to be cut.
    let encode = |r: Repr| -> Result<Vec<u8>, Repr> {
        let wrapped = relay::wrap(msg, r);
        match wrapped.try_to_vec() {
            Ok(v) if v.len() <= MAX_DATAGRAM => Ok(v),
            _ => Err(unwrap(wrapped)),
        }
    };
    let mut reply = match encode(reply) {
        Ok(v) => return Fitted::Whole(v),
        Err(r) => r,
    };
    for keep in [(|c: u16| is_lq_data(c)) as fn(u16) -> bool, |c: u16| {
        is_lq_data(c) && c != OPTION_LQ_RELAY_DATA
    }] {
        for o in reply.options_mut() {
            if let DhcpOption::ClientData(inner) = o {
                inner.retain(|i| keep(i.code()));
            }
        }
        reply = match encode(reply) {
            Ok(v) => return Fitted::Truncated(v),
            Err(r) => r,
        };
    }
    reply
        .options_mut()
        .retain(|o| !matches!(o, DhcpOption::ClientData(_)));
    reply.options_mut().push(status(
        lessor_wire::v6::status::UNSPEC_FAIL,
        "client data larger than a datagram; ask by bulk leasequery (RFC 5460)",
    ));
    match encode(reply) {
        Ok(v) => Fitted::TooLarge(v),
        Err(_) => Fitted::Unsendable,
    }
}

/// The reply [`relay::wrap`] put inside RELAY-REPLs, taken back out (a direct reply is
/// returned as is).
fn unwrap(mut r: Repr) -> Repr {
    while let Repr::Relay(mut relay) = r {
        let Some(i) = relay
            .options
            .iter()
            .position(|o| matches!(o, DhcpOption::RelayMsg(_)))
        else {
            // Not one `wrap` made: nothing inside to take out.
            return Repr::Relay(relay);
        };
        r = match relay.options.swap_remove(i) {
            DhcpOption::RelayMsg(inner) => *inner,
            other => {
                relay.options.push(other);
                return Repr::Relay(relay);
            }
        };
    }
    r
}
