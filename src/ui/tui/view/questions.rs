//! A question step: its fields, each with its value, the rule it breaks (checked as you type),
//! its background check, and the focused field's help; on the Cluster step, the cost estimate.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::{Theme, spinner, wrap, wrap_line, wrap_styled};
use crate::engine::aws::clients::Identity;
use crate::questions::{self, Check, Kind, Question, Source, Step, cost};
use crate::ui::checks;
use crate::ui::tui::state::{CheckState, State};
use crate::ui::tui::update::bucket_words;

const LABEL: usize = 22;

pub fn render(frame: &mut Frame<'_>, area: Rect, state: &State, step: Step, theme: Theme) {
    // This setup's question steps (a join has no SSH key step).
    let steps: Vec<Step> = state
        .pages()
        .into_iter()
        .filter_map(|p| match p {
            crate::ui::tui::state::Page::Step(s) => Some(s),
            _ => None,
        })
        .collect();
    let number = steps.iter().position(|s| *s == step).unwrap_or(0) + 1;
    // Without the sidebar the step counter on this border numbers the steps already.
    let title = match state.size.0 >= super::SIDEBAR_MIN_WIDTH {
        true => format!(" {number}/{} {} ", steps.len(), step.title()),
        false => format!(" {} ", step.title()),
    };
    let block = Block::bordered().title(title);
    let inner = block.inner(area);
    frame.render_widget(block, area);

    // A join makes no instances: no estimate to show.
    let priced = step == Step::Cluster && state.joining().is_none();
    let (fields_area, cost_area) = if priced && inner.width >= 96 {
        let [f, c] = Layout::horizontal([Constraint::Min(50), Constraint::Length(44)]).areas(inner);
        (f, Some(c))
    } else {
        (inner, None)
    };
    let mut form = fields_area;
    if priced && cost_area.is_none() {
        let cost = wrap_line(cost_line(state, theme), fields_area.width as usize, 2);
        let [f, c] = Layout::vertical([Constraint::Min(3), Constraint::Length(cost.len() as u16)])
            .areas(fields_area);
        form = f;
        frame.render_widget(Paragraph::new(cost), c);
    }
    if let Some(c) = cost_area {
        render_cost(frame, c, state, theme);
    }

    let width = form.width as usize;
    let mut lines: Vec<Line<'static>> = Vec::new();
    for l in wrap(step.intro(), width) {
        lines.push(Line::styled(l, theme.dim()));
    }
    if step == Step::Credentials {
        if let Some(resume) = &state.resume {
            for l in wrap(resume, width) {
                lines.push(Line::styled(l, theme.warn()));
            }
        }
        if no_credentials(state) {
            for l in wrap(NO_CREDENTIALS, width) {
                lines.push(Line::styled(l, theme.warn()));
            }
        }
    }
    let mut focus_span = (0, 0);
    let mut cursor = None;
    for (i, q) in state.step_questions().into_iter().enumerate() {
        let focused = i == state.focus;
        let start = lines.len();
        let (field_lines, cursor_x) = field(state, q, focused, width, theme);
        if focused {
            cursor = cursor_x.map(|x| (start, x));
        }
        lines.extend(field_lines);
        if focused {
            focus_span = (start, lines.len());
        }
    }

    // A join: the cluster's own shape, read-only, in place of the sizing questions.
    if step == Step::Cluster
        && let Some(joined) = state.joining()
    {
        lines.push(Line::raw(""));
        let head = format!(
            "Cluster {} is in the bucket, {}: setup joins it. Its SSH key and its sizes are its \
             own, and this setup changes none of them:",
            joined.name, joined.whose
        );
        lines.extend(wrap_styled(&head, theme.bold(), width, 0));
        for l in checks::join_sizes(joined) {
            lines.extend(wrap_styled(&format!("  {l}"), theme.dim(), width, 4));
        }
    }

    if step == Step::SshKey {
        lines.push(Line::raw(""));
        if state.ssh_keys.is_empty() {
            lines.push(Line::styled(checks::NO_KEYS, theme.dim()));
        } else {
            lines.push(Line::styled(
                format!("{} (Ctrl-N / Ctrl-P in the path picks one):", checks::FOUND_KEYS),
                theme.dim(),
            ));
        }
        for k in &state.ssh_keys {
            let (mark, style) =
                if k.usable { ("✔", ratatui::style::Style::new()) } else { ("✘", theme.dim()) };
            let text = format!("  {mark} {}  {}", k.path, k.note);
            lines.extend(wrap_styled(&text, style, width, 4));
        }
    }

    // Scroll so the focused field is whole on screen; the intro stays while it fits.
    let height = form.height as usize;
    let offset = if focus_span.1 <= height { 0 } else { (focus_span.1 - height).min(focus_span.0) };
    let shown: Vec<Line> = lines.into_iter().skip(offset).take(height).collect();
    frame.render_widget(Paragraph::new(shown), form);
    if let Some((line, x)) = cursor
        && line >= offset
        && line - offset < height
        && state.overlay.is_none()
    {
        frame
            .set_cursor_position(Position::new(form.x + x as u16, form.y + (line - offset) as u16));
    }
}

const NO_CREDENTIALS: &str = "No AWS credentials found: run `aws configure` (an access key) or \
`aws sso login --profile NAME` (SSO) in another terminal, then press r to check again. No secret \
is ever typed into the wizard.";

fn no_credentials(state: &State) -> bool {
    matches!(state.checks.identity, CheckState::Done(Err(_)))
        && state.ctx.profiles.is_empty()
        && state.ctx.env_key.is_none()
}

/// The lines of one field, and where the cursor goes in its first line (text fields).
fn field(
    state: &State,
    q: &'static Question,
    focused: bool,
    width: usize,
    theme: Theme,
) -> (Vec<Line<'static>>, Option<usize>) {
    let marker = if focused { "▶ " } else { "  " };
    let label_style = if focused { theme.bold() } else { ratatui::style::Style::new() };
    let error = state.error_of(q);
    // The value's columns: after the marker and the label, and before the last column, which
    // wrapped rows leave free.
    let value_width = width.saturating_sub(LABEL + 3).max(10);
    let mut first = vec![
        Span::styled(marker, theme.bold()),
        // A label longer than its column pushes the value right rather than being cut.
        Span::styled(
            format!("{:<w$}", q.label, w = LABEL.max(q.label.chars().count() + 1)),
            label_style,
        ),
    ];
    let mut cursor = None;
    let mut extra: Vec<Line<'static>> = Vec::new();
    match q.kind {
        Kind::Text | Kind::Number => {
            let (text, cur) = text_value(state, q, focused, value_width);
            if focused {
                cursor = Some(2 + LABEL + 1 + cur);
            }
            let style = if error.is_some() { theme.bad() } else { ratatui::style::Style::new() };
            first.push(Span::styled(text, style));
        }
        Kind::Toggle => {
            let on = q.get(&state.answers) == "true";
            let text = if on { "[x] on" } else { "[ ] off" };
            first.push(Span::styled(
                text,
                if focused { theme.focus() } else { ratatui::style::Style::new() },
            ));
        }
        Kind::Choice(_) => {
            let value = q.get(&state.answers);
            let choices = q.choices(&state.answers, &state.ctx);
            let choice = choices.iter().find(|c| c.value == value);
            let label = choice.map(|c| c.label.clone()).unwrap_or_else(|| value.clone());
            let note = choice.map(|c| c.note.clone()).unwrap_or_default();
            let shown = if focused { format!("‹ {label} ›") } else { label };
            first.push(Span::styled(
                shown,
                if focused { theme.focus() } else { ratatui::style::Style::new() },
            ));
            if !note.is_empty() {
                first.push(Span::styled(format!("  {note}"), theme.dim()));
            }
            if focused {
                for c in choices.iter().filter(|c| c.disabled.is_some()) {
                    let why = c.disabled.unwrap_or_default();
                    let text = format!("    ✘ {}: {why}", c.value);
                    extra.extend(wrap_styled(&text, theme.dim(), width, 6));
                }
            }
        }
        Kind::MultiChoice(source) => {
            let (summary, flow) = multi(state, q, source, focused, value_width, theme);
            first.push(Span::raw(summary));
            extra.extend(flow);
        }
    }
    // A note or a list of values too long for the row continues under the value, not under
    // the label: the first row holds the text box, so the cursor's place is unchanged.
    let mut lines = wrap_line(Line::from(first), width, LABEL + 2);
    lines.extend(extra);
    if let Some(check) = check_line(state, q, theme) {
        lines.extend(wrap_line(check, width, 6));
    }
    // The bucket's clusters, whose each is, and whether this setup joins one of them.
    if q.check == Check::BucketAvailability
        && let CheckState::Done(Ok(found)) = &state.checks.bucket
    {
        for text in checks::bucket_clusters(found, &state.answers.cluster.name) {
            lines.extend(wrap_styled(&format!("      {text}"), theme.ok(), width, 8));
        }
    }
    // The rule and the warnings are whole: a sentence cut after its first row misleads.
    if let Some(e) = &error {
        lines.extend(wrap_styled(&format!("    ✘ {e}"), theme.bad(), width, 6));
    }
    // A join makes nothing: the warnings about making a cluster are not its business.
    let joined_name = q.key == "cluster.name" && state.joining().is_some();
    if focused {
        for w in q.warnings(&state.report).into_iter().filter(|_| !joined_name) {
            lines.extend(wrap_styled(&format!("    ! {w}"), theme.warn(), width, 6));
        }
        lines.extend(wrap_styled(&format!("    {}", q.help), theme.dim(), width, 4));
    }
    (lines, cursor)
}

/// A text field as `[value   ]`, scrolled so the cursor shows; the cursor's column in it.
fn text_value(state: &State, q: &Question, focused: bool, width: usize) -> (String, usize) {
    // Room for a whole bucket name (at most 63 characters) where the screen has it.
    let inner = width.saturating_sub(2).min(64);
    match state.inputs.get(q.key) {
        Some(input) if focused => {
            let scroll = input.visual_scroll(inner);
            let shown: String = input.value().chars().skip(scroll).take(inner).collect();
            (format!("[{shown:<inner$}]"), input.visual_cursor().saturating_sub(scroll))
        }
        _ => {
            let value = state.value_of(q);
            // An empty optional field says what empty means rather than looking forgotten.
            let shown =
                if value.is_empty() && q.optional { "(not set)".to_string() } else { value };
            (format!("[{shown:<inner$}]"), 0)
        }
    }
}

/// A multi-choice question: a summary after the label, and the values as `[x] a` cells
/// (flowed over lines) while it is focused, the highlighted one bracketed by `›`.
fn multi(
    state: &State,
    q: &'static Question,
    source: Source,
    focused: bool,
    width: usize,
    theme: Theme,
) -> (String, Vec<Line<'static>>) {
    let a = &state.answers;
    let choices = q.choices(a, &state.ctx);
    let chosen: Vec<String> =
        q.get(a).split(',').filter(|s| !s.is_empty()).map(String::from).collect();
    let defaulted = source == Source::Zones && chosen.is_empty();
    let is_on = |i: usize, value: &str| chosen.iter().any(|c| c == value) || (defaulted && i == 0);
    let summary = match source {
        Source::Zones if defaulted => format!("{} (the region's first)", a.zones().join(", ")),
        Source::Zones => chosen.join(", "),
        _ => {
            let names: Vec<&str> = chosen.iter().map(|p| questions::short_policy(p)).collect();
            format!("{} of {}: {}", chosen.len(), choices.len(), names.join(", "))
        }
    };
    if !focused {
        return (summary, Vec::new());
    }
    let mut lines = Vec::new();
    let mut spans: Vec<Span<'static>> = vec![Span::raw("    ")];
    let mut used = 4;
    for (i, c) in choices.iter().enumerate() {
        let label = match source {
            Source::Zones => {
                c.value.strip_prefix(a.aws.region.as_str()).unwrap_or(&c.value).to_string()
            }
            _ => c.label.clone(),
        };
        let mark = if is_on(i, &c.value) { "[x]" } else { "[ ]" };
        let here = i == state.sub.min(choices.len().saturating_sub(1));
        let cell = if here { format!("›{mark} {label}‹") } else { format!(" {mark} {label} ") };
        let len = cell.chars().count() + 1;
        if used + len > width + LABEL && spans.len() > 1 {
            lines.push(Line::from(std::mem::take(&mut spans)));
            spans.push(Span::raw("    "));
            used = 4;
        }
        spans.push(Span::styled(
            cell,
            if here { theme.focus() } else { ratatui::style::Style::new() },
        ));
        spans.push(Span::raw(" "));
        used += len;
    }
    if spans.len() > 1 {
        lines.push(Line::from(spans));
    }
    (summary, lines)
}

/// The background check's line under a field: a spinner while it runs, then its answer.
fn check_line(state: &State, q: &Question, theme: Theme) -> Option<Line<'static>> {
    let pending = |what: &str| Line::raw(format!("    {} {what}…", spinner(state)));
    let done = |ok: bool, text: String| {
        let (mark, style) = if ok { ("✔", theme.ok()) } else { ("✘", theme.bad()) };
        Line::styled(format!("    {mark} {text}"), style)
    };
    match q.check {
        Check::None => None,
        Check::Identity => Some(match &state.checks.identity {
            CheckState::Idle => return None,
            CheckState::Pending(_) => pending(checks::checking(q.check).unwrap_or_default()),
            CheckState::Done(Ok(Identity { arn, account, .. })) => {
                done(true, format!("{arn} (account {account})"))
            }
            CheckState::Done(Err(e)) => {
                done(false, e.lines().next().unwrap_or_default().to_string())
            }
        }),
        Check::BucketAvailability => Some(match &state.checks.bucket {
            CheckState::Idle => return None,
            CheckState::Pending(_) => pending(checks::checking(q.check).unwrap_or_default()),
            CheckState::Done(Ok(found)) => {
                let (word, why, ok) = bucket_words(found.access);
                let (mark, style) = if ok { ("✔", theme.ok()) } else { ("✘", theme.bad()) };
                Line::from(vec![
                    Span::styled(format!("    {mark} "), style),
                    Span::styled(word, style.add_modifier(ratatui::style::Modifier::BOLD)),
                    Span::styled(format!(": {why}"), style),
                ])
            }
            CheckState::Done(Err(e)) => {
                done(false, e.lines().next().unwrap_or_default().to_string())
            }
        }),
        Check::SshKeyFiles => Some(match &state.checks.ssh {
            CheckState::Idle => return None,
            CheckState::Pending(_) => pending(checks::checking(q.check).unwrap_or_default()),
            CheckState::Done(Ok(found)) => done(found.usable, found.summary.clone()),
            CheckState::Done(Err(e)) => {
                done(false, e.lines().next().unwrap_or_default().to_string())
            }
        }),
    }
}

fn money(usd: f64) -> String {
    format!("${usd:.2}")
}

/// One line for narrow screens: the total, its date and region, what it leaves out.
fn cost_line(state: &State, theme: Theme) -> Line<'static> {
    match cost::estimate(&state.answers) {
        Some(e) => {
            let partial = if e.unknown.is_empty() { "" } else { " + unknown sizes" };
            Line::from(vec![
                Span::styled(format!("≈ {}/month{partial}", money(e.total_usd)), theme.bold()),
                Span::styled(
                    format!(" ({} {} prices, no traffic)", e.prices_region, e.prices_as_of),
                    theme.dim(),
                ),
            ])
        }
        None => Line::styled("no cost estimate: the price data is unreadable", theme.warn()),
    }
}

fn render_cost(frame: &mut Frame<'_>, area: Rect, state: &State, theme: Theme) {
    let block = Block::bordered().title(" Estimated monthly cost ");
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = inner.width as usize;
    let Some(e) = cost::estimate(&state.answers) else {
        frame.render_widget(Paragraph::new("The price data is unreadable."), inner);
        return;
    };
    let mut lines: Vec<Line> = Vec::new();
    for l in &e.lines {
        let amount = money(l.monthly_usd);
        let room = width.saturating_sub(amount.len() + 2);
        lines.extend(priced(&l.what, &amount, room, "", amount.len()));
    }
    for u in &e.unknown {
        lines.extend(wrap_styled(
            &format!("{u}: not in the catalog, left out"),
            theme.warn(),
            width,
            2,
        ));
    }
    let total = money(e.total_usd);
    lines.push(Line::styled(
        format!("{:<w$} {total}", "Total", w = width.saturating_sub(total.len() + 2)),
        theme.bold(),
    ));
    lines.push(Line::raw(""));
    for l in wrap(&e.footnote(), width) {
        lines.push(Line::styled(l, theme.dim()));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

/// One line of the estimate: what, wrapped in `room` columns, with its amount right-aligned
/// in `column` columns on the first row.
fn priced(what: &str, amount: &str, room: usize, lead: &str, column: usize) -> Vec<Line<'static>> {
    wrap(what, room)
        .into_iter()
        .enumerate()
        .map(|(i, row)| match i {
            0 => Line::raw(format!("{lead}{row:<room$} {amount:>column$}")),
            _ => Line::raw(format!("{lead}  {row}")),
        })
        .collect()
}

/// The estimate as lines, for Review.
pub fn cost_lines(state: &State, width: usize, theme: Theme) -> Vec<Line<'static>> {
    let Some(e) = cost::estimate(&state.answers) else {
        return vec![Line::raw(cost::NO_ESTIMATE)];
    };
    let mut lines = Vec::new();
    for l in &e.lines {
        lines.extend(priced(&l.what, &money(l.monthly_usd), 40, "    ", 9));
    }
    for u in &e.unknown {
        let text = format!("    {u}: not in the catalog, left out");
        lines.extend(wrap_styled(&text, theme.warn(), width, 6));
    }
    lines
        .push(Line::styled(format!("    {:<40} {:>9}", "Total", money(e.total_usd)), theme.bold()));
    for l in wrap(&e.footnote(), width.saturating_sub(4)) {
        lines.push(Line::styled(format!("    {l}"), theme.dim()));
    }
    lines
}
