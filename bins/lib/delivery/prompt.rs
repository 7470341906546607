//! A prompt's fingerprints, and how `tell` recognises its own delivery in the harness's prompt
//! event although the harness may have rewritten the text on the way.
//!
//! The hook records no prompt text, only fingerprints ([`fingerprint`]): the exact hash, a loose
//! hash that survives rewriting, and the envelope a harness wrapped the paste in. What the
//! harnesses were seen to do to a bracketed paste (README, Compatibility):
//! - Claude Code 2.1.197 and 2.1.332 expand each tab to 4 spaces, normalise Unicode to NFC, drop
//!   trailing whitespace at the end, and take a CR as a line break of its own;
//! - Claude Code 2.1.332 wraps a paste of 4 lines or more, or of more than 800 characters, in
//!   `\n\n<pasted_content id="XXXX">\n...\n</pasted_content id="XXXX">\n`, and that is what its
//!   UserPromptSubmit hook gets (and the model sees).

use orch_store::event::Prompt as PromptEvent;
use orch_store::{Event, Kind};
use std::sync::OnceLock;
use unicode_normalization::UnicodeNormalization;

/// A short stable hash of a prompt, as both `tell` and the hook compute it: FNV-1a 64 over the
/// text with CR LF turned into LF and surrounding whitespace trimmed, as 16 hex digits.
pub fn hash(text: &str) -> String {
    fnv(text.replace("\r\n", "\n").trim().bytes())
}

/// The hash of a prompt up to the rewriting harnesses do: the envelope removed
/// ([`unwrap`]), Unicode in compatibility form (NFKC), every whitespace and invisible
/// character dropped. Two texts with the same loose hash differ at most in whitespace,
/// invisible characters, Unicode normal form and envelope. 16 hex digits.
pub fn loose_hash(text: &str) -> String {
    let (inner, _) = unwrap(text);
    // ASCII is its own NFKC and holds no invisible character: the common case, kept cheap
    // for the hook (a 10 MB paste).
    if inner.is_ascii() {
        return fnv(inner
            .bytes()
            .filter(|b| !b.is_ascii_whitespace() && *b != 0x0b));
    }
    let canonical: String = inner
        .nfkc()
        .filter(|c| !c.is_whitespace() && !INVISIBLE.contains(c))
        .collect();
    fnv(canonical.bytes())
}

/// Characters that show nothing and that harnesses strip (Claude Code 2.1.332 and Gemini CLI
/// 0.61 drop a zero-width space): zero-width space, non-joiner and joiner, word joiner,
/// byte order mark, soft hyphen, combining grapheme joiner.
const INVISIBLE: [char; 7] = [
    '\u{200B}', '\u{200C}', '\u{200D}', '\u{2060}', '\u{FEFF}', '\u{00AD}', '\u{034F}',
];

fn fnv(bytes: impl Iterator<Item = u8>) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// The paste envelope's tags: Claude Code 2.1.332's `<pasted_content id="08b8">` and its
/// closing `</pasted_content id="08b8">`.
fn envelope_tag() -> &'static regex_lite::Regex {
    static TAG: OnceLock<regex_lite::Regex> = OnceLock::new();
    TAG.get_or_init(|| {
        regex_lite::Regex::new(r#"\n?</?pasted_content(?: id="[^"]*")?>\n?"#)
            .expect("the envelope pattern is valid")
    })
}

/// The text inside a harness's paste envelope, and the envelope's name (`pasted_content`), or
/// the text as it is and `None` when it has none.
pub fn unwrap(text: &str) -> (String, Option<&'static str>) {
    let tag = envelope_tag();
    if !text.contains("pasted_content") || !tag.is_match(text) {
        return (text.to_string(), None);
    }
    (
        tag.replace_all(text, "").into_owned(),
        Some("pasted_content"),
    )
}

/// The fingerprints the hook records for a prompt the harness reports (the UserPromptSubmit
/// input's `prompt`, as documented in Claude Code's hooks reference, or the equivalent of
/// another harness): `prompt_hash` ([`hash`]), `prompt_len` (characters), `prompt_loose`
/// ([`loose_hash`]) and, when the prompt came in an envelope, `prompt_envelope` (its name) and
/// `prompt_inner_hash` (the [`hash`] of what was inside). Never the text.
pub fn fingerprint(prompt: &str) -> PromptEvent {
    let (inner, envelope) = unwrap(prompt);
    PromptEvent {
        prompt_hash: Some(hash(prompt)),
        prompt_len: Some(prompt.chars().count() as u64),
        prompt_loose: Some(loose_hash(prompt)),
        prompt_envelope: envelope.map(str::to_string),
        prompt_inner_hash: envelope.map(|_| hash(&inner)),
        ..PromptEvent::default()
    }
}

/// One way a harness changed a delivered prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Each tab became this many spaces.
    TabsToSpaces(usize),
    /// Tabs were expanded to tab stops every this many columns.
    TabStops(usize),
    /// Whitespace at the ends of lines was removed.
    TrailingSpace,
    /// Unicode was normalised to NFC (composed).
    Nfc,
    /// Unicode was normalised to NFKC (composed, compatibility characters replaced).
    Nfkc,
    /// The text came wrapped in this envelope (e.g. `pasted_content` tags).
    Envelope(String),
    /// Whitespace or the Unicode form changed in another way.
    Other,
    /// orch itself removed control characters (terminal escapes, ESC, other C0/C1 codes)
    /// before it pasted the text ([`crate::delivery::controls::strip`]).
    ControlsRemoved,
}

impl Change {
    /// A stable code for `--json`: `tabs-expanded`, `trailing-space`, `unicode-nfc`,
    /// `unicode-nfkc`, `envelope`, `whitespace`, `controls-removed`.
    pub fn code(&self) -> &'static str {
        match self {
            Change::TabsToSpaces(_) | Change::TabStops(_) => "tabs-expanded",
            Change::TrailingSpace => "trailing-space",
            Change::Nfc => "unicode-nfc",
            Change::Nfkc => "unicode-nfkc",
            Change::Envelope(_) => "envelope",
            Change::Other => "whitespace",
            Change::ControlsRemoved => "controls-removed",
        }
    }

    /// What happened, for a person: `tabs became 4 spaces`.
    pub fn describe(&self) -> String {
        match self {
            Change::TabsToSpaces(n) => format!("tabs became {n} spaces"),
            Change::TabStops(n) => format!("tabs were expanded to stops every {n} columns"),
            Change::TrailingSpace => "spaces at line ends were removed".into(),
            Change::Nfc => "Unicode was normalised to NFC".into(),
            Change::Nfkc => "Unicode was normalised to NFKC".into(),
            Change::Envelope(name) => format!("it was wrapped in <{name}> tags"),
            Change::Other => "whitespace or the Unicode form changed".into(),
            Change::ControlsRemoved => {
                "orch removed control characters (terminal escapes and other control codes)".into()
            }
        }
    }
}

/// How a prompt event matched a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recognised {
    /// The text arrived changed (the changes say how).
    pub rewritten: bool,
    /// What changed, in the order found; empty when the text arrived as sent.
    pub changes: Vec<Change>,
}

/// The fingerprints of a prompt as `tell` pasted it, to recognise its prompt event.
#[derive(Debug, Clone)]
pub struct Sent {
    /// The forms the text may arrive in: as pasted, and without the guard `tell` put in front
    /// of it (a harness may strip that), each with its exact and loose hash.
    forms: Vec<Form>,
}

#[derive(Debug, Clone)]
struct Form {
    text: String,
    hash: String,
    loose: String,
}

impl Form {
    fn new(text: &str) -> Form {
        Form {
            text: text.to_string(),
            hash: hash(text),
            loose: loose_hash(text),
        }
    }
}

impl Sent {
    /// The fingerprints of `text`, exactly as pasted.
    pub fn new(text: &str) -> Sent {
        Sent {
            forms: vec![Form::new(text)],
        }
    }

    /// The fingerprints of `text`, pasted with `guard` in front of it
    /// ([`crate::harness::HarnessExt::prompt_guard`]): the prompt event may carry it either way.
    pub fn guarded(guard: &str, text: &str) -> Sent {
        let mut sent = Sent::new(&format!("{guard}{text}"));
        if !guard.is_empty() {
            sent.forms.push(Form::new(text));
        }
        sent
    }

    /// The exact hash ([`hash`]) of the text as pasted.
    pub fn hash(&self) -> &str {
        &self.forms[0].hash
    }

    /// Whether the prompt `event` (an orch event of kind `prompt`, with the fields of
    /// [`fingerprint`]) is this delivery: by its exact hash, else by its loose hash (the changes
    /// then say how the text was rewritten, as far as the known rewritings explain it). `None`
    /// for any other event, and for a prompt with other text.
    pub fn recognise(&self, event: &Event) -> Option<Recognised> {
        let Kind::Prompt(prompt) = &event.kind else {
            return None;
        };
        let hash = prompt.prompt_hash.as_deref();
        if self.forms.iter().any(|f| hash == Some(f.hash.as_str())) {
            return Some(Recognised {
                rewritten: false,
                changes: Vec::new(),
            });
        }
        let loose = prompt.prompt_loose.as_deref();
        let mut candidates = self
            .forms
            .iter()
            .filter(|f| loose == Some(f.loose.as_str()))
            .peekable();
        candidates.peek()?;
        let mut changes = Vec::new();
        if let Some(name) = &prompt.prompt_envelope {
            changes.push(Change::Envelope(name.to_string()));
        }
        let inner = prompt.prompt_inner_hash.as_deref().or(hash).unwrap_or("");
        let explained = candidates.find_map(|form| {
            if inner == form.hash {
                Some(Vec::new())
            } else {
                form.explain(inner)
            }
        });
        changes.extend(explained.unwrap_or_else(|| vec![Change::Other]));
        Some(Recognised {
            rewritten: true,
            changes,
        })
    }
}

impl Form {
    /// The known rewritings that turn this text into one with exact hash `target`: the
    /// fewest that do, or `None` when no combination does.
    fn explain(&self, target: &str) -> Option<Vec<Change>> {
        let text = self.text.as_str();
        let mut tabs = vec![None];
        if text.contains('\t') {
            tabs.extend(
                [
                    Change::TabsToSpaces(4),
                    Change::TabsToSpaces(2),
                    Change::TabsToSpaces(8),
                    Change::TabStops(8),
                    Change::TabStops(4),
                ]
                .map(Some),
            );
        }
        let trailing = [None, Some(Change::TrailingSpace)];
        let unicode = [None, Some(Change::Nfc), Some(Change::Nfkc)];
        let mut best: Option<Vec<Change>> = None;
        for tab in &tabs {
            for trail in &trailing {
                for form in &unicode {
                    let steps: Vec<Change> =
                        [tab, trail, form].into_iter().flatten().cloned().collect();
                    if best.as_ref().is_some_and(|b| b.len() <= steps.len()) {
                        continue;
                    }
                    if hash(&apply(text, &steps)) == target {
                        best = Some(steps);
                    }
                }
            }
        }
        best
    }
}

/// `text` with the rewritings `steps` applied in order.
fn apply(text: &str, steps: &[Change]) -> String {
    let mut text = text.to_string();
    for step in steps {
        text = match step {
            Change::TabsToSpaces(n) => text.replace('\t', &" ".repeat(*n)),
            Change::TabStops(n) => expand_tab_stops(&text, *n),
            Change::TrailingSpace => text
                .split('\n')
                .map(str::trim_end)
                .collect::<Vec<_>>()
                .join("\n"),
            Change::Nfc => text.nfc().collect(),
            Change::Nfkc => text.nfkc().collect(),
            Change::Envelope(_) | Change::Other | Change::ControlsRemoved => text,
        };
    }
    text
}

/// `text` with each tab replaced by the spaces up to the next multiple of `stop` columns
/// (counting characters from each line's start).
fn expand_tab_stops(text: &str, stop: usize) -> String {
    let mut out = String::with_capacity(text.len());
    let mut column = 0;
    for c in text.chars() {
        match c {
            '\t' => {
                let pad = stop - column % stop;
                out.extend(std::iter::repeat_n(' ', pad));
                column += pad;
            }
            '\n' => {
                out.push(c);
                column = 0;
            }
            _ => {
                out.push(c);
                column += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The prompt event the hook records for a harness that reported `prompt`.
    fn event(prompt: &str) -> Event {
        Event {
            seq: 1,
            ts: String::new(),
            ts_ms: 0,
            kind: Kind::Prompt(fingerprint(prompt)),
            relay: None,
        }
    }

    #[test]
    fn the_ascii_loose_hash_drops_what_the_unicode_one_drops() {
        let ascii = "a b\tc\x0bd\x0ce\r\nf";
        assert_eq!(loose_hash(ascii), loose_hash("abcdef"));
        // The same text with one non-ASCII character takes the NFKC path: same result.
        assert_eq!(
            loose_hash(&format!("{ascii}\u{200B}")),
            loose_hash("abcdef")
        );
    }

    #[test]
    fn hash_ignores_surrounding_space_and_crlf() {
        assert_eq!(hash(" !ls\n"), hash("!ls"));
        assert_eq!(hash("a\r\nb"), hash("a\nb"));
        assert_ne!(hash("a"), hash("b"));
    }

    #[test]
    fn an_unchanged_prompt_is_recognised_exactly() {
        let sent = Sent::new("fix the build\nthen push");
        let got = sent
            .recognise(&event("fix the build\nthen push\n"))
            .unwrap();
        assert!(!got.rewritten);
        assert!(got.changes.is_empty());
        assert_eq!(sent.recognise(&event("something else")), None);
        let stop = Event {
            kind: Kind::Stop(Default::default()),
            ..event("")
        };
        assert_eq!(sent.recognise(&stop), None);
    }

    #[test]
    fn expanded_tabs_are_recognised_and_named() {
        let sent = Sent::new("func main() {\n\tfmt.Println(\"hi\")\n}");
        let got = sent
            .recognise(&event("func main() {\n    fmt.Println(\"hi\")\n}"))
            .unwrap();
        assert!(got.rewritten);
        assert_eq!(got.changes, [Change::TabsToSpaces(4)]);
        let stops = sent
            .recognise(&event("func main() {\n        fmt.Println(\"hi\")\n}"))
            .unwrap();
        assert_eq!(stops.changes, [Change::TabsToSpaces(8)]);
        let cols = Sent::new("ab\tc").recognise(&event("ab      c")).unwrap();
        assert_eq!(cols.changes, [Change::TabStops(8)]);
    }

    #[test]
    fn claude_codes_envelope_is_unwrapped() {
        // Claude Code 2.1.332's UserPromptSubmit prompt for a pasted five-line text with a tab.
        let sent = Sent::new("l1\nl2\nl3\nl4\tx\nl5");
        let wrapped = "\n\n<pasted_content id=\"08b8\">\nl1\nl2\nl3\nl4    x\nl5\n\
                       </pasted_content id=\"08b8\">\n";
        let got = sent.recognise(&event(wrapped)).unwrap();
        assert!(got.rewritten);
        assert_eq!(
            got.changes,
            [
                Change::Envelope("pasted_content".into()),
                Change::TabsToSpaces(4)
            ]
        );
        let plain = Sent::new("y".repeat(900).as_str());
        let got = plain
            .recognise(&event(&format!(
                "\n\n<pasted_content id=\"41ad\">\n{}\n</pasted_content id=\"41ad\">\n",
                "y".repeat(900)
            )))
            .unwrap();
        assert_eq!(got.changes, [Change::Envelope("pasted_content".into())]);
    }

    #[test]
    fn unicode_normal_forms_and_line_end_spaces_are_recognised() {
        let decomposed = "cafe\u{301} 中文 😀";
        let sent = Sent::new(decomposed);
        let got = sent.recognise(&event("café 中文 😀")).unwrap();
        assert_eq!(got.changes, [Change::Nfc]);
        let spaces = Sent::new("a  \nb");
        let got = spaces.recognise(&event("a\nb")).unwrap();
        assert_eq!(got.changes, [Change::TrailingSpace]);
        // Collapsed runs of spaces: recognised, but no known rewriting explains it.
        let runs = Sent::new("a   b");
        assert_eq!(
            runs.recognise(&event("a b")).unwrap().changes,
            [Change::Other]
        );
        // A different word is another prompt.
        assert_eq!(Sent::new("a b").recognise(&event("a c")), None);
    }

    #[test]
    fn a_stripped_guard_is_no_rewrite() {
        let sent = Sent::guarded("\\", "/clear is a question");
        assert_eq!(sent.hash(), hash("\\/clear is a question"));
        let kept = sent.recognise(&event("\\/clear is a question")).unwrap();
        assert!(!kept.rewritten);
        let stripped = sent.recognise(&event("/clear is a question")).unwrap();
        assert!(!stripped.rewritten);
        let zwsp = Sent::guarded("\u{200B}", "!ls\tnow");
        let got = zwsp.recognise(&event("!ls    now")).unwrap();
        assert_eq!(got.changes, [Change::TabsToSpaces(4)]);
    }

    #[test]
    fn fingerprints_name_the_envelope_only_when_there_is_one() {
        let plain = fingerprint("hi\tthere");
        assert_eq!(plain.prompt_len, Some(8));
        assert_eq!(plain.prompt_envelope, None);
        let wrapped = fingerprint("<pasted_content id=\"1\">\nhi\n</pasted_content id=\"1\">");
        assert_eq!(wrapped.prompt_envelope.as_deref(), Some("pasted_content"));
        assert_eq!(wrapped.prompt_inner_hash, Some(hash("hi")));
        assert_eq!(wrapped.prompt_loose, Some(loose_hash("hi")));
    }
}
