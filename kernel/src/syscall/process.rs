//! Processes and threads: clone/fork/vfork, execve, exit, wait, process
//! groups and sessions, kill, futex, times, prctl, alarms.

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;
use lamina_abi::errno::Errno;
use lamina_abi::flags::*;
use lamina_abi::types::StackT;
use lamina_proto::frame::ExitStatus;
use spin::Mutex;

use super::{Flow, SysResult};
use crate::exec;
use crate::fs::vfs::{self, Last, PATH_MAX};
use crate::process::{Image, LoadError, Process};
use crate::task::signal::{self as sig, Info};
use crate::task::wait::{block_on, WaitQueue};
use crate::task::{
    self, read_tables, sched, with_tables, FsContext, Group, Memory, ProcEntry, State, Task, Tid,
};
use crate::time;

pub const CLONE_VM: u64 = 0x100;
pub const CLONE_FS: u64 = 0x200;
pub const CLONE_FILES: u64 = 0x400;
pub const CLONE_SIGHAND: u64 = 0x800;
pub const CLONE_PIDFD: u64 = 0x1000;
pub const CLONE_PTRACE: u64 = 0x2000;
pub const CLONE_VFORK: u64 = 0x4000;
pub const CLONE_PARENT: u64 = 0x8000;
pub const CLONE_THREAD: u64 = 0x10000;
pub const CLONE_NEWNS: u64 = 0x20000;
pub const CLONE_SYSVSEM: u64 = 0x40000;
pub const CLONE_SETTLS: u64 = 0x80000;
pub const CLONE_PARENT_SETTID: u64 = 0x100000;
pub const CLONE_CHILD_CLEARTID: u64 = 0x200000;
pub const CLONE_DETACHED: u64 = 0x400000;
pub const CLONE_UNTRACED: u64 = 0x800000;
pub const CLONE_CHILD_SETTID: u64 = 0x1000000;
/// Namespace flags (and cgroup, io): refused (a container has them made).
const CLONE_NAMESPACES: u64 = 0x0200_0000
    | 0x0400_0000
    | 0x0800_0000
    | 0x1000_0000
    | 0x2000_0000
    | 0x4000_0000
    | 0x8000_0000
    | CLONE_NEWNS
    | 0x80;

/// The flags lamina honours or may ignore (CLONE_SYSVSEM, CLONE_DETACHED,
/// CLONE_UNTRACED, CLONE_PTRACE have nothing to do here).
const CLONE_KNOWN: u64 = 0xff
    | CLONE_VM
    | CLONE_FS
    | CLONE_FILES
    | CLONE_SIGHAND
    | CLONE_PTRACE
    | CLONE_VFORK
    | CLONE_PARENT
    | CLONE_THREAD
    | CLONE_SYSVSEM
    | CLONE_SETTLS
    | CLONE_PARENT_SETTID
    | CLONE_CHILD_CLEARTID
    | CLONE_DETACHED
    | CLONE_UNTRACED
    | CLONE_CHILD_SETTID;

/// Kernel heap kept free when a task is created (a task with its tables
/// takes a few KiB; the rest serves the existing tasks' growth).
const HEAP_RESERVE: usize = 512 * 1024;

pub fn fork(p: &mut Process) -> SysResult {
    clone(p, u64::from(sig::SIGCHLD), 0, 0, 0, 0)
}

pub fn vfork(p: &mut Process) -> SysResult {
    clone(
        p,
        CLONE_VM | CLONE_VFORK | u64::from(sig::SIGCHLD),
        0,
        0,
        0,
        0,
    )
}

/// `clone3(args, size)`: `struct clone_args` (at least its first 64 bytes).
pub fn clone3(p: &mut Process, args: u64, size: u64) -> SysResult {
    const CLONE_ARGS_SIZE_VER0: u64 = 64;
    const CLONE_ARGS_MAX: u64 = 4096;
    if !(CLONE_ARGS_SIZE_VER0..=CLONE_ARGS_MAX).contains(&size) {
        return Err(Errno::EINVAL);
    }
    let mut raw = [0u8; 88];
    let n = (size as usize).min(raw.len());
    p.mm.copy_in(args, &mut raw[..n])?;
    let word = |i: usize| u64::from_le_bytes(raw[i * 8..i * 8 + 8].try_into().expect("8 bytes"));
    let (flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls) = (
        word(0),
        word(1),
        word(2),
        word(3),
        word(4),
        word(5),
        word(6),
        word(7),
    );
    // `pidfd` is read only with CLONE_PIDFD, which lamina does not have.
    let _ = pidfd;
    if flags & CLONE_PIDFD != 0 || flags & 0xff != 0 || exit_signal > 64 {
        return Err(Errno::EINVAL);
    }
    // set_tid (word 8) and cgroup (word 10) are not supported.
    if n > 72 && word(9) != 0 {
        return Err(Errno::EINVAL);
    }
    let stack_top = if stack != 0 { stack + stack_size } else { 0 };
    clone(
        p,
        flags | exit_signal,
        stack_top,
        parent_tid,
        child_tid,
        tls,
    )
}

/// `clone(flags, stack, parent_tid, child_tid, tls)` (the x86_64 order).
pub fn clone(
    p: &mut Process,
    flags: u64,
    stack: u64,
    parent_tid: u64,
    child_tid: u64,
    tls: u64,
) -> SysResult {
    if p.restart.again && p.restart.value != 0 {
        return vfork_wait(p);
    }
    if flags & CLONE_NAMESPACES & !CLONE_KNOWN != 0 {
        return Err(Errno::EPERM);
    }
    if flags & !CLONE_KNOWN != 0 {
        return Err(Errno::EINVAL);
    }
    if (flags & CLONE_THREAD != 0 && flags & CLONE_SIGHAND == 0)
        || (flags & CLONE_SIGHAND != 0 && flags & CLONE_VM == 0)
    {
        return Err(Errno::EINVAL);
    }
    let thread = flags & CLONE_THREAD != 0;
    let exit_signal = if thread { 0 } else { (flags & 0xff) as u8 };
    if exit_signal > 64 {
        return Err(Errno::EINVAL);
    }
    // Linux's answer when the thread limit is reached; the kernel heap
    // (fixed size) must keep room for the tasks that exist.
    let limit = task::max_tasks();
    let (tid, over) = with_tables(|t| (t.alloc_tid(), t.task_count >= limit));
    if over || crate::mm::heap::free_bytes() < HEAP_RESERVE {
        return Err(Errno::EAGAIN);
    }

    if flags & CLONE_PARENT_SETTID != 0 {
        p.mm.copy_out(parent_tid, &tid.to_le_bytes())?;
    }
    let mem = if flags & CLONE_VM != 0 {
        Arc::clone(&p.task.mem)
    } else {
        let space = p.mm.fork()?;
        let mem = Memory::new(space);
        *mem.shared.lock() = p.shared_maps.clone();
        mem
    };
    if flags & CLONE_CHILD_SETTID != 0 {
        if flags & CLONE_VM != 0 {
            p.mm.copy_out(child_tid, &tid.to_le_bytes())?;
        } else {
            mem.space.lock().copy_out(child_tid, &tid.to_le_bytes())?;
        }
    }
    let files = if flags & CLONE_FILES != 0 {
        Arc::clone(&p.task.files)
    } else {
        Arc::new(Mutex::new(p.fds.clone()))
    };
    let fs = if flags & CLONE_FS != 0 {
        Arc::clone(&p.task.fs)
    } else {
        Arc::new(Mutex::new(FsContext::clone(&p.fs)))
    };
    let sigactions = if flags & CLONE_SIGHAND != 0 {
        Arc::clone(&p.task.sigactions)
    } else {
        Arc::new(Mutex::new(*p.task.sigactions.lock()))
    };
    let group = if thread {
        Arc::clone(&p.task.group)
    } else {
        let g = &p.task.group;
        let child = Group::new(
            tid,
            g.exe_path.lock().clone(),
            g.cmdline.lock().clone(),
            *g.rlimits.lock(),
        );
        *child.comm.lock() = g.comm.lock().clone();
        *child.creds.lock() = g.creds.lock().clone();
        child.personality.store(
            g.personality.load(core::sync::atomic::Ordering::Relaxed),
            core::sync::atomic::Ordering::Relaxed,
        );
        child
    };

    // The child resumes after the `syscall` with 0 in rax; the FPU state
    // is the parent's as it is in the CPU now.
    let mut ctx = p.task.ctx.clone();
    ctx.rax = 0;
    if stack != 0 {
        ctx.rsp = stack;
    }
    let mut fpu = Box::new(crate::arch::user::FpuState::initial());
    fpu.save();
    let altstack = if flags & CLONE_VM != 0 && flags & CLONE_VFORK == 0 {
        StackT {
            ss_flags: SS_DISABLE,
            ..StackT::default()
        }
    } else {
        p.task.altstack
    };
    let child = Box::new(Task {
        tid,
        group: Arc::clone(&group),
        ctx,
        fpu,
        fs_base: if flags & CLONE_SETTLS != 0 {
            tls
        } else {
            p.task.fs_base
        },
        gs_base: p.task.gs_base,
        sigmask: p.task.sigmask,
        pending: 0,
        saved_sigmask: None,
        altstack,
        clear_child_tid: if flags & CLONE_CHILD_CLEARTID != 0 {
            child_tid
        } else {
            0
        },
        robust_list: (0, 0),
        rseq: None,
        mem,
        files,
        fs,
        sigactions,
        state: State::Runnable,
        in_syscall: false,
        restart: Default::default(),
        vfork_parent: (flags & CLONE_VFORK != 0).then_some(p.task.tid),
        mark_tsc: 0,
        yield_after_call: false,
    });
    let me = p.task.pid();
    with_tables(|t| {
        if thread {
            if let Some(entry) = t.procs.get_mut(&me) {
                entry.threads.push(tid);
            }
        } else {
            let (parent, pgid, sid) = match t.procs.get(&me) {
                Some(e) if flags & CLONE_PARENT != 0 => (e.parent, e.pgid, e.sid),
                Some(e) => (me, e.pgid, e.sid),
                None => (me, me, me),
            };
            t.procs.insert(
                tid,
                ProcEntry {
                    parent,
                    pgid,
                    sid,
                    children: Vec::new(),
                    threads: alloc::vec![tid],
                    group,
                    exit_signal,
                    zombie: None,
                    report: None,
                },
            );
            if let Some(entry) = t.procs.get_mut(&parent) {
                entry.children.push(tid);
            }
        }
        t.task_count += 1;
        t.tasks.insert(tid, child);
        t.run_queue.push_back(tid);
    });
    if flags & CLONE_VFORK != 0 {
        // The parent waits (not interruptibly) until the child execs or
        // exits; then this call runs again and returns the child's tid.
        p.restart.value = u64::from(tid);
        return Err(Errno::ERESTARTSYS);
    }
    Ok(u64::from(tid))
}

fn vfork_wait(p: &mut Process) -> SysResult {
    let child = p.restart.value as Tid;
    let waiting = with_tables(|t| {
        t.tasks
            .get(&child)
            .is_some_and(|c| c.vfork_parent.is_some())
    });
    if waiting {
        return Err(Errno::ERESTARTSYS);
    }
    Ok(u64::from(child))
}

/// The most a path, an argument or an environment string may be.
const MAX_ARG_STRLEN: usize = 128 * 1024;
/// The whole of argv + envp (Linux: a quarter of the 8 MiB stack).
const MAX_ARG_TOTAL: usize = 2 << 20;

/// What argv + envp may take here: Linux's 2 MiB, or less when the fixed
/// kernel heap could not hold them twice over (they are read in, then laid
/// out as the new stack): E2BIG then, never an allocation failure.
fn arg_budget() -> usize {
    MAX_ARG_TOTAL.min(crate::mm::heap::free_bytes() / 3)
}
const MAX_ARGS: usize = 0x7fff_ffff;

/// A NULL-terminated array of string pointers from user memory.
fn read_strings(p: &mut Process, mut array: u64, total: &mut usize) -> Result<Vec<Vec<u8>>, Errno> {
    let mut out = Vec::new();
    if array == 0 {
        return Ok(out);
    }
    loop {
        let ptr = p.mm.read_u64(array)?;
        if ptr == 0 {
            return Ok(out);
        }
        let s = p.mm.read_cstr(ptr, MAX_ARG_STRLEN).map_err(|e| match e {
            Errno::ENAMETOOLONG => Errno::E2BIG,
            e => e,
        })?;
        *total += s.len() + 1 + 8;
        if *total > arg_budget() || out.len() >= MAX_ARGS {
            return Err(Errno::E2BIG);
        }
        out.push(s);
        array += 8;
    }
}

/// How deep `#!` interpreters may nest (Linux: 4).
const MAX_INTERPRETER_DEPTH: usize = 4;
/// Linux reads at most this much of a `#!` line.
const SHEBANG_MAX: usize = 256;

/// The program `path` names, following `#!` lines: the ELF to load and
/// the arguments it gets.
fn find_program(
    p: &mut Process,
    path: &[u8],
    mut argv: Vec<Vec<u8>>,
    depth: usize,
) -> Result<(exec::Program, Vec<Vec<u8>>), Errno> {
    let cwd = p.fs.cwd.clone();
    let found = match vfs::resolve(&cwd, path, Last::Follow, p) {
        Ok(found) => found,
        Err(Errno::ENOENT) => {
            let exe = p.task.group.exe_path.lock().clone();
            let program = if path == b"/proc/self/exe" {
                exec::boot_program(&exe)
            } else {
                exec::boot_program(path)
            };
            return program.map(|prog| (prog, argv)).ok_or(Errno::ENOENT);
        }
        Err(e) => return Err(e),
    };
    // Execute permission for the caller's ids (a script's interpreter too).
    if found.node.kind() == vfs::NodeKind::Regular {
        super::cred::check_access(p, &found.node, lamina_abi::cred::MAY_EXEC)?;
    }
    let image = exec::read_image(&found).map_err(|e| match e {
        exec::ExecError::NotFound => Errno::ENOENT,
        exec::ExecError::NotExecutable(_) => Errno::EACCES,
        exec::ExecError::Io(e) => e,
    })?;
    if image.starts_with(b"#!") {
        if depth >= MAX_INTERPRETER_DEPTH {
            return Err(Errno::ELOOP);
        }
        let line = &image[2..image.len().min(SHEBANG_MAX)];
        let end = line.iter().position(|&b| b == b'\n').unwrap_or(line.len());
        let line = trim(&line[..end]);
        if line.is_empty() {
            return Err(Errno::ENOEXEC);
        }
        let split = line.iter().position(|&b| b == b' ' || b == b'\t');
        let (interp, arg) = match split {
            Some(i) => (&line[..i], trim(&line[i..])),
            None => (line, &b""[..]),
        };
        let mut new_argv = alloc::vec![interp.to_vec()];
        if !arg.is_empty() {
            new_argv.push(arg.to_vec());
        }
        new_argv.push(path.to_vec());
        new_argv.extend(argv.drain(..).skip(1));
        return find_program(p, interp, new_argv, depth + 1);
    }
    let elf = lamina_elf::Elf::parse_dynamic(image).map_err(|_| Errno::ENOEXEC)?;
    let interpreter = match elf.interpreter() {
        None => None,
        Some(interp_path) => {
            let interp = vfs::resolve(b"/", interp_path, Last::Follow, p)?;
            let interp_image = exec::read_image(&interp).map_err(|_| Errno::EACCES)?;
            lamina_elf::Elf::parse(interp_image).map_err(|_| Errno::ENOEXEC)?;
            Some(interp_image)
        }
    };
    Ok((
        exec::Program {
            path: found.path,
            image,
            interpreter,
        },
        argv,
    ))
}

fn trim(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t' && b != b'\r')
        .map_or(start, |i| i + 1);
    &bytes[start..end.max(start)]
}

pub fn execve(p: &mut Process, path: u64, argv: u64, envp: u64) -> SysResult {
    execveat(p, super::CWD, path, argv, envp, 0)
}

pub fn execveat(
    p: &mut Process,
    dirfd: u64,
    path: u64,
    argv: u64,
    envp: u64,
    flags: u64,
) -> SysResult {
    const AT_EMPTY_PATH: u64 = 0x1000;
    if flags & !(AT_EMPTY_PATH | u64::from(AT_SYMLINK_NOFOLLOW)) != 0 {
        return Err(Errno::EINVAL);
    }
    let mut name = p.mm.read_cstr(path, PATH_MAX)?;
    if name.is_empty() {
        if flags & AT_EMPTY_PATH == 0 {
            return Err(Errno::ENOENT);
        }
        name = p.fds.file(dirfd)?.path.clone();
    } else if name[0] != b'/' && dirfd != super::CWD {
        let mut dir = p.fds.file(dirfd)?.path.clone();
        dir.push(b'/');
        dir.extend_from_slice(&name);
        name = dir;
    }
    let mut total = 0;
    let argv = read_strings(p, argv, &mut total)?;
    let envp = read_strings(p, envp, &mut total)?;
    let (program, argv) = find_program(p, &name, argv, 0)?;
    let mut creds = p.task.group.creds.lock().clone();
    creds.exec();
    let argv_refs: Vec<&[u8]> = argv.iter().map(Vec::as_slice).collect();
    let envp_refs: Vec<&[u8]> = envp.iter().map(Vec::as_slice).collect();
    let image = Image::load(
        program.image,
        program.interpreter,
        &argv_refs,
        &envp_refs,
        &program.path,
        &creds,
    )
    .map_err(|e| match e {
        LoadError::Elf(_) | LoadError::BelowMinAddress(_) => Errno::ENOEXEC,
        LoadError::Memory(e) => e,
    })?;

    // No way back from here: the old program is gone.
    end_other_threads(p.task);
    let mem = Memory::new(image.mm);
    sched::load_memory(&mem);
    p.task.mem = mem;
    p.fds.close_on_exec();
    // POSIX timers do not survive execve (Linux's exit_itimers).
    p.task.group.posix_timers.lock().clear();
    let task = &mut *p.task;
    let actions = {
        let mut actions = *task.sigactions.lock();
        for action in actions.iter_mut() {
            if action.handler != SIG_IGN {
                *action = Default::default();
            }
        }
        actions
    };
    task.sigactions = Arc::new(Mutex::new(actions));
    task.altstack = StackT {
        ss_flags: SS_DISABLE,
        ..StackT::default()
    };
    task.saved_sigmask = None;
    task.robust_list = (0, 0);
    task.rseq = None;
    task.clear_child_tid = 0;
    task.fs_base = 0;
    task.gs_base = 0;
    crate::arch::user::set_fs_base(0);
    crate::arch::user::set_gs_base(0);
    *task.fpu = crate::arch::user::FpuState::initial();
    task.fpu.restore();
    task.ctx = image.ctx;
    *task.group.comm.lock() = task::comm_of(&program.path);
    *task.group.exe_path.lock() = program.path;
    *task.group.creds.lock() = creds;
    *task.group.cmdline.lock() = argv
        .iter()
        .flat_map(|arg| arg.iter().copied().chain([0]))
        .collect();
    if let Some(parent) = task.vfork_parent.take() {
        sched::wake(parent);
    }
    Ok(0)
}

/// execve in a process with several threads: the others end at once.
fn end_other_threads(task: &mut Task) {
    let pid = task.pid();
    let others: Vec<Box<Task>> = with_tables(|t| {
        let Some(entry) = t.procs.get_mut(&pid) else {
            return Vec::new();
        };
        let others: Vec<Tid> = entry
            .threads
            .iter()
            .copied()
            .filter(|&x| x != task.tid)
            .collect();
        entry.threads.retain(|&x| x == task.tid);
        let mut removed = Vec::new();
        for tid in others {
            if let Some(other) = t.tasks.remove(&tid) {
                t.task_count = t.task_count.saturating_sub(1);
                removed.push(other);
            }
        }
        removed
    });
    drop(others);
}

/// `exit`: ends the calling thread (the process, when it is the last).
pub fn exit(task: &mut Task, code: u64) -> Flow {
    let last = with_tables(|t| {
        t.procs
            .get(&task.pid())
            .is_none_or(|e| e.threads.len() <= 1)
    });
    if last {
        task.group.begin_exit(ExitStatus::Exited(code as u8));
    }
    Flow::Exit
}

/// `exit_group`: ends every thread of the process.
pub fn exit_group(task: &mut Task, code: u64) -> Flow {
    sig::kill_group(&task.group, ExitStatus::Exited(code as u8));
    Flow::Exit
}

const WUNTRACED_: u64 = WUNTRACED;
const WEXITED: u64 = 4;
const WCONTINUED: u64 = 8;
const WNOWAIT: u64 = 0x0100_0000;
const WNOTHREAD: u64 = 0x2000_0000;
const WALL: u64 = 0x4000_0000;
const WCLONE: u64 = 0x8000_0000;

/// Which children a wait is for.
#[derive(Clone, Copy)]
enum Which {
    Any,
    Pid(Tid),
    Pgid(Tid),
    /// The caller's own process group.
    OwnGroup,
}

/// The status word wait4 reports for `status`.
pub fn wait_status(status: ExitStatus) -> u32 {
    match status {
        ExitStatus::Exited(code) => u32::from(code) << 8,
        ExitStatus::Signaled(signo) => u32::from(signo),
        ExitStatus::OutOfMemory | ExitStatus::KernelPanic => u32::from(sig::SIGKILL_),
    }
}

/// What a wait reports of a child.
#[derive(Clone, Copy)]
enum Event {
    Exited(ExitStatus),
    Stopped(u8),
    Continued,
}

impl Event {
    /// The status word of wait4.
    fn status(self) -> u32 {
        match self {
            Self::Exited(status) => wait_status(status),
            Self::Stopped(signo) => (u32::from(signo) << 8) | 0x7f,
            Self::Continued => 0xffff,
        }
    }
}

/// Finds a child matching `which` with something to report: its end, or
/// (when asked) a stop or continue. A zombie is reaped and a report taken
/// unless `keep`. Ok(None): there are matching children, none to report;
/// ECHILD: none.
fn find_event(
    me: Tid,
    which: Which,
    stops: bool,
    continues: bool,
    keep: bool,
) -> Result<Option<(Tid, Event)>, Errno> {
    let found = with_tables(|t| {
        let entry = t.procs.get(&me).ok_or(Errno::ECHILD)?;
        let own_pgid = entry.pgid;
        let mut any = false;
        let mut found = None;
        for &child in &entry.children {
            let Some(c) = t.procs.get(&child) else {
                continue;
            };
            let matches = match which {
                Which::Any => true,
                Which::Pid(pid) => child == pid,
                Which::Pgid(pgid) => c.pgid == pgid,
                Which::OwnGroup => c.pgid == own_pgid,
            };
            if !matches {
                continue;
            }
            any = true;
            if let Some(status) = c.zombie {
                found = Some((child, Event::Exited(status)));
                break;
            }
            match c.report {
                Some(task::StopReport::Stopped(signo)) if stops => {
                    found = Some((child, Event::Stopped(signo)));
                    break;
                }
                Some(task::StopReport::Continued) if continues => {
                    found = Some((child, Event::Continued));
                    break;
                }
                _ => {}
            }
        }
        if let Some((child, Event::Stopped(_) | Event::Continued)) = found {
            if !keep {
                if let Some(c) = t.procs.get_mut(&child) {
                    c.report = None;
                }
            }
        }
        match (found, any) {
            (Some(found), _) => Ok(Some(found)),
            (None, true) => Ok(None),
            (None, false) => Err(Errno::ECHILD),
        }
    })?;
    if let Some((child, Event::Exited(_))) = found {
        if !keep {
            task::exit::reap_zombie(me, child);
        }
    }
    Ok(found)
}

pub fn wait4(p: &mut Process, pid: u64, status: u64, options: u64, rusage: u64) -> SysResult {
    if options & !(WNOHANG | WUNTRACED_ | WCONTINUED | WNOTHREAD | WALL | WCLONE) != 0 {
        return Err(Errno::EINVAL);
    }
    // pid_t is an int: the register's upper half is not part of it.
    let which = match pid as i32 {
        -1 => Which::Any,
        0 => Which::OwnGroup,
        x if x > 0 => Which::Pid(x as Tid),
        i32::MIN => return Err(Errno::ESRCH),
        x => Which::Pgid(x.unsigned_abs()),
    };
    let stops = options & WUNTRACED_ != 0;
    let continues = options & WCONTINUED != 0;
    match find_event(p.task.pid(), which, stops, continues, false)? {
        Some((child, event)) => {
            if status != 0 {
                p.mm.copy_out(status, &event.status().to_le_bytes())?;
            }
            if rusage != 0 {
                p.mm.copy_out(rusage, &[0u8; RUSAGE_LEN])?;
            }
            Ok(u64::from(child))
        }
        None if options & WNOHANG != 0 => Ok(0),
        None => Err(block_on(p.task.tid, &[&p.task.group.child_events])),
    }
}

pub fn waitid(p: &mut Process, idtype: u64, id: u64, infop: u64, options: u64) -> SysResult {
    const P_ALL: u64 = 0;
    const P_PID: u64 = 1;
    const P_PGID: u64 = 2;
    if options
        & !(WNOHANG | WUNTRACED_ | WEXITED | WCONTINUED | WNOWAIT | WNOTHREAD | WALL | WCLONE)
        != 0
        || options & (WEXITED | WUNTRACED_ | WCONTINUED) == 0
    {
        return Err(Errno::EINVAL);
    }
    let which = match idtype {
        P_ALL => Which::Any,
        P_PID => Which::Pid(id as u32),
        P_PGID if id as u32 == 0 => Which::OwnGroup,
        P_PGID => Which::Pgid(id as u32),
        _ => return Err(Errno::EINVAL),
    };
    let stops = options & WUNTRACED_ != 0;
    let continues = options & WCONTINUED != 0;
    match find_event(
        p.task.pid(),
        which,
        stops,
        continues,
        options & WNOWAIT != 0,
    )? {
        Some((child, event)) => {
            if infop != 0 {
                use lamina_abi::signal::{CLD_CONTINUED, CLD_STOPPED};
                let (code, value) = match event {
                    Event::Exited(ExitStatus::Exited(c)) => (sig::CLD_EXITED, i32::from(c)),
                    Event::Exited(ExitStatus::Signaled(s)) => (sig::CLD_KILLED, i32::from(s)),
                    Event::Exited(_) => (sig::CLD_KILLED, i32::from(sig::SIGKILL_)),
                    Event::Stopped(s) => (CLD_STOPPED, i32::from(s)),
                    Event::Continued => (CLD_CONTINUED, i32::from(sig::SIGCONT)),
                };
                let info = lamina_abi::signal::SigInfo::child(code, child as i32, 0, value, 0, 0);
                let mut bytes = info.to_bytes();
                bytes[0..4].copy_from_slice(&u32::from(sig::SIGCHLD).to_le_bytes());
                p.mm.copy_out(infop, &bytes)?;
            }
            Ok(0)
        }
        None if options & WNOHANG != 0 => {
            if infop != 0 {
                p.mm.copy_out(infop, &[0u8; 128])?;
            }
            Ok(0)
        }
        None => Err(block_on(p.task.tid, &[&p.task.group.child_events])),
    }
}

pub fn getppid(task: &Task) -> SysResult {
    let me = task.pid();
    Ok(u64::from(read_tables(|t| {
        t.procs.get(&me).map_or(0, |e| e.parent)
    })))
}

/// The process `pid` (0: the caller), or ESRCH.
fn target_pid(p: &Process, pid: u64) -> Result<Tid, Errno> {
    let pid = pid as i32;
    if pid < 0 {
        return Err(Errno::EINVAL);
    }
    let pid = if pid == 0 { p.task.pid() } else { pid as Tid };
    read_tables(|t| t.procs.contains_key(&pid))
        .then_some(pid)
        .ok_or(Errno::ESRCH)
}

pub fn getpgid(p: &mut Process, pid: u64) -> SysResult {
    let pid = target_pid(p, pid)?;
    Ok(u64::from(read_tables(|t| {
        t.procs.get(&pid).map_or(0, |e| e.pgid)
    })))
}

pub fn getsid(p: &mut Process, pid: u64) -> SysResult {
    let pid = target_pid(p, pid)?;
    Ok(u64::from(read_tables(|t| {
        t.procs.get(&pid).map_or(0, |e| e.sid)
    })))
}

pub fn setpgid(p: &mut Process, pid: u64, pgid: u64) -> SysResult {
    let (pid, pgid) = (pid as i32, pgid as i32);
    if pgid < 0 || pid < 0 {
        return Err(Errno::EINVAL);
    }
    let me = p.task.pid();
    let pid = if pid == 0 { me } else { pid as Tid };
    let pgid = if pgid == 0 { pid } else { pgid as Tid };
    with_tables(|t| {
        let my_sid = t.procs.get(&me).map_or(0, |e| e.sid);
        let target = t.procs.get(&pid).ok_or(Errno::ESRCH)?;
        if pid != me && target.parent != me {
            return Err(Errno::ESRCH);
        }
        if target.sid != my_sid {
            return Err(Errno::EPERM);
        }
        if target.sid == pid {
            // A session leader stays in its own group.
            return Err(Errno::EPERM);
        }
        if pgid != pid
            && !t
                .procs
                .values()
                .any(|e| e.pgid == pgid && e.sid == my_sid && e.zombie.is_none())
        {
            return Err(Errno::EPERM);
        }
        if let Some(target) = t.procs.get_mut(&pid) {
            target.pgid = pgid;
        }
        Ok(0)
    })
}

pub fn setsid(p: &mut Process) -> SysResult {
    let me = p.task.pid();
    with_tables(|t| {
        if t.procs.values().any(|e| e.pgid == me && e.zombie.is_none()) {
            return Err(Errno::EPERM);
        }
        let entry = t.procs.get_mut(&me).ok_or(Errno::ESRCH)?;
        entry.sid = me;
        entry.pgid = me;
        Ok(u64::from(me))
    })
}

fn check_signal(signo: u64) -> Result<u8, Errno> {
    if signo > 64 {
        return Err(Errno::EINVAL);
    }
    Ok(signo as u8)
}

pub fn kill(p: &mut Process, pid: u64, signo: u64) -> SysResult {
    let signo = check_signal(signo)?;
    let me = p.task.pid();
    let info = Info {
        code: sig::SI_USER,
        pid: me,
        ..Info::default()
    };
    let pid = pid as i32;
    let targets: Vec<Tid> = match pid {
        x if x > 0 => alloc::vec![x as Tid],
        0 => {
            let pgid = with_tables(|t| t.procs.get(&me).map_or(me, |e| e.pgid));
            with_tables(|t| t.group_members(pgid))
        }
        -1 => with_tables(|t| {
            t.procs
                .iter()
                .filter(|(&pid, e)| pid != 1 && pid != me && e.zombie.is_none())
                .map(|(&pid, _)| pid)
                .collect()
        }),
        i32::MIN => return Err(Errno::ESRCH),
        x => with_tables(|t| t.group_members((-x) as Tid)),
    };
    if targets.is_empty() {
        return Err(Errno::ESRCH);
    }
    let mut sent = false;
    let mut denied = false;
    for target in targets {
        if !super::cred::may_signal(p, target, signo) {
            denied = true;
            continue;
        }
        let current = (target == me).then_some(&mut *p.task);
        if let Ok(handled) = sig::send_to_process_for(target, signo, info, current) {
            sent = true;
            // A handler in another process runs before this one goes on,
            // as a woken task preempts its waker on one CPU under Linux
            // (`kill -USR1 $$; exit` in a subshell: the shell sees the
            // signal before the exit).
            p.task.yield_after_call |= handled && target != me;
        }
    }
    match (sent, denied) {
        (true, _) => Ok(0),
        // Linux's kill(-1) counts a refused process as reached.
        (false, true) if pid == -1 => Ok(0),
        (false, true) => Err(Errno::EPERM),
        (false, false) => Err(Errno::ESRCH),
    }
}

/// `rt_sigqueueinfo(pid, sig, info)`: a signal with the sender's siginfo
/// (its code must be negative: a user's, as Linux checks).
pub fn rt_sigqueueinfo(p: &mut Process, pid: u64, signo: u64, info: u64) -> SysResult {
    let signo = check_signal(signo)?;
    let raw: [u8; 128] = p.mm.read_array(info)?;
    let code = i32::from_le_bytes(raw[8..12].try_into().expect("4 bytes"));
    if code >= 0 {
        return Err(Errno::EPERM);
    }
    let value = u64::from_le_bytes(raw[24..32].try_into().expect("8 bytes"));
    let info = Info {
        code,
        pid: p.task.pid(),
        value,
        ..Info::default()
    };
    let target = pid as i32;
    if target <= 0 {
        return Err(Errno::ESRCH);
    }
    let target = target as Tid;
    let current = (target == p.task.pid()).then_some(&mut *p.task);
    sig::send_to_process(target, signo, info, current).map(|()| 0)
}

pub fn tgkill(p: &mut Process, tgid: u64, tid: u64, signo: u64) -> SysResult {
    let signo = check_signal(signo)?;
    let (tgid, tid) = (tgid as i32, tid as i32);
    if tid <= 0 || tgid < -1 || tgid == 0 {
        return Err(Errno::EINVAL);
    }
    let tid = tid as Tid;
    if tgid != -1 {
        let group = if tid == p.task.tid {
            Some(p.task.pid())
        } else {
            with_tables(|t| t.tasks.get(&tid).map(|task| task.pid()))
        };
        if group != Some(tgid as Tid) {
            return Err(Errno::ESRCH);
        }
    }
    let info = Info {
        code: sig::SI_TKILL,
        pid: p.task.pid(),
        ..Info::default()
    };
    sig::send_to_thread(p.task, tid, signo, info).map(|()| 0)
}

pub fn tkill(p: &mut Process, tid: u64, signo: u64) -> SysResult {
    tgkill(p, (-1i32) as u32 as u64, tid, signo)
}

const RUSAGE_LEN: usize = 144;
const RUSAGE_SELF: i64 = 0;
const RUSAGE_CHILDREN: i64 = -1;
const RUSAGE_THREAD: i64 = 1;

pub fn getrusage(p: &mut Process, who: u64, usage: u64) -> SysResult {
    use core::sync::atomic::Ordering::Relaxed;
    let g = &p.task.group;
    let (user, system) = match who as i64 {
        RUSAGE_SELF | RUSAGE_THREAD => (g.user_ns.load(Relaxed), g.system_ns.load(Relaxed)),
        RUSAGE_CHILDREN => (
            g.children_user_ns.load(Relaxed),
            g.children_system_ns.load(Relaxed),
        ),
        _ => return Err(Errno::EINVAL),
    };
    let mut out = [0u8; RUSAGE_LEN];
    out[..16].copy_from_slice(&super::time::timeval_bytes(user));
    out[16..32].copy_from_slice(&super::time::timeval_bytes(system));
    p.mm.copy_out(usage, &out)?;
    Ok(0)
}

/// Clock ticks (USER_HZ, 100 a second) in `ns`.
fn ticks(ns: u64) -> u64 {
    ns / 10_000_000
}

pub fn times(p: &mut Process, buf: u64) -> SysResult {
    use core::sync::atomic::Ordering::Relaxed;
    if buf != 0 {
        let g = &p.task.group;
        let mut out = [0u8; 32];
        for (i, ns) in [
            g.user_ns.load(Relaxed),
            g.system_ns.load(Relaxed),
            g.children_user_ns.load(Relaxed),
            g.children_system_ns.load(Relaxed),
        ]
        .into_iter()
        .enumerate()
        {
            out[i * 8..i * 8 + 8].copy_from_slice(&ticks(ns).to_le_bytes());
        }
        p.mm.copy_out(buf, &out)?;
    }
    Ok(ticks(time::monotonic_ns()))
}

pub fn prctl(p: &mut Process, option: u64, arg2: u64) -> SysResult {
    const PR_SET_PDEATHSIG: u64 = 1;
    const PR_GET_PDEATHSIG: u64 = 2;
    const PR_GET_DUMPABLE: u64 = 3;
    const PR_SET_DUMPABLE: u64 = 4;
    const PR_SET_NAME: u64 = 15;
    const PR_GET_NAME: u64 = 16;
    const PR_SET_CHILD_SUBREAPER: u64 = 36;
    const TASK_COMM_LEN: usize = 16;
    match option {
        PR_SET_NAME => {
            let mut name = [0u8; TASK_COMM_LEN];
            // As Linux: up to 16 bytes are read, the name is cut at 15.
            let mut got = 0;
            while got < TASK_COMM_LEN {
                let mut b = [0u8; 1];
                p.mm.copy_in(arg2 + got as u64, &mut b)?;
                if b[0] == 0 {
                    break;
                }
                name[got] = b[0];
                got += 1;
            }
            *p.task.group.comm.lock() = name[..got.min(TASK_COMM_LEN - 1)].to_vec();
            Ok(0)
        }
        PR_GET_NAME => {
            let mut name = [0u8; TASK_COMM_LEN];
            let comm = p.task.group.comm.lock().clone();
            name[..comm.len()].copy_from_slice(&comm);
            p.mm.copy_out(arg2, &name)?;
            Ok(0)
        }
        PR_SET_PDEATHSIG | PR_SET_DUMPABLE | PR_SET_CHILD_SUBREAPER => Ok(0),
        PR_GET_PDEATHSIG => {
            p.mm.copy_out(arg2, &0u32.to_le_bytes())?;
            Ok(0)
        }
        PR_GET_DUMPABLE => Ok(1),
        _ => Err(Errno::EINVAL),
    }
}

// ---------------------------------------------------------------------------
// futex

/// Futex wait queues by (address space, user address), or for an address
/// in a `MAP_SHARED` region by ([`SHARED_FUTEX`], physical address): such
/// a page is the same frame in every process that maps it, at whatever
/// address (a fork's shared anonymous memory, a tmpfs file, a SysV
/// segment), as Linux keys a shared futex by its page. Private memory
/// keys by address space and address, as on Linux.
static FUTEXES: Mutex<BTreeMap<(usize, u64), Arc<WaitQueue>>> = Mutex::new(BTreeMap::new());

/// The owner part of a shared futex's key (no `Memory` is at address 0).
const SHARED_FUTEX: usize = 0;

/// The key of the futex at `addr` of the calling process (see [`FUTEXES`]).
fn futex_key(p: &mut Process, addr: u64) -> Result<(usize, u64), Errno> {
    if p.mm.is_shared(addr) {
        let frame = p.mm.fault(addr, false, false)?;
        return Ok((SHARED_FUTEX, frame + addr % crate::arch::phys::PAGE_SIZE));
    }
    Ok((Arc::as_ptr(&p.task.mem) as usize, addr))
}

fn futex_queue(key: (usize, u64)) -> Arc<WaitQueue> {
    Arc::clone(FUTEXES.lock().entry(key).or_default())
}

/// A waiter whose wait ended without a wake (a timeout, a signal) leaves
/// the futex's queue, and the queue goes when no one else waits: the table
/// stays as small as the set of futexes being waited on. A shared futex's
/// key is not at hand here, so the waiter also leaves every shared queue
/// (the table holds only the futexes being waited on).
pub fn futex_forget(mem: &Arc<Memory>, addr: u64, tid: Tid) {
    let key = (Arc::as_ptr(mem) as usize, addr);
    let mut futexes = FUTEXES.lock();
    futexes.retain(|&(owner, at), queue| {
        if (owner, at) != key && owner != SHARED_FUTEX {
            return true;
        }
        queue.remove(tid);
        !(queue.is_empty() && Arc::strong_count(queue) == 1)
    });
}

/// An address space is gone: its futex queues go with it (their waiters
/// are gone too).
pub fn futex_forget_memory(mem: *const Memory) {
    FUTEXES
        .lock()
        .retain(|&(owner, _), _| owner != mem as usize);
}

/// Wakes up to `n` waiters on the futex at `addr` of `mem` (private
/// memory: a thread's `clear_child_tid`).
pub fn futex_wake_address(mem: &Arc<Memory>, addr: u64, n: usize) -> usize {
    futex_wake_key((Arc::as_ptr(mem) as usize, addr), n)
}

/// Wakes up to `n` waiters on the futex keyed `key`.
fn futex_wake_key(key: (usize, u64), n: usize) -> usize {
    let queue = FUTEXES.lock().get(&key).cloned();
    let Some(queue) = queue else { return 0 };
    let woken = queue.wake(n);
    let mut futexes = FUTEXES.lock();
    if queue.is_empty() && Arc::strong_count(&queue) <= 2 {
        futexes.remove(&key);
    }
    woken
}

pub fn futex(
    p: &mut Process,
    uaddr: u64,
    op: u64,
    val: u64,
    timeout: u64,
    uaddr2: u64,
    val3: u64,
) -> SysResult {
    let cmd = op & FUTEX_CMD_MASK;
    if !uaddr.is_multiple_of(4) {
        return Err(Errno::EINVAL);
    }
    match cmd {
        FUTEX_WAIT | FUTEX_WAIT_BITSET => {
            if cmd == FUTEX_WAIT_BITSET && val3 as u32 == 0 {
                return Err(Errno::EINVAL);
            }
            if p.restart.again {
                if p.restart.woken {
                    return Ok(0);
                }
                if p.restart.timed_out() {
                    futex_forget(&p.task.mem, uaddr, p.task.tid);
                    return Err(Errno::ETIMEDOUT);
                }
            } else if timeout != 0 {
                let ns = super::time::read_duration(p, timeout)?;
                if cmd == FUTEX_WAIT {
                    p.restart.deadline_after(ns);
                } else {
                    // An absolute time, on CLOCK_MONOTONIC or CLOCK_REALTIME.
                    let now = if op & FUTEX_CLOCK_REALTIME != 0 {
                        time::realtime_ns()
                    } else {
                        time::monotonic_ns()
                    };
                    p.restart.deadline_after(ns.saturating_sub(now));
                }
            }
            let current = u32::from_le_bytes(p.mm.read_array(uaddr)?);
            if current != val as u32 {
                return Err(Errno::EAGAIN);
            }
            if p.restart.timed_out() {
                return Err(Errno::ETIMEDOUT);
            }
            let queue = futex_queue(futex_key(p, uaddr)?);
            Err(block_on(p.task.tid, &[&queue]))
        }
        FUTEX_WAKE | FUTEX_WAKE_BITSET => {
            if cmd == FUTEX_WAKE_BITSET && val3 as u32 == 0 {
                return Err(Errno::EINVAL);
            }
            let n = (val as u32).min(i32::MAX as u32) as usize;
            Ok(futex_wake_key(futex_key(p, uaddr)?, n) as u64)
        }
        FUTEX_REQUEUE | FUTEX_CMP_REQUEUE => {
            if cmd == FUTEX_CMP_REQUEUE {
                let current = u32::from_le_bytes(p.mm.read_array(uaddr)?);
                if current != val3 as u32 {
                    return Err(Errno::EAGAIN);
                }
            }
            let from = futex_queue(futex_key(p, uaddr)?);
            let to = futex_queue(futex_key(p, uaddr2)?);
            let woken = from.wake((val as u32).min(i32::MAX as u32) as usize);
            let moved = from.requeue(&to, (timeout as u32).min(i32::MAX as u32) as usize);
            Ok((woken + moved) as u64)
        }
        FUTEX_WAKE_OP => futex_wake_op(p, uaddr, val, timeout, uaddr2, val3),
        _ => Err(Errno::ENOSYS),
    }
}

/// `FUTEX_WAKE_OP`: `*uaddr2 = *uaddr2 OP oparg`, wake `val` waiters at
/// `uaddr`, and `val2` at `uaddr2` if the old value passes the comparison.
fn futex_wake_op(
    p: &mut Process,
    uaddr: u64,
    val: u64,
    val2: u64,
    uaddr2: u64,
    val3: u64,
) -> SysResult {
    let encoded = val3 as u32;
    let op = (encoded >> 28) & 7;
    let shift = encoded >> 31 != 0;
    let cmp = (encoded >> 24) & 15;
    let mut oparg = (encoded >> 12) & 0xfff;
    let cmparg = encoded & 0xfff;
    if shift {
        oparg = 1 << (oparg & 31);
    }
    let old = u32::from_le_bytes(p.mm.read_array(uaddr2)?);
    let new = match op {
        0 => oparg,
        1 => old.wrapping_add(oparg),
        2 => old | oparg,
        3 => old & !oparg,
        4 => old ^ oparg,
        _ => return Err(Errno::ENOSYS),
    };
    p.mm.copy_out(uaddr2, &new.to_le_bytes())?;
    let passes = match cmp {
        0 => old == cmparg,
        1 => old != cmparg,
        2 => (old as i32) < (cmparg as i32),
        3 => (old as i32) <= (cmparg as i32),
        4 => (old as i32) > (cmparg as i32),
        5 => (old as i32) >= (cmparg as i32),
        _ => return Err(Errno::ENOSYS),
    };
    let mut woken = futex_wake_key(futex_key(p, uaddr)?, val as usize);
    if passes {
        woken += futex_wake_key(futex_key(p, uaddr2)?, val2 as usize);
    }
    Ok(woken as u64)
}

// ---------------------------------------------------------------------------
// alarms

pub fn alarm(p: &mut Process, seconds: u64) -> SysResult {
    let new = (seconds > 0).then(|| {
        let ns = seconds.saturating_mul(1_000_000_000);
        (time::monotonic_ns().saturating_add(ns), 0)
    });
    let old = sig::set_alarm(&p.task.group, new);
    Ok(old.map_or(0, |(deadline, _)| {
        deadline
            .saturating_sub(time::monotonic_ns())
            .div_ceil(1_000_000_000)
    }))
}

fn itimerval(p: &Process, old: Option<(u64, u64)>) -> [u8; 32] {
    let _ = p;
    let mut out = [0u8; 32];
    if let Some((deadline, interval)) = old {
        out[..16].copy_from_slice(&super::time::timeval_bytes(interval));
        out[16..].copy_from_slice(&super::time::timeval_bytes(
            deadline.saturating_sub(time::monotonic_ns()).max(1000),
        ));
    }
    out
}

const ITIMER_REAL: u64 = 0;

pub fn setitimer(p: &mut Process, which: u64, new: u64, old: u64) -> SysResult {
    if which != ITIMER_REAL {
        return Err(Errno::EINVAL);
    }
    let wanted = if new != 0 {
        let interval = super::time::read_timeval(p, new)?;
        let value = super::time::read_timeval(p, new + 16)?;
        (value > 0).then(|| (time::monotonic_ns().saturating_add(value), interval))
    } else {
        None
    };
    let previous = sig::set_alarm(&p.task.group, wanted);
    if old != 0 {
        let bytes = itimerval(p, previous);
        p.mm.copy_out(old, &bytes)?;
    }
    Ok(0)
}

pub fn getitimer(p: &mut Process, which: u64, out: u64) -> SysResult {
    if which != ITIMER_REAL {
        return Err(Errno::EINVAL);
    }
    let current = *p.task.group.alarm.lock();
    let bytes = itimerval(p, current);
    p.mm.copy_out(out, &bytes)?;
    Ok(0)
}
