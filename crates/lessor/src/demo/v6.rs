//! The DHCPv6 part of `lessor demo`: clients behind a relay agent (RELAY-FORW with remote-id and
//! relay-id) get an address (IA_NA) and a delegated prefix (IA_PD) through SOLICIT / ADVERTISE /
//! REQUEST / REPLY (`lessor perf sarr`); then leasequery by address, by an address inside the
//! delegated prefix and by client-id (RFC 5007), and a bulk leasequery by relay-id (RFC 5460).
//! Everything on ::1: [`Setup::open`] fails on a machine without an IPv6 loopback, and the demo
//! then says so and skips this part.

use std::net::{IpAddr, Ipv6Addr};

use lessor_perf::sarr::client::{Identity, Lease};

use super::{command, words, Loopback, Steps};
use crate::Command;

/// The clients' link, named by the relay agent's link-address (it relays from ::1).
const LINK_PREFIX: &str = "2001:db8:1::/64";
const LINK_ADDRESS: &str = "2001:db8:1::1";
const POOL: &str = "2001:db8:1::1000-2001:db8:1::1fff";
/// Delegated /56s of a /48: 256 of them, more than the demo's most clients.
const PREFIX_POOL: &str = "2001:db8:100::/48";
const DELEGATED_LENGTH: u8 = 56;
/// The relay agent's DUID (DUID-LL of a locally administered MAC), sent as RELAY_ID (option 53).
const RELAY_ID: &str = "00:03:00:01:02:00:00:00:aa:01";
/// Enterprise number of the relay's remote-id (option 37; the value is the client's MAC):
/// 32473, the enterprise number RFC 5612 sets aside for documentation.
const REMOTE_ID_ENTERPRISE: u32 = 32473;
/// What the server logs once its DHCPv6 bulk leasequery listener, its last one, is open.
pub(super) const READY: &str = "DHCPv6 bulk leasequery: listening";
const LOOPBACK: IpAddr = IpAddr::V6(Ipv6Addr::LOCALHOST);

/// The relay agent's socket on ::1 and the server's ports there.
pub(super) struct Setup(Loopback);

impl Setup {
    /// An error (the reason) when the loopback address cannot be bound.
    pub(super) fn open() -> Result<Setup, String> {
        Loopback::open(LOOPBACK).map(Setup)
    }

    pub(super) fn describe(&self) -> String {
        self.0.describe("DHCPv6")
    }

    /// ::1 only, one link with an address pool and a prefix pool, leasequery and bulk
    /// leasequery for ::1. The server DUID is generated and kept in the store.
    pub(super) fn config_text(&self) -> String {
        let (port, bulk_port) = (self.0.port, self.0.bulk_port);
        format!(
            r#"
[dhcp6]
listen = ["::1"]
port = {port}

[[dhcp6.link]]
prefix = "{LINK_PREFIX}"
pools = ["{POOL}"]
prefix-pools = [{{ prefix = "{PREFIX_POOL}", delegated-length = {DELEGATED_LENGTH} }}]

[leasequery6]
requesters = ["::1/128"]

[leasequery6.bulk]
listen = ["::1"]
port = {bulk_port}
"#
        )
    }

    /// SARR for `n` clients, the three leasequeries, the bulk leasequery.
    pub(super) fn run(self, steps: &mut Steps, n: u32) -> Result<(), String> {
        let (server, bulk_server) = (self.0.server(), self.0.bulk_server());
        steps.heading(&format!(
            "DHCPv6: {n} clients each get an address (IA_NA) and a /{DELEGATED_LENGTH} prefix \
             (IA_PD) through a relay agent (link-address {LINK_ADDRESS}) whose RELAY-FORW \
             carries a remote-id (enterprise {REMOTE_ID_ENTERPRISE}, the client's MAC) and its \
             relay-id (DUID {RELAY_ID})"
        ));
        let Command::Perf {
            command: crate::perf::PerfCommand::Sarr(sarr),
        } = command(&words(&format!(
            "perf sarr --server {server} --bind [::1]:{} --link-address {LINK_ADDRESS} --ia both \
             --clients {n} --remote-id {REMOTE_ID_ENTERPRISE} --relay-id {RELAY_ID}",
            self.0.relay_port
        )))?
        else {
            return Err("the perf sarr command line did not parse as one".into());
        };
        let sarr = crate::perf::sarr_config(sarr)?;
        let report = lessor_perf::sarr::run_on(&sarr, &self.0.relay)
            .map_err(|e| format!("perf sarr: {e}"))?;
        print!("{}", report.to_text());
        drop(self.0.relay);
        if report.completed != u64::from(n) {
            return Err(format!(
                "only {} of {n} SARRs completed (see the report above)",
                report.completed
            ));
        }
        let Some((mac, leases)) = report.bound.first() else {
            return Err("no client got a binding".into());
        };
        let address = leases.iter().find_map(|l| match l {
            Lease::Address(a) => Some(*a),
            Lease::Prefix(..) => None,
        });
        let prefix = leases.iter().find_map(|l| match l {
            Lease::Prefix(p, len) => Some((*p, *len)),
            Lease::Address(_) => None,
        });
        let (Some(address), Some((prefix, length))) = (address, prefix) else {
            return Err("the first client bound got no address and prefix".into());
        };
        // The prefix's first address after the Subnet-Router anycast one: inside it.
        let inside = Ipv6Addr::from(u128::from(prefix) | 1);
        let duid = Identity::duid_of(mac);
        steps.check()?;

        steps.heading(
            "DHCPv6 leasequery (RFC 5007, UDP): a requestor asks about one client; the answer \
             holds all of the client's bindings on the link",
        );
        for (what, kind, value) in [
            (
                "By address (QUERY_BY_ADDRESS, the IA_NA address):",
                "ip",
                address.to_string(),
            ),
            (
                &format!("By an address inside the delegated prefix {prefix}/{length}:"),
                "ip",
                inside.to_string(),
            ),
            (
                "By client-id (QUERY_BY_CLIENTID, the client's DUID-LL):",
                "client-id",
                duid.clone(),
            ),
        ] {
            println!("{what}");
            let Command::Query(query) = command(&words(&format!(
                "query {kind} {value} --server {server} --bind [::1]:0"
            )))?
            else {
                return Err("the query command line did not parse as one".into());
            };
            if crate::query::query(&query)? != 0 {
                return Err(format!("the query by {kind} found no binding for {value}"));
            }
            steps.check()?;
        }

        steps.heading(
            "DHCPv6 bulk leasequery (RFC 5460, TCP): every binding behind one relay agent, by \
             its relay-id",
        );
        let Command::Bulk(bulk) = command(&words(&format!(
            "bulk relay-id {RELAY_ID} --server {bulk_server}"
        )))?
        else {
            return Err("the bulk command line did not parse as one".into());
        };
        let done = crate::bulk::bulk(&bulk)?;
        let want = report.addresses + report.prefixes;
        if done.code != 0 || done.bindings != want {
            return Err(format!(
                "the bulk query by relay-id listed {} of the {want} bindings",
                done.bindings
            ));
        }
        println!(
            "{} bindings ({} addresses, {} prefixes), all of them.",
            done.bindings, report.addresses, report.prefixes
        );
        steps.check()
    }
}
