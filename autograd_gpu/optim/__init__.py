"""Optimizers (ag.optim)."""
