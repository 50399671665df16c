"""spectral-forensics: are high-frequency Fourier discrepancies inherent to CNN-generated images?

Reimplementation of Chandrasegaran, Tran & Cheung, "A Closer Look at Fourier Spectrum Discrepancies
for CNN-generated Images Detection" (CVPR 2021): batched torch spectra (reduced spectrum, the Dzanic
decay fit, Durall's 1-D features), the spectral detectors, the GAN zoo with switchable last upsampling
(transposed conv, nearest, bilinear, zero insertion), and the detection-rate experiment.
"""

__version__ = "0.1.0"

from spectral_forensics.spectrum import (
    DzanicSettings,
    durall_features,
    dzanic_features,
    fit_power_law,
    radial_profile,
    reduced_spectrum,
    to_gray,
)

__all__ = [
    "DzanicSettings",
    "__version__",
    "durall_features",
    "dzanic_features",
    "fit_power_law",
    "radial_profile",
    "reduced_spectrum",
    "to_gray",
]
