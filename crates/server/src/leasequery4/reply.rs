//! Building the replies (RFC 4388 §6.4.2, §6.4.3; draft-ietf-dhc-leasequery-00 §6.3;
//! docs/protocol.md decision 6).
//!
//! Every reply: op BOOTREPLY, xid, flags and giaddr echoed, hops/secs/yiaddr/siaddr 0, no sname
//! or file, options 53 then 54 (the server identifier) first.
//!
//! - **DHCPLEASEUNKNOWN**: nothing else. ciaddr is the query's (erratum 3518: the ciaddr of a
//!   query by IP is echoed in every reply), htype/hlen/chaddr are the query's.
//! - **DHCPLEASEUNASSIGNED**: ciaddr only (the queried address; 0 for an identifier query),
//!   htype/hlen/chaddr the query's. No other option (§6.4.2, docs/protocol.md decision 6).
//! - **DHCPLEASEACTIVE**: ciaddr = the binding's address, htype/hlen/chaddr = its owner's. Then:
//!   - 51 / 58 / 59: the time *remaining* until the lease end / T1 / T2, each only when still in
//!     the future (a T1 or T2 already past is left out, §6.4.2);
//!   - 91 client-last-transaction-time (now - cltt), always;
//!   - 92 associated-ip, whenever the client has other active addresses, requested or not;
//!   - 61, when the binding has one and it is requested or there is no Parameter Request List
//!     (the DHCPACK to the client's DHCPREQUEST carried it, RFC 6842);
//!   - the options the client itself was given: computed by the DHCP engine's own assembly
//!     ([`crate::dhcp4::reply::build`]) for a DHCPREQUEST of that client, with its saved option
//!     82, its subnet and its reservation, exactly as for the client, then filtered: only
//!     those on `non-sensitive-options`, and with a Parameter Request List only those it names
//!     (in the engine's order: subnet mask first, then the PRL's order);
//!   - 60 (vendor class) and 12 (host name) as the client sent them, when requested, on the
//!     non-sensitive list and not already given by the configuration (§5, §6.7: "SHOULD save
//!     vendor-class-id");
//!   - 82 last, as saved from the client's most recent DHCPREQUEST, byte for byte.
//!
//!   Without a Parameter Request List the reply carries what a DHCPREQUEST would have been given
//!   (§6.2): 51, 58, 59, the configured options (still only those on the non-sensitive list), 61
//!   (RFC 6842 has every reply return the client's identifier) and 82. Options 51, 58, 59, 61, 82, 91 and 92 are discussed by §6.4.2 itself and are not subject
//!   to the non-sensitive list.
//! - **Legacy DHCPACK** (draft-00 §6.3): ciaddr = the queried address; htype/hlen/chaddr of the
//!   most recent client of the address when the server has a binding (any state), else 0; only
//!   options named in the Parameter Request List: 51/58/59 remaining only while the lease is
//!   active, 82 as saved when there is a binding, 61 and the client's other options (as above)
//!   only while active. No 91 or 92 (they postdate the draft).
//! - **Legacy DHCPNAK**: ciaddr echoed, no other option.
//!
//! Every reply is encoded by [`fit`] to the requester's maximum message size (docs/protocol.md
//! decision 15).

use super::validate::Query;
use crate::config::options::ConfiguredOption;
use crate::config::Subnet;
use crate::dhcp4::identity::Identity;
use crate::dhcp4::reply::{self as dhcp_reply, Content, Lease};
use lessor_store::{Binding4, Timestamp};
use lessor_wire::v4::{
    code, DhcpOption, MessageType, RelayAgentInformation, Repr, BOOTREPLY, BOOTREQUEST, HEADER_LEN,
};
use std::net::Ipv4Addr;

/// What the replies are built from besides the query and the binding.
#[derive(Debug)]
pub struct Context<'a> {
    pub server_identifier: Ipv4Addr,
    pub subnets: &'a [Subnet],
    pub global_options: &'a [ConfiguredOption],
    pub non_sensitive: &'a [u8],
}

/// The header every reply shares, with options 53 and 54.
fn base(q: &Query, kind: MessageType, server_identifier: Ipv4Addr) -> Repr {
    Repr {
        op: BOOTREPLY,
        htype: q.htype,
        hlen: q.hlen,
        hops: 0,
        xid: q.xid,
        secs: 0,
        flags: q.flags,
        ciaddr: Ipv4Addr::UNSPECIFIED,
        yiaddr: Ipv4Addr::UNSPECIFIED,
        siaddr: Ipv4Addr::UNSPECIFIED,
        giaddr: q.giaddr,
        chaddr: q.chaddr,
        sname: [0; 64],
        file: [0; 128],
        options: {
            // Room for a full DHCPLEASEACTIVE: no reallocation while it is assembled.
            let mut options = Vec::with_capacity(16);
            options.push(DhcpOption::MessageType(kind));
            options.push(DhcpOption::ServerIdentifier(server_identifier));
            options
        },
    }
}

/// DHCPLEASEUNKNOWN.
pub fn unknown(q: &Query, ciaddr: Ipv4Addr, server_identifier: Ipv4Addr) -> Repr {
    let mut r = base(q, MessageType::LeaseUnknown, server_identifier);
    r.ciaddr = ciaddr;
    r
}

/// DHCPLEASEUNASSIGNED.
pub fn unassigned(q: &Query, ciaddr: Ipv4Addr, server_identifier: Ipv4Addr) -> Repr {
    let mut r = base(q, MessageType::LeaseUnassigned, server_identifier);
    r.ciaddr = ciaddr;
    r
}

/// Legacy DHCPNAK.
pub fn legacy_nak(q: &Query, server_identifier: Ipv4Addr) -> Repr {
    let mut r = base(q, MessageType::Nak, server_identifier);
    r.ciaddr = q.ciaddr;
    r
}

/// The configured subnet of a binding.
fn subnet_of<'s>(subnets: &'s [Subnet], b: &Binding4) -> Option<&'s Subnet> {
    subnet_index(subnets, b).and_then(|i| subnets.get(i))
}

/// The index of [`subnet_of`] in `subnets`.
fn subnet_index(subnets: &[Subnet], b: &Binding4) -> Option<usize> {
    subnets
        .iter()
        .position(|s| s.prefix == b.subnet)
        .or_else(|| subnets.iter().position(|s| s.prefix.contains(&b.address)))
}

/// The client options of DHCPLEASEACTIVE replies to one query, kept per subnet so that a bulk
/// stream builds them once per subnet rather than once per binding.
///
/// Without a reservation, what [`client_options`] gives (then filtered by the query's Parameter
/// Request List and `non-sensitive-options`) depends only on the binding's subnet: the options
/// that depend on the binding itself (lease times, client-id, option 82) are computed for each
/// reply and never taken from this set. A binding in a subnet that has reservations is not
/// cached. At most one entry per configured subnet (and one for "no subnet"). Valid for one
/// query (its Parameter Request List) and one [`Context`].
#[derive(Debug, Default)]
pub struct OptionCache {
    entries: Vec<(Option<usize>, Vec<DhcpOption>)>,
}

/// [`OptionCache`]s of UDP queries, one per Parameter Request List seen (a PRL and the
/// responder's fixed [`Context`] are all an [`OptionCache`] depends on), so that the client
/// option set is assembled once per subnet and PRL rather than for every query. A receive thread
/// keeps one for as long as it runs. At most [`PrlCaches::MAX`] lists are kept: a requester that
/// sends ever new lists (or a flood of them) costs an assembly per query, as without a cache,
/// and no memory beyond that bound.
#[derive(Debug, Default)]
pub struct PrlCaches {
    /// In the order the lists were first seen; when full, the oldest leaves.
    entries: Vec<(Option<Vec<u8>>, OptionCache)>,
}

impl PrlCaches {
    /// Most Parameter Request Lists kept at once.
    pub const MAX: usize = 8;

    /// The cache for replies to queries with this Parameter Request List.
    pub fn for_prl(&mut self, prl: Option<&[u8]>) -> &mut OptionCache {
        let found = self.entries.iter().rposition(|(p, _)| p.as_deref() == prl);
        let at = match found {
            Some(at) => at,
            None => {
                if self.entries.len() >= Self::MAX {
                    self.entries.remove(0);
                }
                self.entries
                    .push((prl.map(<[u8]>::to_vec), OptionCache::default()));
                self.entries.len() - 1
            }
        };
        &mut self.entries[at].1
    }

    /// How many lists are kept.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no list is kept.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// The options the client of `b` is given in a DHCPACK to its DHCPREQUEST: the DHCP engine's
/// assembly, run on a DHCPREQUEST rebuilt from the binding (its hardware address, client-id
/// and saved option 82), with `prl` as its Parameter Request List (for the order).
pub fn client_options(ctx: &Context<'_>, b: &Binding4, prl: Option<&[u8]>) -> Vec<DhcpOption> {
    let subnet = subnet_of(ctx.subnets, b);
    let identity = Identity {
        client_id: b.client_id().map(<[u8]>::to_vec),
        hw: b.hw,
    };
    let reservation = subnet.and_then(|s| identity.reservation(s));
    let tables: [&[ConfiguredOption]; 3] = [
        reservation.map_or(&[][..], |r| &r.options[..]),
        subnet.map_or(&[][..], |s| &s.options[..]),
        ctx.global_options,
    ];
    let mut request = Repr {
        op: BOOTREQUEST,
        htype: b.hw.htype(),
        hlen: b.hw.hlen(),
        ciaddr: b.address,
        options: vec![DhcpOption::MessageType(MessageType::Request)],
        ..Repr::default()
    };
    request.chaddr[..b.hw.chaddr().len()].copy_from_slice(b.hw.chaddr());
    if let Some(prl) = prl {
        request
            .options
            .push(DhcpOption::ParameterRequestList(prl.to_vec()));
    }
    if let Some(id) = b.client_id() {
        request
            .options
            .push(DhcpOption::ClientIdentifier(id.to_vec()));
    }
    if let Some(rai) = b.relay_agent_information() {
        request.options.push(DhcpOption::RelayAgentInformation(
            RelayAgentInformation::new_unchecked(rai.to_vec()),
        ));
    }
    let content = Content {
        kind: MessageType::Ack,
        yiaddr: b.address,
        ciaddr: b.address,
        server_identifier: ctx.server_identifier,
        lease: subnet.map(|s| Lease { timers: s.timers }),
        subnet: subnet.map(|s| s.prefix),
        configured: &tables,
        message: None,
    };
    dhcp_reply::build(&request, &content).options
}

fn secs(from: Timestamp, to: Timestamp) -> u32 {
    u32::try_from(to.saturating_sub(from)).unwrap_or(u32::MAX)
}

/// Which flavour of lease reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flavour {
    Rfc4388,
    Legacy,
}

/// Codes this module computes itself rather than taking from the client's option set.
fn computed(code: u8) -> bool {
    required(code) || code == code::ASSOCIATED_IP
}

/// The binding a lease reply is about, and how it stands.
struct About<'a> {
    b: &'a Binding4,
    associated: &'a [Ipv4Addr],
    active: bool,
    now: Timestamp,
}

/// Appends the lease options of `about.b` to `r` (see the module docs).
fn lease_options(
    r: &mut Repr,
    q: &Query,
    ctx: &Context<'_>,
    about: About<'_>,
    flavour: Flavour,
    cache: Option<&mut OptionCache>,
) {
    let About {
        b,
        associated,
        active,
        now,
    } = about;
    let prl = q.prl.as_deref();
    let requested = |c: u8| prl.is_some_and(|p| p.contains(&c));
    // Without a PRL an RFC 4388 reply carries what a DHCPREQUEST gets; a legacy one only what
    // was asked for.
    let wants = |c: u8| match (prl, flavour) {
        (Some(p), _) => p.contains(&c),
        (None, Flavour::Rfc4388) => true,
        (None, Flavour::Legacy) => false,
    };
    let sensitive_ok = |c: u8| ctx.non_sensitive.contains(&c);
    if active {
        if wants(code::IP_ADDRESS_LEASE_TIME) {
            r.options
                .push(DhcpOption::IpAddressLeaseTime(secs(now, b.end)));
        }
        if wants(code::RENEWAL_TIME_VALUE) && b.t1 > now {
            r.options.push(DhcpOption::RenewalTime(secs(now, b.t1)));
        }
        if wants(code::REBINDING_TIME_VALUE) && b.t2 > now {
            r.options.push(DhcpOption::RebindingTime(secs(now, b.t2)));
        }
    }
    if flavour == Flavour::Rfc4388 {
        r.options
            .push(DhcpOption::ClientLastTransactionTime(secs(b.cltt, now)));
        if !associated.is_empty() {
            r.options
                .push(DhcpOption::AssociatedIp(associated.to_vec()));
        }
    }
    if active {
        // Requested, or without a PRL: the DHCPACK to the client's DHCPREQUEST carried it
        // (RFC 6842), so "what a DHCPREQUEST would have been given" (§6.2) includes it.
        if wants(code::CLIENT_IDENTIFIER) {
            if let Some(id) = b.client_id() {
                r.options.push(DhcpOption::ClientIdentifier(id.to_vec()));
            }
        }
        let takes = |c: u8| !computed(c) && wants(c) && sensitive_ok(c);
        let keep = |o: &DhcpOption| takes(o.code());
        // The client's option set is assembled only when the reply can take one of them: a
        // requestor asking for the §6.4.2 options alone (the usual PRL) costs no assembly.
        let any = match (prl, flavour) {
            (Some(p), _) => p.iter().any(|&c| takes(c)),
            (None, Flavour::Rfc4388) => true,
            (None, Flavour::Legacy) => false,
        };
        let subnet = subnet_index(ctx.subnets, b);
        let cacheable = subnet
            .and_then(|i| ctx.subnets.get(i))
            .is_none_or(|s| s.reservations.is_empty());
        match cache {
            _ if !any => {}
            Some(cache) if cacheable => {
                let at = match cache.entries.iter().position(|(k, _)| *k == subnet) {
                    Some(at) => at,
                    None => {
                        let mut kept = client_options(ctx, b, prl);
                        kept.retain(keep);
                        cache.entries.push((subnet, kept));
                        cache.entries.len() - 1
                    }
                };
                if let Some((_, kept)) = cache.entries.get(at) {
                    r.options.extend(kept.iter().cloned());
                }
            }
            _ => {
                for o in client_options(ctx, b, prl) {
                    if keep(&o) {
                        r.options.push(o);
                    }
                }
            }
        }
        let saved = [
            (code::VENDOR_CLASS_IDENTIFIER, b.vendor_class_id()),
            (code::HOST_NAME, b.hostname()),
        ];
        for (c, value) in saved {
            if let Some(v) = value {
                if requested(c) && sensitive_ok(c) && r.option(c).is_none() {
                    r.options.push(DhcpOption::Other {
                        code: c,
                        data: v.to_vec(),
                    });
                }
            }
        }
    }
    if wants(code::RELAY_AGENT_INFORMATION) {
        if let Some(rai) = b.relay_agent_information() {
            r.options.push(DhcpOption::RelayAgentInformation(
                RelayAgentInformation::new_unchecked(rai.to_vec()),
            ));
        }
    }
}

/// DHCPLEASEACTIVE about `b` (active at `now`).
pub fn active(
    q: &Query,
    ctx: &Context<'_>,
    b: &Binding4,
    associated: &[Ipv4Addr],
    now: Timestamp,
) -> Repr {
    active_cached(q, ctx, b, associated, now, None)
}

/// [`active`], taking the client options from `cache` when it can (see [`OptionCache`]):
/// the same reply.
pub fn active_cached(
    q: &Query,
    ctx: &Context<'_>,
    b: &Binding4,
    associated: &[Ipv4Addr],
    now: Timestamp,
    cache: Option<&mut OptionCache>,
) -> Repr {
    let mut r = base(q, MessageType::LeaseActive, ctx.server_identifier);
    r.ciaddr = b.address;
    set_owner(&mut r, b);
    let about = About {
        b,
        associated,
        active: true,
        now,
    };
    lease_options(&mut r, q, ctx, about, Flavour::Rfc4388, cache);
    r
}

/// Legacy DHCPACK about `address`; `b` is its binding (any state), if any.
pub fn legacy_ack(
    q: &Query,
    ctx: &Context<'_>,
    address: Ipv4Addr,
    b: Option<&Binding4>,
    now: Timestamp,
) -> Repr {
    let mut r = base(q, MessageType::Ack, ctx.server_identifier);
    r.ciaddr = address;
    r.htype = 0;
    r.hlen = 0;
    r.chaddr = [0; 16];
    if let Some(b) = b {
        set_owner(&mut r, b);
        let about = About {
            b,
            associated: &[],
            active: b.is_active_at(now),
            now,
        };
        lease_options(&mut r, q, ctx, about, Flavour::Legacy, None);
    }
    r
}

fn set_owner(r: &mut Repr, b: &Binding4) {
    r.htype = b.hw.htype();
    r.hlen = b.hw.hlen();
    r.chaddr = [0; 16];
    r.chaddr[..b.hw.chaddr().len()].copy_from_slice(b.hw.chaddr());
}

/// IPv4 and UDP headers, which a Maximum DHCP Message Size counts (RFC 2132 §9.10).
const IP_UDP_HEADERS: usize = 28;

/// The smallest message every DHCP participant accepts (RFC 2131 §2), the size used when the
/// query has no (or a smaller) Maximum DHCP Message Size (option 57).
pub const MIN_MESSAGE_SIZE: u16 = 576;

/// Octets of DHCP message (from `op` to the end option) a reply to a query with this
/// Maximum DHCP Message Size may have.
pub fn max_len(max_message_size: Option<u16>) -> usize {
    usize::from(
        max_message_size
            .unwrap_or(MIN_MESSAGE_SIZE)
            .max(MIN_MESSAGE_SIZE),
    ) - IP_UDP_HEADERS
}

/// The most associated addresses a reply of [`max_len`] could hold: the options field and the
/// `file` and `sname` fields (option overload), four octets each, before any other option.
/// What the lookup collects at most; [`fit`] cuts the list to what really fits.
pub fn associated_bound(max_message_size: Option<u16>) -> usize {
    (max_len(max_message_size) - HEADER_LEN + 128 + 64) / 4
}

/// How [`fit`] encoded a reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fitted {
    /// As built.
    Whole(Vec<u8>),
    /// With fewer associated addresses, or without the client's configured options.
    Truncated(Vec<u8>),
    /// Does not fit, even with neither: not sent.
    TooLarge,
}

/// Codes a DHCPLEASEACTIVE keeps when it is cut to fit: what RFC 4388 §6.4.2 itself requires
/// (and the legacy reply's lease times and option 82), not associated-ip.
fn required(code: u8) -> bool {
    matches!(
        code,
        code::DHCP_MESSAGE_TYPE
            | code::SERVER_IDENTIFIER
            | code::IP_ADDRESS_LEASE_TIME
            | code::RENEWAL_TIME_VALUE
            | code::REBINDING_TIME_VALUE
            | code::CLIENT_IDENTIFIER
            | code::RELAY_AGENT_INFORMATION
            | code::CLIENT_LAST_TRANSACTION_TIME
    )
}

/// Encodes `r` in at most `max_len` octets, with option overload when that helps; never
/// longer (docs/protocol.md decision 15). When it does not fit: the associated-ip list is cut
/// to the most recent addresses that fit (left out when none does); if even that does not fit,
/// the options besides the required ones (the client's configured options, 60, 12) are left
/// out and the list is cut again to what then fits; when even that does not fit,
/// [`Fitted::TooLarge`].
pub fn fit(r: &mut Repr, max_len: usize) -> Fitted {
    if let Ok(v) = r.to_vec_with_max(max_len) {
        return Fitted::Whole(v);
    }
    let at = r
        .options
        .iter()
        .position(|o| matches!(o, DhcpOption::AssociatedIp(_)));
    let all = match at.map(|at| r.options.remove(at)) {
        Some(DhcpOption::AssociatedIp(all)) => all,
        _ => Vec::new(),
    };
    let at = at.unwrap_or(r.options.len());
    if let Some(v) = with_associated(r, at, &all, max_len) {
        return Fitted::Truncated(v);
    }
    r.options.retain(|o| required(o.code()));
    let at = at.min(r.options.len());
    match with_associated(r, at, &all, max_len) {
        Some(v) => Fitted::Truncated(v),
        None => Fitted::TooLarge,
    }
}

/// `r` encoded with the longest prefix of `all` (most recent first) as associated-ip, inserted
/// at `at`, that fits `max_len` (none: the option left out), found by bisection (fewer
/// addresses are never longer); the option is left in `r` as sent. `None` when even no address
/// does not fit.
fn with_associated(r: &mut Repr, at: usize, all: &[Ipv4Addr], max_len: usize) -> Option<Vec<u8>> {
    let encode = |r: &mut Repr, n: usize| -> Option<Vec<u8>> {
        if n == 0 {
            return r.to_vec_with_max(max_len).ok();
        }
        r.options
            .insert(at, DhcpOption::AssociatedIp(all[..n].to_vec()));
        let out = r.to_vec_with_max(max_len).ok();
        r.options.remove(at);
        out
    };
    let mut best = None;
    let (mut lo, mut hi) = (0usize, all.len());
    while lo <= hi {
        let mid = lo + (hi - lo) / 2;
        match encode(r, mid) {
            Some(v) => {
                best = Some((mid, v));
                lo = mid + 1;
            }
            None if mid == 0 => break,
            None => hi = mid - 1,
        }
    }
    let (n, v) = best?;
    if n > 0 {
        r.options
            .insert(at, DhcpOption::AssociatedIp(all[..n].to_vec()));
    }
    Some(v)
}
