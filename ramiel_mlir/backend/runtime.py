"""
The runtime helpers that generated code carries (printed verbatim).

Generated files are self-contained (torch and the standard library only), so the
few lines they need at run time are part of every file rather than an import.

`CHECK_INPUT` is in every file: `forward` starts with one `_check_input` per
input, so an input of another shape or dtype than the graph was compiled for is
one clear error before any node runs (the code is specialised to static shapes;
broadcasting could otherwise turn a wrong shape into a wrong answer).
Inputs that are not tensors of a torch dtype have their own checks, in the files
that take them: `CHECK_STRINGS` for ONNX STRING tensors (numpy arrays of `str`),
`CHECK_SEQUENCE` for ONNX sequences (lists of tensors, whose shapes may vary
where the type leaves a dimension or the rank unknown) and `CHECK_OPTIONAL` for
ONNX optionals (`None`, or a value that the check it is given accepts).

`WITH_THREADS` is in every file planned by merge-clusters: lane 0 runs with
the intra-op thread count it was planned with (one lane on every core, or one
thread when the ops are too small to share), and the caller's count is restored.

`RUNTIME` is in threaded files. `_Lanes.run` starts lanes 1..n-1 on worker
threads created once, runs lane 0 on the calling thread, and returns lane 0's
result. The first exception raised in any lane gets a note naming the ONNX node
that raised it (read from the comment above the failing line, so the lanes'
code pays nothing for it), fails every pending channel, so no lane stays
blocked, and is re-raised to the caller once all lanes have stopped. A call's
lanes are queued together, so concurrent calls cannot each hold a worker while
waiting for lanes stuck behind the other call in the queue.
"""

IMPORTS = (
    ("concurrent.futures", ("Future", "InvalidStateError", "ThreadPoolExecutor", "wait")),
    ("linecache", None),
    ("threading", None),
)
"""The imports the threaded runtime needs: `(module, names)` is `from module import names`,
`(module, None)` is `import module`."""

CHECK_INPUT = '''\
def _check_input(name: str, value: torch.Tensor, shape: tuple[int, ...], dtype: torch.dtype):
    """Reject an input this code was not compiled for, before any node runs."""
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"input '{name}' must be a torch.Tensor, got {type(value).__name__}")
    if value.shape != shape or value.dtype != dtype:
        raise ValueError(
            f"input '{name}' must be a {dtype} tensor of shape {list(shape)}, "
            f"got a {value.dtype} tensor of shape {list(value.shape)}"
        )
'''

CHECK_STRINGS = '''\
def _check_strings(name: str, value: np.ndarray, shape: tuple[int, ...]):
    """Reject a string input this code was not compiled for: a numpy array of str of `shape`."""
    if not isinstance(value, np.ndarray) or value.dtype != object:
        got = value.dtype if isinstance(value, np.ndarray) else type(value).__name__
        raise TypeError(f"input '{name}' must be a numpy array of str (dtype object), got {got}")
    if value.shape != shape:
        raise ValueError(
            f"input '{name}' must be a string array of shape {list(shape)}, "
            f"got shape {list(value.shape)}"
        )
    for item in value.flat:
        if not isinstance(item, str):
            raise TypeError(f"input '{name}' must hold str elements, got {type(item).__name__}")
'''

CHECK_SEQUENCE = '''\
def _check_sequence(name: str, value: list, shape: tuple | None, dtype: torch.dtype):
    """
    Reject a sequence input this code was not compiled for: a list of `dtype` tensors
    of `shape`, where None leaves the rank (for `shape`) or a dimension free.
    """
    if not isinstance(value, list):
        raise TypeError(f"input '{name}' must be a list of tensors, got {type(value).__name__}")
    for index, item in enumerate(value):
        if not isinstance(item, torch.Tensor):
            raise TypeError(
                f"input '{name}'[{index}] must be a torch.Tensor, got {type(item).__name__}"
            )
        fits = shape is None or (
            len(item.shape) == len(shape)
            and all(want is None or want == got for want, got in zip(shape, item.shape))
        )
        if item.dtype != dtype or not fits:
            dims = None if shape is None else ["?" if d is None else d for d in shape]
            want = "any shape" if dims is None else f"shape {dims}"
            raise ValueError(
                f"input '{name}'[{index}] must be a {dtype} tensor of {want}, "
                f"got a {item.dtype} tensor of shape {list(item.shape)}"
            )
'''

CHECK_OPTIONAL = '''\
def _check_optional(name: str, value, check, *expected):
    """Accept None (an empty ONNX optional), else what `check(name, value, *expected)` accepts."""
    if value is not None:
        check(name, value, *expected)
'''

WITH_THREADS = '''\
def _with_threads(threads: int, lane, *args):
    """Run `lane` with the intra-op thread count it was planned with, then restore the caller's."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return lane(*args)
    finally:
        torch.set_num_threads(previous)
'''

RUNTIME = '''\
_FAILING = threading.Lock()


class _Channels:
    """The values that cross lanes during one call: one future per channel."""

    def __init__(self, names: tuple[str, ...]) -> None:
        self.error: BaseException | None = None
        for name in names:
            setattr(self, name, Future())

    def fail(self, error: BaseException) -> None:
        """Record the first error and wake every lane waiting for a value."""
        with _FAILING:
            if self.error is None:
                self.error = error
        for future in vars(self).values():
            if isinstance(future, Future):
                try:
                    future.set_exception(self.error)
                except InvalidStateError:
                    pass  # already set: its value was delivered


def _name_failing_node(error: BaseException, lane) -> None:
    """Note on `error` which ONNX node of `lane` raised it: the comment above the failing line."""
    code = lane.__code__
    trace = error.__traceback__
    while trace is not None and trace.tb_frame.f_code is not code:
        trace = trace.tb_next
    if trace is None:
        return
    where = f"lane {lane.__name__.removeprefix('_lane')}, line {trace.tb_lineno}"
    for number in range(trace.tb_lineno, code.co_firstlineno, -1):
        line = linecache.getline(code.co_filename, number).strip()
        if line.startswith("# "):
            node, _, op_type = line[2:].rpartition(" (")
            error.add_note(f"in ONNX node '{node}' ({op_type}, {where}")
            return
    error.add_note(f"in {where}")


class _Lanes:
    """Lanes 1..n-1 on worker threads started once; lane 0 runs on the caller."""

    def __init__(self, workers: int, threads: int) -> None:
        self.threads = threads
        self.pool = ThreadPoolExecutor(
            workers, "ramiel-lane", initializer=torch.set_num_threads, initargs=(threads,)
        )
        self.queueing = threading.Lock()

    def run(self, channels: tuple[str, ...], lanes: list, *inputs: torch.Tensor):
        ch = _Channels(channels)
        workers = []
        result = None
        try:
            with self.queueing:  # one call's lanes stay together in the queue
                for lane in lanes[1:]:
                    workers.append(self.pool.submit(self._guard, lane, ch, inputs))
            result = _with_threads(self.threads, self._guard, lanes[0], ch, inputs)
        except BaseException as error:
            ch.fail(error)  # also when a lane could not be queued: wake the queued ones
        finally:
            wait(workers)
        if ch.error is not None:
            raise ch.error
        return result

    @staticmethod
    def _guard(lane, ch: _Channels, inputs: tuple[torch.Tensor, ...]):
        try:
            return lane(ch, *inputs)
        except BaseException as error:
            if error is not ch.error:  # raised here, not received from another lane
                _name_failing_node(error, lane)
            ch.fail(error)
            raise
'''
