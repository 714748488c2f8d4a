//! User-facing text that explains kops and AWS pitfalls, kept in one place so that the
//! validation rules, the plan script, `doctor` and the front ends all say the same thing.

pub const AFTER_HELP: &str = "\
Exit codes: 0 done; 1 a step failed (AWS or kops error, validation timed out); \
2 bad input or usage (nothing was changed); 130 interrupted.

Examples:
  kops-wizard                                   guided setup in the full-screen UI
  kops-wizard plan -c config.toml               the shell script setup would run, changes nothing
  kops-wizard setup --yes -c config.toml        setup without questions (CI, scripts)
  kops-wizard teardown                          delete what setup created";

/// Why `weave` is refused.
pub const WEAVE_REMOVED: &str = "weave was removed from kops in 1.28 (kops fails with `unknown \
networking mode \"weave\"`); use cilium, the default, or calico";

/// Why `canal` is refused.
pub const CANAL_REMOVED: &str =
    "canal was removed from kops in 1.34; use cilium, the default, or calico";

/// The networking modes today's kops offers on AWS, default first.
pub const NETWORKING_MODES: &[&str] =
    &["cilium", "calico", "flannel", "amazonvpc", "kindnet", "kube-router", "kubenet"];

/// The seven policies kops needs. The seed procedure attached five; without SQS and EventBridge
/// `kops delete cluster` fails with AccessDenied.
pub const KOPS_POLICIES: &[&str] = &[
    "arn:aws:iam::aws:policy/AmazonEC2FullAccess",
    "arn:aws:iam::aws:policy/AmazonRoute53FullAccess",
    "arn:aws:iam::aws:policy/AmazonS3FullAccess",
    "arn:aws:iam::aws:policy/IAMFullAccess",
    "arn:aws:iam::aws:policy/AmazonVPCFullAccess",
    "arn:aws:iam::aws:policy/AmazonSQSFullAccess",
    "arn:aws:iam::aws:policy/AmazonEventBridgeFullAccess",
];

/// Said before anything changes (Review, `--plain`'s review, `--dry-run`'s plan, the README):
/// a key with IAMFullAccess can make itself anything, so the user should know what it is,
/// where it is kept and that teardown takes it back. `None` when no such policy is attached.
/// `policies` are short names (`IAMFullAccess`), `kept_in` the credentials file.
pub fn admin_disclosure(policies: &[&str], kept_in: &str) -> Option<String> {
    let admin = policies.iter().find(|p| matches!(**p, "IAMFullAccess" | "AdministratorAccess"))?;
    Some(format!(
        "{admin} is among them: the kops user's key can do anything an admin can. It is kept \
         only in {kept_in}; teardown deletes the user and its key."
    ))
}

pub const MISSING_POLICY: &str = "kops's documentation lists seven policies; without \
AmazonSQSFullAccess and AmazonEventBridgeFullAccess `kops delete cluster` fails with AccessDenied";

pub const SMALL_CONTROL_PLANE: &str = "a control plane with less than 4 GiB of memory typically \
never validates; kops's default is t3.medium (4 GiB)";

pub const GOSSIP_NAME: &str = "a name ending in .k8s.local used to mean gossip DNS; since kops \
1.29 a new cluster without a DNS zone uses no DNS at all (kops warns `Gossip is deprecated, using \
None DNS instead`) and reaches the API through a load balancer; gossip is removed in 1.37. Set \
cluster.dns_zone to use a Route 53 zone instead";

/// Comments the plan script carries where it departs from the team's old procedure.
pub mod departs {
    pub const POLICIES: &str = "The old procedure attached 5 policies; kops now needs 7: without \
SQS and EventBridge access `kops delete cluster` fails with AccessDenied.";
    pub const ACCESS_KEY: &str = "The old procedure printed the secret and exported it by hand; \
here it goes straight into the credentials file (mode 0600) and is never shown.";
    pub const ENCRYPTION: &str = "The old procedure only turned on versioning; default encryption \
and the public access block keep the cluster's secrets in the bucket private.";
    pub const BUCKET_FIRST: &str = "The old procedure made the IAM group and user first; the \
bucket comes first here because the team's lock lives in it: the IAM the team shares changes only \
under that lock, so two engineers starting at once cannot both make (or both find) it.";
    pub const SSH_KEY: &str = "The old procedure generated the key after creating the cluster and \
swapped it in with `kops create secret ... sshpublickey` (a hidden alias today); passing \
--ssh-public-key to `kops create cluster` does it in one step.";
    pub const CREATE_CLUSTER: &str = "The old procedure used --networking weave (removed in kops \
1.28), --master-size (now --control-plane-size) and t2.micro (control planes under 4 GiB rarely \
validate).";
    pub const KOPS_USER: &str = "kops runs as the kops user: AWS_PROFILE selects it, and every \
credential variable is cleared (keys, tokens, web identity, roles): any of them would win over AWS_PROFILE.";
    pub const UPDATE: &str = "Without --admin the exported kubeconfig has no credentials and \
kubectl gets Unauthorized.";
    pub const VALIDATE: &str = "\"API DNS not ready yet\" during the first minutes is normal.";
    pub const SMOKE_TEST: &str = "The old procedure ended at a validated cluster; its diagram puts \
a Network Load Balancer in front of the pods, so two pods must answer through one. Teardown \
deletes it first: kops's delete does not wait for a Service's load balancer.";
    pub const VERSIONED_BUCKET: &str = "A versioned bucket can only be deleted once every object \
version and delete marker is gone; kops delete cluster leaves them behind.";
}

/// Where a value in the plan is a placeholder because the answers do not give it.
pub const BUCKET_PLACEHOLDER: &str = "state_store.bucket is not set: bucket names are global, \
so there is no default. Set it in the answers file, or export KOPS_WIZARD_BUCKET before running \
this script";

/// How long something took, the one way every front end shows it: `12.3s`, or `2m05s` from a
/// minute on.
pub fn elapsed(d: std::time::Duration) -> String {
    let s = d.as_secs();
    if s >= 60 { format!("{}m{:02}s", s / 60, s % 60) } else { format!("{:.1}s", d.as_secs_f64()) }
}

/// Text from outside (kops's output and errors, AWS's messages, file and object names) as it
/// may reach a terminal: escape sequences (CSI, OSC, DCS and the other string controls, in
/// their 7-bit and 8-bit forms) are dropped whole, so that none can retitle, clear or move
/// about the user's terminal, and so are other control characters but the newline and the tab
/// (a bare carriage return could draw over a line). The journal and the log keep the original,
/// escaped by their formats (JSON, tracing's own sanitising).
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' | '\t' => out.push(c),
            '\u{1b}' => match chars.next() {
                // CSI: parameters and intermediates up to one final byte in @..~.
                Some('[') => skip_csi(&mut chars),
                // OSC, DCS, SOS, PM, APC: a string up to BEL or ST (ESC \).
                Some(']' | 'P' | 'X' | '^' | '_') => skip_string(&mut chars),
                // A two-character sequence (ESC c resets the terminal), or a lone ESC.
                Some(_) | None => {}
            },
            '\u{9b}' => skip_csi(&mut chars),
            '\u{9d}' | '\u{90}' | '\u{98}' | '\u{9e}' | '\u{9f}' => skip_string(&mut chars),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Parameters and intermediates (0x20..0x3F), then one final byte (0x40..0x7E); a character
/// that is neither ends a malformed sequence and is read again as text.
fn skip_csi(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while let Some(&c) = chars.peek() {
        if ('\u{20}'..='\u{3f}').contains(&c) {
            chars.next();
        } else {
            if ('\u{40}'..='\u{7e}').contains(&c) {
                chars.next();
            }
            return;
        }
    }
}

fn skip_string(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while let Some(c) = chars.next() {
        match c {
            '\u{7}' | '\u{9c}' => return,
            '\u{1b}' if chars.peek() == Some(&'\\') => {
                chars.next();
                return;
            }
            _ => {}
        }
    }
}

/// Whether the terminal's locale says it cannot show UTF-8: `LC_ALL`, else `LC_CTYPE`, else
/// `LANG` (the first one set) names a charset that is not UTF-8 (`C`, `POSIX`,
/// `en_US.ISO-8859-1`). With none set the terminal is taken to be UTF-8, as nearly all are.
pub fn ascii_locale(var: impl Fn(&str) -> Option<String>) -> bool {
    let Some(locale) =
        ["LC_ALL", "LC_CTYPE", "LANG"].iter().find_map(|name| var(name).filter(|v| !v.is_empty()))
    else {
        return false;
    };
    let locale = locale.to_ascii_lowercase();
    !(locale.contains("utf-8") || locale.contains("utf8"))
}

/// The symbols the line modes print, in ASCII, for a terminal whose locale is not UTF-8;
/// any other character outside ASCII becomes `?` rather than bytes the terminal would garble.
pub fn ascii(text: &str) -> std::borrow::Cow<'_, str> {
    if text.is_ascii() {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '✔' => out.push('+'),
            '✘' => out.push('x'),
            '…' => out.push_str("..."),
            '▶' | '›' => out.push('>'),
            '‹' => out.push('<'),
            '·' | '─' | '—' | '–' => out.push('-'),
            '│' => out.push('|'),
            '┌' | '┐' | '└' | '┘' => out.push('+'),
            '×' => out.push('x'),
            '≈' => out.push('~'),
            '→' => out.push_str("->"),
            '←' => out.push_str("<-"),
            '↑' => out.push('^'),
            '↓' => out.push('v'),
            c if c.is_ascii() => out.push(c),
            _ => out.push('?'),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// One terminal cell's symbol in ASCII, one character wide (the full screen's borders,
/// scrollbars and marks); `None` when it is ASCII already.
pub fn ascii_cell(symbol: &str) -> Option<&'static str> {
    if symbol.is_ascii() {
        return None;
    }
    Some(match symbol {
        "─" | "━" | "═" | "·" | "—" | "–" => "-",
        "│" | "┃" | "║" => "|",
        "┌" | "┐" | "└" | "┘" | "├" | "┤" | "┬" | "┴" | "┼" | "╭" | "╮" | "╰" | "╯" => {
            "+"
        }
        "✔" => "+",
        "✘" | "×" => "x",
        "…" => ".",
        "▶" | "›" | "→" => ">",
        "‹" | "←" => "<",
        "▲" | "↑" => "^",
        "▼" | "↓" => "v",
        "█" | "▐" | "▌" => "#",
        "≈" => "~",
        _ => "?",
    })
}

/// A short text from the team's record or the lock (an ARN, a host name, the cluster a mark
/// names): anyone who can write the state bucket wrote it, so it is shown on one line: escape
/// sequences dropped whole (as [`printable`] does), the control characters left (a newline, a
/// tab) made visible, so that none can start a line that looks like the wizard's own; and cut
/// at [`ONE_LINE_MAX`] characters.
pub fn one_line(text: &str) -> String {
    let mut out = String::new();
    for (i, c) in printable(text).chars().enumerate() {
        if i == ONE_LINE_MAX {
            out.push('…');
            break;
        }
        match c {
            c if c.is_control() => out.extend(c.escape_default()),
            c => out.push(c),
        }
    }
    out
}

/// How much of a text from the record [`one_line`] shows.
pub const ONE_LINE_MAX: usize = 160;

/// Control characters made visible (`\u{1b}`), for a message that quotes bad input back so the
/// user can see what is wrong with it; newlines stay.
pub fn escaped(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\n' => c.to_string(),
            c if c.is_control() => c.escape_default().to_string(),
            c => c.to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_from_the_record_stays_on_one_bounded_line() {
        assert_eq!(one_line("alice-laptop"), "alice-laptop");
        assert_eq!(one_line("host\nsetup done.\u{1b}[2J\u{1b}]0;t\u{7}"), "host\\nsetup done.");
        let long = "x".repeat(500);
        assert_eq!(one_line(&long).chars().count(), ONE_LINE_MAX + 1);
    }

    #[test]
    fn printable_drops_every_escape_sequence_whole_and_keeps_the_words() {
        let cases = [
            // A title change by OSC, ended by BEL and by ST.
            ("a\u{1b}]0;owned\u{7}b", "ab"),
            ("a\u{1b}]2;owned\u{1b}\\b", "ab"),
            // Clear screen, cursor home, colours.
            ("\u{1b}[2J\u{1b}[Hx\u{1b}[31;1my\u{1b}[0m", "xy"),
            // 8-bit CSI and OSC.
            ("a\u{9b}2Jb\u{9d}0;t\u{9c}c", "abc"),
            // DCS and APC strings, a terminal reset, a lone ESC at the end.
            ("a\u{1b}Pq#0\u{1b}\\b\u{1b}_x\u{7}c\u{1b}cd\u{1b}", "abcd"),
            // A carriage return and a backspace could draw over what was printed.
            ("safe\rEVIL\u{8}", "safeEVIL"),
            // A malformed CSI ends at the first character that cannot be in one.
            ("\u{1b}[12\u{e9}t\u{e9}", "\u{e9}t\u{e9}"),
            ("línea 1\n\tlínea 2 ✔", "línea 1\n\tlínea 2 ✔"),
        ];
        for (raw, shown) in cases {
            assert_eq!(printable(raw), shown, "{raw:?}");
            assert!(!printable(raw).chars().any(|c| c.is_control() && c != '\n' && c != '\t'));
        }
        assert!(matches!(printable("plain text"), std::borrow::Cow::Borrowed(_)));
    }

    #[test]
    fn a_locale_that_is_not_utf8_gets_ascii_symbols() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
        };
        assert!(!ascii_locale(env(&[])), "nothing set: a UTF-8 terminal");
        assert!(!ascii_locale(env(&[("LANG", "en_US.UTF-8")])));
        assert!(!ascii_locale(env(&[("LANG", "C.utf8")])));
        assert!(ascii_locale(env(&[("LANG", "C")])));
        assert!(ascii_locale(env(&[("LANG", "en_US.UTF-8"), ("LC_ALL", "POSIX")])), "LC_ALL wins");
        assert!(ascii_locale(env(&[("LC_CTYPE", "de_DE.ISO-8859-1"), ("LANG", "de_DE.UTF-8")])));
        assert_eq!(
            ascii("[✔] iam: done … ≈ $12 · 3 × t3 → ok ✘ é"),
            "[+] iam: done ... ~ $12 - 3 x t3 -> ok x ?"
        );
        assert!(matches!(ascii("plain"), std::borrow::Cow::Borrowed(_)));
    }

    #[test]
    fn escaped_shows_control_characters_and_keeps_newlines() {
        assert_eq!(escaped("a\u{1b}[2J\nb"), "a\\u{1b}[2J\nb");
    }
}
