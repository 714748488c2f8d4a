//! Done: how to use the cluster, and where the journal and the log are.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph, Wrap};

use super::Theme;
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

/// The smoke test's outcome in words: where both pods answered, or why not and what next.
pub fn smoke_words(state: &State) -> Vec<String> {
    let Some(smoke) = state.finished.as_ref().and_then(|f| f.smoke.as_ref()) else {
        return Vec::new();
    };
    match (&smoke.passed, &smoke.failed) {
        (Some(p), _) => vec![
            format!("Smoke test: both pods answered through load balancer {}:", p.load_balancer),
            format!("  curl {}", p.url),
            format!("  pods: {}", p.pods.join(", ")),
        ],
        (None, Some(why)) => vec![
            format!("! The smoke test failed: {why}"),
            "  The cluster itself is up; `kops-wizard smoke-test` runs the test again.".into(),
        ],
        (None, None) => Vec::new(),
    }
}

pub fn render(frame: &mut Frame<'_>, area: Rect, state: &State, theme: Theme) {
    let block = Block::bordered().title(" Done ");
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let mut lines = vec![
        Line::styled(
            format!("✔ Cluster {} is set up and validated.", state.answers.cluster.name),
            theme.ok(),
        ),
        Line::raw(""),
    ];
    if let Some(join) = state.join_words() {
        lines.push(Line::raw(join));
        lines.push(Line::raw(""));
    }
    let smoke = smoke_words(state);
    if !smoke.is_empty() {
        let style = match smoke[0].starts_with('!') {
            true => theme.warn(),
            false => theme.ok(),
        };
        let mut words = smoke.into_iter();
        lines.extend(words.next().map(|first| Line::styled(first, style)));
        lines.extend(words.map(Line::raw));
        lines.push(Line::raw(""));
    }
    lines.push(Line::styled("Use it:", theme.bold()));
    lines.extend(usage(state).into_iter().map(|l| Line::raw(format!("  {l}"))));
    lines.push(Line::raw(""));
    if let Some(f) = &state.finished {
        lines.push(Line::raw(format!("Journal: {}", f.journal.display())));
    }
    lines.push(Line::raw(format!("Log:     {}", state.files.log.display())));
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        "These lines are printed again when the wizard exits, so they can be copied.",
        theme.dim(),
    ));
    lines.push(Line::styled("Teardown later: kops-wizard teardown", theme.dim()));
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}
