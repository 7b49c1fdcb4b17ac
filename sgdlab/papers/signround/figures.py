"""Figures of the signround paper."""
