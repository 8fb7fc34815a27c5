//! `strata-server [config-file] [--name value ...]`: redis-server's command line conventions.

use std::process::ExitCode;
use strata::config::Id;
use strata::Config;

const HELP: &str = "Usage: strata-server [/path/to/strata.conf] [options] [-]
       strata-server - (read config from stdin)
       strata-server -v or --version
       strata-server -h or --help

Examples:
       strata-server (run the server with the embedded default configuration)
       strata-server /etc/strata/6379.conf
       strata-server --port 7777
       strata-server /etc/mystrata.conf --loglevel verbose --maxmemory 100mb
       strata-server --save '' --requirepass secret

Every configuration parameter can be given as --name value; conf/strata.conf documents them all.";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("{HELP}");
        return ExitCode::SUCCESS;
    }
    if args.iter().any(|a| a == "-v" || a == "--version") {
        println!("Strata server v={} (Redis {} compatible)", env!("CARGO_PKG_VERSION"), strata::REDIS_VERSION);
        return ExitCode::SUCCESS;
    }
    let args = if args.first().map(String::as_str) == Some("-") {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut std::io::stdin(), &mut text);
        let path = std::env::temp_dir().join(format!("strata-stdin-{}.conf", std::process::id()));
        if std::fs::write(&path, text).is_err() {
            eprintln!("cannot read configuration from stdin");
            return ExitCode::FAILURE;
        }
        std::iter::once(path.display().to_string()).chain(args.into_iter().skip(1)).collect()
    } else {
        args
    };
    let config = match Config::from_args(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("\n{}", e.0);
            return ExitCode::FAILURE;
        }
    };
    init_logging(&config);
    // As redis-server does: the process works in `dir`, where snapshots are written and read.
    let dir = config.str(Id::Dir).to_string();
    if let Err(e) = std::env::set_current_dir(&dir) {
        eprintln!("Can't chdir to '{dir}': {e}");
        return ExitCode::FAILURE;
    }
    let threads = strata::runtime_threads(&config);
    // One worker: a current-thread runtime runs every connection on this thread without the work-stealing
    // scheduler's cross-thread bookkeeping (Redis's model); more workers share the load across threads.
    let mut builder = if threads == 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        b.worker_threads(threads);
        b
    };
    let runtime = match builder.enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(config, threads))
}

fn init_logging(config: &Config) {
    let level = match config.word(Id::Loglevel) {
        "debug" => "debug",
        "verbose" => "info",
        "notice" => "info",
        "warning" => "warn",
        _ => "error",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("STRATA_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    use tracing_subscriber::fmt::writer::BoxMakeWriter;
    let file = Some(config.str(Id::Logfile)).filter(|f| !f.is_empty()).and_then(|path| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .inspect_err(|e| eprintln!("cannot open logfile {path}: {e}; logging to stdout"))
            .ok()
    });
    let json = config.word(Id::LogFormat) == "json";
    // Colour only on a terminal-like stdout: never in a file, never inside JSON.
    let ansi = file.is_none() && !json;
    let writer = match file {
        Some(f) => BoxMakeWriter::new(std::sync::Mutex::new(f)),
        None => BoxMakeWriter::new(std::io::stdout),
    };
    let builder =
        tracing_subscriber::fmt().with_env_filter(filter).with_target(false).with_ansi(ansi).with_writer(writer);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn run(config: Config, threads: usize) -> ExitCode {
    let file = config.file.as_ref().map(|p| p.display().to_string());
    let pidfile = Some(config.str(Id::Pidfile)).filter(|p| !p.is_empty()).map(str::to_string);
    // A file-size limit (RLIMIT_FSIZE) must fail the save's write with EFBIG, not kill the server with SIGXFSZ:
    // registering a handler replaces the default action, as Redis ignores the signal.
    #[cfg(target_os = "linux")]
    if let Ok(s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::from_raw(25)) {
        std::mem::forget(s);
    }
    let handle = match strata::start(config).await {
        Ok(h) => h,
        Err(e) => {
            tracing::error!("Could not start the server: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(p) = &pidfile {
        let _ = std::fs::write(p, format!("{}\n", std::process::id()));
    }
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        port = handle.port(),
        pid = std::process::id(),
        threads,
        config = file.as_deref().unwrap_or("(embedded defaults)"),
        "Strata started; ready to accept connections on {:?}",
        handle.addrs
    );
    // The dataset is left to the OS at exit, as Redis does: freeing millions of keys one by one only delays it.
    std::mem::forget(handle.srv.clone());
    // Signals are awaited on a thread of their own: with one worker thread, a long command (DEBUG SLEEP) would
    // otherwise keep the signal from being seen until it ends. The flag it sets ends DEBUG SLEEP early.
    let srv = handle.srv.clone();
    let watcher = std::thread::Builder::new().name("signals".into()).spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
        rt.block_on(wait_for_signal());
        tracing::warn!("Received shutdown signal, scheduling shutdown...");
        // Redis saves on SIGTERM when save points are set. A failed save is logged and the process still exits:
        // an operator's signal is not refused over a full disk.
        if srv.hot.save_points.load(std::sync::atomic::Ordering::Relaxed) {
            tracing::info!("Saving the final snapshot before exiting.");
            if srv.save_now().is_err() {
                tracing::error!("Error trying to save the DB before exiting.");
            }
        }
        srv.request_shutdown(Default::default());
    });
    if let Err(e) = watcher {
        tracing::error!("cannot watch for signals: {e}");
    }
    handle.wait().await;
    if let Some(p) = &pidfile {
        let _ = std::fs::remove_file(p);
    }
    tracing::info!("Strata is now ready to exit, bye bye...");
    ExitCode::SUCCESS
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
