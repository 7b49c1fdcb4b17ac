"""Distributed gradient methods on graphs: step-size schedules and ODE time, consensus error, gradient-flow limits and
the escape time from a saddle (numpy/scipy, float64)."""
