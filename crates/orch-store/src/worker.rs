//! A worker's folder, `workers/<id>/`, and everything in it: the one owner of its files.
//!
//! ```text
//! meta.json          the record (Meta), read once per handle
//! events.jsonl       its events (a journal), appended only by publish, which fans out
//! told              the cursor of the last prompt `tell` delivered
//! typing, deliver    locks: one typist at a time, one inbox delivery at a time
//! inbox.jsonl        items pushed to it (a journal of relayed events)
//! inbox.delivered    seq of the last item handed over (by a Stop block or a notice)
//! inbox.acked        seq of the last item acknowledged with `orch inbox --ack`
//! inbox.blocks       consecutive Stop blocks (reset when a Stop passes)
//! subscribers.json   who hears its events (Subscription)
//! peers.json         the peers it was pointed at (read rights)
//! budget.json        the budget levels reached (with budget.lock, its follower's)
//! usage.json         what was read of its transcript so far
//! usage.host.json    a remote worker's spend as its host last gave it, and when
//! relay.gone         a remote worker's relay saw it go (with relay.lock, the relay's)
//! rollout.lock       held by a Codex worker's rollout follower while it runs
//! pending.json       a command worker's prompt waiting for its first output
//! queue.json         prompts told while its account was held (QueuedPrompt), in order
//! git.json           its worktree as the last conflict check saw it (conflicts, dirty)
//! answer.lock        held by the hook that waits on a permission dialog's answer; it notes
//!                    the seq of that permission_request
//! ```
//!
//! A harness adapter keeps its own entries here too (a per-worker CLI home, generated
//! config), named by the adapter: [`WorkerDir::harness_path`].

use crate::event::{Event, Kind, Relay};
use crate::files::{write_atomic, Lock};
use crate::meta::Meta;
use crate::store::Store;
use crate::subscription::{Subscription, SubscriptionMode};
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// One of orch's own files in a worker's folder (the module's table says what each holds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum File {
    Meta,
    Events,
    Told,
    Typing,
    Deliver,
    Inbox,
    InboxDelivered,
    InboxAcked,
    InboxBlocks,
    Subscribers,
    Peers,
    Budget,
    BudgetLock,
    Usage,
    UsageHost,
    RelayGone,
    RelayLock,
    RolloutLock,
    Pending,
    Queue,
    Git,
    Answer,
}

impl File {
    /// Its name in the folder.
    pub const fn name(self) -> &'static str {
        match self {
            File::Meta => "meta.json",
            File::Events => "events.jsonl",
            File::Told => "told",
            File::Typing => "typing",
            File::Deliver => "deliver",
            File::Inbox => "inbox.jsonl",
            File::InboxDelivered => "inbox.delivered",
            File::InboxAcked => "inbox.acked",
            File::InboxBlocks => "inbox.blocks",
            File::Subscribers => "subscribers.json",
            File::Peers => "peers.json",
            File::Budget => "budget.json",
            File::BudgetLock => "budget.lock",
            File::Usage => "usage.json",
            File::UsageHost => "usage.host.json",
            File::RelayGone => "relay.gone",
            File::RelayLock => "relay.lock",
            File::RolloutLock => "rollout.lock",
            File::Pending => "pending.json",
            File::Queue => "queue.json",
            File::Git => "git.json",
            File::Answer => "answer.lock",
        }
    }
}

/// A counter kept as one number in a file of the folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counter {
    /// The seq of the last inbox item handed over.
    Delivered,
    /// The seq of the last inbox item acknowledged.
    Acked,
    /// Stops blocked in a row to hand over the inbox.
    Blocks,
}

impl Counter {
    fn file(self) -> File {
        match self {
            Counter::Delivered => File::InboxDelivered,
            Counter::Acked => File::InboxAcked,
            Counter::Blocks => File::InboxBlocks,
        }
    }
}

/// What [`WorkerDir::publish`] did: the event written, and the subscribers whose inbox got it
/// and who are to be pushed to (their mode is push).
#[derive(Debug, Clone)]
pub struct Published {
    pub event: Event,
    pub push: Vec<String>,
}

/// A worker's (or an operator record's) folder, checked to be a real folder of the store
/// ([`Store::worker`]). Its metadata is read at most once per handle.
#[derive(Debug)]
pub struct WorkerDir {
    store: Store,
    id: String,
    path: PathBuf,
    meta: OnceLock<Meta>,
}

impl Clone for WorkerDir {
    fn clone(&self) -> WorkerDir {
        let meta = OnceLock::new();
        if let Some(m) = self.meta.get() {
            let _ = meta.set(m.clone());
        }
        WorkerDir {
            store: self.store.clone(),
            id: self.id.clone(),
            path: self.path.clone(),
            meta,
        }
    }
}

impl Store {
    /// The folder of record `id`, checked ([`Store::folder`]).
    ///
    /// Errors: no such record, an id that is no valid id, or a folder that is a link.
    pub fn worker(&self, id: &str) -> Result<WorkerDir> {
        let path = self.folder(id)?;
        Ok(WorkerDir {
            store: self.clone(),
            id: id.to_string(),
            path,
            meta: OnceLock::new(),
        })
    }

    /// The folder of the record `meta` is (checked), with `meta` as its metadata.
    ///
    /// Errors: as [`Store::worker`].
    pub fn worker_of(&self, meta: Meta) -> Result<WorkerDir> {
        let dir = self.worker(&meta.id)?;
        let _ = dir.meta.set(meta);
        Ok(dir)
    }
}

impl WorkerDir {
    /// The record's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The state directory it is in.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// One of orch's files in the folder.
    pub fn file(&self, file: File) -> PathBuf {
        self.path.join(file.name())
    }

    /// An entry a harness adapter keeps in the folder (its CLI's home, its generated config),
    /// named by the adapter.
    pub fn harness_path(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Its metadata, read on first use and kept.
    ///
    /// Errors: `meta.json` cannot be read or is not valid.
    pub fn meta(&self) -> Result<&Meta> {
        if let Some(meta) = self.meta.get() {
            return Ok(meta);
        }
        let meta = self.store.meta(&self.id)?;
        Ok(self.meta.get_or_init(|| meta))
    }

    /// Changes its metadata with `edit` under the metadata lock; the handle keeps the result.
    ///
    /// Errors: as [`Store::update_meta`].
    pub fn update_meta(&mut self, edit: impl FnOnce(&mut Meta)) -> Result<&Meta> {
        let meta = self.store.update_meta(&self.id, edit)?;
        self.meta = OnceLock::new();
        Ok(self.meta.get_or_init(|| meta))
    }

    /// Forgets the metadata read, so the next [`WorkerDir::meta`] reads it again (another
    /// process changed it: a resume gave the worker a new pane).
    pub fn reload(&mut self) {
        self.meta = OnceLock::new();
    }

    /// Records an event of `kind` in its log and, in the log's order (under its lock), copies
    /// it into the inbox of each subscriber that wants it. The only way an event enters a
    /// log, so every event reaches its subscribers.
    ///
    /// Errors: the log cannot be written (nothing was recorded), or a subscriber's inbox
    /// cannot be (the event is recorded; subscribers after it miss it).
    pub fn publish(&self, kind: Kind) -> Result<Published> {
        let mut push = Vec::new();
        let fans = self.file(File::Subscribers).exists();
        let event = crate::journal::append(&self.file(File::Events), kind, None, |event| {
            if fans {
                push = self.fan_out(event)?;
            }
            Ok(())
        })?;
        Ok(Published { event, push })
    }

    /// Records `event`, an event of the log this one mirrors (a remote worker's), as it is when
    /// it is the next one here, and fans it out as [`WorkerDir::publish`] does. `None` for an
    /// event already here.
    ///
    /// Errors: the event would leave a gap, or the log cannot be written.
    pub fn publish_copy(&self, event: &Event) -> Result<Option<Published>> {
        let mut push = Vec::new();
        let fans = self.file(File::Subscribers).exists();
        let fresh = crate::journal::append_copy(&self.file(File::Events), event, |event| {
            if fans {
                push = self.fan_out(event)?;
            }
            Ok(())
        })?;
        Ok(fresh.then(|| Published {
            event: event.clone(),
            push,
        }))
    }

    /// Copies `event` into the inbox of each subscriber that wants it; returns those to push.
    fn fan_out(&self, event: &Event) -> Result<Vec<String>> {
        let subs = self.subscriptions()?;
        let name = event.kind.name().to_string();
        let mut push = Vec::new();
        for sub in subs
            .iter()
            .filter(|s| s.wants(&name) && event.seq > s.since)
        {
            // A subscriber gone, or whose folder is not a real one: nothing is written for it.
            let Ok(inbox) = self.store.worker(&sub.subscriber) else {
                continue;
            };
            let relay = Relay {
                from: self.id.clone(),
                from_name: self.meta()?.name.clone(),
                from_seq: Some(event.seq),
                push: sub.mode == SubscriptionMode::Push,
            };
            inbox.put(event.kind.clone(), Some(relay))?;
            if sub.mode == SubscriptionMode::Push {
                push.push(sub.subscriber.clone());
            }
        }
        Ok(push)
    }

    /// Its events with `seq > after`, oldest first (O(new events)).
    ///
    /// Errors: the log cannot be read.
    pub fn events_after(&self, after: u64) -> Result<Vec<Event>> {
        crate::journal::read_after(&self.file(File::Events), after)
    }

    /// Its newest events, oldest first, back to and including the newest one `found` accepts
    /// (the whole log when none does).
    ///
    /// Errors: the log cannot be read.
    pub fn events_back_to(&self, found: impl FnMut(&Event) -> bool) -> Result<Vec<Event>> {
        crate::journal::read_back_to(&self.file(File::Events), found)
    }

    /// Its worktree as the last conflict check saw it (default when never checked or
    /// unreadable: the check writes it whole again).
    pub fn git_state(&self) -> crate::repos::GitState {
        std::fs::read_to_string(self.file(File::Git))
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default()
    }

    /// Writes its [`WorkerDir::git_state`] (whole, by rename).
    ///
    /// Errors: it cannot be written.
    pub fn set_git_state(&self, state: &crate::repos::GitState) -> Result<()> {
        crate::files::write_json(&self.file(File::Git), state)
    }

    /// Its cursor: the seq of its newest event (0 when none).
    ///
    /// Errors: the log cannot be read.
    pub fn cursor(&self) -> Result<u64> {
        crate::journal::last_seq(&self.file(File::Events))
    }

    /// The cursor of the last prompt `tell` delivered, if any.
    pub fn told(&self) -> Option<u64> {
        std::fs::read_to_string(self.file(File::Told))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// Records the cursor of the prompt `tell` just delivered.
    ///
    /// Errors: the file cannot be written.
    pub fn set_told(&self, cursor: u64) -> Result<()> {
        write_atomic(
            &self.file(File::Told),
            format!("{cursor}\n").as_bytes(),
            0o600,
        )
    }

    /// Takes the lock file `file` (waits while another process holds it).
    ///
    /// Errors: the lock file cannot be opened.
    pub fn lock(&self, file: File) -> Result<Lock> {
        Lock::at(&self.file(file))
    }

    /// Takes the lock file `file` if nobody holds it, else `None`.
    ///
    /// Errors: the lock file cannot be opened.
    pub fn try_lock(&self, file: File) -> Result<Option<Lock>> {
        Lock::try_at(&self.file(file))
    }

    /// Whether a remote worker's relay saw it go on its host.
    pub fn relay_gone(&self) -> bool {
        self.file(File::RelayGone).exists()
    }

    /// The subscriptions to it (empty when none).
    ///
    /// Errors: `subscribers.json` cannot be read or is not valid.
    pub fn subscriptions(&self) -> Result<Vec<Subscription>> {
        let path = self.file(File::Subscribers);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .with_context(|| format!("`{}` is not valid", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(e).with_context(|| format!("cannot read `{}`", path.display())),
        }
    }

    /// Changes its subscriptions with `edit` under their lock; writes them when `edit` says
    /// they changed. Returns that.
    ///
    /// Errors: they cannot be read or written.
    pub fn edit_subscriptions(
        &self,
        edit: impl FnOnce(&mut Vec<Subscription>) -> bool,
    ) -> Result<bool> {
        let path = self.file(File::Subscribers);
        let _lock = Lock::acquire(&path)?;
        let mut subs = self.subscriptions()?;
        let changed = edit(&mut subs);
        if changed {
            write_atomic(&path, &serde_json::to_vec_pretty(&subs)?, 0o600)?;
        }
        Ok(changed)
    }

    /// Puts one item of `kind` into its inbox (relayed from a publisher, or straight from orch:
    /// an escalation for a parent, a decision for a worker). Returns it.
    ///
    /// Errors: the inbox cannot be written.
    pub fn put(&self, kind: Kind, relay: Option<Relay>) -> Result<Event> {
        crate::journal::append(&self.file(File::Inbox), kind, relay, |_| Ok(()))
    }

    /// Its inbox items after `after`, oldest first.
    ///
    /// Errors: the inbox cannot be read.
    pub fn items_after(&self, after: u64) -> Result<Vec<Event>> {
        crate::journal::read_after(&self.file(File::Inbox), after)
    }

    /// The seq of its newest inbox item (0 when none).
    ///
    /// Errors: the inbox cannot be read.
    pub fn inbox_cursor(&self) -> Result<u64> {
        crate::journal::last_seq(&self.file(File::Inbox))
    }

    /// Whether it has an inbox at all (a stat).
    pub fn has_inbox(&self) -> bool {
        self.file(File::Inbox).exists()
    }

    /// The inbox counter `counter` (0 when never set).
    pub fn counter(&self, counter: Counter) -> u64 {
        std::fs::read_to_string(self.file(counter.file()))
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0)
    }

    /// Sets the inbox counter `counter`.
    ///
    /// Errors: its file cannot be written.
    pub fn set_counter(&self, counter: Counter, value: u64) -> Result<()> {
        write_atomic(
            &self.file(counter.file()),
            format!("{value}\n").as_bytes(),
            0o600,
        )
    }

    /// Takes the inbox items not yet handed over (marking them so, under the inbox lock, so
    /// two deliverers never hand over the same item), leaving out items only kept for `orch
    /// inbox`. Empty when there is nothing new.
    ///
    /// Errors: the inbox cannot be read or its counter written.
    pub fn claim(&self) -> Result<Vec<Event>> {
        let path = self.file(File::Inbox);
        if !path.exists() {
            return Ok(Vec::new());
        }
        let _lock = Lock::acquire(&path)?;
        let items = self.items_after(self.counter(Counter::Delivered))?;
        if let Some(last) = items.last() {
            self.set_counter(Counter::Delivered, last.seq)?;
        }
        Ok(items.into_iter().filter(Event::pushed).collect())
    }

    /// Gives back claimed `items` whose handing over failed (only when nothing was claimed
    /// since).
    ///
    /// Errors: the counter cannot be written.
    pub fn unclaim(&self, items: &[Event]) -> Result<()> {
        let (Some(first), Some(last)) = (items.first(), items.last()) else {
            return Ok(());
        };
        let _lock = Lock::acquire(&self.file(File::Inbox))?;
        if self.counter(Counter::Delivered) == last.seq {
            self.set_counter(Counter::Delivered, first.seq - 1)?;
        }
        Ok(())
    }

    /// Acknowledges inbox items up to `upto` (never back).
    ///
    /// Errors: the counter cannot be written.
    pub fn ack(&self, upto: u64) -> Result<()> {
        let _lock = Lock::acquire(&self.file(File::Inbox))?;
        if upto > self.counter(Counter::Acked) {
            self.set_counter(Counter::Acked, upto)?;
        }
        Ok(())
    }

    /// The prompts waiting in its queue, oldest first.
    ///
    /// Errors: `queue.json` cannot be read or is not valid.
    pub fn queue(&self) -> Result<Vec<QueuedPrompt>> {
        let path = self.file(File::Queue);
        match crate::files::read_json(&path)? {
            None => Ok(Vec::new()),
            Some(value) => serde_json::from_value(value)
                .with_context(|| format!("`{}` is not a valid queue", path.display())),
        }
    }

    /// Queues `text` (a prompt told while its account is held): publishes a `queued` event
    /// with `fingerprint` (the prompt's hash and length; never the text) and keeps the text in
    /// `queue.json` (0600) under the event's seq. Returns the item.
    ///
    /// Errors: the log or the queue cannot be written (nothing is queued).
    pub fn enqueue(&self, text: &str, fingerprint: (String, u64)) -> Result<QueuedPrompt> {
        self.queue_at(text, fingerprint, false)
    }

    /// Queues `text` as [`WorkerDir::enqueue`] does, but first in the queue: a prompt a usage
    /// limit failed and the harness dropped, to be sent again before what was told after it.
    ///
    /// Errors: as [`WorkerDir::enqueue`].
    pub fn enqueue_first(&self, text: &str, fingerprint: (String, u64)) -> Result<QueuedPrompt> {
        self.queue_at(text, fingerprint, true)
    }

    fn queue_at(
        &self,
        text: &str,
        fingerprint: (String, u64),
        first: bool,
    ) -> Result<QueuedPrompt> {
        let path = self.file(File::Queue);
        let _lock = Lock::acquire(&path)?;
        let mut items = self.queue()?;
        // Unique under the lock: seqs only grow, and each item's event takes one.
        let id = format!("q{}", self.cursor()? + 1);
        let published = self.publish(Kind::Queued(crate::event::Queued {
            queued: Some(id.clone()),
            prompt_hash: Some(fingerprint.0),
            prompt_len: Some(fingerprint.1),
        }))?;
        let item = QueuedPrompt {
            id,
            text: text.to_string(),
            cursor: published.event.seq,
        };
        if first {
            items.insert(0, item.clone());
        } else {
            items.push(item.clone());
        }
        crate::files::write_json(&path, &items)?;
        Ok(item)
    }

    /// Takes the item `id` out of the queue and returns it (`None`: not there), publishing
    /// `dequeued` with `cursor`, the seq of the prompt event it became (`None`: dropped).
    ///
    /// Errors: the queue or the log cannot be written.
    pub fn dequeue(&self, id: &str, cursor: Option<u64>) -> Result<Option<QueuedPrompt>> {
        let path = self.file(File::Queue);
        let _lock = Lock::acquire(&path)?;
        let mut items = self.queue()?;
        let Some(at) = items.iter().position(|q| q.id == id) else {
            return Ok(None);
        };
        let item = items.remove(at);
        crate::files::write_json(&path, &items)?;
        self.publish(Kind::Dequeued(crate::event::Dequeued {
            queued: Some(item.id.clone()),
            cursor,
        }))?;
        Ok(Some(item))
    }
}

/// A prompt waiting in a worker's queue (`queue.json`): told while its account was held.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct QueuedPrompt {
    /// `q<N>`: unique in this worker (N is about the seq of its `queued` event).
    pub id: String,
    /// The prompt, as `tell` got it.
    pub text: String,
    /// The seq of its `queued` event (what `tell --json` answered as its cursor).
    pub cursor: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Notification, Stop};

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::at(dir.path().to_path_buf());
        (dir, store)
    }

    fn new_worker(store: &Store, name: &str) -> WorkerDir {
        let (id, _) = store.new_worker().unwrap();
        let meta = Meta {
            name: name.into(),
            ..Meta::new(&id, "worker", "operator")
        };
        store.write_meta(&meta).unwrap();
        store.worker(&id).unwrap()
    }

    fn stop(text: &str) -> Kind {
        Kind::Stop(Stop {
            last_assistant_message: Some(text.into()),
            ..Stop::default()
        })
    }

    #[test]
    fn every_published_event_reaches_the_subscribers_that_want_it() {
        let (_dir, store) = store();
        let publisher = new_worker(&store, "api");
        let pushed = new_worker(&store, "a");
        let kept = new_worker(&store, "b");
        publisher.publish(stop("before")).unwrap();
        let since = publisher.cursor().unwrap();
        publisher
            .edit_subscriptions(|subs| {
                subs.push(Subscription {
                    subscriber: pushed.id().into(),
                    events: vec!["stop".into()],
                    mode: SubscriptionMode::Push,
                    since,
                });
                subs.push(Subscription {
                    subscriber: kept.id().into(),
                    events: Vec::new(),
                    mode: SubscriptionMode::Inbox,
                    since,
                });
                true
            })
            .unwrap();
        let published = publisher.publish(stop("after")).unwrap();
        assert_eq!(published.push, [pushed.id().to_string()]);
        let note = Kind::Notification(Notification::default());
        assert!(publisher.publish(note).unwrap().push.is_empty());
        let items = pushed.items_after(0).unwrap();
        assert_eq!(items.len(), 1, "only the stop after the subscription");
        let relay = items[0].relay.clone().unwrap();
        assert_eq!(
            (relay.from.as_str(), relay.from_name.as_str()),
            (publisher.id(), "api")
        );
        assert_eq!(relay.from_seq, Some(published.event.seq));
        assert_eq!(kept.items_after(0).unwrap().len(), 2, "every kind, kept");
        assert!(
            kept.claim().unwrap().is_empty(),
            "kept items are not handed over"
        );
        let claimed = pushed.claim().unwrap();
        assert_eq!(claimed.len(), 1);
        assert!(pushed.claim().unwrap().is_empty(), "claimed once");
        pushed.unclaim(&claimed).unwrap();
        assert_eq!(pushed.claim().unwrap().len(), 1, "given back");
    }

    #[test]
    fn meta_is_read_once_per_handle() {
        let (_dir, store) = store();
        let dir = new_worker(&store, "x");
        assert_eq!(dir.meta().unwrap().name, "x");
        store
            .update_meta(dir.id(), |m| m.name = "y".into())
            .unwrap();
        assert_eq!(dir.meta().unwrap().name, "x", "kept");
        let mut dir = dir;
        dir.reload();
        assert_eq!(dir.meta().unwrap().name, "y");
    }
}
