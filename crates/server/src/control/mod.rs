//! The control API's engine, sans-IO: a request ([`request`]) in, a JSON answer out, carried out
//! against the running store and services. The transports (the Unix control socket, the HTTP
//! API: `crate::serve::control`) only move lines and bodies; what the shell itself must do
//! (reload, stop) goes through [`Shell`]. Every answer is an object with `"ok"`: `true` with
//! the result, or `false` with `"error"` (docs/operator-guide.md, "Control").
//!
//! - lease-get and lease-list read the live tables (what the engines wrote, as `lessor leases`
//!   shows them), lease-list a page at a time, at most [`request::MAX_PAGE`] bindings.
//! - lease-delete goes through the DHCP engine when one runs (its outstanding offer of the
//!   address is forgotten and the address is free again, see
//!   [`crate::dhcp4::Engine4::delete`]), else straight to the store, and answers once the store
//!   has made the removal durable.
//! - leasequery answers as the responders would, from the durable view and with their lookup
//!   code: [`crate::leasequery4::answer`], [`crate::leasequery6::answer`], and for DHCPv6
//!   relay-id, remote-id and link the bindings bulk leasequery would stream
//!   ([`crate::bulk6::stream::Stream`]); no access list or rate limit applies (the control API
//!   is the operator's own).

pub mod json;
pub mod request;
#[cfg(test)]
mod tests;

pub use request::{parse, Family, LeaseKey, ListFilter, Query, Request, RequestError};

use crate::config::{self, Config, Link6, Subnet};
use crate::dhcp4::Engine4;
use crate::dhcp6::Engine6;
use ipnet::IpNet;
use lessor_store::{
    Binding4, Binding6, Completion, HwAddr, Key6, State4, State6, Store, StoreError, Timestamp,
};
use serde_json::{json, Map, Value};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

/// What the shell does for the control API.
pub trait Shell: Send + Sync {
    /// Applies the config file again; the answer's text on success, the reason on refusal.
    fn reload(&self) -> Result<String, String>;
    /// Stops the server as SIGTERM does (after the answer is sent).
    fn shutdown(&self);
}

/// A set of counters as the control API reads them: `(name, value)` for each counter.
pub type ReportFn = Box<dyn Fn(&mut dyn FnMut(&str, u64)) + Send + Sync>;

/// How long lease-delete waits for the store to make the removal durable.
pub const DELETE_TIMEOUT: Duration = Duration::from_secs(10);

/// Most bindings lease-list looks at for one page: a filter that matches little ends its page
/// early (with `next`) rather than walking the whole table in one request.
pub const MAX_EXAMINED: usize = 65_536;

/// The control engine of one running server.
pub struct Control {
    store: Arc<Store>,
    /// What leasequery needs of the config, replaced by a reload ([`Control::reconfigure`]).
    layout: RwLock<Arc<Layout>>,
    /// The file the server runs on (config-test without a path).
    config_path: Option<std::path::PathBuf>,
    engine4: Option<Arc<Mutex<Engine4>>>,
    engine6: Option<Arc<Mutex<Engine6>>>,
    reports: Vec<(String, ReportFn)>,
    shell: Arc<dyn Shell>,
}

/// The part of the config leasequery answers with.
#[derive(Debug)]
struct Layout {
    /// `[[dhcp4.subnet]]`: which addresses the server manages.
    subnets: Vec<Subnet>,
    /// `[[dhcp6.link]]`.
    links: Vec<Link6>,
}

impl Layout {
    fn of(config: &Config) -> Layout {
        Layout {
            subnets: config
                .dhcp4
                .as_ref()
                .map(|d| d.subnets.clone())
                .unwrap_or_default(),
            links: config
                .dhcp6
                .as_ref()
                .map(|d| d.links.clone())
                .unwrap_or_default(),
        }
    }
}

impl std::fmt::Debug for Control {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Control")
            .field("reports", &self.reports.len())
            .finish_non_exhaustive()
    }
}

/// The answer to a request that failed.
pub fn refusal(why: impl std::fmt::Display) -> Value {
    json!({ "ok": false, "error": why.to_string() })
}

fn ok(mut fields: Map<String, Value>) -> Value {
    let mut m = Map::new();
    m.insert("ok".into(), Value::Bool(true));
    m.append(&mut fields);
    Value::Object(m)
}

impl Control {
    /// The engine for `config` over `store`, the engines `lease-delete` must go through, and
    /// `shell` for reload and shutdown.
    pub fn new(
        config: &Config,
        store: Arc<Store>,
        engine4: Option<Arc<Mutex<Engine4>>>,
        engine6: Option<Arc<Mutex<Engine6>>>,
        shell: Arc<dyn Shell>,
    ) -> Control {
        Control {
            store,
            layout: RwLock::new(Arc::new(Layout::of(config))),
            config_path: config.path.clone(),
            engine4,
            engine6,
            reports: Vec::new(),
            shell,
        }
    }

    /// Takes a reloaded config's subnets and links (what leasequery calls managed).
    pub fn reconfigure(&self, config: &Config) {
        *self.layout.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(Layout::of(config));
    }

    fn layout(&self) -> Arc<Layout> {
        Arc::clone(&self.layout.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// Adds a set of counters statistics reports under `name`.
    pub fn add_report(&mut self, name: &str, report: ReportFn) {
        self.reports.push((name.to_owned(), report));
    }

    /// The answer to one request's text at `now` (wall clock, seconds).
    pub fn answer(&self, text: &[u8], now: Timestamp) -> Value {
        match request::parse(text) {
            Ok(r) => self.execute(&r, now),
            Err(e) => refusal(e),
        }
    }

    /// Carries out `request` at `now`.
    pub fn execute(&self, request: &Request, now: Timestamp) -> Value {
        let result = match request {
            Request::LeaseGet(key, family) => self.lease_get(key, *family),
            Request::LeaseList(filter) => self.lease_list(filter),
            Request::LeaseDelete(net) => self.lease_delete(*net),
            Request::Leasequery(q) => Ok(self.leasequery(q, now)),
            Request::ConfigTest(path) => self.config_test(path.as_deref()),
            Request::Reload => self
                .shell
                .reload()
                .map(|said| ok_map([("reload", json!(said))]))
                .map_err(|e| format!("reload: {e}")),
            Request::Shutdown => {
                self.shell.shutdown();
                Ok(ok_map([("shutdown", json!("stopping"))]))
            }
            Request::Statistics => Ok(self.statistics()),
        };
        match result {
            Ok(fields) => ok(fields),
            Err(e) => refusal(e),
        }
    }

    fn lease_get(
        &self,
        key: &LeaseKey,
        family: Option<Family>,
    ) -> Result<Map<String, Value>, String> {
        let v4 = family != Some(Family::V6);
        let v6 = family != Some(Family::V4);
        let mut leases: Vec<Value> = Vec::new();
        let mut truncated = false;
        let s4 = self.store.v4().snapshot();
        let s6 = self.store.v6().snapshot();
        let mut push4 = |bs: &mut dyn Iterator<Item = Arc<Binding4>>| {
            for b in bs {
                if leases.len() == request::MAX_PAGE {
                    truncated = true;
                    break;
                }
                leases.push(json::binding4(&b));
            }
        };
        match key {
            LeaseKey::Address(IpAddr::V4(a)) => push4(&mut s4.get(*a).cloned().into_iter()),
            LeaseKey::Mac(m) if v4 => {
                // Any hardware type: an Ethernet MAC is what an operator has in hand.
                let hw = HwAddr::new(1, m).map_err(|_| "mac: longer than 16 octets")?;
                let mut found = s4.by_mac(&hw);
                if found.is_empty() {
                    found = s4
                        .iter()
                        .filter(|b| b.hw.chaddr() == m.as_slice())
                        .take(request::MAX_PAGE + 1)
                        .cloned()
                        .collect();
                }
                push4(&mut found.into_iter())
            }
            LeaseKey::ClientId(c) if v4 => push4(&mut s4.by_client_id(c).into_iter()),
            LeaseKey::RelayId(r) if v4 => push4(
                &mut s4
                    .by_relay_id(r)
                    .next_batch(request::MAX_PAGE + 1)
                    .into_iter(),
            ),
            LeaseKey::RemoteId(r) if v4 => push4(
                &mut s4
                    .by_remote_id(r)
                    .next_batch(request::MAX_PAGE + 1)
                    .into_iter(),
            ),
            _ => {}
        }
        let mut push6 = |bs: Vec<Arc<Binding6>>| {
            for b in bs {
                if leases.len() == request::MAX_PAGE {
                    truncated = true;
                    break;
                }
                leases.push(json::binding6(&b));
            }
        };
        match key {
            LeaseKey::Address(IpAddr::V6(a)) => {
                push6(s6.containing(*a).cloned().into_iter().collect())
            }
            LeaseKey::Prefix(p) => push6(
                s6.get(Key6::new(p.network(), p.prefix_len()))
                    .cloned()
                    .into_iter()
                    .collect(),
            ),
            LeaseKey::Duid(d) if v6 => push6(s6.by_duid(d)),
            LeaseKey::RelayId(r) if v6 => {
                push6(s6.by_relay_id(r).next_batch(request::MAX_PAGE + 1))
            }
            LeaseKey::RemoteId(r) if v6 => {
                push6(s6.by_remote_id(r).next_batch(request::MAX_PAGE + 1))
            }
            _ => {}
        }
        Ok(ok_map([
            ("leases", Value::Array(leases)),
            ("truncated", json!(truncated)),
        ]))
    }

    fn lease_list(&self, f: &ListFilter) -> Result<Map<String, Value>, String> {
        let state4 = f.state.as_deref().map(State4::from_name);
        let state6 = f.state.as_deref().map(State6::from_name);
        if let (Some(None), Some(None)) = (state4, state6) {
            return Err(format!(
                "state: no such state {:?}",
                f.state.as_deref().unwrap_or("")
            ));
        }
        // The cursor: `v4:ADDRESS` or `v6:KEY` (where the last page ended).
        let (mut in_v6, after) = match f.cursor.as_deref() {
            None => (f.family == Some(Family::V6), None),
            Some(c) => match c.split_once(':') {
                Some(("v4", rest)) => (false, Some(rest.to_owned())),
                Some(("v6", rest)) => (true, Some(rest.to_owned())),
                _ => return Err(format!("cursor: not a cursor this server gave: {c:?}")),
            },
        };
        let mut leases = Vec::new();
        let mut examined = 0;
        let mut next = None;
        if !in_v6 && f.family != Some(Family::V6) {
            let from = match &after {
                Some(a) => Some(
                    a.parse::<Ipv4Addr>()
                        .map_err(|_| format!("cursor: not a cursor this server gave: {a:?}"))?,
                ),
                None => None,
            };
            let s4 = self.store.v4().snapshot();
            let start = from.unwrap_or(Ipv4Addr::UNSPECIFIED);
            let wanted_state = state4.flatten();
            for b in s4.range_from(start).filter(|b| Some(b.address) != from) {
                examined += 1;
                let keep = (f.state.is_none() || Some(b.state) == wanted_state)
                    && f.within.is_none_or(|n| n.contains(&IpAddr::V4(b.address)));
                if keep {
                    leases.push(json::binding4(b));
                }
                if leases.len() == f.limit || examined == MAX_EXAMINED {
                    next = Some(format!("v4:{}", b.address));
                    break;
                }
            }
            if next.is_none() && f.family.is_none() {
                // Go on with DHCPv6 from its start.
                in_v6 = true;
            }
        }
        if next.is_none() && in_v6 && f.family != Some(Family::V4) && leases.len() < f.limit {
            let from = match (
                &after,
                f.cursor.as_deref().is_some_and(|c| c.starts_with("v6:")),
            ) {
                (Some(a), true) => Some(parse_key6(a)?),
                _ => None,
            };
            let s6 = self.store.v6().snapshot();
            let wanted_state = state6.flatten();
            for b in s6
                .range_from(from.unwrap_or(Key6::MIN))
                .filter(|b| Some(b.key6()) != from)
            {
                examined += 1;
                let keep = (f.state.is_none() || Some(b.state) == wanted_state)
                    && f.within.is_none_or(|n| match n {
                        IpNet::V6(n) => n.contains(&b.prefix()),
                        IpNet::V4(_) => false,
                    });
                if keep {
                    leases.push(json::binding6(b));
                }
                if leases.len() == f.limit || examined >= MAX_EXAMINED {
                    next = Some(format!("v6:{}", b.key6()));
                    break;
                }
            }
        }
        Ok(ok_map([
            ("leases", Value::Array(leases)),
            ("next", json!(next)),
        ]))
    }

    fn lease_delete(&self, net: IpNet) -> Result<Map<String, Value>, String> {
        let (done, ticket) = Completion::ticket();
        let removed = match net {
            IpNet::V4(n) if n.prefix_len() == 32 => {
                let a = n.addr();
                let gone = match &self.engine4 {
                    Some(e) => e.lock().unwrap_or_else(|p| p.into_inner()).delete(a, done),
                    None => self.store.v4().delete(a, done),
                };
                gone.map(|b| json::binding4(&b))
            }
            IpNet::V4(_) => return Err("address: one IPv4 address, not a prefix".into()),
            IpNet::V6(n) => {
                // An address (its binding) or a delegated prefix (exactly).
                let key = Key6::new(n.network(), n.prefix_len());
                let gone = match &self.engine6 {
                    Some(e) => e
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .delete(key, done),
                    None => self.store.v6().delete(key, done),
                };
                gone.map(|b| json::binding6(&b))
            }
        };
        let Some(removed) = removed else {
            return Err(format!("no binding at {net}"));
        };
        match ticket.wait_timeout(DELETE_TIMEOUT) {
            Some(Ok(())) => Ok(ok_map([("deleted", removed)])),
            Some(Err(e)) => Err(durability(e)),
            None => Err(format!(
                "the store did not confirm the deletion within {DELETE_TIMEOUT:?}"
            )),
        }
    }

    fn leasequery(&self, q: &Query, now: Timestamp) -> Map<String, Value> {
        match q {
            Query::V4(key) => {
                let layout = self.layout();
                let snapshot = self.store.v4().durable_snapshot();
                let (answer, _) = crate::leasequery4::answer::answer(
                    &snapshot,
                    key,
                    now,
                    crate::leasequery4::MAX_ASSOCIATED,
                    |a| crate::leasequery4::manages(&layout.subnets, a),
                );
                answer4(&answer)
            }
            Query::V6(key, link_address) => self.leasequery6(key, *link_address, now),
        }
    }

    fn leasequery6(
        &self,
        key: &crate::bulk6::query::Key,
        link_address: std::net::Ipv6Addr,
        now: Timestamp,
    ) -> Map<String, Value> {
        use crate::bulk6::query::Key as K;
        use crate::leasequery6::answer::{self, Answer};
        use crate::leasequery6::query::{Parsed, Target};
        let layout = self.layout();
        let snapshot = self.store.v6().durable_snapshot();
        let link =
            (!link_address.is_unspecified()).then(|| answer::link_of(&layout.links, link_address));
        let target = match key {
            K::Address(a) => Some(Target::Address(*a)),
            K::ClientId(d) => Some(Target::ClientId(d.clone())),
            _ => None,
        };
        if let Some(target) = target {
            // RFC 5007 over UDP: the responder's own lookup.
            let parsed = Parsed {
                target,
                link_address,
                oro: Vec::new(),
            };
            let (found, _) = answer::answer(&snapshot, &layout.links, &parsed, now);
            return match found {
                Answer::Client { link, bindings } => ok_map([
                    ("family", json!("v6")),
                    ("answer", json!("client")),
                    ("link", json!(layout.links[link].prefix.to_string())),
                    (
                        "bindings",
                        Value::Array(bindings.iter().map(|b| json::binding6(b)).collect()),
                    ),
                ]),
                Answer::Links(links) => ok_map([
                    ("family", json!("v6")),
                    ("answer", json!("links")),
                    (
                        "links",
                        json!(links.iter().map(|l| l.to_string()).collect::<Vec<_>>()),
                    ),
                ]),
                Answer::Nothing => ok_map([("family", json!("v6")), ("answer", json!("nothing"))]),
                Answer::NotConfigured => {
                    ok_map([("family", json!("v6")), ("answer", json!("not-configured"))])
                }
            };
        }
        // RFC 5460's query types: the bindings a bulk query would stream.
        let link = match link {
            Some(None) => {
                return ok_map([("family", json!("v6")), ("answer", json!("not-configured"))])
            }
            Some(Some(i)) => Some(layout.links[i].prefix),
            None => None,
        };
        let query = crate::bulk6::query::Query {
            transaction_id: 0,
            client_id: lessor_wire::v6::Duid::Other {
                duid_type: 0,
                data: Vec::new(),
            },
            key: key.clone(),
            link,
            oro: Vec::new(),
        };
        let mut stream = crate::bulk6::stream::Stream::new(query, snapshot, now);
        let mut bindings = Vec::new();
        let mut truncated = false;
        while let Some(b) = stream.next_binding() {
            if bindings.len() == request::MAX_PAGE {
                truncated = true;
                break;
            }
            bindings.push(json::binding6(&b));
        }
        let answer = if bindings.is_empty() {
            "nothing"
        } else {
            "bindings"
        };
        ok_map([
            ("family", json!("v6")),
            ("answer", json!(answer)),
            ("bindings", Value::Array(bindings)),
            ("truncated", json!(truncated)),
        ])
    }

    fn config_test(&self, path: Option<&std::path::Path>) -> Result<Map<String, Value>, String> {
        let path = path
            .or(self.config_path.as_deref())
            .ok_or("path: the server runs on its embedded defaults: name a file to test")?;
        Ok(match config::load(path) {
            Ok(c) => ok_map([
                ("path", json!(path.display().to_string())),
                ("valid", json!(true)),
                (
                    "warnings",
                    json!(c.warnings.iter().map(|w| w.to_string()).collect::<Vec<_>>()),
                ),
            ]),
            Err(errors) => ok_map([
                ("path", json!(path.display().to_string())),
                ("valid", json!(false)),
                (
                    "errors",
                    json!(errors.0.iter().map(|e| e.to_string()).collect::<Vec<_>>()),
                ),
            ]),
        })
    }

    fn statistics(&self) -> Map<String, Value> {
        let mut counters = Map::new();
        for (name, report) in &self.reports {
            let mut set = Map::new();
            report(&mut |k, v| {
                set.insert(k.to_owned(), json!(v));
            });
            counters.insert(name.clone(), Value::Object(set));
        }
        let writer = self.store.writer_stats();
        ok_map([
            ("counters", Value::Object(counters)),
            (
                "store",
                json!({
                    "bindings4": self.store.v4().len(),
                    "bindings6": self.store.v6().len(),
                    "backlog": self.store.backlog(),
                    "commits": writer.commits(),
                    "changes": writer.changes(),
                    "healthy": self.store.health().is_healthy(),
                }),
            ),
        ])
    }
}

fn ok_map<const N: usize>(fields: [(&str, Value); N]) -> Map<String, Value> {
    fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

fn durability(e: StoreError) -> String {
    format!("the store could not make the deletion durable (it was taken back): {e}")
}

fn parse_key6(s: &str) -> Result<Key6, String> {
    let net = s
        .parse::<ipnet::Ipv6Net>()
        .or_else(|_| s.parse::<std::net::Ipv6Addr>().map(ipnet::Ipv6Net::from))
        .map_err(|_| format!("cursor: not a cursor this server gave: {s:?}"))?;
    Ok(Key6::new(net.addr(), net.prefix_len()))
}

/// A DHCPv4 leasequery answer as JSON: what the reply would say.
fn answer4(a: &crate::leasequery4::answer::Answer) -> Map<String, Value> {
    use crate::leasequery4::answer::Answer;
    match a {
        Answer::Active {
            binding,
            associated,
        } => ok_map([
            ("family", json!("v4")),
            ("answer", json!("active")),
            ("binding", json::binding4(binding)),
            (
                "associated",
                json!(associated.iter().map(|a| a.to_string()).collect::<Vec<_>>()),
            ),
        ]),
        Answer::Unassigned { ciaddr } => ok_map([
            ("family", json!("v4")),
            ("answer", json!("unassigned")),
            ("ciaddr", json!(ciaddr.to_string())),
        ]),
        Answer::Unknown { ciaddr } => ok_map([
            ("family", json!("v4")),
            ("answer", json!("unknown")),
            ("ciaddr", json!(ciaddr.to_string())),
        ]),
    }
}
