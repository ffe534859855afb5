//! The end of a process, seen from its parent: reaping a zombie.

use core::sync::atomic::Ordering::Relaxed;
use lamina_proto::frame::ExitStatus;

use super::{with_tables, Tid};

/// Removes the zombie `child` of `parent` from the tree; its CPU time
/// joins the parent's children's time. Returns its status.
pub fn reap_zombie(parent: Tid, child: Tid) -> Option<ExitStatus> {
    let entry = with_tables(|t| {
        let status = t.procs.get(&child)?.zombie?;
        let entry = t.procs.remove(&child)?;
        if let Some(p) = t.procs.get_mut(&parent) {
            p.children.retain(|&c| c != child);
        }
        Some((entry, status))
    });
    let (entry, status) = entry?;
    let parent_group = with_tables(|t| {
        t.procs
            .get(&parent)
            .map(|e| alloc::sync::Arc::clone(&e.group))
    });
    if let Some(group) = parent_group {
        let g = &entry.group;
        group.children_user_ns.fetch_add(
            g.user_ns.load(Relaxed) + g.children_user_ns.load(Relaxed),
            Relaxed,
        );
        group.children_system_ns.fetch_add(
            g.system_ns.load(Relaxed) + g.children_system_ns.load(Relaxed),
            Relaxed,
        );
    }
    Some(status)
}
