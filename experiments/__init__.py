"""Sweep configs, sweep runner, plots and report of collab-infer."""
