"""The benchmark's runners: each composes the same workload its own way.

Python runners are child processes speaking a line protocol on stdin/stdout
(see :mod:`benchmarks.runners.common`); the FFmpeg runner is FFmpeg itself.
"""
