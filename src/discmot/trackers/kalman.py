"""The DeepSORT constant-velocity Kalman filter used by JDE and CSTrack (spec ``cstrack.md`` §7.7).

State ``(x, y, a, h, vx, vy, va, vh)``: box centre, aspect ratio ``w / h``, height and their velocities,
one frame per step. Process and measurement noise scale with the box height: position noise
``sigma_p = 1/20`` and velocity noise ``sigma_v = 1/160`` of ``h`` (the aspect ratio has fixed noise).

Every method works on a batch of tracks at once (leading dimension ``N``), so one call predicts or
updates all tracks of a frame. Prediction gives bit-identical results to the original's ``np.dot``
arithmetic (each entry of ``F P F^T`` sums at most two non-zero terms, so slicing adds are exact);
updates and gating use a closed-form, vectorised Cholesky factorisation of the 4x4 innovation
covariances instead of one LAPACK call per track (equal to the original's scipy solves up to rounding).
"""

from __future__ import annotations

import numpy as np

#: 0.95 quantiles of the chi-square distribution with 1..9 degrees of freedom (gating thresholds).
CHI2_95 = {1: 3.8415, 2: 5.9915, 3: 7.8147, 4: 9.4877, 5: 11.070, 6: 12.592, 7: 14.067, 8: 15.507, 9: 16.919}

_POSITION_WEIGHT = 1.0 / 20
_VELOCITY_WEIGHT = 1.0 / 160


class KalmanFilterXYAH:
    """Constant-velocity Kalman filter on ``(x, y, a, h)`` measurements; all arrays are float64."""

    def __init__(self) -> None:
        self.motion = np.eye(8)
        self.motion[:4, 4:] = np.eye(4)  # position += velocity (dt = 1)
        self.observation = np.eye(4, 8)

    def initiate(self, measurements: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """New tracks from ``(N, 4)`` measurements: ``(N, 8)`` means (still), ``(N, 8, 8)`` covariances."""
        measurements = np.atleast_2d(np.asarray(measurements, dtype=np.float64))
        mean = np.concatenate([measurements, np.zeros_like(measurements)], axis=1)
        h = measurements[:, 3]
        p, v = 2 * _POSITION_WEIGHT * h, 10 * _VELOCITY_WEIGHT * h
        std = np.stack([p, p, np.full_like(h, 1e-2), p, v, v, np.full_like(h, 1e-5), v], axis=1)
        return mean, _diagonal(np.square(std))

    def predict(self, mean: np.ndarray, covariance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One step ahead for means ``(N, 8)`` and covariances ``(N, 8, 8)``."""
        h = mean[:, 3]
        p, v = _POSITION_WEIGHT * h, _VELOCITY_WEIGHT * h
        std = np.stack([p, p, np.full_like(h, 1e-2), p, v, v, np.full_like(h, 1e-5), v], axis=1)
        motion_cov = _diagonal(np.square(std))
        predicted = mean.copy()
        predicted[:, :4] += mean[:, 4:]  # F mean
        left = covariance.copy()
        left[:, :4, :] += covariance[:, 4:, :]  # F P
        right = left.copy()
        right[:, :, :4] += left[:, :, 4:]  # (F P) F^T
        return predicted, right + motion_cov

    def project(self, mean: np.ndarray, covariance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Measurement-space means ``(N, 4)`` and innovation covariances ``(N, 4, 4)``."""
        h = mean[:, 3]
        p = _POSITION_WEIGHT * h
        std = np.stack([p, p, np.full_like(h, 1e-1), p], axis=1)
        projected = covariance[:, :4, :4] + _diagonal(np.square(std))  # H P H^T + R with H = [I 0]
        return mean[:, :4].copy(), projected

    def update(
        self, mean: np.ndarray, covariance: np.ndarray, measurements: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Corrects ``N`` tracks with one measurement ``(N, 4)`` each."""
        projected_mean, projected_cov = self.project(mean, covariance)
        inverse_factor = _lower_triangular_inverse(_cholesky4(projected_cov))
        inverse = np.matmul(np.swapaxes(inverse_factor, 1, 2), inverse_factor)  # S^-1 = L^-T L^-1
        gain = np.matmul(covariance[:, :, :4], inverse)  # P H^T S^-1, (N, 8, 4)
        innovation = measurements - projected_mean
        new_mean = mean + np.matmul(gain, innovation[:, :, None])[:, :, 0]
        new_cov = covariance - np.matmul(np.matmul(gain, projected_cov), np.swapaxes(gain, 1, 2))
        return new_mean, new_cov

    def gating_distance(
        self, mean: np.ndarray, covariance: np.ndarray, measurements: np.ndarray
    ) -> np.ndarray:
        """Squared Mahalanobis distances ``(N, M)`` of ``M`` measurements ``(M, 4)`` to ``N`` tracks."""
        projected_mean, projected_cov = self.project(mean, covariance)
        inverse_factor = _lower_triangular_inverse(_cholesky4(projected_cov))  # L^-1, (N, 4, 4)
        offsets = measurements[None, :, :] - projected_mean[:, None, :]  # (N, M, 4)
        z = np.matmul(inverse_factor, np.swapaxes(offsets, 1, 2))  # L z = d, (N, 4, M)
        return np.sum(z * z, axis=1)


def _cholesky4(a: np.ndarray) -> np.ndarray:
    """Lower Cholesky factors of ``(N, 4, 4)`` symmetric positive-definite matrices, written out entry by
    entry (a few dozen elementwise operations on ``(N,)`` arrays instead of N LAPACK calls)."""
    l00 = np.sqrt(a[:, 0, 0])
    l10, l20, l30 = a[:, 1, 0] / l00, a[:, 2, 0] / l00, a[:, 3, 0] / l00
    l11 = np.sqrt(a[:, 1, 1] - l10 * l10)
    l21 = (a[:, 2, 1] - l20 * l10) / l11
    l31 = (a[:, 3, 1] - l30 * l10) / l11
    l22 = np.sqrt(a[:, 2, 2] - l20 * l20 - l21 * l21)
    l32 = (a[:, 3, 2] - l30 * l20 - l31 * l21) / l22
    l33 = np.sqrt(a[:, 3, 3] - l30 * l30 - l31 * l31 - l32 * l32)
    lower = np.zeros_like(a)
    lower[:, 0, 0], lower[:, 1, 0], lower[:, 2, 0], lower[:, 3, 0] = l00, l10, l20, l30
    lower[:, 1, 1], lower[:, 2, 1], lower[:, 3, 1] = l11, l21, l31
    lower[:, 2, 2], lower[:, 3, 2], lower[:, 3, 3] = l22, l32, l33
    return lower


def _lower_triangular_inverse(m: np.ndarray) -> np.ndarray:
    """Inverses of ``(N, 4, 4)`` lower-triangular matrices by forward substitution, entry by entry."""
    i00, i11, i22, i33 = 1 / m[:, 0, 0], 1 / m[:, 1, 1], 1 / m[:, 2, 2], 1 / m[:, 3, 3]
    i10 = -m[:, 1, 0] * i00 * i11
    i21 = -m[:, 2, 1] * i11 * i22
    i32 = -m[:, 3, 2] * i22 * i33
    i20 = -(m[:, 2, 0] * i00 + m[:, 2, 1] * i10) * i22
    i31 = -(m[:, 3, 1] * i11 + m[:, 3, 2] * i21) * i33
    i30 = -(m[:, 3, 0] * i00 + m[:, 3, 1] * i10 + m[:, 3, 2] * i20) * i33
    inverse = np.zeros_like(m)
    inverse[:, 0, 0], inverse[:, 1, 1], inverse[:, 2, 2], inverse[:, 3, 3] = i00, i11, i22, i33
    inverse[:, 1, 0], inverse[:, 2, 1], inverse[:, 3, 2] = i10, i21, i32
    inverse[:, 2, 0], inverse[:, 3, 1], inverse[:, 3, 0] = i20, i31, i30
    return inverse


def _diagonal(values: np.ndarray) -> np.ndarray:
    """``(N, K)`` -> ``(N, K, K)`` diagonal matrices."""
    n, k = values.shape
    out = np.zeros((n, k, k))
    out[:, np.arange(k), np.arange(k)] = values
    return out


def tlwh_to_xyah(boxes: np.ndarray) -> np.ndarray:
    """``(N, 4)`` ``x, y, w, h`` -> centre x, centre y, aspect ratio ``w / h``, height."""
    out = np.array(boxes, dtype=np.float64, copy=True)
    out[:, :2] += out[:, 2:] / 2
    out[:, 2] /= out[:, 3]
    return out


def xyah_to_tlwh(states: np.ndarray) -> np.ndarray:
    """``(N, >=4)`` filter states -> ``(N, 4)`` ``x, y, w, h`` boxes."""
    out = np.array(states[:, :4], dtype=np.float64, copy=True)
    out[:, 2] *= out[:, 3]
    out[:, :2] -= out[:, 2:] / 2
    return out
