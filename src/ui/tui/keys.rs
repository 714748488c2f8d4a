//! Terminal events to messages, as a pure function of the event and the key mode. A focused
//! text field claims printable keys and readline edits before the global shortcuts, so typing
//! `q` or `s` in a name types it; only key presses count, never releases or repeats of them.

use crossterm::event::{Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use tui_input::InputRequest;

use super::state::{Overlay, State};
use super::update::Msg;

/// Who gets the keys right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A text field is focused.
    Text,
    /// A choice, toggle or a page without fields.
    Field,
    /// A y/n question is in front.
    Ask,
    Help,
    Script,
    /// The "make the window larger" screen: only quitting works.
    TooSmall,
}

impl Mode {
    pub fn of(state: &State) -> Mode {
        if state.too_small() {
            return Mode::TooSmall;
        }
        match &state.overlay {
            Some(Overlay::Quit | Overlay::Overwrite(_)) => Mode::Ask,
            Some(Overlay::Help) => Mode::Help,
            Some(Overlay::Script { .. }) => Mode::Script,
            None if state.text_focused() => Mode::Text,
            None => Mode::Field,
        }
    }
}

pub fn from_event(event: &Event, mode: Mode) -> Option<Msg> {
    match event {
        Event::Key(key) if key.kind == KeyEventKind::Press => from_key(*key, mode),
        Event::Paste(text) if mode == Mode::Text => Some(Msg::Paste(text.clone())),
        Event::Resize(w, h) => Some(Msg::Resize(*w, *h)),
        _ => None,
    }
}

pub fn from_key(key: KeyEvent, mode: Mode) -> Option<Msg> {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let alt = key.modifiers.contains(KeyModifiers::ALT);
    if ctrl && key.code == KeyCode::Char('c') {
        // Twice Ctrl-C quits for sure: the second one answers the quit question.
        return Some(match mode {
            Mode::Ask => Msg::Answer(true),
            Mode::TooSmall => Msg::Terminate,
            _ => Msg::Quit,
        });
    }
    match mode {
        // No question can be shown in a window this small, so `q` quits at once (a running
        // setup is stopped as after a confirmed quit; a rerun resumes).
        Mode::TooSmall => match key.code {
            KeyCode::Char('q') => Some(Msg::Terminate),
            _ => None,
        },
        Mode::Ask => match key.code {
            KeyCode::Char('y' | 'Y') => Some(Msg::Answer(true)),
            KeyCode::Char('n' | 'N') | KeyCode::Esc => Some(Msg::Answer(false)),
            _ => None,
        },
        Mode::Help => match key.code {
            KeyCode::Esc | KeyCode::Char('?' | 'q') | KeyCode::F(1) | KeyCode::Enter => {
                Some(Msg::Close)
            }
            _ => None,
        },
        Mode::Script => match key.code {
            KeyCode::Esc | KeyCode::Char('p') => Some(Msg::Close),
            KeyCode::Char('q') => Some(Msg::Quit),
            KeyCode::Down | KeyCode::Char('j') => Some(Msg::NextField),
            KeyCode::Up | KeyCode::Char('k') => Some(Msg::PrevField),
            KeyCode::PageDown | KeyCode::Char(' ') => Some(Msg::Scroll(5)),
            KeyCode::PageUp => Some(Msg::Scroll(-5)),
            _ => None,
        },
        Mode::Text => text_key(key, ctrl, alt).or_else(|| global_key(key)),
        Mode::Field => field_key(key).or_else(|| global_key(key)),
    }
}

/// Readline editing and typing; `None` leaves the key to the global shortcuts.
fn text_key(key: KeyEvent, ctrl: bool, alt: bool) -> Option<Msg> {
    use InputRequest as R;
    // Ctrl-N / Ctrl-P offer values found for the field (the SSH keys of ~/.ssh).
    match (key.code, ctrl) {
        (KeyCode::Char('n'), true) => return Some(Msg::ChoiceNext),
        (KeyCode::Char('p'), true) => return Some(Msg::ChoicePrev),
        _ => {}
    }
    let req = match (key.code, ctrl, alt) {
        (KeyCode::Char('a'), true, _) | (KeyCode::Home, _, _) => R::GoToStart,
        (KeyCode::Char('e'), true, _) | (KeyCode::End, _, _) => R::GoToEnd,
        (KeyCode::Char('b'), true, _) | (KeyCode::Left, false, false) => R::GoToPrevChar,
        (KeyCode::Char('f'), true, _) | (KeyCode::Right, false, false) => R::GoToNextChar,
        (KeyCode::Char('b'), _, true) | (KeyCode::Left, _, _) => R::GoToPrevWord,
        (KeyCode::Char('f'), _, true) | (KeyCode::Right, _, _) => R::GoToNextWord,
        (KeyCode::Char('w'), true, _) | (KeyCode::Backspace, _, true) => R::DeletePrevWord,
        (KeyCode::Char('d'), _, true) => R::DeleteNextWord,
        (KeyCode::Char('u'), true, _) => R::DeleteFromStart,
        (KeyCode::Char('k'), true, _) => R::DeleteTillEnd,
        (KeyCode::Char('y'), true, _) => R::Yank,
        (KeyCode::Char('h'), true, _) | (KeyCode::Backspace, _, _) => R::DeletePrevChar,
        (KeyCode::Char('d'), true, _) | (KeyCode::Delete, _, _) => R::DeleteNextChar,
        (KeyCode::Char(c), false, false) => R::InsertChar(c),
        _ => return None,
    };
    Some(Msg::Edit(req))
}

/// Keys of a focused choice or toggle, and the one-letter shortcuts.
fn field_key(key: KeyEvent) -> Option<Msg> {
    if key.modifiers.intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) {
        return None;
    }
    Some(match key.code {
        KeyCode::Left | KeyCode::Char('h') => Msg::ChoicePrev,
        KeyCode::Right | KeyCode::Char('l') => Msg::ChoiceNext,
        KeyCode::Char(' ') => Msg::Toggle,
        KeyCode::Char('q') => Msg::Quit,
        KeyCode::Char('?') => Msg::Help,
        KeyCode::Char('s') => Msg::Save,
        KeyCode::Char('p') => Msg::ShowScript,
        KeyCode::Char('r') => Msg::Retry,
        KeyCode::Char('c') => Msg::Claim,
        _ => return None,
    })
}

/// Keys that work everywhere outside a question in front.
fn global_key(key: KeyEvent) -> Option<Msg> {
    Some(match key.code {
        KeyCode::Tab | KeyCode::Down => Msg::NextField,
        KeyCode::BackTab | KeyCode::Up => Msg::PrevField,
        KeyCode::Enter => Msg::Enter,
        KeyCode::Esc => Msg::Back,
        KeyCode::PageUp => Msg::Scroll(5),
        KeyCode::PageDown => Msg::Scroll(-5),
        KeyCode::F(1) => Msg::Help,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyEventState;

    fn press(code: KeyCode) -> Event {
        Event::Key(KeyEvent::new(code, KeyModifiers::NONE))
    }

    #[test]
    fn a_text_field_takes_letters_before_shortcuts() {
        for c in ['q', 's', '?', 'p', 'r', ' '] {
            assert_eq!(
                from_event(&press(KeyCode::Char(c)), Mode::Text),
                Some(Msg::Edit(InputRequest::InsertChar(c)))
            );
        }
        assert_eq!(from_event(&press(KeyCode::Char('q')), Mode::Field), Some(Msg::Quit));
        assert_eq!(from_event(&press(KeyCode::Char('s')), Mode::Field), Some(Msg::Save));
        assert_eq!(
            from_event(&press(KeyCode::Left), Mode::Text),
            Some(Msg::Edit(InputRequest::GoToPrevChar))
        );
        assert_eq!(from_event(&press(KeyCode::Left), Mode::Field), Some(Msg::ChoicePrev));
        assert_eq!(from_event(&press(KeyCode::Tab), Mode::Text), Some(Msg::NextField));
        assert_eq!(from_event(&press(KeyCode::Esc), Mode::Text), Some(Msg::Back));
    }

    #[test]
    fn only_presses_count() {
        let release = Event::Key(KeyEvent {
            code: KeyCode::Char('x'),
            modifiers: KeyModifiers::NONE,
            kind: KeyEventKind::Release,
            state: KeyEventState::NONE,
        });
        assert_eq!(from_event(&release, Mode::Text), None);
    }

    #[test]
    fn ctrl_c_quits_and_answers_the_quit_question() {
        let ctrl_c = Event::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
        assert_eq!(from_event(&ctrl_c, Mode::Text), Some(Msg::Quit));
        assert_eq!(from_event(&ctrl_c, Mode::Ask), Some(Msg::Answer(true)));
        assert_eq!(from_event(&press(KeyCode::Char('n')), Mode::Ask), Some(Msg::Answer(false)));
        assert_eq!(from_event(&press(KeyCode::Char('q')), Mode::Ask), None);
    }

    #[test]
    fn only_quitting_works_on_the_too_small_screen() {
        assert_eq!(from_event(&press(KeyCode::Char('q')), Mode::TooSmall), Some(Msg::Terminate));
        assert_eq!(from_event(&press(KeyCode::Enter), Mode::TooSmall), None);
        assert_eq!(from_event(&press(KeyCode::Char('x')), Mode::TooSmall), None);
    }

    #[test]
    fn a_resize_is_taken_in_every_mode() {
        // Every message is followed by a frame (run.rs), so this is a redraw at any moment:
        // mid-typing, behind the quit question or the help, on the too-small screen.
        use Mode::*;
        for mode in [Text, Field, Ask, Help, Script, TooSmall] {
            assert_eq!(from_event(&Event::Resize(80, 24), mode), Some(Msg::Resize(80, 24)));
        }
    }

    #[test]
    fn paste_goes_to_a_text_field_only() {
        let paste = Event::Paste("acme-state".into());
        assert_eq!(from_event(&paste, Mode::Text), Some(Msg::Paste("acme-state".into())));
        assert_eq!(from_event(&paste, Mode::Field), None);
    }
}
