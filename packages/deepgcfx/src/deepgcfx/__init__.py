"""deepGCFX: graph-wise common latent factor extraction (Cooray & Cheung, AAAI 2022) in PyTorch Geometric."""

__version__ = "0.1.0"
