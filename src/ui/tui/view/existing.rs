//! The first page when the journal shows this cluster set up: validate it again, tear it
//! down, or start over.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph};

use super::{Theme, wrap};
use crate::ui::tui::state::{Offer, State};

pub fn render(frame: &mut Frame<'_>, area: Rect, state: &State, theme: Theme) {
    let block = Block::bordered().title(" Found an existing cluster ");
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = inner.width as usize;
    let mut lines: Vec<Line<'static>> = Vec::new();
    for l in wrap(state.existing.as_deref().unwrap_or_default(), width) {
        lines.push(Line::raw(l));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled("What now?", theme.bold()));
    for (i, offer) in Offer::ALL.iter().enumerate() {
        let text = format!(" {} {}", if i == state.offer { "▶" } else { " " }, offer.label());
        let style = if i == state.offer { theme.focus() } else { ratatui::style::Style::new() };
        lines.push(Line::styled(format!("{text:<width$}"), style));
    }
    lines.push(Line::raw(""));
    for l in wrap(
        "Teardown shows everything it would delete and asks for the cluster's name first; \
         nothing is deleted before that.",
        width,
    ) {
        lines.push(Line::styled(l, theme.dim()));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}
