//! [`GroupOutbox`]: the DHCPACKs one group commit made durable leave together.
//!
//! A DHCPACK waits for its binding to be durable; the store's writer thread then runs the
//! completions of the whole group commit, one per DHCPREQUEST. Sent one by one, each ACK would
//! cost a system call; queued here during the group's completions and flushed by the store's
//! group hook ([`lessor_store::Store::after_each_group`]), they leave with one sendmmsg per
//! socket. A reply sent from anywhere else (no group running: the commit was over before the
//! receive thread attached the send) goes out at once.

use lessor_net::{Outgoing, Transmit};
use lessor_store::{completing_group, Store};
use std::sync::{Arc, Mutex};

/// A [`Transmit`] that holds replies produced inside a group commit's completions until the
/// group's hook flushes them.
pub struct GroupOutbox {
    inner: Arc<dyn Transmit>,
    queue: Mutex<Vec<Outgoing>>,
}

impl GroupOutbox {
    /// An outbox in front of `inner`, flushed after each group commit of `store`.
    pub fn attach(inner: Arc<dyn Transmit>, store: &Store) -> Arc<GroupOutbox> {
        let outbox = Arc::new(GroupOutbox {
            inner,
            queue: Mutex::new(Vec::new()),
        });
        let flushing = Arc::clone(&outbox);
        store.after_each_group(move || flushing.flush());
        outbox
    }

    /// Sends everything queued.
    pub fn flush(&self) {
        let mut queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        if !queue.is_empty() {
            self.inner.send_batch(&mut queue);
        }
    }
}

impl Transmit for GroupOutbox {
    fn send(&self, reply: Outgoing) {
        if completing_group() {
            self.queue
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(reply);
        } else {
            self.inner.send(reply);
        }
    }

    fn send_batch(&self, replies: &mut Vec<Outgoing>) {
        self.inner.send_batch(replies);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lessor_net::Destination;
    use lessor_store::{Binding4, Completion, HwAddr, State4};
    use std::net::{Ipv4Addr, SocketAddr};

    /// Records each call: a batch of n replies, or a single send.
    #[derive(Default)]
    struct Calls(Mutex<Vec<usize>>);

    impl Transmit for Calls {
        fn send(&self, _: Outgoing) {
            self.0.lock().unwrap().push(1);
        }
        fn send_batch(&self, replies: &mut Vec<Outgoing>) {
            self.0.lock().unwrap().push(replies.len());
            replies.clear();
        }
    }

    fn ack(n: u8) -> Outgoing {
        Outgoing {
            payload: vec![n],
            destination: Destination::Relay(SocketAddr::from((Ipv4Addr::new(192, 0, 2, 1), 67))),
        }
    }

    #[test]
    fn replies_of_one_group_leave_in_one_batch_and_others_at_once() {
        let store = Store::in_memory();
        let calls = Arc::new(Calls::default());
        let outbox = GroupOutbox::attach(calls.clone(), &store);
        outbox.send(ack(0));
        assert_eq!(
            *calls.0.lock().unwrap(),
            vec![1],
            "outside a group: at once"
        );
        // Hold the writer back so that three submissions form one group: the store's lock is
        // taken by a write whose completion waits on a channel.
        let (gate_tx, gate_rx) = std::sync::mpsc::channel::<()>();
        let (held_tx, held_rx) = std::sync::mpsc::channel::<()>();
        store.v4().upsert(
            binding(1),
            Completion::callback(move |_| {
                let _ = held_tx.send(());
                let _ = gate_rx.recv();
            }),
        );
        // Only once the writer is held inside that group: submitted earlier, the next write
        // could join its group, and its reply leave apart from the other two.
        held_rx.recv().unwrap();
        for n in 2..=4u8 {
            let outbox = Arc::clone(&outbox);
            store.v4().upsert(
                binding(n),
                Completion::callback(move |_| outbox.send(ack(n))),
            );
        }
        gate_tx.send(()).unwrap();
        store.sync().wait().unwrap();
        // That barrier may have joined the group of the three: its waiter then wakes before
        // the group's hook has sent. A second barrier completes in a later group, after it.
        store.sync().wait().unwrap();
        // The three completions ran in one group (queued while the writer was held): one batch.
        assert_eq!(*calls.0.lock().unwrap(), vec![1, 3]);
    }

    fn binding(n: u8) -> Binding4 {
        Binding4::new(
            Ipv4Addr::new(198, 51, 100, n),
            "198.51.100.0/24".parse().unwrap(),
            HwAddr::ethernet([2, 0, 0, 0, 0, n]),
            State4::Active,
        )
    }
}
