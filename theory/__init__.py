"""Closed forms, bounds, exact recursions and symbolic derivations (numpy/scipy/sympy, float64; no torch, no I/O)."""
