"""Dagster assets: thin steps that read, call the domain code, write, and report."""

import warnings

import dagster as dg

# Daily single-run backfills and concurrency pools are stable enough for us; keep the console readable.
warnings.filterwarnings("ignore", category=dg.BetaWarning)
warnings.filterwarnings("ignore", category=dg.PreviewWarning)
