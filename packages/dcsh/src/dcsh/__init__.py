"""dcsh: Unsupervised Deep Cross-modality Spectral Hashing (Hoang et al., IEEE TIP 2020)."""

__version__ = "0.1.0"
