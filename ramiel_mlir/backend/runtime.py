"""
The lane runtime that threaded generated code carries (printed verbatim).

Generated files are self-contained (torch and the standard library only), so the
few lines that run lanes on threads are part of every threaded file rather than
an import. `_Lanes.run` starts lanes 1..n-1 on worker threads created once, runs
lane 0 on the calling thread, and returns lane 0's result. The first exception
raised in any lane fails every pending channel, so no lane stays blocked, and is
re-raised to the caller once all lanes have stopped.
"""

IMPORTS = ("concurrent.futures", ("Future", "InvalidStateError", "ThreadPoolExecutor", "wait"))
"""The `from ... import ...` that the runtime needs."""

RUNTIME = '''\
class _Channels:
    """The values that cross lanes during one call: one future per channel."""

    def __init__(self, names: tuple[str, ...]) -> None:
        self.error: BaseException | None = None
        for name in names:
            setattr(self, name, Future())

    def fail(self, error: BaseException) -> None:
        """Record the first error and wake every lane waiting for a value."""
        if self.error is None:
            self.error = error
        for future in vars(self).values():
            if isinstance(future, Future):
                try:
                    future.set_exception(self.error)
                except InvalidStateError:
                    pass  # already set: its value was delivered


class _Lanes:
    """Lanes 1..n-1 on worker threads started once; lane 0 runs on the caller."""

    def __init__(self, workers: int, threads: int) -> None:
        self.threads = threads
        self.pool = ThreadPoolExecutor(
            workers, "ramiel-lane", initializer=torch.set_num_threads, initargs=(threads,)
        )

    def run(self, channels: tuple[str, ...], lanes: list, *inputs: torch.Tensor):
        ch = _Channels(channels)
        workers = [self.pool.submit(self._guard, lane, ch, inputs) for lane in lanes[1:]]
        previous = torch.get_num_threads()
        torch.set_num_threads(self.threads)
        try:
            result = self._guard(lanes[0], ch, inputs)
        except BaseException:
            result = None
        finally:
            torch.set_num_threads(previous)
            wait(workers)
        if ch.error is not None:
            raise ch.error
        return result

    @staticmethod
    def _guard(lane, ch: _Channels, inputs: tuple[torch.Tensor, ...]):
        try:
            return lane(ch, *inputs)
        except BaseException as error:
            ch.fail(error)
            raise
'''
