//! Word wrapping for the views. Text breaks at spaces and never inside a word: a row that
//! ended mid-word at a border read as a cut word (issue: "the wizard cuts its own words").
//! Only a single word longer than a whole row is broken, after a `/`, `.` or `-` when it has
//! one (a URL or an ARN in an error message). Exports, commands and paths the user copies are
//! not wrapped at all: the views put each on a row of its own (see `done.rs`).
//!
//! Widths count characters: every symbol the views use (✔ ✘ ▶ … ‹ › ≈ ×) is one column.

use ratatui::style::Style;
use ratatui::text::{Line, Span};

/// Where a word too long for a whole row may be broken: after one of these.
const SOFT_BREAKS: &[char] = &['/', '.', '-', ':', ',', '@', '=', '&', '?'];

type Cell = (char, Style);

/// Splits `text` into rows of fewer than `width` characters at spaces (runs of white space
/// count as one space).
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.is_empty() {
        return Vec::new();
    }
    rows(&cells(&Line::raw(text)), width, 0)
        .into_iter()
        .map(|row| row.into_iter().map(|(c, _)| c).collect())
        .collect()
}

/// `line` wrapped at spaces into rows of fewer than `width` characters, keeping its styles and
/// its leading spaces; rows after the first start with `indent` spaces, so a wrapped item
/// hangs under its text rather than under its marker.
pub fn wrap_line(line: Line<'static>, width: usize, indent: usize) -> Vec<Line<'static>> {
    let style = line.style;
    rows(&cells(&line), width, indent)
        .into_iter()
        .map(|row| Line::from(spans(row)).style(style))
        .collect()
}

/// [`wrap_line`] of a plain string with one style.
pub fn wrap_styled(text: &str, style: Style, width: usize, indent: usize) -> Vec<Line<'static>> {
    wrap_line(Line::styled(text.to_string(), style), width, indent)
}

fn cells(line: &Line<'_>) -> Vec<Cell> {
    line.spans.iter().flat_map(|s| s.content.chars().map(move |c| (c, s.style))).collect()
}

/// Consecutive characters of one style as one span.
fn spans(row: Vec<Cell>) -> Vec<Span<'static>> {
    let mut out: Vec<Span<'static>> = Vec::new();
    let mut text = String::new();
    let mut style = None;
    for (c, s) in row {
        if style.is_some_and(|st| st != s) {
            out.push(Span::styled(std::mem::take(&mut text), style.unwrap_or_default()));
        }
        style = Some(s);
        text.push(c);
    }
    if let Some(s) = style {
        out.push(Span::styled(text, s));
    }
    out
}

/// The greedy fill: words in order, a new row when the next one does not fit.
fn rows(cells: &[Cell], width: usize, indent: usize) -> Vec<Vec<Cell>> {
    // The last column stays free: a row that reaches the border is then always a whole line
    // cut at the edge (a command, a path), never a word that just filled the row, for the
    // reader and for the views' check (`tests::mid_word_breaks`).
    let width = width.saturating_sub(1).max(1);
    // An indent that leaves no room would loop forever on a long word.
    let indent = if indent + 8 > width { 0 } else { indent };
    let lead = cells.iter().take_while(|(c, _)| *c == ' ').count();
    let mut out = Vec::new();
    let mut row: Vec<Cell> = cells[..lead].to_vec();
    let mut fresh = true;
    let mut rest = &cells[lead..];
    while !rest.is_empty() {
        let gap = rest.iter().take_while(|(c, _)| *c == ' ').count();
        let word_len = rest[gap..].iter().take_while(|(c, _)| *c != ' ').count();
        let (spaces, word) = (&rest[..gap], &rest[gap..gap + word_len]);
        rest = &rest[gap + word_len..];
        if word.is_empty() {
            break;
        }
        if !fresh && row.len() + gap + word.len() <= width {
            row.extend_from_slice(spaces);
            row.extend_from_slice(word);
            continue;
        }
        if !fresh {
            out.push(std::mem::replace(&mut row, vec![(' ', Style::new()); indent]));
        }
        fresh = false;
        let mut word = word;
        while row.len() + word.len() > width {
            let room = width.saturating_sub(row.len());
            if room == 0 {
                // Only the first row's own leading spaces can fill it: start a row below.
                out.push(std::mem::replace(&mut row, vec![(' ', Style::new()); indent]));
                continue;
            }
            let cut = word[..room]
                .iter()
                .rposition(|(c, _)| SOFT_BREAKS.contains(c))
                .map_or(room, |i| i + 1);
            row.extend_from_slice(&word[..cut]);
            out.push(std::mem::replace(&mut row, vec![(' ', Style::new()); indent]));
            word = &word[cut..];
        }
        row.extend_from_slice(word);
    }
    if !fresh || !row.is_empty() {
        out.push(row);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_move_whole_to_the_next_row() {
        assert_eq!(wrap("export the cluster name now", 13), ["export the", "cluster name", "now"]);
        assert_eq!(wrap("  two  spaces ", 40), ["two spaces"]);
        assert!(wrap("", 10).is_empty());
    }

    #[test]
    fn a_word_longer_than_a_row_breaks_after_a_slash_or_a_dot() {
        assert_eq!(
            wrap("see http://example.com/a/long/path here", 16 + 1),
            ["see", "http://example.", "com/a/long/path", "here"]
        );
        assert_eq!(wrap("abcdefghijkl", 9), ["abcdefgh", "ijkl"], "no break point: cut");
    }

    #[test]
    fn a_styled_line_keeps_its_styles_lead_and_hanging_indent() {
        let bold = Style::new().add_modifier(ratatui::style::Modifier::BOLD);
        let line = Line::from(vec![Span::raw("    ✘ "), Span::styled("must be lower case", bold)]);
        let rows = wrap_line(line, 17, 6);
        let text: Vec<String> = rows.iter().map(|l| l.to_string()).collect();
        assert_eq!(text, ["    ✘ must be", "      lower case"]);
        assert_eq!(rows[1].spans.last().map(|s| s.style), Some(bold));
    }
}
