"""Conversions torch does not do as ONNX does: FLOAT8E8M0, FLOAT4E2M1, uint64 division."""

import torch


def _to_float8e8m0(x: torch.Tensor, saturate: bool, round_mode: str) -> torch.Tensor:
    """ONNX's Cast to FLOAT8E8M0: the float32 exponent, rounded as round_mode says."""
    bits = x.to(torch.float32).view(torch.int32)
    exponent = torch.bitwise_and(torch.bitwise_right_shift(bits, 23), 0xFF)
    normal = exponent != 0xFF  # NaN and Inf keep the all-ones exponent (NaN)
    if round_mode == "up":
        round_up = torch.bitwise_and(bits, 0x7FFFFF) != 0
    elif round_mode == "nearest":
        guard = torch.bitwise_and(bits, 0x400000) != 0
        rest = torch.bitwise_and(bits, 0x3FFFFF) != 0
        round_up = guard & (rest | (exponent > 0))
    else:  # "down"
        round_up = torch.zeros_like(normal)
    round_up = round_up & normal
    if saturate:
        round_up = round_up & (exponent != 0xFE)
    exponent = exponent + round_up.to(torch.int32)
    return exponent.to(torch.uint8).view(torch.float8_e8m0fnu)


def _to_float4e2m1(x: torch.Tensor) -> torch.Tensor:
    """ONNX's Cast to FLOAT4E2M1 (held in float32): nearest even, saturating at +-6."""
    x = x.to(torch.float64)
    size = x.abs().clamp(max=6.0)
    # The grid's spacing is 0.5 below 2, 1 below 4 and 2 up to 6; round() ties to even.
    rounded = torch.where(
        size < 2,
        torch.round(size * 2) / 2,
        torch.where(size < 4, torch.round(size), torch.round(size / 2) * 2),
    )
    rounded = torch.copysign(rounded, x)
    # FLOAT4E2M1 has no NaN: ml_dtypes (ONNX's reference) gives a zero of the other sign.
    nan_zero = torch.copysign(torch.zeros_like(x), torch.neg(x))
    return torch.where(torch.isnan(x), nan_zero, rounded).to(torch.float32)


def _udiv64(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """uint64 division (torch has none): half of a divided as int64, then one correction."""
    a, b = a.view(torch.int64), b.view(torch.int64)
    low = -(2**63)
    big = b < 0  # a divisor of 2**63 or more: the quotient is 0 or 1
    half = torch.bitwise_and(torch.bitwise_right_shift(a, 1), 2**63 - 1)
    quotient = torch.div(half, torch.where(big, 1, b), rounding_mode="trunc") * 2
    remainder = a - quotient * b  # below 2 * b: at most one more b fits
    quotient = quotient + ((remainder ^ low) >= (b ^ low)).to(torch.int64)
    quotient = torch.where(big, ((a ^ low) >= (b ^ low)).to(torch.int64), quotient)
    return quotient.view(torch.uint64)
