"""Contracts of the containerd host scripts and the simulated containerd.exe."""
