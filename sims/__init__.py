"""Simulators and algorithms in torch: device-agnostic, batched over runs, seeded through explicit generators."""
