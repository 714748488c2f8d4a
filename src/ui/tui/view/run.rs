//! Run: a row per step (spinner, elapsed, latest result), the failure with what to do, and the
//! validation dashboard: instance groups, nodes, failures explained, and the deadline.

use std::time::Duration;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, LineGauge, Paragraph, Row, Table};

use super::{Theme, step_status, wrap_line, wrap_styled};
use crate::engine::cluster::validate::{Failure, Phase, Role};
use crate::rules::format_duration;
use crate::ui::tui::state::{Dashboard, SmokeView, State};

pub fn render(frame: &mut Frame<'_>, area: Rect, state: &State, theme: Theme) {
    let title = if state.run.running {
        " Run ".to_string()
    } else if state.run.error.is_some() {
        " Run: stopped ".to_string()
    } else {
        " Run ".to_string()
    };
    let block = Block::bordered().title(title);
    let inner = block.inner(area);
    frame.render_widget(block, area);

    let r = &state.run;
    let width = inner.width as usize;
    let mut steps = step_rows(state, width, false, theme);
    // The panel below is what the user waits on: when the steps' items (wrapped paths and
    // messages) would leave it no room, finished steps keep only their marker and time; their
    // items stay in the log. At 80x24 a real run's items took every row and the validation
    // dashboard showed only its gauge.
    if steps.len() + panel_rows(state, width) > inner.height as usize {
        steps = step_rows(state, width, true, theme);
    }
    // A blank row before the panel below, where the screen has a row to spare for it.
    let panel = r.error.is_some() || r.dashboard.is_some() || r.smoke.is_some();
    let below = u16::from(panel && inner.height > 16);
    let [steps_area, rest] =
        Layout::vertical([Constraint::Length(steps.len() as u16 + below), Constraint::Min(0)])
            .areas(inner);
    frame.render_widget(Paragraph::new(steps), steps_area);
    if let Some(error) = &state.run.error {
        render_error(frame, rest, error, theme);
    } else if let Some(smoke) = &state.run.smoke {
        smoke_panel(frame, rest, smoke, theme);
    } else if let Some(d) = &state.run.dashboard {
        dashboard(frame, rest, state, d, theme);
    }
}

/// Where the step's latest item starts on its row: after the marker, the step's short name
/// and its time; a long item wraps under itself.
const ITEM_COLUMN: usize = 24;

/// A row per step: its marker, its short name, its time (the step's own, every attempt of this
/// session counted) and its latest item, wrapped under itself.
/// With `compact`, a finished step's row has no item.
fn step_rows(state: &State, width: usize, compact: bool, theme: Theme) -> Vec<Line<'static>> {
    state
        .run
        .steps
        .iter()
        .flat_map(|s| {
            let (mark, elapsed) = step_status(state, &s.status, s.earlier, theme);
            let finished = matches!(s.status, crate::ui::tui::state::StepStatus::Finished { .. });
            let item = match compact && finished {
                true => String::new(),
                false => s.last.clone().unwrap_or_default(),
            };
            let line = Line::from(vec![
                mark,
                Span::raw(format!(" {:<12} {elapsed:>7}  ", s.id.short())),
                Span::raw(item),
            ]);
            wrap_line(line, width, ITEM_COLUMN)
        })
        .collect()
}

/// The rows the panel under the steps needs to say what it is waiting on: the error whole;
/// the smoke test's rows; the dashboard's phase, attempt, gauge and instance groups.
fn panel_rows(state: &State, width: usize) -> usize {
    let r = &state.run;
    if let Some(error) = &r.error {
        error.lines().map(|l| super::wrap(l, width).len().max(1)).sum::<usize>() + 3
    } else if r.smoke.is_some() {
        5
    } else if let Some(d) = &r.dashboard {
        2 + 1 + d.validation.attempt.groups.len() + 1
    } else {
        0
    }
}

/// The smoke test's waits, one row each: pods, the NLB, its targets, the pods that answered.
fn smoke_panel(frame: &mut Frame<'_>, area: Rect, smoke: &SmokeView, theme: Theme) {
    let row = |label: &str, value: String, done: bool| {
        let mark = match done {
            true => Span::styled("✔ ", theme.ok()),
            false => Span::styled("… ", theme.dim()),
        };
        Line::from(vec![mark, Span::styled(format!("{label:<16}"), theme.bold()), Span::raw(value)])
    };
    let mut lines =
        vec![Line::styled("Smoke test: two pods behind a Network Load Balancer", theme.bold())];
    let (ready, wanted) = smoke.pods.unwrap_or((0, 2));
    lines.push(row("pods ready", format!("{ready} of {wanted}"), ready >= wanted));
    let (balancer, active) = match &smoke.balancer {
        Some((name, state)) => (format!("{name}: {state}"), state == "active"),
        None if smoke.waiting_address => ("waiting for the Service's address".into(), false),
        None => ("not asked for yet".into(), false),
    };
    lines.push(row("load balancer", balancer, active));
    let (healthy, total) = smoke.targets.unwrap_or((0, 0));
    lines.push(row(
        "targets healthy",
        match total {
            0 => "none registered yet".into(),
            _ => format!("{healthy} of {total}"),
        },
        total > 0 && healthy == total,
    ));
    let wanted = smoke.wanted.max(2);
    lines.push(row(
        "answered",
        match smoke.answered.is_empty() {
            true => "no pod yet".into(),
            false => format!("{} of {wanted}: {}", smoke.answered.len(), smoke.answered.join(", ")),
        },
        smoke.answered.len() >= wanted,
    ));
    // A value too long for its row continues under the value, not under the label.
    let width = area.width as usize;
    let rows: Vec<Line> = lines.into_iter().flat_map(|l| wrap_line(l, width, 18)).collect();
    frame.render_widget(Paragraph::new(rows), area);
}

fn render_error(frame: &mut Frame<'_>, area: Rect, error: &str, theme: Theme) {
    let width = area.width as usize;
    let mut lines = vec![Line::styled("✘ Setup stopped:", theme.bad())];
    for l in error.lines() {
        lines.extend(wrap_styled(l, Style::new(), width, 0));
    }
    lines.push(Line::raw(""));
    lines.push(Line::from(vec![
        Span::styled("r", theme.key()),
        Span::raw(" retry (resumes from the journal) · "),
        Span::styled("Esc", theme.key()),
        Span::raw(" Review · "),
        Span::styled("q", theme.key()),
        Span::raw(" quit"),
    ]));
    let rows: Vec<Line> = lines.into_iter().flat_map(|l| wrap_line(l, width, 0)).collect();
    frame.render_widget(Paragraph::new(rows), area);
}

/// What a known failure means while a new cluster boots, in words for someone watching.
pub fn explain(failure: &Failure) -> &'static str {
    let message = failure.message.to_lowercase();
    match failure.kind.as_str() {
        "dns" => "dns-controller has not replaced kops's placeholder address yet",
        "Machine" if message.contains("not yet joined") => {
            "the instance is still booting or running nodeup: usually 2-5 minutes"
        }
        "Node" if message.contains("not ready") => "the node joined; its network (CNI) is starting",
        "Pod" if message.contains("pending") => "waiting for a node to be ready to run it",
        "Pod" => "a system pod is starting",
        "InstanceGroup" => "the group has fewer instances than it wants yet",
        _ => "",
    }
}

fn phase_help(phase: Phase) -> &'static str {
    match phase {
        Phase::ApiUnreachable => "normal for the first minutes: the API's address is coming up",
        Phase::DnsNotUpdated => "normal while dns-controller starts",
        Phase::NodesJoining => "the API answers; instances are joining",
        Phase::Ready => "every group has its nodes",
    }
}

fn dashboard(frame: &mut Frame<'_>, area: Rect, state: &State, d: &Dashboard, theme: Theme) {
    let v = &d.validation;
    let a = &v.attempt;
    let elapsed = v.elapsed + Duration::from_millis(state.now.ms.saturating_sub(d.at_ms));
    let elapsed = Duration::from_secs(elapsed.as_secs());
    let width = area.width as usize;
    let phase_style = if a.phase == Phase::Ready { theme.ok() } else { theme.bold() };
    let head_line = Line::from(vec![
        Span::styled(format!("Validate: {}", a.phase.describe()), phase_style),
        Span::raw(format!(" · {}/{} nodes ready", a.ready_nodes, a.expected_nodes)),
    ]);
    let attempt = format!(
        "attempt {} · {} elapsed · {}",
        v.number,
        format_duration(elapsed),
        phase_help(a.phase)
    );
    let mut head_lines = wrap_line(head_line, width, 2);
    head_lines.extend(wrap_styled(&attempt, theme.dim(), width, 2));
    let [head, gauge, groups, nodes, failures] = Layout::vertical([
        Constraint::Length(head_lines.len() as u16),
        Constraint::Length(1),
        Constraint::Length(a.groups.len() as u16 + 1),
        Constraint::Length(if area.height > 16 { a.nodes.len().min(6) as u16 + 1 } else { 0 }),
        Constraint::Min(0),
    ])
    .areas(area);
    frame.render_widget(Paragraph::new(head_lines), head);

    let ratio = if v.wait.is_zero() {
        1.0
    } else {
        (elapsed.as_secs_f64() / v.wait.as_secs_f64()).clamp(0.0, 1.0)
    };
    let label = format!(
        "waiting up to {}, until {}",
        format_duration(v.wait),
        d.deadline.strftime("%H:%M")
    );
    // A line gauge keeps the label beside the bar (readable in any capture), and its two
    // symbols tell filled from unfilled without colour.
    frame.render_widget(
        LineGauge::default()
            .ratio(ratio)
            .label(format!("{label} "))
            .filled_symbol("━")
            .unfilled_symbol("─")
            .filled_style(theme.ok()),
        gauge,
    );

    let machine = |role: &Role| match role {
        Role::ControlPlane => state.answers.cluster.control_plane_size.clone(),
        Role::Node => state.answers.cluster.node_size.clone(),
        _ => String::new(),
    };
    let role_name = |role: &Role| match role {
        Role::ControlPlane => "control plane".to_string(),
        Role::Node => "node".to_string(),
        Role::Bastion => "bastion".to_string(),
        Role::Other(o) => o.clone(),
    };
    // Narrow screens drop the role column: the group's name already says it.
    let wide = groups.width >= 66;
    let group_rows: Vec<Row> = a
        .groups
        .iter()
        .map(|g| {
            let mark = if g.ready >= g.expected {
                Span::styled("✔", theme.ok())
            } else {
                Span::raw("…")
            };
            let mut cells = vec![Cell::from(Line::from(mark)), Cell::from(g.name.clone())];
            if wide {
                cells.push(Cell::from(role_name(&g.role)));
            }
            cells.push(Cell::from(machine(&g.role)));
            cells.push(Cell::from(format!("{}/{} ready", g.ready, g.expected)));
            Row::new(cells)
        })
        .collect();
    let (widths, header) = if wide {
        (
            vec![
                Constraint::Length(1),
                Constraint::Length(26),
                Constraint::Length(13),
                Constraint::Length(11),
                Constraint::Length(11),
            ],
            vec!["", "instance group", "role", "machine", "nodes"],
        )
    } else {
        (
            vec![
                Constraint::Length(1),
                Constraint::Length(26),
                Constraint::Length(10),
                Constraint::Length(11),
            ],
            vec!["", "instance group", "machine", "nodes"],
        )
    };
    frame.render_widget(
        Table::new(group_rows, widths).header(Row::new(header).style(theme.dim())),
        groups,
    );

    if nodes.height > 0 {
        let node_rows: Vec<Row> = a
            .nodes
            .iter()
            .take(6)
            .map(|n| {
                let ready = if n.ready {
                    Span::styled("ready", theme.ok())
                } else {
                    Span::raw("not ready")
                };
                Row::new(vec![
                    Cell::from(n.name.clone()),
                    Cell::from(n.role.clone()),
                    Cell::from(n.zone.clone()),
                    Cell::from(Line::from(ready)),
                ])
            })
            .collect();
        frame.render_widget(
            Table::new(
                node_rows,
                [
                    Constraint::Length(22),
                    Constraint::Length(13),
                    Constraint::Length(11),
                    Constraint::Length(9),
                ],
            )
            .header(Row::new(vec!["node", "role", "zone", "status"]).style(theme.dim())),
            nodes,
        );
    }

    let width = failures.width as usize;
    let mut lines = Vec::new();
    if let Some(detail) = &a.detail {
        lines.extend(wrap_styled(&format!("kops: {detail}"), theme.dim(), width, 6));
    }
    for f in &a.failures {
        let text = format!("• {}", f.summary());
        lines.extend(wrap_styled(&text, theme.warn(), width, 2));
        let why = explain(f);
        if !why.is_empty() {
            lines.extend(wrap_styled(&format!("  {why}"), theme.dim(), width, 2));
        }
    }
    frame.render_widget(Paragraph::new(lines), failures);
}
