//! The journal format: a file of [`Event`]s, one JSON object per line, each with a sequence
//! number `seq` (1, 2, 3... never repeated, contiguous): a worker's event log (`events.jsonl`)
//! and its inbox (`inbox.jsonl`) are journals. Only the worker's folder ([`crate::worker`])
//! appends to one, so that every event reaches its subscribers.
//!
//! Appends hold an fs2 lock on `events.jsonl.lock` and write one whole line in one `write`;
//! readers take no lock and only ever use lines that end in a newline, so they never see half
//! an event. Both the next sequence number and the events after a cursor are found by reading
//! the file backwards from its end: the cost is the size of the new events, not of the log.
//!
//! A line that is not an event (a JSON object with a numeric `seq`) is skipped by every reader
//! and by the append, whatever wrote it (a crash in the middle of another writer, a stray
//! `echo`): the next event is numbered after the newest valid one, never from 1 again.
//! [`scan`] counts such lines for `orch doctor`.

use crate::event::{Event, Kind, Relay};
use anyhow::{Context, Result};
use serde_json::Value;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

/// How many bytes a backward read takes at a time.
const CHUNK: u64 = 16 * 1024;

/// Appends an event of `kind` (an inbox item when `relay` says where it came from) to the log
/// file `path` and, while still holding its lock, calls `then` with it: work done there (such
/// as copying it into subscribers' inboxes) happens in the order of the log. Returns it.
///
/// The line written is `{"seq":N,"event":KIND,"ts":RFC3339,"ts_ms":MS,...fields}`
/// ([`Event::to_json`]). A partial last line left by a crash is cut off first, so the log stays
/// whole lines.
///
/// Errors: the log cannot be locked, read or written (named), or `then` fails (the event is
/// written then).
pub(crate) fn append(
    path: &Path,
    kind: Kind,
    relay: Option<Relay>,
    then: impl FnOnce(&Event) -> Result<()>,
) -> Result<Event> {
    let _lock = crate::files::Lock::acquire(path)?;
    let (mut file, last) = open_to_append(path)?;
    let now = crate::clock::now_ms();
    let event = Event {
        seq: last + 1,
        ts: crate::clock::rfc3339(now),
        ts_ms: now,
        kind,
        relay,
    };
    write_line(&mut file, path, &event.to_json())?;
    then(&event)?;
    Ok(event)
}

/// Appends `event`, a whole event of another log that this one mirrors (a remote worker's,
/// mirrored by orch's relay), as it is, if its `seq` is the next one here; then calls `then`
/// with it, under the lock. Returns whether it was appended: `false` for an event already here
/// (a stream that starts again may repeat one).
///
/// Errors: the event leaves a gap (an event before it is missing), or the log cannot be
/// written.
pub(crate) fn append_copy(
    path: &Path,
    event: &Event,
    then: impl FnOnce(&Event) -> Result<()>,
) -> Result<bool> {
    let seq = event.seq;
    let _lock = crate::files::Lock::acquire(path)?;
    let (mut file, last) = open_to_append(path)?;
    if seq <= last {
        return Ok(false);
    }
    anyhow::ensure!(
        seq == last + 1,
        "event {seq} would leave a gap after {last} in `{}`",
        path.display()
    );
    write_line(&mut file, path, &event.to_json())?;
    then(event)?;
    Ok(true)
}

/// Writes `value` and a newline in one write.
fn write_line(file: &mut File, path: &Path, value: &Value) -> Result<()> {
    let mut line = serde_json::to_vec(value)?;
    line.push(b'\n');
    file.write_all(&line)
        .with_context(|| format!("cannot append to `{}`", path.display()))
}

/// Opens the log file `path` to append (created 0600 when missing), cuts off a partial last
/// line left by a crash, and returns it with its last sequence number. The caller holds the
/// log's lock.
fn open_to_append(path: &Path) -> Result<(File, u64)> {
    let mut file = crate::files::open_log(path)?;
    let len = file.metadata()?.len();
    let (last, whole_len) = last_seq_and_end(&mut file, len)
        .with_context(|| format!("cannot read `{}`", path.display()))?;
    if whole_len != len {
        file.set_len(whole_len)
            .with_context(|| format!("cannot repair `{}`", path.display()))?;
    }
    Ok((file, last))
}

/// The sequence number of the last event in the log file `path` (0 when there is none).
///
/// Errors: the log cannot be read.
pub fn last_seq(path: &Path) -> Result<u64> {
    let Some((mut file, len)) = open_log(path)? else {
        return Ok(0);
    };
    Ok(last_seq_and_end(&mut file, len)?.0)
}

/// The events of the log file `path` with `seq > after`, oldest first.
///
/// Errors: the log cannot be read.
pub fn read_after(path: &Path, after: u64) -> Result<Vec<Event>> {
    read_back(path, |event| event.seq <= after)
}

/// The newest events of the log file `path`, oldest first, back to and including the newest
/// one for which `found` is true (or the whole log when none is).
///
/// Errors: the log cannot be read.
pub fn read_back_to(path: &Path, mut found: impl FnMut(&Event) -> bool) -> Result<Vec<Event>> {
    let mut hit = false;
    read_back(path, |event| {
        if hit {
            return true;
        }
        hit = found(event);
        false
    })
}

/// Reads lines backwards from the end until `older(event)` is true for one (that line and
/// all before it are left out); returns the rest oldest first. Lines that are not events are
/// passed over.
fn read_back(path: &Path, mut older: impl FnMut(&Event) -> bool) -> Result<Vec<Event>> {
    let Some((mut file, len)) = open_log(path)? else {
        return Ok(Vec::new());
    };
    let mut newest_first = Vec::new();
    lines_back(&mut file, len, |line| {
        // Not an event: skipped, never taken for the cursor's line.
        let Some(event) = serde_json::from_slice::<Value>(line)
            .ok()
            .and_then(Event::from_json)
        else {
            return false;
        };
        if older(&event) {
            return true;
        }
        newest_first.push(event);
        false
    })
    .with_context(|| format!("cannot read `{}`", path.display()))?;
    newest_first.reverse();
    Ok(newest_first)
}

fn open_log(path: &Path) -> Result<Option<(File, u64)>> {
    match File::open(path) {
        Ok(file) => {
            let len = file.metadata()?.len();
            Ok(Some((file, len)))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot open `{}`", path.display())),
    }
}

/// The `seq` of the newest valid event (0 when there is none) and the length of the file's
/// whole lines. Lines that are not events are passed over.
fn last_seq_and_end(file: &mut File, len: u64) -> std::io::Result<(u64, u64)> {
    let mut last = 0;
    let end = lines_back(file, len, |line| match seq_of(line) {
        Some(seq) => {
            last = seq;
            true
        }
        None => false,
    })?;
    Ok((last, end))
}

/// The `seq` of a log line that is an event: read from its `{"seq":N,` prefix when the line
/// is one of orch's own (`{...}`), else by parsing it; `None` for anything else.
fn seq_of(line: &[u8]) -> Option<u64> {
    let prefix = b"{\"seq\":";
    if let Some(rest) = line.strip_prefix(prefix).filter(|_| line.ends_with(b"}")) {
        let n = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        if n > 0 && matches!(rest.get(n), Some(b',' | b'}')) {
            if let Ok(seq) = std::str::from_utf8(&rest[..n]).unwrap_or("").parse() {
                return Some(seq);
            }
        }
    }
    serde_json::from_slice::<Value>(line)
        .ok()?
        .as_object()?
        .get("seq")?
        .as_u64()
}

/// What [`scan`] found in a log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Health {
    /// Valid events.
    pub events: u64,
    /// 1-based numbers of the complete lines that are not events (skipped by every reader).
    pub bad_lines: Vec<u64>,
    /// Bytes after the last newline (a write cut short; the next append removes them).
    pub torn_tail: u64,
}

/// Reads the whole log file `path` and says which lines are not events (for `orch doctor`;
/// O(log), never on a hot path). A missing file is a healthy empty log.
///
/// Errors: the file cannot be read.
pub fn scan(path: &Path) -> Result<Health> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Health::default()),
        Err(e) => return Err(e).with_context(|| format!("cannot read `{}`", path.display())),
    };
    let whole = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let mut health = Health {
        torn_tail: (bytes.len() - whole) as u64,
        ..Health::default()
    };
    for (n, line) in bytes[..whole].split(|&b| b == b'\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        match seq_of(line) {
            Some(_) => health.events += 1,
            None => health.bad_lines.push(n as u64 + 1),
        }
    }
    Ok(health)
}

/// Calls `visit` on each complete (newline-terminated, non-empty) line of the file's first
/// `len` bytes, newest first, until it returns true. Returns the length of the whole lines
/// (that is, `len` minus a partial last line).
fn lines_back(
    file: &mut File,
    len: u64,
    mut visit: impl FnMut(&[u8]) -> bool,
) -> std::io::Result<u64> {
    let mut pos = len;
    let mut buf: Vec<u8> = Vec::new(); // file[pos .. pos + buf.len()]
    let mut end: Option<u64> = None; // length of whole lines, once found
    let mut cut = 0usize; // bytes at the end of buf already visited or partial
    loop {
        // At least as much as is held already: a long line costs O(its length) to reach,
        // not O(length² / CHUNK) of copies.
        let step = CHUNK.max(buf.len() as u64).min(pos);
        pos -= step;
        let mut chunk = vec![0; step as usize];
        file.seek(SeekFrom::Start(pos))?;
        file.read_exact(&mut chunk)?;
        chunk.extend_from_slice(&buf);
        buf = chunk;
        let mut upto = buf.len() - cut; // buf[..upto] not yet handled
        if end.is_none() {
            match buf[..upto].iter().rposition(|&b| b == b'\n') {
                Some(i) => {
                    end = Some(pos + i as u64 + 1);
                    cut = buf.len() - (i + 1);
                    upto = i + 1;
                }
                None if pos == 0 => return Ok(0),
                None => continue,
            }
        }
        // buf[..upto] ends with '\n'; visit lines from the end while their start is known.
        loop {
            let body = &buf[..upto - 1];
            match body.iter().rposition(|&b| b == b'\n') {
                Some(i) => {
                    let line = &buf[i + 1..upto - 1];
                    if !line.is_empty() && visit(line) {
                        return Ok(end.unwrap_or(0));
                    }
                    cut = buf.len() - (i + 1);
                    upto = i + 1;
                }
                None if pos == 0 => {
                    if !body.is_empty() {
                        visit(body);
                    }
                    return Ok(end.unwrap_or(0));
                }
                None => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Other, Stop};
    use std::fs::OpenOptions;

    /// A Stop whose last message is `text`.
    fn stop(text: &str) -> Kind {
        Kind::Stop(Stop {
            last_assistant_message: Some(text.into()),
            ..Stop::default()
        })
    }

    fn add(path: &Path, kind: Kind) -> u64 {
        append(path, kind, None, |_| Ok(())).unwrap().seq
    }

    fn other(name: &str) -> Kind {
        Kind::Other(Other {
            hook_event_name: Some(name.into()),
            ..Other::default()
        })
    }

    #[test]
    fn sequence_starts_at_one_and_counts_up() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("events.jsonl");
        assert_eq!(last_seq(&log).unwrap(), 0);
        for n in 1..=5 {
            assert_eq!(add(&log, stop(&n.to_string())), n);
        }
        assert_eq!(last_seq(&log).unwrap(), 5);
        let after = read_after(&log, 3).unwrap();
        let seqs: Vec<u64> = after.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, [4, 5]);
        assert_eq!(after[0].kind.message(), Some("4"));
        assert_eq!(after[0].kind.name(), "stop");
    }

    #[test]
    fn long_events_span_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("events.jsonl");
        let big = "x".repeat(50_000);
        for _ in 0..4 {
            add(&log, stop(&big));
        }
        assert_eq!(last_seq(&log).unwrap(), 4);
        let all = read_after(&log, 0).unwrap();
        assert_eq!(all.len(), 4);
        assert!(all
            .iter()
            .all(|e| e.kind.message().unwrap().len() == 50_000));
        assert_eq!(read_after(&log, 2).unwrap().len(), 2);
    }

    #[test]
    fn partial_last_line_is_ignored_then_repaired() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        add(&path, other("a"));
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{\"seq\":2,\"event\":\"half").unwrap();
        assert_eq!(last_seq(&path).unwrap(), 1);
        assert_eq!(read_after(&path, 0).unwrap().len(), 1);
        assert_eq!(add(&path, other("b")), 2);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 2);
        assert!(text
            .lines()
            .all(|l| serde_json::from_str::<Value>(l).is_ok()));
    }

    #[test]
    fn a_garbage_last_line_never_restarts_the_sequence() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        for _ in 0..3 {
            add(&path, stop("x"));
        }
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        // A stray echo, a line torn by another writer's crash, JSON that is not an event.
        f.write_all(b"hello\n{\"seq\":9,\"event\":\"cut\n[1,2]\n{\"event\":\"x\"}\n\"str\"\n")
            .unwrap();
        drop(f);
        assert_eq!(last_seq(&path).unwrap(), 3);
        assert_eq!(add(&path, stop("y")), 4);
        // Readers skip the bad lines and see every event on both sides of them.
        let seqs: Vec<u64> = read_after(&path, 1)
            .unwrap()
            .iter()
            .map(|e| e.seq)
            .collect();
        assert_eq!(seqs, [2, 3, 4]);
        let health = scan(&path).unwrap();
        assert_eq!(health.events, 4);
        assert_eq!(health.bad_lines, [4, 5, 6, 7, 8]);
        assert_eq!(health.torn_tail, 0);
        assert!(seq_of(b"{\"seq\":12garbage}").is_none());
        assert_eq!(seq_of(b"{\"seq\":12,\"event\":\"stop\"}"), Some(12));
        assert_eq!(seq_of(b"{\"event\":\"stop\",\"seq\":7}"), Some(7));
    }

    #[test]
    fn concurrent_appends_are_contiguous_whole_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let path = path.clone();
                std::thread::spawn(move || {
                    for i in 0..25 {
                        add(&path, stop(&"y".repeat(1000 * (i % 7))));
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let seqs: Vec<u64> = read_after(&path, 0)
            .unwrap()
            .iter()
            .map(|e| e.seq)
            .collect();
        assert_eq!(seqs, (1..=200).collect::<Vec<u64>>());
    }

    #[test]
    fn read_back_to_stops_at_the_found_event() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        for name in ["spawned", "stop", "prompt", "notification"] {
            add(&path, other(name));
        }
        let tail = read_back_to(
            &path,
            |e| matches!(&e.kind, Kind::Other(o) if o.hook_event_name.as_deref() == Some("stop")),
        )
        .unwrap();
        assert_eq!(tail.iter().map(|e| e.seq).collect::<Vec<_>>(), [2, 3, 4]);
    }

    #[test]
    fn a_copy_is_appended_only_as_the_next_event() {
        let dir = tempfile::tempdir().unwrap();
        let theirs = dir.path().join("theirs.jsonl");
        let ours = dir.path().join("ours.jsonl");
        for n in 0..3 {
            add(&theirs, stop(&n.to_string()));
        }
        let events = read_after(&theirs, 0).unwrap();
        assert!(append_copy(&ours, &events[0], |_| Ok(())).unwrap());
        assert!(
            !append_copy(&ours, &events[0], |_| Ok(())).unwrap(),
            "a repeat"
        );
        assert!(append_copy(&ours, &events[2], |_| Ok(())).is_err(), "a gap");
        assert!(append_copy(&ours, &events[1], |_| Ok(())).unwrap());
        assert_eq!(
            std::fs::read_to_string(&ours).unwrap(),
            std::fs::read_to_string(&theirs)
                .unwrap()
                .lines()
                .take(2)
                .map(|l| format!("{l}\n"))
                .collect::<String>()
        );
    }
}
