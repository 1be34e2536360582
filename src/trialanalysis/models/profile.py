"""REML (or ML) profile-likelihood and Wald intervals for variance parameters.

:class:`VarianceProfile` holds a fit's variance parameters on the
standard-deviation / correlation scale (``psi``) and profiles its deviance
over all of them but one; :func:`wald_intervals` gives the Wald
alternative. The tables that use them are in :mod:`.variance`.
"""

from __future__ import annotations

import numpy as np
import scipy.optimize
import scipy.stats


def _psd_cholesky(cov: np.ndarray) -> np.ndarray:
    """Lower Cholesky factor of a positive semi-definite matrix (zero pivots allowed)."""
    q = len(cov)
    factor = np.zeros((q, q))
    scale = max(float(np.max(np.abs(np.diag(cov)))), 1e-300)
    for j in range(q):
        pivot = cov[j, j] - factor[j, :j] @ factor[j, :j]
        if pivot <= 1e-12 * scale:
            continue
        factor[j, j] = np.sqrt(pivot)
        for i in range(j + 1, q):
            factor[i, j] = (cov[i, j] - factor[i, :j] @ factor[j, :j]) / factor[j, j]
    return factor


def _warm_starts(cache: dict, value: float) -> list[np.ndarray]:
    """Return starts for a new profile point: the nearest one, and the line through two."""
    nearest = sorted(cache, key=lambda point: abs(point - value))[:2]
    starts = [cache[nearest[0]][1]]
    if len(nearest) == 2 and nearest[0] != nearest[1]:
        (v1, v0), (z1, z0) = nearest, (cache[nearest[0]][1], cache[nearest[1]][1])
        starts.append(z1 + (z1 - z0) * (value - v1) / (v1 - v0))
    return starts


class VarianceProfile:
    """Variance parameters of a fit on the sd/correlation scale, and their profiles.

    ``psi`` lists, per random term, the entries of its lower triangle in
    lme4's order (a standard deviation on the diagonal, a correlation below
    it), then the residual standard deviation.

    Each profile is minimised over unconstrained coordinates in which the
    held parameter is fixed exactly (see :meth:`_coordinates`), so boundary
    values (a standard deviation of 0, a correlation of ±1) are reached
    without special cases, and warm-started from the nearest point already
    profiled on the same side of the estimate.
    """

    def __init__(self, criterion, theta: np.ndarray, sigma: float):
        self.criterion = criterion
        self.blocks = criterion.model.blocks
        self.theta_hat = np.asarray(theta, dtype=float)
        self.sigma_hat = float(sigma)
        self.psi_hat = self.to_psi(theta, sigma)
        self.deviance_hat = self.criterion.deviance_varpar(np.r_[theta, sigma])
        self.kinds, self.names = [], []
        for block in self.blocks:
            for r, c in block.lower_triangle():
                self.kinds.append("sd" if r == c else "cor")
                self.names.append((block, r, c))
        self.kinds.append("sigma")
        self.names.append(None)
        self.notes: list[str] = []

    def to_psi(self, theta: np.ndarray, sigma: float) -> np.ndarray:
        """(θ, σ) → standard deviations and correlations, then σ."""
        psi = []
        for block in self.blocks:
            cov = sigma**2 * self._relative_cov(block, theta)
            sd = np.sqrt(np.diag(cov))
            for r, c in block.lower_triangle():
                if r == c:
                    psi.append(sd[r])
                else:
                    psi.append(cov[r, c] / (sd[r] * sd[c]) if sd[r] * sd[c] > 0 else 0.0)
        return np.array([*psi, sigma])

    def to_varpar(self, psi: np.ndarray) -> np.ndarray:
        """Map standard deviations and correlations, then σ, to (θ, σ)."""
        sigma = psi[-1]
        theta = []
        for block in self.blocks:
            values = psi[block.theta_offset : block.theta_offset + block.n_theta]
            sd = np.zeros(block.q)
            cor = np.eye(block.q)
            for value, (r, c) in zip(values, block.lower_triangle(), strict=True):
                if r == c:
                    sd[r] = value
                else:
                    cor[r, c] = cor[c, r] = value
            factor = _psd_cholesky(np.outer(sd, sd) * cor) / sigma
            theta.extend(factor[r, c] for r, c in block.lower_triangle())
        return np.array([*theta, sigma])

    @staticmethod
    def _factor(block, theta: np.ndarray) -> np.ndarray:
        factor = np.zeros((block.q, block.q))
        for k, (r, c) in enumerate(block.lower_triangle()):
            factor[r, c] = theta[block.theta_offset + k]
        return factor

    @classmethod
    def _relative_cov(cls, block, theta: np.ndarray) -> np.ndarray:
        factor = cls._factor(block, theta)
        return factor @ factor.T

    # ------------------------------------------------------------ coordinates
    def _coordinates(self, index: int):
        """Unconstrained coordinates of a profile with ``psi[index]`` held fixed.

        Returns ``(pack, unpack)``: ``pack(θ, σ)`` gives the free coordinates
        of a point, ``unpack(z, value)`` the point ``(θ, σ)`` with
        ``psi[index] = value`` (σ is None where it is profiled out
        analytically, i.e. for correlations, which do not depend on σ).
        Entries of θ are free reals (the covariance ``ΛΛ'`` is positive
        semi-definite for any real Λ). The row ``r`` of a term's factor
        ``L`` that carries the held parameter is written as
        ``scale · direction``: for a standard deviation ``‖L_r‖ = value/σ``;
        for the correlation of rows ``r > c``, ``L_r = |s| (value · ĉ +
        √(1 − value²) · w)`` with ``ĉ = L_c/‖L_c‖`` and ``w`` a free unit
        vector orthogonal to it.
        """
        kind = self.kinds[index]
        if kind == "sigma":

            def pack(theta, sigma):
                return np.asarray(theta, dtype=float).copy()

            def unpack(z, value):
                return z, value

            return pack, unpack
        block, r, c = self.names[index]
        rows = [(i, j) for i, j in block.lower_triangle() if i == r]
        positions = [block.theta_offset + block.lower_triangle().index(p) for p in rows]
        others = np.setdiff1d(np.arange(len(self.theta_hat)), positions)

        if kind == "sd":

            def pack(theta, sigma):
                row = np.asarray(theta)[positions]
                if not np.any(row):
                    row = np.eye(r + 1)[r]
                # A first row has one entry: its direction is fixed, not free.
                return np.r_[np.log(sigma), np.asarray(theta)[others], row if r else []]

            def unpack(z, value):
                sigma = float(np.exp(z[0]))
                theta = np.zeros(len(self.theta_hat))
                theta[others] = z[1 : 1 + len(others)]
                row = z[1 + len(others) :] if r else np.ones(1)
                norm = np.linalg.norm(row)
                theta[positions] = value / sigma * (row / norm if norm > 0 else np.eye(r + 1)[r])
                return theta, sigma

            return pack, unpack

        def pack(theta, sigma):
            row = np.asarray(theta)[positions]
            return np.r_[np.asarray(theta)[others], np.linalg.norm(row), row]

        def unpack(z, value):
            theta = np.zeros(len(self.theta_hat))
            theta[others] = z[: len(others)]
            scale, w = abs(z[len(others)]), np.asarray(z[len(others) + 1 :], dtype=float)
            factor = self._factor(block, theta)
            col = factor[c, : r + 1]
            norm_c = np.linalg.norm(col)
            unit_c = col / norm_c if norm_c > 0 else np.eye(r + 1)[c]
            w = w - (w @ unit_c) * unit_c
            norm_w = np.linalg.norm(w)
            if norm_w == 0:
                w = np.eye(r + 1)[r] - unit_c[r] * unit_c
                norm_w = np.linalg.norm(w)
            w = w / norm_w
            theta[positions] = scale * (value * unit_c + np.sqrt(max(1 - value**2, 0.0)) * w)
            return theta, None

        return pack, unpack

    def _objective(self, unpack, value):
        def objective(z):
            theta, sigma = unpack(z, value)
            try:
                if sigma is None:
                    result = self.criterion.deviance(theta)
                else:
                    result = self.criterion.deviance_varpar(np.r_[theta, sigma])
            except (np.linalg.LinAlgError, ValueError, ZeroDivisionError, FloatingPointError):
                return np.inf
            return result if np.isfinite(result) else np.inf

        return objective

    def profile(
        self, index: int, value: float, start: np.ndarray, *others: np.ndarray
    ) -> tuple[float, np.ndarray]:
        """Minimum deviance with ``psi[index] = value`` from free coordinates ``start``.

        ``others`` are further candidate starts; the best of them is used.
        Returns the minimum and the free coordinates where it is reached.
        """
        _, unpack = self._coordinates(index)
        objective = self._objective(unpack, value)
        best_value, best = objective(start), np.asarray(start, dtype=float)
        for other in others:
            value_other = objective(other)
            if value_other < best_value:
                best_value, best = value_other, np.asarray(other, dtype=float)
        with np.errstate(all="ignore"):
            for method, options in (
                ("L-BFGS-B", {"ftol": 1e-11, "gtol": 1e-6, "maxiter": 500}),
                ("Nelder-Mead", {"xatol": 1e-8, "fatol": 1e-10, "maxiter": 4000}),
            ):
                result = scipy.optimize.minimize(objective, best, method=method, options=options)
                if result.fun < best_value:
                    best_value, best = float(result.fun), np.asarray(result.x)
                if np.isfinite(best_value):
                    break
        return float(best_value), best

    def interval(self, index: int, level: float) -> tuple[float, float]:
        """Profile-likelihood interval for ``psi[index]``.

        A limit that cannot be found is returned as NaN, a limit at the edge
        of the parameter space (0 for a standard deviation, ±1 for a
        correlation) or an unbounded one (``inf``) as such; each case adds a
        sentence to :attr:`notes`. Never raises for a fitted model.
        """
        crit = scipy.stats.chi2.ppf(level, 1)
        self._level = level
        estimate = float(self.psi_hat[index])
        pack, _ = self._coordinates(index)
        start = pack(self.theta_hat, self.sigma_hat)
        limits = []
        for direction in (-1, 1):
            cache = {estimate: (self.deviance_hat, start)}

            def excess(value, cache=cache):
                if value not in cache:
                    cache[value] = self.profile(index, value, *_warm_starts(cache, value))
                return cache[value][0] - self.deviance_hat - crit

            try:
                limits.append(self._limit(excess, index, estimate, direction))
            except (ArithmeticError, ValueError, np.linalg.LinAlgError) as exc:
                self.notes.append(f"{self.label(index)}: profile limit not found ({exc})")
                limits.append(np.nan)
            lowest = min(v[0] for v in cache.values())
            if lowest < self.deviance_hat - 1e-4:
                self.notes.append(
                    f"{self.label(index)}: the profile found a deviance "
                    f"{self.deviance_hat - lowest:.3g} below the fit's; the fit may not be "
                    "at the optimum"
                )
        return limits[0], limits[1]

    def label(self, index: int) -> str:
        """Name of ``psi[index]`` for messages, e.g. ``sd (Intercept) | clinic_id``."""
        if self.kinds[index] == "sigma":
            return "residual sd"
        block, r, c = self.names[index]
        if r == c:
            return f"sd {block.column_names[r]} | {block.term.group_label}"
        return (
            f"correlation {block.column_names[c]}, {block.column_names[r]} | "
            f"{block.term.group_label}"
        )

    def _limit(self, excess, index, estimate, direction) -> float:
        """Where the profile crosses the threshold between the estimate and the edge.

        The signed square root of the profile deviance is close to linear
        on the log scale of a standard deviation and the atanh scale of a
        correlation (Bates et al. 2015, sec. 5.1), so the crossing is
        bracketed by secant steps on that scale and then found by Brent's
        method; typically five or six profile points per limit.
        """
        kind = self.kinds[index]
        edge = {"sd": (0.0, np.inf), "cor": (-1.0, 1.0), "sigma": (0.0, np.inf)}[kind]
        edge = edge[0] if direction < 0 else edge[1]
        if estimate == edge:
            return float(edge)
        if kind == "cor" or (kind == "sd" and direction < 0):
            if excess(edge) <= 0:
                self.notes.append(
                    f"{self.label(index)}: the profile stays below the cut-off up to the "
                    f"boundary; the {'lower' if direction < 0 else 'upper'} limit is the "
                    f"boundary {edge:g}"
                )
                return float(edge)
        if kind == "cor":
            to_x, to_v = np.arctanh, np.tanh
        elif estimate > 0:
            to_x, to_v = np.log, np.exp
        else:  # pragma: no cover - an sd estimated at 0 has only an upper limit
            to_x, to_v = (lambda v: v), (lambda x: x)
        target = np.sqrt(scipy.stats.chi2.ppf(self._level, 1))

        def zeta(x):
            value = float(to_v(x))
            return np.sqrt(max(excess(value) + target**2, 0.0)) - target

        x_in, g_in = float(to_x(estimate)), -target
        step = direction * 0.5
        x_out = x_in + step
        for _ in range(60):
            value = float(to_v(x_out))
            if np.isfinite(edge) and direction * (value - edge) >= 0:
                value, x_out = edge, None
            g_out = excess(value) if x_out is None else zeta(x_out)
            if g_out > 0:
                break
            if x_out is None:  # pragma: no cover - the edge was checked above
                return float(edge)
            # Secant extrapolation to the crossing, growing 1.5 to 4 times.
            slope = (g_out - g_in) / (x_out - x_in)
            jump = -g_out / slope if slope * direction > 0 else 4 * (x_out - x_in)
            jump = direction * min(
                max(abs(jump) * 1.2, 1.5 * abs(x_out - x_in)), 4 * abs(x_out - x_in)
            )
            x_in, g_in, x_out = x_out, g_out, x_out + jump
        else:
            self.notes.append(
                f"{self.label(index)}: the profile does not reach the cut-off; the "
                f"{'lower' if direction < 0 else 'upper'} limit is unbounded"
            )
            return float(direction * np.inf) if kind != "sigma" or direction > 0 else 0.0
        if x_out is None:  # bracketed by the boundary itself
            lo, hi = sorted((float(to_v(x_in)), edge))
            scale = max(abs(estimate), 1e-3 * self.sigma_hat, 1e-12)
            return float(scipy.optimize.brentq(excess, lo, hi, xtol=1e-6 * scale, rtol=1e-8))
        lo, hi = sorted((x_in, x_out))
        return float(to_v(scipy.optimize.brentq(zeta, lo, hi, xtol=1e-8, rtol=1e-10)))


def wald_intervals(profile: VarianceProfile, level: float) -> list[tuple[float, float]]:
    """Wald intervals from the Hessian of the deviance in (sd, correlation, σ).

    Standard deviations get ``exp(log sd ± z·se/sd)`` (the delta method on
    the log scale, so limits stay positive), correlations
    ``tanh(atanh ρ ± z·se/(1 − ρ²))``. A parameter on its boundary (sd 0,
    correlation ±1), or a Hessian that is not positive definite, gives NaN
    limits and a note in ``profile.notes``.
    """
    from trialanalysis.models import numderiv

    psi = profile.psi_hat
    n = len(psi)
    interior = np.array(
        [
            (value > 1e-8 * profile.sigma_hat) if kind != "cor" else abs(value) < 1 - 1e-6
            for kind, value in zip(profile.kinds, psi, strict=True)
        ]
    )
    for i, kind in enumerate(profile.kinds):
        if kind == "cor":
            block, r, c = profile.names[i]
            pairs = block.lower_triangle()
            sds = [block.theta_offset + pairs.index((k, k)) for k in (r, c)]
            interior[i] &= bool(interior[sds].all())
    out = [(np.nan, np.nan)] * n
    free = np.flatnonzero(interior)
    if free.size:

        def deviance(z):
            point = psi.copy()
            point[free] = z
            try:
                return profile.criterion.deviance_varpar(profile.to_varpar(point))
            except (np.linalg.LinAlgError, ValueError, ZeroDivisionError):
                return np.inf

        hessian = numderiv.hessian(deviance, psi[free])
        try:
            cov = 2 * np.linalg.inv(hessian)
            ok = np.all(np.isfinite(cov)) and np.linalg.eigvalsh((cov + cov.T) / 2).min() > 0
        except np.linalg.LinAlgError:
            ok = False
        if not ok:
            profile.notes.append("Wald intervals: the deviance Hessian is not positive definite")
            return out
        z = scipy.stats.norm.ppf(0.5 + level / 2)
        for k, i in enumerate(free):
            se, value = np.sqrt(cov[k, k]), psi[i]
            if profile.kinds[i] == "cor":
                centre, half = np.arctanh(value), z * se / (1 - value**2)
                out[i] = (float(np.tanh(centre - half)), float(np.tanh(centre + half)))
            else:
                half = z * se / value
                out[i] = (float(value * np.exp(-half)), float(value * np.exp(half)))
    for i in np.flatnonzero(~interior):
        profile.notes.append(f"{profile.label(i)}: on the boundary, no Wald interval")
    return out
