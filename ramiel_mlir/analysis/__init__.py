"""
Analyses over a graph, as plain functions: the scheduling DAG and its levels
(`dag`, `graph`, `levels`), and what a node costs (`cost_model`, `machine`,
`profile`). Passes call them; nothing here rewrites IR.
"""
