//! Shell quoting for the plan script: every value is quoted so that the script means exactly
//! the argv the engine runs, whatever the answers contain.

/// Quotes one word for bash: bare when every character is safe, else in single quotes (with
/// `'` written as `'\''`, the only character single quotes cannot hold).
pub fn quote(word: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "_-./:=,@%+".contains(c);
    if !word.is_empty() && word.chars().all(safe) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// Quotes a word in which some values stand for shell variables: a leading `~/` becomes
/// `"$HOME"/` (quoting a tilde would stop its expansion) and each occurrence of a variable's
/// value becomes `"${NAME}"`. `vars` pairs a value with the variable's name.
pub fn word(text: &str, vars: &[(&str, &str)]) -> String {
    let (mut out, mut rest) = match text.strip_prefix("~/") {
        Some(rest) => (String::from("\"$HOME\"/"), rest),
        None => (String::new(), text),
    };
    loop {
        let next = vars
            .iter()
            .filter(|(value, _)| !value.is_empty())
            .filter_map(|(value, name)| rest.find(value).map(|at| (at, *value, *name)))
            .min_by_key(|(at, _, _)| *at);
        let Some((at, value, name)) = next else { break };
        if at > 0 {
            out.push_str(&quote(&rest[..at]));
        }
        out.push_str(&format!("\"${{{name}}}\""));
        rest = &rest[at + value.len()..];
    }
    if !rest.is_empty() || out.is_empty() {
        out.push_str(&quote(rest));
    }
    out
}

/// Wraps comment text into `# ` lines of at most `width` characters.
pub fn comment(text: &str, width: usize) -> String {
    let mut lines = Vec::new();
    let mut line = String::from("#");
    for w in text.split_whitespace() {
        if line.len() + 1 + w.len() > width && line.len() > 1 {
            lines.push(std::mem::replace(&mut line, String::from("#")));
        }
        line.push(' ');
        line.push_str(w);
    }
    lines.push(line);
    lines.join("\n") + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_words_stay_bare_and_the_rest_is_single_quoted() {
        assert_eq!(quote("us-east-1a,us-east-1b"), "us-east-1a,us-east-1b");
        assert_eq!(
            quote("arn:aws:iam::aws:policy/IAMFullAccess"),
            "arn:aws:iam::aws:policy/IAMFullAccess"
        );
        assert_eq!(quote(""), "''");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("$(rm -rf /)"), "'$(rm -rf /)'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote("`x`;|&<>*?"), "'`x`;|&<>*?'");
    }

    #[test]
    fn quoted_words_mean_the_same_to_bash() {
        for original in
            ["plain", "a b", "it's", "$HOME", "\"q\"", "back\\slash", "`id`", "new\nline", ""]
        {
            let out = std::process::Command::new("bash")
                .args(["-c", &format!("printf %s {}", quote(original))])
                .output()
                .unwrap();
            assert_eq!(String::from_utf8(out.stdout).unwrap(), original);
        }
    }

    #[test]
    fn variables_and_home() {
        let vars = [("acme bucket", "BUCKET")];
        assert_eq!(word("s3://acme bucket", &vars), "s3://\"${BUCKET}\"");
        assert_eq!(word("acme bucket", &vars), "\"${BUCKET}\"");
        assert_eq!(word("~/.ssh/kops.pub", &vars), "\"$HOME\"/.ssh/kops.pub");
        assert_eq!(word("~/my keys/k", &vars), "\"$HOME\"/'my keys/k'");
        assert_eq!(word("/abs/k", &[]), "/abs/k");
        assert_eq!(word("", &[]), "''");
    }

    #[test]
    fn comments_wrap() {
        assert_eq!(comment("one two three", 9), "# one two\n# three\n");
        assert_eq!(comment("short", 80), "# short\n");
    }
}
