//! Draws `change`: the plan page, the roll's dashboard (a row per instance with its phase and
//! age, the group's progress, validation, what the roll waits on, the ETA, kops's last lines)
//! and the end. Pure: a function of the state.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Gauge, Paragraph, Row, Table, Wrap};

use super::state::{Page, State};
use crate::engine::cluster::roll::Phase;
use crate::rules::format_duration;

fn fg(s: &State, c: Color) -> Style {
    if s.color { Style::new().fg(c) } else { Style::new() }
}

pub fn render(f: &mut Frame, s: &State) {
    let area = f.area();
    let [header, body, footer] =
        Layout::vertical([Constraint::Length(1), Constraint::Fill(1), Constraint::Length(1)])
            .areas(area);
    let title = match &s.page {
        Page::Plan => "plan".to_string(),
        Page::Running => format!("running {}", format_duration(s.elapsed())),
        Page::Done(Ok(_)) => "done".to_string(),
        Page::Done(Err(_)) => "stopped".to_string(),
    };
    f.render_widget(
        Line::from(vec![
            Span::styled(" kops-wizard change ", Style::new().add_modifier(Modifier::BOLD)),
            Span::raw(format!("│ {} │ {title}", s.cluster)),
        ]),
        header,
    );
    match &s.page {
        Page::Plan => plan(f, s, body),
        Page::Running => dashboard(f, s, body),
        Page::Done(result) => done(f, s, body, result),
    }
    let keys = match &s.page {
        Page::Plan => " Enter apply · ↑↓ scroll · q quit (nothing is changed)",
        Page::Running => " Ctrl-C stops between two kops calls; `change` again resumes",
        Page::Done(_) => " q quit",
    };
    f.render_widget(Line::styled(keys, fg(s, Color::Cyan)), footer);
}

fn plan(f: &mut Frame, s: &State, area: Rect) {
    let text: Vec<Line> = s
        .plan_text
        .lines()
        .map(|l| {
            if l.trim_start().starts_with("* ") {
                Line::styled(l.to_string(), fg(s, Color::Yellow).add_modifier(Modifier::BOLD))
            } else if l.trim_start().starts_with("warning:") || l.trim_start().starts_with("! ") {
                Line::styled(l.to_string(), fg(s, Color::Yellow))
            } else {
                Line::raw(l.to_string())
            }
        })
        .collect();
    f.render_widget(
        Paragraph::new(text)
            .block(Block::bordered().title(" Current -> desired, and the plan "))
            .wrap(Wrap { trim: false })
            .scroll((s.scroll, 0)),
        area,
    );
}

fn dashboard(f: &mut Frame, s: &State, area: Rect) {
    let log_rows = if area.height >= 30 { 10 } else { 4 };
    let [top, table, log] = Layout::vertical([
        Constraint::Length(4),
        Constraint::Fill(1),
        Constraint::Length(log_rows),
    ])
    .areas(area);
    status(f, s, top);
    nodes(f, s, table);
    let lines: Vec<Line> = s
        .log
        .iter()
        .rev()
        .take(usize::from(log_rows.saturating_sub(2)))
        .rev()
        .map(|l| Line::styled(l.clone(), fg(s, Color::DarkGray)))
        .collect();
    f.render_widget(Paragraph::new(lines).block(Block::bordered().title(" kops ")), log);
}

fn status(f: &mut Frame, s: &State, area: Rect) {
    let [gauge, call, waits] = Layout::vertical([Constraint::Length(1); 3])
        .areas(area.inner(ratatui::layout::Margin { horizontal: 1, vertical: 0 }));
    let (done, total) = match &s.board {
        Some(b) => (b.replaced(), b.replaced() + b.remaining()),
        None => (0, 0),
    };
    let ratio = if total == 0 { 0.0 } else { f64::from(done) / f64::from(total) };
    let eta = s
        .board
        .as_ref()
        .and_then(|b| b.eta(s.now))
        .map(|e| format!(", about {} left", format_duration(e)))
        .unwrap_or_else(|| ", ETA after the first node".into());
    let label = match &s.board {
        Some(b) => {
            format!("{done} of {total} replaced · group {}{eta}", b.group.as_deref().unwrap_or("-"))
        }
        None => format!("call {} of {}", s.calls_done + 1, s.calls_total.max(1)),
    };
    f.render_widget(
        Gauge::default().ratio(ratio).label(label).gauge_style(fg(s, Color::Green)),
        gauge,
    );
    f.render_widget(Line::raw(s.call.clone().unwrap_or_default()), call);
    let mut wait = Vec::new();
    if let Some(b) = &s.board {
        if let Some(pod) = &b.blocked_on {
            wait.push(Span::styled(
                format!("drain waits on pod {pod}: its PodDisruptionBudget allows no disruption"),
                fg(s, Color::Yellow),
            ));
        } else if let Some(why) = &b.not_validated {
            wait.push(Span::styled(format!("not validated yet: {why}"), fg(s, Color::Yellow)));
        } else if b.validating {
            wait.push(Span::raw("validating the cluster"));
        }
        if let Some(failure) = b.failures.last() {
            wait.push(Span::styled(format!("  failed: {failure}"), fg(s, Color::Red)));
        }
    }
    if let Some(seen) = &s.probe {
        let style = if seen.failed > 0 { fg(s, Color::Red) } else { fg(s, Color::Green) };
        wait.push(Span::styled(
            format!("  NLB: {} asked, {} failed, {} slow", seen.requests, seen.failed, seen.slow),
            style,
        ));
    }
    f.render_widget(Line::from(wait), waits);
}

fn nodes(f: &mut Frame, s: &State, area: Rect) {
    let Some(board) = &s.board else {
        f.render_widget(
            Paragraph::new("The instances appear when the roll starts.")
                .block(Block::bordered().title(" Instances ")),
            area,
        );
        return;
    };
    let rows = board.rows.iter().map(|r| {
        let style = match r.phase {
            Phase::UpToDate | Phase::Replaced | Phase::Removed => fg(s, Color::Green),
            Phase::NeedsUpdate => Style::new(),
            Phase::Cordoned | Phase::Draining | Phase::Terminating => {
                fg(s, Color::Yellow).add_modifier(Modifier::BOLD)
            }
        };
        Row::new(vec![
            r.instance.clone(),
            r.group.clone(),
            r.phase.label().to_string(),
            format_duration(s.now.saturating_duration_since(r.since)),
        ])
        .style(style)
    });
    let table = Table::new(
        rows,
        [
            Constraint::Length(21),
            Constraint::Fill(1),
            Constraint::Length(13),
            Constraint::Length(8),
        ],
    )
    .header(
        Row::new(["INSTANCE", "GROUP", "STATE", "FOR"])
            .style(Style::new().add_modifier(Modifier::BOLD)),
    )
    .block(Block::bordered().title(format!(" Instances ({}) ", board.rows.len())));
    f.render_widget(table, area);
}

fn done(f: &mut Frame, s: &State, area: Rect, result: &Result<String, String>) {
    let (title, text, style) = match result {
        Ok(words) => (" Done ", words.clone(), fg(s, Color::Green)),
        Err(why) => (" Stopped ", why.clone(), fg(s, Color::Red)),
    };
    let [top, rest] = Layout::vertical([Constraint::Fill(1), Constraint::Fill(1)]).areas(area);
    f.render_widget(
        Paragraph::new(Line::styled(text, style))
            .wrap(Wrap { trim: false })
            .block(Block::bordered().title(title)),
        top,
    );
    if s.board.is_some() {
        nodes(f, s, rest);
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    use super::super::state::{Msg, State, update};
    use super::*;
    use crate::engine::change::{Progress, Summary};
    use crate::engine::cluster::roll::{Board, parse_instances};

    fn screen(s: &State, w: u16, h: u16) -> String {
        let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
        t.draw(|f| render(f, s)).unwrap();
        let b = t.backend().buffer();
        (0..h)
            .map(|y| (0..w).map(|x| b[(x, y)].symbol()).collect::<String>().trim_end().to_string())
            .collect::<Vec<_>>()
            .join("\n")
    }

    const PLAN: &str = "Cluster demo.k8s.local (current -> desired):\n  \
        cluster.kubernetes_version   1.35.0\n  * cluster.node_size            t3.medium -> t3.large\n";

    fn rolling(t0: Instant) -> State {
        let mut s = State::new("demo.k8s.local", PLAN.into(), 3, t0);
        s.color = false;
        update(&mut s, Msg::Apply);
        let instances = parse_instances(
            r#"[{"id":"i-0a1","nodeName":"n1","status":"NeedsUpdate","instanceGroup":"nodes-us-east-1a"},
                {"id":"i-0a2","nodeName":"n2","status":"NeedsUpdate","instanceGroup":"nodes-us-east-1a"},
                {"id":"i-0cp","nodeName":"cp","status":"UpToDate","instanceGroup":"control-plane-us-east-1a"}]"#,
        )
        .unwrap();
        let mut board = Board::new(&instances, t0);
        let k = "I0101 00:00:00.000000 1 x.go:1] ";
        board.feed(&format!("{k}Tainting 2 node(s) in \"nodes-us-east-1a\" instancegroup."), t0);
        board.feed(
            &format!(
                "{k}Detaching instance \"i-0a1\", node \"n1\", in group \"nodes-us-east-1a\"."
            ),
            t0,
        );
        board.feed(
            &format!(
                "{k}Stopping instance \"i-0a1\", node \"n1\", in group \"nodes-us-east-1a\" (x)."
            ),
            t0 + Duration::from_secs(60),
        );
        board.feed(&format!("{k}Cluster validated."), t0 + Duration::from_secs(120));
        board.feed(&format!("{k}Draining the node: \"n2\"."), t0 + Duration::from_secs(130));
        board.feed("error when evicting pods/\"web-0\" -n \"shop\" (will retry after 5s): Cannot evict pod as it would violate the pod's disruption budget.", t0 + Duration::from_secs(131));
        update(
            &mut s,
            Msg::Progress(Progress::Call(vec![
                "rolling-update".into(),
                "cluster".into(),
                "--yes".into(),
            ])),
        );
        update(&mut s, Msg::Progress(Progress::Line("I0101 Draining the node: \"n2\".".into())));
        update(&mut s, Msg::Progress(Progress::Board(Box::new(board))));
        update(&mut s, Msg::Tick(t0 + Duration::from_secs(150)));
        s
    }

    #[test]
    fn the_plan_page_marks_what_changes_and_says_nothing_changes_on_quit() {
        let mut s = State::new("demo.k8s.local", PLAN.into(), 3, Instant::now());
        s.color = false;
        let text = screen(&s, 80, 24);
        assert!(text.contains("* cluster.node_size            t3.medium -> t3.large"), "{text}");
        assert!(text.contains("q quit (nothing is changed)"), "{text}");
        assert!(!s.needs_tick(), "no clock on the plan page: no ticks");
        assert!(update(&mut s, Msg::Quit) && s.quit && !s.apply);
    }

    #[test]
    fn the_dashboard_shows_each_instance_its_state_the_eta_and_the_blocking_pod() {
        let t0 = Instant::now();
        let s = rolling(t0);
        for (w, h) in [(80, 24), (200, 50)] {
            let text = screen(&s, w, h);
            assert!(text.contains("i-0a1") && text.contains("replaced"), "{text}");
            assert!(text.contains("i-0a2") && text.contains("draining"), "{text}");
            assert!(text.contains("i-0cp") && text.contains("up to date"), "{text}");
            assert!(text.contains("1 of 2 replaced"), "{text}");
            assert!(text.contains("drain waits on pod shop/web-0"), "{text}");
            assert!(text.contains("running 2m30s"), "{text}");
        }
        insta::assert_snapshot!("change-dashboard-80x24", screen(&s, 80, 24));
        insta::assert_snapshot!("change-dashboard-200x50", screen(&s, 200, 50));
    }

    #[test]
    fn a_quit_key_does_not_stop_a_running_change_and_the_end_says_how_it_went() {
        let t0 = Instant::now();
        let mut s = rolling(t0);
        assert!(!update(&mut s, Msg::Quit), "q while running changes nothing");
        assert!(!s.quit);
        let summary = Summary {
            elapsed: Duration::from_secs(300),
            replaced: 2,
            left: vec![],
            probe: None,
            untainted: vec![],
            taint_check: None,
        };
        update(&mut s, Msg::Finished(Ok(summary)));
        let text = screen(&s, 80, 24);
        assert!(text.contains("Done in 5m. 2 instance(s) replaced."), "{text}");
        assert!(!s.needs_tick());
        let mut failed = rolling(t0);
        update(&mut failed, Msg::Finished(Err("the roll stopped: failed to drain node".into())));
        let text = screen(&failed, 80, 24);
        assert!(text.contains("Stopped") && text.contains("failed to drain node"), "{text}");
    }
}
