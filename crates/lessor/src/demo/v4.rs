//! The DHCPv4 part of `lessor demo`: clients behind a relay agent (option 82: circuit-id,
//! remote-id, link-selection, relay-id) get leases through DORA (`lessor perf dora`); then
//! leasequery by IP, MAC and client-id (RFC 4388) and a bulk leasequery by relay-id (RFC 6926).

use std::net::{IpAddr, Ipv4Addr};

use super::{command, words, Loopback, Steps};
use crate::Command;

/// The clients' subnet, named by the relay agent in link-selection (giaddr 127.0.0.1 is not on it).
const SUBNET: &str = "198.51.100.0/24";
const POOL: &str = "198.51.100.10-198.51.100.250";
pub(super) const LINK: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 1);
/// What the server logs once its DHCPv4 bulk leasequery listener is open (its last one when
/// there is no DHCPv6).
pub(super) const READY: &str = "bulk leasequery: listening";
const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// The relay agent's socket (the server sends its replies to giaddr:relay-port, here) and the
/// server's ports.
pub(super) struct Setup(Loopback);

impl Setup {
    /// An error (the reason) when the loopback address cannot be bound.
    pub(super) fn open() -> Result<Setup, String> {
        Loopback::open(LOOPBACK).map(Setup)
    }

    pub(super) fn describe(&self) -> String {
        self.0.describe("DHCPv4")
    }

    /// Loopback only, relays from 127.0.0.0/8, leasequery and bulk leasequery for 127.0.0.0/8.
    pub(super) fn config_text(&self) -> String {
        let (port, relay_port, bulk_port) = (self.0.port, self.0.relay_port, self.0.bulk_port);
        format!(
            r#"
[dhcp4]
server-identifier = "127.0.0.1"
listen = ["127.0.0.1"]
port = {port}
relay-port = {relay_port}
relays = ["127.0.0.0/8"]
lease-time = "1h"

[[dhcp4.subnet]]
prefix = "{SUBNET}"
pools = ["{POOL}"]
options = {{ routers = ["{LINK}"] }}

[leasequery4]
requesters = ["127.0.0.0/8"]
reply-to-source-port = ["127.0.0.0/8"]

[leasequery4.bulk]
listen = ["127.0.0.1"]
port = {bulk_port}
"#
        )
    }

    /// DORA for `n` clients, the three leasequeries, the bulk leasequery.
    pub(super) fn run(self, steps: &mut Steps, n: u32) -> Result<(), String> {
        let (server, bulk_server) = (self.0.server(), self.0.bulk_server());
        steps.heading(&format!(
            "{n} clients get leases through a relay agent (giaddr 127.0.0.1) that adds option \
             82: circuit-id, remote-id (the MAC), link-selection (the clients' subnet) and \
             relay-id (sub-option 12, \"{}\")",
            String::from_utf8_lossy(lessor_perf::dora::DEFAULT_RELAY_ID)
        ));
        let Command::Perf {
            command: crate::perf::PerfCommand::Dora(dora),
        } = command(&words(&format!(
            "perf dora --server {server} --bind 127.0.0.1:{} --link-selection {LINK} \
             --client-id --clients {n}",
            self.0.relay_port
        )))?
        else {
            return Err("the perf dora command line did not parse as one".into());
        };
        let dora = crate::perf::dora_config(dora)?;
        let report = lessor_perf::dora::run_on(&dora, &self.0.relay)
            .map_err(|e| format!("perf dora: {e}"))?;
        print!("{}", report.to_text());
        drop(self.0.relay);
        if report.completed != u64::from(n) {
            return Err(format!(
                "only {} of {n} DORAs completed (see the report above)",
                report.completed
            ));
        }
        let Some((address, mac)) = report.acked.first() else {
            return Err("no client got a lease".into());
        };
        let mac = lessor_wire::hex::colon(mac);
        steps.check()?;

        steps.heading(
            "Leasequery (RFC 4388, UDP): an access concentrator that lost its state asks about \
             one client",
        );
        for (what, kind, value) in [
            ("By IP address (ciaddr):", "ip", address.to_string()),
            ("By MAC address (chaddr):", "mac", mac.clone()),
            (
                "By client identifier (option 61: type 1 and the MAC):",
                "client-id",
                format!("01:{mac}"),
            ),
        ] {
            println!("{what}");
            let Command::Query(query) =
                command(&words(&format!("query {kind} {value} --server {server}")))?
            else {
                return Err("the query command line did not parse as one".into());
            };
            if crate::query::query(&query)? != 0 {
                return Err(format!(
                    "the query by {kind} found no active lease for {value}"
                ));
            }
            steps.check()?;
        }

        steps.heading(
            "Bulk leasequery (RFC 6926, TCP): every binding behind one relay agent, by its relay-id",
        );
        let relay_id = String::from_utf8_lossy(lessor_perf::dora::DEFAULT_RELAY_ID).into_owned();
        let Command::Bulk(bulk) = command(&words(&format!(
            "bulk relay-id {relay_id} --server {bulk_server}"
        )))?
        else {
            return Err("the bulk command line did not parse as one".into());
        };
        let done = crate::bulk::bulk(&bulk)?;
        if done.code != 0 || done.bindings != u64::from(n) {
            return Err(format!(
                "the bulk query by relay-id listed {} of the {n} bindings",
                done.bindings
            ));
        }
        println!("{} bindings, all of them.", done.bindings);
        steps.check()
    }
}
