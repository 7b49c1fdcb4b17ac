"""Linear (mean-square) stability of SGD at an interpolating minimum: second-moment operators, coherence."""
