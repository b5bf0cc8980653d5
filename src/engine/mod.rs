//! The analysis engine: the thread that turns samples into events.
