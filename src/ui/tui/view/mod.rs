//! The views: pure functions from `&State` to a frame. This module lays the screen out
//! (header, step list, the page, log pane, footer) and draws the shared widgets and overlays;
//! each page has its own module.

mod done;
mod existing;
mod questions;
mod review;
mod run;
mod teardown;
mod wrap;

pub use done::smoke_words;
pub use done::usage as done_usage;
pub use wrap::{wrap, wrap_line, wrap_styled};

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Block, Clear, Paragraph, Scrollbar, ScrollbarOrientation, ScrollbarState, Widget as _,
};

use super::state::{CheckState, Overlay, Page, State, StepStatus};

/// Styles that still say what they mean without colour (`NO_COLOR`): every state also has a
/// marker (✔ ✘ ! ▶) or a modifier (bold, reverse).
#[derive(Debug, Clone, Copy)]
pub struct Theme {
    color: bool,
}

impl Theme {
    pub fn new(color: bool) -> Self {
        Theme { color }
    }
    fn fg(self, c: Color) -> Style {
        if self.color { Style::new().fg(c) } else { Style::new() }
    }
    pub fn ok(self) -> Style {
        self.fg(Color::Green)
    }
    pub fn bad(self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }
    pub fn warn(self) -> Style {
        self.fg(Color::Yellow)
    }
    pub fn dim(self) -> Style {
        if self.color { Style::new().fg(Color::DarkGray) } else { Style::new() }
    }
    pub fn focus(self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }
    pub fn bold(self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }
    pub fn key(self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }
}

/// Spinner frames; one every 100 ms while something runs.
const SPINNER: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

pub fn spinner(state: &State) -> &'static str {
    SPINNER[(state.now.ms / 100 % SPINNER.len() as u64) as usize]
}

/// From this width on the step list is a 20-column sidebar; below it the list is one line,
/// "Step 3 of 7: SSH key", and the page gets the columns: at 80x24, the default terminal, the
/// sidebar left the page 58 columns and its words were cut.
pub const SIDEBAR_MIN_WIDTH: u16 = 100;

/// The smallest screen the wizard draws on; a smaller one says so and waits for a resize.
pub const MIN_SIZE: (u16, u16) = (80, 24);

/// Draws the whole screen.
pub fn render(frame: &mut Frame<'_>, state: &State) {
    draw(frame, state);
    // A terminal whose locale is not UTF-8 gets every cell in ASCII, borders included.
    if state.ascii {
        for cell in &mut frame.buffer_mut().content {
            if let Some(plain) = crate::text::ascii_cell(cell.symbol()) {
                cell.set_symbol(plain);
            }
        }
    }
}

fn draw(frame: &mut Frame<'_>, state: &State) {
    let area = frame.area();
    if state.too_small() || area.width < MIN_SIZE.0 || area.height < MIN_SIZE.1 {
        too_small(frame, area);
        return;
    }
    let theme = Theme::new(state.color);
    let sidebar = area.width >= SIDEBAR_MIN_WIDTH;
    let [header, main, log, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(8),
        Constraint::Length(log_height(state, area.height)),
        Constraint::Length(1),
    ])
    .areas(area);
    let content = if sidebar {
        let [steps, content] =
            Layout::horizontal([Constraint::Length(20), Constraint::Min(40)]).areas(main);
        render_steps(frame, steps, state, theme);
        content
    } else {
        main
    };

    render_header(frame, header, state, theme);
    match state.page {
        Page::Step(step) => questions::render(frame, content, state, step, theme),
        Page::Review => review::render(frame, content, state, theme),
        Page::Run => run::render(frame, content, state, theme),
        Page::Done => done::render(frame, content, state, theme),
        Page::Existing => existing::render(frame, content, state, theme),
        Page::Inventory | Page::Deleting | Page::Result => {
            if let Some(t) = &state.teardown {
                match state.page {
                    Page::Inventory => teardown::inventory(frame, content, state, t, theme),
                    Page::Deleting => teardown::deleting(frame, content, state, t, theme),
                    _ => teardown::result(frame, content, state, t, theme),
                }
            }
        }
    }
    if !sidebar {
        render_counter(frame, content, state, theme);
    }
    if log.height > 0 {
        render_log(frame, log, state);
    }
    render_footer(frame, footer, state, theme);

    match &state.overlay {
        None => {}
        Some(Overlay::Help) => help(frame, area, theme),
        Some(Overlay::Quit) => quit_question(frame, area, state, theme),
        Some(Overlay::Overwrite(path)) => ask(
            frame,
            area,
            "Overwrite?",
            vec![
                // The path whole on its own row; the question wraps below it.
                Text::Whole(Line::from(path.display().to_string())),
                Text::words(
                    "exists. Replace it with the answers on screen? (no secrets are written)",
                    Style::new(),
                ),
            ],
            theme,
        ),
        Some(Overlay::Script { lines, scroll }) => script(frame, main, lines, *scroll, theme),
    }
}

/// The log pane's rows: none while it is empty, more on a tall screen. The inventory and the
/// result need the room more than the log (the log file has it all); Done needs every row for
/// the lines to copy, and names the log file.
fn log_height(state: &State, height: u16) -> u16 {
    if state.log.is_empty() {
        return 0;
    }
    if height >= 36 {
        return 10;
    }
    match state.page {
        Page::Done => 0,
        Page::Inventory | Page::Result => 3,
        Page::Existing | Page::Step(_) | Page::Review | Page::Run | Page::Deleting => 6,
    }
}

fn too_small(frame: &mut Frame<'_>, area: Rect) {
    let (w, h) = MIN_SIZE;
    let width = area.width as usize;
    let mut text =
        vec![Line::from("Make the window larger").style(Style::new().add_modifier(Modifier::BOLD))];
    for words in [
        "".to_string(),
        format!(
            "kops-wizard needs at least {w}x{h}; this terminal is {}x{}. It goes on as soon \
             as the window is large enough.",
            area.width, area.height
        ),
        "(or run `kops-wizard setup --yes -c FILE` without questions)".to_string(),
        "".to_string(),
        "q quits (a running setup is stopped; a rerun resumes)".to_string(),
    ] {
        match words.is_empty() {
            true => text.push(Line::from("")),
            false => text.extend(wrap(&words, width).into_iter().map(Line::from)),
        }
    }
    let height = (text.len() as u16).min(area.height);
    let box_area = area.centered_vertically(Constraint::Length(height));
    frame.render_widget(
        Paragraph::new(text).alignment(ratatui::layout::Alignment::Center),
        box_area,
    );
}

fn render_header(frame: &mut Frame<'_>, area: Rect, state: &State, theme: Theme) {
    let admin = match &state.checks.identity {
        // The ARN's resource part is enough to recognise the identity in a narrow header.
        CheckState::Done(Ok(id)) => Span::raw(format!(
            "{} @ {}",
            id.arn
                .split_once(":user/")
                .or_else(|| id.arn.rsplit_once(':'))
                .map_or(id.arn.as_str(), |(_, r)| r),
            id.account
        )),
        CheckState::Done(Err(_)) => Span::styled("✘ no usable credentials", theme.bad()),
        CheckState::Pending(_) => Span::raw(format!("{} checking…", spinner(state))),
        CheckState::Idle => Span::raw("not checked"),
    };
    let (region, cluster) = (&state.answers.aws.region, &state.answers.cluster.name);
    let labelled = [" admin: ", "region ", "cluster "];
    // The labels go first when the line is too long: the cluster's name must stay whole.
    let long = 14 + labelled.concat().len() + admin.width() + region.len() + cluster.len() + 6;
    let [a, r, c] = if long > area.width as usize { [" ", "", ""] } else { labelled };
    let line = Line::from(vec![
        Span::styled(" kops-wizard ", theme.focus().add_modifier(Modifier::BOLD)),
        Span::raw(a),
        admin,
        Span::styled(" │ ", theme.dim()),
        Span::raw(format!("{r}{region}")),
        Span::styled(" │ ", theme.dim()),
        Span::raw(format!("{c}{cluster}")),
    ]);
    frame.render_widget(Paragraph::new(line), area);
}

/// The step list: done, current, to do, failed, each with its marker.
fn render_steps(frame: &mut Frame<'_>, area: Rect, state: &State, theme: Theme) {
    let current = state.page_index();
    let lines: Vec<Line> = state
        .pages()
        .iter()
        .enumerate()
        .map(|(i, page)| {
            let (mark, style) = step_mark(state, *page, i, current, theme);
            let text = format!(" {mark} {}", page.title());
            let style = if i == current { style.patch(theme.focus()) } else { style };
            Line::styled(format!("{text:<18}"), style)
        })
        .collect();
    frame.render_widget(Paragraph::new(lines).block(Block::bordered().title(" Steps ")), area);
}

/// The step list in one line, for screens narrower than [`SIDEBAR_MIN_WIDTH`]: on the page's
/// top border, right of the page's own title (so it costs the page no row), where we are and
/// every step's marker; a step to go back to (`!`, `✘`) is named. What does not fit goes,
/// names first, then markers.
fn render_counter(frame: &mut Frame<'_>, page: Rect, state: &State, theme: Theme) {
    let buf = frame.buffer_mut();
    let y = page.y;
    // The page's title ends where the border's line starts running to the corner.
    let corner = page.right().saturating_sub(1);
    let title_end =
        (page.x..corner).rev().find(|&x| buf[(x, y)].symbol() != "─").map_or(page.x, |x| x + 1);
    // One line of the border is kept each side: after the title and before the corner.
    let room = corner.saturating_sub(title_end + 2) as usize;
    let Some(line) = counter_lines(state, theme).into_iter().find(|l| l.width() <= room) else {
        return;
    };
    let width = line.width() as u16;
    let at = Rect { x: corner - 1 - width, y, width, height: 1 };
    Paragraph::new(line).render(at, buf);
}

/// The counter, longest first: with the markers and the steps to go back to, with the
/// markers, alone.
fn counter_lines(state: &State, theme: Theme) -> Vec<Line<'static>> {
    let pages = state.pages();
    let current = state.page_index();
    let head = format!(" Step {} of {}", current + 1, pages.len());
    let mut marks = vec![Span::styled(format!("{head}: "), theme.bold())];
    let mut flagged = Vec::new();
    for (i, page) in pages.iter().enumerate() {
        let (mark, style) = step_mark(state, *page, i, current, theme);
        if i != current && matches!(mark, "!" | "✘") {
            flagged.push(Span::styled(format!(" {mark} {}", page.title()), style));
        }
        marks.push(Span::styled(mark, style));
        marks.push(Span::raw(" "));
    }
    let mut named = marks.clone();
    if !flagged.is_empty() {
        named.pop();
        named.extend(flagged);
        named.push(Span::raw(" "));
    }
    vec![Line::from(named), Line::from(marks), Line::styled(format!("{head} "), theme.bold())]
}

fn step_mark(
    state: &State,
    page: Page,
    i: usize,
    current: usize,
    theme: Theme,
) -> (&'static str, Style) {
    let passed = i < current;
    match page {
        _ if i == current && !matches!(page, Page::Run) => ("▶", theme.bold()),
        // A step already passed, or one holding a value from the answers file, that breaks a
        // rule is marked so the user knows where to go.
        Page::Step(step)
            if !state.step_valid(step)
                && (passed || matches!(state.source, crate::answers::Source::File(_))) =>
        {
            ("!", theme.bad())
        }
        // Credentials that did not work are worth going back for, even with every rule met.
        Page::Step(crate::questions::Step::Credentials)
            if passed && matches!(state.checks.identity, CheckState::Done(Err(_))) =>
        {
            ("!", theme.bad())
        }
        Page::Deleting | Page::Result
            if state
                .teardown
                .as_ref()
                .is_some_and(|t| matches!(t.ended, Some(super::teardown::Ended::Failed(_)))) =>
        {
            ("✘", theme.bad())
        }
        Page::Result
            if state.teardown.as_ref().is_some_and(
                |t| matches!(&t.ended, Some(super::teardown::Ended::Checked(l, _)) if !l.is_empty()),
            ) =>
        {
            ("✘", theme.bad())
        }
        Page::Run if state.run.error.is_some() => ("✘", theme.bad()),
        Page::Run if state.run.running => ("▶", theme.bold()),
        Page::Run if i == current => ("▶", theme.bold()),
        _ if passed => ("✔", theme.ok()),
        _ => ("·", Style::new()),
    }
}

/// The log's latest lines (or those `log_scroll` lines up), each wrapped under its marker;
/// at the top, a line may show only its end, as a terminal that scrolled would.
fn render_log(frame: &mut Frame<'_>, area: Rect, state: &State) {
    let inner_height = area.height.saturating_sub(2) as usize;
    let width = area.width.saturating_sub(2) as usize;
    let total = state.log.len();
    let end = total.saturating_sub(state.log_scroll);
    let mut rows: Vec<Line> = Vec::new();
    let mut start = end;
    for line in state.log[..end].iter().rev() {
        if rows.len() >= inner_height {
            break;
        }
        let mut wrapped = wrap_styled(line, Style::new(), width, 4);
        // The newest line taller than the pane shows its start: its tail alone (a wrapped
        // "123456789012)") would say nothing.
        if rows.is_empty() && wrapped.len() > inner_height {
            wrapped.truncate(inner_height);
        }
        rows.extend(wrapped.into_iter().rev());
        start -= 1;
    }
    rows.truncate(inner_height);
    rows.reverse();
    let title = if state.log_scroll > 0 {
        format!(" Log ({} lines up; PgDn follows) ", state.log_scroll)
    } else {
        " Log ".to_string()
    };
    frame.render_widget(Paragraph::new(rows).block(Block::bordered().title(title)), area);
    if total > inner_height {
        let mut bar = ScrollbarState::new(total.saturating_sub(inner_height)).position(start);
        frame.render_stateful_widget(
            Scrollbar::new(ScrollbarOrientation::VerticalRight),
            area.inner(ratatui::layout::Margin { vertical: 1, horizontal: 0 }),
            &mut bar,
        );
    }
}

/// The keys that work right now, most useful first.
pub fn footer_keys(state: &State) -> Vec<(&'static str, &'static str)> {
    match &state.overlay {
        Some(Overlay::Quit | Overlay::Overwrite(_)) => return vec![("y", "yes"), ("n", "no")],
        Some(Overlay::Help) => return vec![("Esc", "close")],
        Some(Overlay::Script { .. }) => {
            return vec![("↑/↓", "scroll"), ("PgUp/PgDn", "page"), ("Esc", "close"), ("q", "quit")];
        }
        None => {}
    }
    match state.page {
        Page::Step(_) => {
            let mut keys = vec![("Enter", "next"), ("Tab↑↓", "field")];
            match state.focused().map(|q| q.kind) {
                Some(crate::questions::Kind::Text | crate::questions::Kind::Number) => {
                    if state.focused().is_some_and(|q| q.key == "ssh.public_key")
                        && state.ssh_keys.iter().any(|k| k.usable)
                    {
                        keys.push(("^N/^P", "found keys"));
                    }
                    keys.extend([
                        ("Esc", "back"),
                        ("PgUp/Dn", "log"),
                        ("F1", "help"),
                        ("^C", "quit"),
                    ]);
                }
                Some(kind) => {
                    let change = match kind {
                        crate::questions::Kind::Toggle => ("Space", "toggle"),
                        crate::questions::Kind::MultiChoice(_) => ("←→ Space", "pick"),
                        _ => ("←→", "change"),
                    };
                    keys.insert(0, change);
                    if state.focused().is_some_and(|q| q.check == crate::questions::Check::Identity)
                    {
                        keys.push(("r", "recheck"));
                    }
                    keys.extend([("Esc", "back"), ("?", "help"), ("q", "quit"), ("s", "save")]);
                }
                None => {}
            }
            keys
        }
        Page::Review => vec![
            ("Enter", if state.dry_run { "print plan" } else { "start" }),
            ("p", "script"),
            ("s", "save"),
            ("↑/↓", "scroll"),
            ("Esc", "back"),
            ("?", "help"),
            ("q", "quit"),
        ],
        Page::Run if state.run.running => {
            vec![("PgUp/PgDn", "log"), ("?", "help"), ("q", "quit (asks)")]
        }
        Page::Run => vec![("r", "retry"), ("Esc", "Review"), ("PgUp/PgDn", "log"), ("q", "quit")],
        Page::Done => vec![("Enter", "quit"), ("q", "quit")],
        Page::Existing => vec![("↑/↓", "choose"), ("Enter", "go"), ("?", "help"), ("q", "quit")],
        Page::Inventory if state.teardown.as_ref().and_then(|t| t.ready()).is_none() => {
            vec![("?", "help"), ("^C", "quit")]
        }
        Page::Inventory => {
            let mut keys = vec![("Enter", "delete (name typed)")];
            match state.teardown.as_ref().map(|t| t.focus) {
                Some(super::teardown::Focus::Toggle(_)) => keys.push(("Space", "toggle")),
                Some(super::teardown::Focus::Type(_)) => keys.push(("Space", "expand")),
                _ => {}
            }
            keys.extend([("Tab", "toggles, types"), ("PgDn", "more")]);
            if state.existing.is_some() {
                keys.push(("Esc", "back"));
            }
            keys.extend([("F1", "help"), ("^C", "quit")]);
            keys
        }
        Page::Deleting if state.teardown_running() => {
            vec![("PgUp/PgDn", "log"), ("?", "help"), ("q", "quit (asks)")]
        }
        Page::Deleting | Page::Result => {
            vec![("Enter", "quit"), ("PgUp/PgDn", "log"), ("q", "quit")]
        }
    }
}

/// The footer's keys that fit in `room` columns. The list is most useful first, so keys go
/// from its end; help and quit go last, since help lists every key.
pub fn fitting_keys(
    mut keys: Vec<(&'static str, &'static str)>,
    room: usize,
) -> Vec<(&'static str, &'static str)> {
    let width = |keys: &[(&str, &str)]| -> usize {
        keys.iter().map(|(k, w)| k.chars().count() + 1 + w.chars().count() + 3).sum::<usize>()
    };
    let essential = |what: &str| what.starts_with("help") || what.starts_with("quit");
    while width(&keys) > room + 2 {
        let drop = keys.iter().rposition(|(_, what)| !essential(what)).unwrap_or(keys.len() - 1);
        keys.remove(drop);
    }
    keys
}

fn render_footer(frame: &mut Frame<'_>, area: Rect, state: &State, theme: Theme) {
    let mut spans = Vec::new();
    let mut room = area.width as usize;
    if let Some(status) = &state.status {
        spans.push(Span::styled(format!(" {status} "), theme.focus()));
        spans.push(Span::raw(" "));
        room = room.saturating_sub(status.chars().count() + 3);
    }
    for (i, (key, what)) in fitting_keys(footer_keys(state), room).into_iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(" · ", theme.dim()));
        } else {
            spans.push(Span::raw(" "));
        }
        spans.push(Span::styled(key, theme.key()));
        spans.push(Span::raw(format!(" {what}")));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// A box in the middle of `area`, cleared, with a title.
fn popup(frame: &mut Frame<'_>, area: Rect, width: u16, height: u16, title: &str) -> Rect {
    let rect = area.centered(
        Constraint::Length(width.min(area.width)),
        Constraint::Length(height.min(area.height)),
    );
    frame.render_widget(Clear, rect);
    let block = Block::bordered().title(format!(" {title} "));
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    inner
}

/// A row of text on a page: words wrap at spaces, hanging `indent` columns on the rows after
/// the first; an export, a command or a path stays whole on its own row, so a copied line is
/// complete (a row too long for the screen is cut at the edge, never broken into two).
pub enum Text {
    Words(Line<'static>, usize),
    Whole(Line<'static>),
}

impl Text {
    pub fn words(text: impl Into<String>, style: Style) -> Text {
        Text::Words(Line::styled(text.into(), style), 0)
    }
}

/// The rows of `texts` at `width`.
pub fn rows(texts: Vec<Text>, width: usize) -> Vec<Line<'static>> {
    texts
        .into_iter()
        .flat_map(|t| match t {
            Text::Words(line, indent) => wrap_line(line, width, indent),
            Text::Whole(line) => vec![line],
        })
        .collect()
}

fn ask(frame: &mut Frame<'_>, area: Rect, title: &str, mut text: Vec<Text>, theme: Theme) {
    text.push(Text::Whole(Line::from("")));
    text.push(Text::Whole(Line::from(vec![
        Span::styled("y", theme.key()),
        Span::raw(" yes   "),
        Span::styled("n", theme.key()),
        Span::raw(" no"),
    ])));
    let width = 64.min(area.width);
    let lines = rows(text, width.saturating_sub(2) as usize);
    let inner = popup(frame, area, width, lines.len() as u16 + 2, title);
    frame.render_widget(Paragraph::new(lines), inner);
}

fn quit_question(frame: &mut Frame<'_>, area: Rect, state: &State, theme: Theme) {
    let text = if state.teardown_running() {
        "Teardown is deleting. Quitting stops it: kops is stopped and the journal keeps what \
         is deleted. Run `kops-wizard teardown` again to continue."
    } else if state.run.running {
        "Setup is running. Quitting stops it: kops is stopped and the journal keeps what is \
         done. Run kops-wizard again to resume."
    } else {
        "Your answers are not saved (s saves them). Nothing has been changed in AWS by them yet."
    };
    ask(frame, area, "Quit kops-wizard?", vec![Text::words(text, Style::new())], theme);
}

/// Every key, for `?` / F1.
pub const HELP: &[(&str, &str)] = &[
    ("Tab ↓ / ⇧Tab ↑", "next / previous field"),
    ("Enter", "next field; last field of a valid step: next step"),
    ("", "on Review: start setup"),
    ("Esc", "back a step (never during a run)"),
    ("← →", "change a choice (text field: move the cursor)"),
    ("Space", "toggle; pick the highlighted value of a list"),
    ("^A ^E ^W ^U ^K", "text field: start, end, delete word/to start/to end"),
    ("paste", "goes into the focused text field"),
    ("^N / ^P", "SSH key path: next / previous key found in ~/.ssh"),
    ("PgUp / PgDn", "scroll the log"),
    ("p", "Review: the equivalent shell script"),
    ("s", "save the answers file (asks before overwriting)"),
    ("r", "retry a failed run; check the credentials again"),
    ("teardown", "type the name, Enter; Tab: toggles, Space: flip / expand a type"),
    ("? / F1", "this help (F1 in a text field)"),
    ("q / Ctrl-C", "quit (asks while setup runs or answers are unsaved)"),
];

fn help(frame: &mut Frame<'_>, area: Rect, theme: Theme) {
    let width = 78.min(area.width);
    let lines: Vec<Line> = HELP
        .iter()
        .flat_map(|(key, what)| {
            let line = Line::from(vec![
                Span::styled(format!("{key:>15}  "), theme.key()),
                Span::raw(*what),
            ]);
            wrap_line(line, width.saturating_sub(2) as usize, 17)
        })
        .collect();
    let inner = popup(frame, area, width, lines.len() as u16 + 2, "Keys");
    frame.render_widget(Paragraph::new(lines), inner);
}

fn script(frame: &mut Frame<'_>, area: Rect, lines: &[String], scroll: usize, theme: Theme) {
    frame.render_widget(Clear, area);
    let title = format!(" Equivalent shell script (line {} of {}) ", scroll + 1, lines.len());
    let block =
        Block::bordered().title(title).title_bottom(Line::styled(" Esc closes ", theme.dim()));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = inner.width as usize;
    let shown: Vec<Line> = lines
        .iter()
        .skip(scroll)
        .flat_map(|l| script_rows(l, width))
        .take(inner.height as usize)
        .collect();
    frame.render_widget(Paragraph::new(shown), inner);
    let mut bar = ScrollbarState::new(lines.len()).position(scroll);
    frame.render_stateful_widget(
        Scrollbar::new(ScrollbarOrientation::VerticalRight),
        area,
        &mut bar,
    );
}

/// One line of the script as rows: a comment wraps at spaces, each row still a comment; a
/// command stays whole (cut at the edge) so that what is read is what the shell runs.
fn script_rows(line: &str, width: usize) -> Vec<Line<'static>> {
    let lead = line.len() - line.trim_start().len();
    match line.trim_start().strip_prefix("# ") {
        Some(comment) => {
            let prefix = format!("{}# ", &line[..lead]);
            wrap(comment, width.saturating_sub(prefix.len()))
                .into_iter()
                .map(|row| Line::raw(format!("{prefix}{row}")))
                .collect()
        }
        None => vec![Line::raw(line.to_string())],
    }
}

/// The marker and time of a run step or a teardown action: `earlier` (a retry's earlier
/// attempts) and the time of this attempt, so every row of a page counts the same way.
pub fn step_status(
    state: &State,
    status: &StepStatus,
    earlier: std::time::Duration,
    theme: Theme,
) -> (Span<'static>, String) {
    use super::update::secs;
    let spent = earlier + status.spent(state.now.ms);
    let time = match status == &StepStatus::Waiting && spent.is_zero() {
        true => String::new(),
        false => secs(spent),
    };
    let mark = match status {
        StepStatus::Waiting => Span::raw("·"),
        StepStatus::Running { .. } => Span::styled(spinner(state), theme.bold()),
        StepStatus::Finished { .. } => Span::styled("✔", theme.ok()),
        StepStatus::Failed { .. } => Span::styled("✘", theme.bad()),
    };
    (mark, time)
}
