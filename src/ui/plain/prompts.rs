//! How each question of `questions::QUESTIONS` is asked line by line, as data: which inquire
//! prompt, its default, options and help, and the message a refused answer gets. Pure (no
//! terminal, no I/O), so every question's prompt is unit-tested; `ask` turns it into inquire
//! calls.

use std::fmt;

use crate::answers::{Answers, Topology};
use crate::questions::{Context, Kind, Question, Source};

/// What an optional text answer is typed as to clear a value the answers file set: with a
/// default shown, an empty line means "keep the default", so "none" needs a word of its own.
pub const NONE: &str = "-";

/// One value of a select, as the list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opt {
    /// What is stored in the answers.
    pub value: String,
    /// What the answer reads as once picked: `t3.medium`, `(default chain)`.
    pub label: String,
    /// The list's line: `t3.medium   2 vCPU, 4 GiB, $30.37/month`.
    pub shown: String,
}

impl fmt::Display for Opt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown)
    }
}

/// How one question is asked, for the answers given so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ask {
    /// A line of text; Enter on an empty line takes `default`.
    Text { default: Option<String>, help: String },
    /// Yes or no.
    Confirm { default: bool, help: String },
    /// One of `options`, the cursor on `start`. `unavailable` are the values that cannot be
    /// chosen, each with why: they are printed above the list, not offered in it.
    Select { options: Vec<Opt>, start: usize, unavailable: Vec<String>, help: String },
    /// Any of `options`, those at `chosen` ticked; `none` is what ticking none means.
    MultiSelect { options: Vec<Opt>, chosen: Vec<usize>, none: String, help: String },
    /// Nothing to ask: the value is set without a question, for the reason given (the only
    /// choice there is, or a question that does not apply to the answers so far).
    Given { value: String, why: String },
}

const SELECT_KEYS: &str = "↑↓ move, Enter picks, typing filters";
const MULTI_KEYS: &str = "↑↓ move, Space ticks, → all, ← none, Enter takes";

/// The prompt for `q`, from the answers so far (choices follow the region, the bastion the
/// topology) and what the environment offers. `suggestion` is a default for an empty text
/// (the bucket name made from the account and region).
pub fn ask(q: &Question, a: &Answers, ctx: &Context, suggestion: Option<&str>) -> Ask {
    if q.key == "cluster.bastion" && a.cluster.topology != Topology::Private {
        return Ask::Given {
            value: "false".into(),
            why: "off (a bastion needs the private topology)".into(),
        };
    }
    let current = q.get(a);
    match q.kind {
        Kind::Text | Kind::Number => {
            let default = match (current.is_empty(), suggestion) {
                (false, _) => Some(current),
                (true, Some(s)) => Some(s.to_string()),
                (true, None) => None,
            };
            let help = match &default {
                Some(_) if q.optional => format!("{} ({NONE} for none)", q.help),
                _ => q.help.to_string(),
            };
            Ask::Text { default, help }
        }
        Kind::Toggle => Ask::Confirm { default: current == "true", help: q.help.to_string() },
        Kind::Choice(_) => {
            let choices = q.choices(a, ctx);
            let unavailable: Vec<String> = choices
                .iter()
                .filter_map(|c| c.disabled.map(|why| format!("{}: {why}", c.label)))
                .collect();
            let options = options(choices.iter().filter(|c| c.disabled.is_none()));
            if let [only] = options.as_slice() {
                return Ask::Given {
                    value: only.value.clone(),
                    why: format!("{}, the only choice", only.shown.trim_end()),
                };
            }
            let start = options.iter().position(|o| o.value == current).unwrap_or(0);
            Ask::Select {
                options, start, unavailable, help: format!("{} · {SELECT_KEYS}", q.help)
            }
        }
        Kind::MultiChoice(source) => {
            let choices = q.choices(a, ctx);
            let ticked: Vec<&str> = current.split(',').filter(|v| !v.is_empty()).collect();
            let chosen = choices
                .iter()
                .enumerate()
                .filter(|(_, c)| ticked.contains(&c.value.as_str()))
                .map(|(i, _)| i)
                .collect();
            let none = match source {
                Source::Zones => {
                    // The same default the run uses, from the answers' own rule.
                    let mut unset = a.clone();
                    unset.cluster.zones.clear();
                    format!("none: the region's first, {}", unset.zones().join(", "))
                }
                _ => "none".to_string(),
            };
            Ask::MultiSelect {
                options: options(choices.iter()),
                chosen,
                none,
                help: format!("{} · {MULTI_KEYS}", q.help),
            }
        }
    }
}

/// Labels padded to one width, then the note, so the notes line up in the list.
fn options<'c>(choices: impl Iterator<Item = &'c crate::questions::Choice> + Clone) -> Vec<Opt> {
    let width = choices.clone().map(|c| c.label.chars().count()).max().unwrap_or(0);
    choices
        .map(|c| Opt {
            value: c.value.clone(),
            label: c.label.clone(),
            shown: if c.note.is_empty() {
                c.label.clone()
            } else {
                format!("{:<width$}  {}", c.label, c.note)
            },
        })
        .collect()
}

/// The value a typed line stands for: `-` clears an optional answer.
pub fn typed_value(q: &Question, input: &str) -> String {
    if q.optional && input.trim() == NONE { String::new() } else { input.to_string() }
}

/// Why the rules refuse `value` (text as [`Question::set`] takes it) for `q`, given the other
/// answers: the answers key and the rule's message, as `Question::error` reads it from
/// `rules::check_answers`. `None` when it is accepted.
pub fn refusal(q: &Question, a: &Answers, value: &str) -> Option<String> {
    let mut trial = a.clone();
    if let Err(e) = q.set(&mut trial, value) {
        return Some(format!("{}: {e}", q.key));
    }
    let report = crate::rules::check_answers(&trial);
    q.error(&trial, &report).map(|rule| format!("{}: {rule}", q.key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::questions::{QUESTIONS, find};
    use crate::rules;

    fn q(key: &str) -> &'static Question {
        find(key).unwrap()
    }

    #[test]
    fn refused_answers_name_the_key_and_the_rule() {
        let a = Answers::default();
        let bucket = q("state_store.bucket");
        let rule = rules::bucket_name("Bad_Bucket").unwrap_err();
        assert_eq!(refusal(bucket, &a, "Bad_Bucket"), Some(format!("state_store.bucket: {rule}")));
        assert!(refusal(bucket, &a, "").unwrap().contains("a bucket name is needed"));
        assert_eq!(refusal(bucket, &a, "acme-state"), None);

        let count = q("cluster.control_plane_count");
        assert_eq!(
            refusal(count, &a, "three").as_deref(),
            Some("cluster.control_plane_count: \"three\" is not a whole number")
        );
        let even = refusal(count, &a, "2").unwrap();
        assert!(even.starts_with("cluster.control_plane_count: "), "{even}");
        assert_eq!(
            even,
            format!("cluster.control_plane_count: {}", rules::control_plane_count(2).unwrap_err())
        );

        // A rule between two answers is checked against the answers given so far.
        let mut a = Answers::default();
        a.aws.admin_profile = Some("admin".into());
        let msg = refusal(q("aws.kops_profile"), &a, "admin").unwrap();
        assert!(msg.starts_with("aws.kops_profile: must differ from aws.admin_profile"), "{msg}");
        a.cluster.networking = "kubenet".into();
        assert!(refusal(q("cluster.topology"), &a, "private").unwrap().contains("kubenet"));
        assert_eq!(refusal(q("cluster.topology"), &a, "public"), None);
    }

    #[test]
    fn a_refusal_leaves_the_answers_alone() {
        let a = Answers::default();
        let before = a.clone();
        let _ = refusal(q("cluster.node_count"), &a, "0");
        assert_eq!(a, before);
    }

    #[test]
    fn defaults_come_from_the_answers() {
        let mut a = Answers::default();
        a.cluster.name = "acme.k8s.local".into();
        a.cluster.node_count = Some(3);
        a.state_store.versioning = false;
        a.ssh.key_type = crate::answers::KeyType::Ed25519;
        a.cluster.zones = vec!["us-east-1b".into(), "us-east-1c".into()];
        let ctx = Context::default();
        let ask = |key: &str| super::ask(q(key), &a, &ctx, None);

        assert_eq!(
            ask("cluster.name"),
            Ask::Text {
                default: Some("acme.k8s.local".into()),
                help: q("cluster.name").help.into()
            }
        );
        // An optional value from the file says how to clear it.
        let Ask::Text { default, help } = ask("cluster.node_count") else { panic!() };
        assert_eq!(default.as_deref(), Some("3"));
        assert!(help.ends_with("(- for none)"), "{help}");
        // Unset and optional: no default, nothing to clear.
        assert_eq!(
            ask("cluster.dns_zone"),
            Ask::Text { default: None, help: q("cluster.dns_zone").help.into() }
        );
        assert_eq!(
            ask("state_store.versioning"),
            Ask::Confirm { default: false, help: q("state_store.versioning").help.into() }
        );
        let Ask::Select { options, start, .. } = ask("ssh.key_type") else { panic!() };
        assert_eq!(options[start].value, "ed25519");
        let Ask::MultiSelect { options, chosen, .. } = ask("cluster.zones") else { panic!() };
        let ticked: Vec<&str> = chosen.iter().map(|&i| options[i].value.as_str()).collect();
        assert_eq!(ticked, ["us-east-1b", "us-east-1c"]);
        let Ask::MultiSelect { chosen, .. } = ask("iam.policies") else { panic!() };
        assert_eq!(chosen.len(), 7, "the seven policies are ticked by default");
    }

    #[test]
    fn the_bucket_suggestion_fills_only_an_empty_name() {
        let mut a = Answers::default();
        let ctx = Context::default();
        let bucket = q("state_store.bucket");
        let Ask::Text { default, .. } = ask(bucket, &a, &ctx, Some("kops-state-1-us-east-1"))
        else {
            panic!()
        };
        assert_eq!(default.as_deref(), Some("kops-state-1-us-east-1"));
        a.state_store.bucket = Some("acme".into());
        let Ask::Text { default, .. } = ask(bucket, &a, &ctx, Some("kops-state-1-us-east-1"))
        else {
            panic!()
        };
        assert_eq!(default.as_deref(), Some("acme"));
    }

    #[test]
    fn disabled_choices_are_shown_with_why_and_not_offered() {
        let a = Answers::default();
        let Ask::Select { options, start, unavailable, .. } =
            ask(q("cluster.networking"), &a, &Context::default(), None)
        else {
            panic!()
        };
        assert_eq!(options[start].value, "cilium");
        assert!(options.iter().all(|o| o.value != "weave" && o.value != "canal"));
        assert_eq!(unavailable.len(), 2);
        assert!(unavailable[0].starts_with("weave: weave was removed from kops in 1.28"));
        assert!(unavailable[1].starts_with("canal: "));
        // Labels are padded so the notes line up.
        assert!(options[0].shown.starts_with("cilium       eBPF"), "{:?}", options[0].shown);
    }

    #[test]
    fn choices_follow_the_answers_given_so_far() {
        let mut a = Answers::default();
        a.aws.region = "eu-west-2".into();
        let Ask::MultiSelect { options, chosen, none, .. } =
            ask(q("cluster.zones"), &a, &Context::default(), None)
        else {
            panic!()
        };
        let values: Vec<&str> = options.iter().map(|o| o.value.as_str()).collect();
        assert_eq!(values, ["eu-west-2a", "eu-west-2b", "eu-west-2c"]);
        assert!(chosen.is_empty(), "none ticked: the region's first");
        assert_eq!(none, "none: the region's first, eu-west-2a");

        let bastion = q("cluster.bastion");
        assert!(matches!(
            ask(bastion, &a, &Context::default(), None),
            Ask::Given { ref value, .. } if value == "false"
        ));
        a.cluster.topology = Topology::Private;
        assert!(matches!(ask(bastion, &a, &Context::default(), None), Ask::Confirm { .. }));
    }

    #[test]
    fn a_single_choice_is_given_not_asked() {
        let a = Answers::default();
        let env = Context { profiles: Vec::new(), env_key: Some("…0001".into()) };
        let Ask::Given { value, why } = ask(q("aws.admin_profile"), &a, &env, None) else {
            panic!()
        };
        assert_eq!(value, "");
        assert!(why.starts_with("(default chain)") && why.contains("…0001"), "{why}");
        let two = Context { profiles: vec!["admin".into()], env_key: None };
        let Ask::Select { options, start, .. } = ask(q("aws.admin_profile"), &a, &two, None) else {
            panic!()
        };
        assert_eq!((options.len(), start), (2, 0));
    }

    #[test]
    fn none_clears_only_optional_answers() {
        assert_eq!(typed_value(q("cluster.node_count"), " - "), "");
        assert_eq!(typed_value(q("cluster.name"), "-"), "-");
        assert_eq!(typed_value(q("cluster.dns_zone"), "example.com"), "example.com");
    }

    #[test]
    fn every_question_has_a_prompt_with_help() {
        let mut a = Answers::default();
        a.cluster.topology = Topology::Private;
        let ctx = Context { profiles: vec!["admin".into()], env_key: None };
        for question in QUESTIONS {
            let help = match ask(question, &a, &ctx, None) {
                Ask::Text { help, .. }
                | Ask::Confirm { help, .. }
                | Ask::Select { help, .. }
                | Ask::MultiSelect { help, .. } => help,
                Ask::Given { .. } => panic!("{} is not asked", question.key),
            };
            assert!(help.starts_with(question.help), "{}: {help}", question.key);
        }
    }
}
