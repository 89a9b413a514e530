"""Pandera (Polars backend) models of every staged and published table.

Each model is the single source of a table's column list, types, rules and column descriptions: the
`schema_valid` asset checks validate against it, Dagster's `dagster/column_schema` is derived from it, and
the published database's COMMENTs are written from it.
"""
