//! Lua scripting: EVAL scripts and FUNCTION libraries, run by the engine like any other caller.
//!
//! - **One script at a time, on its own thread.** A connection hands every command that needs the Lua VM (the
//!   `RUNS_SCRIPT` table flag: EVAL, FCALL, SCRIPT LOAD, FUNCTION LOAD..., and EXEC of a queue holding one) to
//!   the `strata-script` thread, moving its `Session` there and back (`Outcome::Offload`). A script that loops
//!   forever therefore never holds a runtime worker: the other clients keep being served, get `-BUSY` once it
//!   passes `busy-reply-threshold`, and SCRIPT KILL reaches it. In-process callers (tests, replays) hand the
//!   command over and wait for it. Only that thread touches the VM.
//! - **Atomic without stopping the world.** The gate locks the shards of the declared keys (KEYS) before the
//!   script starts, like any command; a script's `redis.call` runs the command through `execute::call` under
//!   those locks, so no other client sees the script half done, while clients of other shards carry on. A key
//!   the script did not declare is locked on demand: in the global order when it can be, otherwise by a try; if
//!   that fails before the script wrote anything, the script is rerun with every shard locked and remembered as
//!   "wide" (later runs lock everything up front). See `run.rs`.
//! - **Other clients never block on a script's shard.** While a script runs, a command whose shard the script
//!   holds gives up its lock attempt after a short wait and retries (`Ctx::yielded`), so runtime workers stay
//!   free; background cycles skip their turn.
//! - The effects of a script's calls are appended as one atomic group (MULTI/EXEC around more than one effect),
//!   as EXEC's are: Redis 7's effects replication.

mod convert;
pub mod functions;
mod run;
mod vm;

use crate::engine::client::Session;
use crate::engine::ctx::Ctx;
use crate::engine::execute::Outcome;
use crate::engine::state::Server;
use crate::error::{CmdError, CmdResult};
use crate::protocol::Reply;
use bytes::Bytes;
use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

pub use run::Kind;

thread_local! {
    /// True on the script thread, where commands that need the VM run in place.
    static ON_SCRIPT_THREAD: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// True when the calling thread may run scripts in place.
pub fn on_script_thread() -> bool {
    ON_SCRIPT_THREAD.with(|c| c.get())
}

type Job = Box<dyn FnOnce() + Send>;

/// The script thread's stack: Lua's own C calls and the conversion of a deeply nested reply recurse on it, and an
/// overflow aborts the whole process. Only the pages used are committed.
const SCRIPT_STACK_BYTES: usize = 64 << 20;

/// How long a library's loading code may run (Redis's `LOAD_TIMEOUT_MS`).
const LOAD_TIMEOUT_MS: u64 = 500;

/// What a running script shares with everyone else: read by the gate, SCRIPT KILL, FUNCTION STATS and the VM's
/// instruction hook without touching the VM.
#[derive(Default)]
pub struct RunState {
    active: AtomicBool,
    busy: AtomicBool,
    kill: AtomicBool,
    wrote: AtomicBool,
    function: AtomicBool,
    started_ms: AtomicU64,
    busy_after_ms: AtomicU64,
    /// While a library loads: when its loading code must stop (unix ms); 0 otherwise.
    load_deadline_ms: AtomicU64,
    /// Name (function name or SHA) and argv of the running script, for FUNCTION STATS and the slow-script log.
    running: Mutex<Option<(String, Vec<Bytes>)>>,
}

impl RunState {
    /// True while a script runs (one atomic load: the gate reads it for every command).
    #[inline]
    pub fn active(&self) -> bool {
        self.active.load(Relaxed)
    }

    /// True once the running script passed `busy-reply-threshold`.
    pub fn busy(&self) -> bool {
        self.busy.load(Relaxed)
    }

    fn begin(&self, function: bool, name: String, argv: &[Bytes], busy_after_ms: u64) {
        *self.running.lock() = Some((name, argv.to_vec()));
        self.function.store(function, Relaxed);
        self.wrote.store(false, Relaxed);
        self.kill.store(false, Relaxed);
        self.busy.store(false, Relaxed);
        self.busy_after_ms.store(busy_after_ms, Relaxed);
        self.started_ms.store(crate::util::clock::unix_ms(), Relaxed);
        self.active.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    fn end(&self) {
        self.active.store(false, std::sync::atomic::Ordering::SeqCst);
        self.busy.store(false, Relaxed);
        self.kill.store(false, Relaxed);
        *self.running.lock() = None;
    }

    /// Why the running script (or library load) must stop now, if it must: a KILL, or a FUNCTION LOAD that ran past
    /// [`LOAD_TIMEOUT_MS`].
    pub fn stop_reason(&self) -> Option<&'static str> {
        if self.kill.load(Relaxed) {
            return Some(if self.function.load(Relaxed) {
                "Script killed by user with FUNCTION KILL..."
            } else {
                "Script killed by user with SCRIPT KILL..."
            });
        }
        let deadline = self.load_deadline_ms.load(Relaxed);
        (deadline != 0 && crate::util::clock::unix_ms() > deadline).then_some("FUNCTION LOAD timeout")
    }

    /// Runs a library's loading code (FUNCTION LOAD, FUNCTION RESTORE, a snapshot's libraries) under Redis's load
    /// time limit: nobody can KILL a load, so without it a library that loops would hold the VM for good.
    pub fn loading<T>(&self, load: impl FnOnce() -> T) -> T {
        self.load_deadline_ms.store(crate::util::clock::unix_ms() + LOAD_TIMEOUT_MS, Relaxed);
        let out = load();
        self.load_deadline_ms.store(0, Relaxed);
        out
    }

    /// Called by the VM every 100,000 instructions: notes that the script became busy, and stops it when asked.
    fn check(&self) -> Result<(), &'static str> {
        if let Some(why) = self.stop_reason() {
            return Err(why);
        }
        // A library loading is no running script: it has its own limit and never turns busy.
        if self.active() && !self.busy.load(Relaxed) {
            let ran = crate::util::clock::unix_ms().saturating_sub(self.started_ms.load(Relaxed));
            if ran >= self.busy_after_ms.load(Relaxed) {
                self.busy.store(true, Relaxed);
                let name = self.running.lock().as_ref().map(|r| r.0.clone()).unwrap_or_default();
                tracing::warn!(
                    "Slow script detected: still in execution after {ran} milliseconds. You can try killing the \
                     script using the SCRIPT KILL command. Script name is: {name}."
                );
            }
        }
        Ok(())
    }

    /// The -BUSY refusal a command gets while a script is busy, unless its row allows it.
    pub fn busy_refusal(&self) -> Option<CmdError> {
        if !self.busy() {
            return None;
        }
        Some(if self.function.load(Relaxed) { crate::error::BUSY_FUNCTION } else { crate::error::BUSY_SCRIPT })
    }

    /// SCRIPT KILL (`function == false`) or FUNCTION KILL, refused in Redis's order: nothing running, a script
    /// that wrote, then the other kind of script (-BUSY naming the KILL that would work).
    pub fn kill(&self, function: bool) -> CmdResult<Reply> {
        if !self.active() {
            return Err(crate::error::NOTBUSY);
        }
        if self.wrote.load(Relaxed) {
            return Err(crate::error::UNKILLABLE);
        }
        match (function, self.function.load(Relaxed)) {
            (false, true) => return Err(crate::error::BUSY_FUNCTION),
            (true, false) => return Err(crate::error::BUSY_SCRIPT),
            _ => {}
        }
        self.kill.store(true, Relaxed);
        Ok(Reply::OK)
    }

    /// Stops the running script whatever it did (SHUTDOWN NOSAVE while busy).
    pub fn force_kill(&self) {
        if self.active() {
            self.kill.store(true, Relaxed);
        }
    }

    /// FUNCTION STATS's `running_script`: name, command and milliseconds so far.
    pub fn running(&self) -> Option<(String, Vec<Bytes>, u64)> {
        if !self.active() || !self.function.load(Relaxed) {
            return None;
        }
        let r = self.running.lock();
        let (name, argv) = r.as_ref()?;
        let ms = crate::util::clock::unix_ms().saturating_sub(self.started_ms.load(Relaxed));
        Some((name.clone(), argv.clone(), ms))
    }
}

/// The VM's figures for INFO and the memory count, published by the script thread after each use of the VM so
/// that they are read without it.
#[derive(Debug, Default)]
pub struct VmUsage {
    /// Bytes the Lua VM has allocated (its allocator's own count).
    pub lua_bytes: AtomicU64,
    pub cached_scripts: AtomicU64,
    /// Cached scripts' bodies, SHAs and table.
    pub script_cache_bytes: AtomicU64,
}

/// The server's scripting state.
#[derive(Default)]
pub struct Scripts {
    pub state: Arc<RunState>,
    pub usage: VmUsage,
    /// Built on first use; only the script thread locks it.
    vm: Mutex<Option<vm::Vm>>,
    runner: Mutex<Option<std::sync::mpsc::Sender<Job>>>,
    /// FUNCTION libraries' metadata and code, readable without the VM (FUNCTION LIST, STATS, DUMP, snapshots).
    pub libraries: parking_lot::RwLock<functions::Libraries>,
}

impl std::fmt::Debug for Scripts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scripts").field("active", &self.state.active()).finish_non_exhaustive()
    }
}

impl Scripts {
    /// Every FUNCTION library's code, for a snapshot.
    pub fn library_codes(&self) -> Vec<Vec<u8>> {
        self.libraries.read().libs.values().map(|l| l.code.clone()).collect()
    }

    /// Hands `job` to the script thread, starting it on first use. Never drops a job: should the thread be
    /// impossible to start or gone, the job runs here instead (holding this worker, but losing no session).
    fn send(&self, job: Job) {
        let mut runner = self.runner.lock();
        if runner.is_none() {
            let (tx, rx) = std::sync::mpsc::channel::<Job>();
            let started = std::thread::Builder::new()
                .name("strata-script".into())
                .stack_size(SCRIPT_STACK_BYTES)
                .spawn(move || {
                    ON_SCRIPT_THREAD.with(|c| c.set(true));
                    for job in rx {
                        // A job answers its caller even when a command panics (see `offload`); this only keeps
                        // the thread alive for the next one.
                        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                    }
                });
            match started {
                Ok(_) => *runner = Some(tx),
                Err(e) => tracing::error!("cannot start the script thread: {e}"),
            }
        }
        let job = match runner.as_ref() {
            Some(tx) => match tx.send(job) {
                Ok(()) => return,
                Err(std::sync::mpsc::SendError(job)) => job,
            },
            None => job,
        };
        drop(runner);
        let was = ON_SCRIPT_THREAD.with(|c| c.replace(true));
        job();
        ON_SCRIPT_THREAD.with(|c| c.set(was));
    }

    /// Runs `f` with the VM (built on first use), then publishes the VM's figures. Script thread only.
    fn with_vm<R>(&self, srv: &Server, f: impl FnOnce(&mut vm::Vm) -> CmdResult<R>) -> CmdResult<R> {
        debug_assert!(on_script_thread(), "the Lua VM used off the script thread");
        let mut guard = self.vm.lock();
        let vm = match guard.as_mut() {
            Some(vm) => vm,
            None => guard.insert(
                vm::Vm::new(self.state.clone(), srv)
                    .map_err(|e| CmdError::err(format!("cannot create the Lua VM: {e}")))?,
            ),
        };
        let result = f(vm);
        let (scripts, script_bytes) = vm.script_cache_usage();
        self.usage.lua_bytes.store(vm.lua.used_memory() as u64, Relaxed);
        self.usage.cached_scripts.store(scripts as u64, Relaxed);
        self.usage.script_cache_bytes.store(script_bytes as u64, Relaxed);
        result
    }
}

/// Runs `execute` for a command handed to the script thread; a panic becomes an error reply, so the caller
/// always gets its session back.
fn execute_here(srv: &Server, session: &mut Session, args: &[Bytes]) -> Outcome {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| crate::engine::execute::execute(srv, session, args)))
        .unwrap_or_else(|_| Outcome::Reply(Reply::Error("ERR the script thread failed running the command".into())))
}

/// Runs a command that needs the VM on the script thread for a connection, moving its session there and back.
pub async fn offload(srv: Arc<Server>, session: Session, args: Vec<Bytes>) -> (Session, Vec<Bytes>, Outcome) {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let scripts = &srv.scripts;
    let job_srv = srv.clone();
    let (info, authenticated) = (session.info.clone(), session.authenticated);
    scripts.send(Box::new(move || {
        let mut session = session;
        let outcome = execute_here(&job_srv, &mut session, &args);
        let _ = tx.send((session, args, outcome));
    }));
    // `send` runs every job and the job always answers; a fresh session is the last resort should it not.
    rx.await.unwrap_or_else(|_| {
        let failed = Outcome::Reply(Reply::Error("ERR the script thread dropped the command".into()));
        (Session::new(info, authenticated), Vec::new(), failed)
    })
}

/// Runs a command that needs the VM on the script thread for an in-process caller, waiting for it.
pub fn run_and_wait(srv: &Server, session: &mut Session, args: &[Bytes]) -> Outcome {
    let Some(arc) = srv.this.get().and_then(std::sync::Weak::upgrade) else {
        return Outcome::Reply(Reply::Error("ERR scripting needs a started server".into()));
    };
    let placeholder = Session::new(session.info.clone(), session.authenticated);
    let moved = std::mem::replace(session, placeholder);
    let (tx, rx) = std::sync::mpsc::channel();
    let args = args.to_vec();
    srv.scripts.send(Box::new(move || {
        let mut s = moved;
        let outcome = execute_here(&arc, &mut s, &args);
        let _ = tx.send((s, outcome));
    }));
    match rx.recv() {
        Ok((s, outcome)) => {
            *session = s;
            outcome
        }
        Err(_) => Outcome::Reply(Reply::Error("ERR the script thread dropped the command".into())),
    }
}

/// EVAL, EVALSHA, EVAL_RO, EVALSHA_RO.
pub fn eval(ctx: &mut Ctx<'_>, args: &[Bytes], by_sha: bool, read_only: bool) -> CmdResult<Reply> {
    let srv = ctx.srv;
    srv.scripts.with_vm(srv, |vm| run::eval(ctx, vm, args, by_sha, read_only))
}

/// FCALL, FCALL_RO.
pub fn fcall(ctx: &mut Ctx<'_>, args: &[Bytes], read_only: bool) -> CmdResult<Reply> {
    let srv = ctx.srv;
    srv.scripts.with_vm(srv, |vm| run::fcall(ctx, vm, args, read_only))
}

/// SCRIPT LOAD: compiles and caches a script, returning its SHA1.
pub fn script_load(srv: &Server, body: &[u8]) -> CmdResult<Reply> {
    srv.scripts.with_vm(srv, |vm| vm.script(body, None).map(|s| Reply::bulk(s.sha)))
}

/// SCRIPT EXISTS.
pub fn script_exists(srv: &Server, shas: &[Bytes]) -> CmdResult<Reply> {
    srv.scripts.with_vm(srv, |vm| {
        Ok(Reply::Array(shas.iter().map(|s| Reply::Int(vm.has_script(&s.to_ascii_lowercase()) as i64)).collect()))
    })
}

/// SCRIPT FLUSH.
pub fn script_flush(srv: &Server) -> CmdResult<()> {
    srv.scripts.with_vm(srv, |vm| {
        vm.flush_scripts();
        Ok(())
    })
}

/// FUNCTION LOAD [REPLACE].
pub fn function_load(srv: &Server, code: &[u8], replace: bool) -> CmdResult<Reply> {
    srv.scripts.with_vm(srv, |vm| functions::load(srv, vm, code, replace)).map(Reply::bulk_string)
}

/// FUNCTION DELETE.
pub fn function_delete(srv: &Server, name: &[u8]) -> CmdResult<Reply> {
    srv.scripts.with_vm(srv, |vm| functions::delete(srv, vm, name)).map(|_| Reply::OK)
}

/// FUNCTION FLUSH.
pub fn function_flush(srv: &Server) -> CmdResult<()> {
    srv.scripts.with_vm(srv, |vm| {
        functions::flush(srv, vm);
        Ok(())
    })
}

/// FUNCTION RESTORE.
pub fn function_restore(srv: &Server, payload: &[u8], policy: functions::RestorePolicy) -> CmdResult<Reply> {
    srv.scripts.with_vm(srv, |vm| functions::restore(srv, vm, payload, policy)).map(|_| Reply::OK)
}

/// Loads the libraries a snapshot carried (startup), replacing any present.
pub fn restore_libraries(srv: &Server, codes: Vec<Vec<u8>>) -> Result<(), String> {
    let outcome = std::sync::Mutex::new(Ok(()));
    let work = || {
        let r = srv
            .scripts
            .with_vm(srv, |vm| Ok(functions::load_all(srv, vm, &codes)))
            .unwrap_or_else(|e| Err(e.0.into_owned()));
        *outcome.lock().unwrap_or_else(|e| e.into_inner()) = r;
    };
    if on_script_thread() {
        work();
    } else {
        std::thread::scope(|s| {
            s.spawn(|| {
                ON_SCRIPT_THREAD.with(|c| c.set(true));
                work();
            });
        });
    }
    outcome.into_inner().unwrap_or_else(|e| e.into_inner())
}
