"""Noise laws for simulators (alpha-stable sampling)."""
