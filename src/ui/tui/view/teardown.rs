//! The guided teardown's pages: the inventory with its toggles and the typed confirmation,
//! the deletion row by row (kops's resource types, the bucket's gauge, IAM, profile, key),
//! and the final check.

use std::time::Duration;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Position, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::{Theme, spinner, step_status, wrap, wrap_line, wrap_styled};
use crate::engine::teardown::{Inventory, ItemKind};
use crate::ui::tui::state::{State, StepStatus};
use crate::ui::tui::teardown::{CloudState, Ended, Focus, Teardown, Toggle};
use crate::ui::tui::update::secs;

fn preparing(frame: &mut Frame<'_>, area: Rect, state: &State, t: &Teardown, theme: Theme) {
    let lines = match &t.inventory {
        None => vec![
            Line::raw(format!(
                "{} Reading the journal, asking AWS what is still there and kops what the \
                 cluster owns…",
                spinner(state)
            )),
            Line::raw(""),
            Line::styled("Nothing is deleted before you type the cluster's name.", theme.dim()),
        ],
        Some(Err(e)) => {
            let mut lines = vec![Line::styled("✘ Teardown cannot start:", theme.bad())];
            lines.extend(e.lines().map(|l| Line::raw(l.to_string())));
            lines.push(Line::raw(""));
            lines.push(Line::styled("Nothing was deleted. q quits.", theme.dim()));
            lines
        }
        Some(Ok(_)) => Vec::new(),
    };
    let width = area.width as usize;
    let rows: Vec<Line> = lines.into_iter().flat_map(|l| wrap_line(l, width, 2)).collect();
    frame.render_widget(Paragraph::new(rows), area);
}

/// Inventory: what goes, in order, and what stays; below, the toggles and the name field.
pub fn inventory(frame: &mut Frame<'_>, area: Rect, state: &State, t: &Teardown, theme: Theme) {
    let name = &state.answers.cluster.name;
    let block = Block::bordered().title(format!(" Teardown of {name} "));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(inv) = t.ready() else {
        preparing(frame, inner, state, t, theme);
        return;
    };
    let (control_rows, cursor) = control_lines(state, t, inv, inner.width as usize, theme);
    let [list_area, controls] =
        Layout::vertical([Constraint::Min(3), Constraint::Length(control_rows.len() as u16)])
            .areas(inner);
    let width = list_area.width as usize;
    let (lines, focused) = inventory_lines(t, inv, width, theme);
    // PgUp / PgDn scroll; a focused resource type is always brought into view.
    let height = list_area.height as usize;
    let max = lines.len().saturating_sub(height);
    let mut offset = t.scroll.min(max);
    // One line of room each side: the first and last lines shown may be "more" markers.
    if let Some(line) = focused {
        if line <= offset {
            offset = line.saturating_sub(1);
        } else if line + 2 > offset + height {
            offset = (line + 2).saturating_sub(height).min(max);
        }
    }
    let more = lines.len().saturating_sub(offset + height);
    let mut shown: Vec<Line> = lines.into_iter().skip(offset).take(height).collect();
    if more > 0
        && let Some(last) = shown.last_mut()
    {
        *last = Line::styled(format!("  … {} more lines: PgDn", more + 1), theme.dim());
    }
    if offset > 0
        && let Some(first) = shown.first_mut()
    {
        *first = Line::styled(format!("  … {} lines above: PgUp", offset + 1), theme.dim());
    }
    frame.render_widget(Paragraph::new(shown), list_area);
    frame.render_widget(Paragraph::new(control_rows), controls);
    if let Some(x) = cursor {
        frame.set_cursor_position(Position::new(controls.x + x, controls.y + 2));
    }
}

/// The inventory as lines, and which line the focused resource type is on.
fn inventory_lines(
    t: &Teardown,
    inv: &Inventory,
    width: usize,
    theme: Theme,
) -> (Vec<Line<'static>>, Option<usize>) {
    let mut lines: Vec<Line<'static>> = Vec::new();
    let mut focused = None;
    // Whose cluster this is: the confirmation below deletes what the team's record lists.
    if let Some(made_by) = &inv.made_by {
        for l in wrap(&format!("Cluster {}: {made_by}.", inv.cluster), width) {
            lines.push(Line::styled(l, theme.bold()));
        }
    }
    if inv.is_empty() {
        for l in wrap(
            "Nothing to delete: the journal records nothing the wizard created that is still \
             there.",
            width,
        ) {
            lines.push(Line::styled(l, theme.ok()));
        }
    } else {
        // First the whole of it, a line a step, on the first screen whatever kops lists; then
        // the details, where kops's resource types unfold.
        lines.push(Line::styled("Will delete, in this order:", theme.bold()));
        for (label, words) in crate::ui::inventory::summary(inv) {
            let text = format!("{label:<15}{words}");
            let style = if label == "Keeps" { theme.dim() } else { Style::new() };
            lines.extend(wrap_styled(&text, style, width, 15));
        }
        lines.push(Line::styled(
            "In detail (Tab: kops's resource types, Space unfolds):",
            theme.bold(),
        ));
    }
    let types = inv.cloud_types();
    for (n, step) in inv.steps.iter().enumerate() {
        lines.push(Line::raw(format!("{}. {}", n + 1, step.id.title())));
        for item in step.actions.iter().flatten() {
            for (i, l) in wrap(&item.text, width.saturating_sub(5)).into_iter().enumerate() {
                lines.push(Line::raw(format!("   {} {l}", if i == 0 { "-" } else { " " })));
            }
            match &item.what {
                ItemKind::Cluster => {
                    for (i, (kind, count)) in types.iter().enumerate() {
                        let open = t.expanded.contains(kind);
                        let text =
                            format!("     {} {count} × {kind}", if open { "▾" } else { "▸" });
                        if t.focus == Focus::Type(i) {
                            focused = Some(lines.len());
                            lines.push(Line::styled(
                                format!("{text:<w$}", w = width),
                                theme.focus(),
                            ));
                        } else {
                            lines.push(Line::raw(text));
                        }
                        if open {
                            for r in inv.cloud.iter().filter(|r| r.kind == *kind) {
                                let text = match r.name.is_empty() {
                                    true => format!("         {}", r.id),
                                    false => format!("         {}  {}", r.id, r.name),
                                };
                                lines.extend(wrap_styled(&text, theme.dim(), width, 11));
                            }
                        }
                    }
                }
                ItemKind::Versions { count: Some(c), .. } => lines.push(Line::styled(
                    format!(
                        "     now {} object versions and {} delete markers",
                        c.versions, c.delete_markers
                    ),
                    theme.dim(),
                )),
                ItemKind::Versions { count: None, .. }
                | ItemKind::Policy { .. }
                | ItemKind::Other => {}
            }
        }
    }
    // Wrapped at the page's width with the hang inside it: wrapping short of the width and
    // adding the hang after ran a long load balancer's row past the border, which cut its
    // last word ("deleted firs").
    for line in crate::ui::inventory::kubernetes(inv).lines() {
        lines.extend(wrap_styled(line, Style::new(), width, 4));
    }
    if !inv.kept.is_empty() {
        lines.push(Line::styled("Will keep:", theme.bold()));
        for kept in &inv.kept {
            for (i, l) in wrap(kept, width.saturating_sub(4)).into_iter().enumerate() {
                lines.push(Line::raw(format!("  {} {l}", if i == 0 { "-" } else { " " })));
            }
        }
    }
    (lines, focused)
}

/// Below the inventory: the toggles, the name field and what Enter does (whole, however many
/// rows it takes); and the cursor's column in the name field when it has the focus.
fn control_lines(
    state: &State,
    t: &Teardown,
    inv: &Inventory,
    width: usize,
    theme: Theme,
) -> (Vec<Line<'static>>, Option<u16>) {
    let mut toggles = Vec::new();
    for (i, toggle) in Toggle::ALL.into_iter().enumerate() {
        if i > 0 {
            toggles.push(Span::raw("  "));
        }
        let mark = if toggle.get(&t.opts) { "[x]" } else { "[ ]" };
        let text = format!("{mark} {}", short(toggle));
        let style = if t.focus == Focus::Toggle(toggle) { theme.focus() } else { theme.bold() };
        toggles.push(Span::styled(text, style));
    }
    let label = format!("Type {} to delete it: ", inv.cluster);
    let label_len = label.chars().count();
    let inner = width.saturating_sub(label_len + 2).clamp(8, 40);
    let scroll = t.confirm.visual_scroll(inner);
    let shown: String = t.confirm.value().chars().skip(scroll).take(inner).collect();
    let field_style = if t.focus == Focus::Name { theme.focus() } else { theme.bold() };
    let field =
        Line::from(vec![Span::raw(label), Span::styled(format!("[{shown:<inner$}]"), field_style)]);
    let (note, style) = match (&t.refused, inv.is_empty()) {
        (Some(refused), _) => (format!("✘ {refused}"), theme.bad()),
        (None, true) => ("Nothing to delete: q quits.".to_string(), theme.dim()),
        (None, false) if inv.opts != t.opts => {
            (format!("{} planning again…", spinner(state)), theme.dim())
        }
        (None, false) => (
            "Enter with the right name deletes what is listed above; anything else deletes \
             nothing. Tab: the toggles and the resource types."
                .to_string(),
            theme.dim(),
        ),
    };
    let mut lines = vec![Line::styled("─".repeat(width), theme.dim())];
    lines.extend(wrap_line(Line::from(toggles), width, 0));
    lines.push(field);
    // A refusal hangs under its ✘; the plain note wraps as prose.
    let indent = if t.refused.is_some() { 2 } else { 0 };
    lines.extend(wrap_styled(&note, style, width, indent));
    let cursor = (t.focus == Focus::Name && state.overlay.is_none())
        .then(|| (label_len + 1 + t.confirm.visual_cursor().saturating_sub(scroll)) as u16);
    (lines, cursor)
}

fn short(toggle: Toggle) -> &'static str {
    match toggle {
        Toggle::KeepBucket => "keep bucket",
        Toggle::KeepIam => "keep IAM",
        Toggle::DeleteSshKey => "delete SSH key",
    }
}

/// Deleting: a row per action with its state and time; under kops's row, a row per resource
/// type; under the bucket's, its gauge; at the bottom, what is blocked by dependencies now.
pub fn deleting(frame: &mut Frame<'_>, area: Rect, state: &State, t: &Teardown, theme: Theme) {
    let title = match (&t.ended, t.running) {
        (_, true) => format!(" Deleting {} ", state.answers.cluster.name),
        (Some(Ended::Failed(_)), _) => " Teardown stopped ".to_string(),
        _ => " Deleted ".to_string(),
    };
    let block = Block::bordered().title(title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let blocked = blocked_lines(&t.blocked, inner.width as usize, theme);
    let [rows_area, blocked_area] =
        Layout::vertical([Constraint::Min(3), Constraint::Length(blocked.len() as u16)])
            .areas(inner);
    let width = rows_area.width as usize;

    let mut lines: Vec<Line<'static>> = Vec::new();
    let mut current = None;
    let cloud = t.cloud_rows();
    let kind_width = cloud.iter().map(|c| c.kind.chars().count()).max().unwrap_or(0);
    for row in &t.rows {
        let (mark, elapsed) = step_status(state, &row.status, Duration::ZERO, theme);
        if current.is_none() && !matches!(row.status, StepStatus::Finished { .. }) {
            current = Some(lines.len());
        }
        let line = Line::from(vec![mark, Span::raw(" "), Span::raw(row.text.clone())]);
        lines.extend(timed(line, &elapsed, width, 2));
        match &row.what {
            ItemKind::Cluster => {
                for c in &cloud {
                    let (mark, words, time) = cloud_words(state, &c.state);
                    let text = format!(
                        "  {mark} {:<kind_width$} {:>3}/{:<3} {words}",
                        c.kind, c.deleted, c.total
                    );
                    let style = match c.state {
                        CloudState::Blocked(_) => theme.warn(),
                        CloudState::Failed => theme.bad(),
                        CloudState::Waiting | CloudState::Deleting | CloudState::Deleted(_) => {
                            Style::new()
                        }
                    };
                    let indent = kind_width + 13;
                    lines.extend(timed(Line::raw(text).style(style), &time, width, indent));
                }
            }
            ItemKind::Versions { count, .. } => {
                let (done, total) = row.progress.unwrap_or((0, count.map_or(0, |c| c.total())));
                if row.progress.is_some() || matches!(row.status, StepStatus::Running { .. }) {
                    lines.push(Line::styled(gauge(done, total, width), theme.ok()));
                }
            }
            ItemKind::Policy { .. } | ItemKind::Other => {}
        }
    }
    // Follow the first row not done yet, as a log follows its last line.
    let height = rows_area.height as usize;
    let offset = match current {
        Some(line) if line + 3 > height => {
            (line + 3 - height).min(lines.len().saturating_sub(height))
        }
        None => lines.len().saturating_sub(height),
        _ => 0,
    };
    let shown: Vec<Line> = lines.into_iter().skip(offset).take(height).collect();
    frame.render_widget(Paragraph::new(shown), rows_area);
    frame.render_widget(Paragraph::new(blocked), blocked_area);
}

/// What kops could not delete in its last round, whole names on at most three rows; the
/// rest counted (the log has every name).
fn blocked_lines(blocked: &[String], width: usize, theme: Theme) -> Vec<Line<'static>> {
    if blocked.is_empty() {
        return Vec::new();
    }
    const ROWS: usize = 3;
    let mut rows: Vec<String> = vec![String::new()];
    let mut shown = 0;
    for (i, name) in blocked.iter().enumerate() {
        let more = blocked.len() - i;
        let last = rows.len() == ROWS;
        // On the last row, room is kept for "and N more" unless this name is the last one.
        let tail = if last && more > 1 { format!(", and {} more", more - 1).len() } else { 0 };
        let row = rows.last_mut().map_or(0, |r| r.chars().count());
        let sep = if row == 0 { 0 } else { 2 };
        if row + sep + name.chars().count() + tail > width && row > 0 {
            if last {
                break;
            }
            rows.push(String::new());
        }
        if let Some(r) = rows.last_mut() {
            if !r.is_empty() {
                r.push_str(", ");
            }
            r.push_str(name);
        }
        shown += 1;
    }
    if shown < blocked.len()
        && let Some(r) = rows.last_mut()
    {
        r.push_str(&format!(", and {} more", blocked.len() - shown));
    }
    let mut lines = vec![Line::styled(
        format!("Blocked by dependencies now ({}), kops retries:", blocked.len()),
        theme.warn(),
    )];
    lines.extend(rows.into_iter().map(Line::raw));
    lines
}

/// `line` wrapped in the columns left of `time`, which ends its first row a column before the
/// right edge (the last column stays free, as in every wrapped row).
fn timed(line: Line<'static>, time: &str, width: usize, indent: usize) -> Vec<Line<'static>> {
    let time_width = time.chars().count();
    let mut rows = wrap_line(line, width.saturating_sub(time_width + 1), indent);
    if let Some(first) = rows.first_mut()
        && time_width > 0
    {
        let pad = width.saturating_sub(first.width() + time_width + 1);
        first.spans.push(Span::raw(format!("{:pad$}{time}", "")));
    }
    rows
}

/// `    [██████░░░░░░] 40/68 versions deleted`: text, so it reads the same without colour.
fn gauge(done: usize, total: usize, width: usize) -> String {
    let label = format!(" {done}/{total} versions deleted");
    let bar = width.saturating_sub(label.len() + 6).min(30);
    let filled = (done * bar).checked_div(total).unwrap_or(bar).min(bar);
    format!("    [{}{}]{label}", "█".repeat(filled), "░".repeat(bar - filled))
}

fn cloud_words(state: &State, s: &CloudState) -> (&'static str, String, String) {
    match s {
        CloudState::Waiting => ("·", "waiting".into(), String::new()),
        CloudState::Deleting => (spinner(state), "deleting".into(), String::new()),
        CloudState::Blocked(n) => ("⏸", format!("blocked by dependencies ({n})"), String::new()),
        CloudState::Deleted(at) => ("✔", "deleted".into(), secs(*at)),
        CloudState::Failed => ("✘", "failed: still there".into(), String::new()),
    }
}

/// Result: what the final check found, or why teardown stopped and what is still there.
pub fn result(frame: &mut Frame<'_>, area: Rect, state: &State, t: &Teardown, theme: Theme) {
    let block = Block::bordered().title(" Result ");
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = inner.width as usize;
    let name = &state.answers.cluster.name;
    let mut lines: Vec<Line<'static>> = Vec::new();
    let took: Duration = t
        .rows
        .iter()
        .map(|r| match r.status {
            StepStatus::Finished { elapsed } | StepStatus::Failed { elapsed } => elapsed,
            _ => Duration::ZERO,
        })
        .sum();
    match &t.ended {
        Some(Ended::Checked(left, kept)) if left.is_empty() => {
            lines.push(Line::styled(format!("✔ Nothing left of {name}."), theme.ok()));
            for l in wrap(
                &format!(
                    "The final check asked AWS for everything this teardown deleted and for \
                     everything tagged for the cluster ({} actions in {}): none of it exists \
                     any more.",
                    t.rows.len(),
                    secs(took)
                ),
                width,
            ) {
                lines.push(Line::raw(l));
            }
            if !kept.is_empty() {
                lines.push(Line::raw(""));
                lines.push(Line::styled(
                    "Kept (they may hold data; --delete-volumes deletes them):",
                    theme.warn(),
                ));
                for k in kept {
                    for (i, l) in wrap(k, width.saturating_sub(4)).into_iter().enumerate() {
                        lines.push(Line::raw(format!("  {} {l}", if i == 0 { "-" } else { " " })));
                    }
                }
            }
        }
        Some(Ended::Checked(left, _)) => {
            lines.push(Line::styled(
                format!("✘ The final check found {} thing(s) still there:", left.len()),
                theme.bad(),
            ));
            for l in left {
                lines.extend(wrap_styled(&format!("  - {l}"), Style::new(), width, 4));
            }
            lines.push(Line::raw(""));
            lines.push(Line::raw("Run `kops-wizard teardown` again to retry them."));
        }
        Some(Ended::Failed(error)) => {
            lines.push(Line::styled("✘ Teardown stopped:", theme.bad()));
            for l in error.lines() {
                for w in wrap(l, width) {
                    lines.push(Line::raw(w));
                }
            }
            let left = t.still_there();
            if !left.is_empty() {
                lines.push(Line::styled("Still there:", theme.bold()));
                for l in left {
                    for (i, w) in wrap(&l, width.saturating_sub(4)).into_iter().enumerate() {
                        lines.push(Line::raw(format!("  {} {w}", if i == 0 { "-" } else { " " })));
                    }
                }
            }
        }
        None => lines.push(Line::raw("Teardown has not finished.")),
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled("Enter or q quits; the summary is printed after.", theme.dim()));
    frame.render_widget(Paragraph::new(lines), inner);
}
