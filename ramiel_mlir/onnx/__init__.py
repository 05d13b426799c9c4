"""
The ONNX layer: what the compiler knows about ONNX, below every dialect and pass.

- `schema`: operator schemas and which nodes are deterministic;
- `attributes`: ONNX attributes <-> the xDSL builtin attributes that `dfg.node`
  holds them in <-> plain Python values;
- `evaluate`: the one compile-time evaluator (ONNX's reference implementation),
  used by `fold-constants` and the frontend's shape resolution;
- `support`: the operators the compiler lowers to PyTorch (the frontend's check).

Its modules import onnx, numpy, xDSL's builtin attributes and `ramiel_mlir.tensors`
(element types), never a dialect, a pass or the backend (tests/test_layering.py).
"""
