//! Words for `/bin/sh`: orch builds a few command lines a shell will run (the hook command
//! in Claude Code's settings, a pane's command under tmux, a command over ssh), and every word
//! of them that came from a path, an id or a user goes through [`quote`].

/// `word` as one `/bin/sh` word: unchanged when it holds only characters the shell takes
/// literally, else in single quotes (an embedded `'` becomes `'\''`).
pub fn quote(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._-+=:,@%".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::quote;

    #[test]
    fn quotes_only_what_the_shell_would_change() {
        assert_eq!(quote("/usr/bin/orch-hook"), "/usr/bin/orch-hook");
        assert_eq!(quote("/a b/orch-hook"), "'/a b/orch-hook'");
        assert_eq!(quote("/it's/orch-hook"), r"'/it'\''s/orch-hook'");
        assert_eq!(quote(""), "''");
        assert_eq!(quote("$(rm -rf ~)"), "'$(rm -rf ~)'");
    }
}
