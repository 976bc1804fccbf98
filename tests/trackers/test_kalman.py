"""The DeepSORT Kalman filter against the textbook formulas (spec cstrack.md §7.7)."""

from __future__ import annotations

import numpy as np

from discmot.trackers.kalman import KalmanFilterXYAH, tlwh_to_xyah, xyah_to_tlwh

F = np.eye(8) + np.eye(8, k=4)
H = np.eye(4, 8)


def reference_predict(mean, cov):
    h = mean[3]
    std = [h / 20, h / 20, 1e-2, h / 20, h / 160, h / 160, 1e-5, h / 160]
    return F @ mean, F @ cov @ F.T + np.diag(np.square(std))


def reference_update(mean, cov, z):
    h = mean[3]
    s = H @ cov @ H.T + np.diag(np.square([h / 20, h / 20, 1e-1, h / 20]))
    gain = cov @ H.T @ np.linalg.inv(s)
    return mean + gain @ (z - H @ mean), cov - gain @ s @ gain.T


def random_states(n, seed=0):
    rng = np.random.default_rng(seed)
    kf = KalmanFilterXYAH()
    z = np.column_stack(
        [rng.uniform(0, 1000, n), rng.uniform(0, 600, n), rng.uniform(0.3, 0.6, n), rng.uniform(40, 300, n)]
    )
    mean, cov = kf.initiate(z)
    mean[:, 4:] = rng.normal(0, 2, (n, 4))
    return kf, mean, cov, rng


def test_initiate_covariance():
    kf, mean, cov, _ = random_states(3)
    h = mean[:, 3]
    np.testing.assert_allclose(np.sqrt(cov[:, 0, 0]), 2 * h / 20)
    np.testing.assert_allclose(np.sqrt(cov[:, 4, 4]), 10 * h / 160)
    np.testing.assert_allclose(np.sqrt(cov[:, 2, 2]), 1e-2)


def test_predict_and_update_match_formulas():
    kf, mean, cov, rng = random_states(6)
    mean_p, cov_p = kf.predict(mean, cov)
    z = mean_p[:, :4] + rng.normal(0, 3, (6, 4))
    mean_u, cov_u = kf.update(mean_p, cov_p, z)
    for i in range(6):
        m, c = reference_predict(mean[i], cov[i])
        np.testing.assert_array_equal(mean_p[i], m)  # prediction is bit-identical to F @ mean
        np.testing.assert_allclose(cov_p[i], c, rtol=1e-12)
        m, c = reference_update(mean_p[i], cov_p[i], z[i])
        np.testing.assert_allclose(mean_u[i], m, rtol=1e-10)
        np.testing.assert_allclose(cov_u[i], c, rtol=1e-9, atol=1e-9)


def test_gating_distance_is_squared_mahalanobis():
    kf, mean, cov, rng = random_states(4)
    z = mean[:, :4][:3] + rng.normal(0, 5, (3, 4))
    got = kf.gating_distance(mean, cov, z)
    for i in range(4):
        s = cov[i][:4, :4] + np.diag(np.square([mean[i, 3] / 20, mean[i, 3] / 20, 1e-1, mean[i, 3] / 20]))
        for j in range(3):
            d = z[j] - mean[i, :4]
            np.testing.assert_allclose(got[i, j], d @ np.linalg.inv(s) @ d, rtol=1e-10)


def test_box_conversions_round_trip():
    boxes = np.array([[10.0, 20.0, 30.0, 60.0], [-5.0, 0.0, 12.0, 40.0]])
    xyah = tlwh_to_xyah(boxes)
    np.testing.assert_allclose(xyah[0], [25.0, 50.0, 0.5, 60.0])
    np.testing.assert_allclose(xyah_to_tlwh(xyah), boxes)
