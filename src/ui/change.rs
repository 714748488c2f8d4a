//! `kops-wizard change` in lines: the cluster against the answers, the plan with its cost
//! delta and its kops calls, a question (unless `--yes`), then the roll as progress lines and
//! a summary. The same for `--plain` and `--yes`; `--dry-run` stops after the plan.

use std::time::Instant;

use crate::answers::Answers;
use crate::engine::change::{self, ChangePlan, Current, Progress, Role};
use crate::engine::cluster::kops::Kops;
use crate::engine::cluster::roll::Board;
use crate::engine::events::Sink;

/// What the front end was asked.
pub struct Options<'a> {
    pub kops: Option<&'a std::path::Path>,
    pub state_dir: &'a std::path::Path,
    pub yes: bool,
    pub dry_run: bool,
    /// On a terminal without `--plain`: the plan and the roll in full screen.
    pub full_screen: bool,
    pub log: std::path::PathBuf,
    /// `--undo`: the last change, reversed.
    pub undo: bool,
}

/// Runs `change`; returns the exit code (0 done or nothing to do, 1 failed or declined).
pub fn run(a: &Answers, opts: Options<'_>) -> anyhow::Result<u8> {
    let runtime = tokio::runtime::Runtime::new()?;
    let kops = runtime.block_on(Kops::for_cluster(opts.kops, a))?;
    let current = runtime.block_on(change::read_current(&kops, &a.cluster.name))?;
    let plan = if opts.undo {
        // The team's record in the state bucket names the change (any engineer may undo it);
        // the run reads it again under the lock before it puts anything back.
        let journal = runtime.block_on(change::team_record(a))?;
        change::undo_plan(&journal, &current)?
    } else {
        change::plan(a, &current, &kops.version)?
    };
    let findings = match plan.is_empty() {
        true => Vec::new(),
        false => runtime.block_on(change::preflight(a, &kops, &plan)),
    };
    let text = describe(a, &current, &plan, &findings);
    if opts.full_screen && !opts.dry_run && !plan.is_empty() {
        drop(runtime);
        let (code, words) = crate::ui::tui::change::run(crate::ui::tui::change::Run {
            answers: a.clone(),
            plan,
            plan_text: text,
            kops,
            state_dir: opts.state_dir.to_path_buf(),
            log: opts.log,
            undo: opts.undo,
        })?;
        crate::safe_println!("{words}");
        return Ok(code);
    }
    crate::safe_print!("{text}");
    if plan.is_empty() {
        crate::safe_println!("\nNothing to change: the cluster is as the answers say.");
        return Ok(0);
    }
    if opts.dry_run {
        crate::safe_println!("\ndry run: nothing was changed.");
        return Ok(0);
    }
    if !opts.yes {
        let question = format!("Apply this change to {}?", a.cluster.name);
        let go = inquire::Confirm::new(&question).with_default(false).prompt()?;
        if !go {
            crate::safe_println!("Nothing was changed.");
            return Ok(crate::exit::FAILED);
        }
    }
    let (sink, events) = Sink::channel();
    let printer = runtime.spawn(super::headless::print_events(events));
    let mut lines = Lines::default();
    let mut on = |p: Progress| lines.show(p);
    let request = change::Request {
        answers: a,
        plan: &plan,
        kops: &kops,
        state_dir: opts.state_dir,
        undo: opts.undo,
    };
    let result = runtime.block_on(change::run(request, &sink, &mut on));
    drop(sink);
    let _ = runtime.block_on(printer);
    let summary = result?;
    let what: Vec<String> = plan.changes.iter().map(ToString::to_string).collect();
    crate::safe_println!(
        "\nchange done in {}: {}.{}",
        crate::rules::format_duration(summary.elapsed),
        if what.is_empty() { "the unfinished roll finished".to_string() } else { what.join("; ") },
        match summary.replaced {
            0 => String::new(),
            n => format!(" {n} instance(s) replaced."),
        }
    );
    if let Some(seen) = &summary.probe {
        crate::safe_println!("{}.", seen.words());
    }
    for node in &summary.untainted {
        crate::safe_println!(
            "took kops's {} taint off node {node}: an earlier roll left it there \
             (kops #12383), and new pods avoided the node",
            crate::engine::cluster::drain::ROLL_TAINT
        );
    }
    if let Some(why) = &summary.taint_check {
        crate::safe_println!("warning: stray roll taints could not be looked for: {why}");
    }
    if !summary.left.is_empty() {
        crate::safe_println!("still marked for update (run `change` again to roll them):");
        for left in &summary.left {
            crate::safe_println!("  - {left}");
        }
        return Ok(crate::exit::FAILED);
    }
    Ok(0)
}

/// The cluster against the answers, the cost before and after, and the plan.
pub fn describe(
    a: &Answers,
    current: &Current,
    plan: &ChangePlan,
    findings: &[crate::engine::cluster::preflight::Finding],
) -> String {
    let mut out = format!("Cluster {} (current -> desired):\n", a.cluster.name);
    let after = &plan.after;
    let rows = [
        (
            "cluster.kubernetes_version",
            current.kubernetes_version.clone(),
            after.kubernetes_version.clone().unwrap_or_else(|| current.kubernetes_version.clone()),
        ),
        (
            "cluster.control_plane_size",
            current.size(Role::ControlPlane),
            after.control_plane_size.clone(),
        ),
        ("cluster.node_size", current.size(Role::Node), after.node_size.clone()),
        ("cluster.node_count", current.node_count().to_string(), after.node_count.to_string()),
    ];
    for (key, have, want) in rows {
        let mark = if have == want { " " } else { "*" };
        let arrow = if have == want { String::new() } else { format!(" -> {want}") };
        out.push_str(&format!("  {mark} {key:<28} {have}{arrow}\n"));
    }
    out.push_str(&format!(
        "  monthly cost of the instances: ${:.0} -> ${:.0} ({:+.0}; on-demand, us-east-1 list prices)\n",
        plan.cost_before.total_usd,
        plan.cost_after.total_usd,
        plan.cost_after.total_usd - plan.cost_before.total_usd
    ));
    for r in &plan.reported {
        out.push_str(&format!("  not applied by change: {r}\n"));
    }
    for (group, n) in &current.stale {
        out.push_str(&format!(
            "  unfinished: {n} instance(s) of {group} still marked for update (an earlier roll \
             stopped): they are rolled now\n"
        ));
    }
    if plan.is_empty() {
        return out;
    }
    for w in &plan.warnings {
        out.push_str(&format!("  warning: {w}\n"));
    }
    if !findings.is_empty() {
        out.push_str("\nPre-flight (read-only; none of these stops the change):\n");
        for f in findings {
            out.push_str(&format!("  ! {}: {}\n    {}\n", f.what, f.why, f.todo));
        }
    }
    if plan.rolls.is_empty() {
        out.push_str("\nNo instance is replaced (a count change needs no roll).\n");
    } else {
        out.push_str("\nRolls, in this order (control plane first):\n");
        for (group, n) in &plan.rolls {
            out.push_str(&format!("  {group}: {n} instance(s) replaced, one at a time\n"));
        }
        out.push_str(&format!(
            "  about {} on AWS (a few minutes per instance)\n",
            crate::rules::format_duration(plan.estimate)
        ));
    }
    out.push_str("\nThe kops calls (the equivalent script):\n");
    for line in plan.script().lines().filter(|l| l.starts_with("kops ")) {
        out.push_str(&format!("  {line}\n"));
    }
    out
}

/// Progress as lines: each kops call, and the roll's board whenever it moves.
#[derive(Default)]
struct Lines {
    last: Option<String>,
}

impl Lines {
    fn show(&mut self, p: Progress) {
        match p {
            Progress::Call(args) => {
                crate::safe_println!("{} kops {}", super::headless::clock(), args.join(" "));
            }
            Progress::Step(words) => {
                crate::safe_println!("{} {words}", super::headless::clock());
            }
            Progress::Line(line) => tracing::info!(target: "kops", "{line}"),
            // The tally goes to the summary; each request is in the log.
            Progress::Probe(seen) => tracing::info!("{}", seen.words()),
            Progress::Board(board) => {
                let line = board_line(&board, Instant::now());
                if self.last.as_ref() != Some(&line) {
                    crate::safe_println!("{} {line}", super::headless::clock());
                    self.last = Some(line);
                }
            }
        }
    }
}

/// One line of the roll: the group, what is done and left, the ETA, what it waits on.
pub fn board_line(b: &Board, now: Instant) -> String {
    let mut line = format!(
        "roll {}: {} replaced, {} to go",
        b.group.as_deref().unwrap_or("-"),
        b.replaced(),
        b.remaining()
    );
    if let Some(eta) = b.eta(now) {
        line.push_str(&format!(", about {} left", crate::rules::format_duration(eta)));
    }
    for r in b.rows.iter().filter(|r| {
        matches!(
            r.phase,
            crate::engine::cluster::roll::Phase::Cordoned
                | crate::engine::cluster::roll::Phase::Draining
                | crate::engine::cluster::roll::Phase::Terminating
        )
    }) {
        line.push_str(&format!("; {} {}", r.instance, r.phase.label()));
    }
    if let Some(pod) = &b.blocked_on {
        line.push_str(&format!("; drain waits on pod {pod} (its disruption budget)"));
    }
    if let Some(why) = &b.not_validated {
        line.push_str(&format!("; not validated yet: {why}"));
    }
    line
}
