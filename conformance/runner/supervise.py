"""The supervisor between the harness and one generator process: it owns the generator's whole process tree.

Why a process of its own: a generator is arbitrary code. It can fork, ``setsid`` away from its process group,
leave a grandchild holding our pipes, or be killed mid-case; the harness must still be able to stop every
process it started, at once, and never wait on one it does not know. So each generator runs under this small
supervisor (standard library only, started with ``python -I -S``, no generator code in it) that:

- marks itself a *child subreaper* (``prctl(PR_SET_CHILD_SUBREAPER)``), so every orphaned descendant of the
  generator is re-parented to it instead of to PID 1: the live descendants are always a tree under it;
- asks the kernel for SIGTERM when the harness thread that started it dies (``PR_SET_PDEATHSIG``), so a
  harness killed with SIGKILL still takes its generators down;
- starts the generator in a new session with its resource limits (``RLIMIT_AS``, no core files) and the signal
  dispositions a fresh process has;
- when the generator exits, or on SIGTERM/SIGINT/SIGHUP, kills every descendant (walking ``/proc`` for its
  tree, repeated until ``waitpid`` reports no children left) and exits with the generator's own status (a
  generator killed by a signal makes the supervisor die of the same signal), so the harness reads it as if it
  had started the generator itself.

Why the stop signals are blocked and taken with ``sigwait`` instead of a handler: a stop can arrive more than
once (the harness's SIGTERM and the parent-death SIGTERM when the harness then dies), and a Python handler that
raises runs again wherever the next one lands, including inside the cleanup: the supervisor then died of its
own exception and left the tree running. Blocked, a signal only waits to be read; nothing interrupts cleanup.

Run: ``python -I -S supervise.py PARENT_PID MEMORY_BYTES -- COMMAND ...`` (``MEMORY_BYTES`` 0 = no limit).
:func:`descendants` and :func:`kill_tree` are also used by the harness as a last resort.
"""

from __future__ import annotations

import os
import signal
import sys
import time

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
#: How long the supervisor keeps killing a tree that keeps forking before it gives up and exits anyway.
KILL_PATIENCE = 10.0


def _prctl(option: int, value: int) -> bool:
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(option, value, 0, 0, 0) == 0
    except (OSError, AttributeError):  # not Linux: no subreaper, the process group is all we have
        return False


def die_with_parent(parent: int, sig: int) -> None:
    """Ask the kernel for ``sig`` when the thread that started this process dies (even by SIGKILL); exit now if
    ``parent`` died before the signal was armed."""
    _prctl(PR_SET_PDEATHSIG, sig)
    if os.getppid() != parent:
        os._exit(1)


def _parents() -> dict[int, list[int]]:
    """ppid → children, from ``/proc/*/stat`` (empty where there is no ``/proc``)."""
    children: dict[int, list[int]] = {}
    try:
        names = os.listdir("/proc")
    except OSError:
        return children
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2:].split()  # the command name may hold spaces and parentheses
        if len(fields) > 1:
            children.setdefault(int(fields[1]), []).append(int(name))
    return children


def descendants(root: int) -> list[int]:
    """Every live descendant of ``root`` (children first), by the parent links in ``/proc``."""
    children = _parents()
    out, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def _signal_all(pids: list[int], sig: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def kill_tree(root: int, reap: bool) -> None:
    """SIGKILL every descendant of ``root`` until none is left; ``reap`` when ``root`` is this process."""
    deadline = time.monotonic() + KILL_PATIENCE
    while time.monotonic() < deadline:
        pids = descendants(root)
        _signal_all(pids, signal.SIGSTOP)  # stopped processes cannot fork while we walk them
        _signal_all(descendants(root), signal.SIGKILL)
        if reap:
            try:
                while os.waitpid(-1, os.WNOHANG)[0]:
                    pass
            except ChildProcessError:
                return  # no child left: the whole tree is gone (orphans came to us, the subreaper)
        elif not pids:
            return
        time.sleep(0.005)


#: Signals that stop the supervisor (and so the generator's tree).
STOP_SIGNALS = frozenset({signal.SIGTERM, signal.SIGINT, signal.SIGHUP})


def _exec_generator(memory: int, command: list[str]) -> None:
    """In the forked child: new session, default signals, limits, then the generator's own program."""
    try:
        os.setsid()
        for sig in (*STOP_SIGNALS, signal.SIGPIPE, signal.SIGXFSZ):
            signal.signal(sig, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, [])  # what the supervisor blocks, the generator receives
        import resource

        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if memory > 0:
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        os.execvp(command[0], command)
    except OSError as exc:
        os.write(2, f"lossmask supervisor: cannot run {command[0]!r}: {exc.strerror}\n".encode())
    except BaseException as exc:  # noqa: BLE001 - nothing may escape into a copy of the supervisor
        os.write(2, f"lossmask supervisor: cannot start {command[0]!r}: {exc}\n".encode())
    os._exit(127)


def _exit_like(status: int | None) -> None:
    if status is not None and os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        import resource

        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        try:
            signal.signal(sig, signal.SIG_DFL)
        except (OSError, ValueError):  # SIGKILL and SIGSTOP have no disposition to set
            pass
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [sig])
        os.kill(os.getpid(), sig)
    os._exit(os.WEXITSTATUS(status) if status is not None and os.WIFEXITED(status) else 1)


def _run_generator(memory: int, command: list[str]) -> int | None:
    """Start the generator; its wait status when it exits, ``None`` when a stop signal came first."""
    try:
        child = os.fork()
    except OSError as exc:
        os.write(2, f"lossmask supervisor: cannot fork: {exc.strerror}\n".encode())
        return None
    if child == 0:
        _exec_generator(memory, command)
    while True:
        if signal.sigwait(STOP_SIGNALS | {signal.SIGCHLD}) != signal.SIGCHLD:
            return None
        try:  # one SIGCHLD may stand for several exits (orphans re-parented to us exit too)
            while True:
                pid, status = os.waitpid(-1, os.WNOHANG)
                if pid == 0:
                    break
                if pid == child:
                    return status
        except ChildProcessError:
            return None


def main(argv: list[str]) -> None:
    parent, memory = int(argv[0]), int(argv[1])
    command = argv[3:] if len(argv) > 3 and argv[2] == "--" else argv[2:]
    # Blocked before anything can send one (the parent-death signal is armed below): from here on a stop
    # signal or a child's exit is only ever read by sigwait, and the cleanup cannot be interrupted.
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS | {signal.SIGCHLD})
    _prctl(PR_SET_CHILD_SUBREAPER, 1)
    die_with_parent(parent, signal.SIGTERM)
    status = _run_generator(memory, command)
    kill_tree(os.getpid(), reap=True)
    _exit_like(status)


if __name__ == "__main__":
    main(sys.argv[1:])
