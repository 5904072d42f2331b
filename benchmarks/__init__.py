"""Side-by-side benchmarks of dagwright against the tools users would pick instead.

Run ``python -m benchmarks`` (or ``make bench``); see ``benchmarks/README.md``.
"""
