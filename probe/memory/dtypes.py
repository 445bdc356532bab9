"""Element types of device tensors by their Ascend C names: ``half`` is
:data:`F16`, ``float`` :data:`F32`, ``int32_t`` :data:`I32`, ``uint16_t``
:data:`U16`, ``uint8_t`` :data:`U8`, ``int8_t`` :data:`I8`."""

from __future__ import annotations

import numpy as np

F16 = np.dtype(np.float16)
F32 = np.dtype(np.float32)
I32 = np.dtype(np.int32)
U16 = np.dtype(np.uint16)
U8 = np.dtype(np.uint8)
I8 = np.dtype(np.int8)
