"""Run one function over many tasks, on local worker processes or a Ray cluster.

:func:`map_tasks` yields a :class:`TaskOutcome` per task as tasks finish. A
task that raises, whose worker dies (a segfault, ``os._exit``) or that runs
past ``timeout_s`` is an outcome with an ``error``, never the end of the map:
a sweep of a hundred configurations keeps the ninety-nine that worked.

``local`` (the default, needing nothing) keeps ``jobs`` long-lived worker
processes (forkserver where the platform has it, else spawn), each with its own
pipe, one task at a time. Owning the workers, rather than a
``ProcessPoolExecutor``, is what lets a timeout kill the one worker running the
late task and name the task a dead worker was running; a pool breaks as a
whole and cannot say which of its tasks crashed it. ``jobs=1`` still runs the
task in a worker process, so that a crash or timeout is recorded the same way;
call the function directly to debug it in process.

``ray`` submits ``ray.remote`` tasks to the cluster at ``address`` (``None``
starts a local one, ``"auto"`` joins the cluster this machine belongs to,
``"ray://HOST:10001"`` a remote one through Ray Client), at most ``jobs`` in
flight (default: the cluster's CPUs). Its nodes need ubscope installed, as
the function is sent by reference to its module. A task is never retried: a
crash is recorded like a local one.

Timeouts count from the moment a task is handed to a worker (locally, once the
worker has started and imported the function's module; on Ray, from
submission).
"""

from __future__ import annotations

import functools
import logging
import multiprocessing
import os
import signal
import time
from collections import deque
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any, Generic, TypeVar

from ubscope.probe.errors import ParameterError, UbscopeError

T = TypeVar("T")
R = TypeVar("R")

EXECUTORS = ("local", "ray")
RAY_MISSING = "the ray executor needs Ray: pip install 'ubscope[ray]'"
_STOP_GRACE_S = 2.0


@dataclass(frozen=True)
class TaskOutcome(Generic[R]):
    """What became of ``tasks[index]``: its ``value``, or an ``error`` such as
    ``"crashed: ValueError: ..."`` or ``"timeout after 30 s"``."""

    index: int
    value: R | None
    error: str | None


def map_tasks(
    fn: Callable[[T], R],
    tasks: Sequence[T],
    *,
    jobs: int | None = None,
    executor: str = "local",
    address: str | None = None,
    timeout_s: float | None = None,
    progress: str | None = None,
) -> Iterator[TaskOutcome[R]]:
    """``fn(task)`` for every task, outcomes yielded in the order tasks finish.

    ``fn`` must be a module-level function (it is sent to workers by
    reference), tasks and values picklable. ``progress`` is the label of a
    progress bar on stderr (none when ``None`` or not a terminal).
    """
    if executor not in EXECUTORS:
        raise ParameterError(f"unknown executor {executor!r}; expected one of {EXECUTORS}")
    if jobs is not None and jobs < 1:
        raise ParameterError(f"jobs must be at least 1, got {jobs}")
    if timeout_s is not None and not timeout_s > 0:
        raise ParameterError(f"the timeout must be more than 0 s, got {timeout_s}")
    if executor == "local" and address is not None:
        raise ParameterError("an address goes with --executor ray; the local pool has none")
    if not tasks:
        return
    outcomes: Generator[TaskOutcome[R], None, None]
    if executor == "ray":
        outcomes = _ray_outcomes(fn, tasks, jobs, address, timeout_s)
    else:
        outcomes = _local_outcomes(fn, tasks, jobs, timeout_s)
    with ExitStack() as stack:
        bar = None
        if progress is not None:
            from ubscope.commands.common import progress as progress_bar

            bar = stack.enter_context(progress_bar(progress, total=len(tasks), unit="tasks"))
        # Closing the generator early (a consumer's break, Ctrl-C) stops the workers.
        stack.callback(outcomes.close)
        for outcome in outcomes:
            if bar is not None:
                bar.advance(bar.tasks[0].id)
            yield outcome


def _timeout_error(timeout_s: float) -> str:
    return f"timeout after {timeout_s:g} s"


def _raised_error(exc: BaseException) -> str:
    # One line for the table (a compiler's or a problem list's errors span several)
    lines = exc.message_lines() if isinstance(exc, UbscopeError) else str(exc).splitlines()
    message = "; ".join(line.strip() for line in lines if line.strip())
    return f"crashed: {type(exc).__name__}: {message}".rstrip(": ")


# Local worker processes


def _serve(fn: Callable[[Any], Any], conn: Connection) -> None:
    """A worker's loop: ``(index, task)`` in, ``(index, value, error)`` out."""
    # Ctrl-C reaches the whole process group; the parent decides what stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    conn.send(None)  # started: the function's module is imported
    while True:
        try:
            request = conn.recv()
        except EOFError:  # the parent is gone (killed): nothing more will come
            return
        if request is None:
            return
        index, task = request
        reply: tuple[int, Any, str | None]
        try:
            reply = (index, fn(task), None)
        except Exception as exc:
            reply = (index, None, _raised_error(exc))
        try:
            conn.send(reply)
        except OSError:  # the parent is gone
            return
        except Exception as exc:  # an unpicklable value: pickling fails before any byte is sent
            conn.send((index, None, f"crashed: the value could not be sent back ({exc})"))


class _Worker:
    def __init__(self, context: Any, fn: Callable[[Any], Any]):
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(fn, child), daemon=True)
        self.process.start()
        child.close()
        self.started = False
        self.index: int | None = None
        self.deadline = float("inf")

    def give(self, index: int, task: Any, timeout_s: float | None) -> None:
        self.conn.send((index, task))
        self.index = index
        self.deadline = time.monotonic() + timeout_s if timeout_s else float("inf")

    def death(self) -> str:
        """Why the worker's process ended, once it has."""
        self.process.join()
        code = self.process.exitcode
        if code is not None and code < 0:
            try:
                return f"crashed: worker killed by {signal.Signals(-code).name}"
            except ValueError:
                return f"crashed: worker killed by signal {-code}"
        return f"crashed: worker exited with code {code}"

    def kill(self) -> None:
        self.process.kill()
        self.process.join()
        self.conn.close()

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except OSError:
            pass
        self.process.join(_STOP_GRACE_S)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.conn.close()


def _context(fn: Callable[..., Any]) -> Any:
    # fork would copy the parent's threads and locks (rich's refresh thread, Arrow's pools).
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    # The server imports the function's module (pandas, pyarrow...) once and
    # forks each worker from there, instead of every worker importing it anew.
    # It applies when this process starts its server, at its first map.
    target = fn.func if isinstance(fn, functools.partial) else fn
    module = getattr(target, "__module__", None)
    if module:
        context.set_forkserver_preload([module])
    return context


def _local_outcomes(
    fn: Callable[[T], R], tasks: Sequence[T], jobs: int | None, timeout_s: float | None
) -> Generator[TaskOutcome[R], None, None]:
    context = _context(fn)
    size = min(jobs or os.cpu_count() or 1, len(tasks))
    pending = deque(range(len(tasks)))
    workers: list[_Worker] = []
    try:
        while pending or any(w.index is not None for w in workers):
            busy = sum(w.index is not None for w in workers)
            while len(workers) < min(size, busy + len(pending)):
                workers.append(_Worker(context, fn))
            for worker in workers:
                if worker.started and worker.index is None and pending:
                    index = pending.popleft()
                    worker.give(index, tasks[index], timeout_s)
            deadline = min(w.deadline for w in workers)
            wait_s = None if deadline == float("inf") else max(0.0, deadline - time.monotonic())
            wait([w.conn for w in workers] + [w.process.sentinel for w in workers], wait_s)
            for worker in list(workers):
                yield from _collect(worker, timeout_s)
                if worker.conn.closed:
                    workers.remove(worker)
    finally:
        for worker in workers:
            if worker.index is None:
                worker.stop()
            else:
                worker.kill()


def _collect(worker: _Worker, timeout_s: float | None) -> Iterator[TaskOutcome]:
    """What ``worker`` has to tell now; a dead or late worker is killed (its
    connection closed)."""
    alive = worker.process.is_alive()
    # Replies first: a worker may have answered and then died.
    try:
        while worker.conn.poll():
            message = worker.conn.recv()
            if message is None:
                worker.started = True
                continue
            index, value, error = message
            worker.index = None
            worker.deadline = float("inf")
            yield TaskOutcome(index, value, error)
    except (EOFError, OSError):
        alive = False
    if not alive:
        if not worker.started:
            why = worker.death()
            worker.kill()
            raise UbscopeError(
                f"a worker process could not start ({why.removeprefix('crashed: ')}); "
                "the function must be importable from its module"
            )
        index, why = worker.index, worker.death()
        worker.kill()
        if index is not None:
            yield TaskOutcome(index, None, why)
    elif worker.index is not None and time.monotonic() >= worker.deadline:
        index = worker.index
        worker.kill()
        assert timeout_s is not None
        yield TaskOutcome(index, None, _timeout_error(timeout_s))


# Ray


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise UbscopeError(RAY_MISSING) from None
    return ray


def _ray_outcomes(
    fn: Callable[[T], R],
    tasks: Sequence[T],
    jobs: int | None,
    address: str | None,
    timeout_s: float | None,
) -> Generator[TaskOutcome[R], None, None]:
    ray = _import_ray()
    started_here = not ray.is_initialized()
    if started_here:
        try:
            ray.init(address=address, logging_level=logging.WARNING)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            where = address or "a new local cluster"
            raise UbscopeError(f"cannot start Ray at {where}: {exc}") from None
    try:
        in_flight_max = jobs or max(1, int(ray.cluster_resources().get("CPU", 1)))
        remote = ray.remote(num_cpus=1, max_retries=0)(_call)
        fn_ref = ray.put(fn)
        pending = deque(range(len(tasks)))
        in_flight: dict[Any, tuple[int, float]] = {}
        try:
            while pending or in_flight:
                while pending and len(in_flight) < in_flight_max:
                    index = pending.popleft()
                    deadline = time.monotonic() + timeout_s if timeout_s else float("inf")
                    in_flight[remote.remote(fn_ref, tasks[index])] = (index, deadline)
                nearest = min(deadline for _, deadline in in_flight.values())
                wait_s = None if nearest == float("inf") else max(0.0, nearest - time.monotonic())
                done, _ = ray.wait(list(in_flight), num_returns=1, timeout=wait_s)
                for ref in done:
                    index, _ = in_flight.pop(ref)
                    yield _ray_result(ray, ref, index)
                now = time.monotonic()
                for ref, (index, deadline) in list(in_flight.items()):
                    if now >= deadline:
                        ray.cancel(ref, force=True)
                        del in_flight[ref]
                        assert timeout_s is not None
                        yield TaskOutcome(index, None, _timeout_error(timeout_s))
        finally:
            for ref in in_flight:
                ray.cancel(ref, force=True)
    finally:
        if started_here:
            ray.shutdown()


def _call(fn: Callable[[T], R], task: T) -> R:
    # A Ray task of its own, so that any callable runs (ray.remote takes Python functions only).
    return fn(task)


def _ray_result(ray: Any, ref: Any, index: int) -> TaskOutcome:
    try:
        return TaskOutcome(index, ray.get(ref), None)
    except ray.exceptions.RayTaskError as exc:
        # The task's own exception, as the local pool reports it.
        cause = getattr(exc, "cause", None)
        return TaskOutcome(index, None, _raised_error(cause if cause is not None else exc))
    except ray.exceptions.WorkerCrashedError:
        return TaskOutcome(index, None, "crashed: worker died")
    except ray.exceptions.RayError as exc:
        first = (str(exc).strip().splitlines() or [""])[0]
        return TaskOutcome(index, None, f"crashed: {type(exc).__name__}: {first}".rstrip(": "))
