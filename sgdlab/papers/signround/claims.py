"""Claims of the signround paper."""
