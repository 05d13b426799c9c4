"""
Property tests over random dataflow graphs (`tests/strategies.py`).

For every drawn ONNX model: each registered pass and the `parallelize` pipeline
give IR that verifies; the threaded code that the clustering passes produce
returns outputs bit for bit equal to the serial code's, and both match ONNX
Runtime; and the schedules obey their invariants (every node on exactly one lane
or cloned, lane orders respect the data dependencies, no wait cycle, the
estimated makespan never above the serial one, linear clusters are chains).

The examples are fixed (`derandomize`), so CI is repeatable; `tools/fuzz.py`
runs the same checks on thousands of fresh examples.
"""

from __future__ import annotations

import itertools
import os
import sys
from dataclasses import dataclass
from io import StringIO
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from strategies import Example, affine_chain_examples, onnx_examples
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Block

from ramiel_mlir.analysis.batch import batch_separability
from ramiel_mlir.analysis.graph import graph_dag
from ramiel_mlir.analysis.scheduling import simulate
from ramiel_mlir.api import CompiledModel, make_context, run_pipeline
from ramiel_mlir.backend.python_target import PythonTarget
from ramiel_mlir.diagnostics import RamielError
from ramiel_mlir.dialects import dfg
from ramiel_mlir.dialects.annotations import (
    COST,
    ONEDNN_GRAPH,
    PARALLEL_ESTIMATE,
    RUNTIME,
    SERIAL_ESTIMATE,
    THREADS,
    F64Annotation,
)
from ramiel_mlir.frontend.onnx import import_onnx
from ramiel_mlir.registry import get_all_passes

EXAMPLES = int(os.environ.get("RAMIEL_PROPERTY_EXAMPLES", "120"))
"""Examples per property in a test run (tools/fuzz.py runs many more)."""

PROPERTY = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

PASS_OPTIONS = {
    "estimate-cost": "estimate-cost{model=flops}",
    "parallelize": "parallelize{model=flops lanes=2}",
    "merge-clusters": "merge-clusters{lanes=2}",
}
"""Options for passes whose defaults are slow (profiling) or depend on the machine."""

ort.set_default_logger_severity(3)


# Compiling and running ------------------------------------------------------------


@dataclass
class Compiler:
    """Compiles one example's model under several pipelines (it is imported once)."""

    directory: Path
    module: ModuleOp
    count: itertools.count

    @staticmethod
    def of(example: Example, directory: Path) -> Compiler:
        """Save the example's model and import it."""
        path = directory / "model.onnx"
        onnx.save(example.model, path)
        return Compiler(directory, import_onnx(str(path)), itertools.count())

    def run(self, passes: str) -> ModuleOp:
        """A copy of the imported module after `passes` (verified after every pass)."""
        module = self.module.clone()
        run_pipeline(make_context(), module, passes)
        return module

    def python(self, module: ModuleOp) -> CompiledModel:
        """The generated code of `module`, under a name never used before (no stale .pyc)."""
        source = self.directory / f"gen{next(self.count)}.py"
        weights = source.with_suffix(".weights.pt")
        text = StringIO()
        PythonTarget(weights=str(weights)).emit(make_context(), module, text)
        source.write_text(text.getvalue())
        return CompiledModel(source, weights)


def run_generated(compiled: CompiledModel, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """The generated model's outputs on `inputs`, with one intra-op thread."""
    module = compiled.import_module()
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.no_grad():
            result = module.load_model(compiled.weights_path)(*map(torch.from_numpy, inputs))
    except Exception as error:
        # Raised here, not in the generated file, so hypothesis sees one failure
        # whichever example's file it came from.
        raise AssertionError(
            f"the generated code raised {type(error).__name__}: {error}"
        ) from error
    finally:
        torch.set_num_threads(previous)
        sys.modules.pop(module.__name__, None)
    results = result if isinstance(result, tuple) else (result,)
    return [r.numpy() for r in results]


def onnxruntime_outputs(example: Example) -> list[np.ndarray]:
    """The reference outputs."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(
        example.model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    feeds = {i.name: a for i, a in zip(session.get_inputs(), example.inputs, strict=True)}
    return [np.asarray(r) for r in session.run(None, feeds)]


def assert_bitwise_equal(actual: list[np.ndarray], expected: list[np.ndarray]) -> None:
    """Same shapes, dtypes and bits (NaN payloads and signed zeros included)."""
    assert len(actual) == len(expected)
    for index, (a, e) in enumerate(zip(actual, expected, strict=True)):
        assert a.dtype == e.dtype, f"output {index}"
        assert a.shape == e.shape, f"output {index}"
        assert a.tobytes() == e.tobytes(), (
            f"output {index} differs: max |diff| {np.nanmax(np.abs(a - e))}"
        )


def assert_matches_reference(actual: list[np.ndarray], expected: list[np.ndarray]) -> None:
    """Close to ONNX Runtime, relative to each output's magnitude."""
    assert len(actual) == len(expected)
    for index, (a, e) in enumerate(zip(actual, expected, strict=True)):
        assert a.shape == e.shape, f"output {index}: shape {a.shape}, expected {e.shape}"
        finite = np.abs(e[np.isfinite(e)])
        scale = max(1.0, float(finite.max()) if finite.size else 1.0)
        np.testing.assert_allclose(a, e, rtol=1e-4, atol=1e-5 * scale, err_msg=f"output {index}")


# The IR after clustering ----------------------------------------------------------


def graph_of(module: ModuleOp) -> dfg.GraphOp:
    """The module's only graph."""
    (graph,) = [op for op in module.ops if isinstance(op, dfg.GraphOp)]
    return graph


def lanes_of(graph: dfg.GraphOp) -> list[list[dfg.NodeOp]]:
    """Each cluster's nodes in program order, by cluster id; a flat graph is one lane."""
    clusters = sorted(
        (op for op in graph.block.ops if isinstance(op, dfg.ClusterOp)), key=lambda c: c.id
    )
    if not clusters:
        return [[op for op in graph.block.ops if isinstance(op, dfg.NodeOp)]]
    return [[op for op in c.block.ops if isinstance(op, dfg.NodeOp)] for c in clusters]


def rounds_otherwise(module: ModuleOp) -> bool:
    """
    Whether the plan of `module` may round differently from serial code: a lane or node
    on more than one intra-op thread (a kernel splits its reductions otherwise), the
    batch split into hyperclusters (PyTorch picks a convolution's algorithm by the batch
    size, docs/passes.md, hypercluster), or a lane compiled by oneDNN Graph (fused
    kernels; docs/passes.md, fuse-onednn-graph). A one-thread lane run as its plain
    TorchScript trace must stay bitwise.
    """
    for op in module.walk():
        if isinstance(op, dfg.GraphOp) and RUNTIME.get(op) == ONEDNN_GRAPH:
            return True
        if isinstance(op, dfg.ForkOp):
            return True
        if isinstance(op, dfg.ClusterOp) and op.threads is not None and op.threads.value.data > 1:
            return True
        if (THREADS.get(op) or 1) > 1:
            return True
    return False


def assert_equals_serial(
    compiler: Compiler, module: ModuleOp, inputs: list[np.ndarray], serial: list[np.ndarray]
) -> None:
    """
    The code of `module` gives bit for bit the serial code's outputs, except where the
    plan rounds otherwise (`rounds_otherwise`): there within float tolerance.
    """
    rounds = rounds_otherwise(module)  # before lowering, which rewrites `module` in place
    actual = run_generated(compiler.python(module), inputs)
    if rounds:
        assert_matches_reference(actual, serial)
    else:
        assert_bitwise_equal(actual, serial)


def assert_lane_orders_respect_dependencies(graph: dfg.GraphOp) -> None:
    """Every node reads graph values, earlier results of its own lane, or received values."""
    for cluster in (op for op in graph.block.ops if isinstance(op, dfg.ClusterOp)):
        seen: set[object] = set()
        for op in cluster.block.ops:
            for operand in op.operands:
                owner = operand.owner
                at_graph_level = (isinstance(owner, Block) and owner is graph.block) or (
                    not isinstance(owner, Block) and owner.parent_op() is graph
                )
                assert at_graph_level or owner in seen, (
                    f"{op.name} in cluster {cluster.id} reads a value not yet computed there"
                )
            seen.add(op)


def assert_no_wait_cycle(graph: dfg.GraphOp) -> None:
    """
    Run the lanes' send/recv programs round-robin: a recv proceeds once its channel
    was sent. All lanes must finish (an independent check of the verifier's proof).
    """
    programs = [
        [op for op in cluster.block.ops if isinstance(op, dfg.SendOp | dfg.RecvOp)]
        for cluster in graph.block.ops
        if isinstance(cluster, dfg.ClusterOp)
    ]
    position = [0] * len(programs)
    sent: set[str] = set()
    progress = True
    while progress:
        progress = False
        for lane, program in enumerate(programs):
            while position[lane] < len(program):
                op = program[position[lane]]
                if isinstance(op, dfg.RecvOp) and op.channel.data not in sent:
                    break
                if isinstance(op, dfg.SendOp):
                    sent.add(op.channel.data)
                position[lane] += 1
                progress = True
    stuck = [lane for lane, program in enumerate(programs) if position[lane] < len(program)]
    assert not stuck, f"lanes {stuck} wait forever"


def estimated_makespan(graph: dfg.GraphOp, edge_cost: float) -> float:
    """
    The makespan `simulate` predicts for the graph's lanes as they are in the IR
    (worker lanes start one hand-over late; the bare schedule, runtime-costs=false).
    """
    labelled = graph_dag(graph, edge_cost=edge_cost)
    lanes = [[labelled.index[node] for node in lane] for lane in lanes_of(graph)]
    return simulate(labelled.dag, lanes, start_delay=edge_cost).makespan


def node_names(module: ModuleOp) -> list[str]:
    """The ONNX names of the module's nodes, wherever they are."""
    return [op.node_name for op in module.walk() if isinstance(op, dfg.NodeOp)]


# Properties -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory for the generated files of this module's examples."""
    return tmp_path_factory.mktemp("properties")


def _example_dir(work: Path) -> Path:
    directory = work / f"ex{len(list(work.iterdir()))}"
    directory.mkdir()
    return directory


COSTS = "estimate-cost{model=flops}"

FOLDED = (
    "fold-constants,fold-batchnorm,dce,cse,fuse-channel-shuffle,assign-layout,"
    "fuse-conv-activation,fuse-sibling-convs,prepack-weights"
)
"""
The passes of `parallelize` before its scheduling passes: they change how nodes
compute (folded weights, memory formats, fused activations, oneDNN kernels), so
parallel code equals their serial code.
"""


def clustering(lanes: int, edge_cost: float, clone_threshold: float | None = None) -> str:
    """
    Costs, linear clusters and `lanes` lanes (always used: min-gain 0, bare schedule),
    then clone and dce.
    """
    passes = (
        f"{COSTS},linear-cluster{{edge-cost={edge_cost}}},"
        f"merge-clusters{{lanes={lanes} edge-cost={edge_cost} min-gain=0.0 runtime-costs=false}}"
    )
    if clone_threshold is not None:
        passes += f",clone{{threshold={clone_threshold}}},dce"
    return passes


@PROPERTY
@given(example=onnx_examples())
def test_every_pass_gives_verified_ir(work: Path, example: Example) -> None:
    """
    Each registered pass leaves IR that verifies: on the imported graph (where a
    pass that needs costs may refuse with a one-line RamielError), after
    estimate-cost, and on clustered graphs.
    """
    compiler = Compiler.of(example, _example_dir(work))
    for name in sorted(get_all_passes()):
        passes = PASS_OPTIONS.get(name, name)
        try:
            compiler.run(passes)
        except RamielError as error:
            refusal = str(error)
        else:
            refusal = ""
        assert not refusal or "run estimate-cost first" in refusal
        compiler.run(f"{COSTS},{passes}")
    clustered = clustering(lanes=3, edge_cost=0.0)
    for name in ("clone{threshold=5.0}", "dce", "cse", "canonicalize", COSTS, "linear-cluster"):
        compiler.run(f"{clustered},{name}")


@PROPERTY
@given(
    example=onnx_examples(),
    lanes=st.integers(2, 4),
    edge_cost=st.sampled_from([0.0, 0.5, 2.0, 50.0]),
    clone_threshold=st.sampled_from([0.0, 1.08, 5.0]),
)
def test_parallel_code_is_bitwise_serial_and_matches_onnxruntime(
    work: Path, example: Example, lanes: int, edge_cost: float, clone_threshold: float
) -> None:
    """
    Serial code matches ONNX Runtime, before and after fold-batchnorm and with every
    region channels-last; threaded code equals the serial code of the same graph bit for bit.
    """
    compiler = Compiler.of(example, _example_dir(work))
    reference = onnxruntime_outputs(example)
    assert_matches_reference(
        run_generated(compiler.python(compiler.run("")), example.inputs), reference
    )
    # The parallel pipelines fold BatchNormalization (new weights, other rounding):
    # serial code of the folded graph is what they must equal bit for bit.
    serial = run_generated(compiler.python(compiler.run(FOLDED)), example.inputs)
    assert_matches_reference(serial, reference)
    for passes in (
        "parallelize{model=flops lanes=2}",
        f"{FOLDED},{clustering(lanes, edge_cost, clone_threshold)}",
    ):
        module = compiler.run(passes)
        event(f"{passes.split('{')[0]}: {len(lanes_of(graph_of(module)))} lanes")
        assert_equals_serial(compiler, module, example.inputs, serial)
    # Every image region channels-last: still ONNX Runtime's values, and its lanes are
    # its serial code's.
    layout = f"{FOLDED},assign-layout{{mode=channels-last}}"
    serial = run_generated(compiler.python(compiler.run(layout)), example.inputs)
    assert_matches_reference(serial, reference)
    module = compiler.run(f"{layout},{clustering(lanes, edge_cost, clone_threshold)}")
    assert_equals_serial(compiler, module, example.inputs, serial)


@PROPERTY
@given(example=affine_chain_examples())
def test_fold_batchnorm_matches_onnxruntime(work: Path, example: Example) -> None:
    """Conv/Gemm chains through fold-batchnorm verify, match ONNX Runtime and run on lanes."""
    compiler = Compiler.of(example, _example_dir(work))
    folded = compiler.run(FOLDED)
    event(f"fold-batchnorm: {len(node_names(folded))} nodes")
    serial = run_generated(compiler.python(folded), example.inputs)
    assert_matches_reference(serial, onnxruntime_outputs(example))
    parallel = compiler.run("parallelize{model=flops lanes=2}")
    assert_equals_serial(compiler, parallel, example.inputs, serial)


def _estimate(graph: dfg.GraphOp, annotation: F64Annotation) -> float:
    value = annotation.get(graph)
    assert value is not None
    return value


@PROPERTY
@given(example=onnx_examples(), lanes=st.integers(2, 4), edge_cost=st.sampled_from([0.0, 2.0]))
def test_schedules_keep_their_invariants(
    work: Path, example: Example, lanes: int, edge_cost: float
) -> None:
    """Linear clusters are chains; merged lanes hold every node once, in a runnable order."""
    compiler = Compiler.of(example, _example_dir(work))
    names = sorted(node_names(compiler.module))

    linear = graph_of(compiler.run(f"{COSTS},linear-cluster{{edge-cost={edge_cost}}}"))
    for chain in lanes_of(linear):
        for before, after in itertools.pairwise(chain):
            assert any(v.owner is before for v in after.inputs), (
                f"cluster not a chain: {after.node_name} does not read {before.node_name}"
            )
    assert sorted(n.node_name for lane in lanes_of(linear) for n in lane) == names

    merge = f"merge-clusters{{lanes={lanes} edge-cost={edge_cost}}}"
    for passes in (f"{COSTS},linear-cluster{{edge-cost={edge_cost}}},{merge}", f"{COSTS},{merge}"):
        graph = graph_of(compiler.run(passes))
        placed = lanes_of(graph)
        assert len(placed) <= lanes
        assert sorted(n.node_name for lane in placed for n in lane) == names
        assert_lane_orders_respect_dependencies(graph)
        assert_no_wait_cycle(graph)
        parallel = _estimate(graph, PARALLEL_ESTIMATE)
        assert parallel <= _estimate(graph, SERIAL_ESTIMATE)
        assert estimated_makespan(graph, edge_cost) == pytest.approx(parallel, abs=0.06)

    cloned = graph_of(compiler.run(f"{COSTS},{merge},clone{{threshold=1.08}},dce"))
    assert_lane_orders_respect_dependencies(cloned)
    assert_no_wait_cycle(cloned)
    copies: dict[str, int] = {}
    for node in (n for lane in lanes_of(cloned) for n in lane):
        copies[node.node_name] = copies.get(node.node_name, 0) + 1
        if copies[node.node_name] > 1:
            cost = COST.get(node)
            assert cost is not None
            assert cost <= 1.08
            assert dfg.is_deterministic(node)
    assert sorted(copies) == names

    parallel_graph = graph_of(compiler.run("parallelize{model=flops lanes=2}"))
    assert_lane_orders_respect_dependencies(parallel_graph)
    assert_no_wait_cycle(parallel_graph)
    assert _estimate(parallel_graph, PARALLEL_ESTIMATE) <= _estimate(
        parallel_graph, SERIAL_ESTIMATE
    )


# Hyperclustering ------------------------------------------------------------------


def _batched_positions(
    graph: dfg.GraphOp, batched: frozenset[object]
) -> tuple[list[int], list[int]]:
    """The positions of the graph inputs and outputs that carry the batch."""
    output = graph.block.last_op
    assert isinstance(output, dfg.OutputOp)
    inputs = [i for i, a in enumerate(graph.block.args) if a in batched]
    outputs = [i for i, v in enumerate(output.outputs) if v in batched]
    return inputs, outputs


@PROPERTY
@given(example=onnx_examples(), seed=st.integers(0, 2**16))
def test_batch_separability_is_sound(work: Path, example: Example, seed: int) -> None:
    """
    Where the analysis says the batch separates, entry 0 of every batched output
    depends only on entry 0 of the batched inputs (ONNX Runtime, the other entries
    redrawn); and hypercluster leaves every other graph exactly as it was.
    """
    compiler = Compiler.of(example, _example_dir(work))
    path_module = compiler.run("")
    graph = graph_of(path_module)
    found = batch_separability(graph)
    event("separable" if found.separable else "not separable")
    if not found.separable:
        before = str(path_module)
        run_pipeline(make_context(), path_module, "hypercluster{parts=2}")
        assert str(path_module) == before
        return
    inputs, outputs = _batched_positions(graph, found.batched)
    rng = np.random.default_rng(seed)
    redrawn = [a.copy() for a in example.inputs]
    for position in inputs:
        redrawn[position][1:] = rng.standard_normal(redrawn[position][1:].shape)
    expected = onnxruntime_outputs(example)
    produced = onnxruntime_outputs(Example(example.model, redrawn))
    for position in outputs:
        np.testing.assert_allclose(
            produced[position][:1], expected[position][:1], rtol=1e-5, atol=1e-6
        )


@PROPERTY
@given(example=onnx_examples(), parts=st.integers(2, 5))
def test_hyperclusters_match_serial_code(work: Path, example: Example, parts: int) -> None:
    """Split into `parts` slices on two forced lanes, a separable graph gives the serial outputs."""
    compiler = Compiler.of(example, _example_dir(work))
    graph = graph_of(compiler.module)
    found = batch_separability(graph)
    if not found.separable:
        return
    read = [a for a in graph.block.args if a in found.batched and a.uses]
    serial = run_generated(compiler.python(compiler.run("")), example.inputs)
    split = compiler.run(f"hypercluster{{parts={parts}}},{clustering(2, 0.0)}")
    forks = [op for op in graph_of(split).block.ops if isinstance(op, dfg.ForkOp)]
    assert len(forks) == len(read)
    assert all(len(f.slices) == min(parts, found.batch) for f in forks)
    event(f"{len(lanes_of(graph_of(split)))} lanes")
    assert_matches_reference(run_generated(compiler.python(split), example.inputs), serial)
