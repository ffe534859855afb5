//! The descriptor kinds that are not files, against Linux
//! (tests/workloads/fdkinds.c): eventfd, timerfd, signalfd, memfd with its
//! seals, POSIX timers, and an epoll loop over an eventfd, a timerfd and a
//! signalfd together; errnos included.

use super::*;

#[test]
fn fdkinds_match_linux() {
    let w = workloads();
    on_targets(Depth::Full, |target| {
        [CBuild::MuslStatic, CBuild::GlibcStatic]
            .iter()
            .try_for_each(|&build| assert_same_as_native(target, &w.c("fdkinds", build), &[], &[]))
    });
}
