"""The chat benchmark: `python -m bench [--quick]` (docs/performance.md)."""
