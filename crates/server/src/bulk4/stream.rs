//! One query's replies, produced one message at a time from a store snapshot.
//!
//! A [`Stream`] owns what it reads: an O(1) snapshot of the bindings (relay-id and remote-id
//! queries walk a [`Cursor4`] over it, which pulls the index in small batches), so it holds
//! no lock while the requestor reads and DHCP goes on meanwhile. At most [`BATCH`] bindings are
//! held at a time, whatever the number of results.
//!
//! Which bindings are sent:
//! - without query-start-time / query-end-time (always in the draft dialect): those *active* at
//!   the time the query arrived (state Active and end in the future), each as a
//!   DHCPLEASEACTIVE built by the UDP responder's [`reply::active`] with no associated-ip
//!   (draft §6: it MUST NOT appear in bulk replies);
//! - rfc6926 with either time: every binding (any state) that changed ([`changed_at`]) within
//!   `[query-start-time, query-end-time]` (either bound may be absent; RFC 6926 §6.2.5, §6.2.6):
//!   active ones as DHCPLEASEACTIVE, the others as DHCPLEASEUNASSIGNED carrying ciaddr and
//!   dhcp-state (156; §6.2.7 names both message types), so a requestor catching up learns of
//!   releases and expiries.
//!
//! The replies (every one with the query's xid):
//! - draft: DHCPLEASEACTIVE (with Server Identifier) for the first binding, DHCPLEASEDATA
//!   (`lease-data`, without Server Identifier, draft §7.2.1) for each further one, then
//!   DHCPLEASEDONE (`lease-done`, option 53 only). No binding: a single DHCPLEASEUNASSIGNED or
//!   DHCPLEASEUNKNOWN and no DHCPLEASEDONE (draft §8.3, §9.2): by IP as over UDP (UNASSIGNED when
//!   the server manages the address), by MAC / client-id UNKNOWN, by relay-id / remote-id
//!   UNASSIGNED when the identifier is known from a kept binding, else UNKNOWN (docs/protocol.md
//!   decision 7).
//! - rfc6926: a DHCPLEASEACTIVE (or DHCPLEASEUNASSIGNED, see above) per binding, each with
//!   base-time (152, the server's time) and dhcp-state (156), and start-time-of-state (153: how
//!   long before base-time the binding entered that state) when the Parameter Request List asks
//!   for it, then DHCPLEASEQUERYDONE with
//!   base-time, also when nothing matched; a failure is DHCPLEASEQUERYDONE with status-code
//!   (151) and base-time (§6.2.2: in DONE the status speaks for the whole query).
//!
//! Server identifier (docs/protocol.md decision 1): in the rfc6926 dialect the first message that
//! goes out for a query carries option 54 whatever it is: a binding, a DONE alone (nothing
//! found), a refusal, QueryTerminated at shutdown or UnspecFail when its first binding cannot be
//! framed. Binding messages always carry it (they are RFC 4388 messages); a DONE or failure after
//! a binding does not. In the draft dialect the first DHCPLEASEACTIVE and a lone
//! DHCPLEASEUNASSIGNED / DHCPLEASEUNKNOWN carry it; DHCPLEASEDATA, DHCPLEASEDONE and
//! DHCPLEASEQUERYFAIL do not (§7.2.1-§7.2.3: no option besides the status in a FAIL).

use super::codes::{Codes, Status};
use super::query::BulkQuery;
use crate::leasequery4::reply::{self, Context};
use crate::leasequery4::validate::Query;
use crate::leasequery4::Key;
use lessor_store::{Binding4, Cursor4, Snapshot4, State4, Timestamp};
use lessor_wire::v4::{code, DhcpOption, DhcpState, MessageType, Repr, BOOTREPLY};
use std::collections::VecDeque;
use std::net::Ipv4Addr;
use std::sync::Arc;

/// Bindings pulled from the store at a time.
pub const BATCH: usize = 32;

/// The dhcp-state (RFC 6926 §6.2.7) of `b`: an Active lease whose end has passed (the expiry
/// timer has not run yet) is EXPIRED.
fn dhcp_state(b: &Binding4, active: bool) -> DhcpState {
    if b.state == State4::Active && !active {
        State4::Expired.dhcp_state()
    } else {
        b.state.dhcp_state()
    }
}

/// When `b` last changed: an active lease with the client's last transaction, a lease that ran
/// out at its end, any other state when it began (`start`) or the client's last transaction,
/// whichever is later.
pub fn changed_at(b: &Binding4, now: Timestamp) -> Timestamp {
    match b.state {
        State4::Active if now < b.end => b.cltt,
        State4::Active | State4::Expired => b.cltt.max(b.end.min(now)),
        _ => b.cltt.max(b.start),
    }
}

/// Seconds from `t` to `now` (0 for a time after `now`), as a 32-bit option value.
fn secs_before(now: Timestamp, t: Timestamp) -> u32 {
    u32::try_from(now.saturating_sub(t)).unwrap_or(u32::MAX)
}

enum Source {
    List(std::vec::IntoIter<Arc<Binding4>>),
    Cursor(Box<Cursor4>),
}

impl Source {
    fn pull(&mut self, buf: &mut VecDeque<Arc<Binding4>>) {
        match self {
            Source::List(it) => buf.extend(it.take(BATCH)),
            Source::Cursor(c) => buf.extend(c.next_batch(BATCH)),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Fail(Status, &'static str),
    Bindings,
    Finished,
}

/// What a message of a stream is, for counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sent {
    Binding,
    Done,
    Unassigned,
    Unknown,
    Failure(Status),
}

/// The replies to one query.
pub struct Stream {
    xid: u32,
    codes: Codes,
    /// The query's time (lease arithmetic, base-time): one time for the whole stream.
    now: Timestamp,
    state: State,
    query: Option<Query>,
    key: Option<Key>,
    start: Option<Timestamp>,
    end: Option<Timestamp>,
    snapshot: Option<Snapshot4>,
    source: Option<Source>,
    buf: VecDeque<Arc<Binding4>>,
    sent: u64,
    /// Whether a message of this stream went out (the first carries the server identifier,
    /// docs/protocol.md decision 1). Set by the connection once a frame is emitted: a message
    /// that could not be framed was never sent, and the failure that replaces it is the first.
    started: bool,
    /// The client options of this query's replies, per subnet (bounded by the configuration).
    options: reply::OptionCache,
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stream")
            .field("xid", &self.xid)
            .field("state", &self.state)
            .field("sent", &self.sent)
            .finish_non_exhaustive()
    }
}

impl Stream {
    /// The replies to `q`, read from `snapshot`.
    pub fn new(q: BulkQuery, snapshot: Snapshot4, codes: Codes, now: Timestamp) -> Stream {
        let source = match &q.key {
            Key::Ip(a) => Source::List(
                snapshot
                    .get(*a)
                    .cloned()
                    .into_iter()
                    .collect::<Vec<_>>()
                    .into_iter(),
            ),
            Key::Mac(hw) => Source::List(snapshot.by_mac(hw).into_iter()),
            Key::ClientId(id) => Source::List(snapshot.by_client_id(id).into_iter()),
            Key::RelayId(id) => Source::Cursor(Box::new(snapshot.by_relay_id(id))),
            Key::RemoteId(id) => Source::Cursor(Box::new(snapshot.by_remote_id(id))),
        };
        Stream {
            xid: q.query.xid,
            codes,
            now,
            state: State::Bindings,
            query: Some(q.query),
            key: Some(q.key),
            start: q.start,
            end: q.end,
            snapshot: Some(snapshot),
            source: Some(source),
            buf: VecDeque::new(),
            sent: 0,
            started: false,
            options: reply::OptionCache::default(),
        }
    }

    /// A stream of one failure message.
    pub fn failure(
        xid: u32,
        codes: Codes,
        now: Timestamp,
        status: Status,
        text: &'static str,
    ) -> Stream {
        Stream {
            xid,
            codes,
            now,
            state: State::Fail(status, text),
            query: None,
            key: None,
            start: None,
            end: None,
            snapshot: None,
            source: None,
            buf: VecDeque::new(),
            sent: 0,
            started: false,
            options: reply::OptionCache::default(),
        }
    }

    /// The query's xid.
    pub fn xid(&self) -> u32 {
        self.xid
    }

    /// Whether this stream answers a query (rather than only refusing one).
    pub fn is_query(&self) -> bool {
        self.query.is_some()
    }

    /// Whether everything was produced.
    pub fn is_finished(&self) -> bool {
        self.state == State::Finished
    }

    /// Whether a binding message was produced already.
    pub fn has_sent_bindings(&self) -> bool {
        self.sent > 0
    }

    /// Ends the stream early with a failure (QueryTerminated at shutdown, or an abort). What
    /// was pulled from the store is released.
    pub fn terminate(&mut self, status: Status, text: &'static str) {
        if self.state != State::Finished {
            self.state = State::Fail(status, text);
        }
        self.source = None;
        self.snapshot = None;
        self.buf = VecDeque::new();
    }

    fn filtered(&self) -> bool {
        !self.codes.is_draft() && (self.start.is_some() || self.end.is_some())
    }

    fn wanted(&self, b: &Binding4) -> bool {
        if self.filtered() {
            // RFC 6926 §6.2.5, §6.2.6: bindings that changed within the bounds.
            let changed = changed_at(b, self.now);
            self.start.is_none_or(|s| changed >= s) && self.end.is_none_or(|e| changed <= e)
        } else {
            b.is_active_at(self.now)
        }
    }

    fn pull(&mut self) -> Option<Arc<Binding4>> {
        loop {
            if self.buf.is_empty() {
                self.source.as_mut()?.pull(&mut self.buf);
                if self.buf.is_empty() {
                    self.source = None;
                    return None;
                }
            }
            let b = self.buf.pop_front()?;
            if self.wanted(&b) {
                return Some(b);
            }
        }
    }

    /// The next message, or `None` once finished.
    pub fn next_message(
        &mut self,
        ctx: &Context<'_>,
        manages: &dyn Fn(Ipv4Addr) -> bool,
    ) -> Option<(Repr, Sent)> {
        match self.state.clone() {
            State::Finished => None,
            State::Fail(status, text) => {
                self.state = State::Finished;
                Some((self.fail(ctx, status, text), Sent::Failure(status)))
            }
            State::Bindings => {
                if let Some(b) = self.pull() {
                    let r = self.binding(ctx, &b);
                    self.sent += 1;
                    Some((r, Sent::Binding))
                } else {
                    self.state = State::Finished;
                    self.snapshot_done(ctx, manages)
                }
            }
        }
    }

    /// The connection framed and handed out the last message [`Stream::next_message`] gave.
    pub fn emitted(&mut self) {
        self.started = true;
    }

    /// The message after the last binding.
    fn snapshot_done(
        &mut self,
        ctx: &Context<'_>,
        manages: &dyn Fn(Ipv4Addr) -> bool,
    ) -> Option<(Repr, Sent)> {
        let snapshot = self.snapshot.take();
        let q = self.query.as_ref()?;
        if self.sent > 0 || !self.codes.is_draft() {
            return Some((self.done(ctx), Sent::Done));
        }
        let sid = ctx.server_identifier;
        let zero = Ipv4Addr::UNSPECIFIED;
        let knows = |k: &Key| match (k, &snapshot) {
            (Key::RelayId(id), Some(s)) => s.knows_relay_id(id),
            (Key::RemoteId(id), Some(s)) => s.knows_remote_id(id),
            _ => false,
        };
        let key = self.key.as_ref()?;
        Some(match key {
            Key::Ip(a) if manages(*a) => (reply::unassigned(q, *a, sid), Sent::Unassigned),
            Key::Ip(a) => (reply::unknown(q, *a, sid), Sent::Unknown),
            Key::Mac(_) | Key::ClientId(_) => (reply::unknown(q, zero, sid), Sent::Unknown),
            k if knows(k) => (reply::unassigned(q, zero, sid), Sent::Unassigned),
            _ => (reply::unknown(q, zero, sid), Sent::Unknown),
        })
    }

    /// A DONE or failure message: option 53, the server identifier when the message is the
    /// first of its response in the rfc6926 dialect (docs/protocol.md decision 1; the draft
    /// wants no other option in DHCPLEASEQUERYFAIL, §7.2.3, and its DHCPLEASEDONE is never
    /// first), then base-time after `extra` (rfc6926).
    fn end_message(&self, ctx: &Context<'_>, kind: u8, extra: Option<DhcpOption>) -> Repr {
        let mut r = Repr {
            op: BOOTREPLY,
            xid: self.xid,
            options: vec![DhcpOption::MessageType(MessageType::from(kind))],
            ..Repr::default()
        };
        if let Some(q) = &self.query {
            r.flags = q.flags;
            r.giaddr = q.giaddr;
        }
        let rfc6926 = !self.codes.is_draft();
        if rfc6926 && !self.started {
            r.options
                .push(DhcpOption::ServerIdentifier(ctx.server_identifier));
        }
        r.options.extend(extra);
        if rfc6926 {
            r.options.push(self.base_time());
        }
        r
    }

    fn base_time(&self) -> DhcpOption {
        DhcpOption::BaseTime(u32::try_from(self.now).unwrap_or(u32::MAX))
    }

    fn done(&self, ctx: &Context<'_>) -> Repr {
        self.end_message(ctx, self.codes.done, None)
    }

    fn fail(&self, ctx: &Context<'_>, status: Status, text: &str) -> Repr {
        let option = self.codes.status_option(status, text);
        self.end_message(ctx, self.codes.fail, Some(option))
    }

    fn binding(&mut self, ctx: &Context<'_>, b: &Binding4) -> Repr {
        let Some(q) = &self.query else {
            return self.fail(ctx, Status::UnspecFail, "internal error");
        };
        let active = b.is_active_at(self.now);
        let mut r = if active {
            reply::active_cached(q, ctx, b, &[], self.now, Some(&mut self.options))
        } else {
            reply::unassigned(q, b.address, ctx.server_identifier)
        };
        if self.codes.is_draft() {
            if self.sent > 0 {
                r.set_option(DhcpOption::MessageType(MessageType::from(self.codes.data)));
                r.remove_option(code::SERVER_IDENTIFIER);
            }
        } else {
            // start-time-of-state (RFC 6926: sent whenever the query asks for it), on the
            // base-time's clock like 91; a lease reported EXPIRED before the timer ran ended at
            // its end.
            let entered = if b.state == State4::Active && !active {
                b.end
            } else {
                b.state_since
            };
            let since = q
                .prl
                .as_deref()
                .is_some_and(|p| p.contains(&code::START_TIME_OF_STATE))
                .then(|| DhcpOption::StartTimeOfState(secs_before(self.now, entered)));
            let extra = [
                Some(self.base_time()),
                Some(DhcpOption::DhcpState(dhcp_state(b, active))),
                since,
            ]
            .into_iter()
            .flatten();
            let at = r
                .options
                .iter()
                .position(|o| o.code() == code::RELAY_AGENT_INFORMATION)
                .unwrap_or(r.options.len());
            r.options.splice(at..at, extra);
        }
        r
    }
}
