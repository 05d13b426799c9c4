"""
Lazy registries of the project's dialects, frontends, passes and targets.

Each entry is a function that imports what it names, so that `ramiel-opt` starts
fast and imports neither torch nor onnx for a job that does not need them.
"""

from collections.abc import Callable
from importlib import import_module

from xdsl.ir import Dialect
from xdsl.passes import ModulePass
from xdsl.utils.frontend import Frontend
from xdsl.utils.target import Target


def get_all_dialects() -> dict[str, Callable[[], Dialect]]:
    """The dialects ramiel-opt parses: builtin and the project's own."""

    def get_builtin() -> Dialect:
        from xdsl.dialects.builtin import Builtin

        return Builtin

    def get_dfg() -> Dialect:
        from ramiel_mlir.dialects.dfg import DFG

        return DFG

    def get_py() -> Dialect:
        from ramiel_mlir.dialects.py import PY

        return PY

    return {"builtin": get_builtin, "dfg": get_dfg, "py": get_py}


def _lazy_pass(module: str, name: str) -> Callable[[], type[ModulePass]]:
    """A function that imports `ramiel_mlir.transforms.<module>` and returns its pass `name`."""

    def get() -> type[ModulePass]:
        return getattr(import_module(f"ramiel_mlir.transforms.{module}"), name)

    return get


def get_all_frontends() -> dict[str, Callable[[], type[Frontend]]]:
    """File extension -> a function returning the frontend class that reads such files."""

    def get_mlir() -> type[Frontend]:
        from xdsl.frontend import get_all_frontends as get_xdsl_frontends

        return get_xdsl_frontends()["mlir"]()

    def get_onnx() -> type[Frontend]:
        from ramiel_mlir.frontend.onnx import OnnxFrontend

        return OnnxFrontend

    return {"mlir": get_mlir, "onnx": get_onnx}


def get_all_passes() -> dict[str, Callable[[], type[ModulePass]]]:
    """Pass name -> a function returning the pass class."""

    def get_canonicalize() -> type[ModulePass]:
        from xdsl.transforms.canonicalize import CanonicalizePass

        return CanonicalizePass

    def get_convert_dfg_to_py() -> type[ModulePass]:
        from ramiel_mlir.transforms.convert_dfg_to_py import ConvertDfgToPyPass

        return ConvertDfgToPyPass

    def get_cse() -> type[ModulePass]:
        from xdsl.transforms.common_subexpression_elimination import (
            CommonSubexpressionElimination,
        )

        return CommonSubexpressionElimination

    def get_dce() -> type[ModulePass]:
        from xdsl.transforms.dead_code_elimination import DeadCodeElimination

        return DeadCodeElimination

    def get_estimate_cost() -> type[ModulePass]:
        from ramiel_mlir.transforms.estimate_cost import EstimateCostPass

        return EstimateCostPass

    def get_linear_cluster() -> type[ModulePass]:
        from ramiel_mlir.transforms.linear_cluster import LinearClusterPass

        return LinearClusterPass

    def get_merge_clusters() -> type[ModulePass]:
        from ramiel_mlir.transforms.merge_clusters import MergeClustersPass

        return MergeClustersPass

    def get_clone() -> type[ModulePass]:
        from ramiel_mlir.transforms.clone import ClonePass

        return ClonePass

    def get_hypercluster() -> type[ModulePass]:
        from ramiel_mlir.transforms.hypercluster import HyperclusterPass

        return HyperclusterPass

    def get_parallelize() -> type[ModulePass]:
        from ramiel_mlir.transforms.parallelize import ParallelizePass

        return ParallelizePass

    def get_fold_constants() -> type[ModulePass]:
        from ramiel_mlir.transforms.fold_constants import FoldConstantsPass

        return FoldConstantsPass

    return {
        "assign-layout": _lazy_pass("assign_layout", "AssignLayoutPass"),
        "canonicalize": get_canonicalize,
        "clone": get_clone,
        "cluster-slices": _lazy_pass("cluster_slices", "ClusterSlicesPass"),
        "convert-dfg-to-py": get_convert_dfg_to_py,
        "cse": get_cse,
        "dce": get_dce,
        "estimate-cost": get_estimate_cost,
        "fold-batchnorm": _lazy_pass("fold_batchnorm", "FoldBatchnormPass"),
        "fold-constants": get_fold_constants,
        "fuse-channel-shuffle": _lazy_pass("fuse_channel_shuffle", "FuseChannelShufflePass"),
        "fuse-conv-activation": _lazy_pass("fuse_conv_activation", "FuseConvActivationPass"),
        "fuse-onednn-graph": _lazy_pass("fuse_onednn_graph", "FuseOnednnGraphPass"),
        "fuse-sibling-convs": _lazy_pass("fuse_sibling_convs", "FuseSiblingConvsPass"),
        "hypercluster": get_hypercluster,
        "linear-cluster": get_linear_cluster,
        "merge-clusters": get_merge_clusters,
        "parallelize": get_parallelize,
        "prepack-weights": _lazy_pass("prepack_weights", "PrepackWeightsPass"),
    }


def get_all_targets() -> dict[str, Callable[[], type[Target]]]:
    """Target name -> a function returning the target class."""

    def get_dot() -> type[Target]:
        from ramiel_mlir.backend.dot_target import DotTarget

        return DotTarget

    def get_mlir() -> type[Target]:
        from ramiel_mlir.backend.mlir_target import MlirTarget

        return MlirTarget

    def get_python() -> type[Target]:
        from ramiel_mlir.backend.python_target import PythonTarget

        return PythonTarget

    return {"dot": get_dot, "mlir": get_mlir, "python": get_python}
