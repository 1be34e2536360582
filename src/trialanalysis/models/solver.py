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
    """Block-diagonal-plus-dense factorisation of A (see module docstring).

    The coupling ``B`` between the largest term and the rest stays sparse
    (each level of the largest term meets few levels of the others, e.g. a
    student rates a few lecturers), so forming the Schur complement costs
    about ``Σ_level nnz(B_level)²`` rather than ``L q r²``.
    """

    def __init__(self, model, ztz: sp.csc_matrix):
        blocks = model.blocks
        big = max(range(len(blocks)), key=lambda k: blocks[k].q * blocks[k].n_levels)
        self.big = blocks[big]
        q, n_levels = self.big.q, self.big.n_levels
        start = self.big.z_offset
        self.big_cols = np.arange(start, start + q * n_levels)
        self.rest_cols = np.setdiff1d(np.arange(ztz.shape[0]), self.big_cols)
        ztz = ztz.tocsr()
        big_part = ztz[self.big_cols][:, self.big_cols].tocoo()
        self.d0 = np.zeros((n_levels, q, q))
        np.add.at(self.d0, (big_part.row // q, big_part.row % q, big_part.col % q), big_part.data)
        self.b0 = ztz[self.big_cols][:, self.rest_cols].tocsr()
        self.c0 = ztz[self.rest_cols][:, self.rest_cols].tocsc()
        # Entries of Λ restricted to the remaining columns, in their coordinates.
        indptr, indices, theta_index, _ = model._lambda_pattern
        cols = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
        position = np.full(ztz.shape[0], -1)
        position[self.rest_cols] = np.arange(len(self.rest_cols))
        keep = (position[indices] >= 0) & (position[cols] >= 0)
        self.rest_rows, self.rest_cols_local = position[indices[keep]], position[cols[keep]]
        self.rest_theta = theta_index[keep]
        self.big_pairs = self.big.lower_triangle()
        self._pairs = self._pair_products() if q == 1 else None
        self._diagonal_rest = bool(np.all(self.rest_rows == self.rest_cols_local))
        # Pattern of a block-diagonal matrix with L blocks of q × q (row-major values).
        width = q * n_levels
        self._block_indptr = np.arange(0, width * q + 1, q)
        self._block_indices = (
            (np.arange(width)[:, None] // q) * q + np.arange(q)[None, :]
        ).ravel()

    def _pair_products(self):
        """``B0' W B0`` as one sparse product with the weights ``w`` (scalar blocks).

        Row ``s`` of ``B0`` contributes ``w_s b_s b_s'``; listing the products
        of its nonzero pairs once gives a matrix ``P`` with
        ``vec(B0' W B0) = P w``, so each evaluation is a sparse
        matrix-vector product (the numeric phase of a fixed symbolic
        factorisation).
        """
        b0, r = self.b0, len(self.rest_cols)
        counts = np.diff(b0.indptr)
        squares = counts**2
        total = int(squares.sum())
        if total == 0 or total > 50_000_000:
            return None
        row = np.repeat(np.arange(len(counts)), squares)
        local = np.arange(total) - np.repeat(np.cumsum(squares) - squares, squares)
        width = np.repeat(counts, squares)
        base = np.repeat(b0.indptr[:-1], squares)
        first, second = base + local // width, base + local % width
        flat = b0.indices[first].astype(np.int64) * r + b0.indices[second]
        # COO → CSR is linear in the entries (no sort); each (pair, row) occurs once.
        return sp.csr_matrix(
            (b0.data[first] * b0.data[second], (flat, row)), shape=(r * r, len(counts))
        )

    def _coupling(self, weights: np.ndarray, lam_rest: sp.csc_matrix) -> np.ndarray:
        """Dense ``Λ_r' B0' W B0 Λ_r`` for scalar blocks."""
        r = len(self.rest_cols)
        inner = (self._pairs @ weights).reshape(r, r)
        if self._diagonal_rest:
            scale = lam_rest.diagonal()
            return inner * np.outer(scale, scale)
        left = lam_rest.T.tocsr()
        return np.asarray(left @ np.asarray(left @ inner).T).T

    @staticmethod
    def applicable(model, ztz) -> bool:
        """Whether the non-largest part is small enough to be handled densely."""
        blocks = model.blocks
        widths = [b.q * b.n_levels for b in blocks]
        return ztz.shape[0] - max(widths) <= MAX_DENSE_REST

    def _block_diagonal(self, blocks: np.ndarray) -> sp.csr_matrix:
        width = blocks.shape[0] * blocks.shape[1]
        return sp.csr_matrix(
            (blocks.ravel(), self._block_indices, self._block_indptr), shape=(width, width)
        )

    def factor(self, theta: np.ndarray, lam: sp.csc_matrix):
        """Return ``(log|A|, solve)`` at θ."""
        q, r = self.big.q, len(self.rest_cols)
        n_levels = self.d0.shape[0]
        factor = np.zeros((q, q))
        for k, (i, j) in enumerate(self.big_pairs):
            factor[i, j] = theta[self.big.theta_offset + k]
        lam_rest = sp.csc_matrix(
            (theta[self.rest_theta], (self.rest_rows, self.rest_cols_local)), shape=(r, r)
        )
        # Blocks of A: D (block diagonal, L blocks of q × q), B (Lq × r), C (r × r).
        if q == 1:  # scalar blocks: elementwise
            d = factor[0, 0] ** 2 * self.d0[:, 0, 0] + 1.0
            logdet = float(np.sum(np.log(d)))
            d_inv = sp.diags(1.0 / d, format="csr")
            b = (self.b0 @ lam_rest) * factor[0, 0]
        else:
            d = np.matmul(np.matmul(factor.T, self.d0), factor) + np.eye(q)
            if not np.all(np.linalg.eigvalsh(d)[:, 0] > 0):
                raise np.linalg.LinAlgError("Λ'Z'ZΛ + I is not positive definite")
            logdet = float(np.sum(np.linalg.slogdet(d)[1]))
            d_inv = self._block_diagonal(np.linalg.inv(d))
            lam_big = self._block_diagonal(np.broadcast_to(factor.T, (n_levels, q, q)))
            b = lam_big @ (self.b0 @ lam_rest)
        b = sp.csr_matrix(b)
        d_inv_b = (d_inv @ b).tocsr()
        if r:
            if q == 1 and self._pairs is not None:
                schur = np.asarray((lam_rest.T @ self.c0 @ lam_rest).todense())
                schur -= self._coupling(factor[0, 0] ** 2 / d, lam_rest)
            else:
                schur = (lam_rest.T @ self.c0 @ lam_rest - b.T @ d_inv_b).toarray()
            schur[np.diag_indices(r)] += 1.0
            chol_s = scipy.linalg.cho_factor(schur, lower=True)
            logdet += 2.0 * float(np.sum(np.log(np.diag(chol_s[0]))))
        b_t = b.T.tocsr()

        def solve(rhs: np.ndarray) -> np.ndarray:
            rhs = np.asarray(rhs, dtype=float)
            vector = rhs.ndim == 1
            rhs2 = rhs.reshape(rhs.shape[0], -1)
            t1 = np.asarray(d_inv @ rhs2[self.big_cols])
            out = np.empty_like(rhs2)
            if r:
                x2 = scipy.linalg.cho_solve(chol_s, rhs2[self.rest_cols] - b_t @ t1)
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
