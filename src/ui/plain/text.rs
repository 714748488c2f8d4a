//! What the line mode prints besides its prompts, as pure functions of data: the step headers,
//! the checks' answers (and whether the question is asked again), and the review (the plan's
//! changes, the warnings, the cost estimate). The words come from `ui::checks` and
//! `ui::review`, which the full-screen wizard shows too.

use crate::answers::{Answers, Source};
use crate::engine::aws::clients::Identity;
use crate::engine::store::bucket::BucketAccess;
use crate::plan::SetupPlan;
use crate::questions::{Step, cost};
use crate::ui::checks::{FOUND_KEYS, FoundKey, NO_KEYS, SshFound, bucket_words};
use crate::ui::review::{answers_from, describe};

/// What follows a check's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Then {
    /// The answer stands: the next question.
    Next,
    /// The check refuses it: the same question again.
    AskAgain,
}

/// `2/4 State store` and the step's sentence, before its first question.
pub fn step_header(step: Step) -> String {
    let number = Step::ALL.iter().position(|s| *s == step).unwrap_or(0) + 1;
    format!("\n{number}/4 {}\n{}\n", step.title(), step.intro())
}

/// The first line of a check's error: the engine's messages put the advice first.
fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

/// Who the admin credentials are, or why STS would not say.
pub fn identity_line(result: &Result<Identity, String>) -> String {
    match result {
        Ok(id) => format!("  ✔ {} (account {})", id.arn, id.account),
        Err(e) => format!("  ✘ {}", first_line(e)),
    }
}

/// What to do when the identity check failed, with no credentials anywhere in sight.
pub const NO_CREDENTIALS: &str = "  No AWS credentials found: run `aws configure` (an access key) \
or `aws sso login --profile NAME` (SSO) in another terminal, then check again. No secret is ever \
typed into the wizard.";

/// A joined cluster's shape, read-only, after its name was answered.
pub fn join_sizes(c: &crate::engine::team::join::InBucket) -> String {
    let mut out = format!(
        "  Cluster {} is in the bucket, {}: setup joins it. Its SSH key and its sizes are its \
         own, not asked, and this setup changes none of them:\n",
        c.name, c.whose
    );
    for l in crate::ui::checks::join_sizes(c) {
        out.push_str(&format!("    {l}\n"));
    }
    out
}

/// The bucket check's answer: free and yours go on; taken (by another account, or in another
/// region) asks for another name. A check that could not be made is said and does not stop
/// the questions: setup looks again before it creates anything.
pub fn bucket_line(result: &Result<BucketAccess, String>) -> (String, Then) {
    match result {
        Ok(access) => {
            let (word, why, ok) = bucket_words(*access);
            let mark = if ok { "✔" } else { "✘" };
            (format!("  {mark} {word}: {why}"), if ok { Then::Next } else { Then::AskAgain })
        }
        Err(e) => (
            format!(
                "  ! the name could not be checked ({}); setup checks it again before it creates the bucket",
                first_line(e)
            ),
            Then::Next,
        ),
    }
}

/// What is at the key path: a usable key (or none yet, to be generated) goes on; half a pair,
/// a mismatched pair or an unreadable file asks for another path.
pub fn ssh_line(result: &Result<SshFound, String>) -> (String, Then) {
    match result {
        Ok(found) if found.usable => (format!("  ✔ {}", found.summary), Then::Next),
        Ok(found) => (format!("  ✘ {}", found.summary), Then::AskAgain),
        Err(e) => (format!("  ✘ {}", first_line(e)), Then::AskAgain),
    }
}

/// The public keys of `~/.ssh`, listed before the key path is asked.
pub fn found_keys(keys: &[FoundKey]) -> String {
    if keys.is_empty() {
        return format!("{NO_KEYS}\n");
    }
    let mut out = format!("{FOUND_KEYS}:\n");
    for k in keys {
        let mark = if k.usable { "✔" } else { "✘" };
        out.push_str(&format!("  {mark} {}  {}\n", k.path, k.note));
    }
    out
}

/// Everything the review shows.
#[derive(Debug, Clone, Copy)]
pub struct Review<'a> {
    pub answers: &'a Answers,
    pub source: &'a Source,
    /// The answers differ from the file they came from (or there is no file).
    pub unsaved: bool,
    pub plan: &'a SetupPlan,
    pub warnings: &'a [String],
    /// What an earlier setup of this cluster left in the journal.
    pub resume: Option<&'a str>,
}

/// The review as text: where the answers came from, every change in order, the warnings and
/// the cost estimate.
pub fn review(r: &Review<'_>) -> String {
    let mut out = String::from("\nReview: what setup will do\n");
    out.push_str(&format!("{}\n", answers_from(r.source, r.unsaved)));
    if let Some(note) = r.resume {
        out.push_str(&format!("{note}\n"));
    }
    for (i, step) in r.plan.steps.iter().enumerate() {
        out.push_str(&format!("{}. {}\n", i + 1, step.id.title()));
        for line in describe(&step.actions) {
            out.push_str(&format!("   - {line}\n"));
        }
    }
    if !r.warnings.is_empty() {
        out.push_str("\nWarnings\n");
        for w in r.warnings {
            out.push_str(&format!(" ! {w}\n"));
        }
    }
    out.push_str("\nEstimated monthly cost\n");
    for line in estimate(r.answers) {
        out.push_str(&format!("  {line}\n"));
    }
    out
}

/// The cost estimate as aligned lines, the total last, then what the figures are.
pub fn estimate(a: &Answers) -> Vec<String> {
    let Some(e) = cost::estimate(a) else {
        return vec![cost::NO_ESTIMATE.into()];
    };
    let money = |usd: f64| format!("${usd:.2}");
    let mut lines: Vec<String> =
        e.lines.iter().map(|l| format!("{:<40} {:>10}", l.what, money(l.monthly_usd))).collect();
    for u in &e.unknown {
        lines.push(format!("{u}: not in the catalog, left out"));
    }
    lines.push(format!("{:<40} {:>10}", "Total", money(e.total_usd)));
    lines.push(e.footnote());
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answers::Topology;
    use crate::plan::Plan;

    fn review_of(a: &Answers, source: &Source, unsaved: bool, warnings: &[String]) -> String {
        let plan = Plan::setup(a, &[]);
        review(&Review { answers: a, source, unsaved, plan: &plan, warnings, resume: None })
    }

    #[test]
    fn the_review_lists_the_changes_warnings_and_estimate() {
        let mut a = Answers::default();
        a.state_store.bucket = Some("acme-review".into());
        let warnings = crate::ui::review::warnings(
            &crate::rules::check_answers(&a),
            &a,
            Some(BucketAccess::Yours),
            None,
        );
        let text = review_of(&a, &Source::Defaults, true, &warnings);
        assert!(text.contains("Answers from the defaults and this session, not saved\n"), "{text}");
        assert!(text.contains("1. "), "{text}");
        assert!(text.contains("   - IAM group kops\n"), "{text}");
        assert!(text.contains("attach 7 policies to kops: EC2, "), "{text}");
        assert!(text.contains("   - S3 bucket acme-review in us-east-1\n"), "{text}");
        assert!(text.contains("saved as profile kops in "), "{text}");
        assert!(text.contains("(0600, never shown)"), "{text}");
        // Before anything changes, what the key can do, where it is kept, who takes it back.
        assert!(
            text.contains(
                "   - IAMFullAccess is among them: the kops user's key can do anything an admin \
                 can. It is kept only in "
            ),
            "{text}"
        );
        assert!(text.contains("teardown deletes the user and its key.\n"), "{text}");
        assert!(text.contains("   - kops create cluster "), "{text}");
        // The gossip name's warning (a rule's) and the reused bucket's (a check's).
        assert!(text.contains("\nWarnings\n ! cluster.name = \"kops.k8s.local\""), "{text}");
        assert!(text.contains(" ! state_store.bucket = \"acme-review\": it exists and is yours"));
        let total = cost::estimate(&a).unwrap().total_usd;
        assert!(text.contains(&format!("Total {:>45}", format!("${total:.2}"))), "{text}");
        assert!(text.contains("730 h a month; leaves out data transfer"), "{text}");
    }

    #[test]
    fn the_review_says_where_the_answers_came_from() {
        let a = Answers { state_store: Default::default(), ..Default::default() };
        let file = Source::File("/tmp/answers.toml".into());
        assert!(review_of(&a, &file, false, &[]).contains("Answers from /tmp/answers.toml\n"));
        assert!(
            review_of(&a, &file, true, &[])
                .contains("Answers from /tmp/answers.toml, changed in this session and not saved")
        );
        assert!(!review_of(&a, &file, false, &[]).contains("Warnings"));
    }

    #[test]
    fn the_estimate_follows_the_sizing() {
        let mut a = Answers::default();
        let small = estimate(&a);
        a.cluster.topology = Topology::Private;
        a.cluster.bastion = true;
        let private = estimate(&a);
        assert!(private.iter().any(|l| l.contains("NAT gateway")), "{private:?}");
        assert!(!small.iter().any(|l| l.contains("NAT gateway")), "{small:?}");
        assert_ne!(small.last(), None);
    }

    #[test]
    fn taken_names_and_unusable_keys_are_asked_again() {
        assert_eq!(bucket_line(&Ok(BucketAccess::Free)).1, Then::Next);
        assert_eq!(bucket_line(&Ok(BucketAccess::Yours)).1, Then::Next);
        let (line, then) = bucket_line(&Ok(BucketAccess::Taken));
        assert_eq!(
            (line.as_str(), then),
            ("  ✘ taken: another account owns it: choose another name", Then::AskAgain)
        );
        assert_eq!(bucket_line(&Ok(BucketAccess::ElsewhereRegion)).1, Then::AskAgain);
        let (line, then) = bucket_line(&Err("s3:HeadBucket failed: no answer\nmore".into()));
        assert!(line.contains("could not be checked (s3:HeadBucket failed: no answer)"), "{line}");
        assert_eq!(then, Then::Next);

        let usable = SshFound { usable: true, summary: "pair found: ed25519".into() };
        assert_eq!(ssh_line(&Ok(usable)), ("  ✔ pair found: ed25519".into(), Then::Next));
        let half = SshFound { usable: false, summary: "a private key without its .pub".into() };
        assert_eq!(ssh_line(&Ok(half)).1, Then::AskAgain);
        assert_eq!(ssh_line(&Err("unreadable".into())).1, Then::AskAgain);
    }

    #[test]
    fn headers_and_identities_read_as_lines() {
        assert!(step_header(Step::StateStore).starts_with("\n2/4 State store\nThe S3 bucket"));
        let id = Identity {
            account: "123456789012".into(),
            arn: "arn:aws:iam::123456789012:user/admin".into(),
            user_id: "AIDA".into(),
        };
        assert_eq!(
            identity_line(&Ok(id)),
            "  ✔ arn:aws:iam::123456789012:user/admin (account 123456789012)"
        );
        assert_eq!(
            identity_line(&Err("sts failed: denied\nchain".into())),
            "  ✘ sts failed: denied"
        );
        assert!(found_keys(&[]).contains("setup generates one"));
        let key = FoundKey { path: "~/.ssh/id.pub".into(), usable: false, note: "dsa".into() };
        assert_eq!(found_keys(&[key]), "Found in ~/.ssh:\n  ✘ ~/.ssh/id.pub  dsa\n");
    }
}
