//! A terminal's line discipline, as Linux's `n_tty` does it: what input
//! bytes become (signals, echo, an edited line, raw bytes) and what output
//! bytes become (`OPOST`), under the `termios` settings the workload set.
//!
//! Pure state, no I/O: the kernel hands it the bytes the host's terminal
//! sent and takes back the echo to write and the signals to send; reads
//! take from its buffer. The host's own terminal is in raw mode for the
//! run, so this is the only line discipline the bytes meet.

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use crate::types::Termios;

// c_iflag (asm-generic/termbits.h)
pub const ISTRIP: u32 = 0o40;
pub const IXON: u32 = 0o2000;
pub const IXANY: u32 = 0o4000;
pub const INLCR: u32 = 0o100;
pub const IGNCR: u32 = 0o200;
pub const ICRNL: u32 = 0o400;
pub const IUTF8: u32 = 0o40000;
// c_oflag
pub const OPOST: u32 = 0o1;
pub const ONLCR: u32 = 0o4;
pub const OCRNL: u32 = 0o10;
// c_lflag
pub const ISIG: u32 = 0o1;
pub const ICANON: u32 = 0o2;
pub const ECHO: u32 = 0o10;
pub const ECHOE: u32 = 0o20;
pub const ECHOK: u32 = 0o40;
pub const ECHONL: u32 = 0o100;
pub const NOFLSH: u32 = 0o200;
pub const TOSTOP: u32 = 0o400;
pub const ECHOCTL: u32 = 0o1000;
pub const ECHOKE: u32 = 0o4000;
pub const IEXTEN: u32 = 0o100000;
// c_cc indices
pub const VINTR: usize = 0;
pub const VSTART: usize = 8;
pub const VSTOP: usize = 9;
pub const VQUIT: usize = 1;
pub const VERASE: usize = 2;
pub const VKILL: usize = 3;
pub const VEOF: usize = 4;
pub const VTIME: usize = 5;
pub const VMIN: usize = 6;
pub const VSUSP: usize = 10;
pub const VEOL: usize = 11;
pub const VREPRINT: usize = 12;
pub const VWERASE: usize = 14;
pub const VLNEXT: usize = 15;
pub const VEOL2: usize = 16;
/// A `c_cc` entry of 0 is disabled (`_POSIX_VDISABLE` on Linux).
const DISABLED: u8 = 0;

/// Linux's `N_TTY_BUF_SIZE`: input the discipline holds at most.
pub const BUF_SIZE: usize = 4096;

const SIGINT: u8 = 2;
const SIGQUIT: u8 = 3;
const SIGTSTP: u8 = 20;

/// What an input character asks of the terminal beyond its buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A signal to the foreground process group (`ISIG`).
    Signal(u8),
    /// `VSTOP` (^S) with `IXON`: output waits.
    StopOutput,
    /// `VSTART` (^Q), or with `IXANY` any character, or a signal
    /// character: output goes on.
    StartOutput,
}

/// What a read finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Read {
    /// This many bytes, at the start of the buffer.
    Data(usize),
    /// End of file: `VEOF` at the start of a line (canonical mode), or
    /// nothing with `VMIN` 0 (non-canonical mode).
    Eof,
    /// Nothing yet: the reader waits.
    Empty,
}

/// One terminal's input state and settings.
#[derive(Debug, Clone)]
pub struct LineDiscipline {
    pub termios: Termios,
    /// Bytes a read may take.
    ready: VecDeque<u8>,
    /// Canonical mode: the lengths of the lines in `ready` (a line ended
    /// by `VEOF` at its start is an empty one: end of file).
    lines: VecDeque<usize>,
    /// Canonical mode: the line being edited.
    line: Vec<u8>,
    /// `VLNEXT` came: the next byte is taken literally.
    literal_next: bool,
}

impl Default for LineDiscipline {
    fn default() -> Self {
        Self::new()
    }
}

fn is_control(c: u8) -> bool {
    c < 0x20 || c == 0x7f
}

impl LineDiscipline {
    pub fn new() -> Self {
        Self {
            termios: Termios::linux_default(),
            ready: VecDeque::new(),
            lines: VecDeque::new(),
            line: Vec::new(),
            literal_next: false,
        }
    }

    fn lflag(&self, flag: u32) -> bool {
        self.termios.c_lflag & flag != 0
    }

    fn iflag(&self, flag: u32) -> bool {
        self.termios.c_iflag & flag != 0
    }

    fn cc(&self, index: usize) -> u8 {
        self.termios.c_cc[index]
    }

    /// Whether `c` is the enabled control character `index`.
    fn is(&self, c: u8, index: usize) -> bool {
        c != DISABLED && c == self.cc(index)
    }

    pub fn canonical(&self) -> bool {
        self.lflag(ICANON)
    }

    /// Background writers get SIGTTOU (`TOSTOP`).
    pub fn tostop(&self) -> bool {
        self.lflag(TOSTOP)
    }

    /// New settings (`TCSETS*`): `flush` drops pending input (`TCSETSF`).
    /// Leaving canonical mode makes the line being edited readable;
    /// entering it makes what is readable one line, as Linux does.
    pub fn set_termios(&mut self, termios: Termios, flush: bool) {
        let was_canonical = self.canonical();
        self.termios = termios;
        if flush {
            self.flush_input();
        }
        match (was_canonical, self.canonical()) {
            (true, false) => {
                self.lines.clear();
                self.ready.extend(self.line.drain(..));
            }
            (false, true) if !self.ready.is_empty() => {
                self.lines.clear();
                self.lines.push_back(self.ready.len());
            }
            _ => {}
        }
    }

    pub fn flush_input(&mut self) {
        self.ready.clear();
        self.lines.clear();
        self.line.clear();
        self.literal_next = false;
    }

    /// How many more input bytes the discipline takes now: in raw mode
    /// the room in its buffer (the rest waits with the sender); in
    /// canonical mode any amount (a full line drops what it cannot hold,
    /// as Linux does, so ^C and Enter always get through).
    pub fn input_room(&self) -> usize {
        if self.canonical() {
            usize::MAX
        } else {
            BUF_SIZE.saturating_sub(self.ready.len())
        }
    }

    /// Takes one byte from the terminal; echo goes to `echo` (before
    /// output processing). `output_stopped` says whether ^S stopped the
    /// output; the answer is what the character asks beyond the buffer.
    pub fn input(&mut self, byte: u8, echo: &mut Vec<u8>, output_stopped: bool) -> Option<Event> {
        let mut c = byte;
        if self.iflag(ISTRIP) {
            c &= 0x7f;
        }
        if self.iflag(IXON) && !self.literal_next {
            // Flow control characters are not input (n_tty's IXON).
            if self.is(c, VSTOP) {
                return Some(Event::StopOutput);
            }
            if self.is(c, VSTART) {
                return Some(Event::StartOutput);
            }
        }
        let event = self.receive(c, echo);
        if event.is_none() && output_stopped && self.iflag(IXON) && self.iflag(IXANY) {
            return Some(Event::StartOutput);
        }
        event
    }

    fn receive(&mut self, mut c: u8, echo: &mut Vec<u8>) -> Option<Event> {
        if self.literal_next {
            self.literal_next = false;
            self.store(c, echo);
            return None;
        }
        if self.lflag(ISIG) {
            let signal = if self.is(c, VINTR) {
                Some(SIGINT)
            } else if self.is(c, VQUIT) {
                Some(SIGQUIT)
            } else if self.is(c, VSUSP) {
                Some(SIGTSTP)
            } else {
                None
            };
            if let Some(sig) = signal {
                if !self.lflag(NOFLSH) {
                    self.flush_input();
                }
                if self.lflag(ECHO) {
                    self.echo_char(c, echo);
                }
                return Some(Event::Signal(sig));
            }
        }
        if c == b'\r' {
            if self.iflag(IGNCR) {
                return None;
            }
            if self.iflag(ICRNL) {
                c = b'\n';
            }
        } else if c == b'\n' && self.iflag(INLCR) {
            c = b'\r';
        }
        if self.canonical() {
            if self.lflag(IEXTEN) && self.is(c, VLNEXT) {
                self.literal_next = true;
                if self.lflag(ECHO) && self.lflag(ECHOCTL) {
                    echo.extend_from_slice(b"^\x08");
                }
                return None;
            }
            if self.is(c, VERASE)
                || self.is(c, VKILL)
                || (self.lflag(IEXTEN) && self.is(c, VWERASE))
            {
                self.erase(c, echo);
                return None;
            }
            if self.lflag(IEXTEN) && self.is(c, VREPRINT) {
                if self.lflag(ECHO) {
                    self.echo_char(c, echo);
                    echo.push(b'\n');
                    for i in 0..self.line.len() {
                        let b = self.line[i];
                        self.echo_char(b, echo);
                    }
                }
                return None;
            }
            if self.is(c, VEOF) {
                // The line so far becomes readable without the EOF
                // character; at the start of a line, an empty one.
                self.end_line();
                return None;
            }
            if c == b'\n' || self.is(c, VEOL) || (self.lflag(IEXTEN) && self.is(c, VEOL2)) {
                if c == b'\n' {
                    if self.lflag(ECHO) || self.lflag(ECHONL) {
                        echo.push(b'\n');
                    }
                } else if self.lflag(ECHO) {
                    self.echo_char(c, echo);
                }
                self.line.push(c);
                self.end_line();
                return None;
            }
        }
        self.store(c, echo);
        None
    }

    /// An ordinary character: into the line (canonical) or the buffer.
    fn store(&mut self, c: u8, echo: &mut Vec<u8>) {
        let held = self.ready.len() + self.line.len();
        // Canonical mode keeps the last byte for the line's end.
        let limit = if self.canonical() {
            BUF_SIZE - 1
        } else {
            BUF_SIZE
        };
        if held >= limit {
            return;
        }
        if self.lflag(ECHO) {
            if c == b'\n' {
                echo.push(b'\n');
            } else {
                self.echo_char(c, echo);
            }
        }
        if self.canonical() {
            self.line.push(c);
        } else {
            self.ready.push_back(c);
        }
    }

    fn end_line(&mut self) {
        self.lines.push_back(self.line.len());
        self.ready.extend(self.line.drain(..));
    }

    /// `c` as echo shows it: a control character as `^X` under `ECHOCTL`
    /// (but tab and newline as they are).
    fn echo_char(&self, c: u8, echo: &mut Vec<u8>) {
        if self.lflag(ECHOCTL) && is_control(c) && c != b'\t' && c != b'\n' {
            echo.extend_from_slice(&[b'^', c ^ 0o100]);
        } else {
            echo.push(c);
        }
    }

    /// How many columns `c` took when echoed.
    fn echo_width(&self, c: u8) -> usize {
        if self.lflag(ECHOCTL) && is_control(c) && c != b'\t' {
            2
        } else {
            1
        }
    }

    /// `VERASE`, `VWERASE` or `VKILL`: removes the last character, word
    /// or the whole line being edited, and rubs it out on the screen.
    fn erase(&mut self, c: u8, echo: &mut Vec<u8>) {
        let kill = self.is(c, VKILL);
        let word = !kill && !self.is(c, VERASE);
        if self.line.is_empty() {
            return;
        }
        let echoing = self.lflag(ECHO);
        if kill && echoing && !self.lflag(ECHOKE) {
            // Without ECHOKE the kill character is shown, then a newline.
            self.line.clear();
            self.echo_char(c, echo);
            if self.lflag(ECHOK) {
                echo.push(b'\n');
            }
            return;
        }
        let mut seen_word = false;
        while let Some(&last) = self.line.last() {
            if word {
                let blank = last == b' ' || last == b'\t';
                if blank && seen_word {
                    break;
                }
                seen_word |= !blank;
            }
            self.line.pop();
            // A UTF-8 character goes as a whole.
            if self.iflag(IUTF8) && last & 0xc0 == 0x80 {
                while let Some(&b) = self.line.last() {
                    self.line.pop();
                    if b & 0xc0 != 0x80 {
                        break;
                    }
                }
            }
            if echoing {
                if self.lflag(ECHOE) || kill {
                    for _ in 0..self.echo_width(last) {
                        echo.extend_from_slice(b"\x08 \x08");
                    }
                } else {
                    self.echo_char(self.cc(VERASE), echo);
                }
            }
            if !kill && !word {
                break;
            }
        }
    }

    /// Whether a read would find something now (`poll`): a whole line in
    /// canonical mode, a byte otherwise.
    pub fn readable(&self) -> bool {
        if self.canonical() {
            !self.lines.is_empty()
        } else {
            !self.ready.is_empty()
        }
    }

    /// Bytes a read may take now (`FIONREAD`).
    pub fn pending(&self) -> usize {
        self.ready.len()
    }

    /// Takes input into `buf`: at most one line in canonical mode; in raw
    /// mode at least `VMIN` bytes (or as many as `buf` holds) once they
    /// are there, or whatever is there with `VMIN` 0. (`VTIME` is not
    /// timed: it reads as 0.)
    pub fn read(&mut self, buf: &mut [u8]) -> Read {
        if buf.is_empty() {
            return Read::Data(0);
        }
        if self.canonical() {
            let Some(&len) = self.lines.front() else {
                return Read::Empty;
            };
            if len == 0 {
                self.lines.pop_front();
                return Read::Eof;
            }
            let n = len.min(buf.len());
            self.take(&mut buf[..n]);
            if n == len {
                self.lines.pop_front();
            } else if let Some(front) = self.lines.front_mut() {
                *front -= n;
            }
            return Read::Data(n);
        }
        let min = usize::from(self.cc(VMIN));
        if min == 0 && self.ready.is_empty() {
            return Read::Eof;
        }
        if self.ready.is_empty() || self.ready.len() < min.min(buf.len()) {
            return Read::Empty;
        }
        let n = self.ready.len().min(buf.len());
        self.take(&mut buf[..n]);
        Read::Data(n)
    }

    fn take(&mut self, buf: &mut [u8]) {
        let n = buf.len();
        for (dst, src) in buf.iter_mut().zip(self.ready.drain(..n)) {
            *dst = src;
        }
    }

    /// Output processing (`OPOST`): `data` as the terminal gets it,
    /// appended to `out` (at most twice as long).
    pub fn output(&self, data: &[u8], out: &mut Vec<u8>) {
        let oflag = self.termios.c_oflag;
        if oflag & OPOST == 0 {
            out.extend_from_slice(data);
            return;
        }
        for &c in data {
            match c {
                b'\n' if oflag & ONLCR != 0 => out.extend_from_slice(b"\r\n"),
                b'\r' if oflag & OCRNL != 0 => out.push(b'\n'),
                _ => out.push(c),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn feed(ld: &mut LineDiscipline, bytes: &[u8]) -> (Vec<u8>, Vec<u8>) {
        let mut echo = Vec::new();
        let mut signals = Vec::new();
        for &b in bytes {
            if let Some(Event::Signal(sig)) = ld.input(b, &mut echo, false) {
                signals.push(sig);
            }
        }
        (echo, signals)
    }

    fn read_all(ld: &mut LineDiscipline) -> Vec<Read> {
        let mut out = Vec::new();
        let mut buf = [0u8; 64];
        loop {
            match ld.read(&mut buf) {
                Read::Empty => return out,
                r => out.push(r),
            }
            if out.len() > 10 {
                return out;
            }
        }
    }

    #[test]
    fn canonical_lines_with_erase_and_kill() {
        let mut ld = LineDiscipline::new();
        let (echo, signals) = feed(&mut ld, b"helo\x7flo\r");
        assert!(signals.is_empty());
        assert_eq!(echo, b"helo\x08 \x08lo\n");
        let mut buf = [0u8; 64];
        assert_eq!(ld.read(&mut buf), Read::Data(6));
        assert_eq!(&buf[..6], b"hello\n");
        // Nothing until a line ends.
        feed(&mut ld, b"abc");
        assert!(!ld.readable());
        assert_eq!(ld.read(&mut buf), Read::Empty);
        // ^U kills the line (ECHOKE rubs it out).
        let (echo, _) = feed(&mut ld, b"\x15x\n");
        assert_eq!(echo, b"\x08 \x08\x08 \x08\x08 \x08x\n");
        assert_eq!(ld.read(&mut buf), Read::Data(2));
        assert_eq!(&buf[..2], b"x\n");
    }

    #[test]
    fn eof_ends_a_line_or_the_input() {
        let mut ld = LineDiscipline::new();
        feed(&mut ld, b"ab\x04\x04");
        let mut buf = [0u8; 64];
        assert_eq!(ld.read(&mut buf), Read::Data(2));
        assert_eq!(&buf[..2], b"ab");
        assert_eq!(ld.read(&mut buf), Read::Eof);
        assert_eq!(ld.read(&mut buf), Read::Empty);
    }

    #[test]
    fn a_line_is_read_in_pieces() {
        let mut ld = LineDiscipline::new();
        feed(&mut ld, b"abcdef\nxy\n");
        let mut buf = [0u8; 4];
        assert_eq!(ld.read(&mut buf), Read::Data(4));
        assert_eq!(ld.read(&mut buf), Read::Data(3));
        assert_eq!(&buf[..3], b"ef\n");
        assert_eq!(ld.read(&mut buf), Read::Data(3));
        assert_eq!(&buf[..3], b"xy\n");
    }

    #[test]
    fn signal_characters_flush_and_echo() {
        let mut ld = LineDiscipline::new();
        let (echo, signals) = feed(&mut ld, b"abc\x03");
        assert_eq!(signals, vec![SIGINT]);
        assert_eq!(echo, b"abc^C");
        assert_eq!(read_all(&mut ld), vec![]);
        let (_, signals) = feed(&mut ld, b"\x1c\x1a");
        assert_eq!(signals, vec![SIGQUIT, SIGTSTP]);
        // Without ISIG they are data.
        let mut raw = Termios::linux_default();
        raw.c_lflag &= !(ISIG | ICANON | ECHO);
        ld.set_termios(raw, false);
        let (echo, signals) = feed(&mut ld, b"\x03");
        assert!(signals.is_empty() && echo.is_empty());
        let mut buf = [0u8; 4];
        assert_eq!(ld.read(&mut buf), Read::Data(1));
        assert_eq!(buf[0], 3);
    }

    #[test]
    fn raw_mode_passes_bytes_and_honours_vmin() {
        let mut ld = LineDiscipline::new();
        let mut raw = Termios::linux_default();
        raw.c_iflag = 0;
        raw.c_lflag = 0;
        raw.c_cc[VMIN] = 3;
        ld.set_termios(raw, false);
        feed(&mut ld, b"\r\x7f");
        let mut buf = [0u8; 8];
        assert_eq!(ld.read(&mut buf), Read::Empty);
        feed(&mut ld, b"\x04");
        assert_eq!(ld.read(&mut buf), Read::Data(3));
        assert_eq!(&buf[..3], b"\r\x7f\x04");
        raw.c_cc[VMIN] = 0;
        ld.set_termios(raw, false);
        assert_eq!(ld.read(&mut buf), Read::Eof);
    }

    #[test]
    fn switching_modes_keeps_the_input() {
        let mut ld = LineDiscipline::new();
        feed(&mut ld, b"part");
        let mut raw = Termios::linux_default();
        raw.c_lflag &= !ICANON;
        ld.set_termios(raw, false);
        let mut buf = [0u8; 8];
        assert_eq!(ld.read(&mut buf), Read::Data(4));
        feed(&mut ld, b"zz");
        ld.set_termios(Termios::linux_default(), false);
        assert_eq!(ld.read(&mut buf), Read::Data(2));
        // TCSETSF flushes.
        feed(&mut ld, b"gone\n");
        ld.set_termios(Termios::linux_default(), true);
        assert_eq!(ld.read(&mut buf), Read::Empty);
    }

    #[test]
    fn word_erase_and_literal_next() {
        let mut ld = LineDiscipline::new();
        feed(&mut ld, b"one two\x17\x16\x03\n");
        let mut buf = [0u8; 16];
        assert_eq!(ld.read(&mut buf), Read::Data(6));
        assert_eq!(&buf[..6], b"one \x03\n");
    }

    #[test]
    fn the_buffer_is_bounded() {
        let mut ld = LineDiscipline::new();
        let long = vec![b'a'; BUF_SIZE * 2];
        feed(&mut ld, &long);
        feed(&mut ld, b"\n");
        let mut buf = vec![0u8; BUF_SIZE * 2];
        assert_eq!(ld.read(&mut buf), Read::Data(BUF_SIZE));
        assert_eq!(buf[BUF_SIZE - 1], b'\n');
        let mut raw = Termios::linux_default();
        raw.c_lflag &= !ICANON;
        ld.set_termios(raw, false);
        assert_eq!(ld.input_room(), BUF_SIZE);
        feed(&mut ld, &long);
        assert_eq!(ld.input_room(), 0);
        assert_eq!(ld.pending(), BUF_SIZE);
    }

    #[test]
    fn flow_control_characters() {
        let mut ld = LineDiscipline::new();
        let mut echo = Vec::new();
        assert_eq!(ld.input(0x13, &mut echo, false), Some(Event::StopOutput));
        assert_eq!(ld.input(b'a', &mut echo, true), None);
        assert_eq!(ld.input(0x11, &mut echo, true), Some(Event::StartOutput));
        // Not input: only the 'a' is in the line.
        ld.input(b'\n', &mut echo, false);
        let mut buf = [0u8; 8];
        assert_eq!(ld.read(&mut buf), Read::Data(2));
        // IXANY: any character restarts; without IXON they are data.
        let mut t = Termios::linux_default();
        t.c_iflag |= IXANY;
        ld.set_termios(t, false);
        assert_eq!(ld.input(b'b', &mut echo, true), Some(Event::StartOutput));
        t.c_iflag &= !IXON;
        ld.set_termios(t, false);
        assert_eq!(ld.input(0x13, &mut echo, false), None);
    }

    #[test]
    fn output_processing() {
        let ld = LineDiscipline::new();
        let mut out = Vec::new();
        ld.output(b"a\nb\r", &mut out);
        assert_eq!(out, b"a\r\nb\r");
        let mut raw = LineDiscipline::new();
        let mut t = Termios::linux_default();
        t.c_oflag &= !OPOST;
        raw.set_termios(t, false);
        out.clear();
        raw.output(b"a\n", &mut out);
        assert_eq!(out, b"a\n");
    }
}
