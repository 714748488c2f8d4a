//! The real binary in a real terminal: a tmux server of the test's own (its own socket, no
//! user config), one window of a chosen size running a shell line, keys sent with
//! `send-keys`, the screen read with `capture-pane`. After the program exits the shell prints
//! its exit code and `stty -a`, so a test can check that the terminal was given back in
//! canonical mode with echo on.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::TestEnv;

/// What the pane's shell prints once the program has exited and its report is on screen.
const RUN_ENDED: &str = "[[run ended]]";

pub struct Tmux {
    socket: PathBuf,
    _dir: tempfile::TempDir,
    /// The environment's home, for the secrets its runs saved (see `evidence`).
    home: PathBuf,
    /// Hashes of the screens already kept for the secrets scan.
    seen: std::cell::RefCell<std::collections::HashSet<u64>>,
}

/// Quotes a word for `sh -c`.
pub fn sh_quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', "'\\''"))
}

impl Tmux {
    /// Starts `argv` in a `width` x `height` terminal with the test environment (tmux's server
    /// takes the environment of the command that starts it).
    pub fn start(env: &TestEnv, argv: &[String], width: u16, height: u16) -> Tmux {
        Self::start_to(env, argv, width, height, None)
    }

    /// The same, with the program's standard output going to `stdout` (the full-screen UI
    /// draws on standard error; what it prints for the user after exit goes to stdout).
    pub fn start_to(
        env: &TestEnv,
        argv: &[String],
        width: u16,
        height: u16,
        stdout: Option<&std::path::Path>,
    ) -> Tmux {
        let dir = tempfile::tempdir().expect("tmux dir");
        let socket = dir.path().join("socket");
        let line: Vec<String> = argv.iter().map(|a| sh_quote(a)).collect();
        let redirect = stdout.map(|p| format!(" > {}", sh_quote(&p.display().to_string())));
        // A terminal sends Ctrl-C's SIGINT to its whole foreground group, this shell included:
        // the trap (a handler, so the program still starts with SIGINT at its default) keeps
        // the shell alive to report the exit code and the terminal's modes.
        let script = format!(
            "trap : INT; cd {}; {}{}; echo \"EXIT=$?\"; stty -a | tr '\\n' ' '; printf '\\r\\n%s\\r\\n' '{RUN_ENDED}'; sleep 600",
            sh_quote(&env.dir.path().display().to_string()),
            line.join(" "),
            redirect.unwrap_or_default()
        );
        let mut cmd = Command::new("tmux");
        env.apply(&mut cmd);
        cmd.env("TERM", "xterm-256color");
        let status = cmd
            .arg("-S")
            .arg(&socket)
            .args(["-f", "/dev/null", "new-session", "-d", "-x"])
            .arg(width.to_string())
            .arg("-y")
            .arg(height.to_string())
            .args(["sh", "-c", &script])
            .stdin(Stdio::null())
            .status()
            .expect("run tmux (install it: Debian package tmux)");
        assert!(status.success(), "tmux new-session failed");
        Tmux { socket, _dir: dir, home: env.home(), seen: Default::default() }
    }

    fn tmux(&self) -> Command {
        let mut cmd = Command::new("tmux");
        cmd.arg("-S").arg(&self.socket).stdin(Stdio::null());
        cmd
    }

    /// Key names as tmux knows them (`Enter`, `Tab`, `BTab`, `Escape`, `C-c`, `Down`, ...).
    pub fn keys(&self, keys: &[&str]) {
        let status = self.tmux().arg("send-keys").args(keys).status().expect("tmux send-keys");
        assert!(status.success());
    }

    /// The terminal's title, as programs set it with OSC 0 or 2.
    pub fn title(&self) -> String {
        let out = self
            .tmux()
            .args(["display-message", "-p", "#{pane_title}"])
            .output()
            .expect("tmux display-message");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Closes the terminal window as a user closing it would: the pane goes, and the kernel
    /// sends SIGHUP to what ran in it. Nothing is left to look at afterwards.
    pub fn close_window(&self) {
        let _ = self.screen();
        let status = self.tmux().arg("kill-session").status().expect("tmux kill-session");
        assert!(status.success(), "tmux kill-session");
    }

    /// The pid of the program the pane's shell runs (its only child).
    pub fn program_pid(&self) -> Option<u32> {
        let out = self.tmux().args(["list-panes", "-F", "#{pane_pid}"]).output().ok()?;
        let shell = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let children = Command::new("pgrep").args(["-P", &shell]).output().ok()?;
        String::from_utf8_lossy(&children.stdout).lines().next()?.trim().parse().ok()
    }

    /// What the pane is running, for a wait that timed out (a blank screen alone cannot tell
    /// a program that hangs from one that never started, or a tmux that is gone).
    fn state(&self) -> String {
        let out = self.tmux().args(["list-panes", "-F", "#{pane_pid} #{pane_dead}"]).output();
        let panes = match out {
            Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).trim().to_string(),
            Ok(o) => return format!("tmux: {}", String::from_utf8_lossy(&o.stderr).trim()),
            Err(e) => return format!("tmux: {e}"),
        };
        let Some(pid) = self.program_pid() else {
            return format!("pane {panes:?}, no program running in it");
        };
        // The program's state and what it waits on, then its children (a kops call, say).
        let proc = |pid: &str| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let state = stat.rsplit(") ").next().and_then(|s| s.split(' ').next()).unwrap_or("?");
            let wchan = std::fs::read_to_string(format!("/proc/{pid}/wchan")).unwrap_or_default();
            let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            format!("{pid} [{state} {wchan}] {}", cmd.trim())
        };
        let children = Command::new("pgrep").args(["-P", &pid.to_string()]).output();
        let children: Vec<String> = children
            .map(|o| String::from_utf8_lossy(&o.stdout).lines().map(|c| proc(c.trim())).collect())
            .unwrap_or_default();
        format!("the program: {}; its children: {children:?}", proc(&pid.to_string()))
    }

    /// Literal text, typed.
    pub fn type_text(&self, text: &str) {
        let status =
            self.tmux().args(["send-keys", "-l", text]).status().expect("tmux send-keys -l");
        assert!(status.success());
    }

    pub fn screen(&self) -> String {
        let out = self.tmux().args(["capture-pane", "-p"]).output().expect("tmux capture-pane");
        let screen = String::from_utf8_lossy(&out.stdout).into_owned();
        self.keep(&screen);
        screen
    }

    /// The screen with its styles: SGR escape sequences as tmux renders its cells
    /// (`capture-pane -e`), for the colour and reverse-video checks.
    pub fn screen_with_styles(&self) -> String {
        let out = self.tmux().args(["capture-pane", "-p", "-e"]).output().expect("capture-pane");
        let screen = String::from_utf8_lossy(&out.stdout).into_owned();
        self.keep(&screen);
        screen
    }

    /// Resizes the window as a user dragging the terminal's corner would: the program gets
    /// SIGWINCH and the new size.
    pub fn resize(&self, width: u16, height: u16) {
        let status = self
            .tmux()
            .args(["resize-window", "-x", &width.to_string(), "-y", &height.to_string()])
            .status()
            .expect("tmux resize-window");
        assert!(status.success(), "tmux resize-window {width}x{height}");
    }

    /// Pastes `text` as a terminal does: through a paste buffer, wrapped in the bracketed-paste
    /// sequences when the program turned that mode on (`paste-buffer -p`). tmux turns each
    /// newline into a carriage return, as a terminal sends Enter.
    pub fn paste(&self, text: &str) {
        let status =
            self.tmux().args(["set-buffer", "-b", "t", "--", text]).status().expect("set-buffer");
        assert!(status.success(), "tmux set-buffer");
        let status = self
            .tmux()
            .args(["paste-buffer", "-p", "-d", "-b", "t"])
            .status()
            .expect("tmux paste-buffer");
        assert!(status.success(), "tmux paste-buffer");
    }

    /// Keeps each distinct screen for the secrets scan (polling repeats most of them).
    fn keep(&self, screen: &str) {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        screen.hash(&mut h);
        let mut seen = self.seen.borrow_mut();
        if seen.len() < 5000 && seen.insert(h.finish()) {
            super::evidence::shown("screen", screen);
        }
    }

    /// Waits until the screen shows `text` on two captures in a row (a frame being drawn is
    /// not judged half-way); panics with the last screen after `limit`.
    pub fn wait_for(&self, text: &str, limit: Duration) -> String {
        let mut seen = false;
        self.wait_until(limit, &format!("{text:?} on screen"), |s| {
            let here = s.contains(text);
            let twice = here && seen;
            seen = here;
            twice
        })
    }

    /// Presses Enter until the screen shows `text` (walking fields and steps), at most `most`
    /// times.
    pub fn enter_until(&self, text: &str, most: usize) -> String {
        for _ in 0..most {
            if self.screen().contains(text) {
                break;
            }
            self.keys(&["Enter"]);
            std::thread::sleep(Duration::from_millis(150));
        }
        self.wait_for(text, Duration::from_secs(10))
    }

    /// Presses PageDown and waits for the screen to change; false if it did not within a
    /// second (the end of what there is to scroll).
    pub fn page_down(&self) -> bool {
        let before = self.screen();
        self.keys(&["PageDown"]);
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(1) {
            if self.screen() != before {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    pub fn wait_until(
        &self,
        limit: Duration,
        what: &str,
        mut done: impl FnMut(&str) -> bool,
    ) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if done(&screen) {
                return screen;
            }
            if start.elapsed() > limit {
                panic!("waited {limit:?} for {what}; {}; the screen:\n{screen}", self.state());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The screen with lines the terminal wrapped joined again (for long shell output).
    pub fn joined(&self) -> String {
        let out =
            self.tmux().args(["capture-pane", "-p", "-J"]).output().expect("tmux capture-pane");
        let screen = String::from_utf8_lossy(&out.stdout).into_owned();
        self.keep(&screen);
        screen
    }

    /// After the program exited: its exit code and the terminal's `stty -a` line.
    pub fn finished(&self, limit: Duration) -> (i32, String) {
        // A killed full-screen program leaves the terminal raw (no carriage return on newline):
        // the marker is printed after a carriage return of its own, at a line's start, so that
        // it is never split by the terminal's right edge (a CI run saw "[[run ended" + "]]").
        self.wait_until(limit, "the program to exit", |s| s.contains(RUN_ENDED));
        let screen = self.joined();
        // A program may end without a newline, so EXIT= can follow its last text on a line.
        let code = screen
            .lines()
            .find_map(|l| l.find("EXIT=").map(|at| &l[at + 5..]))
            .and_then(|c| c.split_whitespace().next()?.parse().ok())
            .unwrap_or(-1);
        let stty = screen.lines().find_map(|l| l.find("speed ").map(|at| &l[at..])).unwrap_or("");
        (code, stty.to_string())
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        // The last screen, whether or not a test looked at it, and the secrets the run saved.
        let _ = self.screen();
        super::evidence::secrets_under(&self.home, None);
        let _ = self.tmux().arg("kill-server").stderr(Stdio::null()).status();
    }
}

/// Runs `argv`, a line-mode teardown, in a `width` x `height` terminal, types `name` at its
/// typed confirmation and waits for it to exit: (exit code, the last screen, `stty -a`).
pub fn confirm_teardown(
    env: &TestEnv,
    argv: &[String],
    (width, height): (u16, u16),
    name: &str,
) -> (i32, String, String) {
    let term = Tmux::start(env, argv, width, height);
    term.wait_for("Type the cluster name", Duration::from_secs(60));
    term.type_text(name);
    term.keys(&["Enter"]);
    let (code, stty) = term.finished(Duration::from_secs(120));
    (code, term.screen(), stty)
}

/// Whether `stty -a` describes a terminal in its normal (cooked) state: canonical input and
/// echo on.
pub fn cooked(stty: &str) -> bool {
    let words: Vec<&str> = stty.split_whitespace().collect();
    words.contains(&"icanon") && words.contains(&"echo")
}
