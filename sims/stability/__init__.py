"""Simulators for the stability setting: linearised SGD and SGD on small networks near an interpolating minimum."""
