"""
Ramiel-MLIR as an ONNX backend (`onnx.backend.base.Backend`).

`prepare` compiles the model in-process with `ramiel_mlir.api.compile_onnx` into
generated PyTorch code and loads it; `run` calls the generated `Model`. The module
itself is the serial backend, as ONNX backends are used:

    import onnx.backend.test
    import ramiel_mlir.onnx_backend

    backend_test = onnx.backend.test.BackendTest(ramiel_mlir.onnx_backend, __name__)
    globals().update(backend_test.test_cases)

Inputs and outputs take the forms onnx's backend test runner uses: numpy
arrays (of `str`, dtype object, for ONNX STRING tensors), lists of arrays for
ONNX sequences, and the value or None for ONNX optionals. The generated code
gets them as torch tensors, numpy arrays of `str`, lists and None.

`ParallelBackend` compiles with the parallelize pipeline on two lanes, and
`prepare(model, lanes=N)` does so for any N. A model that the compiler does not
handle raises `RamielError` in `prepare`, with a message that names the node and
the operator, opset or attribute.

`prepare(model, input_shapes={"x": [4, 3, 224, 224]})` fixes symbolic input
dimensions, as `--input-shape` does.

Empty tensors: `ramiel-opt` reads a 0 dimension declared by a model as unknown
(older exporters wrote 0 for a dynamic size) and asks for `--input-shape`. A
backend, though, is handed a model to run on inputs of its declared shapes, so
`prepare` states the declared shape of every input with a 0 dimension explicitly
(`input_shapes=` of `compile_onnx`), and the model compiles for empty tensors.
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import onnx
import torch
from onnx.backend.base import Backend, BackendRep, namedtupledict

from ramiel_mlir.api import CompiledModel, compile_onnx
from ramiel_mlir.diagnostics import RamielError
from ramiel_mlir.tensors import element_type_from_onnx, numpy_from_torch, torch_from_numpy

Inputs = Sequence[Any] | Mapping[str, Any] | np.ndarray


def _graph_inputs(model: onnx.ModelProto) -> list[onnx.ValueInfoProto]:
    """The run-time inputs (old IR versions also list initializers)."""
    initializers = {t.name for t in model.graph.initializer}
    return [i for i in model.graph.input if i.name not in initializers]


def _empty_input_shapes(model: onnx.ModelProto) -> dict[str, list[int]]:
    """The declared shapes of the run-time inputs that have a 0 dimension, stated as such."""
    shapes: dict[str, list[int]] = {}
    for value in _graph_inputs(model):
        if not value.type.HasField("tensor_type"):
            continue  # a sequence or an optional: no shape to state
        dims = value.type.tensor_type.shape.dim
        if not all(d.HasField("dim_value") for d in dims):
            continue  # a symbolic size, which the frontend reports
        shape = [d.dim_value for d in dims]
        if 0 in shape:
            shapes[value.name] = shape
    return shapes


def _tensor(value: Any) -> torch.Tensor:
    """
    An input as a torch tensor (ONNX TensorProtos and numpy scalars included),
    of the dtype the generated code holds its element type in.
    """
    if isinstance(value, onnx.TensorProto):
        value = onnx.numpy_helper.to_array(value)
    if isinstance(value, torch.Tensor):
        return value
    array = np.asarray(value)
    if not (array.flags.c_contiguous and array.flags.writeable):
        # (np.ascontiguousarray would make a 0-d array 1-d.)
        array = array.copy(order="C")
    return torch_from_numpy(array)


def _strings(value: Any) -> np.ndarray:
    """A string tensor as the generated code takes it: a new numpy array of `str`."""
    if isinstance(value, onnx.TensorProto):
        value = onnx.numpy_helper.to_array(value)
    array = np.array(value, dtype=object)
    for index, item in np.ndenumerate(array):
        if isinstance(item, bytes):
            array[index] = item.decode("utf-8")
    return array


def _input(value: Any, t: onnx.TypeProto) -> Any:
    """An input in the form the generated code takes for its ONNX type."""
    kind = t.WhichOneof("value")
    if kind == "optional_type":
        return None if value is None else _input(value, t.optional_type.elem_type)
    if kind == "sequence_type":
        return [_input(v, t.sequence_type.elem_type) for v in value]
    if kind == "tensor_type" and t.tensor_type.elem_type == onnx.TensorProto.STRING:
        return _strings(value)
    return _tensor(value)


def _output(result: Any, t: onnx.TypeProto) -> Any:
    """
    A result as onnx's runner compares it: a numpy array of the graph output's
    element type (ml_dtypes' included; `str` objects for strings), a list of
    them for a sequence, None for an empty optional.
    """
    kind = t.WhichOneof("value")
    if kind == "optional_type":
        return None if result is None else _output(result, t.optional_type.elem_type)
    if kind == "sequence_type":
        return [_output(r, t.sequence_type.elem_type) for r in result]
    if isinstance(result, np.ndarray):  # a string tensor
        return result
    element = element_type_from_onnx(t.tensor_type.elem_type)
    if element is None:
        return result.numpy(force=True)
    return numpy_from_torch(result, element)


class RamielRep(BackendRep):
    """A compiled model: the generated `Model`, loaded, and where its files are."""

    def __init__(
        self,
        compiled: CompiledModel,
        module: torch.nn.Module,
        inputs: Sequence[onnx.ValueInfoProto],
        outputs: Sequence[onnx.ValueInfoProto],
        temporary: bool = False,
    ) -> None:
        self.compiled = compiled
        self.module = module
        self.inputs = list(inputs)
        self.input_names = [i.name for i in inputs]
        self.outputs = list(outputs)
        self.output_names = [o.name for o in outputs]
        if temporary:
            # Kept while the rep lives, so that tracebacks show the generated lines.
            directory = compiled.source_path.parent
            weakref.finalize(self, shutil.rmtree, directory, ignore_errors=True)

    @property
    def source(self) -> str:
        """The generated Python source."""
        return self.compiled.source

    def run(self, inputs: Inputs, **kwargs: Any) -> tuple[Any, ...]:
        """
        Run the model on `inputs`: a list in graph-input order, a name -> value
        mapping, or one array for a one-input graph. Returns numpy arrays (lists
        of them for sequences, None for an empty optional) in graph-output order
        (also reachable by output name).
        """
        if kwargs:
            raise TypeError(f"unexpected run options: {', '.join(kwargs)}")
        if isinstance(inputs, Mapping):
            missing = [n for n in self.input_names if n not in inputs]
            if missing:
                raise ValueError(f"missing inputs: {', '.join(missing)}")
            values = [inputs[n] for n in self.input_names]
        elif isinstance(inputs, np.ndarray | torch.Tensor):
            values = [inputs]
        else:
            values = list(inputs)
        if len(values) != len(self.input_names):
            raise ValueError(f"the model takes {len(self.input_names)} inputs, got {len(values)}")
        with torch.inference_mode():
            args = [_input(v, i.type) for v, i in zip(values, self.inputs, strict=True)]
            results = self.module(*args)
        if len(self.outputs) == 1:
            results = (results,)
        arrays = [_output(r, o.type) for r, o in zip(results, self.outputs, strict=True)]
        return namedtupledict("Outputs", self.output_names)(*arrays)  # type: ignore[no-any-return]


class RamielBackend(Backend):
    """
    The serial backend: `ramiel-opt model.onnx -t python` in-process.

    Options of `prepare`: `lanes=N` compiles with `parallelize{lanes=N}`
    (`lanes` class attribute by default; None is serial), `passes` runs an xDSL
    pipeline first, `cost_model` and `machine` are parallelize's `model` (`flops`
    by default: profiling every node is for real models) and `machine` (`auto`
    by default: this machine's calibration), `out_dir` keeps the generated files there.
    Inputs declared with a 0 dimension are compiled for empty tensors (their
    declared shapes are stated as `input_shapes`).
    """

    lanes: ClassVar[int | None] = None

    @classmethod
    def is_compatible(cls, model: onnx.ModelProto, device: str = "CPU", **kwargs: Any) -> bool:
        """Whether `prepare` accepts the model (it compiles it to find out)."""
        try:
            cls.prepare(model, device, **kwargs)
        except RamielError:
            return False
        return True

    @classmethod
    def prepare(cls, model: onnx.ModelProto, device: str = "CPU", **kwargs: Any) -> RamielRep:
        """Compile `model` to PyTorch code and load it."""
        if not cls.supports_device(device):
            raise RamielError(f"device '{device}' is not supported (only CPU)")
        passes = str(kwargs.pop("passes", ""))
        lanes = kwargs.pop("lanes", cls.lanes)
        cost_model = str(kwargs.pop("cost_model", "flops"))
        machine = str(kwargs.pop("machine", "auto"))
        out_dir = kwargs.pop("out_dir", None)
        shapes = _empty_input_shapes(model)
        stated = kwargs.pop("input_shapes", None) or {}
        shapes.update({str(name): [int(d) for d in dims] for name, dims in dict(stated).items()})
        if kwargs:
            raise TypeError(f"unexpected backend options: {', '.join(kwargs)}")
        temporary = out_dir is None
        directory = Path(tempfile.mkdtemp(prefix="ramiel-backend-") if temporary else out_dir)
        path = directory / "model.onnx"
        try:
            compiled = compile_onnx(
                model,
                passes,
                directory,
                input_shapes=shapes,
                lanes=lanes,
                cost_model=cost_model,
                machine=machine,
            )
            module = compiled.load()
        except RamielError as error:
            # The model was written to a temporary file: the message names the model instead.
            message = str(error).replace(f"{path}: ", "").replace(str(path), "the model")
            raise RamielError(message) from None
        finally:
            if temporary and "module" not in locals():
                shutil.rmtree(directory, ignore_errors=True)
        outputs = list(model.graph.output)
        return RamielRep(compiled, module, _graph_inputs(model), outputs, temporary)

    @classmethod
    def run_model(
        cls, model: onnx.ModelProto, inputs: Inputs, device: str = "CPU", **kwargs: Any
    ) -> tuple[Any, ...]:
        """Compile and run once."""
        return cls.prepare(model, device, **kwargs).run(inputs)

    @classmethod
    def run_node(
        cls,
        node: onnx.NodeProto,
        inputs: Inputs,
        device: str = "CPU",
        outputs_info: Sequence[tuple[np.dtype, tuple[int, ...]]] | None = None,
        **kwargs: Any,
    ) -> tuple[Any, ...]:
        """Run one node: a model of it with the inputs' types (`opset_version=N`: its opset)."""
        opset = int(kwargs.pop("opset_version", onnx.defs.onnx_opset_version()))
        names = [n for n in node.input if n]
        if isinstance(inputs, Mapping):
            arrays = [np.asarray(inputs[n]) for n in names]
        else:
            arrays = [np.asarray(v) for v in inputs]
        graph_inputs = [
            onnx.helper.make_tensor_value_info(
                name, onnx.helper.np_dtype_to_tensor_dtype(a.dtype), a.shape
            )
            for name, a in zip(names, arrays, strict=True)
        ]
        graph = onnx.helper.make_graph([node], "node", graph_inputs, [])
        model = onnx.helper.make_model(
            graph, opset_imports=[onnx.helper.make_opsetid(node.domain, opset)]
        )
        # The outputs' types: given, or inferred from the inputs'.
        inferred = {v.name: v for v in onnx.shape_inference.infer_shapes(model).graph.value_info}
        for index, name in enumerate(node.output):
            if outputs_info is not None:
                dtype, shape = outputs_info[index]
                element = onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
                model.graph.output.append(onnx.helper.make_tensor_value_info(name, element, shape))
            elif name in inferred:
                model.graph.output.append(inferred[name])
            else:
                raise RamielError(
                    f"node '{node.name or name}': the type of output '{name}' is unknown"
                )
        return cls.prepare(model, device, **kwargs).run(arrays)

    @classmethod
    def supports_device(cls, device: str) -> bool:
        """The generated code runs on the CPU."""
        return device.upper().split(":")[0] == "CPU"


class ParallelBackend(RamielBackend):
    """The backend that compiles with the parallelize pipeline on two lanes."""

    lanes: ClassVar[int | None] = 2


is_compatible = RamielBackend.is_compatible
prepare = RamielBackend.prepare
run_model = RamielBackend.run_model
run_node = RamielBackend.run_node
supports_device = RamielBackend.supports_device
