//! OPTION_CLIENT_DATA and OPTION_LQ_RELAY_DATA of a leasequery reply, built from bindings
//! (RFC 5007 §4.1.2.2, §4.1.2.4), by one function ([`client_data`]) for the UDP responder and
//! for bulk leasequery alike (docs/protocol.md decisions 23, 26, 29).
//!
//! - CLIENT_DATA carries the client's CLIENTID, one IAADDR (IA_NA) or IAPREFIX (IA_PD) per
//!   binding given that is still valid at `now`, with the lifetimes that remain (0 for a
//!   preferred lifetime that has run out), and CLT_TIME: seconds since the client last
//!   talked to the server (relative, §4.1.2.2), from the most recent of the bindings; then
//!   the configured options the LQ_QUERY's ORO asks for, less the sensitive ones (§4.4.2).
//! - LQ_RELAY_DATA is the peer address and the relay chain kept with the binding (the last
//!   RELAY-FORW chain without the innermost RELAY_MSG); only for a binding that has both and
//!   whose chain still parses.

use crate::config::{Config, ConfiguredOption6, Link6};
use crate::dhcp6::options::merged_values;
use lessor_store::{Binding6, IaType, Timestamp};
use lessor_wire::v6::{
    DhcpOption, Duid, Repr, Writer, OPTION_CLIENTID, OPTION_CLIENT_DATA, OPTION_CLT_TIME,
    OPTION_IAADDR, OPTION_IAPREFIX, OPTION_LQ_RELAY_DATA,
};
use std::sync::Arc;

/// Seconds from `now` to `end`, 0 once passed, as a 32-bit lifetime.
fn remaining(end: Timestamp, now: Timestamp) -> u32 {
    u32::try_from(end.saturating_sub(now)).unwrap_or(u32::MAX)
}

/// The preferred and valid lifetimes left to `b` at `now`, or `None` when its valid lifetime is
/// over.
fn lifetimes(b: &Binding6, now: Timestamp) -> Option<(u32, u32)> {
    let valid = remaining(b.valid_end, now);
    if valid == 0 {
        return None;
    }
    Some((remaining(b.preferred_end, now).min(valid), valid))
}

/// The IAADDR or IAPREFIX of `b` at `now`, or `None` when its valid lifetime is over.
pub fn resource(b: &Binding6, now: Timestamp) -> Option<DhcpOption> {
    let (preferred, valid) = lifetimes(b, now)?;
    Some(match b.ia_type {
        IaType::Na => DhcpOption::IaAddr {
            address: b.address,
            preferred_lifetime: preferred,
            valid_lifetime: valid,
            options: Vec::new(),
        },
        IaType::Pd => DhcpOption::IaPrefix {
            preferred_lifetime: preferred,
            valid_lifetime: valid,
            prefix_length: b.prefix_len,
            prefix: b.address,
            options: Vec::new(),
        },
    })
}

/// What client data is built from besides the bindings: the configuration a REPLY's options
/// come from, and what must not be told (RFC 5007 §4.4.2). Read once from the config, held by
/// the UDP responder and the bulk service alike.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// `[[dhcp6.link]]`, in configuration order.
    pub links: Vec<Link6>,
    /// `[dhcp6]`'s own options.
    pub global_options: Vec<ConfiguredOption6>,
    /// `[leasequery6] sensitive-options`.
    pub sensitive: Vec<u16>,
}

impl Context {
    /// The context of `config`'s `[dhcp6]` and `[leasequery6]`.
    pub fn from_config(config: &Config) -> Context {
        let (links, global_options) = match &config.dhcp6 {
            Some(d) => (d.links.clone(), d.options.clone()),
            None => (Vec::new(), Vec::new()),
        };
        let sensitive = config
            .leasequery6
            .as_ref()
            .map(|l| l.sensitive_options.clone())
            .unwrap_or_default();
        Context {
            links,
            global_options,
            sensitive,
        }
    }

    /// The configured link a binding was made on (its index), if it is still configured.
    pub fn link_of(&self, b: &Binding6) -> Option<usize> {
        self.links.iter().position(|l| l.prefix == b.link)
    }
}

/// OPTION_CLIENT_DATA for one client's active `bindings` on `ctx.links[link]` (most recent
/// first, not empty; `None`: a link no longer configured), as an option (bulk leasequery's
/// builder; the UDP responder writes the same octets straight into its reply,
/// [`ClientData::write`]): its CLIENTID; every address and prefix with the lifetimes left at
/// `now`; CLT_TIME, seconds since the most recent transaction (relative, §4.1.2.3); the
/// configured options `oro` (the LQ_QUERY's) asks for that are not sensitive (§4.4.2), from the
/// client's reservation, the pool of its most recent binding, its link, then `[dhcp6]`, as a
/// REPLY takes them; LQ_RELAY_DATA, last, when `oro` asks for it, it is not sensitive and the
/// most recent binding kept its relay chain (§4.1.2.4).
pub fn client_data(
    ctx: &Context,
    link: Option<usize>,
    bindings: &[Arc<Binding6>],
    oro: &[u16],
    now: Timestamp,
) -> DhcpOption {
    let mut options = Vec::with_capacity(bindings.len() + 4);
    let duid = client_duid(bindings);
    options.push(match Duid::parse(duid) {
        Ok(d) => DhcpOption::ClientId(d),
        Err(_) => DhcpOption::Other {
            code: OPTION_CLIENTID,
            data: duid.to_vec(),
        },
    });
    // The answer holds active bindings only: each still has a valid lifetime.
    options.extend(bindings.iter().filter_map(|b| resource(b, now)));
    options.push(DhcpOption::CltTime(clt_time(bindings, now)));
    options.extend(
        configured(ctx, link, bindings, oro)
            .into_iter()
            .map(|o| DhcpOption::Other {
                code: o.code,
                data: o.value.clone(),
            }),
    );
    if relay_data_asked(ctx, oro) {
        if let Some(d) = bindings.first().and_then(|b| relay_data(b)) {
            options.push(d);
        }
    }
    DhcpOption::ClientData(options)
}

/// How much of its client data a reply carries: all of it, or less to fit one datagram
/// (docs/protocol.md decision 24).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// Everything [`client_data`] holds.
    All,
    /// What the RFC's rules put in ([`is_lq_data`]): no configured options.
    LqData,
    /// As [`Keep::LqData`], without LQ_RELAY_DATA.
    LqDataWithoutRelayData,
}

/// Appends [`resource`]'s option for `b` at `now`, if any, as that option would be emitted.
fn write_resource(w: &mut Writer<'_>, b: &Binding6, now: Timestamp) -> lessor_wire::Result<()> {
    let Some((preferred, valid)) = lifetimes(b, now) else {
        return Ok(());
    };
    match b.ia_type {
        IaType::Na => w.option(OPTION_IAADDR, |w| {
            w.ipv6(&b.address)?;
            w.u32(preferred)?;
            w.u32(valid)
        }),
        IaType::Pd => w.option(OPTION_IAPREFIX, |w| {
            w.u32(preferred)?;
            w.u32(valid)?;
            w.u8(b.prefix_len)?;
            w.ipv6(&b.address)
        }),
    }
}

/// One client's data as the UDP responder found it: [`client_data`]'s arguments.
#[derive(Debug, Clone, Copy)]
pub struct ClientData<'a> {
    pub ctx: &'a Context,
    pub link: Option<usize>,
    pub bindings: &'a [Arc<Binding6>],
    pub oro: &'a [u16],
    pub now: Timestamp,
}

impl ClientData<'_> {
    /// Appends the OPTION_CLIENT_DATA [`client_data`] builds to `w`, less what `keep` leaves
    /// out, octet for octet as that option would be emitted, without building it (the options'
    /// vectors, the DUID parsed and copied, their drop were a fifth of a query's instructions,
    /// docs/benchmarks.md, "Fewer instructions per query").
    pub fn write(&self, w: &mut Writer<'_>, keep: Keep) -> lessor_wire::Result<()> {
        let ClientData {
            ctx,
            link,
            bindings,
            oro,
            now,
        } = *self;
        w.option(OPTION_CLIENT_DATA, |w| {
            // A DUID that parses emits as received, one that does not goes as its octets:
            // either way, its octets.
            let duid = client_duid(bindings);
            w.option(OPTION_CLIENTID, |w| w.bytes(duid))?;
            for b in bindings {
                write_resource(w, b, now)?;
            }
            w.option(OPTION_CLT_TIME, |w| w.u32(clt_time(bindings, now)))?;
            if keep == Keep::All {
                for o in configured(ctx, link, bindings, oro) {
                    w.option(o.code, |w| w.bytes(&o.value))?;
                }
            }
            if keep != Keep::LqDataWithoutRelayData && relay_data_asked(ctx, oro) {
                if let Some(d) = bindings.first().and_then(|b| relay_data(b)) {
                    d.write(w)?;
                }
            }
            Ok(())
        })
    }
}

/// The client's DUID: its most recent binding's (empty: none kept).
fn client_duid(bindings: &[Arc<Binding6>]) -> &[u8] {
    bindings.first().and_then(|b| b.duid()).unwrap_or_default()
}

/// CLT_TIME: seconds since the most recent of `bindings` last heard from the client.
fn clt_time(bindings: &[Arc<Binding6>], now: Timestamp) -> u32 {
    let cltt = bindings.iter().map(|b| b.cltt).max().unwrap_or(now);
    remaining(now, cltt)
}

/// The configured options `oro` asks for that client data carries (see [`client_data`]).
fn configured<'a>(
    ctx: &'a Context,
    link: Option<usize>,
    bindings: &[Arc<Binding6>],
    oro: &[u16],
) -> Vec<&'a ConfiguredOption6> {
    let asked: Vec<u16> = oro
        .iter()
        .copied()
        .filter(|c| !ctx.sensitive.contains(c) && !is_lq_data(*c))
        .collect();
    if asked.is_empty() {
        return Vec::new();
    }
    let duid = client_duid(bindings);
    let none: &[ConfiguredOption6] = &[];
    let l = link.and_then(|i| ctx.links.get(i));
    let reservation = l
        .and_then(|l| l.reservations.iter().find(|r| r.duid == duid))
        .map_or(none, |r| &r.options[..]);
    let pool = l
        .zip(bindings.first())
        .and_then(|(l, b)| pool_options(l, b))
        .unwrap_or(none);
    let link_options = l.map_or(none, |l| &l.options[..]);
    let tables = [reservation, pool, link_options, &ctx.global_options[..]];
    merged_values(&asked, &tables).collect()
}

/// Whether `oro` asks for LQ_RELAY_DATA and it may be told.
fn relay_data_asked(ctx: &Context, oro: &[u16]) -> bool {
    oro.contains(&OPTION_LQ_RELAY_DATA) && !ctx.sensitive.contains(&OPTION_LQ_RELAY_DATA)
}

/// The options of the pool of `l` that `b` was leased from.
fn pool_options<'a>(l: &'a Link6, b: &Binding6) -> Option<&'a [ConfiguredOption6]> {
    match b.ia_type {
        IaType::Na => l
            .address_pools
            .iter()
            .find(|p| p.contains(b.address))
            .map(|p| &p.options[..]),
        IaType::Pd => l
            .prefix_pools
            .iter()
            .find(|p| p.prefix.contains(&b.address) && b.prefix_len >= p.prefix.prefix_len())
            .map(|p| &p.options[..]),
    }
}

/// Codes that client data carries by the RFC's rules, never as configured options.
pub fn is_lq_data(code: u16) -> bool {
    matches!(
        code,
        OPTION_CLIENTID | OPTION_IAADDR | OPTION_IAPREFIX | OPTION_CLT_TIME | OPTION_LQ_RELAY_DATA
    )
}

/// The LQ_RELAY_DATA of `b`, if it came through relays and the chain kept parses.
pub fn relay_data(b: &Binding6) -> Option<DhcpOption> {
    let peer_address = b.relay_peer?;
    let chain = Repr::from_bytes(b.relay_chain()?).ok()?;
    Some(DhcpOption::LqRelayData {
        peer_address,
        relay_message: Box::new(chain),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use lessor_store::State6;
    use std::net::Ipv6Addr;

    fn binding(ia: IaType, addr: &str, plen: u8) -> Binding6 {
        let duid = [0u8, 3, 0, 1, 2, 0, 0, 0, 0, 1];
        Binding6::new(
            addr.parse().unwrap(),
            plen,
            ia,
            &duid,
            7,
            "2001:db8:1::/64".parse().unwrap(),
            State6::Active,
        )
        .unwrap()
    }

    #[test]
    fn lifetimes_remain_and_clt_time_is_relative() {
        let mut a = binding(IaType::Na, "2001:db8:1::10", 128);
        a.cltt = 1_000;
        a.preferred_end = 1_500;
        a.valid_end = 2_000;
        let mut p = binding(IaType::Pd, "2001:db8:100::", 56);
        p.cltt = 1_100;
        p.preferred_end = 1_150; // passed
        p.valid_end = 1_900;
        let ctx = Context::default();
        let both = [Arc::new(a), Arc::new(p)];
        let DhcpOption::ClientData(o) = client_data(&ctx, None, &both, &[23, 47], 1_200) else {
            panic!("client data expected");
        };
        assert!(matches!(&o[0], DhcpOption::ClientId(_)));
        assert_eq!(
            o[1],
            DhcpOption::IaAddr {
                address: "2001:db8:1::10".parse().unwrap(),
                preferred_lifetime: 300,
                valid_lifetime: 800,
                options: vec![],
            }
        );
        assert_eq!(
            o[2],
            DhcpOption::IaPrefix {
                preferred_lifetime: 0,
                valid_lifetime: 700,
                prefix_length: 56,
                prefix: "2001:db8:100::".parse().unwrap(),
                options: vec![],
            }
        );
        assert_eq!(o[3], DhcpOption::CltTime(100), "from the latest contact");
        assert_eq!(
            o.len(),
            4,
            "nothing configured, no relay chain: nothing more"
        );
    }

    #[test]
    fn a_binding_past_its_valid_lifetime_is_no_resource() {
        let mut a = binding(IaType::Na, "2001:db8:1::10", 128);
        a.valid_end = 100;
        assert_eq!(resource(&a, 100), None);
        assert!(resource(&a, 99).is_some());
    }

    #[test]
    fn configured_options_as_a_reply_takes_them_less_the_sensitive() {
        let opt = |code: u16, v: u8| ConfiguredOption6 {
            code,
            value: vec![v],
        };
        let link = Link6 {
            prefix: "2001:db8:1::/64".parse().unwrap(),
            interface_ids: vec![],
            interface: None,
            lifetimes: crate::config::dhcp6::Lifetimes6 {
                preferred: crate::config::Seconds(100),
                valid: crate::config::Seconds(200),
                renew_time: crate::config::Seconds(50),
                rebind_time: crate::config::Seconds(80),
            },
            address_pools: vec![crate::config::dhcp6::AddressPool6 {
                first: "2001:db8:1::100".parse().unwrap(),
                last: "2001:db8:1::1ff".parse().unwrap(),
                options: vec![opt(24, 2), opt(31, 2)],
            }],
            prefix_pools: vec![],
            reservations: vec![crate::config::dhcp6::Reservation6 {
                duid: vec![0u8, 3, 0, 1, 2, 0, 0, 0, 0, 1],
                addresses: vec![],
                prefixes: vec![],
                options: vec![opt(31, 1)],
            }],
            options: vec![opt(23, 3), opt(24, 3)],
        };
        let mut ctx = Context {
            links: vec![link],
            global_options: vec![opt(23, 4), opt(32, 4)],
            sensitive: vec![],
        };
        let b = [Arc::new(binding(IaType::Na, "2001:db8:1::110", 128))];
        let configured = |ctx: &Context, link, oro: &[u16]| -> Vec<(u16, Vec<u8>)> {
            let DhcpOption::ClientData(o) = client_data(ctx, link, &b, oro, 0) else {
                panic!("client data expected");
            };
            o.into_iter()
                .filter_map(|o| match o {
                    DhcpOption::Other { code, data } => Some((code, data)),
                    _ => None,
                })
                .collect()
        };
        let all = [32, 31, 24, 23, 99];
        assert_eq!(
            configured(&ctx, Some(0), &all),
            vec![(32, vec![4]), (31, vec![1]), (24, vec![2]), (23, vec![3])],
            "reservation, then pool, then link, then [dhcp6]; in the ORO's order"
        );
        assert_eq!(
            configured(&ctx, None, &all),
            vec![(32, vec![4]), (23, vec![4])],
            "a link no longer configured: [dhcp6]'s only"
        );
        assert!(configured(&ctx, Some(0), &[]).is_empty(), "no ORO: none");
        ctx.sensitive = vec![24, 31];
        assert_eq!(
            configured(&ctx, Some(0), &all),
            vec![(32, vec![4]), (23, vec![3])],
            "sensitive: never"
        );
    }

    #[test]
    fn relay_data_needs_peer_and_chain() {
        let mut a = binding(IaType::Na, "2001:db8:1::10", 128);
        assert_eq!(relay_data(&a), None);
        let chain = Repr::Relay(lessor_wire::v6::RelayMessage {
            msg_type: lessor_wire::v6::MessageType::RelayForw,
            hop_count: 0,
            link_address: "2001:db8:1::1".parse().unwrap(),
            peer_address: "fe80::1".parse().unwrap(),
            options: vec![DhcpOption::InterfaceId(b"eth0".to_vec())],
        });
        a.set_relay_chain(Some(&chain.to_vec())).unwrap();
        assert_eq!(relay_data(&a), None, "no peer");
        a.relay_peer = Some(Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 1));
        assert_eq!(
            relay_data(&a),
            Some(DhcpOption::LqRelayData {
                peer_address: "2001:db8:1::1".parse().unwrap(),
                relay_message: Box::new(chain),
            })
        );
    }
}
