"""lq-quant: direct quantization with learnable levels and channel-aware activation quantizers.

Reimplementation (from the abstract only; no official code exists) of Hoang, Do, Nguyen, Cheung,
"Direct Quantization for Training Highly Accurate Low Bit-width Deep Neural Networks", IJCAI 2020,
with DoReFa, LQ-Nets-style and LSQ baselines in one harness.
"""

__version__ = "0.1.0"

from lq_quant.layers import METHODS, calibrate, quantize_model
from lq_quant.models import MODELS, build_model

__all__ = ["METHODS", "MODELS", "__version__", "build_model", "calibrate", "quantize_model"]
