// RUN: not ramiel-opt %s 2>&1 | filecheck %s --check-prefix=SYNTAX
// RUN: not ramiel-opt %s -p 'dce,,cse' 2>&1 | filecheck %s --check-prefix=PIPELINE
// RUN: not ramiel-opt %s -p 'merge-clusters{lane=2}' 2>&1 | filecheck %s --check-prefix=OPTION
// RUN: not ramiel-opt %s --merge-clusters=min_gain=0.2,lane=2 2>&1 | filecheck %s --check-prefix=OPTION
// RUN: not ramiel-opt %s --print-ir-after=dce,merge-cluster 2>&1 | filecheck %s --check-prefix=AFTER

/// A pipeline error points at the spot, with the column and a marker.

// PIPELINE: ramiel-opt: error: invalid pass pipeline: column 5: Expected pass name here: 'dce,<here>,cse'

/// An unknown option names the pass's options as the pipeline spells them.

// OPTION: ramiel-opt: error: invalid pass pipeline: merge-clusters has no option 'lane' (options: lanes, min-gain, edge-cost, runtime-costs)

/// --print-ir-after takes pass names.

// AFTER: ramiel-opt: error: --print-ir-after names no pass: merge-cluster (--list-passes lists them)

/// A syntax error in a .mlir file names the line and column.

dfg.graph @g(%x: tensor<4xf32>) -> tensor<4xf32> {
// SYNTAX: ramiel-opt: error: {{.*}}errors.mlir:[[# @LINE + 1]]:27: Expected ')'
  %r = dfg.node "Relu"(%x opset 17 : (tensor<4xf32>) -> tensor<4xf32>
  dfg.output %r : tensor<4xf32>
}
