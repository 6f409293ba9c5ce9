"""Outputs of a run: tables, charts, the summary, target checks and the files on disk."""
