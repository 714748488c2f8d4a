//! Every screen of the full-screen wizard read whole, on the real binary in tmux: setup at
//! 80x24 and 200x50, teardown at 80x24, a resize in the middle of a run (to 80x24, below
//! the minimum, back), a real bracketed paste, and `NO_COLOR`. Each distinct stable screen a
//! run shows is checked for a word cut at a box's right border or the terminal's edge (the
//! views leave the last column of a row free, so text touching it was cut); the results are
//! judged by AWS (plain SDK calls) and what the terminal and standard output show.

use std::time::{Duration, Instant};

use crate::support::judge::Judge;
use crate::support::tmux::{Tmux, cooked};
use crate::support::{Moto, bin, read, ready_env, run};

const SECS: fn(u64) -> Duration = Duration::from_secs;

/// The screen's words with every run of white space as one space: a sentence the view
/// wrapped over rows reads as one line again.
fn flat(screen: &str) -> String {
    screen.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Characters a box's right edge is drawn with: its border, and the scrollbar that may be
/// drawn over it.
const RIGHT_EDGE: &[char] = &['│', '║', '█', '▲', '▼'];

/// Where a word touched the edge: the row, and whether the edge was the terminal's last
/// column (no border) rather than a box's right border.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Cut {
    row: String,
    at_edge: bool,
    what: String,
}

/// The rows of `screen` (a `width`-column terminal) where a word touches a right border or
/// the terminal's last column: a word cut there, since the views always leave that column
/// free. A box's right border is found from its top-right corner `┐` down to its `┘`, so
/// the left border of a box drawn over a page (a question) is not mistaken for one.
fn cut_words(screen: &str, width: usize) -> Vec<Cut> {
    let rows: Vec<Vec<char>> = screen.lines().map(|l| l.chars().collect()).collect();
    let mut cuts = Vec::new();
    let mut flag = |r: usize, c: usize, at_edge: bool| {
        let row: String = rows[r].iter().collect();
        let why = if at_edge { "the terminal's last column" } else { "a box's right border" };
        cuts.push(Cut {
            what: format!("row {r}, column {c}, against {why}: {row:?}"),
            row,
            at_edge,
        });
    };
    for (r, row) in rows.iter().enumerate() {
        // The terminal's last column (Done has no side borders).
        if row.len() >= width && row[width - 1].is_alphanumeric() {
            flag(r, width - 1, true);
        }
        for (c, _) in row.iter().enumerate().filter(|(_, ch)| **ch == '┐') {
            for (below, cells) in rows.iter().enumerate().skip(r + 1) {
                match cells.get(c) {
                    Some(edge) if RIGHT_EDGE.contains(edge) => {
                        if c > 0 && cells[c - 1].is_alphanumeric() {
                            flag(below, c - 1, false);
                        }
                    }
                    _ => break,
                }
            }
        }
    }
    cuts
}

/// Done's one exception, by design (`view/done.rs`): a line to copy (an export, a command,
/// a path) stays whole on its row with no side border, so it may reach the terminal's edge.
/// That row must then be a whole line of the summary printed at exit, or, cut because the
/// window is narrower than the line, the page must say so and the summary have it whole.
fn done_line_at_edge(cut: &Cut, screen: &str, summary: &str) -> bool {
    if !cut.at_edge || !screen.contains("is set up and validated") {
        return false;
    }
    // After the step sidebar, if any.
    let row = cut.row.rsplit("│ ").next().unwrap_or(&cut.row).trim();
    let whole = summary.lines().any(|l| l.trim() == row);
    // The page's words, right of the sidebar when there is one.
    let page: String = screen
        .lines()
        .map(|l| l.rsplit_once("│ ").map_or(l, |(_, page)| page))
        .collect::<Vec<_>>()
        .join("\n");
    let said = flat(&page).contains("a line wider than the window is cut at its edge here");
    whole || (said && summary.lines().any(|l| l.trim().starts_with(row)))
}

/// The distinct stable screens of a run, each checked by [`cut_words`] as it is first seen.
struct Screens<'t> {
    term: &'t Tmux,
    width: usize,
    seen: Vec<String>,
    /// Each cut with the screen it was on.
    cuts: Vec<(Cut, String)>,
}

impl<'t> Screens<'t> {
    fn new(term: &'t Tmux, width: u16) -> Self {
        Screens { term, width: width as usize, seen: Vec::new(), cuts: Vec::new() }
    }

    /// A screen two captures in a row agree on (a frame half drawn is not judged), and
    /// whether it was stable; a screen seen for the first time is checked.
    fn capture(&mut self) -> (String, bool) {
        let mut last = self.term.screen();
        for _ in 0..20 {
            let now = self.term.screen();
            if now == last {
                if !self.seen.contains(&now) {
                    let cuts = cut_words(&now, self.width);
                    // The wizard writes a frame in many small writes (standard error is not
                    // buffered): a cut is kept only if the frame is still there a moment
                    // later, so a frame caught half written is not judged.
                    if !cuts.is_empty() {
                        std::thread::sleep(Duration::from_millis(40));
                        if self.term.screen() != now {
                            continue;
                        }
                    }
                    self.cuts.extend(cuts.into_iter().map(|cut| (cut, now.clone())));
                    self.seen.push(now.clone());
                }
                return (now, true);
            }
            last = now;
        }
        (last, false)
    }

    /// Polls until `done` holds for a stable screen; panics with the last one after `limit`.
    fn until(&mut self, limit: Duration, what: &str, mut done: impl FnMut(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let (screen, stable) = self.capture();
            if stable && done(&screen) {
                return screen;
            }
            if start.elapsed() > limit {
                panic!("waited {limit:?} for {what}; the screen:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(60));
        }
    }

    /// After a resize: the new width, and polling unjudged until the program has drawn
    /// for it (`drawn`): until then tmux shows the old frame cut or padded to the new size.
    fn resized(&mut self, width: u16, limit: Duration, drawn: impl Fn(&str) -> bool) -> String {
        self.width = width as usize;
        self.term.wait_until(limit, &format!("a frame drawn for {width} columns"), drawn)
    }

    /// Until the screen shows `text`, possibly wrapped over rows.
    fn wait_for(&mut self, text: &str, limit: Duration) -> String {
        let text = flat(text);
        self.until(limit, &format!("{text:?} on screen"), |s| flat(s).contains(&text))
    }

    /// Enter, a moment apart, until the screen shows `text` (at most `most` presses).
    fn enter_until(&mut self, text: &str, most: usize) -> String {
        for _ in 0..most {
            if flat(&self.capture().0).contains(&flat(text)) {
                break;
            }
            self.term.keys(&["Enter"]);
            std::thread::sleep(Duration::from_millis(150));
        }
        self.wait_for(text, SECS(10))
    }

    /// No screen so far had a cut word, but Done's lines to copy that the summary printed
    /// at exit (`summary`) has whole (see [`done_line_at_edge`]).
    fn assert_whole(&self, summary: &str) {
        let cuts: Vec<String> = self
            .cuts
            .iter()
            .filter(|(cut, screen)| !done_line_at_edge(cut, screen, summary))
            .map(|(cut, screen)| format!("{}\n{screen}", cut.what))
            .collect();
        assert!(
            cuts.is_empty(),
            "{} of {} distinct screens cut a word at a border:\n{}",
            cuts.len(),
            self.seen.len(),
            cuts.join("\n\n")
        );
        assert!(!self.seen.is_empty(), "no stable screen was captured");
    }
}

#[test]
fn the_cut_word_check_finds_a_word_at_a_border_and_passes_a_free_last_column() {
    let whole = "┌ Page ─────┐\n│two words  │\n│a b        │\n└───────────┘\n";
    assert!(cut_words(whole, 13).is_empty());
    let cut = "┌ Page ────┐\n│two wordsb│\n│c         │\n└──────────┘\n";
    assert_eq!(cut_words(cut, 12).len(), 1, "{cut}");
    let no_box = "┌ Page ────┐\n two wordsb \n";
    assert!(cut_words(no_box, 12).is_empty(), "no border under the corner: not a box");
    // A question's left border drawn over a page's text is not a right border.
    let over = format!(
        "┌ Page {}┐\n│text┌ Ask ┐{pad}│\n│more│y n  │{pad}│\n",
        "─".repeat(14),
        pad = " ".repeat(9)
    );
    assert!(cut_words(&over, 22).is_empty(), "{over}");
    // No side border: the terminal's last column.
    assert_eq!(cut_words("export KOPS_STATE_STORE=s3://buck\n", 33).len(), 1);
    assert!(cut_words("export KOPS\n", 34).is_empty());

    // Done's line to copy at the edge: excused only when the summary has it whole.
    let url = "curl http://lb.example.com/hostname/abcd";
    let done = format!("✔ Cluster c is set up and validated.\n{url}\n");
    let [at_edge] = cut_words(&done, 40).try_into().expect("one row at the edge");
    assert!(done_line_at_edge(&at_edge, &done, &format!("  {url}\n")));
    assert!(!done_line_at_edge(&at_edge, &done, &format!("  {url}/more\n")), "cut, unsaid");
    let said = format!("{done}a line wider than the window is cut at\nits edge here\n");
    assert!(done_line_at_edge(&at_edge, &said, &format!("  {url}/more\n")));
    // Beside the step sidebar, the note wrapped over two rows.
    let bar = "│        │ ";
    let side = format!("│ ✔ Done │ ✔ Cluster c is set up and validated.\n{bar}{url}\n");
    let side_said =
        format!("{side}{bar}a line wider than the window is cut\n{bar}at its edge here\n");
    let [beside] = cut_words(&side, 51).try_into().expect("one row at the edge");
    assert!(done_line_at_edge(&beside, &side_said, &format!("  {url}/more\n")));
    assert!(!done_line_at_edge(&beside, &side, &format!("  {url}/more\n")), "cut, unsaid");
    assert!(!done_line_at_edge(&at_edge, &format!("{url}\n"), url), "not on Done");
}

/// `line` is on a row of its own on `screen`, whole (after a sidebar, if any, and nothing
/// after it).
fn on_own_row(screen: &str, line: &str) -> bool {
    screen.lines().any(|row| {
        let row = row.trim_end();
        row.strip_suffix(line)
            .is_some_and(|before| before.is_empty() || before.ends_with([' ', '│']))
    })
}

/// Setup with an answers file in a `width` x `height` terminal, every screen checked; Done
/// and the summary on standard output give each export whole; the bucket is in AWS.
async fn setup_reads_whole(width: u16, height: u16) {
    let moto = Moto::start();
    let env = ready_env(&moto);
    let bucket = format!("acme-screens-{width}x{height}");
    let answers = env.answers(&format!(
        "[state_store]\nbucket = \"{bucket}\"\n[ssh]\nkey_type = \"ed25519\"\n\
         [validate]\nwait = \"10m\"\ninterval = \"1s\"\n"
    ));
    let argv = [bin(), "--config".into(), answers.display().to_string()];
    let out = env.path("out.txt");
    let term = Tmux::start_to(&env, &argv, width, height, Some(&out));
    let mut screens = Screens::new(&term, width);
    screens.wait_for("moto @ 123456789012", SECS(30));
    screens.enter_until("Review: what setup will do", 40);
    term.keys(&["Enter"]);
    let done = screens.wait_for("is set up and validated", SECS(180));
    // The validation dashboard was on screen while kops validated, not only its gauge.
    assert!(
        screens.seen.iter().any(|s| s.contains("Validate: ") && s.contains("attempt ")),
        "no screen showed the validation dashboard"
    );

    let exports = [
        format!("export KOPS_STATE_STORE=s3://{bucket}"),
        "export KOPS_CLUSTER_NAME=kops.k8s.local".to_string(),
        "export AWS_PROFILE=kops".to_string(),
    ];
    for export in &exports {
        // Each export is shorter than the narrowest window: Done shows it whole.
        assert!(on_own_row(&done, export), "{export:?} is not whole on its own row:\n{done}");
    }
    term.keys(&["Enter"]);
    let (code, stty) = term.finished(SECS(30));
    assert_eq!(code, 0, "{}", term.screen());
    assert!(cooked(&stty), "{stty}");
    let summary = read(&out);
    for export in &exports {
        assert!(
            summary.lines().any(|l| l.trim() == export),
            "{export:?} is not a line of its own in the summary:\n{summary}"
        );
    }
    screens.assert_whole(&summary);
    let j = Judge::new(&moto).await;
    assert!(j.buckets().await.contains(&bucket), "no bucket {bucket} in AWS");
    assert!(j.user_exists("kops").await, "no IAM user kops in AWS");
}

#[tokio::test]
async fn setup_at_80x24_reads_whole_on_every_screen_and_done_gives_the_exports_whole() {
    setup_reads_whole(80, 24).await;
}

#[tokio::test]
async fn setup_at_200x50_reads_whole_on_every_screen_and_done_gives_the_exports_whole() {
    setup_reads_whole(200, 50).await;
}

#[tokio::test]
async fn teardown_at_80x24_reads_whole_on_every_screen_and_leaves_nothing() {
    teardown_reads_whole_at(80, 24).await;
}

#[tokio::test]
async fn teardown_at_200x50_reads_whole_on_every_screen_and_leaves_nothing() {
    teardown_reads_whole_at(200, 50).await;
}

/// A headless setup, then the full-screen teardown at `width` x `height`: every screen read
/// for cut words, the exports whole, and nothing left in AWS.
async fn teardown_reads_whole_at(width: u16, height: u16) {
    let moto = Moto::start();
    let env = ready_env(&moto);
    let bucket = "acme-screens-teardown";
    let cluster = "scrtd.k8s.local";
    let answers = env.answers(&format!(
        "[state_store]\nbucket = \"{bucket}\"\n[ssh]\nkey_type = \"ed25519\"\n\
         [cluster]\nname = \"{cluster}\"\n[validate]\nwait = \"1m\"\ninterval = \"100ms\"\n"
    ));
    let (code, out, err) = run(env.wizard().args(["setup", "--yes", "-c"]).arg(&answers));
    assert_eq!(code, 0, "{out}\n{err}");
    let j = Judge::new(&moto).await;
    assert!(j.buckets().await.contains(&bucket.to_string()));
    assert!(j.user_exists("kops").await);

    let argv = [bin(), "teardown".into(), "-c".into(), answers.display().to_string()];
    let term = Tmux::start_to(&env, &argv, width, height, Some(&env.path("out.txt")));
    let mut screens = Screens::new(&term, width);
    screens.wait_for(&format!("Type {cluster} to delete it"), SECS(60));
    screens.wait_for("cloud resources (kops delete cluster)", SECS(30));
    // The rest of the inventory, a page at a time: each page is a screen to read.
    for _ in 0..8 {
        if !term.page_down() {
            break;
        }
        screens.capture();
    }
    term.type_text(cluster);
    term.keys(&["Enter"]);
    screens.wait_for(&format!("Nothing left of {cluster}"), SECS(120));
    term.keys(&["Enter"]);
    let (code, stty) = term.finished(SECS(30));
    assert_eq!(code, 0, "{}", term.screen());
    assert!(cooked(&stty), "{stty}");
    screens.assert_whole(&read(&env.path("out.txt")));

    assert!(!j.buckets().await.contains(&bucket.to_string()), "the bucket is still in AWS");
    assert_eq!(j.users().await, Vec::<String>::new(), "IAM users left");
}

#[tokio::test]
async fn a_resize_mid_run_redraws_for_80_columns_waits_below_80x24_and_resumes() {
    let moto = Moto::start();
    let mut env = ready_env(&moto);
    let answers = env.answers(
        "[state_store]\nbucket = \"acme-screens-resize\"\n[ssh]\nkey_type = \"ed25519\"\n\
         [validate]\nwait = \"10m\"\ninterval = \"1s\"\n",
    );
    // Validation waits on joining nodes for 15 attempts a second apart: the resizes happen then.
    env.set("FAKE_KOPS_VALIDATE_STEPS", "unreachable=1,dns=1,joining=15");
    let argv = [bin(), "--config".into(), answers.display().to_string()];
    let out = env.path("out.txt");
    let term = Tmux::start_to(&env, &argv, 120, 40, Some(&out));
    let mut screens = Screens::new(&term, 120);
    screens.wait_for("moto @ 123456789012", SECS(30));
    screens.enter_until("Review: what setup will do", 40);
    term.keys(&["Enter"]);
    let wide = screens.wait_for("Validate: nodes joining", SECS(120));
    assert!(wide.contains("┌ Steps"), "the step sidebar at 120 columns:\n{wide}");

    term.resize(80, 24);
    screens.resized(80, SECS(10), |s| s.contains("Step 6 of 7"));
    let narrow = screens.until(SECS(10), "the 80-column layout", |s| s.contains("Step 6 of 7"));
    assert!(!narrow.contains("┌ Steps"), "no sidebar at 80 columns:\n{narrow}");
    assert!(flat(&narrow).contains("Validate: nodes joining"), "still the run:\n{narrow}");
    // A few frames of the dashboard at 80 columns.
    for _ in 0..5 {
        screens.capture();
        std::thread::sleep(Duration::from_millis(200));
    }
    // Not Done yet: no line to copy excuses a row at the edge.
    screens.assert_whole("");

    term.resize(79, 24);
    screens.resized(79, SECS(10), |s| s.contains("needs at least"));
    let small =
        screens.wait_for("kops-wizard needs at least 80x24; this terminal is 79x24", SECS(10));
    assert!(!small.contains("Step 6 of 7"), "the page is gone below 80x24:\n{small}");

    term.resize(100, 30);
    let back_again = |s: &str| s.contains("┌ Steps") && !s.contains("needs at least");
    screens.resized(100, SECS(10), back_again);
    let back = screens.until(SECS(10), "the page back at 100x30", back_again);
    assert!(back.contains("▶ Run") || back.contains("▶ Done"), "the run's page is back:\n{back}");
    screens.wait_for("is set up and validated", SECS(180));
    term.keys(&["Enter"]);
    let (code, stty) = term.finished(SECS(30));
    assert_eq!(code, 0, "{}", term.screen());
    assert!(cooked(&stty), "{stty}");
    let summary = read(&out);
    assert!(summary.contains("export KOPS_STATE_STORE=s3://acme-screens-resize"), "{summary}");
    screens.assert_whole(&summary);
    let j = Judge::new(&moto).await;
    assert!(j.buckets().await.contains(&"acme-screens-resize".to_string()));
}

/// The text inside the focused text field's brackets, on the row marked `▶ <label>`.
fn field_value(screen: &str, label: &str) -> Option<String> {
    let row = screen.lines().find(|l| l.contains(&format!("▶ {label}")))?;
    let open = row.find('[')?;
    let close = row[open..].find(']')? + open;
    Some(row[open + 1..close].trim_end().to_string())
}

#[tokio::test]
async fn a_bracketed_paste_types_into_the_bucket_field_and_its_newline_is_not_enter() {
    let moto = Moto::start();
    let env = ready_env(&moto);
    let term = Tmux::start(&env, &[bin()], 100, 30);
    term.wait_for("moto @ 123456789012", SECS(30));
    for _ in 0..6 {
        term.keys(&["Enter"]);
        std::thread::sleep(Duration::from_millis(100));
    }
    term.wait_for("kops-state-123456789012-us-east-1", SECS(10));
    assert_eq!(
        field_value(&term.screen(), "Bucket").as_deref(),
        Some("kops-state-123456789012-us-east-1")
    );

    term.keys(&["C-u"]);
    term.wait_until(SECS(10), "an empty bucket field", |s| {
        field_value(s, "Bucket").as_deref() == Some("")
    });
    term.paste("acme-pasted-bucket");
    let screen = term.wait_for("✔ free", SECS(20));
    assert_eq!(field_value(&screen, "Bucket").as_deref(), Some("acme-pasted-bucket"), "{screen}");
    let requests = moto.requests().join("\n");
    assert!(requests.contains("acme-pasted-bucket"), "the pasted name was checked:\n{requests}");

    // A newline in a paste is not Enter: the wizard drops it (a name is one line) and the
    // focus stays on the field.
    term.keys(&["C-u"]);
    term.wait_until(SECS(10), "an empty bucket field", |s| {
        field_value(s, "Bucket").as_deref() == Some("")
    });
    term.paste("acme-two\nlines");
    let screen = term.wait_until(SECS(20), "the pasted name checked", |s| {
        field_value(s, "Bucket").as_deref() == Some("acme-twolines") && s.contains("✔ free")
    });
    assert!(screen.contains("2/4 State store"), "the page did not advance:\n{screen}");
    assert!(screen.contains("▶ Bucket"), "the focus stayed on the field:\n{screen}");
    let requests = moto.requests().join("\n");
    assert!(requests.contains("acme-twolines"), "the joined name was checked:\n{requests}");
    assert!(!requests.contains("acme-two/") && !requests.contains("acme-two "), "{requests}");
}

/// One printed character of a styled capture and the style it was drawn with.
#[derive(Debug, Clone, Copy, Default)]
struct Cell {
    ch: char,
    bold: bool,
    reverse: bool,
    /// A foreground or background colour is set.
    colour: bool,
}

/// The characters of a `capture-pane -e` row with their styles (SGR sequences applied).
fn styled_cells(row: &str) -> Vec<Cell> {
    let mut cells = Vec::new();
    let mut style = Cell::default();
    let mut chars = row.chars().peekable();
    while let Some(ch) = chars.next() {
        if ch != '\x1b' {
            cells.push(Cell { ch, ..style });
            continue;
        }
        if chars.next_if_eq(&'[').is_none() {
            continue;
        }
        let mut seq = String::new();
        for c in chars.by_ref() {
            if c.is_ascii_alphabetic() {
                if c == 'm' {
                    apply_sgr(&mut style, &seq);
                }
                break;
            }
            seq.push(c);
        }
    }
    cells
}

fn apply_sgr(style: &mut Cell, params: &str) {
    let params: Vec<u32> =
        params.split([';', ':']).map(|p| p.parse().unwrap_or(0)).collect::<Vec<_>>();
    let mut i = 0;
    while i < params.len() {
        match params[i] {
            0 => *style = Cell::default(),
            1 => style.bold = true,
            22 => style.bold = false,
            7 => style.reverse = true,
            27 => style.reverse = false,
            30..=37 | 40..=47 | 90..=97 | 100..=107 => style.colour = true,
            38 | 48 => {
                style.colour = true;
                i += if params.get(i + 1) == Some(&2) { 4 } else { 2 };
            }
            _ => {}
        }
        i += 1;
    }
}

/// Every SGR parameter list of a capture that sets a colour (foreground or background).
fn colour_sequences(styled: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (at, _) in styled.match_indices("\x1b[") {
        let rest = &styled[at + 2..];
        let Some(end) = rest.find(|c: char| c.is_ascii_alphabetic()) else { continue };
        if !rest[end..].starts_with('m') {
            continue;
        }
        let mut cell = Cell::default();
        apply_sgr(&mut cell, &rest[..end]);
        if cell.colour {
            found.push(rest[..end].to_string());
        }
    }
    found
}

/// The first page's styles: colours or none, and the focused field still shown.
fn first_page(moto: &Moto, no_color: bool) -> (String, String) {
    let mut env = ready_env(moto);
    match no_color {
        true => env.set("NO_COLOR", "1"),
        false => env.unset("NO_COLOR"),
    }
    let term = Tmux::start(&env, &[bin()], 100, 30);
    let plain = term.wait_for("moto @ 123456789012", SECS(30));
    let styled = term.screen_with_styles();
    (plain, styled)
}

#[tokio::test]
async fn no_color_turns_every_colour_off_and_the_focused_field_still_shows() {
    let moto = Moto::start();
    for no_color in [true, false] {
        let (plain, styled) = first_page(&moto, no_color);
        let colours = colour_sequences(&styled);
        match no_color {
            true => assert!(colours.is_empty(), "colours with NO_COLOR: {colours:?}"),
            false => assert!(!colours.is_empty(), "no colour without NO_COLOR:\n{styled:?}"),
        }
        // The focused field: its marker and label in bold, its value in reverse video.
        assert!(plain.contains("▶ Admin profile"), "{plain}");
        let row = styled
            .lines()
            .map(styled_cells)
            .find(|cells| {
                let text: String = cells.iter().map(|c| c.ch).collect();
                text.contains("▶ Admin profile")
            })
            .unwrap_or_else(|| panic!("no focused row (NO_COLOR {no_color}):\n{styled:?}"));
        let marker = row.iter().find(|c| c.ch == '▶').copied().unwrap_or_default();
        assert!(marker.bold, "the focus marker is bold (NO_COLOR {no_color}): {row:?}");
        let value = row.iter().find(|c| c.ch == '‹').copied().unwrap_or_default();
        assert!(value.reverse, "the focused value is in reverse (NO_COLOR {no_color}): {row:?}");
    }
}
