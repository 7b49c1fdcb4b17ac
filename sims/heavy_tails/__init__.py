"""Heavy-tailed SGD simulators: Euler chains with alpha-stable noise, online SGD with multiplicative noise, networks."""
