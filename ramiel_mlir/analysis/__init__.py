"""
Analyses over a graph, as plain functions: the scheduling DAG and its levels
(`dag`, `graph`, `levels`), and what a node costs (`cost_model`, `machine`; the
measured `profile` model runs generated code, so it lives in the backend). Passes
call them; nothing here rewrites IR, and nothing here imports the backend.
"""
