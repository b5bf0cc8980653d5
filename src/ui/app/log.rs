//! The log panel's state: its lines, newest last, and how far the view is scrolled.

use std::collections::VecDeque;

use super::LogEntry;

/// Log lines kept in memory (the session keeps everything; the oldest go first).
const MAX_LOG: usize = 5000;

#[derive(Debug, Clone, Default)]
pub struct LogState {
    entries: VecDeque<LogEntry>,
    /// Lines scrolled up from the newest (0: the newest are in view).
    scroll: usize,
    /// Lines the panel shows, set by the drawing code (for page scrolling).
    pub page: usize,
}

impl LogState {
    /// An empty log whose panel shows `page` lines until the drawing code says.
    pub fn with_page(page: usize) -> LogState {
        LogState {
            page,
            ..LogState::default()
        }
    }

    /// Adds a line. A view scrolled up keeps showing the same lines.
    pub fn push(&mut self, entry: LogEntry) {
        self.entries.push_back(entry);
        if self.scroll > 0 {
            self.scroll += 1;
        }
        while self.entries.len() > MAX_LOG {
            self.entries.pop_front();
        }
        self.scroll = self.scroll.min(self.entries.len().saturating_sub(1));
    }

    pub fn entries(&self) -> &VecDeque<LogEntry> {
        &self.entries
    }

    pub fn iter(&self) -> impl Iterator<Item = &LogEntry> {
        self.entries.iter()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Lines scrolled up from the newest.
    pub fn scroll(&self) -> usize {
        self.scroll
    }

    /// Scrolls up (`lines` > 0) or down, never past the oldest page or the newest line.
    pub fn scroll_by(&mut self, lines: isize) {
        let max = self.entries.len().saturating_sub(self.page.max(1));
        self.scroll = self.scroll.saturating_add_signed(lines).min(max);
    }

    /// A page up (towards older lines).
    pub fn page_up(&mut self) {
        self.scroll_by(self.page.max(1) as isize);
    }

    /// A page down (towards newer lines).
    pub fn page_down(&mut self) {
        self.scroll_by(-(self.page.max(1) as isize));
    }

    /// Back to the newest line.
    pub fn to_newest(&mut self) {
        self.scroll = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::app::LogKind;

    fn line(i: usize) -> LogEntry {
        LogEntry {
            t: i as f64,
            kind: LogKind::Info,
            text: format!("line {i}"),
        }
    }

    #[test]
    fn the_oldest_lines_go_first_and_a_scrolled_view_stays_on_its_lines() {
        let mut log = LogState::with_page(10);
        for i in 0..MAX_LOG {
            log.push(line(i));
        }
        log.scroll_by(20);
        let shown = log.entries()[log.len() - 1 - log.scroll()].text.clone();
        log.push(line(MAX_LOG));
        assert_eq!(log.len(), MAX_LOG);
        assert_eq!(log.iter().next().map(|e| e.text.as_str()), Some("line 1"));
        assert_eq!(log.entries()[log.len() - 1 - log.scroll()].text, shown);
        log.to_newest();
        assert_eq!(log.scroll(), 0);
    }
}
