"""Benchmarks: each prints its figure beside its baseline, run as modules from anywhere once the repository is
installed (`pip install -e .`, which scripts/test.sh does): `python -m bench.cold_start`. bench/NOTES.md keeps
their story; speed is measured here, never asserted in tests."""
