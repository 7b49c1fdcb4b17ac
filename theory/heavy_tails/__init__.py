"""Heavy-tailed noise and heavy-tailed SGD: alpha-stable laws, Levy-driven OU and Euler chains, tail indices."""
