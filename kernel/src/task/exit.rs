//! The end of threads and processes: a thread leaving the CPU for good,
//! the zombie its process becomes, and its reaping by the parent.

use alloc::boxed::Box;
use alloc::sync::Arc;
use core::sync::atomic::Ordering::Relaxed;
use lamina_abi::flags::{SA_NOCLDWAIT, SIG_IGN};
use lamina_proto::frame::ExitStatus;

use super::signal::{send_to_process, Info, CLD_EXITED, CLD_KILLED, SIGCHLD};
use super::{sched, with_tables, Task, Tid};

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

/// A thread has left the CPU for good: clears its `clear_child_tid` word
/// and wakes a futex waiter there, releases a vfork parent, and, when it
/// was the process's last thread, makes the process a zombie for its
/// parent (whose children pass to PID 1), with SIGCHLD.
pub fn reap_thread(mut task: Box<Task>) {
    let tid = task.tid;
    let pid = task.group.pid;
    let status = task.group.exiting().unwrap_or(ExitStatus::Exited(0));
    if task.clear_child_tid != 0 && Arc::strong_count(&task.mem) > 1 {
        let addr = task.clear_child_tid;
        let written = task.mem.space.lock().copy_out(addr, &0u32.to_le_bytes());
        if written.is_ok() {
            crate::syscall::futex_wake_address(&task.mem, addr, 1);
        }
    }
    if let Some(parent) = task.vfork_parent.take() {
        sched::wake(parent);
    }
    let ended = with_tables(|t| {
        t.current = 0;
        t.task_count = t.task_count.saturating_sub(1);
        let entry = t.procs.get_mut(&pid)?;
        entry.threads.retain(|&x| x != tid);
        if !entry.threads.is_empty() {
            return None;
        }
        entry.zombie = Some(status);
        let parent = entry.parent;
        let exit_signal = entry.exit_signal;
        let children = core::mem::take(&mut entry.children);
        // Orphans go to PID 1 (the container's init), zombies included.
        let mut init_has_zombie = false;
        for child in &children {
            if let Some(c) = t.procs.get_mut(child) {
                c.parent = 1;
                init_has_zombie |= c.zombie.is_some();
            }
        }
        if pid != 1 {
            if let Some(init) = t.procs.get_mut(&1) {
                init.children.extend(children);
            }
        }
        let parent_group = t.procs.get(&parent).map(|e| Arc::clone(&e.group));
        let init_group = t.procs.get(&1).map(|e| Arc::clone(&e.group));
        Some((
            parent,
            exit_signal,
            parent_group,
            init_has_zombie.then_some(init_group).flatten(),
        ))
    });
    // The address space goes with its last thread (its drop moves the
    // CPU to the kernel's own tables first).
    if Arc::strong_count(&task.mem) == 1 {
        sched::forget_memory(Arc::as_ptr(&task.mem));
    }
    let group = Arc::clone(&task.group);
    drop(task);
    let Some((parent, exit_signal, parent_group, init_group)) = ended else {
        return;
    };
    crate::syscall::ipc::process_ended(pid);
    // A session leader's end hangs up its controlling terminal.
    crate::fs::tty::process_exited(pid);
    crate::syscall::process_exited();
    if let Some(init) = init_group {
        init.child_events.wake_all();
    }
    let Some(parent_group) = parent_group else {
        return;
    };
    // A parent that ignores SIGCHLD (or asked SA_NOCLDWAIT) leaves no
    // zombies: the child is reaped at once.
    let auto_reap = with_tables(|t| {
        t.procs
            .get(&parent)
            .and_then(|e| e.threads.first().copied())
            .and_then(|tid| t.tasks.get(&tid).map(|task| Arc::clone(&task.sigactions)))
    })
    .is_some_and(|actions| {
        let chld = actions.lock()[usize::from(SIGCHLD) - 1];
        chld.handler == SIG_IGN || chld.flags & SA_NOCLDWAIT != 0
    });
    if auto_reap {
        reap_zombie(parent, pid);
    } else if exit_signal != 0 {
        let (code, value) = match status {
            ExitStatus::Exited(code) => (CLD_EXITED, i32::from(code)),
            ExitStatus::Signaled(sig) => (CLD_KILLED, i32::from(sig)),
            ExitStatus::OutOfMemory | ExitStatus::KernelPanic => (CLD_KILLED, 9),
        };
        let info = Info {
            code,
            pid,
            status: value,
            ..Info::default()
        };
        let _ = send_to_process(parent, exit_signal, info, None);
    }
    let _ = group;
    parent_group.child_events.wake_all();
}
