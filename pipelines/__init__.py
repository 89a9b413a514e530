"""The Dagster code location (definitions, resources, jobs) and the `hepwatch` command.

Kept free of imports: `hepwatch` starts by importing this package, and must answer Ctrl-C or SIGTERM in one
line from its first moment (pipelines.cli).
"""
