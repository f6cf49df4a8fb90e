"""Runs a desktop's xstartup and ends everything that descends from it, however it detached.

usage: python3 -I -S session-reaper.py DAEMON_PID GRACE_MS UMASK XSTARTUP [ARG...]

A process group misses what calls setsid(), and the session marker in the environment misses
what makes itself non-dumpable (ssh-agent, gpg-agent): their owner cannot read their
environment. A child subreaper (prctl PR_SET_CHILD_SUBREAPER) misses nothing: whatever a
session process double-forks or daemonizes is re-parented here, not to init, so the session is
exactly this process's descendants. It ends them when the xstartup exits (a logout), when the
daemon asks (SIGTERM, SIGINT, SIGHUP) and when the daemon dies (PR_SET_PDEATHSIG): SIGTERM to
every descendant, GRACE_MS for them to go, then SIGKILL until none is left. It exits as the
xstartup did (the same status, or the same signal).

The xstartup gets the user's usual UMASK (octal; the daemon runs with 077) and file descriptor
3, on which its scripts report why a session failed (docs/apps.md). Standard library only, and
started with -I -S: nothing from the user's Python set-up runs here.
"""

import ctypes
import os
import signal
import sys
import time

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
ENDING = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
#: How long SIGKILL rounds go on before a process that will not die (stuck in the kernel) is
#: left to the daemon's own sweep.
KILL_ROUNDS_S = 10


class Ending(Exception):
    """The daemon asked the session to end (or died)."""


def say(message):
    sys.stderr.write(f"jupyter-desktops: session reaper: {message}\n")
    sys.stderr.flush()


def prctl(option, value):
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(option, value, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))


def descendants(root):
    """Every live process below `root`, from /proc (stat is readable even for non-dumpable
    processes)."""
    children = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: fields follow the last ')'.
        fields = stat[stat.rfind(b")") + 2 :].split()
        children.setdefault(int(fields[1]), []).append(int(name))
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def reap(status_of, startup):
    """Collects every exited child without blocking; records the xstartup's status."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        if pid == startup:
            status_of["startup"] = status


def end_all(grace, status_of, startup):
    me = os.getpid()
    for pid in descendants(me):
        try:
            os.kill(pid, signal.SIGTERM)
        except OSError:
            pass
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        reap(status_of, startup)
        if not descendants(me):
            return
        time.sleep(0.02)
    # Stopped first, so that nothing forks again between the listing and the kill.
    give_up = time.monotonic() + KILL_ROUNDS_S
    while True:
        left = descendants(me)
        if not left:
            break
        if time.monotonic() > give_up:
            say(f"processes {left} did not end after SIGKILL")
            break
        for sig in (signal.SIGSTOP, signal.SIGKILL):
            for pid in left:
                try:
                    os.kill(pid, sig)
                except OSError:
                    pass
        time.sleep(0.01)
        reap(status_of, startup)
    reap(status_of, startup)


def main(argv):
    if len(argv) < 5:
        say("usage: session-reaper.py DAEMON_PID GRACE_MS UMASK XSTARTUP [ARG...]")
        return 2
    daemon = int(argv[1])
    grace = int(argv[2]) / 1000
    umask = int(argv[3], 8)
    command = argv[4:]
    asked = []

    def ending(signum, _frame):
        asked.append(signum)
        # Once: a second signal during the teardown must not cut it short.
        for sig in ENDING:
            signal.signal(sig, lambda n, _f: None)
        raise Ending()

    try:
        prctl(PR_SET_CHILD_SUBREAPER, 1)
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError as err:
        say(f"cannot become the session's subreaper ({err}): its processes may outlive it")
    # The daemon may have died before PR_SET_PDEATHSIG took effect.
    if os.getppid() != daemon:
        return 1
    # Signals wait while forking: the child must not run the parent's handler.
    signal.pthread_sigmask(signal.SIG_BLOCK, ENDING)
    for sig in ENDING:
        signal.signal(sig, ending)
    try:
        startup = os.fork()
    except OSError as err:
        say(f"cannot start {command[0]}: {err}")
        return 1
    if startup == 0:
        for sig in ENDING:
            signal.signal(sig, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, ENDING)
        os.umask(umask)
        try:
            os.execv(command[0], command)
        except OSError as err:
            say(f"cannot run {command[0]}: {err.strerror}")
        os._exit(127)
    try:
        os.close(3)
    except OSError:
        pass
    status_of = {}
    try:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, ENDING)
        try:
            while "startup" not in status_of:
                pid, status = os.waitpid(-1, 0)
                if pid == startup:
                    status_of["startup"] = status
        except ChildProcessError:
            pass
        for sig in ENDING:
            signal.signal(sig, lambda n, _f: asked.append(n))
    except Ending:
        pass
    end_all(grace, status_of, startup)
    status = status_of.get("startup")
    if status is None:
        return 128 + (asked[0] if asked else signal.SIGKILL)
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
