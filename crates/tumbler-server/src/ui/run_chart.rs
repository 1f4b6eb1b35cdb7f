//! The overview's chart of recent runs: one bar per run, oldest on the left, its changed
//! (green) and failed or unverified (red) accounts stacked, a grey mark for a run that changed
//! nothing, every bar a link to its run; the axes say what they count.

use super::change_secret::RunLine;

/// The left margin, where the accounts axis and its numbers are.
const LEFT: usize = 44;
/// Where the runs axis is (the bars stand on it).
const BASE: i64 = 130;
/// The tallest bar.
const TALL: i64 = 110;
/// The distance between bars.
const STEP: usize = 24;
/// The height of the mark of a run that changed nothing.
const NOTHING: i64 = 3;

/// One bar: a run's changed and failed accounts, linked to the run.
pub struct Bar {
    /// The run's page.
    pub href: String,
    /// Its left edge.
    pub x: usize,
    /// Where its number under the axis is centred.
    pub number_x: usize,
    /// Its number, 1 for the oldest run shown.
    pub number: usize,
    /// The changed part.
    pub success_y: i64,
    /// Its height.
    pub success_h: i64,
    /// The failed part.
    pub failed_y: i64,
    /// Its height.
    pub failed_h: i64,
    /// The run changed nothing and failed nothing: a grey mark on the axis.
    pub nothing: bool,
    /// What a pointer over it says.
    pub label: String,
}

/// The chart of recent runs.
pub struct RunChart {
    /// One bar per run, oldest first.
    pub bars: Vec<Bar>,
    /// The picture's width.
    pub width: usize,
    /// Where the runs axis ends.
    pub axis_end: usize,
    /// The largest count (top of the accounts axis).
    pub max: i64,
    /// Where the top of the accounts axis is.
    pub top: i64,
    /// Where the runs axis is.
    pub base: i64,
    /// Where the nothing-changed mark starts.
    pub nothing_y: i64,
    /// Its height.
    pub nothing_h: i64,
    /// The left margin.
    pub left: usize,
}

impl RunChart {
    /// The chart of `runs` (newest first, as listed).
    pub fn of(runs: &[RunLine]) -> Self {
        let max = runs
            .iter()
            .map(|r| r.success + r.failed)
            .max()
            .unwrap_or(0)
            .max(1);
        let bars: Vec<Bar> = runs
            .iter()
            .rev()
            .enumerate()
            .map(|(i, r)| {
                let success_h = r.success * TALL / max;
                let failed_h = r.failed * TALL / max;
                let x = LEFT + 8 + i * STEP;
                let nothing = r.success + r.failed == 0;
                Bar {
                    href: format!("/change-secret/executions/{}", r.id),
                    x,
                    number_x: x + 9,
                    number: i + 1,
                    success_y: BASE - success_h,
                    success_h,
                    failed_y: BASE - success_h - failed_h,
                    failed_h,
                    nothing,
                    label: format!(
                        "{} {} ({}): {} changed, {} failed{}",
                        r.task_name,
                        r.started.plain(),
                        r.status.label,
                        r.success,
                        r.failed,
                        if nothing { ", nothing changed" } else { "" }
                    ),
                }
            })
            .collect();
        let axis_end = LEFT + 16 + bars.len() * STEP;
        Self {
            width: axis_end + 10,
            axis_end,
            bars,
            max,
            top: BASE - TALL,
            base: BASE,
            nothing_y: BASE - NOTHING,
            nothing_h: NOTHING,
            left: LEFT,
        }
    }
}
