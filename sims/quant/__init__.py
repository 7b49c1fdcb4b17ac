"""Weight quantisation: fake (quantise-dequantise) group quantisers, round-to-nearest, SignRound tuning."""
