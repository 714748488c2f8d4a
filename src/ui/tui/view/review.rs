//! Review: every change the plan will make, the rules' warnings and the cost estimate, before
//! Enter starts the run.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph, Scrollbar, ScrollbarOrientation, ScrollbarState};

use super::{Theme, wrap, wrap_styled};
use crate::ui::review::describe;
use crate::ui::tui::state::State;
use crate::ui::tui::update::warnings;

pub fn render(frame: &mut Frame<'_>, area: Rect, state: &State, theme: Theme) {
    let block = Block::bordered().title(" Review: what setup will do ");
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = inner.width as usize;
    let lines = lines(state, width, theme);
    let total = lines.len();
    let max = total.saturating_sub(inner.height as usize);
    let scroll = state.review_scroll.min(max);
    let shown: Vec<Line> = lines.into_iter().skip(scroll).collect();
    frame.render_widget(Paragraph::new(shown), inner);
    if max > 0 {
        let mut bar = ScrollbarState::new(max).position(scroll);
        frame.render_stateful_widget(
            Scrollbar::new(ScrollbarOrientation::VerticalRight),
            area.inner(ratatui::layout::Margin { vertical: 1, horizontal: 0 }),
            &mut bar,
        );
    }
}

fn lines(state: &State, width: usize, theme: Theme) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    let join = state.current_join();
    if join.is_some_and(|j| j.unclaimed) {
        let note = crate::engine::team::join::unclaimed_note(&state.answers, state.claim);
        let keys = match state.claim {
            true => "c: do not claim it (join it instead)",
            false => "c: this machine set it up (claim it)",
        };
        for l in wrap(&format!("{note} {keys}."), width) {
            out.push(Line::styled(l, theme.warn()));
        }
    }
    if let Some(join) = join.filter(|j| !(j.unclaimed && state.claim)) {
        for l in wrap(&crate::engine::team::join::join_note(&state.answers, join), width) {
            out.push(Line::styled(l, theme.bold()));
        }
    }
    if let Some(resume) = &state.resume {
        for l in wrap(resume, width) {
            out.push(Line::styled(l, theme.warn()));
        }
    }
    let from = crate::ui::review::answers_from(&state.source, state.unsaved);
    let save = if state.unsaved { ": s saves them" } else { "" };
    out.extend(wrap_styled(&format!("{from}{save}"), theme.dim(), width, 2));
    let plan = state.plan();
    for (i, step) in plan.steps.iter().enumerate() {
        let title = format!("{}. {}", i + 1, step.id.title());
        out.extend(wrap_styled(&title, theme.bold(), width, 3));
        for text in describe(&step.actions) {
            out.extend(wrap_styled(&format!("   - {text}"), Style::new(), width, 5));
        }
    }
    let warnings = warnings(state);
    if !warnings.is_empty() {
        out.push(Line::raw(""));
        out.push(Line::styled("Warnings", theme.bold()));
        for w in warnings {
            for (i, l) in wrap(&w, width.saturating_sub(4)).into_iter().enumerate() {
                let lead = if i == 0 { " ! " } else { "   " };
                out.push(Line::styled(format!("{lead}{l}"), theme.warn()));
            }
        }
    }
    out.push(Line::raw(""));
    out.push(Line::styled("Estimated monthly cost", theme.bold()));
    out.extend(super::questions::cost_lines(state, width, theme));
    out
}
