"""Developer stack: train once by fingerprint, start and stop the bot's processes.

Used by `make run`, `make train`, the end-to-end tests and the benchmarks, so that all of them
start the same processes the same way.
"""
