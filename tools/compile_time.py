"""
Compile time of `ramiel-opt --parallelize` on large generated graphs.

Builds a random layered ONNX graph of `--nodes` nodes (small MatMul, Add, Relu,
Tanh, Mul and Concat-free fan-in through Add, with fan-out and long chains),
then times the real command line, per cost model:

    python tools/compile_time.py --nodes 3000
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

WIDTH = 32


def random_graph(nodes: int, seed: int = 0) -> onnx.ModelProto:
    """A DAG of `nodes` ONNX nodes on 1x32 tensors: chains, forks and joins."""
    rng = random.Random(seed)
    weights = [
        numpy_helper.from_array(
            np.random.default_rng(i).standard_normal((WIDTH, WIDTH)).astype(np.float32) * 0.1,
            f"w{i}",
        )
        for i in range(8)
    ]
    values = ["x"]
    graph_nodes: list[onnx.NodeProto] = []
    for index in range(nodes):
        # Read recent values mostly (long chains), sometimes older ones (forks/joins).
        def pick() -> str:
            window = values[-8:] if rng.random() < 0.8 else values
            return rng.choice(window)

        kind = rng.choice(["MatMul", "Add", "Relu", "Tanh", "Mul"])
        output = f"v{index}"
        if kind == "MatMul":
            inputs = [pick(), f"w{rng.randrange(len(weights))}"]
        elif kind in ("Add", "Mul"):
            inputs = [pick(), pick()]
        else:
            inputs = [pick()]
        graph_nodes.append(helper.make_node(kind, inputs, [output], name=f"n{index}"))
        values.append(output)
    read = {name for node in graph_nodes for name in node.input}
    outputs = [v for v in values[1:] if v not in read]
    graph = helper.make_graph(
        graph_nodes,
        "generated",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, WIDTH])],
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, [1, WIDTH]) for name in outputs],
        weights,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nodes", type=int, nargs="*", default=[3000])
    parser.add_argument("--models", nargs="*", default=["flops", "profile"])
    args = parser.parse_args()
    ramiel_opt = str(Path(sys.executable).with_name("ramiel-opt"))
    with tempfile.TemporaryDirectory() as directory:
        for count in args.nodes:
            path = Path(directory) / f"generated_{count}.onnx"
            onnx.save(random_graph(count), path)
            for model in args.models:
                out = Path(directory) / f"generated_{count}_{model}.py"
                begin = time.perf_counter()
                subprocess.run(
                    [
                        ramiel_opt,
                        str(path),
                        f"--parallelize=lanes=2,model={model}",
                        "-t",
                        "python",
                        "-o",
                        str(out),
                    ],
                    check=True,
                )
                seconds = time.perf_counter() - begin
                header = out.read_text().splitlines()[0]
                print(f"{count} nodes, estimate-cost{{model={model}}}: {seconds:.2f} s   {header}")


if __name__ == "__main__":
    main()
