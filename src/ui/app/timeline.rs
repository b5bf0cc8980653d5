//! The timeline panel's state: a point per window, the pauses, and the zoom.

use std::collections::VecDeque;

use super::Point;

/// Timeline points kept: 12 hours at a 0.5 s hop.
const MAX_TIMELINE: usize = 86_400;

/// Seconds per timeline cell at each zoom step.
pub const ZOOM_STEPS: [f64; 8] = [0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0];

/// Default zoom: 2 s a cell, about two minutes at 80 columns.
const DEFAULT_ZOOM: usize = 2;

#[derive(Debug, Clone)]
pub struct TimelineState {
    points: VecDeque<Point>,
    /// Session times at which the display was paused and resumed (gaps in the strip).
    pauses: Vec<(f64, Option<f64>)>,
    zoom: usize,
}

impl Default for TimelineState {
    fn default() -> Self {
        TimelineState {
            points: VecDeque::new(),
            pauses: Vec::new(),
            zoom: DEFAULT_ZOOM,
        }
    }
}

impl TimelineState {
    /// A window's point (the oldest go past 12 hours).
    pub fn push(&mut self, point: Point) {
        self.points.push_back(point);
        while self.points.len() > MAX_TIMELINE {
            self.points.pop_front();
        }
    }

    pub fn points(&self) -> &VecDeque<Point> {
        &self.points
    }

    /// The display paused at session time `t`.
    pub fn paused_at(&mut self, t: f64) {
        self.pauses.push((t, None));
    }

    /// The display resumed at session time `t`.
    pub fn resumed_at(&mut self, t: f64) {
        if let Some(last) = self.pauses.last_mut() {
            last.1 = Some(t);
        }
    }

    pub fn pauses(&self) -> &[(f64, Option<f64>)] {
        &self.pauses
    }

    /// Fewer seconds per cell.
    pub fn zoom_in(&mut self) {
        self.zoom = self.zoom.saturating_sub(1);
    }

    /// More seconds per cell.
    pub fn zoom_out(&mut self) {
        self.zoom = (self.zoom + 1).min(ZOOM_STEPS.len() - 1);
    }

    pub fn seconds_per_cell(&self) -> f64 {
        ZOOM_STEPS[self.zoom.min(ZOOM_STEPS.len() - 1)]
    }
}
