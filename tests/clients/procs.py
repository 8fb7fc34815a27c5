"""Helpers the real-client test scripts share: free ports on loopback."""
import socket


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start_strata(binary, port, workdir, *extra):
    """Starts Strata on `port` in `workdir` (no snapshots) and waits until it answers PING; returns the process."""
    return start_server([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", workdir, *extra],
                        port)


def start_redis(port, workdir):
    """Starts redis-server on `port` in `workdir` (no persistence) and waits until it answers PING."""
    return start_server(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
                         "no", "--dir", workdir], port)


def start_server(argv, port):
    """Runs `argv` and waits (up to 10 s) until a server answers PING on `port`; returns the process."""
    import subprocess
    import time

    import redis

    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    r = redis.Redis(port=port)
    for _ in range(100):
        try:
            r.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.1)
    r.close()
    return proc
