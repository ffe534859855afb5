//! Tasks and waiting. One task runs today (the workload); the wait
//! mechanism is the one every blocking call uses, so that the scheduler
//! that comes with processes replaces its inside, not its callers.

pub mod wait;
