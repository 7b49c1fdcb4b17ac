"""Small networks, the one batched (vmap) trainer, and Hessian tools."""
