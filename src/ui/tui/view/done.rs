//! Done: how to use the cluster, and where the journal and the log are.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Padding, Paragraph};

use super::{Text, Theme, rows};
use crate::ui::tui::state::State;

/// The lines to copy: the exports and the first command. The same text is printed on the
/// normal screen when the wizard exits.
pub fn usage(state: &State) -> Vec<String> {
    let a = &state.answers;
    let mut out = Vec::new();
    let store =
        state.finished.as_ref().and_then(|f| f.state_store.clone()).or_else(|| a.state_store_url());
    if let Some(store) = store {
        out.push(format!("export KOPS_STATE_STORE={store}"));
    }
    out.push(format!("export KOPS_CLUSTER_NAME={}", a.cluster.name));
    out.push(format!("export AWS_PROFILE={}", a.aws.kops_profile));
    out.push("kubectl get nodes".to_string());
    out
}

/// What a line of the smoke test's outcome is: the headline, a command to copy (whole on
/// its own row), or a detail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SmokeLine {
    Passed,
    Failed,
    Command,
    Detail,
}

/// The smoke test's outcome: where both pods answered, or why not and what next.
fn smoke_lines(state: &State) -> Vec<(SmokeLine, String)> {
    let Some(smoke) = state.finished.as_ref().and_then(|f| f.smoke.as_ref()) else {
        return Vec::new();
    };
    match (&smoke.passed, &smoke.failed) {
        (Some(p), _) => vec![
            (
                SmokeLine::Passed,
                format!(
                    "Smoke test: both pods answered through load balancer {}:",
                    p.load_balancer
                ),
            ),
            (SmokeLine::Command, format!("curl {}", p.url)),
            (SmokeLine::Detail, format!("pods: {}", p.pods.join(", "))),
        ],
        (None, Some(why)) => vec![
            (SmokeLine::Failed, format!("! The smoke test failed: {why}")),
            (
                SmokeLine::Detail,
                "The cluster itself is up; `kops-wizard smoke-test` runs the test again.".into(),
            ),
        ],
        (None, None) => Vec::new(),
    }
}

/// The smoke test's outcome in words, one line each, for the summary printed at exit.
pub fn smoke_words(state: &State) -> Vec<String> {
    smoke_lines(state)
        .into_iter()
        .map(|(kind, line)| match kind {
            SmokeLine::Passed | SmokeLine::Failed => line,
            SmokeLine::Command | SmokeLine::Detail => format!("  {line}"),
        })
        .collect()
}

/// Done is the page people copy from: the exports, the commands and the paths are each on a
/// row of their own, whole and not indented, and the page has no side borders, so a
/// selection of several rows copies only them.
pub fn render(frame: &mut Frame<'_>, area: Rect, state: &State, theme: Theme) {
    // Beside the sidebar a column of space keeps the text off its border.
    let left = u16::from(area.x > 0);
    let block = Block::new().borders(Borders::TOP).title(" Done ").padding(Padding::left(left));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = inner.width as usize;
    let name = &state.answers.cluster.name;
    let mut texts = vec![
        Text::words(format!("✔ Cluster {name} is set up and validated."), theme.ok()),
        blank(),
    ];
    if let Some(join) = state.join_words() {
        texts.push(Text::words(join, Style::new()));
        texts.push(blank());
    }
    let smoke = smoke_lines(state);
    if !smoke.is_empty() {
        for (kind, line) in smoke {
            texts.push(match kind {
                SmokeLine::Passed => Text::words(line, theme.ok()),
                SmokeLine::Failed => Text::Words(Line::styled(line, theme.warn()), 2),
                SmokeLine::Command => Text::Whole(Line::raw(line)),
                // Indented, so that a command cut at the edge above is not read on into it.
                SmokeLine::Detail => Text::Words(Line::raw(format!("  {line}")), 8),
            });
        }
        texts.push(blank());
    }
    texts.push(Text::Whole(Line::styled("Use it:", theme.bold())));
    texts.extend(usage(state).into_iter().map(|l| Text::Whole(Line::raw(l))));
    texts.push(blank());
    if let Some(f) = &state.finished {
        texts.extend(labelled("Journal:", &f.journal.display().to_string(), width));
    }
    texts.extend(labelled("Log:    ", &state.files.log.display().to_string(), width));
    texts.push(blank());
    let cut = texts.iter().any(|t| matches!(t, Text::Whole(l) if l.width() > width));
    let note = match cut {
        true => {
            "These lines are printed again when the wizard exits, so they can be copied; a \
             line wider than the window is cut at its edge here, and whole there."
        }
        false => "These lines are printed again when the wizard exits, so they can be copied.",
    };
    texts.push(Text::words(note, theme.dim()));
    texts.push(Text::Whole(Line::styled("Teardown later: kops-wizard teardown", theme.dim())));
    frame.render_widget(Paragraph::new(rows(texts, width)), inner);
}

fn blank() -> Text {
    Text::Whole(Line::raw(""))
}

/// `label path` on one row when it fits, else the label and, below it, the path alone.
fn labelled(label: &str, path: &str, width: usize) -> Vec<Text> {
    match label.chars().count() + 1 + path.chars().count() <= width {
        true => vec![Text::Whole(Line::raw(format!("{label} {path}")))],
        false => vec![
            Text::Whole(Line::raw(label.trim_end().to_string())),
            Text::Whole(Line::raw(path.to_string())),
        ],
    }
}
