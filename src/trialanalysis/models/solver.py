"""Factorisations of ``A = Λ'Z'ZΛ + I`` for the penalised least-squares step.

:class:`SchurSolver` splits the random effects into the term with the most
columns (usually the innermost factor, e.g. patients) and the rest. Each
observation belongs to one level of that term, so its part of ``A`` is block
diagonal with ``q × q`` blocks; the rest (e.g. 17 clinics) is small and
dense. ``A`` is then factorised through the Schur complement of the block
diagonal part, which costs ``O(L q³ + L q r² + r³)`` for ``L`` levels and
``r`` remaining columns and needs no sparse ordering. :class:`SparseSolver`
is the general fallback (sparse LU without pivoting on the symmetric
positive-definite ``A``), used when the remaining part is large (e.g. two
large crossed factors).
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
import scipy.sparse as sp
from scipy.sparse.linalg import splu

MAX_DENSE_REST = 1500


class SparseSolver:
    """General sparse LU factorisation of A."""

    def __init__(self, model, ztz: sp.csc_matrix):
        self.model = model
        self.ztz = ztz
        self.identity = sp.identity(ztz.shape[0], format="csc")

    def factor(self, theta: np.ndarray, lam: sp.csc_matrix):
        """Return ``(log|A|, solve)`` at θ."""
        a_matrix = (lam.T @ self.ztz @ lam + self.identity).tocsc()
        lu = splu(
            a_matrix,
            permc_spec="MMD_AT_PLUS_A",
            diag_pivot_thresh=0.0,
            options={"SymmetricMode": True},
        )
        diag_u = lu.U.diagonal()
        if np.any(diag_u <= 0) or not np.all(np.isfinite(diag_u)):
            raise np.linalg.LinAlgError("Λ'Z'ZΛ + I is not positive definite")
        return float(np.sum(np.log(diag_u))), lu.solve


class SchurSolver:
    """Block-diagonal-plus-dense factorisation of A (see module docstring)."""

    def __init__(self, model, ztz: sp.csc_matrix):
        blocks = model.blocks
        big = max(range(len(blocks)), key=lambda k: blocks[k].q * blocks[k].n_levels)
        self.big = blocks[big]
        q, n_levels = self.big.q, self.big.n_levels
        start = self.big.z_offset
        self.big_cols = np.arange(start, start + q * n_levels)
        self.rest_cols = np.setdiff1d(np.arange(ztz.shape[0]), self.big_cols)
        big_part = ztz[self.big_cols][:, self.big_cols].tocoo()
        self.d0 = np.zeros((n_levels, q, q))
        np.add.at(self.d0, (big_part.row // q, big_part.row % q, big_part.col % q), big_part.data)
        self.b0 = ztz[self.big_cols][:, self.rest_cols].toarray()
        self.c0 = ztz[self.rest_cols][:, self.rest_cols].toarray()
        # Entries of Λ restricted to the remaining columns, in their coordinates.
        indptr, indices, theta_index, _ = model._lambda_pattern
        cols = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
        position = np.full(ztz.shape[0], -1)
        position[self.rest_cols] = np.arange(len(self.rest_cols))
        keep = (position[indices] >= 0) & (position[cols] >= 0)
        self.rest_rows, self.rest_cols_local = position[indices[keep]], position[cols[keep]]
        self.rest_theta = theta_index[keep]
        self.big_pairs = self.big.lower_triangle()

    @staticmethod
    def applicable(model, ztz) -> bool:
        """Whether the non-largest part is small enough to be handled densely."""
        blocks = model.blocks
        widths = [b.q * b.n_levels for b in blocks]
        return ztz.shape[0] - max(widths) <= MAX_DENSE_REST

    def factor(self, theta: np.ndarray, lam: sp.csc_matrix):
        """Return ``(log|A|, solve)`` at θ."""
        q, r = self.big.q, len(self.rest_cols)
        n_levels = self.d0.shape[0]
        factor = np.zeros((q, q))
        for k, (i, j) in enumerate(self.big_pairs):
            factor[i, j] = theta[self.big.theta_offset + k]
        lam_rest = np.zeros((r, r))
        lam_rest[self.rest_rows, self.rest_cols_local] = theta[self.rest_theta]
        # Blocks of A: D (block diagonal, L blocks of q × q), B (Lq × r), C (r × r).
        if q == 1:  # scalar blocks: elementwise, much faster than stacked 1 × 1 matmuls
            d = factor[0, 0] ** 2 * self.d0 + 1.0
            logdet = float(np.sum(np.log(d)))
            d_inv = 1.0 / d
            b = factor[0, 0] * (self.b0 @ lam_rest)
            d_inv_b = d_inv[:, 0, :] * b
        else:
            d = np.matmul(np.matmul(factor.T, self.d0), factor) + np.eye(q)
            d_inv = np.linalg.inv(d)
            logdet = float(np.sum(np.linalg.slogdet(d)[1]))
            if not np.all(np.linalg.eigvalsh(d)[:, 0] > 0):
                raise np.linalg.LinAlgError("Λ'Z'ZΛ + I is not positive definite")
            b = np.matmul(factor.T, (self.b0 @ lam_rest).reshape(n_levels, q, r))
            d_inv_b = np.matmul(d_inv, b).reshape(n_levels * q, r)
            b = b.reshape(n_levels * q, r)
        if r:
            schur = lam_rest.T @ self.c0 @ lam_rest + np.eye(r) - b.T @ d_inv_b
            chol_s = scipy.linalg.cho_factor(schur, lower=True)
            logdet += 2.0 * float(np.sum(np.log(np.diag(chol_s[0]))))

        def solve(rhs: np.ndarray) -> np.ndarray:
            rhs = np.asarray(rhs, dtype=float)
            vector = rhs.ndim == 1
            rhs2 = rhs.reshape(rhs.shape[0], -1)
            k = rhs2.shape[1]
            if q == 1:
                t1 = d_inv[:, 0, :] * rhs2[self.big_cols]
            else:
                t1 = np.matmul(d_inv, rhs2[self.big_cols].reshape(n_levels, q, k))
                t1 = t1.reshape(n_levels * q, k)
            out = np.empty_like(rhs2)
            if r:
                x2 = scipy.linalg.cho_solve(chol_s, rhs2[self.rest_cols] - b.T @ t1)
                t1 = t1 - d_inv_b @ x2
                out[self.rest_cols] = x2
            out[self.big_cols] = t1
            return out[:, 0] if vector else out

        return logdet, solve


def make_solver(model, ztz: sp.csc_matrix):
    """Choose the Schur solver where it applies, else the sparse one."""
    if SchurSolver.applicable(model, ztz):
        return SchurSolver(model, ztz)
    return SparseSolver(model, ztz)
